//! The contract's wire shapes: the response envelope and the public views of users, events and
//! bookings (money as decimals, timestamps as RFC 3339 UTC, never a password hash).

use crate::domain::{Booking, Event, PageMeta, User};
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Value};

pub fn timestamp(ts: DateTime<Utc>) -> String {
    ts.to_rfc3339_opts(SecondsFormat::Millis, true)
}

pub fn user(user: &User) -> Value {
    json!({
        "id": user.id,
        "email": user.email,
        "name": user.name,
        "role": user.role,
        "createdAt": timestamp(user.created_at),
    })
}

pub fn event(event: &Event) -> Value {
    json!({
        "id": event.id,
        "name": event.name,
        "description": event.description,
        "venue": event.venue,
        "date": timestamp(event.date),
        "price": event.price.to_json(),
        "totalTickets": event.total_tickets,
        "availableTickets": event.available_tickets,
        "status": event.status,
        "createdAt": timestamp(event.created_at),
        "updatedAt": timestamp(event.updated_at),
    })
}

pub fn booking(booking: &Booking) -> Value {
    let mut view = json!({
        "id": booking.id,
        "eventId": booking.event_id,
        "userId": booking.user_id,
        "quantity": booking.quantity,
        "unitPrice": booking.unit_price.to_json(),
        "totalPrice": booking.total_price.to_json(),
        "status": booking.status,
        "ticketNumbers": booking.ticket_numbers,
        "idempotencyKey": booking.idempotency_key,
        "createdAt": timestamp(booking.created_at),
    });
    if let Some(at) = booking.cancelled_at {
        view["cancelledAt"] = json!(timestamp(at));
    }
    view
}

/// A success envelope.
pub fn success(message: &str, data: Value, meta: Option<PageMeta>) -> Value {
    let mut body = json!({ "success": true, "message": message, "data": data });
    if let Some(meta) = meta {
        body["meta"] = json!(meta);
    }
    body
}
