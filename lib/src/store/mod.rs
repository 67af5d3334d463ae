//! Storage behind small traits, with a DynamoDB implementation (`dynamo`) and an in-memory one
//! (`memory`). Both pass the same behavioural suite (`tests/tests/api/store_contract.rs`).

pub mod dynamo;
pub mod memory;
pub mod table;

use crate::account_tokens::{StoredToken, TokenPurpose};
use crate::cause::Cause;
use crate::domain::ids::{BookingId, EventId, UserId};
use crate::domain::lockout::LoginFailures;
use crate::domain::mail::{LeasedMail, OutboxMail};
use crate::domain::payment::{Payment, Refund};
use crate::domain::stats::{DaySales, ShardFigures};
use crate::domain::{
    Booking, BookingStatus, Email, Event, EventStatus, Inventory, PageParams, Role, SortOrder,
    StatusFilter, User,
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::collections::HashMap;

pub use dynamo::DynamoStore;
pub use memory::MemoryStore;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    #[error("email taken")]
    EmailTaken,
    /// The shards the booking draws from lack its quantity (with one shard: the event does).
    #[error("insufficient tickets")]
    InsufficientTickets,
    #[error("event not bookable")]
    EventNotBookable,
    #[error("booking not cancellable")]
    NotCancellable,
    #[error("event has active bookings")]
    HasActiveBookings,
    #[error("idempotency key reused with a different request")]
    IdempotencyKeyReused,
    /// The event's terms (its price or its `maxTicketsPerUser`) are not the ones the booking was
    /// made on: they changed since they were read.
    #[error("event terms changed")]
    TermsChanged,
    /// The ticket was admitted before, at this time.
    #[error("ticket already checked in")]
    AlreadyCheckedIn { at: DateTime<Utc> },
    /// An account token that is not the user's current one for its purpose, or has expired.
    #[error("invalid token")]
    InvalidToken,
    /// A ticket of a booking that is not confirmed.
    #[error("ticket not valid")]
    TicketNotValid,
    /// The booking would give its user more of the event's tickets than its limit.
    #[error("ticket limit reached")]
    TicketLimitReached { remaining: u32 },
    /// The booking is not in the status a checkout step requires any more (another step got
    /// there first): re-read it and decide again.
    #[error("booking status changed")]
    StatusChanged,
    /// Transient contention (transaction conflict, throttling): worth retrying.
    #[error("contention")]
    Contention(#[source] Cause),
    /// The store can't be reached or answered with a server error.
    #[error("store unavailable")]
    Unavailable(#[source] Cause),
    /// The SDK refused to build a request: a bug in this code, not in the data.
    #[error("malformed request")]
    Request(#[source] Cause),
    /// An item that does not decode: a bug or a manual edit.
    #[error("corrupt item")]
    Corrupt(#[source] Cause),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Everything one booking writes atomically.
#[derive(Debug, Clone)]
pub struct BookingAttempt {
    pub booking: Booking,
    /// Fingerprint of the request body, kept in the durable idempotency guard.
    pub fingerprint: String,
    /// The exact 201 body, kept in the guard so a replay is byte-for-byte the same.
    pub response_body: String,
    pub now: DateTime<Utc>,
    /// When the guard stops being honoured (24 h after the booking).
    pub guard_expires_at: DateTime<Utc>,
    /// The event's `maxTicketsPerUser` as the booking read it: the booking is conditioned on
    /// it (a changed one is `TermsChanged`), and on the user's tickets staying within it.
    pub max_tickets_per_user: Option<u32>,
    /// The confirmation mail of a booking that is confirmed when made, written with it.
    pub mail: Option<OutboxMail>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum BookOutcome {
    Created,
    /// The key was used before with the same body: the original answer.
    Replayed {
        booking_id: BookingId,
        response_body: String,
    },
}

/// A durable idempotency guard that is still honoured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredGuard {
    pub booking_id: BookingId,
    pub fingerprint: String,
    /// The exact 201 body of the booking it guards.
    pub response_body: String,
}

impl StoredGuard {
    /// What a request with `fingerprint` gets from this guard: the original answer, or a reuse
    /// error for a different body.
    pub fn outcome(self, fingerprint: &str) -> StoreResult<BookOutcome> {
        if self.fingerprint != fingerprint {
            return Err(StoreError::IdempotencyKeyReused);
        }
        Ok(BookOutcome::Replayed {
            booking_id: self.booking_id,
            response_body: self.response_body,
        })
    }
}

/// One page of a user's bookings, and how many the whole list (under its filter) holds.
#[derive(Debug, Clone, PartialEq)]
pub struct BookingPage {
    pub bookings: Vec<Booking>,
    pub total: u64,
}

#[async_trait]
pub trait UserStore: Send + Sync {
    /// Fails with `EmailTaken` when the email is already registered, also under a race. The
    /// account's first mail (its verification), if any, is written in the same transaction.
    async fn create_user(&self, user: &User, mail: Option<&OutboxMail>) -> StoreResult<()>;
    async fn user_by_id(&self, id: UserId) -> StoreResult<Option<User>>;
    async fn user_by_email(&self, email: &Email) -> StoreResult<Option<User>>;
    async fn set_role(&self, id: UserId, role: Role) -> StoreResult<()>;
    /// An address's recent login failures and lock (empty when none), with the version the next
    /// write must find. Read consistently: every instance sees one count.
    async fn login_failures(&self, address: &str) -> StoreResult<(LoginFailures, u64)>;
    /// Writes an address's failures on condition that the stored version is still `version`
    /// (else `Contention`: re-read and try again), kept until they mean nothing; `mail` (the
    /// lock notice of the failure that locks) in the same transaction.
    async fn put_login_failures(
        &self,
        address: &str,
        failures: &LoginFailures,
        version: u64,
        mail: Option<&OutboxMail>,
    ) -> StoreResult<()>;
    /// Forgets an address's failures (a successful login).
    async fn clear_login_failures(&self, address: &str) -> StoreResult<()>;
    /// Makes `token` the user's one token for `purpose` (an earlier one stops working);
    /// `NotFound` without such a user.
    async fn set_account_token(
        &self,
        user: UserId,
        purpose: TokenPurpose,
        token: &StoredToken,
    ) -> StoreResult<()>;
    /// Marks the address verified, spending the verification token whose hash is `hash` by one
    /// conditional write: `InvalidToken` unless it is the current one and unexpired at `now`.
    async fn verify_email(&self, user: UserId, hash: &str, now: DateTime<Utc>)
        -> StoreResult<User>;
    /// Sets a new password by the reset token whose hash is `hash` (spent by the same
    /// conditional write, else `InvalidToken`), ends every session (the session epoch moves on)
    /// and lifts any login lock of `address`, in one transaction.
    async fn reset_password(
        &self,
        user: UserId,
        address: &str,
        hash: &str,
        password_hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<User>;
    /// Replaces the password hash, on condition that it is still `current_hash` (else
    /// `Contention`: it changed meanwhile), and ends every session (the epoch moves on).
    async fn change_password(
        &self,
        user: UserId,
        current_hash: &str,
        password_hash: &str,
    ) -> StoreResult<User>;
}

/// The outbox's delivery side. A mail is due from its writing; a worker leases it (one
/// conditional write: of concurrent workers one gets it), sends it, and marks it done with a
/// write conditioned on still holding the lease. A lease that ends before that (a crash) makes
/// the mail due again, so nothing is lost.
#[async_trait]
pub trait MailStore: Send + Sync {
    /// Writes a mail on its own (a cause with no other write); an id already there is left as
    /// it is.
    async fn enqueue_mail(&self, mail: &OutboxMail) -> StoreResult<()>;
    /// Ids of up to `limit` mails due at `now` (pending, or leased by a worker whose lease has
    /// ended), oldest first per index partition: through the waiting-mail index, never a scan.
    async fn due_mails(&self, now: DateTime<Utc>, limit: usize) -> StoreResult<Vec<String>>;
    /// Leases mail `id` until `until` if it is due at `now`; `None` if it is done or another
    /// worker holds it.
    async fn lease_mail(
        &self,
        id: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> StoreResult<Option<LeasedMail>>;
    /// Marks a leased mail delivered (it leaves the index; the record expires in 30 days).
    /// `Contention` if the lease was lost meanwhile.
    async fn finish_mail(&self, mail: &LeasedMail, now: DateTime<Utc>) -> StoreResult<()>;
    /// Gives a leased mail back, due again at `due` (a failed delivery).
    async fn retry_mail(&self, mail: &LeasedMail, due: DateTime<Utc>) -> StoreResult<()>;
}

/// How long a delivered mail's record is kept (then TTL removes it).
pub const MAILS_KEPT: chrono::Duration = chrono::Duration::days(30);

/// How long a deletion stays readable through `catalog_changes` (its record then expires): a
/// projection that last looked longer ago than this reloads instead of reading changes.
pub const DELETIONS_KEPT: chrono::Duration = chrono::Duration::hours(24);

/// One entry of the catalog index, oldest write first.
#[derive(Debug, Clone, PartialEq)]
pub enum CatalogChange {
    /// A live event's catalog entry as last written (counters not filled).
    Written(Event),
    /// An event deleted at `at`: a deleted event leaves the index, and this record of its
    /// deletion stays for `DELETIONS_KEPT`.
    Deleted { id: EventId, at: DateTime<Utc> },
}

impl CatalogChange {
    pub fn id(&self) -> EventId {
        match self {
            CatalogChange::Written(event) => event.id,
            CatalogChange::Deleted { id, .. } => *id,
        }
    }

    /// The live event's entry, if this is one.
    pub fn written(self) -> Option<Event> {
        match self {
            CatalogChange::Written(event) => Some(event),
            CatalogChange::Deleted { .. } => None,
        }
    }

    pub fn at(&self) -> DateTime<Utc> {
        match self {
            CatalogChange::Written(event) => event.updated_at,
            CatalogChange::Deleted { at, .. } => *at,
        }
    }
}

/// Events are a catalog item (what listings show and index) apart from their inventory (the
/// counters, split over `inventory_shards` items): bookings write only inventory, so they never
/// touch a listing index or invalidate a cached listing.
#[async_trait]
pub trait EventStore: Send + Sync {
    /// The catalog item, its shards (the tickets split evenly) and a catalog version bump, in
    /// one transaction.
    async fn create_event(&self, event: &Event) -> StoreResult<()>;
    /// `None` for unknown and soft-deleted events; the counters are the shards' sums.
    async fn event_by_id(&self, id: EventId) -> StoreResult<Option<Event>>;
    /// Renewed by every catalog write (create, update, delete), in the same transaction.
    async fn catalog_version(&self) -> StoreResult<u64>;
    /// Catalog entries written at or after `since` (all when `None`), oldest write first, and
    /// the deletions of the last `DELETIONS_KEPT` at or after it (so a projection can drop
    /// them); deleted events themselves are not in it. Through the catalog index, never a scan.
    async fn catalog_changes(
        &self,
        since: Option<DateTime<Utc>>,
    ) -> StoreResult<Vec<CatalogChange>>;
    /// The first `count` live events `statuses` admits, by date (ties by id) in `order`:
    /// through the catalog-by-date index, reading about `count` entries whatever the catalog's
    /// size — what a cold instance serves while its projection loads. Counters are not filled.
    async fn catalog_by_date(
        &self,
        statuses: StatusFilter,
        order: SortOrder,
        count: usize,
    ) -> StoreResult<Vec<Event>>;
    /// Live events per status, kept by every catalog write in its own transaction.
    async fn catalog_status_counts(&self) -> StoreResult<HashMap<EventStatus, u64>>;
    /// The inventories of just these events (id, shard count), read consistently.
    async fn inventories(
        &self,
        events: &[(EventId, u16)],
    ) -> StoreResult<HashMap<EventId, Inventory>>;
    /// All of one event's shards as of a single instant (a transactional read), so a booking
    /// re-planning over them never sums counts taken at different moments: separate reads, with
    /// a cancel landing on a shard already read and a booking on one not yet read, can add up
    /// to fewer tickets than the event ever had.
    async fn inventory_snapshot(&self, id: EventId, shards: u16) -> StoreResult<Inventory>;
    /// Writes the editable fields (never the counters) to the catalog item and the shards'
    /// copies of the booking conditions, on condition that the stored status is still `was`
    /// (else `Contention`: the caller re-reads), and for a move to draft that no confirmed
    /// booking stands (`HasActiveBookings`); `NotFound` if deleted meanwhile.
    async fn update_event_details(&self, event: &Event, was: EventStatus) -> StoreResult<()>;
    /// Soft delete, conditioned on no confirmed bookings (`HasActiveBookings`).
    async fn delete_event(&self, id: EventId, by: UserId, at: DateTime<Utc>) -> StoreResult<()>;
}

#[async_trait]
pub trait BookingStore: Send + Sync {
    /// One atomic step: take the booking's quantity from the shards of its `allocation` (each
    /// on condition of enough tickets there, the event published, future, not deleted and still
    /// at the booking's unit price), write the booking, write the durable idempotency guard.
    async fn book(&self, attempt: &BookingAttempt) -> StoreResult<BookOutcome>;
    async fn booking_by_id(&self, id: BookingId) -> StoreResult<Option<Booking>>;
    /// The guard of a user's idempotency key, if one is still honoured at `now` (read
    /// consistently): what decides a replay when the cache cannot.
    async fn idempotency_guard(
        &self,
        user: UserId,
        key: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<StoredGuard>>;
    /// One page of the user's bookings (of one status, or all), newest first, through a per-user
    /// index, with the total from per-user counters: the cost is the page's offset and length,
    /// never the user's whole history.
    async fn bookings_by_user(
        &self,
        user: UserId,
        status: Option<BookingStatus>,
        page: PageParams,
    ) -> StoreResult<BookingPage>;
    /// One atomic step: `confirmed → cancelled`, the tickets back to the shards they came from
    /// and `mail` (the cancellation notice); a paid booking's `refund` (pending) recorded in the
    /// same write, queued for the payment sweep until the provider accepts it.
    /// `NotCancellable` if not confirmed any more or the event has started.
    async fn cancel_booking(
        &self,
        booking: &Booking,
        now: DateTime<Utc>,
        mail: Option<&OutboxMail>,
        refund: Option<&Refund>,
    ) -> StoreResult<Booking>;
    /// Admits ticket `number` of booking `id` at `now`: one conditional write, so of many
    /// scanners sending it at once one admits it and the others get `AlreadyCheckedIn` with the
    /// first scan's time; `TicketNotValid` unless the booking is confirmed. A booking with an
    /// admitted ticket can no longer be cancelled (`NotCancellable`).
    async fn check_in(&self, id: BookingId, number: u8, now: DateTime<Utc>)
        -> StoreResult<Booking>;
    /// The event's next `count` confirmed bookings by id after `after` (from the first when
    /// `None`), merged from its `shards` attendee partitions: reads about `count` + K items.
    async fn confirmed_bookings(
        &self,
        event: EventId,
        shards: u16,
        after: Option<BookingId>,
        count: usize,
    ) -> StoreResult<Vec<Booking>>;
    /// What each of the event's `shards` holds towards its figures, and the shards' sales by
    /// day: K consistent item reads and K queries, whatever the number of bookings.
    async fn event_figures(
        &self,
        id: EventId,
        shards: u16,
    ) -> StoreResult<(Vec<ShardFigures>, Vec<DaySales>)>;
}

/// How a checkout's hold moves on: each is one atomic step conditioned on the status it leaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HoldStep {
    /// `pending → confirmed` (its payment authorised): the tickets stay taken and count as
    /// sold; the confirmation mail is written with it.
    Confirm,
    /// `expired → confirmed` (a late authorisation): the tickets are taken again, each shard on
    /// condition of enough there (else `InsufficientTickets`).
    Retake,
    /// `pending → expired`: the hold lapsed (`expiresAt` ≤ now); its tickets go back.
    Expire,
    /// `pending → cancelled` by its owner or a cancelled intent; its tickets go back.
    Cancel,
}

/// Checkout: holds moving on, payment records, the sweep's queue and webhook ids.
#[async_trait]
pub trait CheckoutStore: Send + Sync {
    /// Applies `step` to the booking (its stored status must be the one the step leaves, else
    /// `StatusChanged`), with the tickets, counters, figures, indexes and `mail` in the same
    /// transaction; `payment` is recorded with it. Returns the booking as written.
    async fn move_hold(
        &self,
        booking: &Booking,
        step: HoldStep,
        payment: &Payment,
        now: DateTime<Utc>,
        mail: Option<&OutboxMail>,
    ) -> StoreResult<Booking>;
    /// Records a booking's payment and refund, on condition that its stored payment status is
    /// still `booking`'s (else `StatusChanged`), and when the sweep should look at it next
    /// (`None`: nothing left to do). One conditional write on the booking alone.
    async fn record_payment(
        &self,
        booking: &Booking,
        payment: &Payment,
        refund: Option<&Refund>,
        next_due: Option<DateTime<Utc>>,
    ) -> StoreResult<Booking>;
    /// Up to `limit` bookings whose payment work is due at `now` (lapsed holds, confirmations
    /// not captured yet, refunds and voids not accepted yet), oldest first: through the sparse
    /// queue index, never a scan.
    async fn payment_work_due(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> StoreResult<Vec<BookingId>>;
    /// Up to `limit` of the event's pending holds, oldest first (from its `shards` hold
    /// partitions): what a booking refused for want of tickets releases first if lapsed.
    async fn event_holds(
        &self,
        event: EventId,
        shards: u16,
        limit: usize,
    ) -> StoreResult<Vec<Booking>>;
    /// Marks a webhook event applied (kept `WEBHOOKS_KEPT`); `false` if it was before.
    async fn remember_webhook(&self, event_id: &str, now: DateTime<Utc>) -> StoreResult<bool>;
}

/// When the sweep looks again at a booking whose step is done but whose provider call (a
/// capture, void or refund) may still be under way in the request that made it: both stores
/// queue it this far ahead.
pub const FOLLOW_UP_AFTER: chrono::Duration = chrono::Duration::seconds(30);

/// How long a webhook event's id is remembered: Stripe retries for up to 3 days.
pub const WEBHOOKS_KEPT: chrono::Duration = chrono::Duration::days(30);

/// A login's refresh-token family as the store keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    pub family: String,
    pub user: UserId,
    /// The id (`jti`) of the one refresh token of this family that may still be spent.
    pub current_token: String,
    pub expires_at: DateTime<Utc>,
}

/// What a refresh did to its family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rotation {
    /// The presented token was the current one; the new one replaced it.
    Rotated,
    /// The presented token was spent before: proven reuse.
    Spent,
    /// The family was revoked (logout, or an earlier reuse).
    Revoked,
    /// No such family (never opened, or expired).
    Unknown,
}

/// Sessions live in the store, so a cache flush logs nobody out and raises no false alarm.
#[async_trait]
pub trait SessionStore: Send + Sync {
    async fn open_session(&self, session: &SessionRecord) -> StoreResult<()>;
    /// One conditional write: if the family's current token is `presented` (and the family is
    /// neither revoked nor expired at `now`) it becomes `next` and the expiry moves to `expires_at`.
    /// Of concurrent rotations of one token exactly one is `Rotated`.
    async fn rotate_session(
        &self,
        family: &str,
        presented: &str,
        next: &str,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> StoreResult<Rotation>;
    /// Marks the family revoked; unknown families are left alone.
    async fn revoke_session(&self, family: &str) -> StoreResult<()>;
}

/// The whole store, as the services see it.
#[async_trait]
pub trait Store:
    UserStore + EventStore + BookingStore + SessionStore + MailStore + CheckoutStore
{
    /// A cheap round trip, for readiness checks.
    async fn ping(&self) -> StoreResult<()>;
    /// What backs this store, as readiness reports it (`dynamodb`, `memory`).
    fn backend(&self) -> &'static str;
}
