use super::availability::{self, Outcome};
use super::{CheckoutService, EventService};
use crate::domain::ids::BookingId;
use crate::domain::mail::OutboxMail;
use crate::domain::payment::{Payment, Refund, RefundStatus};
use crate::domain::{
    Booking, BookingStatus, Identity, NewBookingRequest, PageMeta, PageParams, ShardTake,
};
use crate::metric;
use crate::store::{BookOutcome, BookingAttempt, Store, StoreError};
use crate::AppError;
use chrono::Utc;
use rand::Rng;
use std::sync::Arc;
use std::time::Duration;

/// How long a key is honoured.
pub const IDEMPOTENCY_TTL: Duration = Duration::from_secs(24 * 60 * 60);
/// Attempts at a transaction that meets contention before answering 503.
pub const MAX_ATTEMPTS: u32 = 5;
const BACKOFF_BASE_MS: u64 = 15;

/// Jittered exponential backoff: spreads retries of contended transactions apart.
pub(crate) async fn backoff(tries: u32) {
    let ceiling = BACKOFF_BASE_MS << tries;
    let delay = rand::rng().random_range(ceiling / 2..=ceiling);
    tokio::time::sleep(Duration::from_millis(delay)).await;
}

/// A 201 answer: the exact body, and whether it is a replay of an earlier request.
#[derive(Debug, Clone, PartialEq)]
pub struct BookingReply {
    pub body: String,
    pub replayed: bool,
}

#[derive(Clone)]
pub struct BookingService {
    store: Arc<dyn Store>,
    events: EventService,
    /// `REQUIRE_VERIFIED_EMAIL`: an unverified user may not book.
    require_verified_email: bool,
    /// With payments on: a paid event's booking is a hold its checkout settles.
    checkout: Option<CheckoutService>,
}

impl BookingService {
    pub fn new(store: Arc<dyn Store>, events: EventService) -> Self {
        Self {
            store,
            events,
            require_verified_email: false,
            checkout: None,
        }
    }

    /// Paid events are booked as holds, settled through `checkout`.
    pub fn with_checkout(self, checkout: Option<CheckoutService>) -> Self {
        Self { checkout, ..self }
    }

    pub fn checkout(&self) -> Option<&CheckoutService> {
        self.checkout.as_ref()
    }

    /// Refuses bookings of users whose address is not verified.
    pub fn requiring_verified_email(self, required: bool) -> Self {
        Self {
            require_verified_email: required,
            ..self
        }
    }

    /// The answer the durable guard holds for this key, if a booking was made with it: the
    /// original 201 (a replay) or, for another body, `IDEMPOTENCY_KEY_REUSED`.
    pub async fn replay_from_guard(
        &self,
        who: Identity,
        request: &NewBookingRequest,
        fingerprint: &str,
    ) -> Result<Option<BookingReply>, AppError> {
        let key = request.idempotency_key.to_string();
        let Some(guard) = self
            .store
            .idempotency_guard(who.user_id, &key, Utc::now())
            .await?
        else {
            return Ok(None);
        };
        if guard.fingerprint != fingerprint {
            return Err(AppError::IdempotencyKeyReused);
        }
        Ok(Some(BookingReply {
            body: guard.response_body,
            replayed: true,
        }))
    }

    /// Books tickets exactly once per (user, idempotency key): one transaction writes the
    /// booking, takes its tickets and leaves the durable guard holding `render`'s body of it (the
    /// exact 201 a replay answers). A key already used gets its first answer back.
    pub async fn book(
        &self,
        who: Identity,
        request: &NewBookingRequest,
        fingerprint: &str,
        render: &(dyn Fn(&Booking) -> String + Sync),
    ) -> Result<BookingReply, AppError> {
        let event_id = request.event_id;
        if self.require_verified_email {
            let user = self.store.user_by_id(who.user_id).await?;
            if !user.is_some_and(|u| u.email_verified) {
                return Err(AppError::EmailNotVerified);
            }
        }
        let terms = match self.events.terms_of(event_id).await {
            Ok(terms) => terms,
            // A key already used is answered as before even if its event is gone since (the
            // cache, which would have replayed it, lost the key): the guard is asked before the
            // refusal stands.
            Err(refused) => {
                return match self.replay_from_guard(who, request, fingerprint).await {
                    Ok(Some(reply)) => Ok(reply),
                    Err(reused @ AppError::IdempotencyKeyReused) => Err(reused),
                    Ok(None) | Err(_) => Err(refused),
                };
            }
        };
        // Only a tallied event's listings read a tally; a one-shard event's bookings skip it.
        let tallied = availability::is_tallied(terms.shards);
        let availability = self.events.availability();
        if tallied {
            availability.begin(event_id).await;
        }
        let result = self
            .book_paid_or_not(who, request, fingerprint, render, terms)
            .await;
        if !tallied {
            return result;
        }
        // Our own booking; a replay of another request's changed nothing. A hold takes the
        // tickets but is no confirmed booking (yet).
        let confirmed = i64::from(!(self.checkout.is_some() && terms.price.0 > 0));
        let outcome = Outcome::of(&result, |reply| {
            (!reply.replayed).then_some((-i64::from(request.quantity), confirmed))
        });
        availability.end(event_id, outcome).await;
        result
    }

