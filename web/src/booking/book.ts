// Sends one booking attempt, retrying 503 and IDEMPOTENCY_KEY_IN_USE after Retry-After with the
// same key and body (bounded), so a retry can only replay the booking, never make a second one.
import { api, type Booking, unwrap } from "../api/client";
import { ApiError } from "../api/errors";
import { type RetryOptions, withRetry } from "../api/retry";
import type { Attempt } from "./attempts";

export const BOOKING_RETRY: RetryOptions = { attempts: 6, fallbackDelayMs: 1000, maxDelayMs: 5000 };

export async function sendAttempt(
  eventId: string,
  attempt: Attempt,
  onRetry?: RetryOptions["onRetry"],
): Promise<Booking> {
  return withRetry(
    async () => {
      const body = await unwrap(
        api.POST("/api/v1/bookings", {
          params: { header: { "Idempotency-Key": attempt.key } },
          body: { eventId, quantity: attempt.quantity },
        }),
      );
      if (!body.data) throw new ApiError(500, undefined, null);
      return body.data;
    },
    { ...BOOKING_RETRY, onRetry },
  );
}
