// The checkout in Chromium, against servers with card payments through localstripe: its
// Stripe.js look-alike mounts the card field, authorises the card, and the app settles the
// booking through our API. Set-up and checks of what the server holds go through the API.

import AxeBuilder from "@axe-core/playwright";
import { type APIRequestContext, expect, type Page, test } from "@playwright/test";
import { checkoutURL, shortHoldURL } from "../playwright.config";
import {
  adminToken,
  apiLogin,
  availableTickets,
  createEvent,
  PASSWORD,
  registerViaUi,
  screenshots,
  unique,
} from "./helpers";

const CARD_OK = "4242424242424242";
const CARD_DECLINED = "4000000000000341";
/** Asks for 3-D Secure on every payment (localstripe, like Stripe's test card). */
const CARD_3DS = "4000002760003184";

const checkout = (page: Page) => page.getByRole("region", { name: "Checkout" });
const confirmation = (page: Page) => page.getByRole("region", { name: "Booking confirmed" });

async function paidEvent(request: APIRequestContext, totalTickets: number, price = 20): Promise<string> {
  const admin = await adminToken(request);
  return createEvent(request, admin, { name: unique("Night Market"), price, totalTickets });
}

async function holdViaUi(page: Page, eventId: string, quantity: number) {
  await page.goto(`/events/${eventId}`);
  await page.getByLabel("Quantity").fill(String(quantity));
  await page.getByRole("button", { name: "Book tickets" }).click();
  await expect(checkout(page)).toBeVisible();
  await expect(page).toHaveURL(/\/checkout\/[^/]+$/);
}

/** Types a card into localstripe's card field (Stripe's own is an iframe of its own fields). */
async function enterCard(page: Page, number: string) {
  const field = page.getByRole("group", { name: "Card details" });
  await field.getByPlaceholder("number").fill(number);
  await field.getByPlaceholder("exp_month").fill("12");
  await field.getByPlaceholder("exp_year").fill("31");
  await field.getByPlaceholder("cvc").fill("123");
  await field.getByPlaceholder("postal_code").fill("10001");
}

/** The user's bookings of one event as the API holds them, with their payments. */
async function bookingsOf(request: APIRequestContext, token: string, eventId: string) {
  const reply = await request.get("/api/v1/bookings?limit=100", { headers: { Authorization: `Bearer ${token}` } });
  expect(reply.status()).toBe(200);
  const all: { eventId: string; status: string; quantity: number; payment?: { status: string } }[] = (
    await reply.json()
  ).data;
  return all.filter((b) => b.eventId === eventId);
}

