import { defineConfig } from "@playwright/test";
import chromium from "./chromium.json" with { type: "json" };

// The end-to-end suite drives Debian's Chromium against `ticketing-local` serving the built app,
// on DynamoDB Local + Redis when scripts/services exported them (else on the embedded store).
const port = Number(process.env.E2E_PORT ?? 3210);
const run = `e2e${Date.now().toString(36)}`;
export const baseURL = `http://127.0.0.1:${port}`;
const checkoutPort = port + 1;
const shortHoldPort = port + 2;
/** The app with card payments on (holds of 10 minutes), and with holds of 6 seconds. */
export const checkoutURL = `http://127.0.0.1:${checkoutPort}`;
export const shortHoldURL = `http://127.0.0.1:${shortHoldPort}`;
const stripeBase = process.env.STRIPE_API_BASE ?? "http://127.0.0.1:8420";

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
  webServer: [
    server(port, {}),
    // The checkout's servers: card payments through localstripe (scripts/services starts it),
    // one with the default hold and one whose holds lapse within seconds.
    server(checkoutPort, payments(600)),
    server(shortHoldPort, payments(6)),
  ],
});

function payments(holdSeconds: number): Record<string, string> {
  return {
    PAYMENT_PROVIDER: "stripe",
    STRIPE_API_BASE: stripeBase,
    STRIPE_SECRET_KEY: "sk_test_e2e",
    STRIPE_WEBHOOK_SECRET: "whsec_e2e",
    STRIPE_PUBLISHABLE_KEY: "pk_test_e2e",
    STRIPE_JS_URL: `${stripeBase}/js.stripe.com/v3/`,
    HOLD_SECONDS: String(holdSeconds),
  };
}

function server(at: number, extra: Record<string, string>) {
  const url = `http://127.0.0.1:${at}`;
  return {
    command: `../target/debug/ticketing-local --port ${at} --seed-demo --site-dir dist`,
    url: `${url}/health`,
    reuseExistingServer: false,
    timeout: 120_000,
    stdout: "ignore" as const,
    stderr: "pipe" as const,
    env: {
      ...(process.env as Record<string, string>),
      TABLE_NAME: process.env.DYNAMODB_ENDPOINT ? `${run}-${at}-table` : "ticketing",
      REDIS_KEY_PREFIX: `${run}:${at}:`,
      // One browser from one address registers and logs in many users here.
      RATE_LIMIT_PER_MINUTE: "100000",
      AUTH_RATE_LIMIT_PER_MINUTE: "100000",
      // The mails' links lead back here; mail goes to aws-ses-v2-local (scripts/services).
      SITE_URL: url,
      RUST_LOG: "warn",
      ...extra,
    },
  };
}
