// /checkout/:bookingId — the checkout of one pending booking, so a reload, a second tab or a
// return from 3-D Secure resumes the same hold. The booking is read from the server (its owner
// sees the payment's client secret while it is pending).
import { useQuery } from "@tanstack/react-query";
import { Link, useLocation, useParams } from "react-router";
import { api, type Booking, unwrap } from "../api/client";
import { ApiError } from "../api/errors";
import { bookingKeys } from "../booking/queries";
import { Checkout } from "../checkout/Checkout";
import { useAppConfig } from "../checkout/config";
import { ErrorAlert } from "../components/ErrorAlert";
import { Loading } from "../components/Loading";

export default function CheckoutPage() {
  const { bookingId = "" } = useParams();
  const location = useLocation();
  const handed = (location.state as { booking?: Booking } | null)?.booking;
  const config = useAppConfig();
  const booking = useQuery({
    queryKey: bookingKeys.one(bookingId),
    queryFn: async () => {
      const body = await unwrap(api.GET("/api/v1/bookings/{id}", { params: { path: { id: bookingId } } }));
      if (!body.data) throw new ApiError(500, undefined, null);
      return body.data;
    },
    // The booking the event page just made is shown at once; a reload asks the server.
    initialData: handed?.id === bookingId ? handed : undefined,
    // The checkout owns this booking's state from here: no refetch under it.
    staleTime: Number.POSITIVE_INFINITY,
    retry: (count, error) => count < 2 && !(error instanceof ApiError && error.status < 500),
  });

  return (
    <>
      <h1>Your booking</h1>
      {(booking.isPending || config.isPending) && <Loading label="Loading your booking…" />}
      {booking.isError && <ErrorAlert error={booking.error} onRetry={() => booking.refetch()} />}
      {config.isError && <ErrorAlert error={config.error} onRetry={() => config.refetch()} />}
      {booking.data &&
        config.data &&
        (config.data.payments ? (
          <Checkout key={booking.data.id} booking={booking.data} payments={config.data.payments} />
        ) : (
          <p>
            Payments are not available right now. <Link to="/bookings">My bookings</Link>
          </p>
        ))}
    </>
  );
}
