// Server state of events, with query keys defined once.
import { keepPreviousData, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, unwrap } from "../api/client";
import { ApiError } from "../api/errors";
import { useSession } from "../session/store";
import { apiParams, type EventQuery } from "./query";

export const PAGE_SIZE = 12;

export const eventKeys = {
  all: ["events"] as const,
  list: (query: EventQuery, viewer: string) => ["events", "list", query, viewer] as const,
  one: (id: string) => ["events", "one", id] as const,
  admin: (page: number, limit: number) => ["events", "admin", page, limit] as const,
  stats: (id: string) => ["events", "stats", id] as const,
  attendees: (id: string, page: number) => ["events", "attendees", id, page] as const,
};

export const ATTENDEES_PAGE_SIZE = 20;

/** One page of an event's attendee list (admins only). */
export function useAttendees(id: string, page: number) {
  return useQuery({
    queryKey: eventKeys.attendees(id, page),
    queryFn: async () => {
      const body = await unwrap(
        api.GET("/api/v1/events/{id}/attendees", {
          params: { path: { id }, query: { page, limit: ATTENDEES_PAGE_SIZE } },
        }),
      );
      // Asked without `Accept: text/csv`, the answer is the JSON page.
      if (typeof body === "string") throw new Error("The attendee list came back as CSV.");
      return body;
    },
    placeholderData: keepPreviousData,
  });
}

/** The whole attendee list as the API's CSV, saved as a file. */
export async function downloadAttendeesCsv(id: string): Promise<void> {
  const { data, response } = await api.GET("/api/v1/events/{id}/attendees", {
    params: { path: { id } },
    headers: { Accept: "text/csv" },
    parseAs: "blob",
  });
  if (!response.ok || !(data instanceof Blob)) {
    throw new ApiError(response.status, undefined, response.headers.get("Retry-After"));
  }
  const url = URL.createObjectURL(data);
  const link = document.createElement("a");
  link.href = url;
  link.download = `attendees-${id}.csv`;
  link.click();
  URL.revokeObjectURL(url);
}

/** An event's figures (admins only); refetched after every scan. */
export function useEventStats(id: string) {
  return useQuery({
    queryKey: eventKeys.stats(id),
    queryFn: async () => {
      const body = await unwrap(api.GET("/api/v1/events/{id}/stats", { params: { path: { id } } }));
      return body.data;
    },
  });
}

/** Admits the ticket a scanned code names; the figures follow. */
export function useCheckIn(id: string) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: async (code: string) => {
      const body = await unwrap(
        api.POST("/api/v1/events/{id}/check-ins", { params: { path: { id } }, body: { code } }),
      );
      if (!body.data) throw new Error("The check-in answer carried no admission.");
      return body.data;
    },
    onSettled: () => queryClient.invalidateQueries({ queryKey: eventKeys.stats(id) }),
  });
}

/** Who is asking changes what a listing holds (admins see drafts). */
function useViewer(): string {
  const session = useSession();
  return session.status === "signedIn" ? session.user.role : session.status;
}

export function useEventList(query: EventQuery) {
  const viewer = useViewer();
  return useQuery({
    queryKey: eventKeys.list(query, viewer),
    queryFn: () => unwrap(api.GET("/api/v1/events", { params: { query: apiParams(query, PAGE_SIZE) } })),
    // Wait for the session so an admin's first listing already includes drafts.
    enabled: viewer !== "starting",
    placeholderData: keepPreviousData,
  });
}

/** One event; kept fresh while it is on screen, so availability stays live. */
export function useEvent(id: string, live = false) {
  const viewer = useViewer();
  return useQuery({
    queryKey: eventKeys.one(id),
    queryFn: async () => {
      const body = await unwrap(api.GET("/api/v1/events/{id}", { params: { path: { id } } }));
      return body.data;
    },
    enabled: viewer !== "starting",
    refetchInterval: live ? 10_000 : false,
  });
}

/** Every event, drafts included, newest first: the admin's list (an admin's listing without a
 * status filter holds every status). */
export function useAdminEventList(page: number, limit: number) {
  return useQuery({
    queryKey: eventKeys.admin(page, limit),
    queryFn: () =>
      unwrap(
        api.GET("/api/v1/events", {
          params: { query: { page, limit, sortBy: "createdAt", sortOrder: "desc" } },
        }),
      ),
    placeholderData: keepPreviousData,
  });
}

/** Deletes one event (soft: it leaves every listing). */
export function useDeleteEvent(id: string, onDone: () => void) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: () => unwrap(api.DELETE("/api/v1/events/{id}", { params: { path: { id } } })),
    onSuccess: onDone,
    onSettled: () => queryClient.invalidateQueries({ queryKey: eventKeys.all }),
  });
}
