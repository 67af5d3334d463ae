// Set-up through the API (admin events, checks of what was booked); what a buyer does goes
// through the UI only.
import AxeBuilder from "@axe-core/playwright";
import { type APIRequestContext, expect, type Page } from "@playwright/test";

export const ADMIN = { email: "admin@example.com", password: "DemoAdmin123" };
export const PASSWORD = "Correct1Horse";

let counter = 0;
export function unique(prefix: string): string {
  counter += 1;
  return `${prefix} ${Date.now().toString(36)}${counter}${Math.floor(Math.random() * 1e4)}`;
}

export async function apiLogin(request: APIRequestContext, email: string, password: string): Promise<string> {
  const reply = await request.post("/api/v1/auth/login", { data: { email, password } });
  expect(reply.status(), await reply.text()).toBe(200);
  return (await reply.json()).data.accessToken;
}

export const adminToken = (request: APIRequestContext) => apiLogin(request, ADMIN.email, ADMIN.password);

export interface EventBody {
  name: string;
  description?: string;
  venue?: string;
  date?: string;
  price?: number;
  totalTickets?: number;
  status?: "draft" | "published";
  maxTicketsPerUser?: number | null;
}

export async function createEvent(request: APIRequestContext, token: string, body: EventBody): Promise<string> {
  const reply = await request.post("/api/v1/events", {
    headers: { Authorization: `Bearer ${token}` },
    data: {
      description: "An evening to remember.",
      venue: "Main Hall",
      date: new Date(Date.now() + 60 * 86_400_000).toISOString(),
      price: 25.5,
      totalTickets: 100,
      ...body,
    },
  });
  expect(reply.status(), await reply.text()).toBe(201);
  return (await reply.json()).data.id;
}

export async function bookViaApi(request: APIRequestContext, token: string, eventId: string, quantity: number) {
  const reply = await request.post("/api/v1/bookings", {
    headers: { Authorization: `Bearer ${token}`, "Idempotency-Key": crypto.randomUUID() },
    data: { eventId, quantity },
  });
  expect(reply.status(), await reply.text()).toBe(201);
}

/** The user's bookings of one event, as the API holds them. */
export async function bookingsOf(request: APIRequestContext, token: string, eventId: string) {
  const reply = await request.get("/api/v1/bookings?limit=100", { headers: { Authorization: `Bearer ${token}` } });
  expect(reply.status()).toBe(200);
  const all: { eventId: string; status: string; quantity: number }[] = (await reply.json()).data;
  return all.filter((b) => b.eventId === eventId);
}

/** The codes of the user's confirmed tickets of one event, as the API shows them. */
export async function ticketCodes(request: APIRequestContext, token: string, eventId: string): Promise<string[]> {
  const reply = await request.get("/api/v1/bookings?limit=100&status=confirmed", {
    headers: { Authorization: `Bearer ${token}` },
  });
  expect(reply.status()).toBe(200);
  const all: { eventId: string; tickets?: { code: string }[] }[] = (await reply.json()).data;
  return all.filter((b) => b.eventId === eventId).flatMap((b) => (b.tickets ?? []).map((t) => t.code));
}

export async function availableTickets(request: APIRequestContext, eventId: string): Promise<number> {
  const reply = await request.get(`/api/v1/events/${eventId}`);
  return (await reply.json()).data.availableTickets;
}

/** Registers a new buyer through the UI; returns the email, signed in on `page`. */
export async function registerViaUi(page: Page, name = "Ada Buyer"): Promise<string> {
  const email = `${unique("buyer").replace(/\s/g, "-")}@example.com`.toLowerCase();
  await page.goto("/register");
  await page.getByLabel("Name").fill(name);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password", { exact: true }).fill(PASSWORD);
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page.getByRole("button", { name: "Log out" })).toBeVisible();
  return email;
}

export async function logInViaUi(page: Page, email: string, password: string) {
  await page.goto("/login");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page.getByRole("button", { name: "Log out" })).toBeVisible();
}

/** No serious or critical axe-core violation on the page as it is now. */
export async function expectAccessible(page: Page) {
  const results = await new AxeBuilder({ page }).analyze();
  const bad = results.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  expect(bad.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(" ")).join(", ")})`)).toEqual([]);
}

/** Screenshots at phone and desktop width, kept as test artefacts (not committed). */
export async function screenshots(page: Page, name: string) {
  for (const [width, height] of [
    [390, 844],
    [1280, 800],
  ] as const) {
    await page.setViewportSize({ width, height });
    await page.screenshot({ path: `test-results/screenshots/${name}-${width}.png`, fullPage: true });
  }
}

/** Where scripts/services runs aws-ses-v2-local, the SES stand-in the server mails through. */
const SES_ENDPOINT = process.env.SES_ENDPOINT ?? "http://127.0.0.1:8005";

interface SentMail {
  subject: string;
  destination: { to: string[] };
  body: { text?: string; html?: string };
}

/** Waits for the `count`-th mail to `address` and returns it. */
export async function mailTo(request: APIRequestContext, address: string, count = 1): Promise<SentMail> {
  let mails: SentMail[] = [];
  await expect
    .poll(
      async () => {
        const store = await (await request.get(`${SES_ENDPOINT}/store`)).json();
        mails = (store.emails as SentMail[]).filter((m) => m.destination.to.includes(address));
        return mails.length;
      },
      { timeout: 30_000 },
    )
    .toBeGreaterThanOrEqual(count);
  return mails[count - 1] as SentMail;
}

/** The path and query of the link in a mail's text that contains `route`. */
export function linkIn(mail: SentMail, route: string): string {
  const url = (mail.body.text ?? "").split(/\s+/).find((word) => word.includes(route));
  expect(url, mail.body.text).toBeTruthy();
  const link = new URL(url as string);
  return `${link.pathname}${link.search}`;
}
