//! DynamoDB's documented per-partition limits, modelled over any store. DynamoDB Local has none
//! (it serialises every request), so without this a test or benchmark can't see what caps an
//! on-sale in AWS. Figures, from the Amazon DynamoDB Developer Guide:
//!
//! - "Partitions and data distribution" / "Burst and adaptive capacity": one partition serves at
//!   most **3,000 read units and 1,000 write units per second**; past that, requests to it are
//!   throttled, whatever the table's capacity mode.
//! - "Read/write capacity mode": a write of up to 1 KB is 1 write unit; **a transactional write
//!   is 2**. A strongly consistent read of up to 4 KB is 1 read unit, an eventually consistent one
//!   half.
//! - "Global secondary indexes": every write that changes an item an index projects is also a
//!   write to the index's partition for the item's index key (1 write unit per KB).
//! - "Transaction conflict handling": a transaction that touches an item another transaction is
//!   writing at that moment is cancelled with `TransactionConflict`.
//!
//! A partition here is one item's key (DynamoDB may also split a hot key's partition, but never
//! one item across partitions) or one index key. Limits are token buckets refilled continuously,
//! holding one second of capacity. Refusals come back as DynamoDB's do through `DynamoStore`:
//! `StoreError::Contention` (throttling and conflicts alike are retryable).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;
use ticketing::domain::stats::{DaySales, ShardFigures};
use ticketing::domain::{
    Booking, BookingStatus, Event, EventStatus, Inventory, PageParams, SortOrder, StatusFilter,
};
use ticketing::ids::{BookingId, EventId, UserId};
use ticketing::store::{
    BookOutcome, BookingAttempt, BookingPage, BookingStore, CatalogChange, EventStore, Store,
    StoreError, StoreResult, StoredGuard,
};

/// Per-partition throughput, in units per second.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub write_units_per_sec: f64,
    pub read_units_per_sec: f64,
}

impl Limits {
    /// DynamoDB's: 1,000 WCU/s and 3,000 RCU/s per partition.
    pub const DYNAMODB: Limits = Limits {
        write_units_per_sec: 1_000.0,
        read_units_per_sec: 3_000.0,
    };

    /// The same limits times `factor` (tests scale them down so they bind within seconds).
    pub fn scaled(factor: f64) -> Self {
        Self {
            write_units_per_sec: Self::DYNAMODB.write_units_per_sec * factor,
            read_units_per_sec: Self::DYNAMODB.read_units_per_sec * factor,
        }
    }
}

/// Units per access, as the guide prices them.
const TRANSACTIONAL_WRITE: f64 = 2.0;
const WRITE: f64 = 1.0;
const CONSISTENT_READ: f64 = 1.0;
/// "A transactional read is 2 read units" (per item up to 4 KB).
const TRANSACTIONAL_READ: f64 = 2.0;
/// An index query reads ~4 KB per unit, eventually consistent (half a unit): about 16 of our
/// event items (~0.5 KB each) per read unit.
const EVENTS_PER_INDEX_READ_UNIT: f64 = 16.0;

struct Bucket {
    tokens: f64,
    at: Instant,
}

/// What the model refused, for tests and benchmarks to report.
#[derive(Debug, Default)]
pub struct Refusals {
    pub throttled: AtomicU64,
    pub conflicts: AtomicU64,
}

/// A store with DynamoDB's partition limits in front of it.
pub struct PartitionModelStore {
    inner: Arc<dyn Store>,
    limits: Limits,
    writes: Mutex<HashMap<String, Bucket>>,
    reads: Mutex<HashMap<String, Bucket>>,
    in_transaction: Mutex<HashSet<String>>,
    pub refusals: Refusals,
    /// Items the event figures' reads returned (shards and days' sales), for benchmarks.
    pub figure_items_read: AtomicU64,
}

fn event_key(id: EventId) -> String {
    format!("EVENT#{id}")
}
fn shard_key(id: EventId, shard: u16) -> String {
    format!("INVENTORY#{id}#{shard}")
}
/// The catalog index's one partition (catalog writes only) and the catalog version item.
const CATALOG_INDEX: &str = "gsi1#CATALOG";
const CATALOG_BY_DATE_INDEX: &str = "gsi4#CATALOG";
const CATALOG_VERSION: &str = "CATALOG#VERSION";
fn bookings_index_key(user: UserId) -> String {
    format!("gsi2#BOOKINGS#{user}")
}
fn bookings_status_index_key(user: UserId, status: BookingStatus) -> String {
    format!("gsi3#BOOKINGS#{user}#{}", status.as_str())
}
/// The user's booking counts (beside the user item), which every booking and cancel updates.
fn booking_counts_key(user: UserId) -> String {
    format!("USER#{user}#BOOKINGCOUNTS")
}

