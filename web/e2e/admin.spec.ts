import { readFile } from "node:fs/promises";
import { expect, test } from "@playwright/test";
import {
  ADMIN,
  adminToken,
  bookViaApi,
  createEvent,
  expectAccessible,
  logInViaUi,
  registerViaUi,
  screenshots,
  ticketCodes,
  unique,
} from "./helpers";

test("an admin creates, edits and deletes an event; one with bookings is refused", async ({ page, request }) => {
  await logInViaUi(page, ADMIN.email, ADMIN.password);
  await page.getByRole("link", { name: "Manage events" }).click();
  await expect(page.getByRole("heading", { name: "Manage events" })).toBeVisible();

  const name = unique("Admin Made");
  await page.getByRole("link", { name: "New event" }).click();
  await page.getByLabel("Name").fill(name);
  await page.getByLabel("Description").fill("Made through the admin pages.");
  await page.getByLabel("Venue").fill("Studio 4");
  const nextYear = new Date().getFullYear() + 1;
  await page.getByLabel("Date").fill(`${nextYear}-06-01T19:30`);
  await page.getByLabel("Price").fill("42.50");
  await page.getByLabel("Total tickets").fill("50");
  await page.getByLabel("Tickets per person").fill("6");
  await page.getByLabel("Status").selectOption("draft");
  await page.getByRole("button", { name: "Save event" }).click();

  await expect(page.getByRole("heading", { name: "Manage events" })).toBeVisible();
  const row = page.getByRole("row").filter({ hasText: name });
  await expect(row).toContainText("draft");
  await expect(row).toContainText("$42.50");

  await row.getByRole("link", { name: "Edit" }).click();
  await expect(page.getByLabel("Total tickets")).toHaveCount(0);
  await expect(page.getByLabel("Tickets per person")).toHaveValue("6");
  const renamed = `${name} (moved)`;
  await page.getByLabel("Name").fill(renamed);
  await page.getByLabel("Status").selectOption("published");
  // Emptied: the limit is lifted.
  await page.getByLabel("Tickets per person").fill("");
  await page.getByRole("button", { name: "Save event" }).click();
  const renamedRow = page.getByRole("row").filter({ hasText: renamed });
  await expect(renamedRow).toContainText("published");
  await renamedRow.getByRole("link", { name: "Edit" }).click();
  await expect(page.getByLabel("Tickets per person")).toHaveValue("");
  await page.goBack();

  await renamedRow.getByRole("button", { name: "Delete" }).click();
  await page.getByRole("dialog").getByRole("button", { name: "Confirm delete" }).click();
  await expect(page.getByRole("row").filter({ hasText: renamed })).toHaveCount(0);

  // An event with a confirmed booking cannot be deleted: the API's message is shown.
  const admin = await adminToken(request);
  const booked = unique("Has Bookings");
  const id = await createEvent(request, admin, { name: booked });
  await bookViaApi(request, admin, id, 1);
  await page.reload();
  await page.getByRole("row").filter({ hasText: booked }).getByRole("button", { name: "Delete" }).click();
  const dialog = page.getByRole("dialog");
  await dialog.getByRole("button", { name: "Confirm delete" }).click();
  await expect(dialog.getByRole("alert")).toContainText(/booking/i);
  await page.keyboard.press("Escape");
  await expect(page.getByRole("dialog")).toHaveCount(0);
  await expect(page.getByRole("row").filter({ hasText: booked })).toHaveCount(1);
});

test("the admin form shows the API's field errors next to their fields", async ({ page }) => {
  await logInViaUi(page, ADMIN.email, ADMIN.password);
  await page.goto("/admin/events/new");
  await page.getByLabel("Name").fill("Past Event");
  await page.getByLabel("Venue").fill("Somewhere");
  await page.getByLabel("Date").fill("2020-01-01T10:00");
  await page.getByLabel("Price").fill("10");
  await page.getByLabel("Total tickets").fill("10");
  await page.getByRole("button", { name: "Save event" }).click();
  await expect(page.getByRole("alert")).toBeVisible();
  await expect(page.getByLabel("Date")).toHaveAttribute("aria-invalid", "true");
});

