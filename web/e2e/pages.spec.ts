// Every page once: axe-core finds no serious or critical violation, and screenshots at phone and
// desktop width are written to test-results/screenshots for a person to look at.
import { expect, type Page, test } from "@playwright/test";
import {
  ADMIN,
  adminToken,
  createEvent,
  expectAccessible,
  logInViaUi,
  registerViaUi,
  screenshots,
  unique,
} from "./helpers";

async function check(page: Page, name: string) {
  await expect(page.getByRole("status")).toHaveCount(0);
  await expectAccessible(page);
  await screenshots(page, name);
}

test("public pages", async ({ page, request }) => {
  const id = await createEvent(request, await adminToken(request), {
    name: unique("Gallery Night"),
    description: "Paintings, music and a long table of food.\nDoors open an hour before.",
    maxTicketsPerUser: 4,
    // Sooner than every other test's event, so it is on the listing's first page however many
    // events the other tests made first.
    date: new Date(Date.now() + 2 * 86_400_000).toISOString(),
  });
  await page.goto("/events");
  await expect(page.getByRole("link", { name: /Gallery Night/ }).first()).toBeVisible();
  await check(page, "events");
  await page.goto(`/events/${id}`);
  await expect(page.getByRole("button", { name: "Book tickets" })).toBeVisible();
  await check(page, "event-details");
  await page.goto("/login");
  await check(page, "login");
  await page.goto("/register");
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page.getByRole("alert")).toBeVisible();
  await check(page, "register-errors");
  await page.goto("/no/such/page");
  await expect(page.getByRole("heading", { name: "Page not found" })).toBeVisible();
  await expect(page.getByRole("link", { name: "Back to the event listing" })).toBeVisible();
  await check(page, "not-found");
});

test("a buyer's pages", async ({ page, request }) => {
  const name = unique("Quartet");
  const id = await createEvent(request, await adminToken(request), { name });
  await registerViaUi(page);
  await page.goto(`/events/${id}`);
  await page.getByLabel("Quantity").fill("2");
  await page.getByRole("button", { name: "Book tickets" }).click();
  await expect(page.getByRole("region", { name: "Booking confirmed" })).toBeVisible();
  await check(page, "booking-confirmed");
  await page.goto("/bookings");
  await expect(page.getByRole("listitem").filter({ hasText: name })).toBeVisible();
  await check(page, "my-bookings");
  await page.getByRole("button", { name: "Cancel booking" }).first().click();
  await expect(page.getByRole("dialog")).toBeVisible();
  await check(page, "cancel-dialog");
});

test("admin pages", async ({ page, request }) => {
  const id = await createEvent(request, await adminToken(request), { name: unique("Admin View") });
  await logInViaUi(page, ADMIN.email, ADMIN.password);
  await page.goto("/admin/events");
  await expect(page.getByRole("table")).toBeVisible();
  await check(page, "admin-events");
  await page.goto("/admin/events/new");
  await check(page, "admin-new-event");
  await page.goto(`/admin/events/${id}/edit`);
  await expect(page.getByLabel("Name")).not.toHaveValue("");
  await check(page, "admin-edit-event");
});

test("keyboard: the booking form and dialogs work without a mouse", async ({ page, request }) => {
  const name = unique("Keyboard");
  const id = await createEvent(request, await adminToken(request), { name });
  await registerViaUi(page);
  await page.goto(`/events/${id}`);
  await page.getByLabel("Quantity").focus();
  await page.keyboard.press("Tab");
  await expect(page.getByRole("button", { name: "Book tickets" })).toBeFocused();
  await page.keyboard.press("Enter");
  await expect(page.getByRole("region", { name: "Booking confirmed" })).toBeVisible();
  await page.goto("/bookings");
  await page.getByRole("button", { name: "Cancel booking" }).focus();
  await page.keyboard.press("Enter");
  const dialog = page.getByRole("dialog");
  await expect(dialog).toBeVisible();
  // Focus stays inside the dialog, and Escape closes it without cancelling.
  for (let i = 0; i < 4; i++) {
    await page.keyboard.press("Tab");
    expect(await dialog.evaluate((d) => d.contains(document.activeElement))).toBe(true);
  }
  await page.keyboard.press("Escape");
  await expect(dialog).toHaveCount(0);
  await expect(page.getByRole("listitem").filter({ hasText: name })).toContainText("Confirmed");
});

test("the API reference at /api/docs lists the contract's operations", async ({ page }) => {
  await page.goto("/api/docs");
  await expect(page.getByRole("heading", { name: /Ticketing API/ })).toBeVisible();
  await expect(page.getByText("/api/v1/bookings/{id}/cancel", { exact: true })).toBeVisible();
  await expect(page.getByText("/api/v1/auth/register", { exact: true })).toBeVisible();
  await expectAccessible(page);
  await screenshots(page, "api-docs");
});
