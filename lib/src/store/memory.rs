//! In-memory store: the embedded default of the local server and the fast unit-test backend.
//! One mutex makes every operation atomic, mirroring the DynamoDB transactions' conditions.

use super::*;
use std::collections::HashMap;
use std::sync::Mutex;

#[derive(Default)]
struct Inner {
    users: HashMap<UserId, User>,
    emails: HashMap<Email, UserId>,
    events: HashMap<EventId, Event>,
    bookings: HashMap<BookingId, Booking>,
    guards: HashMap<(UserId, String), Guard>,
    sessions: HashMap<String, MemorySession>,
}

struct MemorySession {
    record: SessionRecord,
    revoked: bool,
}

struct Guard {
    booking_id: BookingId,
    fingerprint: String,
    response_body: String,
    expires_at: DateTime<Utc>,
}

#[derive(Default)]
pub struct MemoryStore {
    inner: Mutex<Inner>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding the lock can't leave a half-applied change (each operation
        // validates before it mutates), so a poisoned lock is safe to reuse.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[async_trait]
impl UserStore for MemoryStore {
    async fn create_user(&self, user: &User) -> StoreResult<()> {
        let mut inner = self.lock();
        if inner.emails.contains_key(&user.email) {
            return Err(StoreError::EmailTaken);
        }
        inner.emails.insert(user.email.clone(), user.id);
        inner.users.insert(user.id, user.clone());
        Ok(())
    }

    async fn user_by_id(&self, id: UserId) -> StoreResult<Option<User>> {
        Ok(self.lock().users.get(&id).cloned())
    }

    async fn user_by_email(&self, email: &Email) -> StoreResult<Option<User>> {
        let inner = self.lock();
        Ok(inner
            .emails
            .get(email)
            .and_then(|id| inner.users.get(id))
            .cloned())
    }

    async fn set_role(&self, id: UserId, role: Role) -> StoreResult<()> {
        let mut inner = self.lock();
        let user = inner.users.get_mut(&id).ok_or(StoreError::NotFound)?;
        user.role = role;
        Ok(())
    }
}

#[async_trait]
impl EventStore for MemoryStore {
    async fn create_event(&self, event: &Event) -> StoreResult<()> {
        self.lock().events.insert(event.id, event.clone());
        Ok(())
    }

    async fn event_by_id(&self, id: EventId) -> StoreResult<Option<Event>> {
        Ok(self
            .lock()
            .events
            .get(&id)
            .filter(|e| e.deleted_at.is_none())
            .cloned())
    }

    async fn events_by_status(
        &self,
        statuses: &[EventStatus],
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
    ) -> StoreResult<Vec<Event>> {
        let inner = self.lock();
        Ok(inner
            .events
            .values()
            .filter(|e| e.deleted_at.is_none() && statuses.contains(&e.status))
            .filter(|e| from.is_none_or(|f| e.date >= f) && to.is_none_or(|t| e.date <= t))
            .cloned()
            .collect())
    }

    async fn update_event_details(&self, event: &Event, was: EventStatus) -> StoreResult<()> {
        let mut inner = self.lock();
        let stored = inner
            .events
            .get_mut(&event.id)
            .filter(|e| e.deleted_at.is_none())
            .ok_or(StoreError::NotFound)?;
        if stored.status != was {
            return Err(StoreError::Contention(
                "the event's status changed meanwhile".into(),
            ));
        }
        if event.status == EventStatus::Draft
            && was != EventStatus::Draft
            && stored.confirmed_bookings > 0
        {
            return Err(StoreError::HasActiveBookings);
        }
        // Only the editable fields: the counters belong to the booking transactions.
        stored.name.clone_from(&event.name);
        stored.description.clone_from(&event.description);
        stored.venue.clone_from(&event.venue);
        stored.date = event.date;
        stored.price = event.price;
        stored.status = event.status;
        stored.updated_at = event.updated_at;
        Ok(())
    }

