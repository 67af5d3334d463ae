//! Run by `scripts/check-bundle` in the release profile, the one the Lambda zips are built with:
//! a handler that panics behind the shared layers must answer 500 in the envelope (a profile
//! with `panic = "abort"` kills the process instead, and API Gateway answers 502 with no
//! envelope). Exits non-zero unless it does, and says what it got.

use axum::body::Body;
use axum::routing::get;
use http::Request;
use http_body_util::BodyExt;
use std::process::ExitCode;
use std::sync::Arc;
use ticketing::cache::MemoryCache;
use ticketing::config::Config;
use ticketing::store::MemoryStore;
use ticketing::AppState;
use tower::ServiceExt;

const PROBE: &str = "/api/v1/panic-probe";

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    // The default hook would print the panic as plain text; the layer's log line is enough.
    std::panic::set_hook(Box::new(|_| {}));
    let state = AppState::new(
        Config::for_tests(),
        Arc::new(MemoryStore::new()),
        Arc::new(MemoryCache::new()),
    );
    let panicking = axum::Router::new().route(
        PROBE,
        get(|| async {
            let empty: Vec<u8> = Vec::new();
            // An out-of-bounds index: the kind of bug a handler could still have.
            format!("{}", empty[usize::from(empty.is_empty())])
        }),
    );
    let router = ticketing::http::combined_router_with(state, panicking, None);
    let request = Request::get(PROBE).body(Body::empty()).expect("a request");
    let response = match router.oneshot(request).await {
        Ok(response) => response,
        Err(never) => match never {},
    };
    let status = response.status();
    let body = response
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let envelope: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    let answered = status == 500
        && envelope["success"] == false
        && envelope["code"] == "INTERNAL_ERROR"
        && envelope["requestId"].is_string();
    println!(
        "panic probe ({} profile): {status} {}",
        if cfg!(debug_assertions) {
            "dev"
        } else {
            "release"
        },
        String::from_utf8_lossy(&body)
    );
    if answered {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
