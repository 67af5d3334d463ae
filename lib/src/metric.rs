//! Business and health metrics, through the `metrics` facade. In Lambda the recorder is
//! `metrics_cloudwatch_embedded`'s collector (see [`crate::startup::serve_function`]), which prints
//! CloudWatch Embedded Metric Format lines after each invocation; elsewhere no recorder is
//! installed and every call here is a no-op.
//!
//! Dimensions stay few: the function (set once per instance) and, where a metric has one, the
//! outcome's kind (`Dependency`). Never a user id, an email or a request id.

use crate::cache::CacheError;
use crate::cause::Chain;
use crate::store::StoreError;

/// Metric and dimension names, defined once (the template's alarms and dashboard use them too;
/// the bundle test checks they agree).
pub mod name {
    pub const BOOKINGS_CREATED: &str = "BookingsCreated";
    pub const TICKETS_BOOKED: &str = "TicketsBooked";
    pub const SOLD_OUT: &str = "SoldOutRefusals";
    pub const IDEMPOTENT_REPLAYS: &str = "IdempotentReplays";
    pub const IDEMPOTENCY_KEY_IN_USE: &str = "IdempotencyKeyInUse";
    pub const CONTENTION_RETRIES: &str = "ContentionRetries";
    pub const UNAVAILABLE: &str = "DependencyUnavailable";
    pub const CACHE_FAIL_OPEN: &str = "CacheFailOpen";
    pub const RATE_LIMITED: &str = "RateLimited";
    pub const LOGINS_FAILED: &str = "LoginsFailed";
    pub const COLD_STARTS: &str = "ColdStart";
    /// Checkout: holds confirmed, released (expired or cancelled); provider follow-ups that
    /// failed and wait for the sweep; refunds the provider accepted.
    pub const HOLDS_CONFIRMED: &str = "HoldsConfirmed";
    pub const HOLDS_RELEASED: &str = "HoldsReleased";
    pub const SETTLE_FAILURES: &str = "SettleFailures";
    pub const REFUNDS: &str = "Refunds";
    /// Found by the sweep: holds still unreleased 30 s after they lapsed, refunds the provider
    /// has not accepted 15 minutes after the cancellation.
    pub const LAPSED_HOLDS_OVERDUE: &str = "LapsedHoldsOverdue";
    pub const REFUNDS_STUCK: &str = "RefundsStuck";

    /// Every metric this crate emits.
    pub const ALL: [&str; 17] = [
        LAPSED_HOLDS_OVERDUE,
        REFUNDS_STUCK,
        HOLDS_CONFIRMED,
        HOLDS_RELEASED,
        SETTLE_FAILURES,
        REFUNDS,
        BOOKINGS_CREATED,
        TICKETS_BOOKED,
        SOLD_OUT,
        IDEMPOTENT_REPLAYS,
        IDEMPOTENCY_KEY_IN_USE,
        CONTENTION_RETRIES,
        UNAVAILABLE,
        CACHE_FAIL_OPEN,
        RATE_LIMITED,
        LOGINS_FAILED,
        COLD_STARTS,
    ];

    /// The dimension every metric carries (the function's name).
    pub const FUNCTION: &str = "Function";
    /// On `DependencyUnavailable`: which dependency failed.
    pub const DEPENDENCY: &str = "Dependency";
}

/// Declares every metric's unit (EMF carries it; CloudWatch shows it). Called once at start-up,
/// after the recorder is installed.
pub fn describe() {
    for metric in name::ALL {
        metrics::describe_counter!(metric, metrics::Unit::Count, "");
    }
}

/// A booking was made (not a replay).
pub fn booking_created(tickets: u32) {
    metrics::counter!(name::BOOKINGS_CREATED).increment(1);
    metrics::counter!(name::TICKETS_BOOKED).increment(u64::from(tickets));
}

/// A hold moved on: confirmed (also a late retake) or released.
pub fn hold_moved(step: crate::store::HoldStep) {
    use crate::store::HoldStep;
    let metric = match step {
        HoldStep::Confirm | HoldStep::Retake => name::HOLDS_CONFIRMED,
        HoldStep::Expire | HoldStep::Cancel => name::HOLDS_RELEASED,
    };
    metrics::counter!(metric).increment(1);
}

/// A capture, void or refund failed and waits for the sweep.
pub fn settle_failed() {
    metrics::counter!(name::SETTLE_FAILURES).increment(1);
}

/// The sweep found a hold unreleased past the contract's 30 s.
pub fn lapsed_hold_overdue() {
    metrics::counter!(name::LAPSED_HOLDS_OVERDUE).increment(1);
}

/// The sweep found a refund still unaccepted long after its cancellation.
pub fn refund_stuck() {
    metrics::counter!(name::REFUNDS_STUCK).increment(1);
}

pub fn refund_made() {
    metrics::counter!(name::REFUNDS).increment(1);
}

/// A retried booking was answered from its idempotency record.
pub fn idempotent_replay() {
    metrics::counter!(name::IDEMPOTENT_REPLAYS).increment(1);
}

/// A booking transaction met contention (conflict or throttling) and will be tried again.
pub fn contention_retry() {
    metrics::counter!(name::CONTENTION_RETRIES).increment(1);
}

/// The cache failed and the request went on without it: logs why and counts it.
pub fn cache_fail_open(error: &CacheError, what: &'static str) {
    tracing::warn!(error = %Chain(error), "{what}");
    metrics::counter!(name::CACHE_FAIL_OPEN).increment(1);
}

/// Counts what a finished request's error code says about the platform (refusals that matter
/// to operators, and 503s by the dependency behind them).
pub fn refusal(code: &str, dependency: Option<Dependency>) {
    let metric = match code {
        "INSUFFICIENT_TICKETS" => name::SOLD_OUT,
        "IDEMPOTENCY_KEY_IN_USE" => name::IDEMPOTENCY_KEY_IN_USE,
        "RATE_LIMITED" => name::RATE_LIMITED,
        "INVALID_CREDENTIALS" => name::LOGINS_FAILED,
        "SERVICE_UNAVAILABLE" => {
            let dependency = dependency.unwrap_or(Dependency::Other).as_str();
            metrics::counter!(name::UNAVAILABLE, name::DEPENDENCY => dependency).increment(1);
            return;
        }
        _ => return,
    };
    metrics::counter!(metric).increment(1);
}

/// What a 503 came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dependency {
    DynamoDb,
    Redis,
    Other,
}

impl Dependency {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::DynamoDb => "dynamodb",
            Self::Redis => "redis",
            Self::Other => "other",
        }
    }

    /// The dependency behind an error, found by walking its sources.
    pub fn behind(error: &(dyn std::error::Error + 'static)) -> Self {
        let mut next = Some(error);
        while let Some(err) = next {
            if err.is::<StoreError>() {
                return Self::DynamoDb;
            }
            if err.is::<CacheError>() {
                return Self::Redis;
            }
            next = err.source();
        }
        Self::Other
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cause::Cause;

    #[test]
    fn a_cause_names_its_dependency() {
        let store = Cause::new(StoreError::Unavailable(Cause::new("timeout")));
        assert_eq!(Dependency::behind(store.error()), Dependency::DynamoDb);
        let cache = Cause::new(CacheError::new(std::io::Error::other("refused")));
        assert_eq!(Dependency::behind(cache.error()), Dependency::Redis);
        let other = Cause::new("other");
        assert_eq!(Dependency::behind(other.error()), Dependency::Other);
    }
}
