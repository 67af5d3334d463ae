import { useEffect, useState } from "react";
import { Link, useLocation, useNavigate, useParams } from "react-router";
import type { Event } from "../api/client";
import { ApiError } from "../api/errors";
import { Confirmation } from "../booking/Confirmation";
import { useMyBookings } from "../booking/queries";
import { useBooking } from "../booking/useBooking";
import { ErrorAlert } from "../components/ErrorAlert";
import { formatDateTime, formatMoney, ticketsLeft } from "../components/format";
import { WithEvent } from "../events/WithEvent";
import { useSession } from "../session/store";

const MAX_PER_BOOKING = 10;

export function EventDetailsPage() {
  const { id = "" } = useParams();
  return (
    <WithEvent id={id} live>
      {(event) => <EventDetails event={event} />}
    </WithEvent>
  );
}

function isBookable(event: Event): boolean {
  return event.status === "published" && new Date(event.date).getTime() > Date.now() && event.availableTickets > 0;
}

function EventDetails({ event }: { event: Event }) {
  const session = useSession();
  const navigate = useNavigate();
  const location = useLocation();
  const booking = useBooking(event.id);
  const [quantity, setQuantity] = useState(1);
  // One order takes at most 10, and never more than the event lets one person have.
  const most = Math.min(MAX_PER_BOOKING, event.maxTicketsPerUser ?? MAX_PER_BOOKING);
  const soldOut = event.availableTickets <= 0;
  const bookable = isBookable(event);
  const chosen = booking.pendingQuantity ?? quantity;
  const made = booking.booking;

  // A paid booking is a hold: its checkout has its own address, so a reload resumes it.
  useEffect(() => {
    if (made?.status === "pending") navigate(`/checkout/${made.id}`, { state: { booking: made } });
  }, [made, navigate]);

  function onBook() {
    if (session.status !== "signedIn") {
      navigate("/login", { state: { from: location } });
      return;
    }
    booking.book(chosen);
  }

  return (
    <article className="details">
      <h1>{event.name}</h1>
      <dl className="facts">
        <dt>Date</dt>
        <dd>{formatDateTime(event.date)}</dd>
        <dt>Venue</dt>
        <dd>{event.venue}</dd>
        <dt>Price</dt>
        <dd>{formatMoney(event.price)} per ticket</dd>
        <dt>Availability</dt>
        <dd className={soldOut ? "sold-out" : undefined}>{ticketsLeft(event.availableTickets)}</dd>
      </dl>
      {event.description && <p className="description">{event.description}</p>}
      {event.status !== "published" && <p className="notice">This event is {event.status}: it cannot be booked.</p>}
      {session.status === "signedIn" && <HeldHere eventId={event.id} />}

      <form
        className="book"
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          onBook();
        }}
      >
        <label>
          Quantity
          <input
            type="number"
            min={1}
            max={most}
            value={chosen}
            aria-describedby={event.maxTicketsPerUser != null ? "per-person-limit" : undefined}
            disabled={!bookable || booking.inFlight || booking.pendingQuantity !== undefined}
            onChange={(e) => setQuantity(clampQuantity(e.target.valueAsNumber, most))}
          />
        </label>
        {event.maxTicketsPerUser != null && (
          <span id="per-person-limit" className="limit">
            At most {event.maxTicketsPerUser} per person
          </span>
        )}
        <button type="submit" className="primary" disabled={!bookable || booking.inFlight}>
          {booking.inFlight ? "Booking…" : "Book tickets"}
        </button>
        {bookable && <span className="total">Total {formatMoney((Math.round(event.price * 100) * chosen) / 100)}</span>}
      </form>
      {booking.inFlight && (
        <p role="status">
          {booking.retrying ? "The box office is busy; still trying with the same request…" : "Booking your tickets…"}
        </p>
      )}
      {booking.error !== null && !booking.inFlight && (
        <BookingError
          error={booking.error}
          available={event.availableTickets}
          onRetry={
            booking.pendingQuantity !== undefined ? () => booking.book(booking.pendingQuantity ?? chosen) : undefined
          }
        />
      )}
      {made?.status === "confirmed" && <Confirmation booking={made} />}
    </article>
  );
}

function clampQuantity(n: number, most: number): number {
  return Number.isFinite(n) ? Math.min(most, Math.max(1, Math.trunc(n))) : 1;
}

function BookingError({ error, available, onRetry }: { error: unknown; available: number; onRetry?: () => void }) {
  const short = error instanceof ApiError && error.code === "INSUFFICIENT_TICKETS";
  const remaining = error instanceof ApiError && error.code === "TICKET_LIMIT_REACHED" ? limitLeft(error) : undefined;
  return (
    <div className="booking-error">
      <ErrorAlert error={error} onRetry={onRetry} />
      {short && <p>{available > 0 ? `Only ${ticketsLeft(available)}.` : "This event is sold out."}</p>}
      {remaining !== undefined && (
        <p>
          {remaining > 0
            ? `You can book ${remaining} more ${remaining === 1 ? "ticket" : "tickets"} for this event.`
            : "You already have as many tickets for this event as one person may."}
        </p>
      )}
    </div>
  );
}

/** `data.remaining` of a TICKET_LIMIT_REACHED answer, if the server sent it. */
function limitLeft(error: ApiError): number | undefined {
  const { data } = error;
  if (typeof data !== "object" || data === null || !("remaining" in data)) return undefined;
  return typeof data.remaining === "number" ? data.remaining : undefined;
}

/** The caller's holds on this event still awaiting payment: a way back to each checkout. */
function HeldHere({ eventId }: { eventId: string }) {
  const held = useMyBookings(1, 10, "pending");
  const here = (held.data?.data ?? []).filter((b) => b.eventId === eventId && b.status === "pending");
  if (here.length === 0) return null;
  return (
    <div className="notice held">
      {here.map((b) => (
        <p key={b.id}>
          {b.quantity} {b.quantity === 1 ? "ticket is" : "tickets are"} held for you, awaiting payment.{" "}
          <Link to={`/checkout/${b.id}`}>Complete payment</Link>
        </p>
      ))}
    </div>
  );
}
