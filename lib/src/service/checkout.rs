//! Checkout: a paid booking is a hold that the provider's answer moves on. One idempotent
//! `settle` step serves `/confirm`, the webhooks and the sweep: it reads the booking, asks the
//! provider for the intent's state (never trusting a client or a webhook's payload), and makes
//! the one conditional step that state calls for — so whichever of them gets there first wins
//! and the others find the work done.

use super::availability::Outcome;
use super::bookings::{backoff, MAX_ATTEMPTS};
use super::EventService;
use crate::domain::ids::{BookingId, EventId};
use crate::domain::mail::OutboxMail;
use crate::domain::payment::{
    hold_lapsed, overdue, IntentState, Overdue, Payment, PaymentStatus, Refund, RefundStatus,
};
use crate::domain::{Booking, BookingStatus, Identity};
use crate::money::Cents;
use crate::payments::{PaymentError, PaymentProvider};
use crate::store::{HoldStep, Store, StoreError};
use crate::AppError;
use chrono::{DateTime, Utc};
use std::sync::Arc;

/// When the sweep looks at a booking again after a provider call failed.
const RETRY_AFTER: chrono::Duration = chrono::Duration::seconds(30);
/// Lapsed holds a refused booking releases before it is refused.
const RELEASE_ON_DEMAND: usize = 20;

impl From<PaymentError> for AppError {
    fn from(err: PaymentError) -> Self {
        AppError::unavailable(err)
    }
}

/// What a settle found beyond the booking's new state.
#[derive(Debug, Clone, PartialEq)]
pub struct Settled {
    pub booking: Booking,
    /// A late authorisation found the tickets gone and was voided.
    pub hold_expired: bool,
}

#[derive(Clone)]
pub struct CheckoutService {
    store: Arc<dyn Store>,
    events: EventService,
    provider: Arc<dyn PaymentProvider>,
    hold: chrono::Duration,
}

impl CheckoutService {
    pub fn new(
        store: Arc<dyn Store>,
        events: EventService,
        provider: Arc<dyn PaymentProvider>,
        hold_seconds: u64,
    ) -> Self {
        Self {
            store,
            events,
            provider,
            hold: chrono::Duration::seconds(i64::try_from(hold_seconds).unwrap_or(600)),
        }
    }

    /// When a hold made at `now` lapses.
    pub fn hold_ends(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        now + self.hold
    }

    /// The intent of a new hold, made before the hold's transaction so that its 201 (kept in
    /// the idempotency guard) carries it. The booking id keys it: a retry gets the same one.
    pub async fn open_payment(
        &self,
        booking: BookingId,
        total: Cents,
    ) -> Result<Payment, AppError> {
        let amount = crate::domain::payment::minor_units(total);
        let intent = self.provider.create_intent(booking, amount).await?;
        Ok(Payment {
            provider: self.provider.name().to_owned(),
            intent_id: intent.id,
            client_secret: intent.client_secret,
            amount,
            currency: self.provider.currency().to_owned(),
            status: PaymentStatus::RequiresPayment,
        })
    }

    /// Cancels the intent of a hold that was never written (its booking was refused).
    pub async fn abandon_payment(&self, booking: BookingId, payment: &Payment) {
        if let Err(e) = self.provider.void(&payment.intent_id, booking).await {
            // Unpaid and unwritten: nothing can be charged through it; Stripe drops it later.
            tracing::warn!(error = %crate::cause::Cause::new(e).chain(), %booking, "could not cancel the intent of a refused booking");
        }
    }

    /// `POST /bookings/:id/confirm`: settles the owner's booking and answers by its state.
    pub async fn confirm(&self, who: Identity, id: BookingId) -> Result<Booking, AppError> {
        let booking = self.owned(who, id).await?;
        if booking.payment.is_none() {
            return match booking.status {
                BookingStatus::Confirmed => Ok(booking),
                _ => Err(AppError::BookingNotPayable),
            };
        }
        let settled = self.settle(booking).await?;
        if settled.hold_expired {
            return Err(AppError::HoldExpired);
        }
        let now = Utc::now();
        match settled.booking.status_at(now) {
            BookingStatus::Confirmed => Ok(settled.booking),
            BookingStatus::Pending => Err(AppError::PaymentIncomplete),
            BookingStatus::Cancelled | BookingStatus::Expired => Err(AppError::BookingNotPayable),
        }
    }