    /// A free event (or payments off) is booked at once; a paid one is held, with its intent
    /// made first (after the guard is asked, so a replay makes no new intent). A booking about
    /// to be refused for want of tickets first releases the event's lapsed holds.
    async fn book_paid_or_not(
        &self,
        who: Identity,
        request: &NewBookingRequest,
        fingerprint: &str,
        render: &(dyn Fn(&Booking) -> String + Sync),
        terms: super::BookingTerms,
    ) -> Result<BookingReply, AppError> {
        // One id for every try: if a try landed but its answer was lost, the next one finds the
        // guard pointing at this very booking and answers as the first response, not a replay.
        let id = BookingId::new();
        let checkout = self.checkout.as_ref();
        let hold = match checkout {
            Some(checkout) if terms.price.0 > 0 => {
                if let Some(reply) = self.replay_from_guard(who, request, fingerprint).await? {
                    return Ok(reply);
                }
                let total = terms.price.times(request.quantity);
                Some(checkout.open_payment(id, total).await?)
            }
            _ => None,
        };
        let mut result = self
            .book_tries(id, who, request, fingerprint, render, terms, hold.as_ref())
            .await;
        if let (Err(AppError::InsufficientTickets), Some(checkout)) = (&result, checkout) {
            if checkout
                .release_lapsed(request.event_id, terms.shards)
                .await
                // A release that fails (the provider or the store down) leaves the refusal.
                .unwrap_or_else(|e| {
                    tracing::warn!(error = %e, "could not release lapsed holds on demand");
                    false
                })
            {
                result = self
                    .book_tries(id, who, request, fingerprint, render, terms, hold.as_ref())
                    .await;
            }
        }
        if let (Err(_), Some(checkout), Some(payment)) = (&result, checkout, &hold) {
            checkout.abandon_payment(id, payment).await;
        }
        result
    }

    /// The booking transaction, retried through contention and re-planned across shards.
    #[allow(clippy::too_many_arguments)]
    async fn book_tries(
        &self,
        id: BookingId,
        who: Identity,
        request: &NewBookingRequest,
        fingerprint: &str,
        render: &(dyn Fn(&Booking) -> String + Sync),
        mut terms: super::BookingTerms,
        hold: Option<&Payment>,
    ) -> Result<BookingReply, AppError> {
        let event_id = request.event_id;
        // First a shard at random, without reading any counter; the counters only when it
        // could not serve the booking.
        let first = rand::rng().random_range(0..usize::from(terms.shards.max(1)));
        let mut allocation = vec![ShardTake::new(first, request.quantity)];
        let mut tries = 0;
        loop {
            tries += 1;
            let attempt = self.attempt(
                id,
                who,
                request,
                fingerprint,
                terms,
                &allocation,
                render,
                hold,
            );
            match self.store.book(&attempt).await {
                Ok(BookOutcome::Created) => {
                    return Ok(BookingReply {
                        body: attempt.response_body,
                        replayed: false,
                    })
                }
                // Our own earlier attempt landed although its answer was lost: not a replay.
                Ok(BookOutcome::Replayed {
                    booking_id,
                    response_body,
                }) => {
                    return Ok(BookingReply {
                        body: response_body,
                        replayed: booking_id != id,
                    })
                }
                // The shard(s) tried lack the quantity; the event as a whole may not.
                Err(StoreError::InsufficientTickets) if terms.shards > 1 => {
                    let inventory = match self
                        .store
                        .inventory_snapshot(event_id, terms.shards)
                        .await
                    {
                        Ok(inventory) => inventory,
                        // A write in flight on a shard: read again after a pause.
                        Err(StoreError::Contention(reason)) if tries < MAX_ATTEMPTS => {
                            tracing::debug!(reason = %reason.chain(), tries, "shard snapshot met contention; retrying");
                            metric::contention_retry();
                            backoff(tries).await;
                            continue;
                        }
                        Err(other) => return Err(other.into()),
                    };
                    match inventory.plan(request.quantity, rand::rng().random::<u32>() as usize) {
                        None => return Err(StoreError::InsufficientTickets.into()),
                        Some(plan) if tries < MAX_ATTEMPTS => allocation = plan,
                        // Enough tickets, but others kept taking them first: retryable.
                        Some(_) => {
                            return Err(AppError::unavailable(StoreError::Contention(
                                "the shards kept changing under the booking".into(),
                            )))
                        }
                    }
                }
                Err(StoreError::TermsChanged) if tries < MAX_ATTEMPTS => {
                    terms = self.events.fresh_terms_of(event_id).await?;
                }
                Err(StoreError::Contention(reason)) if tries < MAX_ATTEMPTS => {
                    tracing::debug!(reason = %reason.chain(), tries, "booking met contention; retrying");
                    metric::contention_retry();
                    backoff(tries).await;
                }
                Err(contended @ StoreError::Contention(_)) => {
                    // The 503's cause (logged once by the finalize layer) is the last conflict.
                    tracing::warn!(tries, "booking still contended after retries");
                    return Err(AppError::unavailable(contended));
                }
                Err(other) => return Err(other.into()),
            }
        }
    }

