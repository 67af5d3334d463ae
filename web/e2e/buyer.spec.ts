import { expect, type Page, test } from "@playwright/test";
import jsQR from "jsqr";
import { PNG } from "pngjs";
import {
  adminToken,
  apiLogin,
  availableTickets,
  bookingsOf,
  bookViaApi,
  createEvent,
  PASSWORD,
  registerViaUi,
  ticketCodes,
  unique,
} from "./helpers";

async function openEvent(page: Page, id: string) {
  await page.goto(`/events/${id}`);
  await expect(page.getByRole("heading", { level: 1 })).toBeVisible();
}

const bookButton = (page: Page) => page.getByRole("button", { name: "Book tickets" });
const confirmation = (page: Page) => page.getByRole("region", { name: "Booking confirmed" });

test("register, find an event by search and filters, book it, see it in My bookings", async ({ page, request }) => {
  const admin = await adminToken(request);
  const name = unique("Harbour Lights");
  const id = await createEvent(request, admin, { name, venue: "Pier Seven", totalTickets: 40, price: 30 });
  await registerViaUi(page);

  await page.getByRole("link", { name: "Events", exact: true }).click();
  await page.getByRole("searchbox", { name: "Search events" }).fill(name);
  await expect(page).toHaveURL(/search=/);
  await page.getByLabel("Venue").fill("pier seven");
  await page.getByLabel("Min price").fill("29");
  await page.getByLabel("Sort by").selectOption("price-desc");
  await expect(page).toHaveURL(/venue=pier\+seven/);
  const card = page.getByRole("link", { name: new RegExp(name) });
  await expect(card).toHaveCount(1);
  await expect(card).toContainText("40 tickets left");
  await expect(card).toContainText("$30.00");

  // The filters live in the URL: back and forward keep them.
  await card.click();
  await expect(page.getByRole("heading", { level: 1, name })).toBeVisible();
  await page.goBack();
  await expect(page.getByRole("searchbox", { name: "Search events" })).toHaveValue(name);
  await page.goForward();

  await page.getByLabel("Quantity").fill("3");
  await bookButton(page).click();
  await expect(confirmation(page)).toBeVisible();
  await expect(confirmation(page).getByRole("listitem")).toHaveCount(3);
  await expect(page.getByText("37 tickets left")).toBeVisible();

  await confirmation(page).getByRole("link", { name: "My bookings" }).click();
  await expect(page.getByRole("heading", { name: "My bookings" })).toBeVisible();
  const item = page.getByRole("listitem").filter({ hasText: name });
  await expect(item).toContainText("Confirmed");
  await expect(item).toContainText("3 tickets");
  await expect(item).toContainText("$90.00");
  expect(await availableTickets(request, id)).toBe(37);
});

test("a double click on Book tickets books once", async ({ page, request }) => {
  const id = await createEvent(request, await adminToken(request), { name: unique("Double Click") });
  const email = await registerViaUi(page);
  await openEvent(page, id);
  await page.getByLabel("Quantity").fill("2");
  await bookButton(page).dblclick();
  await expect(confirmation(page)).toBeVisible();
  await page.waitForTimeout(500);
  const token = await apiLogin(request, email, PASSWORD);
  expect(await bookingsOf(request, token, id)).toHaveLength(1);
  expect(await availableTickets(request, id)).toBe(98);
});

test("a reload while the booking is in flight books once and shows it", async ({ page, request }) => {
  const id = await createEvent(request, await adminToken(request), { name: unique("Reload") });
  const email = await registerViaUi(page);
  await openEvent(page, id);
  let landed!: () => void;
  const firstLanded = new Promise<void>((resolve) => {
    landed = resolve;
  });
  let held = false;
  await page.route("**/api/v1/bookings", async (route) => {
    if (route.request().method() !== "POST" || held) return route.continue();
    held = true;
    await route.fetch(); // the booking lands on the server...
    landed(); // ...but its answer never reaches the page, which is reloaded meanwhile.
  });
  await page.getByLabel("Quantity").fill("2");
  await bookButton(page).click();
  await firstLanded;
  await page.reload();
  await expect(confirmation(page)).toBeVisible();
  const token = await apiLogin(request, email, PASSWORD);
  expect(await bookingsOf(request, token, id)).toHaveLength(1);
  expect(await availableTickets(request, id)).toBe(98);
});

