//! A Lambda function serving every function's routes (in-memory backends) plus `GET /__panic`,
//! which panics. `tests/tests/api/panic.rs` builds it with the `release-probe` profile (the
//! release profile's panic strategy) and invokes it under Lambda's Runtime Interface Emulator.
use axum::routing::get;
use ticketing::config::Config;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    ticketing::telemetry::init();
    let (state, _) = ticketing::startup::state(Config::for_tests(), false);
    let probe = axum::Router::new().route(
        "/__panic",
        get(|| async {
            let empty: Vec<u8> = Vec::new();
            // An out-of-bounds index: the kind of bug a handler could ship with.
            empty[std::hint::black_box(3)].to_string()
        }),
    );
    let router = ticketing::http::combined_router_with(state, probe, None);
    ticketing::startup::serve_lambda("panic-probe", "Ticketing".into(), None, router).await
}
