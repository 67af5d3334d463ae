// Measures the web app as a first-time visitor gets it: the initial JavaScript (gzipped), and in
// headless Chromium with an empty cache, the time to the first event card on /events and to an
// enabled "Book tickets" on a details page. Prints figures; asserts nothing (see BENCHMARKS.md).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { chromium } from "@playwright/test";
import launch from "../chromium.json" with { type: "json" };

const [base, runs = "7"] = process.argv.slice(2);
const dist = new URL("../dist/", import.meta.url).pathname;

function initialAssets() {
  const html = readFileSync(join(dist, "index.html"), "utf8");
  const refs = [...html.matchAll(/(?:src|href)="(\/assets\/[^"]+\.(?:js|css))"/g)].map((m) => m[1]);
  return refs.map((ref) => {
    const bytes = readFileSync(join(dist, ref));
    return { ref, raw: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length };
  });
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const assets = initialAssets();
const js = assets.filter((a) => a.ref.endsWith(".js"));
const kb = (n) => (n / 1024).toFixed(1);
for (const a of assets) console.log(`  ${a.ref}: ${kb(a.raw)} KB, gzip ${kb(a.gzip)} KB`);
console.log(`initial JavaScript, gzipped: ${kb(js.reduce((s, a) => s + a.gzip, 0))} KB (target <= 120 KB)`);

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? launch.executablePath,
  args: launch.args,
});
const list = await (await fetch(`${base}/api/v1/events?limit=1`)).json();
const eventId = list.data[0].id;
console.log(`events in the catalog: ${list.meta.total}`);

async function timeTo(path, ready) {
  const times = [];
  for (let i = 0; i < Number(runs); i++) {
    const context = await browser.newContext(); // empty cache, no cookies: a first visit
    const page = await context.newPage();
    await page.goto(`${base}${path}`);
    await ready(page);
    times.push(await page.evaluate(() => performance.now()));
    await context.close();
  }
  return times;
}

const cards = await timeTo("/events", (p) => p.locator("ul.cards li a").first().waitFor());
const book = await timeTo(`/events/${eventId}`, (p) =>
  p.waitForFunction(() => {
    const b = [...document.querySelectorAll("button")].find((x) => x.textContent === "Book tickets");
    return b && !b.disabled;
  }),
);
const ms = (xs) =>
  `median ${median(xs).toFixed(0)} ms (min ${Math.min(...xs).toFixed(0)}, max ${Math.max(...xs).toFixed(0)}, n=${xs.length})`;
console.log(`first event card on /events: ${ms(cards)} (target <= 1000 ms)`);
console.log(`"Book tickets" enabled on a details page: ${ms(book)} (target <= 1000 ms)`);
await browser.close();
