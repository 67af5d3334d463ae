//! Card payments through a provider (Stripe; locally its stand-in localstripe). The provider is
//! behind a small trait so the service's rules read as rules; every call that moves money
//! carries an idempotency key derived from the booking, so a retry can never move it twice.

pub mod stripe;
pub mod webhook;

use crate::cause::Cause;
use crate::domain::ids::BookingId;
use crate::domain::payment::IntentState;
use async_trait::async_trait;

/// A PaymentIntent made for a hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewIntent {
    pub id: String,
    pub client_secret: String,
}

#[derive(Debug, thiserror::Error)]
pub enum PaymentError {
    /// The provider could not be reached, timed out, or answered 5xx / 429: worth retrying.
    #[error("payment provider unavailable")]
    Unavailable(#[source] Cause),
    /// The provider refused the request (a 4xx): e.g. capturing an intent that was voided.
    /// The caller re-reads the intent and decides from its state.
    #[error("payment provider refused the request: {0}")]
    Refused(String),
}

/// What the checkout asks of a provider.
#[async_trait]
pub trait PaymentProvider: Send + Sync {
    /// `payment.provider` in bookings.
    fn name(&self) -> &'static str;
    fn currency(&self) -> &str;
    /// An intent for `amount` minor units with manual capture, naming the booking in its
    /// metadata; the same booking always gets the same intent (idempotency key).
    async fn create_intent(
        &self,
        booking: BookingId,
        amount: i64,
    ) -> Result<NewIntent, PaymentError>;
    async fn intent_state(&self, intent: &str) -> Result<IntentState, PaymentError>;
    /// Takes the authorised money (once per booking).
    async fn capture(&self, intent: &str, booking: BookingId) -> Result<(), PaymentError>;
    /// Cancels the intent, releasing any authorisation (once per booking).
    async fn void(&self, intent: &str, booking: BookingId) -> Result<(), PaymentError>;
    /// Refunds `amount` minor units of a captured intent, keyed by the booking id; an intent
    /// already refunded returns that refund's id rather than making a second one.
    async fn refund(
        &self,
        intent: &str,
        booking: BookingId,
        amount: i64,
    ) -> Result<String, PaymentError>;
}