fn throttled(partition: &str) -> StoreError {
    StoreError::Contention(
        format!("ThrottlingException (partition model): {partition} is past its limit").into(),
    )
}

impl PartitionModelStore {
    pub fn new(inner: Arc<dyn Store>, limits: Limits) -> Self {
        Self {
            inner,
            limits,
            writes: Mutex::default(),
            reads: Mutex::default(),
            in_transaction: Mutex::default(),
            refusals: Refusals::default(),
            figure_items_read: AtomicU64::new(0),
        }
    }

    /// Takes `units` from each partition's bucket, all or none: a request DynamoDB throttles
    /// consumes nothing.
    fn consume(&self, reads: bool, costs: &[(String, f64)]) -> StoreResult<()> {
        let (buckets, rate) = if reads {
            (&self.reads, self.limits.read_units_per_sec)
        } else {
            (&self.writes, self.limits.write_units_per_sec)
        };
        let mut buckets = buckets.lock().expect("bucket lock");
        let now = Instant::now();
        for (partition, units) in costs {
            let bucket = buckets.entry(partition.clone()).or_insert(Bucket {
                tokens: rate,
                at: now,
            });
            let elapsed = now.duration_since(bucket.at).as_secs_f64();
            bucket.tokens = (bucket.tokens + elapsed * rate).min(rate);
            bucket.at = now;
            if bucket.tokens < *units {
                self.refusals.throttled.fetch_add(1, Ordering::Relaxed);
                return Err(throttled(partition));
            }
        }
        for (partition, units) in costs {
            if let Some(bucket) = buckets.get_mut(partition) {
                bucket.tokens -= units;
            }
        }
        Ok(())
    }

    /// Runs a transaction on `items`, cancelled with `TransactionConflict` if another
    /// transaction holds any of them.
    async fn transaction<T>(
        &self,
        items: &[String],
        run: impl std::future::Future<Output = StoreResult<T>>,
    ) -> StoreResult<T> {
        {
            let mut held = self.in_transaction.lock().expect("transaction lock");
            if items.iter().any(|item| held.contains(item)) {
                self.refusals.conflicts.fetch_add(1, Ordering::Relaxed);
                return Err(StoreError::Contention(
                    "TransactionConflict (partition model)".into(),
                ));
            }
            held.extend(items.iter().cloned());
        }
        let result = run.await;
        let mut held = self.in_transaction.lock().expect("transaction lock");
        for item in items {
            held.remove(item);
        }
        result
    }

    /// An event's shard count as stored (a write the store refuses costs nothing, so a
    /// missing event costs nothing here either).
    async fn shards_of(&self, id: EventId) -> StoreResult<Option<u16>> {
        Ok(self
            .inner
            .event_by_id(id)
            .await?
            .map(|e| e.inventory_shards))
    }

    /// A booking or cancel: one transaction, 2 units on each of its items (the shards it takes
    /// from, the booking, the guard, the user's ticket count of the event, its first shard's
    /// sales of the day) and 1 on each index partition it moves (the user's bookings, by status,
    /// the event's attendee partition of its first shard). The catalog item and its index are
    /// not touched.
    async fn inventory_write<T>(
        &self,
        booking: &Booking,
        others: &[String],
        run: impl std::future::Future<Output = StoreResult<T>>,
    ) -> StoreResult<T> {
        let mut items: Vec<String> = booking
            .takes()
            .iter()
            .map(|t| shard_key(booking.event_id, t.shard))
            .collect();
        items.extend(others.iter().cloned());
        items.push(booking_counts_key(booking.user_id));
        let first = booking.takes()[0].shard;
        items.push(format!(
            "USER#{}#TICKETS#{}",
            booking.user_id, booking.event_id
        ));
        items.push(format!(
            "SALES#{}#{first}#{}",
            booking.event_id,
            booking.created_at.date_naive()
        ));
        let mut costs: Vec<(String, f64)> = items
            .iter()
            .map(|k| (k.clone(), TRANSACTIONAL_WRITE))
            .collect();
        costs.push((bookings_index_key(booking.user_id), WRITE));
        costs.push((
            format!("gsi5#ATTENDEES#{}#{first}", booking.event_id),
            WRITE,
        ));
        // Its status index partition (a cancel moves it from the confirmed one, too).
        for status in BookingStatus::ALL {
            costs.push((bookings_status_index_key(booking.user_id, status), WRITE));
        }
        self.consume(false, &costs)?;
        self.transaction(&items, run).await
    }

