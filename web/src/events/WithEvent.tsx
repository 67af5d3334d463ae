import type { ReactNode } from "react";
import type { Event } from "../api/client";
import { ApiError } from "../api/errors";
import { ErrorAlert } from "../components/ErrorAlert";
import { Loading } from "../components/Loading";
import { NotFoundPage } from "../pages/NotFoundPage";
import { useEvent } from "./queries";

/** Loads one event for a page: a loading state, the not-found page, or the API's error. */
export function WithEvent({
  id,
  live,
  children,
}: {
  id: string;
  live?: boolean;
  children: (event: Event) => ReactNode;
}) {
  const event = useEvent(id, live);
  if (event.isPending) return <Loading label="Loading event…" />;
  if (event.error instanceof ApiError && [400, 404].includes(event.error.status)) return <NotFoundPage />;
  if (event.isError) return <ErrorAlert error={event.error} onRetry={() => event.refetch()} />;
  if (!event.data) return <NotFoundPage />;
  return children(event.data);
}
