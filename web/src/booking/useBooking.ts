// The booking flow of one event: a guard against a second click while one attempt is in flight,
// the attempt's key kept until a definitive answer, and a pending attempt resumed after a reload.
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useEffect, useMemo, useRef, useState } from "react";
import type { Booking } from "../api/client";
import { isRetryable } from "../api/errors";
import { eventKeys } from "../events/queries";
import { useSession } from "../session/store";
import { AttemptStore } from "./attempts";
import { sendAttempt } from "./book";
import { bookingKeys } from "./queries";

export function useBooking(eventId: string) {
  const queryClient = useQueryClient();
  const session = useSession();
  const attempts = useMemo(() => new AttemptStore(window.sessionStorage), []);
  const inFlight = useRef(false);
  const resumed = useRef(false);
  const [retrying, setRetrying] = useState(false);

  const mutation = useMutation<Booking, unknown, number>({
    mutationFn: (quantity) => {
      const attempt = attempts.begin(eventId, quantity);
      return sendAttempt(eventId, attempt, () => setRetrying(true));
    },
    onSuccess: () => attempts.finish(eventId),
    onError: (error) => {
      // Unknown outcome (no answer, still 503): the key stays, so asking again cannot book twice.
      if (!isRetryable(error)) attempts.finish(eventId);
    },
    onSettled: () => {
      inFlight.current = false;
      setRetrying(false);
      void queryClient.invalidateQueries({ queryKey: eventKeys.all });
      void queryClient.invalidateQueries({ queryKey: bookingKeys.all });
    },
  });

  const book = (quantity: number) => {
    if (inFlight.current) return;
    inFlight.current = true;
    mutation.mutate(quantity);
  };

  // A reload during a request leaves its attempt pending: finish it with the same key.
  const pending = attempts.pending(eventId);
  useEffect(() => {
    if (session.status !== "signedIn" || resumed.current) return;
    resumed.current = true;
    const left = attempts.pending(eventId);
    if (left && !inFlight.current) {
      inFlight.current = true;
      mutation.mutate(left.quantity);
    }
  }, [session.status, attempts, eventId, mutation]);

  return {
    book,
    booking: mutation.data,
    error: mutation.error,
    inFlight: mutation.isPending,
    retrying,
    pendingQuantity: pending?.quantity,
  };
}