    /// Cancels a hold: its tickets go back and its intent is cancelled.
    pub async fn cancel_hold(&self, booking: &Booking) -> Result<Booking, AppError> {
        let payment = booking
            .payment
            .clone()
            .ok_or(AppError::BookingNotCancellable)?;
        let now = Utc::now();
        let cancelled = match self
            .step(booking, HoldStep::Cancel, payment, now, None)
            .await
        {
            Ok(cancelled) => cancelled,
            Err(StoreError::StatusChanged) => return Err(AppError::BookingNotCancellable),
            Err(other) => return Err(other.into()),
        };
        Ok(self.follow_up(cancelled).await.booking)
    }

    /// The settle step of a booking named by id (a webhook's metadata, the sweep's queue).
    pub async fn settle_id(&self, id: BookingId) -> Result<Option<Settled>, AppError> {
        match self.store.booking_by_id(id).await? {
            Some(booking) if booking.payment.is_some() => Ok(Some(self.settle(booking).await?)),
            _ => Ok(None),
        }
    }

    /// A webhook for an intent whose metadata names `booking`: `canceled` cancels a hold
    /// still pending; the others settle like `/confirm`.
    pub async fn intent_changed(&self, booking: BookingId) -> Result<(), AppError> {
        self.settle_id(booking).await.map(|_| ())
    }

    /// Releases the event's lapsed holds (on demand: a booking is about to be refused for want
    /// of tickets); whether any tickets came back.
    pub async fn release_lapsed(&self, event: EventId, shards: u16) -> Result<bool, AppError> {
        let now = Utc::now();
        let holds = self
            .store
            .event_holds(event, shards, RELEASE_ON_DEMAND)
            .await?;
        let mut released = false;
        for hold in holds
            .into_iter()
            .filter(|h| hold_lapsed(h.hold_expires_at, now))
        {
            let settled = self.settle(hold).await?;
            released |= settled.booking.status == BookingStatus::Expired;
        }
        Ok(released)
    }

    /// One pass of the sweep: every booking whose payment work is due (up to `limit`) is
    /// settled; how many were looked at.
    pub async fn sweep(&self, limit: usize) -> Result<usize, AppError> {
        let due = self.store.payment_work_due(Utc::now(), limit).await?;
        for id in &due {
            match self.settle_id(*id).await {
                Ok(Some(settled)) => report_overdue(&settled.booking, Utc::now()),
                Ok(None) => {}
                Err(e) => {
                    // The booking stays due: the next pass tries again.
                    tracing::warn!(error = %e, booking = %id, "payment sweep could not settle a booking");
                    crate::metric::settle_failed();
                }
            }
        }
        Ok(due.len())
    }

    async fn owned(&self, who: Identity, id: BookingId) -> Result<Booking, AppError> {
        let booking = self
            .store
            .booking_by_id(id)
            .await?
            .ok_or(AppError::NotFound)?;
        if booking.user_id != who.user_id && !who.is_admin() {
            return Err(AppError::NotFound);
        }
        Ok(booking)
    }

    /// Moves a booking on as the provider's intent says, re-reading when another step got
    /// there first.
    pub async fn settle(&self, mut booking: Booking) -> Result<Settled, AppError> {
        let mut tries = 0;
        loop {
            tries += 1;
            match self.settle_once(&booking).await {
                Err(StoreError::StatusChanged) | Err(StoreError::Contention(_))
                    if tries < MAX_ATTEMPTS =>
                {
                    backoff(tries).await;
                    booking = self
                        .store
                        .booking_by_id(booking.id)
                        .await?
                        .ok_or(AppError::NotFound)?;
                }
                Err(e) => return Err(e.into()),
                Ok(Ok(settled)) => return Ok(settled),
                Ok(Err(e)) => return Err(e),
            }
        }
    }