    /// A catalog write: one transaction over the catalog item, every shard and the version
    /// item (2 units each), and 1 unit on the catalog index's partition.
    async fn catalog_write<T>(
        &self,
        id: EventId,
        shards: u16,
        run: impl std::future::Future<Output = StoreResult<T>>,
    ) -> StoreResult<T> {
        let mut items = vec![event_key(id), CATALOG_VERSION.to_owned()];
        items.extend((0..shards).map(|k| shard_key(id, k)));
        let mut costs: Vec<(String, f64)> = items
            .iter()
            .map(|k| (k.clone(), TRANSACTIONAL_WRITE))
            .collect();
        costs.push((CATALOG_INDEX.to_owned(), WRITE));
        costs.push((CATALOG_BY_DATE_INDEX.to_owned(), WRITE));
        self.consume(false, &costs)?;
        self.transaction(&items, run).await
    }
}

#[async_trait]
impl EventStore for PartitionModelStore {
    async fn create_event(&self, event: &Event) -> StoreResult<()> {
        self.catalog_write(
            event.id,
            event.inventory_shards,
            self.inner.create_event(event),
        )
        .await
    }
    async fn event_by_id(&self, id: EventId) -> StoreResult<Option<Event>> {
        self.consume(true, &[(event_key(id), CONSISTENT_READ)])?;
        let event = self.inner.event_by_id(id).await?;
        if let Some(event) = &event {
            let shards: Vec<(String, f64)> = (0..event.inventory_shards)
                .map(|k| (shard_key(id, k), CONSISTENT_READ))
                .collect();
            self.consume(true, &shards)?;
        }
        Ok(event)
    }
    async fn catalog_version(&self) -> StoreResult<u64> {
        self.consume(true, &[(CATALOG_VERSION.to_owned(), CONSISTENT_READ)])?;
        self.inner.catalog_version().await
    }
    async fn catalog_changes(
        &self,
        since: Option<DateTime<Utc>>,
    ) -> StoreResult<Vec<CatalogChange>> {
        let changes = self.inner.catalog_changes(since).await?;
        let units = (changes.len() as f64 / EVENTS_PER_INDEX_READ_UNIT).max(0.5);
        self.consume(true, &[(CATALOG_INDEX.to_owned(), units)])?;
        Ok(changes)
    }
    async fn catalog_by_date(
        &self,
        statuses: StatusFilter,
        order: SortOrder,
        count: usize,
    ) -> StoreResult<Vec<Event>> {
        let events = self.inner.catalog_by_date(statuses, order, count).await?;
        let units = (events.len() as f64 / EVENTS_PER_INDEX_READ_UNIT).max(0.5);
        self.consume(true, &[(CATALOG_BY_DATE_INDEX.to_owned(), units)])?;
        Ok(events)
    }
    async fn catalog_status_counts(&self) -> StoreResult<HashMap<EventStatus, u64>> {
        self.consume(true, &[(CATALOG_VERSION.to_owned(), CONSISTENT_READ)])?;
        self.inner.catalog_status_counts().await
    }
    async fn inventories(
        &self,
        events: &[(EventId, u16)],
    ) -> StoreResult<HashMap<EventId, Inventory>> {
        let costs: Vec<(String, f64)> = events
            .iter()
            .flat_map(|&(id, shards)| (0..shards).map(move |k| (shard_key(id, k), CONSISTENT_READ)))
            .collect();
        self.consume(true, &costs)?;
        self.inner.inventories(events).await
    }
    async fn inventory_snapshot(&self, id: EventId, shards: u16) -> StoreResult<Inventory> {
        let items: Vec<String> = (0..shards).map(|k| shard_key(id, k)).collect();
        let costs: Vec<(String, f64)> = items
            .iter()
            .map(|k| (k.clone(), TRANSACTIONAL_READ))
            .collect();
        self.consume(true, &costs)?;
        self.transaction(&items, self.inner.inventory_snapshot(id, shards))
            .await
    }
    async fn update_event_details(&self, event: &Event, was: EventStatus) -> StoreResult<()> {
        self.catalog_write(
            event.id,
            event.inventory_shards,
            self.inner.update_event_details(event, was),
        )
        .await
    }
    async fn delete_event(&self, id: EventId, by: UserId, at: DateTime<Utc>) -> StoreResult<()> {
        let shards = self.shards_of(id).await?.unwrap_or(0);
        self.catalog_write(id, shards, self.inner.delete_event(id, by, at))
            .await
    }
}

