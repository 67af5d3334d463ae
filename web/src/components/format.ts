// Money with two decimals and a currency sign; dates in the user's own time zone.
const CURRENCY = "USD";

const money = new Intl.NumberFormat(undefined, {
  style: "currency",
  currency: CURRENCY,
  minimumFractionDigits: 2,
  maximumFractionDigits: 2,
});
// (`dateStyle` cannot be combined with `timeZoneName`, so the parts are spelled out.)
const dateTime = new Intl.DateTimeFormat(undefined, {
  weekday: "short",
  year: "numeric",
  month: "short",
  day: "numeric",
  hour: "numeric",
  minute: "2-digit",
  timeZoneName: "short",
});

export function formatMoney(amount: number): string {
  return money.format(amount);
}

export function formatDateTime(iso: string): string {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : dateTime.format(date);
}

export function userTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone;
}

/** UI.md's wording exactly ("N tickets left"), which clients and tests look for. */
export function ticketsLeft(available: number): string {
  return available <= 0 ? "Sold out" : `${available} tickets left`;
}
