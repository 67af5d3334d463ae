//! Fixed-window rate limits kept in the cache, so every function instance shares them. When the
//! cache is down requests are served (fail open) and the failure is logged.

use super::extract::client_ip;
use crate::error::RateLimitInfo;
use crate::{AppError, AppState};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::time::Duration;

const WINDOW: Duration = Duration::from_secs(60);

/// Sets `RateLimit-*` unless an inner (tighter) limit already did.
pub(crate) fn set_headers(headers: &mut HeaderMap, info: &RateLimitInfo) {
    for (name, value) in [
        ("ratelimit-limit", info.limit),
        ("ratelimit-remaining", info.remaining),
        ("ratelimit-reset", info.reset_secs),
    ] {
        headers
            .entry(HeaderName::from_static(name))
            .or_insert(HeaderValue::from(value));
    }
}

async fn enforce(state: &AppState, key: String, limit: u64, req: Request, next: Next) -> Response {
    match state.cache.incr_window(&key, WINDOW).await {
        Ok((count, reset_secs)) => {
            let info = RateLimitInfo {
                limit,
                remaining: limit.saturating_sub(count),
                reset_secs,
            };
            if count > limit {
                return AppError::RateLimited(info).into_response();
            }
            let mut response = next.run(req).await;
            set_headers(response.headers_mut(), &info);
            response
        }
        Err(e) => {
            crate::metric::cache_fail_open(&e, "rate limiter unavailable; serving without a limit");
            next.run(req).await
        }
    }
}

/// The general limit: per user once authenticated, else per client IP. Only the API is limited:
/// health checks and the web app's files (served by the local server) are exempt.
pub(crate) async fn general(
    State(state): State<AppState>,
    mut req: Request,
    next: Next,
) -> Response {
    if !req.uri().path().starts_with("/api") {
        return next.run(req).await;
    }
    let user = req
        .headers()
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .and_then(|token| state.auth.tokens().identity(token.trim()).ok());
    let subject = match user {
        Some(identity) => {
            // Verified once here; the `Caller` extractor reuses it.
            req.extensions_mut()
                .insert(super::extract::VerifiedIdentity(identity));
            format!("user:{}", identity.user_id)
        }
        None => format!("ip:{}", client_ip(req.extensions())),
    };
    let limit = state.config.rate_limit_per_minute;
    let key = crate::cache::keys::rate_limit_general(&subject);
    enforce(&state, key, limit, req, next).await
}

/// The tighter limit of login and register, per client IP.
pub(crate) async fn credentials(
    State(state): State<AppState>,
    req: Request,
    next: Next,
) -> Response {
    let key = crate::cache::keys::rate_limit_credentials(&client_ip(req.extensions()));
    let limit = state.config.auth_rate_limit_per_minute;
    enforce(&state, key, limit, req, next).await
}