#[async_trait]
impl BookingStore for PartitionModelStore {
    async fn book(&self, attempt: &BookingAttempt) -> StoreResult<BookOutcome> {
        let booking = format!("BOOKING#{}", attempt.booking.id);
        let guard = format!(
            "GUARD#{}#{}",
            attempt.booking.user_id, attempt.booking.idempotency_key
        );
        self.inventory_write(
            &attempt.booking,
            &[booking, guard],
            self.inner.book(attempt),
        )
        .await
    }
    async fn booking_by_id(&self, id: BookingId) -> StoreResult<Option<Booking>> {
        self.inner.booking_by_id(id).await
    }
    async fn idempotency_guard(
        &self,
        user: UserId,
        key: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<StoredGuard>> {
        self.inner.idempotency_guard(user, key, now).await
    }
    async fn bookings_by_user(
        &self,
        user: UserId,
        status: Option<BookingStatus>,
        page: PageParams,
    ) -> StoreResult<BookingPage> {
        self.inner.bookings_by_user(user, status, page).await
    }
    async fn cancel_booking(
        &self,
        booking: &Booking,
        now: DateTime<Utc>,
        mail: Option<&ticketing::domain::mail::OutboxMail>,
        refund: Option<&ticketing::domain::payment::Refund>,
    ) -> StoreResult<Booking> {
        let item = format!("BOOKING#{}", booking.id);
        self.inventory_write(
            booking,
            &[item],
            self.inner.cancel_booking(booking, now, mail, refund),
        )
        .await
    }
    async fn check_in(
        &self,
        id: BookingId,
        number: u8,
        now: DateTime<Utc>,
    ) -> StoreResult<Booking> {
        // A consistent read of the booking, then one transaction: the booking and its first
        // shard's admission counter, 2 units each.
        let booking_key = format!("BOOKING#{id}");
        self.consume(true, &[(booking_key.clone(), CONSISTENT_READ)])?;
        let Some(booking) = self.inner.booking_by_id(id).await? else {
            return self.inner.check_in(id, number, now).await;
        };
        let items = [
            booking_key,
            shard_key(booking.event_id, booking.takes()[0].shard),
        ];
        let costs: Vec<(String, f64)> = items
            .iter()
            .map(|k| (k.clone(), TRANSACTIONAL_WRITE))
            .collect();
        self.consume(false, &costs)?;
        self.transaction(&items, self.inner.check_in(id, number, now))
            .await
    }
    async fn confirmed_bookings(
        &self,
        event: EventId,
        shards: u16,
        after: Option<BookingId>,
        count: usize,
    ) -> StoreResult<Vec<Booking>> {
        self.inner
            .confirmed_bookings(event, shards, after, count)
            .await
    }
    async fn event_figures(
        &self,
        id: EventId,
        shards: u16,
    ) -> StoreResult<(Vec<ShardFigures>, Vec<DaySales>)> {
        let (figures, days) = self.inner.event_figures(id, shards).await?;
        // One consistent read per shard, and each shard's sales partition queried.
        let costs: Vec<(String, f64)> = (0..shards)
            .map(|k| (shard_key(id, k), CONSISTENT_READ))
            .collect();
        self.consume(true, &costs)?;
        self.figure_items_read
            .fetch_add((figures.len() + days.len()) as u64, Ordering::Relaxed);
        Ok((figures, days))
    }
}

crate::delegate_accounts_and_mail!(PartitionModelStore);

#[async_trait]
impl Store for PartitionModelStore {
    fn backend(&self) -> &'static str {
        self.inner.backend()
    }

