import { QueryClient } from "@tanstack/react-query";
import { describe, expect, test } from "vitest";
import { bookingKeys } from "../../src/booking/queries";
import { eventKeys } from "../../src/events/queries";
import { EMPTY_QUERY } from "../../src/events/query";

/** Seeds a cache with one entry per key, invalidates `prefix`, and says which became stale. */
async function staleAfter(keys: readonly (readonly unknown[])[], prefix: readonly unknown[]) {
  const client = new QueryClient();
  for (const key of keys) client.setQueryData(key, "cached");
  await client.invalidateQueries({ queryKey: prefix, refetchType: "none" });
  return keys.filter((key) => client.getQueryState(key)?.isInvalidated);
}

describe("query keys from one factory", () => {
  test("a booking or a cancel refreshes every page of My bookings, and nothing of events", async () => {
    const pages = [bookingKeys.list(1, 10), bookingKeys.list(2, 10)];
    const events = [eventKeys.one("e1")];
    expect(await staleAfter([...pages, ...events], bookingKeys.all)).toEqual(pages);
  });

  test("a change to events refreshes the public list, one event and the admin's list", async () => {
    const keys = [eventKeys.list(EMPTY_QUERY, "guest"), eventKeys.one("e1"), eventKeys.admin(1, 20)];
    expect(await staleAfter([...keys, bookingKeys.list(1, 10)], eventKeys.all)).toEqual(keys);
  });

  test("pages and viewers are cached apart", () => {
    expect(bookingKeys.list(1, 10)).not.toEqual(bookingKeys.list(2, 10));
    expect(eventKeys.list(EMPTY_QUERY, "admin")).not.toEqual(eventKeys.list(EMPTY_QUERY, "guest"));
  });
});
