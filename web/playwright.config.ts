import { defineConfig } from "@playwright/test";

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
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
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
      RUST_LOG: "warn",
    },
  },
});
