// Server state of the caller's bookings: query keys defined once, and the queries and mutations
// beside them.
import { keepPreviousData, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, type Booking, unwrap } from "../api/client";
import { eventKeys } from "../events/queries";

export const bookingKeys = {
  all: ["bookings"] as const,
  list: (page: number, limit: number, status?: BookingStatus) => ["bookings", "list", page, limit, status] as const,
  one: (id: string) => ["bookings", "one", id] as const,
};

type BookingStatus = Booking["status"];

/** One page of the caller's bookings, newest first (only those in `status`, when given). */
export function useMyBookings(page: number, limit: number, status?: BookingStatus) {
  return useQuery({
    queryKey: bookingKeys.list(page, limit, status),
    queryFn: () => unwrap(api.GET("/api/v1/bookings", { params: { query: { page, limit, status } } })),
    placeholderData: keepPreviousData,
  });
}

/** Cancels one booking; its tickets go back on sale, so events are refetched too. */
export function useCancelBooking(id: string, onDone: () => void) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: () => unwrap(api.PATCH("/api/v1/bookings/{id}/cancel", { params: { path: { id } } })),
    onSuccess: onDone,
    onSettled: () => {
      void queryClient.invalidateQueries({ queryKey: bookingKeys.all });
      void queryClient.invalidateQueries({ queryKey: eventKeys.all });
    },
  });
}
