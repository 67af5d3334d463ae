// The API client, typed from openapi.yaml. Every request carries the in-memory access token; a
// 401 triggers one refresh shared by all requests in flight, then the request is sent once more.
import createClient from "openapi-fetch";
import { singleFlight } from "../session/singleFlight";
import { accessTokenNow, signIn, signOut } from "../session/store";
import { ApiError, NetworkError } from "./errors";
import type { components, paths } from "./schema";

export type Event = components["schemas"]["Event"];
export type Booking = components["schemas"]["Booking"];
export type PageMeta = components["schemas"]["Meta"];
type ErrorBody = components["schemas"]["Error"];

/** Routes that manage the session themselves: no Bearer header, no refresh-and-retry. */
const SESSION_ROUTES = ["/login", "/register", "/refresh", "/logout"].map((r) => `/api/v1/auth${r}`);

/** Same origin as the page (the API and the app are served together). */
const ORIGIN = globalThis.location?.origin ?? "http://localhost";

function isSessionRoute(url: string): boolean {
  return SESSION_ROUTES.includes(new URL(url, ORIGIN).pathname);
}

async function send(request: Request): Promise<Response> {
  try {
    return await fetch(request);
  } catch {
    throw new NetworkError();
  }
}

async function authorisedFetch(request: Request): Promise<Response> {
  if (isSessionRoute(request.url)) return send(request);
  const again = request.clone();
  const token = accessTokenNow();
  if (token) request.headers.set("Authorization", `Bearer ${token}`);
  const response = await send(request);
  if (response.status !== 401 || !token) return response;
  if (!(await refreshSession())) return response;
  again.headers.set("Authorization", `Bearer ${accessTokenNow()}`);
  return send(again);
}

export const api = createClient<paths>({ baseUrl: ORIGIN, fetch: authorisedFetch });

/** The body of a successful answer; any error answer becomes an `ApiError`. */
export async function unwrap<T>(call: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
  const { data, error, response } = await call;
  if (error !== undefined || !response.ok || data === undefined) {
    throw new ApiError(response.status, error as ErrorBody | undefined, response.headers.get("Retry-After"));
  }
  return data;
}

/**
 * Trades the refresh cookie for a new access token. True when the session goes on; a refused
 * refresh (401) signs out, a passing failure (network, 503) leaves the session as it is.
 */
export const refreshSession = singleFlight(async (): Promise<boolean> => {
  try {
    const body = await unwrap(api.POST("/api/v1/auth/refresh", { body: {} }));
    const session = body.data;
    if (!session) return false;
    signIn(session.accessToken, session.user);
    return true;
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) signOut();
    return false;
  }
});
