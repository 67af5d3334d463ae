// Asks the server to settle a booking after Stripe.js authorised its card. The server asks the
// provider itself; `PAYMENT_INCOMPLETE` while the provider settles is asked again, briefly.
import { api, type Booking, unwrap } from "../api/client";
import { ApiError, isRetryable } from "../api/errors";
import { type RetryOptions, withRetry } from "../api/retry";

export const SETTLE_RETRY: RetryOptions = {
  attempts: 6,
  fallbackDelayMs: 1000,
  maxDelayMs: 3000,
  retryable: (error) => isRetryable(error) || (error instanceof ApiError && error.code === "PAYMENT_INCOMPLETE"),
};

export async function settleBooking(id: string, options: Partial<RetryOptions> = {}): Promise<Booking> {
  return withRetry(
    async () => {
      const body = await unwrap(api.POST("/api/v1/bookings/{id}/confirm", { params: { path: { id } } }));
      if (!body.data) throw new ApiError(500, undefined, null);
      return body.data;
    },
    { ...SETTLE_RETRY, ...options },
  );
}

/** Cancels a pending booking: its hold ends and the tickets go back on sale. */
export async function cancelBooking(id: string): Promise<Booking> {
  const body = await unwrap(api.PATCH("/api/v1/bookings/{id}/cancel", { params: { path: { id } } }));
  if (!body.data) throw new ApiError(500, undefined, null);
  return body.data;
}
