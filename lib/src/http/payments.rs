//! `POST /api/v1/payments/stripe/webhook`: Stripe's events, verified on the raw body, each
//! event id applied at most once, answered as soon as the booking is settled.

use crate::domain::ids::BookingId;
use crate::payments::webhook;
use crate::views::Envelope;
use crate::{AppError, AppState};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;

/// The webhook's path (served by the bookings function).
pub const STRIPE_WEBHOOK: &str = "/api/v1/payments/stripe/webhook";

/// The intent events that move a booking on; other types are acknowledged and ignored.
const SETTLING: [&str; 4] = [
    "payment_intent.amount_capturable_updated",
    "payment_intent.succeeded",
    "payment_intent.payment_failed",
    "payment_intent.canceled",
];

#[derive(Deserialize)]
struct StripeEvent {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    data: Option<EventData>,
}

#[derive(Deserialize)]
struct EventData {
    object: EventObject,
}

#[derive(Deserialize)]
struct EventObject {
    #[serde(default)]
    metadata: std::collections::HashMap<String, serde_json::Value>,
}

pub(super) async fn stripe_webhook(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, AppError> {
    // Payments off: there is no secret a signature could verify against.
    let secrets = state
        .config
        .payments
        .as_ref()
        .and_then(|p| p.secrets.as_ref());
    let (Some(checkout), Some(secrets)) = (state.bookings.checkout(), secrets) else {
        return Err(AppError::InvalidSignature);
    };
    let mut signatures = headers.get_all("stripe-signature").iter();
    let header = match (signatures.next(), signatures.next()) {
        (Some(one), None) => one.to_str().map_err(|_| AppError::InvalidSignature)?,
        _ => return Err(AppError::InvalidSignature),
    };
    let now = chrono::Utc::now();
    webhook::verify(
        secrets.webhook_secret.expose(),
        header,
        &body,
        now.timestamp(),
    )
    .map_err(|e| {
        tracing::info!(reason = %e, "refused a webhook");
        AppError::InvalidSignature
    })?;
    let event: StripeEvent = serde_json::from_slice(&body)
        .map_err(|_| AppError::validation("body", "must be a Stripe event"))?;
    let booking = event
        .data
        .as_ref()
        .and_then(|d| d.object.metadata.get("bookingId"))
        .and_then(|v| v.as_str())
        .and_then(|id| id.parse::<BookingId>().ok());
    if let (true, Some(booking)) = (SETTLING.contains(&event.kind.as_str()), booking) {
        // Remembered first: a duplicate (or a retry after a failure below) changes nothing, and
        // what a failed settle leaves undone the sweep finishes — the booking is in its queue.
        if state.store.remember_webhook(&event.id, now).await? {
            tracing::info!(event = %event.id, kind = %event.kind, %booking, "applying a webhook");
            checkout.intent_changed(booking).await?;
        }
    }
    Ok(super::envelope(
        StatusCode::OK,
        &Envelope::ok("Webhook received", serde_json::json!({ "received": true })),
    ))
}
