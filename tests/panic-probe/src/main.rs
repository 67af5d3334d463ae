//! Serves every function's routes (in-memory backends) plus `GET /__panic`, which panics, on an
//! ephemeral port it prints as its first line. `tests/tests/api/panic.rs` builds it with the
//! `release-probe` profile (release's panic strategy) and asks it.
use axum::routing::get;
use ticketing::config::Config;

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
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
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    println!("{}", listener.local_addr()?.port());
    axum::serve(listener, router).await
}
