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

#[cfg(test)]
mod tests {
    use super::*;

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
