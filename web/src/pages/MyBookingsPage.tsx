import { useState } from "react";
import { Link, useSearchParams } from "react-router";
import type { Booking } from "../api/client";
import { ApiError } from "../api/errors";
import { useCancelBooking, useMyBookings } from "../booking/queries";
import { TicketQr } from "../booking/TicketQr";
import { ConfirmDialog } from "../components/ConfirmDialog";
import { ErrorAlert } from "../components/ErrorAlert";
import { formatDateTime, formatMoney } from "../components/format";
import { Loading } from "../components/Loading";
import { Pagination } from "../components/Pagination";
import { useEvent } from "../events/queries";

const PAGE_SIZE = 10;

/** UI.md's words for each status. */
const STATUS_LABEL: Record<Booking["status"], string> = {
  confirmed: "Confirmed",
  pending: "Awaiting payment",
  expired: "Expired",
  cancelled: "Cancelled",
};

export default function MyBookingsPage() {
  const [params, setParams] = useSearchParams();
  const page = Math.max(1, Number.parseInt(params.get("page") ?? "1", 10) || 1);
  const list = useMyBookings(page, PAGE_SIZE);
  const [cancelling, setCancelling] = useState<Booking | null>(null);

  return (
    <>
      <h1>My bookings</h1>
      {list.isPending && <Loading label="Loading your bookings…" />}
      {list.isError && <ErrorAlert error={list.error} onRetry={() => list.refetch()} />}
      {list.data &&
        (list.data.data.length === 0 ? (
          <p>
            No bookings yet. <Link to="/events">Find an event</Link>
          </p>
        ) : (
          <ul className="bookings">
            {list.data.data.map((b) => (
              <BookingItem key={b.id} booking={b} onCancel={() => setCancelling(b)} />
            ))}
          </ul>
        ))}
      {list.data && <Pagination meta={list.data.meta} onPage={(p) => setParams(p > 1 ? { page: String(p) } : {})} />}
      {cancelling && <CancelDialog booking={cancelling} onClose={() => setCancelling(null)} />}
    </>
  );
}

function BookingItem({ booking, onCancel }: { booking: Booking; onCancel: () => void }) {
  const event = useEvent(booking.eventId);
  const eventName = event.data?.name ?? (event.error instanceof ApiError ? "Event no longer listed" : "Loading event…");
  const confirmed = booking.status === "confirmed";
  const pending = booking.status === "pending";
  return (
    <li className="booking">
      <h2>{event.data ? <Link to={`/events/${booking.eventId}`}>{eventName}</Link> : eventName}</h2>
      {event.data && <p className="when">{formatDateTime(event.data.date)}</p>}
      <p>
        <span className={`badge ${booking.status}`}>{STATUS_LABEL[booking.status]}</span> {booking.quantity}{" "}
        {booking.quantity === 1 ? "ticket" : "tickets"} · {formatMoney(booking.totalPrice)}
      </p>
      {pending && (
        <p>
          <Link to={`/checkout/${booking.id}`}>Complete payment</Link>
          {booking.expiresAt && <span className="muted"> before {formatDateTime(booking.expiresAt)}</span>}
        </p>
      )}
      {booking.refund && (
        <p>
          Refund of {formatMoney(booking.refund.amount)}:{" "}
          {booking.refund.status === "succeeded" ? "sent to your card" : "on its way"}
        </p>
      )}
      {!pending && booking.status !== "expired" && (
        <p className="tickets-line">Tickets: {booking.ticketNumbers.join(", ")}</p>
      )}
      {confirmed && booking.tickets && booking.tickets.length > 0 && (
        <ul className="ticket-codes">
          {booking.tickets.map((ticket) => (
            <li key={ticket.number}>
              <TicketQr code={ticket.code} number={ticket.number} />
              <span className="ticket-number">{ticket.number}</span>
              {ticket.checkedInAt && <span className="muted">Checked in {formatDateTime(ticket.checkedInAt)}</span>}
            </li>
          ))}
        </ul>
      )}
      <p className="muted">Booked {formatDateTime(booking.createdAt)}</p>
      {(confirmed || pending) && (
        <button type="button" onClick={onCancel}>
          Cancel booking
        </button>
      )}
    </li>
  );
}

function CancelDialog({ booking, onClose }: { booking: Booking; onClose: () => void }) {
  const cancel = useCancelBooking(booking.id, onClose);
  return (
    <ConfirmDialog
      open
      title="Cancel this booking?"
      confirmLabel="Confirm cancellation"
      cancelLabel="Keep booking"
      busy={cancel.isPending}
      onConfirm={() => cancel.mutate()}
      onClose={onClose}
    >
      <p>
        {booking.quantity} {booking.quantity === 1 ? "ticket goes" : "tickets go"} back on sale. This cannot be undone.
      </p>
      {booking.status === "confirmed" && booking.payment && (
        <p>{formatMoney(booking.totalPrice)} is refunded to your card.</p>
      )}
      {cancel.isError && <ErrorAlert error={cancel.error} />}
    </ConfirmDialog>
  );
}
