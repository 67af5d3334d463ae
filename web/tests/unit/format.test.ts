import { expect, test } from "vitest";
import { formatDateTime, formatMoney, ticketsLeft } from "../../src/components/format";

test("money has two decimals and a currency sign", () => {
  expect(formatMoney(25.5)).toMatch(/\$25\.50/);
  expect(formatMoney(0)).toMatch(/\$0\.00/);
});

test("dates name their time zone; a bad date is shown as it came", () => {
  expect(formatDateTime("2027-06-01T19:30:00Z")).toMatch(/2027/);
  expect(formatDateTime("2027-06-01T19:30:00Z")).toMatch(/UTC|GMT|[A-Z]{2,4}/);
  expect(formatDateTime("not a date")).toBe("not a date");
});

test("availability uses UI.md's words", () => {
  expect(ticketsLeft(3)).toBe("3 tickets left");
  expect(ticketsLeft(0)).toBe("Sold out");
});
