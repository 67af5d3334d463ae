// The checkout of one pending booking: the hold's countdown (from the server's `expiresAt`),
// Stripe's card field, "Pay" (Stripe.js authorises the card; our server then settles the booking
// by asking Stripe), and "Cancel". One payment in flight at a time; a reload or a second tab
// opens the same booking at /checkout/:id, never a second hold.
import { useQueryClient } from "@tanstack/react-query";
import { useCallback, useEffect, useRef, useState } from "react";
import { Link } from "react-router";
import type { Booking } from "../api/client";
import { ApiError, PaymentError } from "../api/errors";
import { Confirmation } from "../booking/Confirmation";
import { bookingKeys } from "../booking/queries";
import { ErrorAlert } from "../components/ErrorAlert";
import { formatMoney } from "../components/format";
import { eventKeys } from "../events/queries";
import type { Payments } from "./config";
import { cancelBooking, settleBooking } from "./settle";
import { type CardElement, loadStripe, type StripeError } from "./stripe";
import { formatCountdown, useSecondsLeft } from "./useCountdown";

type Outcome =
  | { kind: "paying" }
  | { kind: "confirmed"; booking: Booking }
  | { kind: "expired"; error?: unknown }
  | { kind: "cancelled" };

/** What a Stripe.js error means for this booking: paid already (settle it), or a message. */
function alreadyAuthorised(error: StripeError): boolean {
  const status = error.payment_intent?.status;
  return error.code === "payment_intent_unexpected_state" && (status === "requires_capture" || status === "succeeded");
}

export function Checkout({ booking, payments }: { booking: Booking; payments: Payments }) {
  const queryClient = useQueryClient();
  const [outcome, setOutcome] = useState<Outcome>(() => initialOutcome(booking));
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState<"pay" | "cancel" | null>(null);
  const inFlight = useRef(false);
  const card = useCardElement(payments, outcome.kind === "paying");
  const secondsLeft = useSecondsLeft(booking.expiresAt);
  const refresh = useCallback(() => {
    void queryClient.invalidateQueries({ queryKey: bookingKeys.all });
    void queryClient.invalidateQueries({ queryKey: eventKeys.all });
  }, [queryClient]);

  const settle = useCallback(async () => {
    try {
      const settled = await settleBooking(booking.id);
      setOutcome({ kind: "confirmed", booking: settled });
    } catch (e) {
      if (e instanceof ApiError && e.code === "HOLD_EXPIRED") setOutcome({ kind: "expired", error: e });
      else setError(e);
    } finally {
      refresh();
    }
  }, [booking.id, refresh]);

  // The hold ran out with no payment under way. The server decides what that means: a card
  // authorised in time (another tab, a webhook) is still confirmed; otherwise the tickets go
  // back on sale.
  const lapsed = outcome.kind === "paying" && secondsLeft === 0 && busy === null;
  useEffect(() => {
    if (!lapsed || inFlight.current) return;
    inFlight.current = true;
    settleBooking(booking.id, { attempts: 1 })
      .then((settled) => setOutcome({ kind: "confirmed", booking: settled }))
      .catch(() => setOutcome({ kind: "expired" }))
      .finally(() => {
        inFlight.current = false;
        refresh();
      });
  }, [lapsed, booking.id, refresh]);

  // A booking already authorised (a reload after paying, a return from 3-D Secure) is settled.
  const resumed = useRef(false);
  const authorised = booking.status === "pending" && booking.payment?.status === "authorized";
  useEffect(() => {
    if (resumed.current || !authorised) return;
    resumed.current = true;
    void settle();
  }, [authorised, settle]);

  async function pay() {
    if (inFlight.current || !card.element || !booking.payment?.clientSecret) return;
    inFlight.current = true;
    setBusy("pay");
    setError(null);
    try {
      const stripe = await loadStripe(payments);
      const result = await stripe.confirmCardPayment(booking.payment.clientSecret, {
        payment_method: { card: card.element },
      });
      if (result.error && !alreadyAuthorised(result.error)) {
        // Declined or incomplete: the provider's words; the hold stands and another card may be tried.
        setError(new PaymentError(result.error.message ?? "The payment did not go through."));
        return;
      }
      await settle();
    } catch (e) {
      setError(e);
    } finally {
      inFlight.current = false;
      setBusy(null);
    }
  }

  async function cancel() {
    if (inFlight.current) return;
    inFlight.current = true;
    setBusy("cancel");
    setError(null);
    try {
      await cancelBooking(booking.id);
      setOutcome({ kind: "cancelled" });
    } catch (e) {
      setError(e);
    } finally {
      inFlight.current = false;
      setBusy(null);
      refresh();
    }
  }

  if (outcome.kind === "confirmed") return <Confirmation booking={outcome.booking} />;
  if (outcome.kind === "expired") return <HoldExpired eventId={booking.eventId} error={outcome.error} />;
  if (outcome.kind === "cancelled") {
    return (
      <section className="checkout-ended" aria-labelledby="checkout-ended">
        <h2 id="checkout-ended" tabIndex={-1} ref={(h) => h?.focus()}>
          Booking cancelled
        </h2>
        <p>Nothing was charged, and the tickets are back on sale.</p>
        <Link to={`/events/${booking.eventId}`}>Back to the event</Link>
      </section>
    );
  }

  const total = formatMoney(booking.totalPrice);
  return (
    <section className="checkout" aria-labelledby="checkout-title">
      <h2 id="checkout-title" tabIndex={-1} ref={(h) => h?.focus()}>
        Checkout
      </h2>
      <p>
        {booking.quantity} {booking.quantity === 1 ? "ticket" : "tickets"}, {total} in total.
      </p>
      <p className="countdown" role="timer" aria-live="off">
        Tickets held for {formatCountdown(secondsLeft)}
      </p>
      <form
        className="pay"
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          void pay();
        }}
      >
        <fieldset className="card-field">
          <legend>Card details</legend>
          <div ref={card.mountOn} />
          {card.loading && <p className="muted">Loading the card form…</p>}
        </fieldset>
        {card.error !== null && <ErrorAlert error={card.error} onRetry={card.retry} />}
        <div className="pay-actions">
          <button type="submit" className="primary" disabled={busy !== null || !card.element}>
            Pay {total}
          </button>
          <button type="button" disabled={busy !== null} onClick={() => void cancel()}>
            Cancel
          </button>
        </div>
      </form>
      {busy === "pay" && <p role="status">Processing your payment…</p>}
      {busy === "cancel" && <p role="status">Cancelling…</p>}
      {error !== null && busy === null && <ErrorAlert error={error} />}
    </section>
  );
}

