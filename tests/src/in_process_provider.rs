//! A payment provider inside the process, for benchmarks that measure the store's limits (the
//! partition model's hold rate) without a provider's round trip in the way. It keeps each
//! intent's state and answers like Stripe for the calls the checkout makes; `authorise` is what
//! a buyer's card would do.

use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::Mutex;
use ticketing::domain::payment::IntentState;
use ticketing::ids::BookingId;
use ticketing::payments::{NewIntent, PaymentError, PaymentProvider};

#[derive(Default)]
pub struct InProcessProvider {
    intents: Mutex<HashMap<String, IntentState>>,
    /// How long each call takes, as a provider's round trip would (calls overlap freely).
    latency: std::time::Duration,
}

impl InProcessProvider {
    pub fn with_latency(latency: std::time::Duration) -> Self {
        Self {
            latency,
            ..Self::default()
        }
    }

    async fn round_trip(&self) {
        if !self.latency.is_zero() {
            tokio::time::sleep(self.latency).await;
        }
    }

    /// The buyer's card authorised the intent.
    pub fn authorise(&self, intent: &str) {
        let _ = self.change(intent, |state| match state {
            IntentState::Unpaid | IntentState::Authorized => Ok(IntentState::Authorized),
            other => Err(other),
        });
    }

    /// Moves one intent on by `rule` (given its state: the next one, or a refusal).
    fn change(
        &self,
        intent: &str,
        rule: impl FnOnce(IntentState) -> Result<IntentState, IntentState>,
    ) -> Result<(), PaymentError> {
        let mut intents = self.intents.lock().unwrap();
        let state = intents
            .get_mut(intent)
            .ok_or_else(|| PaymentError::Refused("no such intent".into()))?;
        *state = rule(*state).map_err(|s| PaymentError::Refused(format!("intent is {s:?}")))?;
        Ok(())
    }
}

#[async_trait]
impl PaymentProvider for InProcessProvider {
    fn name(&self) -> &'static str {
        "stripe"
    }
    fn currency(&self) -> &str {
        "usd"
    }

    async fn create_intent(
        &self,
        booking: BookingId,
        _amount: i64,
    ) -> Result<NewIntent, PaymentError> {
        self.round_trip().await;
        // One intent per booking, as Stripe's idempotency key makes it.
        let id = format!("pi_{booking}");
        self.intents
            .lock()
            .unwrap()
            .entry(id.clone())
            .or_insert(IntentState::Unpaid);
        Ok(NewIntent {
            client_secret: format!("{id}_secret_bench"),
            id,
        })
    }

    async fn intent_state(&self, intent: &str) -> Result<IntentState, PaymentError> {
        self.round_trip().await;
        self.intents
            .lock()
            .unwrap()
            .get(intent)
            .copied()
            .ok_or_else(|| PaymentError::Refused("no such intent".into()))
    }

    async fn capture(&self, intent: &str, _booking: BookingId) -> Result<(), PaymentError> {
        self.round_trip().await;
        self.change(intent, |state| match state {
            IntentState::Authorized | IntentState::Captured => Ok(IntentState::Captured),
            other => Err(other),
        })
    }

    async fn void(&self, intent: &str, _booking: BookingId) -> Result<(), PaymentError> {
        self.round_trip().await;
        self.change(intent, |state| match state {
            IntentState::Captured => Err(state),
            _ => Ok(IntentState::Canceled),
        })
    }

    async fn refund(
        &self,
        intent: &str,
        booking: BookingId,
        _amount: i64,
    ) -> Result<String, PaymentError> {
        match self.intent_state(intent).await? {
            IntentState::Captured => Ok(format!("re_{booking}")),
            other => Err(PaymentError::Refused(format!(
                "{other:?} is not refundable"
            ))),
        }
    }
}