test("a 503 after the booking landed is retried with the same key: one booking", async ({ page, request }) => {
  const id = await createEvent(request, await adminToken(request), { name: unique("Busy Box Office") });
  const email = await registerViaUi(page);
  await openEvent(page, id);
  let posts = 0;
  const keys: string[] = [];
  await page.route("**/api/v1/bookings", async (route) => {
    if (route.request().method() !== "POST") return route.continue();
    posts += 1;
    keys.push(route.request().headers()["idempotency-key"] ?? "");
    if (posts > 1) return route.continue();
    await route.fetch();
    await route.fulfill({
      status: 503,
      headers: { "Retry-After": "1", "Content-Type": "application/json" },
      body: JSON.stringify({ success: false, code: "SERVICE_UNAVAILABLE", message: "Try again shortly" }),
    });
  });
  await bookButton(page).click();
  await expect(confirmation(page)).toBeVisible();
  expect(posts).toBe(2);
  expect(new Set(keys).size).toBe(1);
  const token = await apiLogin(request, email, PASSWORD);
  expect(await bookingsOf(request, token, id)).toHaveLength(1);
});

test("a sold-out event says so and cannot be booked", async ({ page, request }) => {
  const admin = await adminToken(request);
  const id = await createEvent(request, admin, { name: unique("Tiny Room"), totalTickets: 1 });
  await bookViaApi(request, admin, id, 1);
  await registerViaUi(page);
  await openEvent(page, id);
  await expect(page.getByText("Sold out")).toBeVisible();
  await expect(bookButton(page)).toBeDisabled();
});

test("asking for more than is left shows the API's message and what is left", async ({ page, request }) => {
  const id = await createEvent(request, await adminToken(request), { name: unique("Few Seats"), totalTickets: 3 });
  await registerViaUi(page);
  await openEvent(page, id);
  await page.getByLabel("Quantity").fill("5");
  await bookButton(page).click();
  await expect(page.getByRole("alert")).toContainText("Not enough tickets left");
  await expect(page.getByText("Only 3 tickets left.")).toBeVisible();
  expect(await availableTickets(request, id)).toBe(3);
});

test("an event's per-person limit bounds the quantity, and the API's refusal says what is left", async ({
  page,
  request,
}) => {
  const id = await createEvent(request, await adminToken(request), {
    name: unique("Small Club"),
    totalTickets: 50,
    maxTicketsPerUser: 3,
  });
  const email = await registerViaUi(page);
  await openEvent(page, id);
  const quantity = page.getByLabel("Quantity");
  await expect(quantity).toHaveAttribute("max", "3");
  await expect(page.getByText("At most 3 per person")).toBeVisible();
  await bookViaApi(request, await apiLogin(request, email, PASSWORD), id, 2);
  await quantity.fill("2");
  await bookButton(page).click();
  await expect(page.getByRole("alert")).toContainText("more tickets of this event than one person may have");
  await expect(page.getByText("You can book 1 more ticket for this event.")).toBeVisible();
  expect(await availableTickets(request, id)).toBe(48);
});

test("My bookings shows each ticket as a QR code that decodes to its signed code", async ({ page, request }) => {
  const name = unique("QR Night");
  const id = await createEvent(request, await adminToken(request), { name, totalTickets: 10 });
  const email = await registerViaUi(page);
  await openEvent(page, id);
  await page.getByLabel("Quantity").fill("2");
  await bookButton(page).click();
  await expect(confirmation(page)).toBeVisible();
  await page.goto("/bookings");
  const item = page.getByRole("listitem").filter({ hasText: name });
  const qrs = item.getByRole("img", { name: /^Ticket TKT-/ });
  await expect(qrs).toHaveCount(2);
  const codes = await ticketCodes(request, await apiLogin(request, email, PASSWORD), id);
  // Read back the first QR from the pixels on screen, as a scanner would.
  const png = PNG.sync.read(await qrs.first().screenshot());
  const decoded = jsQR(new Uint8ClampedArray(png.data), png.width, png.height);
  expect(decoded?.data).toBe(codes[0]);
  const label = await qrs.first().getAttribute("aria-label");
  await expect(item.getByText(label?.replace("Ticket ", "") ?? "", { exact: true })).toBeVisible();
});