function initialOutcome(booking: Booking): Outcome {
  if (booking.status === "confirmed") return { kind: "confirmed", booking };
  if (booking.status === "expired") return { kind: "expired" };
  if (booking.status === "cancelled") return { kind: "cancelled" };
  return { kind: "paying" };
}

export function HoldExpired({ eventId, error }: { eventId: string; error?: unknown }) {
  return (
    <section className="checkout-ended" aria-labelledby="hold-expired">
      <h2 id="hold-expired" tabIndex={-1} ref={(h) => h?.focus()}>
        Your hold expired
      </h2>
      {error !== undefined && <ErrorAlert error={error} />}
      <p>Nothing was charged. The tickets went back on sale; you can book again if some are left.</p>
      <Link to={`/events/${eventId}`}>Back to the event</Link>
    </section>
  );
}

/** Stripe's card Element, mounted on a node while `active`; destroyed when the checkout ends. */
function useCardElement(payments: Payments, active: boolean) {
  const [node, setNode] = useState<HTMLDivElement | null>(null);
  const [element, setElement] = useState<CardElement | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [attempt, setAttempt] = useState(0);

  // biome-ignore lint/correctness/useExhaustiveDependencies: a new `attempt` loads Stripe.js again after a failure
  useEffect(() => {
    if (!node || !active) return;
    let mounted: CardElement | null = null;
    let gone = false;
    setError(null);
    loadStripe(payments)
      .then((stripe) => {
        if (gone) return;
        mounted = stripe.elements().create("card");
        mounted.mount(node);
        setElement(mounted);
      })
      .catch((e: unknown) => {
        if (!gone) setError(e);
      });
    return () => {
      gone = true;
      mounted?.destroy();
      setElement(null);
    };
  }, [node, active, payments, attempt]);

  return {
    element,
    error,
    loading: active && element === null && error === null,
    mountOn: setNode,
    retry: () => setAttempt((n) => n + 1),
  };
}
