import { type InputHTMLAttributes, useEffect, useRef, useState } from "react";
import { Link, useSearchParams } from "react-router";
import type { Event } from "../api/client";
import { ErrorAlert } from "../components/ErrorAlert";
import { formatDateTime, formatMoney, ticketsLeft } from "../components/format";
import { Loading } from "../components/Loading";
import { Pagination } from "../components/Pagination";
import { useEventList } from "../events/queries";
import { type EventQuery, queryFromSearch, SORTS, type Sort, STATUSES, searchFromQuery } from "../events/query";
import { useUser } from "../session/store";

/** Typing waits this long before the URL (and the listing) follow. */
const TYPING_DELAY_MS = 300;

export function EventsPage() {
  const [searchParams, setSearchParams] = useSearchParams();
  const query = queryFromSearch(searchParams);
  const isAdmin = useUser()?.role === "admin";
  const list = useEventList(query);

  function update(change: Partial<EventQuery>, replace = false) {
    // From the address bar, not this render's `query`: two filters settling in one tick (the
    // venue's and the price's timers) must both land, not the second overwrite the first.
    const current = queryFromSearch(new URLSearchParams(window.location.search));
    const next = { ...current, page: 1, ...change };
    setSearchParams(searchFromQuery(next), { replace });
  }

  return (
    <>
      <h1>Events</h1>
      <search className="filters" aria-label="Find events">
        <TypedFilter
          label="Search events"
          type="search"
          value={query.search}
          onSettled={(search) => update({ search }, true)}
          className="search"
        />
        <label>
          From
          <input type="date" value={query.from} onChange={(e) => update({ from: e.target.value })} />
        </label>
        <label>
          To
          <input type="date" value={query.to} onChange={(e) => update({ to: e.target.value })} />
        </label>
        <TypedFilter
          label="Min price"
          type="number"
          min={0}
          step="0.01"
          inputMode="decimal"
          value={query.minPrice}
          onSettled={(minPrice) => update({ minPrice }, true)}
        />
        <TypedFilter
          label="Max price"
          type="number"
          min={0}
          step="0.01"
          inputMode="decimal"
          value={query.maxPrice}
          onSettled={(maxPrice) => update({ maxPrice }, true)}
        />
        <TypedFilter label="Venue" value={query.venue} onSettled={(venue) => update({ venue }, true)} />
        {isAdmin && (
          <label>
            Status
            <select value={query.status} onChange={(e) => update({ status: e.target.value as EventQuery["status"] })}>
              <option value="">Any</option>
              {STATUSES.map((s) => (
                <option key={s} value={s}>
                  {s}
                </option>
              ))}
            </select>
          </label>
        )}
        <label>
          Sort by
          <select value={query.sort} onChange={(e) => update({ sort: e.target.value as Sort })}>
            {Object.entries(SORTS).map(([value, sort]) => (
              <option key={value} value={value}>
                {sort.label}
              </option>
            ))}
          </select>
        </label>
      </search>

      {list.isPending && <Loading label="Loading events…" />}
      {list.isError && <ErrorAlert error={list.error} onRetry={() => list.refetch()} />}
      {list.data && (
        <>
          <p className="count" aria-live="polite">
            {list.data.meta.total === 1 ? "1 event" : `${list.data.meta.total} events`}
            {list.isFetching && " · updating…"}
          </p>
          {list.data.data.length === 0 ? (
            <p>No events match. Try fewer filters.</p>
          ) : (
            <ul className="cards">
              {list.data.data.map((event) => (
                <li key={event.id}>
                  <EventCard event={event} />
                </li>
              ))}
            </ul>
          )}
          <Pagination meta={list.data.meta} onPage={(page) => setSearchParams(searchFromQuery({ ...query, page }))} />
        </>
      )}
    </>
  );
}

function EventCard({ event }: { event: Event }) {
  const soldOut = event.availableTickets <= 0;
  return (
    <Link to={`/events/${event.id}`} className="card">
      <h2>{event.name}</h2>
      <p className="when">{formatDateTime(event.date)}</p>
      <p className="where">{event.venue}</p>
      <p className="card-foot">
        <span className="price">{formatMoney(event.price)}</span>
        <span className={soldOut ? "badge sold-out" : "badge"}>{ticketsLeft(event.availableTickets)}</span>
        {event.status !== "published" && <span className="badge status">{event.status}</span>}
      </p>
    </Link>
  );
}

interface TypedFilterProps extends Omit<InputHTMLAttributes<HTMLInputElement>, "value" | "onChange"> {
  label: string;
  value: string;
  onSettled: (value: string) => void;
}

/** A text filter that follows the URL, and writes back to it once the user pauses typing. */
function TypedFilter({ label, value, onSettled, className, ...input }: TypedFilterProps) {
  const [draft, setDraft] = useState(value);
  const settle = useRef(onSettled);
  settle.current = onSettled;
  useEffect(() => setDraft(value), [value]);
  useEffect(() => {
    if (draft === value) return;
    const timer = setTimeout(() => settle.current(draft), TYPING_DELAY_MS);
    return () => clearTimeout(timer);
  }, [draft, value]);
  return (
    <label className={className}>
      {label}
      <input
        {...input}
        value={draft}
        onChange={(e) => setDraft(e.target.value)}
        // Enter means "this is my search": no waiting out the typing delay.
        onKeyDown={(e) => {
          if (e.key === "Enter" && draft !== value) settle.current(draft);
        }}
      />
    </label>
  );
}