test("cancelling a booking gives its tickets back", async ({ page, request }) => {
  const name = unique("Cancel Me");
  const id = await createEvent(request, await adminToken(request), { name, totalTickets: 10 });
  await registerViaUi(page);
  await openEvent(page, id);
  await page.getByLabel("Quantity").fill("4");
  await bookButton(page).click();
  await expect(page.getByText("6 tickets left")).toBeVisible();
  await page.goto("/bookings");
  const item = page.getByRole("listitem").filter({ hasText: name });
  await item.getByRole("button", { name: "Cancel booking" }).click();
  await page.getByRole("dialog").getByRole("button", { name: "Confirm cancellation" }).click();
  await expect(item).toContainText("Cancelled");
  await expect(item.getByRole("button", { name: "Cancel booking" })).toHaveCount(0);
  expect(await availableTickets(request, id)).toBe(10);
  await openEvent(page, id);
  await expect(page.getByText("10 tickets left")).toBeVisible();
});

test("the session survives a reload and an expired access token, and logout ends it", async ({ page }) => {
  await registerViaUi(page, "Grace Hopper");
  await page.reload();
  await expect(page.getByText("Grace Hopper")).toBeVisible();
  await expect(page.getByRole("button", { name: "Log out" })).toBeVisible();

  // The API refuses the first bookings call as if the access token had expired.
  let refused = false;
  await page.route("**/api/v1/bookings?*", async (route) => {
    if (refused) return route.continue();
    refused = true;
    await route.fulfill({
      status: 401,
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ success: false, code: "UNAUTHORIZED", message: "Token expired" }),
    });
  });
  const refreshed = page.waitForResponse((r) => r.url().endsWith("/api/v1/auth/refresh") && r.status() === 200);
  await page.getByRole("link", { name: "My bookings" }).click();
  await refreshed;
  await expect(page.getByRole("heading", { name: "My bookings" })).toBeVisible();
  await expect(page.getByText("No bookings yet")).toBeVisible();
  await expect(page.getByRole("button", { name: "Log out" })).toBeVisible();
  expect(refused).toBe(true);

  await page.getByRole("button", { name: "Log out" }).click();
  await expect(page.getByRole("link", { name: "Log in" })).toBeVisible();
  await page.reload();
  await expect(page.getByRole("link", { name: "Log in" })).toBeVisible();
  await page.goto("/bookings");
  await expect(page).toHaveURL(/\/login$/);
});

test("a logged-out click on Book tickets leads to login and back", async ({ page, request }) => {
  const name = unique("Come Back");
  const id = await createEvent(request, await adminToken(request), { name });
  const email = await registerViaUi(page);
  await page.getByRole("button", { name: "Log out" }).click();
  await expect(page.getByRole("link", { name: "Log in" })).toBeVisible();
  await openEvent(page, id);
  await bookButton(page).click();
  await expect(page).toHaveURL(/\/login$/);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page.getByRole("heading", { level: 1, name })).toBeVisible();
});

test("Enter commits a search at once, without waiting out the typing delay", async ({ page }) => {
  // Page timers frozen: the typing delay never ends by itself, so only Enter can commit.
  await page.clock.install({ time: new Date("2030-01-01T08:00:00Z") });
  await page.goto("/events");
  await page.clock.pauseAt(new Date("2030-01-01T09:00:00Z"));
  const search = page.getByRole("searchbox", { name: "Search events" });
  await search.fill("harbour");
  await page.waitForTimeout(800);
  expect(page.url()).not.toContain("search=");
  await search.press("Enter");
  await expect(page).toHaveURL(/search=harbour/);
});
