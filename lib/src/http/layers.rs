//! The layers every function shares: request id, tracing, security headers, CORS, body limit,
//! rate limit, panic catching, and an envelope for every error a layer (not a handler) produced.

use super::extract::BODY_LIMIT;
use super::rate_limit;
use super::response::{
    current_request_id, ErrorCause, ErrorOutcome, REQUEST_ID, REQUEST_ID_HEADER,
};
use crate::{AppError, AppState};
use axum::extract::Request;
use axum::http::{header, HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware::{from_fn, from_fn_with_state, map_request, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use std::sync::Arc;
use std::time::Duration;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{
    MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::RequestBodyTimeoutLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

/// The contract's security headers, on every response (CloudFront's response-headers policies in
/// `template.yaml` carry the same values; tests/tests/api/bundle.rs checks).
pub const SECURITY_HEADERS: [(&str, &str); 5] = [
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
    ("referrer-policy", "no-referrer"),
    (
        "strict-transport-security",
        "max-age=31536000; includeSubDomains",
    ),
    (
        "content-security-policy",
        "default-src 'none'; frame-ancestors 'none'",
    ),
];

pub(super) fn apply(
    routes: Router<AppState>,
    state: AppState,
    served: &[(http::Method, &'static str)],
) -> Router {
    let cors = cors(&state.config.cors_allowed_origins);
    let x_request_id = HeaderName::from_static(REQUEST_ID_HEADER);
    let allow = Arc::new(super::allow_by_path(served));
    // The layers wrap the routed router once, as its fallback, not route by route:
    // `Router::layer` boxes a copy of each layer for every route and method, which was most of
    // a cold start's own work (BENCHMARKS.md, Cold start). They run before routing, so none of
    // them may look at the matched route.
    let routed: Router = routes.with_state(state.clone());
    let mut router = Router::new()
        .fallback_service(routed)
        .layer(from_fn_with_state(state, rate_limit::general))
        .layer(CatchPanicLayer::custom(|_| {
            AppError::internal("handler panicked").into_response()
        }))
        .layer(RequestBodyLimitLayer::new(BODY_LIMIT))
        .layer(RequestBodyTimeoutLayer::new(BODY_READ_TIMEOUT))
        .layer(cors)
        .layer(from_fn_with_state(allow, answer_plain_options))
        .layer(from_fn(check_request_head))
        .layer(from_fn(finalize));
    for (name, value) in SECURITY_HEADERS {
        // The web app's `index.html` brings its own CSP (it must run scripts); every other
        // response gets the API's.
        let (name, value) = (
            HeaderName::from_static(name),
            HeaderValue::from_static(value),
        );
        router = router.layer(if name == header::CONTENT_SECURITY_POLICY {
            SetResponseHeaderLayer::if_not_present(name, value)
        } else {
            SetResponseHeaderLayer::overriding(name, value)
        });
    }
    router
        .layer(PropagateRequestIdLayer::new(x_request_id.clone()))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|req: &Request| {
                    let id = req.headers().get(REQUEST_ID_HEADER).and_then(|v| v.to_str().ok()).unwrap_or("");
                    let span = tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id = %id, trace_id = tracing::field::Empty);
                    if let Some(trace_id) = xray_trace_id(req) {
                        span.record("trace_id", trace_id);
                        // With traces on, the request's span (and the DynamoDB and Redis spans
                        // under it) sits under the invocation's X-Ray trace; without, a no-op.
                        if let Some(parent) = crate::telemetry::xray_parent(trace_id) {
                            use tracing_opentelemetry::OpenTelemetrySpanExt;
                            let _ = span.set_parent(parent);
                        }
                    }
                    span
                })
                .on_response(DefaultOnResponse::new().level(Level::INFO)),
        )
        .layer(SetRequestIdLayer::new(x_request_id, UlidRequestId))
        .layer(map_request(drop_insane_request_id))
}

/// Headers that must appear once: two of them would leave the server to guess which one counts.
const SINGLE_HEADERS: [&str; 3] = ["authorization", "idempotency-key", "content-type"];
/// The longest URI (path and query) served; API Gateway's own limit is in the same range.
pub const MAX_URI_BYTES: usize = 8 * 1024;
/// The most header bytes (names and values) a request may carry.
pub const MAX_HEADER_BYTES: usize = 32 * 1024;
/// A request body must arrive within this, so a client sending less than its Content-Length
/// cannot hold a connection.
const BODY_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Refuses, in the envelope, a request head the server will not serve: an overlong URI (414),
/// oversized headers (431), or a single-valued header sent twice (400).
async fn check_request_head(req: Request, next: Next) -> Response {
    if req.uri().to_string().len() > MAX_URI_BYTES {
        return AppError::UriTooLong.into_response();
    }
    let header_bytes: usize = req
        .headers()
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len())
        .sum();
    if header_bytes > MAX_HEADER_BYTES {
        return AppError::HeadersTooLarge.into_response();
    }
    for name in SINGLE_HEADERS {
        if req.headers().get_all(name).iter().nth(1).is_some() {
            return AppError::validation(name, "must be sent once").into_response();
        }
    }
    next.run(req).await
}

fn is_preflight(req: &Request) -> bool {
    req.method() == Method::OPTIONS
        && req
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
}

/// An `OPTIONS` that is no CORS preflight asks which methods a path has: 204 with `Allow` (the
/// CORS layer, next, would answer it as a preflight: 200 with no `Allow`). The path is matched
/// against the served routes by the router's own matcher; no route matched is a 404.
async fn answer_plain_options(
    axum::extract::State(allow): axum::extract::State<Arc<super::AllowByPath>>,
    req: Request,
    next: Next,
) -> Response {
    if req.method() != Method::OPTIONS || is_preflight(&req) {
        return next.run(req).await;
    }
    match allow.at(req.uri().path()) {
        Ok(found) => (
            [(header::ALLOW, found.value.clone())],
            StatusCode::NO_CONTENT,
        )
            .into_response(),
        Err(_) => AppError::NotFound.into_response(),
    }
}

/// "Sane" per the contract: 1-128 characters of `[A-Za-z0-9._-]`.
pub fn is_sane_request_id(id: &str) -> bool {
    (1..=128).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

async fn drop_insane_request_id(mut req: Request) -> Request {
    let sane = req
        .headers()
        .get(REQUEST_ID_HEADER)
        .map(|v| v.to_str().is_ok_and(is_sane_request_id));
    if sane == Some(false) {
        req.headers_mut().remove(REQUEST_ID_HEADER);
    }
    req
}

#[derive(Clone, Copy)]
struct UlidRequestId;

impl MakeRequestId for UlidRequestId {
    fn make_request_id<B>(&mut self, _: &axum::http::Request<B>) -> Option<RequestId> {
        HeaderValue::from_str(&ulid::Ulid::new().to_string())
            .ok()
            .map(RequestId::new)
    }
}

fn cors(origins: &[String]) -> CorsLayer {
    let methods = [
        Method::GET,
        Method::POST,
        Method::PUT,
        Method::PATCH,
        Method::DELETE,
        Method::OPTIONS,
    ];
    let allow_headers = [
        header::CONTENT_TYPE,
        header::AUTHORIZATION,
        HeaderName::from_static("idempotency-key"),
        HeaderName::from_static(REQUEST_ID_HEADER),
    ];
    let expose = [
        HeaderName::from_static(REQUEST_ID_HEADER),
        header::RETRY_AFTER,
        HeaderName::from_static("idempotent-replayed"),
        HeaderName::from_static("ratelimit-limit"),
        HeaderName::from_static("ratelimit-remaining"),
        HeaderName::from_static("ratelimit-reset"),
    ];
    let layer = CorsLayer::new()
        .allow_methods(methods)
        .allow_headers(allow_headers)
        .expose_headers(expose)
        .max_age(Duration::from_secs(600));
    if origins.iter().any(|o| o == "*") {
        layer.allow_origin(AllowOrigin::any())
    } else {
        let list: Vec<HeaderValue> = origins
            .iter()
            .filter_map(|o| HeaderValue::from_str(o).ok())
            .collect();
        // Cookies (the refresh token) need credentials, allowed only with explicit origins.
        layer
            .allow_origin(AllowOrigin::list(list))
            .allow_credentials(true)
    }
}

/// The X-Ray trace of this invocation (Lambda's context, else API Gateway's header), so every log
/// line of a request can be found from its trace and back. Absent when served locally.
fn xray_trace_id(req: &Request) -> Option<&str> {
    use lambda_http::RequestExt;
    req.lambda_context_ref()
        .and_then(|ctx| ctx.xray_trace_id.as_deref())
        .or_else(|| {
            req.headers()
                .get("x-amzn-trace-id")
                .and_then(|v| v.to_str().ok())
        })
        .filter(|id| id.len() <= 256)
}

/// Scopes the request id for error bodies, answers preflights 204, and wraps any error response
/// that did not come from `AppError` (axum's 405, the body limit's 413, ...) in the envelope.
async fn finalize(req: Request, next: Next) -> Response {
    let id = req
        .headers()
        .get(REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let preflight = is_preflight(&req);
    REQUEST_ID
        .scope(id, async move {
            let response = next.run(req).await;
            let response = envelope_of(response, preflight);
            log_cause(&response);
            if let Some(outcome) = response.extensions().get::<ErrorOutcome>() {
                crate::metric::refusal(outcome.code, outcome.dependency);
            }
            response
        })
        .await
}

/// Logs a 500's or 503's cause once, here, in the request's span (so with its request id).
fn log_cause(response: &Response) {
    let Some(ErrorCause(cause)) = response.extensions().get::<ErrorCause>() else {
        return;
    };
    if response.status().is_server_error() && response.status() != StatusCode::SERVICE_UNAVAILABLE {
        tracing::error!(error = %cause, "internal error");
    } else {
        tracing::warn!(error = %cause, "dependency unavailable");
    }
}

/// 204 for preflights; the envelope around any error a layer (not a handler) produced.
fn envelope_of(mut response: Response, preflight: bool) -> Response {
    let status = response.status();
    if preflight && status == StatusCode::OK {
        *response.status_mut() = StatusCode::NO_CONTENT;
        return response;
    }
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/json"));
    if status.as_u16() < 400 || is_json {
        return response;
    }
    let error = match status {
        StatusCode::NOT_FOUND => AppError::NotFound,
        StatusCode::METHOD_NOT_ALLOWED => AppError::MethodNotAllowed,
        StatusCode::PAYLOAD_TOO_LARGE => AppError::PayloadTooLarge,
        StatusCode::UNSUPPORTED_MEDIA_TYPE => AppError::UnsupportedMediaType,
        StatusCode::UNAUTHORIZED => AppError::Unauthorized,
        StatusCode::FORBIDDEN => AppError::Forbidden,
        s if s.is_client_error() => AppError::validation("request", "is malformed"),
        s => AppError::internal(format!("layer answered {s}")),
    };
    let mut wrapped = error.into_response();
    for (name, value) in response.headers() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            wrapped.headers_mut().insert(name.clone(), value.clone());
        }
    }
    debug_assert!(current_request_id().is_some());
    wrapped
}

#[cfg(test)]
mod tests {
    use super::is_sane_request_id;

    #[test]
    fn request_id_sanity() {
        assert!(is_sane_request_id("abc-123_X.y"));
        assert!(is_sane_request_id(&"a".repeat(128)));
        assert!(!is_sane_request_id(&"a".repeat(129)));
        assert!(!is_sane_request_id(""));
        assert!(!is_sane_request_id("a b"));
        assert!(!is_sane_request_id("<script>"));
    }
}
