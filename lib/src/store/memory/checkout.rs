//! Checkout in memory: the same steps and conditions as the DynamoDB transactions.

use super::*;
use crate::domain::payment::{Payment, Refund};
use crate::store::{CheckoutStore, HoldStep};

#[async_trait]
impl CheckoutStore for MemoryStore {
    async fn move_hold(
        &self,
        booking: &Booking,
        step: HoldStep,
        payment: &Payment,
        now: DateTime<Utc>,
        mail: Option<&OutboxMail>,
    ) -> StoreResult<Booking> {
        let mut inner = self.lock();
        let inner = &mut *inner;
        let stored = inner
            .bookings
            .get(&booking.id)
            .cloned()
            .ok_or(StoreError::NotFound)?;
        let leaves = match step {
            HoldStep::Retake => BookingStatus::Expired,
            HoldStep::Confirm | HoldStep::Expire | HoldStep::Cancel => BookingStatus::Pending,
        };
        if stored.status != leaves {
            return Err(StoreError::StatusChanged);
        }
        if step == HoldStep::Expire
            && !crate::domain::payment::hold_lapsed(stored.hold_expires_at, now)
        {
            return Err(StoreError::StatusChanged);
        }
        let takes = stored.takes();
        let inventory = inner
            .inventory
            .get_mut(&stored.event_id)
            .ok_or(StoreError::NotFound)?;
        let mut moved = stored.clone();
        moved.payment = Some(payment.clone());
        match step {
            HoldStep::Confirm | HoldStep::Retake => {
                if step == HoldStep::Retake {
                    let event = inner.events.get(&stored.event_id);
                    if event.is_none_or(|e| e.deleted_at.is_some() || e.date <= now) {
                        return Err(StoreError::EventNotBookable);
                    }
                    let short = takes.iter().any(|t| {
                        inventory
                            .shards
                            .get(usize::from(t.shard))
                            .is_none_or(|s| s.available < t.quantity)
                    });
                    if short {
                        return Err(StoreError::InsufficientTickets);
                    }
                    for take in &takes {
                        inventory.shards[usize::from(take.shard)].available -= take.quantity;
                    }
                    *inner
                        .user_tickets
                        .entry((stored.user_id, stored.event_id))
                        .or_default() += stored.quantity;
                }
                inventory.shards[usize::from(takes[0].shard)].confirmed += 1;
                moved.status = BookingStatus::Confirmed;
                moved.confirmed_at = Some(now);
                let figures = inner.figures_of(&stored);
                if step == HoldStep::Confirm {
                    figures.held -= stored.quantity;
                    figures.pending -= 1;
                } else {
                    figures.expired -= 1;
                }
                inner.count_sale(&stored, now);
            }
            HoldStep::Expire | HoldStep::Cancel => {
                for take in &takes {
                    inventory.shards[usize::from(take.shard)].available += take.quantity;
                }
                if let Some(held) = inner
                    .user_tickets
                    .get_mut(&(stored.user_id, stored.event_id))
                {
                    *held = held.saturating_sub(stored.quantity);
                }
                let figures = inner.figures_of(&stored);
                figures.held -= stored.quantity;
                figures.pending -= 1;
                if step == HoldStep::Expire {
                    figures.expired += 1;
                    moved.status = BookingStatus::Expired;
                } else {
                    figures.cancelled += 1;
                    moved.status = BookingStatus::Cancelled;
                    moved.cancelled_at = Some(now);
                }
            }
        }
        inner.holds.remove(&(stored.event_id, stored.id));
        inner.payment_due.insert(stored.id, now + FOLLOW_UP_AFTER);
        inner.bookings.insert(moved.id, moved.clone());
        inner.move_in_index(&moved, stored.status);
        inner.enqueue(mail);
        Ok(moved)
    }

    async fn record_payment(
        &self,
        booking: &Booking,
        payment: &Payment,
        refund: Option<&Refund>,
        next_due: Option<DateTime<Utc>>,
    ) -> StoreResult<Booking> {
        let mut inner = self.lock();
        let stored = inner
            .bookings
            .get_mut(&booking.id)
            .ok_or(StoreError::NotFound)?;
        let was = stored.payment.as_ref().map(|p| p.status);
        if was != booking.payment.as_ref().map(|p| p.status)
            || stored.refund.as_ref().map(|r| r.status) != booking.refund.as_ref().map(|r| r.status)
        {
            return Err(StoreError::StatusChanged);
        }
        stored.payment = Some(payment.clone());
        stored.refund = refund.cloned();
        let recorded = stored.clone();
        match next_due {
            Some(due) => inner.payment_due.insert(booking.id, due),
            None => inner.payment_due.remove(&booking.id),
        };
        Ok(recorded)
    }

    async fn payment_work_due(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> StoreResult<Vec<BookingId>> {
        let inner = self.lock();
        let mut due: Vec<(DateTime<Utc>, BookingId)> = inner
            .payment_due
            .iter()
            .filter(|(_, at)| **at <= now)
            .map(|(id, at)| (*at, *id))
            .collect();
        due.sort();
        Ok(due.into_iter().take(limit).map(|(_, id)| id).collect())
    }

    async fn event_holds(
        &self,
        event: EventId,
        _shards: u16,
        limit: usize,
    ) -> StoreResult<Vec<Booking>> {
        let inner = self.lock();
        Ok(inner
            .holds
            .range((event, BookingId::from_bytes([0; 16]))..)
            .take_while(|(e, _)| *e == event)
            .take(limit)
            .filter_map(|(_, id)| inner.bookings.get(id).cloned())
            .collect())
    }

    async fn remember_webhook(&self, event_id: &str, now: DateTime<Utc>) -> StoreResult<bool> {
        let mut inner = self.lock();
        inner.webhooks.retain(|_, at| *at + WEBHOOKS_KEPT > now);
        Ok(inner.webhooks.insert(event_id.to_owned(), now).is_none())
    }
}