    async fn ping(&self) -> StoreResult<()> {
        self.inner.ping().await
    }
}

/// A whole app (router, services, an in-memory cache) on a fresh store behind DynamoDB's
/// partition limits, with one event of `tickets` tickets split over `shards` inventory shards;
/// the app, the model (for its counters), an admin's token and the event's id.
pub async fn sale_on_the_model(
    tickets: u32,
    shards: u16,
) -> (
    Arc<crate::TestApp>,
    Arc<PartitionModelStore>,
    String,
    String,
) {
    sale_on_the_model_with(tickets, shards, None).await
}

/// As [`sale_on_the_model`], with card payments through `provider` when given: each booking of
/// the (paid) event is then a checkout's hold.
pub async fn sale_on_the_model_with(
    tickets: u32,
    shards: u16,
    provider: Option<Arc<dyn ticketing::payments::PaymentProvider>>,
) -> (
    Arc<crate::TestApp>,
    Arc<PartitionModelStore>,
    String,
    String,
) {
    let model = Arc::new(PartitionModelStore::new(
        Arc::new(ticketing::store::MemoryStore::new()),
        Limits::DYNAMODB,
    ));
    let mut config = ticketing::config::Config::for_tests();
    config.shard_rule = ticketing::domain::ShardRule {
        tickets_per_shard: tickets.div_ceil(u32::from(shards)),
        max_shards: shards,
    };
    let state = ticketing::AppState::with_provider(
        config,
        model.clone(),
        Arc::new(ticketing::cache::MemoryCache::new()),
        provider,
    );
    let app = Arc::new(crate::TestApp::with_state(crate::Backend::Memory, state));
    let admin = app.admin_token().await;
    let event = app
        .create_event(
            &admin,
            serde_json::json!({ "totalTickets": tickets, "price": 10 }),
        )
        .await;
    (app, model, admin, event)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model(limits: Limits) -> PartitionModelStore {
        PartitionModelStore::new(Arc::new(ticketing::store::MemoryStore::new()), limits)
    }

    #[test]
    fn a_partition_gives_its_rate_and_refuses_past_it() {
        // 10 write units a second: five 2-unit writes drain one partition; another is free.
        let store = model(Limits {
            write_units_per_sec: 10.0,
            read_units_per_sec: 30.0,
        });
        let hot = || vec![("EVENT#a".to_owned(), TRANSACTIONAL_WRITE)];
        for _ in 0..5 {
            store.consume(false, &hot()).unwrap();
        }
        assert!(matches!(
            store.consume(false, &hot()),
            Err(StoreError::Contention(_))
        ));
        store
            .consume(false, &[("EVENT#b".to_owned(), TRANSACTIONAL_WRITE)])
            .unwrap();
        // All or none: a refused request spends nothing on its other partitions.
        let mixed = [
            ("EVENT#c".to_owned(), WRITE),
            ("EVENT#a".to_owned(), TRANSACTIONAL_WRITE),
        ];
        assert!(store.consume(false, &mixed).is_err());
        for _ in 0..10 {
            store
                .consume(false, &[("EVENT#c".to_owned(), WRITE)])
                .unwrap();
        }
        // It refills: a tenth of a second later one more 1-unit write fits on the hot one.
        std::thread::sleep(std::time::Duration::from_millis(120));
        store
            .consume(false, &[("EVENT#a".to_owned(), WRITE)])
            .unwrap();
        assert_eq!(store.refusals.throttled.load(Ordering::Relaxed), 2);
    }

    #[tokio::test]
    async fn overlapping_transactions_on_one_item_conflict() {
        let store = model(Limits::DYNAMODB);
        let items = vec!["EVENT#a".to_owned()];
        let (release, wait) = tokio::sync::oneshot::channel::<()>();
        let first = store.transaction(&items, async {
            wait.await.ok();
            Ok(())
        });
        let second = async {
            let refused = store.transaction(&items, async { Ok(()) }).await;
            release.send(()).ok();
            refused
        };
        let (first, second) = tokio::join!(first, second);
        assert!(first.is_ok());
        assert!(matches!(second, Err(StoreError::Contention(_))));
        assert_eq!(store.refusals.conflicts.load(Ordering::Relaxed), 1);
        // Once it ended, the item is free again.
        assert!(store.transaction(&items, async { Ok(()) }).await.is_ok());
    }
}
