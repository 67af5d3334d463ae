//! In-memory store: the embedded default of the local server and the fast unit-test backend.
//! One mutex makes every operation atomic, mirroring the DynamoDB transactions' conditions.

use super::*;
use crate::domain::inventory::split;
use crate::domain::lockout::LoginFailures;
use crate::domain::stats::{DaySales, ShardFigures};
use crate::domain::{BookingStatus, ShardCounts};
use std::sync::Mutex;

mod accounts;
mod checkout;
mod outbox;

#[derive(Default)]
struct Inner {
    users: HashMap<UserId, User>,
    emails: HashMap<Email, UserId>,
    /// Catalog entries (their counters unused: `inventory` holds them).
    events: HashMap<EventId, Event>,
    inventory: HashMap<EventId, Inventory>,
    /// Each deletion's record (event, time), as the catalog index keeps one.
    deletions: Vec<(EventId, DateTime<Utc>)>,
    catalog_version: u64,
    bookings: HashMap<BookingId, Booking>,
    /// Each user's bookings by status, in id (= time) order: the per-user index.
    bookings_by_user: HashMap<(UserId, BookingStatus), std::collections::BTreeSet<BookingId>>,
    guards: HashMap<(UserId, String), Guard>,
    sessions: HashMap<String, MemorySession>,
    /// Each user's pending and confirmed tickets per event.
    user_tickets: HashMap<(UserId, EventId), u32>,
    /// Login failures per address, with their version.
    login_failures: HashMap<String, (LoginFailures, u64)>,
    /// Per (event, shard): what the shards' figures hold on DynamoDB (their `available` and
    /// `confirmed` live in `inventory`).
    figures: HashMap<(EventId, u16), ShardFigures>,
    /// Per (event, shard, day): tickets and revenue cents confirmed that day.
    day_sales: HashMap<(EventId, u16, chrono::NaiveDate), (u32, i64)>,
    /// Each user's current verification and reset token.
    account_tokens: HashMap<(UserId, accounts::Purpose), crate::account_tokens::StoredToken>,
    /// The outbox, by mail id.
    mails: HashMap<String, outbox::MemoryMail>,
    /// When each booking with payment work left is next due for the sweep.
    payment_due: HashMap<BookingId, DateTime<Utc>>,
    /// Pending holds per event, oldest first.
    holds: std::collections::BTreeSet<(EventId, BookingId)>,
    /// Webhook event ids applied, with when.
    webhooks: HashMap<String, DateTime<Utc>>,
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

impl Inner {
    /// The guard of `key`, unless it has expired (TTL deletion lags in DynamoDB too).
    fn guard(&self, key: &(UserId, String), now: DateTime<Utc>) -> Option<StoredGuard> {
        self.guards
            .get(key)
            .filter(|g| g.expires_at > now)
            .map(|g| StoredGuard {
                booking_id: g.booking_id,
                fingerprint: g.fingerprint.clone(),
                response_body: g.response_body.clone(),
            })
    }

    /// The figures of a booking's first shard.
    fn figures_of(&mut self, booking: &Booking) -> &mut ShardFigures {
        let first = (booking.event_id, booking.takes()[0].shard);
        self.figures.entry(first).or_default()
    }

    /// A confirmation's tickets and revenue, counted on its day and its first shard.
    fn count_sale(&mut self, booking: &Booking, at: DateTime<Utc>) {
        self.figures_of(booking).gross.0 += booking.total_price.0;
        let first = booking.takes()[0].shard;
        let sales = self
            .day_sales
            .entry((booking.event_id, first, at.date_naive()))
            .or_default();
        sales.0 += booking.quantity;
        sales.1 += booking.total_price.0;
    }

