import { useState } from "react";
import { Link, useSearchParams } from "react-router";
import type { Event } from "../../api/client";
import { ConfirmDialog } from "../../components/ConfirmDialog";
import { ErrorAlert } from "../../components/ErrorAlert";
import { formatDateTime, formatMoney } from "../../components/format";
import { Loading } from "../../components/Loading";
import { Pagination } from "../../components/Pagination";
import { useAdminEventList, useDeleteEvent } from "../../events/queries";

const PAGE_SIZE = 20;

export default function AdminEventsPage() {
  const [params, setParams] = useSearchParams();
  const page = Math.max(1, Number.parseInt(params.get("page") ?? "1", 10) || 1);
  const list = useAdminEventList(page, PAGE_SIZE);
  const [deleting, setDeleting] = useState<Event | null>(null);

  return (
    <>
      <div className="page-head">
        <h1>Manage events</h1>
        <Link to="/admin/events/new" className="button primary">
          New event
        </Link>
      </div>
      {list.isPending && <Loading label="Loading events…" />}
      {list.isError && <ErrorAlert error={list.error} onRetry={() => list.refetch()} />}
      {list.data && (
        <div className="table-wrap">
          <table>
            <caption className="visually-hidden">All events, newest first</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Date</th>
                <th scope="col">Status</th>
                <th scope="col">Price</th>
                <th scope="col">Sold</th>
                <th scope="col">Available</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {list.data.data.map((event) => (
                <tr key={event.id}>
                  <th scope="row">
                    <Link to={`/admin/events/${event.id}`}>{event.name}</Link>
                  </th>
                  <td>{formatDateTime(event.date)}</td>
                  <td>{event.status}</td>
                  <td>{formatMoney(event.price)}</td>
                  <td>{event.totalTickets - event.availableTickets}</td>
                  <td>{event.availableTickets}</td>
                  <td className="row-actions">
                    <Link to={`/admin/events/${event.id}/edit`}>Edit</Link>
                    <Link to={`/admin/events/${event.id}/check-in`}>Check-in</Link>
                    <button type="button" className="danger" onClick={() => setDeleting(event)}>
                      Delete
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {list.data && <Pagination meta={list.data.meta} onPage={(p) => setParams(p > 1 ? { page: String(p) } : {})} />}
      {deleting && <DeleteDialog event={deleting} onClose={() => setDeleting(null)} />}
    </>
  );
}

function DeleteDialog({ event, onClose }: { event: Event; onClose: () => void }) {
  const remove = useDeleteEvent(event.id, onClose);
  return (
    <ConfirmDialog
      open
      title={`Delete “${event.name}”?`}
      confirmLabel="Confirm delete"
      cancelLabel="Keep event"
      busy={remove.isPending}
      onConfirm={() => remove.mutate()}
      onClose={onClose}
    >
      <p>The event disappears from every listing. Events with confirmed bookings cannot be deleted.</p>
      {remove.isError && <ErrorAlert error={remove.error} />}
    </ConfirmDialog>
  );
}
