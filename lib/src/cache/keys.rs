//! Every cache key, defined once (beside `store::table::keys`). Each implementation adds the
//! deployment prefix.

use crate::ids::{EventId, UserId};

/// A booking request's in-flight marker, then its stored 201 body (the fast path in front of
/// the durable guard).
pub fn idempotency(user: UserId, key: &str) -> String {
    format!("idempotency:{user}:{key}")
}

/// One event's cached read.
pub fn event(id: EventId) -> String {
    format!("event:{id}")
}

/// One event's current price, which the booking transaction verifies.
pub fn event_price(id: EventId) -> String {
    format!("event-price:{id}")
}

/// Renewed by every write that may change a listing: cached listings of older generations die.
pub const LISTING_GENERATION: &str = "events:generation";

/// One cached listing page: the generation, who asked (admins see drafts), the query's own key.
pub fn listing(generation: &str, admin: bool, query_key: &str) -> String {
    format!("events:list:{generation}:{admin}:{query_key}")
}

/// The general rate-limit window of a subject (`user:<id>` or `ip:<addr>`).
pub fn rate_limit_general(subject: &str) -> String {
    format!("ratelimit:all:{subject}")
}

/// The login/register rate-limit window of a client address.
pub fn rate_limit_credentials(ip: &str) -> String {
    format!("ratelimit:auth:ip:{ip}")
}
