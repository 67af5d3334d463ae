//! A checkout's payment as the booking records it, and the rules that move a hold on: what a
//! provider's answer about an intent means for the booking, whatever order things arrive in.

use crate::money::Cents;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// `payment.status` of the contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentStatus {
    RequiresPayment,
    Authorized,
    Captured,
    Voided,
    Refunded,
}

/// A booking's payment: the provider's intent, created with manual capture before the hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Payment {
    pub provider: String,
    pub intent_id: String,
    /// What Stripe.js needs to pay this intent: shown to the owner while the booking is pending.
    pub client_secret: String,
    /// In minor units (`totalPrice` × 100).
    pub amount: i64,
    pub currency: String,
    pub status: PaymentStatus,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RefundStatus {
    Pending,
    Succeeded,
}

/// The refund of a cancelled paid booking: recorded `pending` in the cancel's own write, then
/// `succeeded` (with the provider's id) once the provider accepts it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Refund {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub amount: Cents,
    pub status: RefundStatus,
}

/// What the provider says of an intent, reduced to what settling a booking needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntentState {
    /// No card yet, declined, or 3-D Secure pending: the buyer may still pay.
    Unpaid,
    /// Authorised, not captured: the money can be taken or the authorisation voided.
    Authorized,
    Captured,
    /// Cancelled at the provider (our void, or someone else's).
    Canceled,
}

impl IntentState {
    /// From Stripe's `status` of a PaymentIntent.
    pub fn from_stripe(status: &str) -> Self {
        match status {
            "requires_capture" => Self::Authorized,
            "succeeded" => Self::Captured,
            "canceled" => Self::Canceled,
            _ => Self::Unpaid,
        }
    }

    /// Money is reserved or taken.
    pub fn is_paid(self) -> bool {
        matches!(self, Self::Authorized | Self::Captured)
    }
}

/// A hold has lapsed at `now` unless its payment was authorised (then it is settled instead).
pub fn hold_lapsed(expires_at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> bool {
    expires_at.is_some_and(|at| at <= now)
}

/// The amount in minor units the provider is asked for.
pub fn minor_units(total: Cents) -> i64 {
    total.0
}

/// The contract releases a lapsed hold within 30 s; past it, someone should look.
const RELEASE_DEADLINE: chrono::Duration = chrono::Duration::seconds(30);
/// A refund Stripe has not accepted this long after the cancellation is stuck.
const REFUND_DEADLINE: chrono::Duration = chrono::Duration::minutes(15);

/// What is late about a booking the sweep just settled, as the alarms need it.
#[derive(Debug, PartialEq, Eq)]
pub enum Overdue {
    LapsedHold,
    Refund,
}

pub fn overdue(booking: &super::Booking, now: DateTime<Utc>) -> Option<Overdue> {
    let lapsed_long_ago = booking
        .hold_expires_at
        .is_some_and(|at| at + RELEASE_DEADLINE < now);
    if booking.status == super::BookingStatus::Pending && lapsed_long_ago {
        return Some(Overdue::LapsedHold);
    }
    let refund_pending = booking
        .refund
        .as_ref()
        .is_some_and(|r| r.status == RefundStatus::Pending);
    let cancelled_long_ago = booking
        .cancelled_at
        .is_some_and(|at| at + REFUND_DEADLINE < now);
    (refund_pending && cancelled_long_ago).then_some(Overdue::Refund)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ids::EventId;
    use crate::domain::{Booking, BookingStatus};

    fn booking(status: BookingStatus) -> Booking {
        Booking::sample(EventId::new(), 1, Cents(1000), status)
    }

    #[test]
    fn overdue_holds_and_refunds_are_named_and_timely_ones_are_not() {
        let now = Utc::now();
        let mut hold = booking(BookingStatus::Pending);
        hold.hold_expires_at = Some(now - chrono::Duration::seconds(10));
        assert_eq!(
            overdue(&hold, now),
            None,
            "lapsed 10 s ago: the sweep has time"
        );
        hold.hold_expires_at = Some(now - chrono::Duration::seconds(31));
        assert_eq!(overdue(&hold, now), Some(Overdue::LapsedHold));
        // Released, it is no longer a hold, however long ago it lapsed.
        hold.status = BookingStatus::Expired;
        assert_eq!(overdue(&hold, now), None);

        let mut cancelled = booking(BookingStatus::Cancelled);
        cancelled.refund = Some(Refund {
            id: None,
            amount: Cents(1000),
            status: RefundStatus::Pending,
        });
        cancelled.cancelled_at = Some(now - chrono::Duration::minutes(5));
        assert_eq!(
            overdue(&cancelled, now),
            None,
            "5 minutes: still being retried"
        );
        cancelled.cancelled_at = Some(now - chrono::Duration::minutes(16));
        assert_eq!(overdue(&cancelled, now), Some(Overdue::Refund));
        if let Some(refund) = cancelled.refund.as_mut() {
            refund.status = RefundStatus::Succeeded;
        }
        assert_eq!(overdue(&cancelled, now), None);
    }

    #[test]
    fn stripe_statuses() {
        assert_eq!(
            IntentState::from_stripe("requires_capture"),
            IntentState::Authorized
        );
        assert_eq!(IntentState::from_stripe("succeeded"), IntentState::Captured);
        assert_eq!(IntentState::from_stripe("canceled"), IntentState::Canceled);
        for unpaid in [
            "requires_payment_method",
            "requires_confirmation",
            "requires_action",
            "processing",
        ] {
            assert_eq!(IntentState::from_stripe(unpaid), IntentState::Unpaid);
            assert!(!IntentState::from_stripe(unpaid).is_paid());
        }
    }

    #[test]
    fn payment_status_names() {
        assert_eq!(
            serde_json::to_string(&PaymentStatus::RequiresPayment).unwrap(),
            "\"requires_payment\""
        );
        assert_eq!(
            serde_json::to_string(&PaymentStatus::Authorized).unwrap(),
            "\"authorized\""
        );
    }

    #[test]
    fn lapse_is_at_expiry() {
        let now = Utc::now();
        assert!(hold_lapsed(Some(now), now));
        assert!(!hold_lapsed(Some(now + chrono::Duration::seconds(1)), now));
        assert!(!hold_lapsed(None, now));
    }
}
