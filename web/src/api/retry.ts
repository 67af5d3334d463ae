// Bounded retries that honour `Retry-After`, for requests that are safe to repeat as they are.
import { ApiError, isRetryable } from "./errors";

export interface RetryOptions {
  /** Attempts in all, the first included. */
  attempts: number;
  /** Wait when the server did not say how long (ms). */
  fallbackDelayMs: number;
  /** Longest wait between two attempts (ms), whatever the server asks. */
  maxDelayMs: number;
  sleep?: (ms: number) => Promise<void>;
  /** Which failures to repeat; by default 503, `IDEMPOTENCY_KEY_IN_USE` and network failures. */
  retryable?: (error: unknown) => boolean;
  onRetry?: (attempt: number, error: unknown) => void;
}

const realSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export async function withRetry<T>(run: () => Promise<T>, options: RetryOptions): Promise<T> {
  const sleep = options.sleep ?? realSleep;
  const retryable = options.retryable ?? isRetryable;
  for (let attempt = 1; ; attempt++) {
    try {
      return await run();
    } catch (error) {
      if (attempt >= options.attempts || !retryable(error)) throw error;
      options.onRetry?.(attempt, error);
      const asked = error instanceof ApiError ? error.retryAfterMs : undefined;
      await sleep(Math.min(asked ?? options.fallbackDelayMs, options.maxDelayMs));
    }
  }
}
