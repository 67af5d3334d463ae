//! The `bookings` Lambda function (see `ticketing::startup::serve_function`).
use ticketing::http::BookingsRoutes;

// Lambda hands an instance one event at a time: one thread is enough and starts faster.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    ticketing::startup::serve_function::<BookingsRoutes>().await
}
