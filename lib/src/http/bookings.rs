//! `/api/v1/bookings`: book (idempotent), list own, get, cancel.

use super::{envelope, Caller, CurrentCaller, Endpoint, JsonBody, QueryMap};
use crate::domain::booking::parse_idempotency_key;
use crate::domain::ids::BookingId;
use crate::domain::{BookingStatus, NewBookingRequest, PageParams, Problems};
use crate::views::{BookingView, Envelope};
use crate::{AppError, AppState};
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post};
use serde::Deserialize;

pub fn endpoints() -> Vec<Endpoint> {
    vec![
        Endpoint::new(Method::GET, "/api/v1/bookings", get(list)),
        Endpoint::new(Method::POST, "/api/v1/bookings", post(book)),
        Endpoint::new(Method::GET, "/api/v1/bookings/{id}", get(show)),
        Endpoint::new(Method::PATCH, "/api/v1/bookings/{id}/cancel", patch(cancel)),
        Endpoint::new(Method::POST, "/api/v1/bookings/{id}/confirm", post(confirm)),
        Endpoint::new(
            Method::POST,
            super::payments::STRIPE_WEBHOOK,
            post(super::payments::stripe_webhook),
        ),
    ]
}

/// The `Idempotency-Key` header, checked before the body is read.
struct IdempotencyKey(uuid::Uuid);

impl<S: Send + Sync> FromRequestParts<S> for IdempotencyKey {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, AppError> {
        let raw = parts
            .headers
            .get("idempotency-key")
            .ok_or(AppError::IdempotencyKeyMissing)?;
        let raw = raw
            .to_str()
            .map_err(|_| AppError::validation("Idempotency-Key", "must be a UUID"))?;
        Ok(Self(parse_idempotency_key(raw)?))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct BookBody {
    event_id: String,
    /// Any JSON here: a string, a fraction or `null` gets the rule's own message, not a type error.
    quantity: serde_json::Value,
}

async fn book(
    State(state): State<AppState>,
    Caller(who): Caller,
    IdempotencyKey(key): IdempotencyKey,
    body: JsonBody<BookBody>,
) -> Result<Response, AppError> {
    let request = body.parse(|body| {
        // Not a whole number: out of range for the rule, which names the range.
        let quantity = body.quantity.as_i64().unwrap_or(i64::MIN);
        NewBookingRequest::parse(&body.event_id, quantity, key)
    })?;
    let tickets = request.quantity;
    let reply =
        super::idempotency::book(&*state.cache, &state.bookings, &state.tickets, who, request)
            .await?;
    if reply.replayed {
        crate::metric::idempotent_replay();
    } else {
        crate::metric::booking_created(tickets);
    }
    let mut response = super::response::raw_json(StatusCode::CREATED, reply.body);
    if reply.replayed {
        response
            .headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    Ok(response)
}

async fn list(
    State(state): State<AppState>,
    Caller(who): Caller,
    QueryMap(params): QueryMap,
) -> Result<Response, AppError> {
    let mut problems = Problems::default();
    let page = PageParams::parse(
        &mut problems,
        params.get("page").map(String::as_str),
        params.get("limit").map(String::as_str),
    );
    let status = params.get("status").and_then(|raw| {
        BookingStatus::parse(raw).or_else(|| {
            problems.add("status", "must be pending, confirmed, cancelled or expired");
            None
        })
    });
    problems.into_result(())?;
    let (bookings, meta) = state.bookings.list(who, status, page).await?;
    let data: Vec<BookingView> = bookings
        .iter()
        .map(|b| BookingView::new(b, &state.tickets))
        .collect();
    Ok(envelope(StatusCode::OK, &Envelope::page("OK", data, meta)))
}

async fn show(
    State(state): State<AppState>,
    CurrentCaller(who): CurrentCaller,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let booking = state
        .bookings
        .get(who, BookingId::parse(&id, "id")?)
        .await?;
    let view = BookingView::new(&booking, &state.tickets);
    let view = if booking.user_id == who.user_id {
        view
    } else {
        view.without_client_secret()
    };
    Ok(envelope(StatusCode::OK, &Envelope::ok("OK", view)))
}

/// Settles a checkout by asking the provider (never the client): 200 once confirmed.
async fn confirm(
    State(state): State<AppState>,
    CurrentCaller(who): CurrentCaller,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let id = BookingId::parse(&id, "id")?;
    let booking = match state.bookings.checkout() {
        Some(checkout) => checkout.confirm(who, id).await?,
        // Payments off: every booking is confirmed when made, or can no longer be paid.
        None => {
            let booking = state.bookings.get(who, id).await?;
            if booking.status != BookingStatus::Confirmed {
                return Err(AppError::BookingNotPayable);
            }
            booking
        }
    };
    let mut response = envelope(
        StatusCode::OK,
        &Envelope::ok(
            "Booking confirmed",
            BookingView::new(&booking, &state.tickets),
        ),
    );
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

async fn cancel(
    State(state): State<AppState>,
    CurrentCaller(who): CurrentCaller,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let booking = state
        .bookings
        .cancel(who, BookingId::parse(&id, "id")?)
        .await?;
    let mut response = envelope(
        StatusCode::OK,
        &Envelope::ok(
            "Booking cancelled",
            BookingView::new(&booking, &state.tickets),
        ),
    );
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response.into_response())
}