    /// One look at the booking and its intent, and the step they call for. The outer error is
    /// a store race to retry; the inner one a provider failure to report.
    async fn settle_once(
        &self,
        booking: &Booking,
    ) -> Result<Result<Settled, AppError>, StoreError> {
        let Some(payment) = booking.payment.clone() else {
            return Ok(Ok(Settled {
                booking: booking.clone(),
                hold_expired: false,
            }));
        };
        let now = Utc::now();
        let done = |booking: Booking| {
            Ok(Ok(Settled {
                booking,
                hold_expired: false,
            }))
        };
        match (booking.status, payment.status) {
            (BookingStatus::Pending, _) => {
                let state = match self.provider.intent_state(&payment.intent_id).await {
                    Ok(state) => state,
                    Err(e) => return Ok(Err(e.into())),
                };
                let step = match state {
                    IntentState::Authorized | IntentState::Captured => HoldStep::Confirm,
                    IntentState::Canceled => HoldStep::Cancel,
                    IntentState::Unpaid if hold_lapsed(booking.hold_expires_at, now) => {
                        HoldStep::Expire
                    }
                    IntentState::Unpaid => return done(booking.clone()),
                };
                let recorded = Payment {
                    status: match state {
                        IntentState::Authorized => PaymentStatus::Authorized,
                        IntentState::Captured => PaymentStatus::Captured,
                        IntentState::Canceled => PaymentStatus::Voided,
                        IntentState::Unpaid => PaymentStatus::RequiresPayment,
                    },
                    ..payment
                };
                let mail = (step == HoldStep::Confirm)
                    .then(|| OutboxMail::booking_confirmed(booking.id, now));
                let moved = self
                    .step(booking, step, recorded, now, mail.as_ref())
                    .await?;
                Ok(Ok(self.follow_up(moved).await))
            }
            (BookingStatus::Expired, PaymentStatus::RequiresPayment) => {
                // Released unpaid: a late authorisation retakes the tickets if they are there.
                let state = match self.provider.intent_state(&payment.intent_id).await {
                    Ok(state) => state,
                    Err(e) => return Ok(Err(e.into())),
                };
                if state.is_paid() {
                    let recorded = Payment {
                        status: PaymentStatus::Authorized,
                        ..payment.clone()
                    };
                    let mail = OutboxMail::booking_confirmed(booking.id, now);
                    match self
                        .step(booking, HoldStep::Retake, recorded, now, Some(&mail))
                        .await
                    {
                        Ok(moved) => return Ok(Ok(self.follow_up(moved).await)),
                        Err(StoreError::InsufficientTickets | StoreError::EventNotBookable) => {
                            let mut settled = self.follow_up(booking.clone()).await;
                            settled.hold_expired = true;
                            return Ok(Ok(settled));
                        }
                        Err(other) => return Err(other),
                    }
                }
                Ok(Ok(self.follow_up(booking.clone()).await))
            }
            _ => Ok(Ok(self.follow_up(booking.clone()).await)),
        }
    }

    /// A hold step with the event's listing tally kept in step.
    async fn step(
        &self,
        booking: &Booking,
        step: HoldStep,
        payment: Payment,
        now: DateTime<Utc>,
        mail: Option<&OutboxMail>,
    ) -> Result<Booking, StoreError> {
        let availability = self.events.availability();
        availability.begin(booking.event_id).await;
        let result = self
            .store
            .move_hold(booking, step, &payment, now, mail)
            .await;
        let quantity = i64::from(booking.quantity);
        let change = match step {
            HoldStep::Confirm => (0, 1),
            HoldStep::Retake => (-quantity, 1),
            HoldStep::Expire | HoldStep::Cancel => (quantity, 0),
        };
        let outcome = match &result {
            Ok(_) => Outcome::Committed {
                tickets: change.0,
                bookings: change.1,
            },
            Err(StoreError::Contention(_) | StoreError::Unavailable(_)) => Outcome::Unknown,
            Err(_) => Outcome::NotWritten,
        };
        availability.end(booking.event_id, outcome).await;
        if result.is_ok() {
            crate::metric::hold_moved(step);
        }
        result
    }

