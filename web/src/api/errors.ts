// Errors the app shows: the API's own words when it sent an envelope, a plain sentence otherwise.
import type { components } from "./schema";

type ErrorBody = components["schemas"]["Error"];
export type ErrorCode = ErrorBody["code"];

/** An error answer of the API, carrying its envelope. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: ErrorCode | "UNKNOWN";
  readonly fieldErrors: Record<string, string>;
  /** Milliseconds to wait before asking again, when the API said so (`Retry-After`). */
  readonly retryAfterMs: number | undefined;
  /** What the error carries beyond its code (`TICKET_LIMIT_REACHED`: `{ remaining }`). */
  readonly data: unknown;

  constructor(status: number, body: Partial<ErrorBody> | undefined, retryAfter: string | null) {
    super(body?.message || `The server answered ${status}.`);
    this.name = "ApiError";
    this.status = status;
    this.code = body?.code ?? "UNKNOWN";
    this.fieldErrors = fieldErrorsOf(body?.errors);
    this.retryAfterMs = parseRetryAfter(retryAfter);
    this.data = body?.data;
  }
}

/** The request never got an answer (offline, DNS, connection reset). */
export class NetworkError extends Error {
  constructor() {
    super("Cannot reach the server. Check your connection and try again.");
    this.name = "NetworkError";
  }
}

function fieldErrorsOf(errors: ErrorBody["errors"]): Record<string, string> {
  const byField: Record<string, string> = {};
  for (const e of errors ?? []) {
    if (e.field && !byField[e.field]) byField[e.field] = e.message;
  }
  return byField;
}

/** `Retry-After` as milliseconds: delta-seconds or an HTTP date; undefined when absent or bad. */
export function parseRetryAfter(value: string | null, now: number = Date.now()): number | undefined {
  if (value === null || value.trim() === "") return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  // An HTTP date always names its weekday and month; anything else is not one.
  if (!/[A-Za-z]/.test(trimmed)) return undefined;
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** The payment provider's own words (a declined card, a payment form that did not load). */
export class PaymentError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PaymentError";
  }
}

/** The sentence to show a person for any error the app can meet. */
export function messageOf(error: unknown): string {
  if (error instanceof ApiError || error instanceof NetworkError || error instanceof PaymentError) return error.message;
  return "Something went wrong. Please try again.";
}

/** True when asking again (same request, same key) may succeed. */
export function isRetryable(error: unknown): boolean {
  if (error instanceof NetworkError) return true;
  if (!(error instanceof ApiError)) return false;
  return error.status === 503 || error.code === "IDEMPOTENCY_KEY_IN_USE";
}