    /// The booking one try writes, with its exact 201 body.
    #[allow(clippy::too_many_arguments)]
    fn attempt(
        &self,
        id: BookingId,
        who: Identity,
        request: &NewBookingRequest,
        fingerprint: &str,
        terms: super::BookingTerms,
        allocation: &[ShardTake],
        render: &(dyn Fn(&Booking) -> String + Sync),
        hold: Option<&Payment>,
    ) -> BookingAttempt {
        let now = Utc::now();
        let price = terms.price;
        let hold_expires_at = hold
            .zip(self.checkout.as_ref())
            .map(|(_, checkout)| checkout.hold_ends(now));
        let booking = Booking {
            id,
            event_id: request.event_id,
            user_id: who.user_id,
            quantity: request.quantity,
            unit_price: price,
            total_price: price.times(request.quantity),
            status: if hold.is_some() {
                BookingStatus::Pending
            } else {
                BookingStatus::Confirmed
            },
            ticket_numbers: Booking::ticket_numbers(id, request.quantity),
            idempotency_key: request.idempotency_key.to_string(),
            created_at: now,
            cancelled_at: None,
            allocation: allocation.to_vec(),
            checked_in: Default::default(),
            hold_expires_at,
            confirmed_at: None,
            payment: hold.cloned(),
            refund: None,
        };
        let response_body = render(&booking);
        BookingAttempt {
            booking,
            fingerprint: fingerprint.to_owned(),
            response_body,
            now,
            guard_expires_at: now + chrono::Duration::from_std(IDEMPOTENCY_TTL).unwrap_or_default(),
            max_tickets_per_user: terms.max_tickets_per_user,
            // A hold's confirmation goes out when its payment confirms it.
            mail: hold
                .is_none()
                .then(|| OutboxMail::booking_confirmed(id, now)),
        }
    }

    /// The caller's bookings, newest first.
    pub async fn list(
        &self,
        who: Identity,
        status: Option<BookingStatus>,
        page: PageParams,
    ) -> Result<(Vec<Booking>, PageMeta), AppError> {
        let found = self
            .store
            .bookings_by_user(who.user_id, status, page)
            .await?;
        Ok((found.bookings, PageMeta::new(page, found.total)))
    }

    /// A booking for its owner or an admin; anyone else learns nothing (404).
    pub async fn get(&self, who: Identity, id: BookingId) -> Result<Booking, AppError> {
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

    /// Cancels a booking: a hold gives its tickets back (its intent cancelled); a confirmed one
    /// too, and a paid one is refunded in full, exactly once.
    pub async fn cancel(&self, who: Identity, id: BookingId) -> Result<Booking, AppError> {
        let booking = self.get(who, id).await?;
        match (booking.status_at(Utc::now()), &self.checkout) {
            (BookingStatus::Pending, Some(checkout)) => checkout.cancel_hold(&booking).await,
            (BookingStatus::Confirmed, _) => {
                let refund = booking.payment.as_ref().map(|_| Refund {
                    id: None,
                    amount: booking.total_price,
                    status: RefundStatus::Pending,
                });
                let cancelled = self.cancel_confirmed(&booking, refund.as_ref()).await?;
                Ok(match (&self.checkout, refund) {
                    (Some(checkout), Some(_)) => checkout.follow_up(cancelled).await.booking,
                    _ => cancelled,
                })
            }
            _ => Err(AppError::BookingNotCancellable),
        }
    }

    /// `confirmed → cancelled` with its tickets back (and its refund recorded, if paid).
    async fn cancel_confirmed(
        &self,
        booking: &Booking,
        refund: Option<&Refund>,
    ) -> Result<Booking, AppError> {
        let booking = booking.clone();
        let availability = self.events.availability();
        availability.begin(booking.event_id).await;
        let mut tries = 0;
        let result = loop {
            tries += 1;
            let now = Utc::now();
            let notice = OutboxMail::booking_cancelled(booking.id, now);
            match self
                .store
                .cancel_booking(&booking, now, Some(&notice), refund)
                .await
            {
                Ok(cancelled) => break Ok(cancelled),
                Err(StoreError::Contention(_)) if tries < MAX_ATTEMPTS => backoff(tries).await,
                Err(other) => break Err(AppError::from(other)),
            }
        };
        let outcome = Outcome::of(&result, |_| Some((i64::from(booking.quantity), -1)));
        availability.end(booking.event_id, outcome).await;
        result
    }
}
