// The events listing's filters, sort and page, kept in the URL so a listing is shareable and the
// back button works. Unknown or malformed values are dropped, never sent on to the API.
import type { paths } from "../api/schema";

export type ListEventsParams = NonNullable<paths["/api/v1/events"]["get"]["parameters"]["query"]>;
type Status = NonNullable<ListEventsParams["status"]>;

export const SORTS = {
  "date-asc": { label: "Date: soonest first", sortBy: "date", sortOrder: "asc" },
  "date-desc": { label: "Date: latest first", sortBy: "date", sortOrder: "desc" },
  "price-asc": { label: "Price: low to high", sortBy: "price", sortOrder: "asc" },
  "price-desc": { label: "Price: high to low", sortBy: "price", sortOrder: "desc" },
  "name-asc": { label: "Name: A to Z", sortBy: "name", sortOrder: "asc" },
  "createdAt-desc": { label: "Newly announced", sortBy: "createdAt", sortOrder: "desc" },
} as const;
export type Sort = keyof typeof SORTS;
export const DEFAULT_SORT: Sort = "date-asc";

export const STATUSES: readonly Status[] = ["draft", "published", "cancelled", "completed"];

export interface EventQuery {
  page: number;
  search: string;
  from: string;
  to: string;
  venue: string;
  minPrice: string;
  maxPrice: string;
  status: Status | "";
  sort: Sort;
}

export const EMPTY_QUERY: EventQuery = {
  page: 1,
  search: "",
  from: "",
  to: "",
  venue: "",
  minPrice: "",
  maxPrice: "",
  status: "",
  sort: DEFAULT_SORT,
};

const DATE = /^\d{4}-\d{2}-\d{2}$/;
const MONEY = /^\d{1,6}(\.\d{1,2})?$/;

function pick(params: URLSearchParams, name: string, valid: (v: string) => boolean): string {
  const value = params.get(name)?.trim() ?? "";
  return valid(value) ? value : "";
}

export function queryFromSearch(params: URLSearchParams): EventQuery {
  const page = Number(params.get("page"));
  const sort = params.get("sort") ?? "";
  const status = params.get("status") ?? "";
  return {
    page: Number.isInteger(page) && page >= 1 ? page : 1,
    search: params.get("search") ?? "",
    from: pick(params, "from", (v) => DATE.test(v)),
    to: pick(params, "to", (v) => DATE.test(v)),
    venue: params.get("venue") ?? "",
    minPrice: pick(params, "minPrice", (v) => MONEY.test(v)),
    maxPrice: pick(params, "maxPrice", (v) => MONEY.test(v)),
    status: (STATUSES as readonly string[]).includes(status) ? (status as Status) : "",
    sort: sort in SORTS ? (sort as Sort) : DEFAULT_SORT,
  };
}

/** The URL query for a listing: defaults and empty values are left out, so URLs stay short. */
export function searchFromQuery(query: EventQuery): URLSearchParams {
  const params = new URLSearchParams();
  const set = (name: string, value: string) => {
    if (value.trim() !== "") params.set(name, value);
  };
  set("search", query.search);
  set("from", query.from);
  set("to", query.to);
  set("venue", query.venue);
  set("minPrice", query.minPrice);
  set("maxPrice", query.maxPrice);
  set("status", query.status);
  if (query.sort !== DEFAULT_SORT) params.set("sort", query.sort);
  if (query.page > 1) params.set("page", String(query.page));
  return params;
}

/** What the API is asked for one listing page. */
export function apiParams(query: EventQuery, limit: number): ListEventsParams {
  const sort = SORTS[query.sort];
  const params: ListEventsParams = {
    page: query.page,
    limit,
    sortBy: sort.sortBy,
    sortOrder: sort.sortOrder,
  };
  if (query.search.trim()) params.search = query.search.trim();
  if (query.venue.trim()) params.venue = query.venue.trim();
  if (query.from) params.from = query.from;
  if (query.to) params.to = query.to;
  if (query.minPrice) params.minPrice = Number(query.minPrice);
  if (query.maxPrice) params.maxPrice = Number(query.maxPrice);
  if (query.status) params.status = query.status;
  return params;
}