/** No serious or critical axe-core violation outside the card field, which is the provider's. */
async function expectAccessibleAroundTheCard(page: Page) {
  const results = await new AxeBuilder({ page }).exclude(".card-field > div").analyze();
  const bad = results.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  expect(bad.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(" ")).join(", ")})`)).toEqual([]);
}

test.describe("checkout", () => {
  test.use({ baseURL: checkoutURL });

  test("book, reload, resume from My bookings, pay: Booking confirmed and captured", async ({ page, request }) => {
    // The app's CSP lets in the configured Stripe.js origin (and the card field below proves
    // Stripe.js runs under it).
    const doc = await request.get("/events", { headers: { Accept: "text/html" } });
    const policy = doc.headers()["content-security-policy"] ?? "";
    const stripeOrigin = new URL(process.env.STRIPE_API_BASE ?? "http://127.0.0.1:8420").origin;
    expect(policy).toContain(`script-src 'self' ${stripeOrigin};`);
    expect(policy).toContain(`frame-src ${stripeOrigin};`);
    const id = await paidEvent(request, 10);
    const email = await registerViaUi(page);
    const token = await apiLogin(request, email, PASSWORD);
    await holdViaUi(page, id, 2);
    await expect(checkout(page)).toContainText("$40.00 in total");
    await expect(checkout(page).getByText(/^Tickets held for (10:00|9:[0-5]\d)$/)).toBeVisible();
    // The hold takes the tickets at once.
    expect(await availableTickets(request, id)).toBe(8);

    // A reload resumes the same hold, and so does My bookings' link: never a second one.
    await page.reload();
    await expect(checkout(page)).toBeVisible();
    await page.getByRole("link", { name: "My bookings" }).first().click();
    const item = page.getByRole("listitem").filter({ hasText: "Awaiting payment" });
    await expect(item).toHaveCount(1);
    await item.getByRole("link", { name: "Complete payment" }).click();
    await expect(checkout(page)).toBeVisible();
    const held = await bookingsOf(request, token, id);
    expect(held.map((b) => b.status)).toEqual(["pending"]);

    await enterCard(page, CARD_OK);
    await expectAccessibleAroundTheCard(page);
    await screenshots(page, "checkout");
    await page.getByRole("button", { name: "Pay $40.00" }).click();
    await expect(confirmation(page)).toBeVisible();
    await expect(confirmation(page).getByRole("listitem")).toHaveCount(2);
    await screenshots(page, "checkout-confirmed");

    const [booked] = await bookingsOf(request, token, id);
    expect(booked?.status).toBe("confirmed");
    expect(booked?.payment?.status).toBe("captured");
    expect(await availableTickets(request, id)).toBe(8);
    await page.goto("/bookings");
    await expect(page.getByRole("listitem").filter({ hasText: "Confirmed" })).toHaveCount(1);
  });

  test("a declined card shows the provider's message and the form stays usable", async ({ page, request }) => {
    const id = await paidEvent(request, 5, 12.5);
    const email = await registerViaUi(page);
    const token = await apiLogin(request, email, PASSWORD);
    await holdViaUi(page, id, 1);

    await enterCard(page, CARD_DECLINED);
    const pay = page.getByRole("button", { name: "Pay $12.50" });
    await pay.click();
    await expect(checkout(page).getByRole("alert")).toContainText("Your card was declined.");
    await expect(pay).toBeEnabled();
    // The hold stands: nothing confirmed, nothing released.
    expect((await bookingsOf(request, token, id)).map((b) => b.status)).toEqual(["pending"]);
    expect(await availableTickets(request, id)).toBe(4);
    await screenshots(page, "checkout-declined");

    await enterCard(page, CARD_OK);
    await pay.click();
    await expect(confirmation(page)).toBeVisible();
    const [booked] = await bookingsOf(request, token, id);
    expect(booked?.status).toBe("confirmed");
    expect(booked?.payment?.status).toBe("captured");
  });

  test("3-D Secure: a failed challenge leaves the hold payable, a completed one pays", async ({ page, request }) => {
    const id = await paidEvent(request, 3, 15);
    const email = await registerViaUi(page);
    const token = await apiLogin(request, email, PASSWORD);
    await holdViaUi(page, id, 1);
    const pay = page.getByRole("button", { name: "Pay $15.00" });
    // localstripe's challenge is a box of its own with two buttons (Stripe's is a frame).
    const challenge = (name: string) => page.getByRole("button", { name, exact: true });

    await enterCard(page, CARD_3DS);
    await pay.click();
    await challenge("Fail authentication").click();
    // The server, asked, finds nothing authorised: its PAYMENT_INCOMPLETE message.
    await expect(checkout(page).getByRole("alert")).toContainText("has not been authorised yet");
    await expect(pay).toBeEnabled();
    await screenshots(page, "checkout-3ds-failed");
    // Nothing authorised: the hold stands and nothing is charged or released.
    const [held] = await bookingsOf(request, token, id);
    expect(held?.status).toBe("pending");
    expect(held?.payment?.status).toBe("requires_payment");
    expect(await availableTickets(request, id)).toBe(2);

    await enterCard(page, CARD_3DS);
    await pay.click();
    await challenge("Complete authentication").click();
    await expect(confirmation(page)).toBeVisible();
    const [booked] = await bookingsOf(request, token, id);
    expect(booked?.status).toBe("confirmed");
    expect(booked?.payment?.status).toBe("captured");
    expect(await availableTickets(request, id)).toBe(2);
  });

  test("Cancel ends the hold and gives the tickets back", async ({ page, request }) => {
    const id = await paidEvent(request, 6);
    const email = await registerViaUi(page);
    const token = await apiLogin(request, email, PASSWORD);
    await holdViaUi(page, id, 3);
    expect(await availableTickets(request, id)).toBe(3);

    await checkout(page).getByRole("button", { name: "Cancel" }).click();
    await expect(page.getByRole("heading", { name: "Booking cancelled" })).toBeVisible();
    expect(await availableTickets(request, id)).toBe(6);
    const [cancelled] = await bookingsOf(request, token, id);
    expect(cancelled?.status).toBe("cancelled");
    expect(cancelled?.payment?.status).toBe("voided");
  });
});

test.describe("a hold that runs out", () => {
  test.use({ baseURL: shortHoldURL });

  test("the countdown ends in 'Your hold expired' and the tickets come back", async ({ page, request }) => {
    const id = await paidEvent(request, 4);
    const email = await registerViaUi(page);
    const token = await apiLogin(request, email, PASSWORD);
    await holdViaUi(page, id, 2);
    expect(await availableTickets(request, id)).toBe(2);

    await expect(page.getByRole("heading", { name: "Your hold expired" })).toBeVisible({ timeout: 20_000 });
    await screenshots(page, "checkout-expired");
    // Released by the sweep within 30 s (CONTRACT.md), and shown as expired.
    await expect.poll(() => availableTickets(request, id), { timeout: 40_000 }).toBe(4);
    const [lapsed] = await bookingsOf(request, token, id);
    expect(lapsed?.status).toBe("expired");
    await page.getByRole("link", { name: "Back to the event" }).click();
    await expect(page.getByText("4 tickets left")).toBeVisible();
    await page.goto("/bookings");
    await expect(page.getByRole("listitem").filter({ hasText: "Expired" })).toHaveCount(1);
  });
});
