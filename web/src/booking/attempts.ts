// One Idempotency-Key per booking attempt, kept in sessionStorage until the attempt has a
// definitive answer: a double click, an automatic retry or a reload during the request all send
// the same key, so the API can book it at most once.

export interface Attempt {
  key: string;
  quantity: number;
}

const PREFIX = "ticketing.booking-attempt.";

export class AttemptStore {
  constructor(
    private readonly storage: Pick<Storage, "getItem" | "setItem" | "removeItem">,
    private readonly newKey: () => string = () => crypto.randomUUID(),
  ) {}

  /** The attempt for this event still waiting for a definitive answer, if any. */
  pending(eventId: string): Attempt | null {
    const raw = this.storage.getItem(PREFIX + eventId);
    if (!raw) return null;
    try {
      const parsed: unknown = JSON.parse(raw);
      if (isAttempt(parsed)) return parsed;
    } catch {
      // Unreadable: treated as absent, and replaced by the next attempt.
    }
    return null;
  }

  /**
   * The attempt to send: the pending one if there is one (its outcome is unknown, so it must be
   * asked again as it was), else a new one with a fresh key.
   */
  begin(eventId: string, quantity: number): Attempt {
    const pending = this.pending(eventId);
    if (pending) return pending;
    const attempt = { key: this.newKey(), quantity };
    this.storage.setItem(PREFIX + eventId, JSON.stringify(attempt));
    return attempt;
  }

  /** The attempt got a definitive answer (booked, or refused without booking). */
  finish(eventId: string): void {
    this.storage.removeItem(PREFIX + eventId);
  }
}

function isAttempt(value: unknown): value is Attempt {
  if (typeof value !== "object" || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    typeof v.key === "string" &&
    v.key.length > 0 &&
    typeof v.quantity === "number" &&
    Number.isInteger(v.quantity) &&
    v.quantity >= 1 &&
    v.quantity <= 10
  );
}