    /// The provider call a booking's state still owes — capture a confirmed authorisation,
    /// void an unpaid or released intent, refund a cancelled payment — and its record. A
    /// failure leaves the booking in the sweep's queue (due again after `RETRY_AFTER`); the
    /// booking's own state stands either way.
    pub async fn follow_up(&self, booking: Booking) -> Settled {
        let settled = |booking| Settled {
            booking,
            hold_expired: false,
        };
        let Some(payment) = booking.payment.clone() else {
            return settled(booking);
        };
        let refund_owed = booking
            .refund
            .as_ref()
            .filter(|r| r.status == RefundStatus::Pending);
        let result = match (booking.status, payment.status, refund_owed) {
            (BookingStatus::Confirmed, PaymentStatus::Authorized, _) => {
                self.capture(&booking, &payment).await
            }
            (BookingStatus::Cancelled, PaymentStatus::Authorized, Some(_)) => {
                // Cancelled before its capture: take it, then refund it below on the next look.
                self.capture(&booking, &payment).await
            }
            (BookingStatus::Cancelled, PaymentStatus::Captured, Some(refund)) => {
                self.refund(&booking, &payment, refund).await
            }
            (
                BookingStatus::Expired | BookingStatus::Cancelled,
                PaymentStatus::RequiresPayment | PaymentStatus::Authorized,
                None,
            ) => self.void(&booking, &payment).await,
            _ => Ok(None),
        };
        match result {
            Ok(Some(recorded)) => {
                // A capture of a cancelled booking leaves its refund owed: go on with it.
                if recorded.status == BookingStatus::Cancelled
                    && recorded
                        .refund
                        .as_ref()
                        .is_some_and(|r| r.status == RefundStatus::Pending)
                    && recorded
                        .payment
                        .as_ref()
                        .is_some_and(|p| p.status == PaymentStatus::Captured)
                {
                    return Box::pin(self.follow_up(recorded)).await;
                }
                settled(recorded)
            }
            Ok(None) => {
                // Nothing owed: make sure the sweep forgets it.
                match self
                    .store
                    .record_payment(&booking, &payment, booking.refund.as_ref(), None)
                    .await
                {
                    Ok(recorded) => settled(recorded),
                    Err(_) => settled(booking),
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, booking = %booking.id, "payment follow-up failed; the sweep retries it");
                crate::metric::settle_failed();
                let _ = self
                    .store
                    .record_payment(
                        &booking,
                        &payment,
                        booking.refund.as_ref(),
                        Some(Utc::now() + RETRY_AFTER),
                    )
                    .await;
                settled(booking)
            }
        }
    }

    async fn capture(
        &self,
        booking: &Booking,
        payment: &Payment,
    ) -> Result<Option<Booking>, AppError> {
        let outcome = self.provider.capture(&payment.intent_id, booking.id).await;
        let state = match outcome {
            Ok(()) => IntentState::Captured,
            // Already captured (a retry), or no longer capturable: the intent says which.
            Err(PaymentError::Refused(_)) => self.provider.intent_state(&payment.intent_id).await?,
            Err(e) => return Err(e.into()),
        };
        if state != IntentState::Captured {
            return Err(AppError::unavailable(format!(
                "the intent of a confirmed booking is {state:?}, not capturable"
            )));
        }
        let captured = Payment {
            status: PaymentStatus::Captured,
            ..payment.clone()
        };
        let due = booking.refund.as_ref().map(|_| Utc::now());
        Ok(Some(
            self.store
                .record_payment(booking, &captured, booking.refund.as_ref(), due)
                .await?,
        ))
    }

    async fn void(
        &self,
        booking: &Booking,
        payment: &Payment,
    ) -> Result<Option<Booking>, AppError> {
        if let Err(err) = self.provider.void(&payment.intent_id, booking.id).await {
            // Already cancelled is what we wanted; anything else is retried.
            let state = self.provider.intent_state(&payment.intent_id).await?;
            if state != IntentState::Canceled {
                return Err(err.into());
            }
        }
        let voided = Payment {
            status: PaymentStatus::Voided,
            ..payment.clone()
        };
        Ok(Some(
            self.store
                .record_payment(booking, &voided, None, None)
                .await?,
        ))
    }

    async fn refund(
        &self,
        booking: &Booking,
        payment: &Payment,
        refund: &Refund,
    ) -> Result<Option<Booking>, AppError> {
        let id = self
            .provider
            .refund(&payment.intent_id, booking.id, refund.amount.0)
            .await?;
        let refunded = Payment {
            status: PaymentStatus::Refunded,
            ..payment.clone()
        };
        let done = Refund {
            id: Some(id),
            status: RefundStatus::Succeeded,
            ..refund.clone()
        };
        crate::metric::refund_made();
        Ok(Some(
            self.store
                .record_payment(booking, &refunded, Some(&done), None)
                .await?,
        ))
    }
}

/// Tells the alarms what the sweep found late.
fn report_overdue(booking: &Booking, now: DateTime<Utc>) {
    match overdue(booking, now) {
        Some(Overdue::LapsedHold) => {
            tracing::warn!(booking = %booking.id, "a lapsed hold is still unreleased");
            crate::metric::lapsed_hold_overdue();
        }
        Some(Overdue::Refund) => {
            tracing::warn!(booking = %booking.id, "a refund is still not accepted");
            crate::metric::refund_stuck();
        }
        None => {}
    }
}