    /// Moves a booking whose status changed from `was` to its new status's per-user list.
    fn move_in_index(&mut self, booking: &Booking, was: BookingStatus) {
        if let Some(list) = self.bookings_by_user.get_mut(&(booking.user_id, was)) {
            list.remove(&booking.id);
        }
        self.bookings_by_user
            .entry((booking.user_id, booking.status))
            .or_default()
            .insert(booking.id);
    }
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
    async fn create_user(&self, user: &User, mail: Option<&OutboxMail>) -> StoreResult<()> {
        let mut inner = self.lock();
        if inner.emails.contains_key(&user.email) {
            return Err(StoreError::EmailTaken);
        }
        inner.emails.insert(user.email.clone(), user.id);
        inner.users.insert(user.id, user.clone());
        inner.enqueue(mail);
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

    async fn login_failures(&self, address: &str) -> StoreResult<(LoginFailures, u64)> {
        Ok(self
            .lock()
            .login_failures
            .get(address)
            .cloned()
            .unwrap_or_default())
    }

    async fn put_login_failures(
        &self,
        address: &str,
        failures: &LoginFailures,
        version: u64,
        mail: Option<&OutboxMail>,
    ) -> StoreResult<()> {
        let mut inner = self.lock();
        let stored = inner.login_failures.get(address).map_or(0, |(_, v)| *v);
        if stored != version {
            return Err(StoreError::Contention(
                "another login failure was recorded meanwhile".into(),
            ));
        }
        inner
            .login_failures
            .insert(address.to_owned(), (failures.clone(), version + 1));
        inner.enqueue(mail);
        Ok(())
    }

    async fn clear_login_failures(&self, address: &str) -> StoreResult<()> {
        self.lock().login_failures.remove(address);
        Ok(())
    }

    async fn set_account_token(
        &self,
        user: UserId,
        purpose: TokenPurpose,
        token: &StoredToken,
    ) -> StoreResult<()> {
        self.lock().set_account_token(user, purpose, token)
    }

    async fn verify_email(
        &self,
        user: UserId,
        hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<User> {
        self.lock().verify_email(user, hash, now)
    }

    async fn reset_password(
        &self,
        user: UserId,
        address: &str,
        hash: &str,
        password_hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<User> {
        self.lock()
            .reset_password(user, address, hash, password_hash, now)
    }

    async fn change_password(
        &self,
        user: UserId,
        current_hash: &str,
        password_hash: &str,
    ) -> StoreResult<User> {
        self.lock()
            .change_password(user, current_hash, password_hash)
    }
}

#[async_trait]
impl EventStore for MemoryStore {
    async fn create_event(&self, event: &Event) -> StoreResult<()> {
        let mut inner = self.lock();
        let shards = split(event.total_tickets, event.inventory_shards)
            .into_iter()
            .map(|available| ShardCounts {
                available,
                confirmed: 0,
            })
            .collect();
        inner.inventory.insert(event.id, Inventory { shards });
        inner.events.insert(event.id, event.clone());
        inner.catalog_version += 1;
        Ok(())
    }

    async fn event_by_id(&self, id: EventId) -> StoreResult<Option<Event>> {
        let inner = self.lock();
        Ok(inner
            .events
            .get(&id)
            .filter(|e| e.deleted_at.is_none())
            .map(|e| e.clone().with_inventory(&inner.inventory[&id])))
    }

    async fn catalog_version(&self) -> StoreResult<u64> {
        Ok(self.lock().catalog_version)
    }

    async fn catalog_changes(
        &self,
        since: Option<DateTime<Utc>>,
    ) -> StoreResult<Vec<CatalogChange>> {
        let inner = self.lock();
        let after = |at: DateTime<Utc>| since.is_none_or(|since| at >= since);
        let kept_from = Utc::now() - DELETIONS_KEPT;
        let mut changed: Vec<CatalogChange> = inner
            .events
            .values()
            .filter(|e| e.deleted_at.is_none() && after(e.updated_at))
            .map(|e| {
                CatalogChange::Written(Event {
                    // Catalog entries carry no counters, as on DynamoDB.
                    available_tickets: 0,
                    confirmed_bookings: 0,
                    ..e.clone()
                })
            })
            .chain(
                inner
                    .deletions
                    .iter()
                    .filter(|(_, at)| *at >= kept_from && after(*at))
                    .map(|&(id, at)| CatalogChange::Deleted { id, at }),
            )
            .collect();
        changed.sort_by_key(|change| (change.at(), change.id()));
        Ok(changed)
    }

    async fn catalog_by_date(
        &self,
        statuses: StatusFilter,
        order: SortOrder,
        count: usize,
    ) -> StoreResult<Vec<Event>> {
        let inner = self.lock();
        let mut live: Vec<&Event> = inner
            .events
            .values()
            .filter(|e| e.deleted_at.is_none() && statuses.admits(e.status))
            .collect();
        live.sort_by_key(|e| (e.date, e.id));
        if order == SortOrder::Desc {
            live.reverse();
        }
        Ok(live
            .into_iter()
            .take(count)
            .map(|e| Event {
                available_tickets: 0,
                confirmed_bookings: 0,
                ..e.clone()
            })
            .collect())
    }

    async fn catalog_status_counts(&self) -> StoreResult<HashMap<EventStatus, u64>> {
        let mut counts = HashMap::new();
        for event in self
            .lock()
            .events
            .values()
            .filter(|e| e.deleted_at.is_none())
        {
            *counts.entry(event.status).or_default() += 1;
        }
        Ok(counts)
    }

    async fn inventories(
        &self,
        events: &[(EventId, u16)],
    ) -> StoreResult<HashMap<EventId, Inventory>> {
        let inner = self.lock();
        events
            .iter()
            .map(|(id, _)| {
                let inventory = inner.inventory.get(id).cloned().ok_or_else(|| {
                    StoreError::Corrupt(format!("no inventory for event {id}").into())
                })?;
                Ok((*id, inventory))
            })
            .collect()
    }

    async fn inventory_snapshot(&self, id: EventId, _shards: u16) -> StoreResult<Inventory> {
        // One lock: every shard as of one instant.
        self.lock()
            .inventory
            .get(&id)
            .cloned()
            .ok_or_else(|| StoreError::Corrupt(format!("no inventory for event {id}").into()))
    }

    async fn update_event_details(&self, event: &Event, was: EventStatus) -> StoreResult<()> {
        let mut inner = self.lock();
        let inner = &mut *inner;
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
            && inner.inventory[&event.id].confirmed() > 0
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
        stored.max_tickets_per_user = event.max_tickets_per_user;
        stored.updated_at = event.updated_at;
        inner.catalog_version += 1;
        Ok(())
    }

    async fn delete_event(&self, id: EventId, by: UserId, at: DateTime<Utc>) -> StoreResult<()> {
        let mut inner = self.lock();
        let inner = &mut *inner;
        let event = inner
            .events
            .get_mut(&id)
            .filter(|e| e.deleted_at.is_none())
            .ok_or(StoreError::NotFound)?;
        if inner.inventory[&id].confirmed() > 0 {
            return Err(StoreError::HasActiveBookings);
        }
        event.deleted_at = Some(at);
        event.deleted_by = Some(by);
        event.updated_at = at;
        inner.deletions.push((id, at));
        inner.catalog_version += 1;
        Ok(())
    }
}

#[async_trait]
impl BookingStore for MemoryStore {
    async fn book(&self, attempt: &BookingAttempt) -> StoreResult<BookOutcome> {
        let booking = &attempt.booking;
        let mut inner = self.lock();
        let inner = &mut *inner;
        let guard_key = (booking.user_id, booking.idempotency_key.clone());
        if let Some(guard) = inner.guard(&guard_key, attempt.now) {
            return guard.outcome(&attempt.fingerprint);
        }
        let event = inner
            .events
            .get(&booking.event_id)
            .filter(|e| e.deleted_at.is_none())
            .ok_or(StoreError::NotFound)?;
        if !event.is_bookable(attempt.now) {
            return Err(StoreError::EventNotBookable);
        }
        if event.price != booking.unit_price
            || event.max_tickets_per_user != attempt.max_tickets_per_user
        {
            return Err(StoreError::TermsChanged);
        }
        let counted = (booking.user_id, booking.event_id);
        let held = inner.user_tickets.get(&counted).copied().unwrap_or(0);
        let inventory = inner
            .inventory
            .get_mut(&booking.event_id)
            .ok_or(StoreError::NotFound)?;
        let takes = booking.takes();
        // Each shard on its own condition, as DynamoDB checks each shard's update.
        let short = takes.iter().any(|t| {
            inventory
                .shards
                .get(usize::from(t.shard))
                .is_none_or(|s| s.available < t.quantity)
        });
        if short {
            return Err(StoreError::InsufficientTickets);
        }
        if let Some(limit) = attempt.max_tickets_per_user {
            if held + booking.quantity > limit {
                return Err(StoreError::TicketLimitReached {
                    remaining: limit.saturating_sub(held),
                });
            }
        }
        *inner.user_tickets.entry(counted).or_default() += booking.quantity;
        for take in &takes {
            inventory.shards[usize::from(take.shard)].available -= take.quantity;
        }
        if booking.status == BookingStatus::Pending {
            let figures = inner.figures_of(booking);
            figures.held += booking.quantity;
            figures.pending += 1;
            inner.holds.insert((booking.event_id, booking.id));
            if let Some(expires) = booking.hold_expires_at {
                inner.payment_due.insert(booking.id, expires);
            }
        } else {
            inventory.shards[usize::from(takes[0].shard)].confirmed += 1;
            inner.count_sale(booking, booking.created_at);
        }
        inner.bookings.insert(booking.id, booking.clone());
        inner
            .bookings_by_user
            .entry((booking.user_id, booking.status))
            .or_default()
            .insert(booking.id);
        inner.guards.insert(
            guard_key,
            Guard {
                booking_id: booking.id,
                fingerprint: attempt.fingerprint.clone(),
                response_body: attempt.response_body.clone(),
                expires_at: attempt.guard_expires_at,
            },
        );
        inner.enqueue(attempt.mail.as_ref());
        Ok(BookOutcome::Created)
    }

    async fn booking_by_id(&self, id: BookingId) -> StoreResult<Option<Booking>> {
        Ok(self.lock().bookings.get(&id).cloned())
    }

    async fn idempotency_guard(
        &self,
        user: UserId,
        key: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<StoredGuard>> {
        Ok(self.lock().guard(&(user, key.to_owned()), now))
    }

    async fn bookings_by_user(
        &self,
        user: UserId,
        status: Option<BookingStatus>,
        page: PageParams,
    ) -> StoreResult<BookingPage> {
        let inner = self.lock();
        let statuses: Vec<BookingStatus> = match status {
            Some(one) => vec![one],
            None => BookingStatus::ALL.to_vec(),
        };
        let lists: Vec<_> = statuses
            .iter()
            .filter_map(|s| inner.bookings_by_user.get(&(user, *s)))
            .collect();
        let total = lists.iter().map(|l| l.len() as u64).sum();
        // Newest first across the statuses' lists, merged: only the page's offset and length
        // are visited.
        let mut merged: Vec<BookingId> = lists
            .iter()
            .flat_map(|l| {
                l.iter()
                    .rev()
                    .take((page.offset() + u64::from(page.limit)) as usize)
            })
            .copied()
            .collect();
        merged.sort_unstable_by(|a, b| b.cmp(a));
        let bookings = merged
            .into_iter()
            .skip(usize::try_from(page.offset()).unwrap_or(usize::MAX))
            .take(page.limit as usize)
            .filter_map(|id| inner.bookings.get(&id).cloned())
            .collect();
        Ok(BookingPage { bookings, total })
    }

    async fn cancel_booking(
        &self,
        booking: &Booking,
        now: DateTime<Utc>,
        mail: Option<&OutboxMail>,
        refund: Option<&Refund>,
    ) -> StoreResult<Booking> {
        let mut inner = self.lock();
        let inner = &mut *inner;
        let stored = inner
            .bookings
            .get_mut(&booking.id)
            .ok_or(StoreError::NotFound)?;
        if stored.status != BookingStatus::Confirmed || !stored.checked_in.is_empty() {
            return Err(StoreError::NotCancellable);
        }
        let event = inner
            .events
            .get(&stored.event_id)
            .ok_or(StoreError::NotCancellable)?;
        if event.date <= now {
            return Err(StoreError::NotCancellable);
        }
        let inventory = inner
            .inventory
            .get_mut(&stored.event_id)
            .ok_or(StoreError::NotCancellable)?;
        let takes = stored.takes();
        for take in &takes {
            inventory.shards[usize::from(take.shard)].available += take.quantity;
        }
        inventory.shards[usize::from(takes[0].shard)].confirmed -= 1;
        stored.status = BookingStatus::Cancelled;
        stored.cancelled_at = Some(now);
        if let Some(refund) = refund {
            stored.refund = Some(refund.clone());
            inner.payment_due.insert(stored.id, now + FOLLOW_UP_AFTER);
        }
        let figures = inner
            .figures
            .entry((stored.event_id, takes[0].shard))
            .or_default();
        figures.cancelled += 1;
        if let Some(refund) = refund {
            figures.refunded.0 += refund.amount.0;
        }
        if let Some(held) = inner
            .user_tickets
            .get_mut(&(stored.user_id, stored.event_id))
        {
            *held = held.saturating_sub(stored.quantity);
        }
        let cancelled = stored.clone();
        inner.move_in_index(&cancelled, BookingStatus::Confirmed);
        inner.enqueue(mail);
        Ok(cancelled)
    }

    async fn check_in(
        &self,
        id: BookingId,
        number: u8,
        now: DateTime<Utc>,
    ) -> StoreResult<Booking> {
        let mut inner = self.lock();
        let booking = inner.bookings.get_mut(&id).ok_or(StoreError::NotFound)?;
        if booking.status != BookingStatus::Confirmed {
            return Err(StoreError::TicketNotValid);
        }
        if let Some(at) = booking.checked_in_at(number) {
            return Err(StoreError::AlreadyCheckedIn { at });
        }
        booking.checked_in.insert(number.to_string(), now);
        let admitted = booking.clone();
        inner.figures_of(&admitted).checked_in += 1;
        Ok(admitted)
    }

    async fn confirmed_bookings(
        &self,
        event: EventId,
        _shards: u16,
        after: Option<BookingId>,
        count: usize,
    ) -> StoreResult<Vec<Booking>> {
        let inner = self.lock();
        let mut confirmed: Vec<&Booking> = inner
            .bookings
            .values()
            .filter(|b| b.event_id == event && b.status == BookingStatus::Confirmed)
            .filter(|b| after.is_none_or(|after| b.id > after))
            .collect();
        confirmed.sort_by_key(|b| b.id);
        Ok(confirmed.into_iter().take(count).cloned().collect())
    }

    async fn event_figures(
        &self,
        id: EventId,
        _shards: u16,
    ) -> StoreResult<(Vec<ShardFigures>, Vec<DaySales>)> {
        let inner = self.lock();
        let inventory = inner
            .inventory
            .get(&id)
            .ok_or_else(|| StoreError::Corrupt(format!("no inventory for event {id}").into()))?;
        let figures = (0u16..)
            .zip(&inventory.shards)
            .map(|(k, shard)| ShardFigures {
                available: shard.available,
                confirmed: shard.confirmed,
                ..inner.figures.get(&(id, k)).copied().unwrap_or_default()
            })
            .collect();
        let sales = inner
            .day_sales
            .iter()
            .filter(|((event, _, _), _)| *event == id)
            .map(|((_, _, day), (tickets, revenue))| DaySales {
                day: *day,
                tickets: *tickets,
                revenue: crate::money::Cents(*revenue),
            })
            .collect();
        Ok((figures, sales))
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
        now: DateTime<Utc>,
    ) -> StoreResult<Rotation> {
        let mut inner = self.lock();
        let Some(session) = inner
            .sessions
            .get_mut(family)
            .filter(|s| s.record.expires_at > now)
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
