import { describe, expect, test } from "vitest";
import { ApiError, isRetryable, messageOf, NetworkError, parseRetryAfter } from "../../src/api/errors";

describe("ApiError", () => {
  test("keeps the API's message, code and per-field errors", () => {
    const error = new ApiError(
      400,
      {
        success: false,
        code: "VALIDATION_ERROR",
        message: "Some fields are invalid",
        errors: [
          { field: "email", message: "must be an email" },
          { field: "email", message: "second problem" },
          { message: "no field" },
        ],
      },
      null,
    );
    expect(messageOf(error)).toBe("Some fields are invalid");
    expect(error.code).toBe("VALIDATION_ERROR");
    expect(error.fieldErrors).toEqual({ email: "must be an email" });
    expect(isRetryable(error)).toBe(false);
  });

  test("an answer without an envelope still says something useful", () => {
    const error = new ApiError(502, undefined, null);
    expect(error.code).toBe("UNKNOWN");
    expect(messageOf(error)).toBe("The server answered 502.");
  });

  test("only 503, IDEMPOTENCY_KEY_IN_USE and network failures are worth asking again", () => {
    expect(isRetryable(new ApiError(503, { success: false, code: "SERVICE_UNAVAILABLE", message: "m" }, "2"))).toBe(
      true,
    );
    expect(isRetryable(new ApiError(409, { success: false, code: "IDEMPOTENCY_KEY_IN_USE", message: "m" }, "1"))).toBe(
      true,
    );
    expect(isRetryable(new ApiError(409, { success: false, code: "INSUFFICIENT_TICKETS", message: "m" }, null))).toBe(
      false,
    );
    expect(isRetryable(new ApiError(422, { success: false, code: "IDEMPOTENCY_KEY_REUSED", message: "m" }, null))).toBe(
      false,
    );
    expect(isRetryable(new NetworkError())).toBe(true);
    expect(isRetryable(new Error("boom"))).toBe(false);
  });

  test("anything else gets a plain sentence, never internals", () => {
    expect(messageOf(new TypeError("x is undefined"))).toBe("Something went wrong. Please try again.");
    expect(messageOf(new NetworkError())).toMatch(/connection/);
  });
});

describe("parseRetryAfter", () => {
  test("delta seconds", () => {
    expect(parseRetryAfter("3")).toBe(3000);
    expect(parseRetryAfter(" 0 ")).toBe(0);
  });
  test("an HTTP date, never negative", () => {
    const now = Date.parse("2026-01-01T00:00:00Z");
    expect(parseRetryAfter("Thu, 01 Jan 2026 00:00:05 GMT", now)).toBe(5000);
    expect(parseRetryAfter("Wed, 31 Dec 2025 23:59:00 GMT", now)).toBe(0);
  });
  test("absent or malformed: unknown", () => {
    expect(parseRetryAfter(null)).toBeUndefined();
    expect(parseRetryAfter("")).toBeUndefined();
    expect(parseRetryAfter("soon")).toBeUndefined();
    expect(parseRetryAfter("-1")).toBeUndefined();
  });
});
