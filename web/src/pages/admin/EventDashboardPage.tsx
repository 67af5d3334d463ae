import { useState } from "react";
import { Link, useParams } from "react-router";
import type { Event } from "../../api/client";
import type { components } from "../../api/schema";
import { ErrorAlert } from "../../components/ErrorAlert";
import { formatDateTime, formatMoney } from "../../components/format";
import { Loading } from "../../components/Loading";
import { Pagination } from "../../components/Pagination";
import { downloadAttendeesCsv, useAttendees, useEventStats } from "../../events/queries";
import { WithEvent } from "../../events/WithEvent";

type DaySales = components["schemas"]["Stats"]["salesByDay"][number];

export default function EventDashboardPage() {
  const { id = "" } = useParams();
  return <WithEvent id={id}>{(event) => <Dashboard event={event} />}</WithEvent>;
}

function Dashboard({ event }: { event: Event }) {
  const stats = useEventStats(event.id);
  return (
    <section className="dashboard">
      <div className="page-head">
        <h1>{event.name}</h1>
        <div className="row-actions">
          <Link to={`/admin/events/${event.id}/edit`}>Edit</Link>
          <Link to={`/admin/events/${event.id}/check-in`}>Check-in</Link>
        </div>
      </div>
      {stats.isPending && <Loading label="Loading the figures…" />}
      {stats.isError && <ErrorAlert error={stats.error} onRetry={() => stats.refetch()} />}
      {stats.data && (
        <>
          <dl className="figures">
            <Figure label="Tickets sold" value={String(stats.data.ticketsSold)} />
            <Figure label="Held" value={String(stats.data.ticketsHeld)} />
            <Figure label="Checked in" value={String(stats.data.ticketsCheckedIn)} />
            <Figure label="Gross revenue" value={formatMoney(stats.data.grossRevenue)} />
            <Figure label="Refunded" value={formatMoney(stats.data.refunded)} />
            <Figure label="Net revenue" value={formatMoney(stats.data.netRevenue)} />
          </dl>
          <h2>Sales by day</h2>
          {stats.data.salesByDay.length === 0 ? (
            <p>No sales yet.</p>
          ) : (
            <>
              <SalesChart days={stats.data.salesByDay} />
              <table className="sales-table">
                <caption className="visually-hidden">Sales by day, in numbers</caption>
                <thead>
                  <tr>
                    <th scope="col">Day</th>
                    <th scope="col">Tickets</th>
                    <th scope="col">Revenue</th>
                  </tr>
                </thead>
                <tbody>
                  {stats.data.salesByDay.map((day) => (
                    <tr key={day.day}>
                      <th scope="row">{day.day}</th>
                      <td>{day.tickets}</td>
                      <td>{formatMoney(day.revenue)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </>
          )}
        </>
      )}
      <Attendees eventId={event.id} />
    </section>
  );
}

function Attendees({ eventId }: { eventId: string }) {
  const [page, setPage] = useState(1);
  const list = useAttendees(eventId, page);
  const [downloadError, setDownloadError] = useState<unknown>(null);
  return (
    <>
      <div className="page-head">
        <h2>Attendees</h2>
        <a
          href={`/api/v1/events/${eventId}/attendees`}
          onClick={(e) => {
            // The API needs the session's token: fetch it, then save the file.
            e.preventDefault();
            setDownloadError(null);
            downloadAttendeesCsv(eventId).catch(setDownloadError);
          }}
        >
          Download CSV
        </a>
      </div>
      {downloadError !== null && <ErrorAlert error={downloadError} />}
      {list.isPending && <Loading label="Loading attendees…" />}
      {list.isError && <ErrorAlert error={list.error} onRetry={() => list.refetch()} />}
      {list.data &&
        (list.data.data.length === 0 ? (
          <p>No attendees yet.</p>
        ) : (
          <div className="table-wrap">
            <table>
              <caption className="visually-hidden">Attendees, one row per ticket</caption>
              <thead>
                <tr>
                  <th scope="col">Ticket</th>
                  <th scope="col">Holder</th>
                  <th scope="col">Email</th>
                  <th scope="col">Checked in</th>
                </tr>
              </thead>
              <tbody>
                {list.data.data.map((row) => (
                  <tr key={row.ticketNumber}>
                    <th scope="row" className="ticket-cell">
                      {row.ticketNumber}
                    </th>
                    <td>{row.holderName}</td>
                    <td>{row.holderEmail}</td>
                    <td>{row.checkedInAt ? formatDateTime(row.checkedInAt) : "—"}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        ))}
      {list.data && <Pagination meta={list.data.meta} onPage={setPage} />}
    </>
  );
}

function Figure({ label, value }: { label: string; value: string }) {
  return (
    <div className="figure">
      <dt>{label}</dt>
      <dd>{value}</dd>
    </div>
  );
}

/** Tickets per day as bars; the table beside it carries the same numbers for screen readers. */
function SalesChart({ days }: { days: DaySales[] }) {
  const most = Math.max(1, ...days.map((d) => d.tickets));
  const bar = 24;
  const gap = 8;
  const height = 120;
  // At least a week wide, so a few days do not turn into a few giant bars.
  const width = Math.max(7, days.length) * (bar + gap) + gap;
  return (
    <svg
      className="sales-chart"
      role="img"
      aria-label="Sales by day"
      viewBox={`0 0 ${width} ${height + 20}`}
      preserveAspectRatio="xMinYMin meet"
    >
      {days.map((day, i) => {
        const h = Math.max(2, (day.tickets / most) * height);
        const x = gap + i * (bar + gap);
        return (
          <g key={day.day}>
            <rect x={x} y={height - h} width={bar} height={h} rx={3} fill="var(--accent)" />
            <text x={x + bar / 2} y={height + 14} textAnchor="middle" fontSize="9" fill="var(--muted)">
              {day.day.slice(5)}
            </text>
          </g>
        );
      })}
    </svg>
  );
}
