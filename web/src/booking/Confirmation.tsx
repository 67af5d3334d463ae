import { Link } from "react-router";
import type { Booking } from "../api/client";
import { formatMoney } from "../components/format";

/** "Booking confirmed": the tickets a booking holds, focused so a screen reader announces it. */
export function Confirmation({ booking }: { booking: Booking }) {
  return (
    <section className="confirmation" aria-labelledby="booking-confirmed">
      <h2 id="booking-confirmed" tabIndex={-1} ref={(h) => h?.focus()}>
        Booking confirmed
      </h2>
      <p>
        {booking.quantity} {booking.quantity === 1 ? "ticket" : "tickets"}, {formatMoney(booking.totalPrice)} in total.
        Your ticket numbers:
      </p>
      <ul className="tickets">
        {booking.ticketNumbers.map((t) => (
          <li key={t}>{t}</li>
        ))}
      </ul>
      <Link to="/bookings">My bookings</Link>
    </section>
  );
}