test("a buyer cannot reach the admin pages", async ({ page }) => {
  await registerViaUi(page);
  await expect(page.getByRole("link", { name: "Manage events" })).toHaveCount(0);
  for (const path of ["/admin/events", "/admin/events/new"]) {
    await page.goto(path);
    await expect(page.getByRole("heading", { name: "Page not found" })).toBeVisible();
    await expect(page.getByRole("button", { name: "Save event" })).toHaveCount(0);
  }
});

test("door staff check tickets in by typing their codes: admitted once, then told when", async ({ page, request }) => {
  const admin = await adminToken(request);
  const name = unique("Door Test");
  const id = await createEvent(request, admin, { name, totalTickets: 20 });
  await bookViaApi(request, admin, id, 2);
  const codes = await ticketCodes(request, admin, id);
  expect(codes).toHaveLength(2);
  const first = codes[0] ?? "";
  await logInViaUi(page, ADMIN.email, ADMIN.password);
  await page.getByRole("link", { name: "Manage events" }).click();
  await page.getByRole("row").filter({ hasText: name }).getByRole("link", { name: "Check-in" }).click();
  await expect(page.getByRole("heading", { name: "Check-in" })).toBeVisible();
  await expect(page.getByText(name)).toBeVisible();
  await expect(page.getByText("0 of 2 checked in")).toBeVisible();

  // A handheld scanner types the code and presses Enter.
  const input = page.getByLabel("Ticket code");
  await expect(input).toBeFocused();
  await input.fill(first);
  await input.press("Enter");
  const status = page.getByRole("status");
  await expect(status).toContainText("Admitted");
  await expect(status).toContainText("Demo Admin");
  await expect(page.getByText("1 of 2 checked in")).toBeVisible();
  await expect(input).toHaveValue("");
  await expect(input).toBeFocused();
  await expectAccessible(page);
  await screenshots(page, "check-in-admitted");

  await input.fill(first);
  await page.getByRole("button", { name: "Check in" }).click();
  await expect(status).toContainText("Already checked in at");
  await input.fill("not-a-ticket-code");
  await input.press("Enter");
  await expect(status).toContainText("Invalid ticket");
  await expect(page.getByText("1 of 2 checked in")).toBeVisible();
  await screenshots(page, "check-in-refused");

  // The event's dashboard shows the same figures, and the day's sales as a chart and a table.
  await page.getByRole("link", { name: "Manage events" }).click();
  await page.getByRole("row").filter({ hasText: name }).getByRole("link", { name }).click();
  await expect(page.getByRole("heading", { level: 1, name })).toBeVisible();
  const figure = (label: string) => page.locator(".figure").filter({ has: page.getByText(label, { exact: true }) });
  await expect(figure("Tickets sold")).toContainText("2");
  await expect(figure("Held")).toContainText("0");
  await expect(figure("Checked in")).toContainText("1");
  await expect(figure("Gross revenue")).toContainText("$51.00");
  await expect(figure("Refunded")).toContainText("$0.00");
  await expect(figure("Net revenue")).toContainText("$51.00");
  await expect(page.getByRole("img", { name: "Sales by day" })).toBeVisible();
  const today = new Date().toISOString().slice(0, 10);
  await expect(page.getByRole("row").filter({ hasText: today })).toContainText("$51.00");
  await expect(page.getByRole("link", { name: "Check-in" })).toBeVisible();
  // The attendee list: a row per ticket, and the whole list as a CSV file.
  const attendees = page.getByRole("table").filter({ has: page.getByText("Holder") });
  await expect(attendees.getByRole("row").filter({ hasText: "Demo Admin" })).toHaveCount(2);
  await expect(attendees.getByRole("row").filter({ hasText: "—" })).toHaveCount(1);
  const download = page.waitForEvent("download");
  await page.getByRole("link", { name: "Download CSV" }).click();
  const csv = await readFile(await (await download).path(), "utf8");
  const lines = csv.trim().split("\r\n");
  expect(lines[0]).toBe("ticketNumber,holderName,holderEmail,bookingId,checkedInAt");
  expect(lines).toHaveLength(3);
  await expectAccessible(page);
  await screenshots(page, "event-dashboard");
});