    async fn delete_event(&self, id: EventId, by: UserId, at: DateTime<Utc>) -> StoreResult<()> {
        let mut inner = self.lock();
        let event = inner
            .events
            .get_mut(&id)
            .filter(|e| e.deleted_at.is_none())
            .ok_or(StoreError::NotFound)?;
        if event.confirmed_bookings > 0 {
            return Err(StoreError::HasActiveBookings);
        }
        event.deleted_at = Some(at);
        event.deleted_by = Some(by);
        event.updated_at = at;
        Ok(())
    }
}

#[async_trait]
impl BookingStore for MemoryStore {
    async fn book(&self, attempt: &BookingAttempt) -> StoreResult<BookOutcome> {
        let booking = &attempt.booking;
        let mut inner = self.lock();
        let guard_key = (booking.user_id, booking.idempotency_key.clone());
        if let Some(guard) = inner
            .guards
            .get(&guard_key)
            .filter(|g| g.expires_at > attempt.now)
        {
            if guard.fingerprint != attempt.fingerprint {
                return Err(StoreError::IdempotencyKeyReused);
            }
            return Ok(BookOutcome::Replayed {
                booking_id: guard.booking_id,
                response_body: guard.response_body.clone(),
            });
        }
        let event = inner
            .events
            .get_mut(&booking.event_id)
            .filter(|e| e.deleted_at.is_none())
            .ok_or(StoreError::NotFound)?;
        if !event.is_bookable(attempt.now) {
            return Err(StoreError::EventNotBookable);
        }
        if event.price != booking.unit_price {
            return Err(StoreError::PriceChanged);
        }
        if event.available_tickets < booking.quantity {
            return Err(StoreError::InsufficientTickets);
        }
        event.available_tickets -= booking.quantity;
        event.confirmed_bookings += 1;
        inner.bookings.insert(booking.id, booking.clone());
        inner.guards.insert(
            guard_key,
            Guard {
                booking_id: booking.id,
                fingerprint: attempt.fingerprint.clone(),
                response_body: attempt.response_body.clone(),
                expires_at: attempt.guard_expires_at,
            },
        );
        Ok(BookOutcome::Created)
    }

    async fn booking_by_id(&self, id: BookingId) -> StoreResult<Option<Booking>> {
        Ok(self.lock().bookings.get(&id).cloned())
    }

    async fn bookings_by_user(&self, user: UserId) -> StoreResult<Vec<Booking>> {
        let mut list: Vec<Booking> = self
            .lock()
            .bookings
            .values()
            .filter(|b| b.user_id == user)
            .cloned()
            .collect();
        list.sort_by_key(|b| std::cmp::Reverse(b.id));
        Ok(list)
    }

    async fn cancel_booking(&self, booking: &Booking, now: DateTime<Utc>) -> StoreResult<Booking> {
        let mut inner = self.lock();
        let inner = &mut *inner;
        let stored = inner
            .bookings
            .get_mut(&booking.id)
            .ok_or(StoreError::NotFound)?;
        if stored.status != crate::domain::BookingStatus::Confirmed {
            return Err(StoreError::NotCancellable);
        }
        let event = inner
            .events
            .get_mut(&stored.event_id)
            .ok_or(StoreError::NotCancellable)?;
        if event.date <= now {
            return Err(StoreError::NotCancellable);
        }
        event.available_tickets += stored.quantity;
        event.confirmed_bookings -= 1;
        stored.status = crate::domain::BookingStatus::Cancelled;
        stored.cancelled_at = Some(now);
        Ok(stored.clone())
    }
}

#[async_trait]
impl SessionStore for MemoryStore {
    async fn open_session(&self, session: &SessionRecord) -> StoreResult<()> {
        let mut inner = self.lock();
        inner.sessions.insert(
            session.family.clone(),
            MemorySession {
                record: session.clone(),
                revoked: false,
            },
        );
        Ok(())
    }

    async fn rotate_session(
        &self,
        family: &str,
        presented: &str,
        next: &str,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<Rotation> {
        let mut inner = self.lock();
        let Some(session) = inner
            .sessions
            .get_mut(family)
            .filter(|s| s.record.expires_at > Utc::now())
        else {
            return Ok(Rotation::Unknown);
        };
        if session.revoked {
            return Ok(Rotation::Revoked);
        }
        if session.record.current_token != presented {
            return Ok(Rotation::Spent);
        }
        session.record.current_token = next.to_owned();
        session.record.expires_at = expires_at;
        Ok(Rotation::Rotated)
    }

    async fn revoke_session(&self, family: &str) -> StoreResult<()> {
        if let Some(session) = self.lock().sessions.get_mut(family) {
            session.revoked = true;
        }
        Ok(())
    }
}

#[async_trait]
impl Store for MemoryStore {
    async fn ping(&self) -> StoreResult<()> {
        Ok(())
    }
    fn backend(&self) -> &'static str {
        "memory"
    }
}
