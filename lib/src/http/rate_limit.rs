//! Fixed-window rate limits kept in the cache, so every function instance shares them. When the
//! cache is down requests are served (fail open) and the failure is logged.

use super::extract::{bearer_token, client_ip};
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

/// Serves the request unless its window's `count` passed `limit` (429 with `Retry-After`).
async fn admit(limit: u64, (count, reset_secs): (u64, u64), req: Request, next: Next) -> Response {
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

async fn enforce(state: &AppState, key: String, limit: u64, req: Request, next: Next) -> Response {
    match state.cache.incr_window(&key, WINDOW).await {
        Ok(window) => admit(limit, window, req, next).await,
        Err(e) => {
            crate::metric::cache_fail_open(&e, "rate limiter unavailable; serving without a limit");
            next.run(req).await
        }
    }
}

/// The general limit, per client IP and, once authenticated, per user as well (so N accounts
/// behind one address still share the address's budget). Only the API is limited: health checks
/// and the web app's files (served by the local server) are exempt.
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
        .and_then(bearer_token)
        .and_then(|token| state.auth.tokens().identity(token).ok());
    let limit = state.config.rate_limit_per_minute;
    let by_ip =
        crate::cache::keys::rate_limit_general(&format!("ip:{}", client_ip(req.extensions())));
    let Some(identity) = user else {
        return enforce(&state, by_ip, limit, req, next).await;
    };
    // Verified once here; the `Caller` extractor reuses it.
    req.extensions_mut()
        .insert(super::extract::VerifiedIdentity(identity));
    let by_user = crate::cache::keys::rate_limit_general(&format!("user:{}", identity.user_id));
    // Both windows count this request (one round trip each, side by side); the tighter answers.
    let (ip_window, user_window) = tokio::join!(
        state.cache.incr_window(&by_ip, WINDOW),
        state.cache.incr_window(&by_user, WINDOW)
    );
    match (ip_window, user_window) {
        (Ok(ip), Ok(user)) => {
            let tighter = if ip.0 > user.0 { ip } else { user };
            admit(limit, tighter, req, next).await
        }
        (Err(e), _) | (_, Err(e)) => {
            crate::metric::cache_fail_open(&e, "rate limiter unavailable; serving without a limit");
            next.run(req).await
        }
    }
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
