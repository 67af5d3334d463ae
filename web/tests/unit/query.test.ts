import { describe, expect, test } from "vitest";
import { apiParams, EMPTY_QUERY, type EventQuery, queryFromSearch, searchFromQuery } from "../../src/events/query";

describe("event query and URL", () => {
  test("round trip: every filter, the sort and the page survive the URL", () => {
    const query: EventQuery = {
      page: 3,
      search: "jazz night",
      from: "2027-01-01",
      to: "2027-02-01",
      venue: "Blue Note",
      minPrice: "10",
      maxPrice: "99.5",
      status: "draft",
      sort: "price-desc",
    };
    const url = searchFromQuery(query).toString();
    expect(queryFromSearch(new URLSearchParams(url))).toEqual(query);
  });

  test("defaults stay out of the URL", () => {
    expect(searchFromQuery(EMPTY_QUERY).toString()).toBe("");
    expect(queryFromSearch(new URLSearchParams(""))).toEqual(EMPTY_QUERY);
  });

  test("malformed values from a hand-edited URL are dropped, not sent to the API", () => {
    const query = queryFromSearch(
      new URLSearchParams("page=-2&from=yesterday&to=2027-13&minPrice=1e3&maxPrice=abc&status=secret&sort=random"),
    );
    expect(query).toEqual(EMPTY_QUERY);
    expect(queryFromSearch(new URLSearchParams("page=2.5")).page).toBe(1);
  });

  test("the API is asked with its own names and types", () => {
    const params = apiParams({ ...EMPTY_QUERY, search: "  rock ", minPrice: "12.5", sort: "name-asc", page: 2 }, 12);
    expect(params).toEqual({
      page: 2,
      limit: 12,
      search: "rock",
      minPrice: 12.5,
      sortBy: "name",
      sortOrder: "asc",
    });
  });
});
