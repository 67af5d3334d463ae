//! `/health` (no dependency touched) and `/health/ready` (each dependency checked, bounded).

use super::{envelope, Endpoint};
use crate::cause::Chain;
use crate::views::Envelope;
use crate::AppError;
use crate::{AppState, VERSION};
use axum::extract::State;
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::Response;
use axum::routing::get;
use serde_json::{json, Value};
use std::future::Future;
use std::time::{Duration, Instant};

/// Each readiness check gives up after this, so a dead dependency is a 503, never a hang.
pub const CHECK_TIMEOUT: Duration = Duration::from_millis(800);

pub fn endpoints() -> Vec<Endpoint> {
    vec![
        Endpoint::new(Method::GET, "/health", get(health)),
        Endpoint::new(Method::GET, "/health/ready", get(ready)),
        Endpoint::new(Method::GET, "/api/v1/config", get(client_config)),
    ]
}

/// What the web app needs to know of this deployment: how to pay (`null`: payments off), and
/// how long a checkout holds its tickets. From the configuration alone: this function is given
/// the publishable key, never the secret ones.
async fn client_config(State(state): State<AppState>) -> Response {
    let config = &state.config;
    let payments = config.payments.as_ref().map(|stripe| {
        json!({
            "provider": "stripe",
            "publishableKey": stripe.publishable_key,
            "jsUrl": stripe.js_url,
            "currency": config.currency,
        })
    });
    envelope(
        StatusCode::OK,
        &Envelope::ok(
            "OK",
            json!({ "payments": payments, "holdSeconds": state.config.hold_seconds }),
        ),
    )
}

async fn health() -> Response {
    envelope(
        StatusCode::OK,
        &Envelope::ok("OK", json!({ "status": "ok", "version": VERSION })),
    )
}

/// One dependency's check; `backend` says what really answers (the embedded default is `memory`).
async fn check<E: std::error::Error + 'static>(
    name: &str,
    backend: &str,
    probe: impl Future<Output = Result<(), E>>,
) -> (bool, Value) {
    let started = Instant::now();
    let outcome = tokio::time::timeout(CHECK_TIMEOUT, probe).await;
    let latency_ms = started.elapsed().as_millis() as u64;
    match outcome {
        Ok(Ok(())) => (
            true,
            json!({ "status": "up", "latencyMs": latency_ms, "backend": backend }),
        ),
        Ok(Err(e)) => {
            tracing::warn!(dependency = name, error = %Chain(&e), "readiness check failed");
            (
                false,
                json!({ "status": "down", "latencyMs": latency_ms, "backend": backend }),
            )
        }
        Err(_) => {
            tracing::warn!(dependency = name, "readiness check timed out");
            (
                false,
                json!({ "status": "down", "latencyMs": latency_ms, "backend": backend }),
            )
        }
    }
}

async fn ready(State(state): State<AppState>) -> Response {
    let ((db_up, dynamodb), (cache_up, redis)) = tokio::join!(
        check("dynamodb", state.store.backend(), state.store.ping()),
        check("redis", state.cache.backend(), state.cache.ping())
    );
    let data = json!({
        "status": if db_up && cache_up { "ready" } else { "degraded" },
        "dependencies": { "dynamodb": dynamodb, "redis": redis },
    });
    if db_up && cache_up {
        return envelope(StatusCode::OK, &Envelope::ok("Ready", data));
    }
    let down: Vec<&str> = [(db_up, "dynamodb"), (cache_up, "redis")]
        .iter()
        .filter(|(up, _)| !up)
        .map(|(_, n)| *n)
        .collect();
    let message = format!("Dependencies unavailable: {}", down.join(", "));
    let (_, code) = AppError::unavailable("readiness").status_and_code();
    let body = Envelope {
        success: false,
        data: Some(data),
        code: Some(code),
        request_id: super::response::current_request_id(),
        ..Envelope::ok(&message, Value::Null)
    };
    let mut response = envelope(StatusCode::SERVICE_UNAVAILABLE, &body);
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
    response
}
