//! Every cache key, defined once (beside `store::table::keys`). Each implementation adds the
//! deployment prefix.

use crate::domain::ids::{EventId, UserId};

/// A booking request's in-flight marker, then its stored 201 body (the fast path in front of
/// the durable guard).
pub fn idempotency(user: UserId, key: &str) -> String {
    format!("idempotency:{user}:{key}")
}

/// One event's cached read.
pub fn event(id: EventId) -> String {
    format!("event:{id}")
}

/// One event's booking terms (price, shard count), which the booking transaction verifies.
pub fn booking_terms(id: EventId) -> String {
    format!("event-terms:{id}")
}

/// One event's availability tally (`available:confirmed`, summed over its shards), which
/// listings read in place of the shards.
pub fn availability(id: EventId) -> String {
    format!("availability:{id}")
}

/// How many changes to one event's availability are under way (begun, not yet ended).
pub fn availability_pending(id: EventId) -> String {
    format!("availability-pending:{id}")
}

/// How many times one event's availability changed: a tally computed from shards read before
/// a change is not written after it.
pub fn availability_changes(id: EventId) -> String {
    format!("availability-changes:{id}")
}

/// The catalog version, briefly: every listing asks for it.
pub const CATALOG_VERSION: &str = "catalog:version";

/// The general rate-limit window of a subject (`user:<id>` or `ip:<addr>`).
pub fn rate_limit_general(subject: &str) -> String {
    format!("ratelimit:all:{subject}")
}

/// The login/register rate-limit window of a client address.
pub fn rate_limit_credentials(ip: &str) -> String {
    format!("ratelimit:auth:ip:{ip}")
}
