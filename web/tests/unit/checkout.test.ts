import { describe, expect, test } from "vitest";
import { ApiError } from "../../src/api/errors";
import { SETTLE_RETRY } from "../../src/checkout/settle";
import { formatCountdown, secondsUntil } from "../../src/checkout/useCountdown";

const answer = (status: number, code: string) =>
  new ApiError(status, { success: false, code, message: code } as never, null);

describe("the hold's countdown", () => {
  test("counts whole seconds up to the server's expiresAt, and stops at zero", () => {
    const end = Date.parse("2026-12-04T12:10:00Z");
    expect(secondsUntil(end, Date.parse("2026-12-04T12:00:00Z"))).toBe(600);
    // A part second left still shows as one: the hold is not over yet.
    expect(secondsUntil(end, end - 200)).toBe(1);
    expect(secondsUntil(end, end)).toBe(0);
    expect(secondsUntil(end, end + 5000)).toBe(0);
    expect(secondsUntil(Number.NaN, 0)).toBe(0);
  });

  test("shows m:ss", () => {
    expect(formatCountdown(600)).toBe("10:00");
    expect(formatCountdown(61)).toBe("1:01");
    expect(formatCountdown(9)).toBe("0:09");
    expect(formatCountdown(-3)).toBe("0:00");
  });
});

describe("settling after Stripe.js authorised", () => {
  const retryable = SETTLE_RETRY.retryable ?? (() => false);

  test("asks again while the provider settles, or the server is busy", () => {
    expect(retryable(answer(409, "PAYMENT_INCOMPLETE"))).toBe(true);
    expect(retryable(answer(503, "SERVICE_UNAVAILABLE"))).toBe(true);
  });

  test("stops at a definitive answer", () => {
    for (const code of ["HOLD_EXPIRED", "BOOKING_NOT_PAYABLE", "NOT_FOUND"]) {
      expect(retryable(answer(409, code))).toBe(false);
    }
    expect(SETTLE_RETRY.attempts).toBeLessThanOrEqual(10);
  });
});
