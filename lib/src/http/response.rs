use crate::metric::Dependency;
use crate::views::{Envelope, ErrorData};
use crate::AppError;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

pub const REQUEST_ID_HEADER: &str = "x-request-id";

tokio::task_local! {
    /// The current request's id, so error bodies can carry it without threading it through.
    pub(crate) static REQUEST_ID: String;
}

pub(crate) fn current_request_id() -> Option<String> {
    REQUEST_ID.try_with(Clone::clone).ok()
}

/// A JSON response with the contract's content type.
pub fn json(status: StatusCode, body: &Value) -> Response {
    raw_json(status, body.to_string())
}

/// A response carrying the envelope.
pub fn envelope<T: serde::Serialize>(status: StatusCode, body: &Envelope<'_, T>) -> Response {
    raw_json(status, body.to_json())
}

pub(crate) fn raw_json(status: StatusCode, body: String) -> Response {
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        )],
        body,
    )
        .into_response()
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        let errors = match &self {
            Self::Validation(errors) => Some(errors.as_slice()),
            _ => None,
        };
        let data = match &self {
            Self::TicketLimitReached { remaining } => Some(ErrorData::TicketLimit {
                remaining: *remaining,
            }),
            Self::AlreadyCheckedIn { at } => Some(ErrorData::CheckedIn {
                checked_in_at: crate::views::timestamp(*at),
            }),
            _ => None,
        };
        let body = Envelope::error(
            self.public_message(),
            code,
            errors,
            data,
            current_request_id(),
        );
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = envelope(status, &body);
        let headers = response.headers_mut();
        if let Some(secs) = self.retry_after() {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if let Self::RateLimited(info) = &self {
            super::rate_limit::set_headers(headers, info);
        }
        // The cause travels with the response (never in its body) to the one layer that logs
        // and counts it.
        let dependency = match &self {
            Self::Internal(cause) | Self::Unavailable(cause) => {
                response.extensions_mut().insert(ErrorCause(cause.chain()));
                Some(Dependency::behind(cause.error()))
            }
            _ => None,
        };
        response
            .extensions_mut()
            .insert(ErrorOutcome { code, dependency });
        response
    }
}

/// What made a response a 500 or a 503, for the log line `layers::finalize` writes.
#[derive(Clone)]
pub(crate) struct ErrorCause(pub String);

/// An error response's code (and the dependency behind a 503), for the metrics `finalize` counts.
#[derive(Clone, Copy)]
pub(crate) struct ErrorOutcome {
    pub code: &'static str,
    pub dependency: Option<Dependency>,
}

pub(crate) async fn not_found() -> AppError {
    AppError::NotFound
}
