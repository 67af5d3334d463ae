import { defineConfig } from "@playwright/test";
import chromium from "./chromium.json" with { type: "json" };

// The end-to-end suite drives Debian's Chromium against `ticketing-local` serving the built app,
// on DynamoDB Local + Redis when scripts/services exported them (else on the embedded store).
const port = Number(process.env.E2E_PORT ?? 3210);
const run = `e2e${Date.now().toString(36)}`;
export const baseURL = `http://127.0.0.1:${port}`;

export default defineConfig({
  testDir: "e2e",
  outputDir: "test-results/artifacts",
  timeout: 60_000,
  expect: { timeout: 15_000 },
  retries: 0,
  workers: 2,
  reporter: [["list"]],
  use: {
    baseURL,
    browserName: "chromium",
    // Debian's Chromium (no browser downloads here); without the background-networking flags it
    // keeps dialling out.
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? chromium.executablePath,
      args: chromium.args,
    },
    trace: "retain-on-failure",
    screenshot: "only-on-failure",
  },
  webServer: {
    command: `../target/debug/ticketing-local --port ${port} --seed-demo --site-dir dist`,
    url: `${baseURL}/health`,
    reuseExistingServer: false,
    timeout: 120_000,
    stdout: "ignore",
    stderr: "pipe",
    env: {
      ...(process.env as Record<string, string>),
      TABLE_NAME: process.env.DYNAMODB_ENDPOINT ? `${run}-table` : "ticketing",
      REDIS_KEY_PREFIX: `${run}:`,
      // One browser from one address registers and logs in many users here.
      RATE_LIMIT_PER_MINUTE: "100000",
      AUTH_RATE_LIMIT_PER_MINUTE: "100000",
      // The mails' links lead back here; mail goes to aws-ses-v2-local (scripts/services).
      SITE_URL: baseURL,
      RUST_LOG: "warn",
    },
  },
});
