//! One behavioural suite for the store traits, run against the memory store and DynamoDB Local,
//! so the two implementations cannot drift.

use chrono::{Duration, Utc};
use std::collections::HashMap;
use std::sync::Arc;
use ticketing::domain::{
    Booking, BookingStatus, Email, EventStatus, PageParams, Role, ShardTake, SortOrder,
    StatusFilter, User,
};
use ticketing::ids::{BookingId, EventId, UserId};
use ticketing::store::{
    BookOutcome, BookingAttempt, CatalogChange, Rotation, SessionRecord, Store, StoreError,
    StoreResult, DELETIONS_KEPT,
};
use ticketing_tests::{on_both_backends, sample_event, store_for, Backend};

pub(crate) fn user(email: &str) -> User {
    User {
        id: UserId::new(),
        email: Email::parse(email).unwrap(),
        name: "Ada".into(),
        role: Role::User,
        password_hash: "$2b$10$hash".into(),
        created_at: Utc::now(),
        email_verified: false,
        session_epoch: 0,
    }
}

pub(crate) fn attempt(
    event: &ticketing::domain::Event,
    user: UserId,
    key: &str,
    quantity: u32,
) -> BookingAttempt {
    let id = BookingId::new();
    let now = Utc::now();
    BookingAttempt {
        booking: Booking {
            created_at: now,
            ..ticketing_tests::sample_booking(event, user, id, quantity, key)
        },
        fingerprint: format!("fp-{}-{quantity}", event.id),
        response_body: format!("{{\"booking\":\"{id}\"}}"),
        now,
        guard_expires_at: now + Duration::hours(24),
        max_tickets_per_user: event.max_tickets_per_user,
        mail: None,
    }
}

async fn users_round_trip_and_email_uniqueness(backend: Backend) {
    let store = store_for(backend).await;
    let ada = user("ada@example.com");
    store.create_user(&ada, None).await.unwrap();
    assert_eq!(store.user_by_id(ada.id).await.unwrap(), Some(ada.clone()));
    assert_eq!(
        store.user_by_email(&ada.email).await.unwrap().map(|u| u.id),
        Some(ada.id)
    );
    assert_eq!(
        store
            .user_by_email(&Email::parse("nobody@example.com").unwrap())
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store.create_user(&user("ada@example.com"), None).await,
        Err(StoreError::EmailTaken)
    );
    store.set_role(ada.id, Role::Admin).await.unwrap();
    assert_eq!(
        store.user_by_id(ada.id).await.unwrap().unwrap().role,
        Role::Admin
    );
    assert_eq!(
        store.set_role(UserId::new(), Role::Admin).await,
        Err(StoreError::NotFound)
    );
}

async fn racing_registrations_create_one_user(backend: Backend) {
    let store = store_for(backend).await;
    let attempts = (0..8).map(|_| {
        let store = store.clone();
        tokio::spawn(async move { store.create_user(&user("race@example.com"), None).await })
    });
    let results = futures::future::join_all(attempts).await;
    let ok = results.iter().filter(|r| matches!(r, Ok(Ok(())))).count();
    let taken = results
        .iter()
        .filter(|r| matches!(r, Ok(Err(StoreError::EmailTaken))))
        .count();
    assert_eq!((ok, taken), (1, 7));
}

/// Every catalog write (and no booking) shows in the catalog index and moves the version; a
/// deleted event leaves it, and the record of its deletion takes its place (so projections can
/// drop it) until `DELETIONS_KEPT` has passed.
async fn catalog_changes_show_catalog_writes_and_no_booking(backend: Backend) {
    let store = store_for(backend).await;
    assert_eq!(store.catalog_version().await.unwrap(), 0);
    let soon = Utc::now() + Duration::days(1);
    let a = sample_event(10, EventStatus::Published, soon);
    let b = sample_event(10, EventStatus::Draft, soon);
    for e in [&a, &b] {
        store.create_event(e).await.unwrap();
    }
    assert_eq!(store.catalog_version().await.unwrap(), 2);
    let ids = |changes: Vec<CatalogChange>| {
        let mut ids: Vec<_> = changes.iter().map(CatalogChange::id).collect();
        ids.sort();
        ids
    };
    let mut both = vec![a.id, b.id];
    both.sort();
    assert_eq!(ids(store.catalog_changes(None).await.unwrap()), both);

    let after_creates = Utc::now() + Duration::milliseconds(1);
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    store
        .book(&attempt(&a, UserId::new(), "k1", 2))
        .await
        .unwrap();
    assert!(
        store
            .catalog_changes(Some(after_creates))
            .await
            .unwrap()
            .is_empty(),
        "a booking wrote to the catalog index"
    );
    assert_eq!(store.catalog_version().await.unwrap(), 2);
    let inventories = store
        .inventories(&[(a.id, a.inventory_shards), (b.id, b.inventory_shards)])
        .await
        .unwrap();
    assert_eq!(inventories[&a.id].available(), 8);
    assert_eq!(inventories[&a.id].confirmed(), 1);
    assert_eq!(inventories[&b.id].available(), 10);

    store
        .delete_event(b.id, UserId::new(), Utc::now() + Duration::milliseconds(2))
        .await
        .unwrap();
    assert_eq!(store.catalog_version().await.unwrap(), 3);
    let deleted_at = match &store.catalog_changes(Some(after_creates)).await.unwrap()[..] {
        [CatalogChange::Deleted { id, at }] if *id == b.id => *at,
        other => panic!("the deletion alone, as its own kind: {other:?}"),
    };
    // Read from the start: a's entry and b's deletion, and no entry of b (it left the index).
    assert_eq!(
        store.catalog_changes(None).await.unwrap(),
        vec![
            CatalogChange::Written(catalog_entry(&a)),
            CatalogChange::Deleted {
                id: b.id,
                at: deleted_at
            },
        ]
    );
    // A deletion older than the records are kept is read no more.
    let c = sample_event(10, EventStatus::Published, soon);
    store.create_event(&c).await.unwrap();
    let long_ago = Utc::now() - DELETIONS_KEPT - Duration::minutes(1);
    store
        .delete_event(c.id, UserId::new(), long_ago)
        .await
        .unwrap();
    let all = store.catalog_changes(None).await.unwrap();
    assert!(
        all.iter().all(|change| change.id() != c.id),
        "an expired deletion record, or the deleted entry, was read: {all:?}"
    );
    assert_eq!(store.event_by_id(b.id).await.unwrap(), None);
    assert_eq!(
        store.delete_event(b.id, UserId::new(), Utc::now()).await,
        Err(StoreError::NotFound)
    );
    assert_eq!(
        store.update_event_details(&b, b.status).await,
        Err(StoreError::NotFound)
    );
    // A booked event cannot be deleted, and the refusal writes nothing.
    assert_eq!(
        store.delete_event(a.id, UserId::new(), Utc::now()).await,
        Err(StoreError::HasActiveBookings)
    );
    assert_eq!(
        store.catalog_version().await.unwrap(),
        5,
        "c's create and delete"
    );
}

/// An event split over shards: bookings take from the shards they name, each on its own
/// condition; cancels give back to the same shards; the counters are the exact sums.
async fn sharded_inventory_takes_and_gives_back_per_shard(backend: Backend) {
    let store = store_for(backend).await;
    let mut event = sample_event(10, EventStatus::Published, Utc::now() + Duration::days(2));
    event.inventory_shards = 4;
    store.create_event(&event).await.unwrap();
    // Each shard's counters, read in one batch and as one snapshot (which must agree).
    let shards = |store: Arc<dyn Store>| async move {
        let batch = store
            .inventories(&[(event.id, 4)])
            .await
            .unwrap()
            .remove(&event.id)
            .unwrap();
        let snapshot = store.inventory_snapshot(event.id, 4).await.unwrap();
        assert_eq!(
            batch, snapshot,
            "a batch read and a snapshot of quiet shards agree"
        );
        batch
            .shards
            .iter()
            .map(|s| (s.available, s.confirmed))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        shards(store.clone()).await,
        vec![(3, 0), (3, 0), (2, 0), (2, 0)]
    );
    // A snapshot of an event the store does not hold is an error, never an empty inventory
    // (which a booking's re-plan would read as sold out).
    assert!(matches!(
        store.inventory_snapshot(EventId::new(), 4).await,
        Err(StoreError::Corrupt(_))
    ));

    let mut across = attempt(&event, UserId::new(), "k1", 4);
    across.booking.allocation = vec![ShardTake::new(1, 3), ShardTake::new(3, 1)];
    store.book(&across).await.unwrap();
    assert_eq!(
        shards(store.clone()).await,
        vec![(3, 0), (0, 1), (2, 0), (1, 0)]
    );
    let stored = store.event_by_id(event.id).await.unwrap().unwrap();
    assert_eq!(
        (stored.available_tickets, stored.confirmed_bookings),
        (6, 1)
    );

    // One shard short: refused as a whole, nothing taken anywhere.
    let mut short = attempt(&event, UserId::new(), "k2", 3);
    short.booking.allocation = vec![ShardTake::new(0, 1), ShardTake::new(3, 2)];
    assert_eq!(
        store.book(&short).await,
        Err(StoreError::InsufficientTickets)
    );
    assert_eq!(
        shards(store.clone()).await,
        vec![(3, 0), (0, 1), (2, 0), (1, 0)]
    );

    // Bookings on any shard keep a return to draft refused.
    let mut to_draft = event.clone();
    to_draft.status = EventStatus::Draft;
    assert_eq!(
        store
            .update_event_details(&to_draft, EventStatus::Published)
            .await,
        Err(StoreError::HasActiveBookings)
    );

    let cancelled = store
        .cancel_booking(&across.booking, Utc::now(), None, None)
        .await
        .unwrap();
    assert_eq!(cancelled.status, BookingStatus::Cancelled);
    assert_eq!(
        shards(store.clone()).await,
        vec![(3, 0), (3, 0), (2, 0), (2, 0)]
    );
    assert_eq!(
        store
            .cancel_booking(&across.booking, Utc::now(), None, None)
            .await,
        Err(StoreError::NotCancellable)
    );
    assert_eq!(
        shards(store.clone()).await,
        vec![(3, 0), (3, 0), (2, 0), (2, 0)]
    );
    // A catalog change reaches every shard: a draft refuses bookings on each of them.
    store
        .update_event_details(&to_draft, EventStatus::Published)
        .await
        .unwrap();
    for shard in 0..4 {
        let mut late = attempt(&to_draft, UserId::new(), &format!("d{shard}"), 1);
        late.booking.allocation = vec![ShardTake::new(shard, 1)];
        assert_eq!(store.book(&late).await, Err(StoreError::EventNotBookable));
    }
    store
        .delete_event(event.id, UserId::new(), Utc::now())
        .await
        .unwrap();
}

/// A status change is written only from the status it was decided on, and a return to draft
/// only while no confirmed booking stands: both checked atomically by the write.
async fn status_changes_are_conditioned_on_the_stored_status_and_bookings(backend: Backend) {
    let store = store_for(backend).await;
    let event = sample_event(5, EventStatus::Published, Utc::now() + Duration::days(2));
    store.create_event(&event).await.unwrap();
    let mut to_draft = event.clone();
    to_draft.status = EventStatus::Draft;
    // Decided on a stale status: refused as contention, nothing written.
    assert!(matches!(
        store
            .update_event_details(&to_draft, EventStatus::Draft)
            .await,
        Err(StoreError::Contention(_))
    ));
    store
        .book(&attempt(&event, UserId::new(), "k1", 1))
        .await
        .unwrap();
    assert_eq!(
        store
            .update_event_details(&to_draft, EventStatus::Published)
            .await,
        Err(StoreError::HasActiveBookings)
    );
    let stored = store.event_by_id(event.id).await.unwrap().unwrap();
    assert_eq!(stored.status, EventStatus::Published);
    // Other changes of a booked event are fine.
    let mut completed = event.clone();
    completed.status = EventStatus::Completed;
    store
        .update_event_details(&completed, EventStatus::Published)
        .await
        .unwrap();
    assert_eq!(
        store.event_by_id(event.id).await.unwrap().unwrap().status,
        EventStatus::Completed
    );
}

async fn update_changes_details_and_index_but_never_counters(backend: Backend) {
    let store = store_for(backend).await;
    let event = sample_event(5, EventStatus::Draft, Utc::now() + Duration::days(2));
    store.create_event(&event).await.unwrap();
    let buyer = UserId::new();
    let mut edited = event.clone();
    edited.status = EventStatus::Published;
    edited.name = "Renamed".into();
    store
        .update_event_details(&edited, EventStatus::Draft)
        .await
        .unwrap();
    store.book(&attempt(&edited, buyer, "k1", 2)).await.unwrap();
    // A stale copy with the old counters must not overwrite the booking's decrement.
    let mut stale = edited.clone();
    stale.venue = "Elsewhere".into();
    stale.description = "New words".into();
    stale.price = ticketing::money::Cents(4_250);
    stale.date += Duration::hours(3);
    stale.updated_at += Duration::seconds(1);
    store
        .update_event_details(&stale, EventStatus::Published)
        .await
        .unwrap();
    let stored = store.event_by_id(event.id).await.unwrap().unwrap();
    // The whole event: every editable field written, the counters the booking's.
    let expected = ticketing::domain::Event {
        available_tickets: 3,
        confirmed_bookings: 1,
        ..stale.clone()
    };
    assert_eq!(stored, expected);
    // The catalog index holds the same entry, without counters.
    let entries = store.catalog_changes(None).await.unwrap();
    assert_eq!(entries, vec![CatalogChange::Written(catalog_entry(&stale))]);
}

async fn booking_rules(backend: Backend) {
    let store = store_for(backend).await;
    let buyer = UserId::new();
    let event = sample_event(3, EventStatus::Published, Utc::now() + Duration::days(2));
    store.create_event(&event).await.unwrap();

    let first = attempt(&event, buyer, "key-1", 2);
    assert_eq!(store.book(&first).await.unwrap(), BookOutcome::Created);
    assert_eq!(
        store
            .event_by_id(event.id)
            .await
            .unwrap()
            .unwrap()
            .available_tickets,
        1
    );
    assert_eq!(
        store.booking_by_id(first.booking.id).await.unwrap(),
        Some(first.booking.clone())
    );

    // Same key, same fingerprint: the original, not a second booking.
    let again = attempt(&event, buyer, "key-1", 2);
    assert_eq!(
        store.book(&again).await.unwrap(),
        BookOutcome::Replayed {
            booking_id: first.booking.id,
            response_body: first.response_body.clone()
        }
    );
    assert_eq!(store.booking_by_id(again.booking.id).await.unwrap(), None);
    // Same key, other body.
    assert_eq!(
        store.book(&attempt(&event, buyer, "key-1", 1)).await,
        Err(StoreError::IdempotencyKeyReused)
    );
    // Same key from another user is another key.
    assert_eq!(
        store
            .book(&attempt(&event, UserId::new(), "key-1", 1))
            .await
            .unwrap(),
        BookOutcome::Created
    );
    // Sold out now.
    assert_eq!(
        store.book(&attempt(&event, buyer, "key-2", 1)).await,
        Err(StoreError::InsufficientTickets)
    );
    // The replay still wins after the sell-out.
    assert!(matches!(
        store.book(&again).await.unwrap(),
        BookOutcome::Replayed { .. }
    ));

    let draft = sample_event(3, EventStatus::Draft, Utc::now() + Duration::days(2));
    let past = sample_event(3, EventStatus::Published, Utc::now() - Duration::hours(1));
    store.create_event(&draft).await.unwrap();
    store.create_event(&past).await.unwrap();
    assert_eq!(
        store.book(&attempt(&draft, buyer, "key-3", 1)).await,
        Err(StoreError::EventNotBookable)
    );
    assert_eq!(
        store.book(&attempt(&past, buyer, "key-4", 1)).await,
        Err(StoreError::EventNotBookable)
    );
    let missing = sample_event(3, EventStatus::Published, Utc::now() + Duration::days(2));
    assert_eq!(
        store.book(&attempt(&missing, buyer, "key-5", 1)).await,
        Err(StoreError::NotFound)
    );
    // Failed attempts leave no guard behind: the key works once the event can be booked.
    assert_eq!(
        store.book(&attempt(&past, buyer, "key-2", 1)).await,
        Err(StoreError::EventNotBookable)
    );
}

async fn a_stale_price_is_refused_not_charged(backend: Backend) {
    let store = store_for(backend).await;
    let event = sample_event(5, EventStatus::Published, Utc::now() + Duration::days(2));
    store.create_event(&event).await.unwrap();
    let mut stale = attempt(&event, UserId::new(), "k", 1);
    stale.booking.unit_price = ticketing::money::Cents(event.price.0 + 1);
    assert_eq!(store.book(&stale).await, Err(StoreError::TermsChanged));
    let stored = store.event_by_id(event.id).await.unwrap().unwrap();
    assert_eq!(
        (stored.available_tickets, stored.confirmed_bookings),
        (5, 0)
    );
    assert_eq!(store.booking_by_id(stale.booking.id).await.unwrap(), None);
    // The key was not consumed.
    assert_eq!(
        store
            .book(&attempt(&event, stale.booking.user_id, "k", 1))
            .await
            .unwrap(),
        BookOutcome::Created
    );
}

async fn expired_guard_does_not_block_a_new_booking(backend: Backend) {
    let store = store_for(backend).await;
    let buyer = UserId::new();
    let event = sample_event(5, EventStatus::Published, Utc::now() + Duration::days(2));
    store.create_event(&event).await.unwrap();
    let mut old = attempt(&event, buyer, "old-key", 1);
    old.now = Utc::now() - Duration::hours(30);
    old.guard_expires_at = Utc::now() - Duration::hours(6);
    // Booked 30 h ago (the event's date is still in the future relative to both instants).
    assert_eq!(store.book(&old).await.unwrap(), BookOutcome::Created);
    assert_eq!(
        store
            .book(&attempt(&event, buyer, "old-key", 2))
            .await
            .unwrap(),
        BookOutcome::Created
    );
}

async fn cancel_restores_tickets_once_and_unblocks_delete(backend: Backend) {
    let store = store_for(backend).await;
    let buyer = UserId::new();
    let event = sample_event(4, EventStatus::Published, Utc::now() + Duration::days(2));
    store.create_event(&event).await.unwrap();
    let booked = attempt(&event, buyer, "k", 3);
    store.book(&booked).await.unwrap();
    assert_eq!(
        store.delete_event(event.id, buyer, Utc::now()).await,
        Err(StoreError::HasActiveBookings)
    );

    let cancels = (0..6).map(|_| {
        let store = store.clone();
        let booking = booked.booking.clone();
        tokio::spawn(async move {
            until_decided(|| store.cancel_booking(&booking, Utc::now(), None, None)).await
        })
    });
    let results = futures::future::join_all(cancels).await;
    let ok = results.iter().filter(|r| matches!(r, Ok(Ok(_)))).count();
    let refused = results
        .iter()
        .filter(|r| matches!(r, Ok(Err(StoreError::NotCancellable))))
        .count();
    assert_eq!((ok, refused), (1, 5));
    let stored = store
        .booking_by_id(booked.booking.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.status, BookingStatus::Cancelled);
    assert!(stored.cancelled_at.is_some());
    assert_eq!(
        store
            .event_by_id(event.id)
            .await
            .unwrap()
            .unwrap()
            .available_tickets,
        4
    );
    store
        .delete_event(event.id, buyer, Utc::now())
        .await
        .unwrap();
}

async fn cancel_after_the_event_started_is_refused(backend: Backend) {
    let store = store_for(backend).await;
    let buyer = UserId::new();
    let event = sample_event(4, EventStatus::Published, Utc::now() + Duration::days(2));
    store.create_event(&event).await.unwrap();
    let booked = attempt(&event, buyer, "k", 1);
    store.book(&booked).await.unwrap();
    let after_start = event.date + Duration::minutes(1);
    assert_eq!(
        store
            .cancel_booking(&booked.booking, after_start, None, None)
            .await,
        Err(StoreError::NotCancellable)
    );
    assert_eq!(
        store
            .event_by_id(event.id)
            .await
            .unwrap()
            .unwrap()
            .available_tickets,
        3
    );
}

async fn bookings_by_user_newest_first(backend: Backend) {
    let store = store_for(backend).await;
    let buyer = UserId::new();
    let event = sample_event(10, EventStatus::Published, Utc::now() + Duration::days(2));
    store.create_event(&event).await.unwrap();
    let mut ids = Vec::new();
    for i in 0..3 {
        let a = attempt(&event, buyer, &format!("k{i}"), 1);
        store.book(&a).await.unwrap();
        ids.push(a.booking.id);
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
    store
        .book(&attempt(&event, UserId::new(), "other", 1))
        .await
        .unwrap();
    let listed = store
        .bookings_by_user(buyer, None, PageParams::default())
        .await
        .unwrap();
    ids.reverse();
    assert_eq!(ids_of(&listed.bookings), ids);
    assert_eq!(listed.total, 3);
}

fn ids_of(bookings: &[Booking]) -> Vec<BookingId> {
    bookings.iter().map(|b| b.id).collect()
}

/// Pages of one user's bookings, with and without a status filter, equal the slices of the
/// whole list, and the totals follow every booking and cancel (never another user's).
async fn bookings_by_user_pages_by_status(backend: Backend) {
    let store = store_for(backend).await;
    let buyer = UserId::new();
    let event = sample_event(50, EventStatus::Published, Utc::now() + Duration::days(2));
    store.create_event(&event).await.unwrap();
    let mut booked = Vec::new();
    for i in 0..7 {
        let a = attempt(&event, buyer, &format!("k{i}"), 1);
        store.book(&a).await.unwrap();
        booked.push(a.booking);
    }
    store
        .book(&attempt(&event, UserId::new(), "someone-else", 1))
        .await
        .unwrap();
    for i in [1, 3, 4] {
        let cancelled = store
            .cancel_booking(&booked[i], Utc::now(), None, None)
            .await
            .unwrap();
        booked[i] = cancelled;
    }
    // A second cancel is refused and moves no count.
    assert_eq!(
        store
            .cancel_booking(&booked[1], Utc::now(), None, None)
            .await,
        Err(StoreError::NotCancellable)
    );
    booked.reverse();
    for status in [
        None,
        Some(BookingStatus::Confirmed),
        Some(BookingStatus::Cancelled),
    ] {
        let all: Vec<&Booking> = booked
            .iter()
            .filter(|b| status.is_none_or(|s| b.status == s))
            .collect();
        for limit in [1u32, 2, 3, 100] {
            for page in 1..=(all.len() as u32 / limit + 2) {
                let params = PageParams { page, limit };
                let got = store.bookings_by_user(buyer, status, params).await.unwrap();
                let want: Vec<Booking> = all
                    .iter()
                    .skip(params.offset() as usize)
                    .take(limit as usize)
                    .map(|b| (*b).clone())
                    .collect();
                assert_eq!(got.bookings, want, "{status:?} page {page} of {limit}");
                assert_eq!(got.total, all.len() as u64, "{status:?} total");
            }
        }
    }
    // The last page a client may ask for: nothing, the right total, no huge read or allocation.
    let far = PageParams {
        page: u32::MAX,
        limit: PageParams::MAX_LIMIT,
    };
    for status in [None, Some(BookingStatus::Cancelled)] {
        let got = store.bookings_by_user(buyer, status, far).await.unwrap();
        assert!(got.bookings.is_empty());
        assert_eq!(got.total, if status.is_some() { 3 } else { 7 });
    }
    let nobody = store
        .bookings_by_user(UserId::new(), None, PageParams::default())
        .await
        .unwrap();
    assert_eq!((nobody.bookings.len(), nobody.total), (0, 0));
}

/// The durable guard of a key, as a replay without the cache reads it: the booking's id,
/// fingerprint and exact body; nothing for another user's same key or an expired guard.
async fn idempotency_guard_is_read_back(backend: Backend) {
    let store = store_for(backend).await;
    let buyer = UserId::new();
    let event = sample_event(10, EventStatus::Published, Utc::now() + Duration::days(2));
    store.create_event(&event).await.unwrap();
    let a = attempt(&event, buyer, "guarded", 2);
    store.book(&a).await.unwrap();
    let guard = store
        .idempotency_guard(buyer, "guarded", Utc::now())
        .await
        .unwrap()
        .expect("the guard");
    assert_eq!(guard.booking_id, a.booking.id);
    assert_eq!(guard.fingerprint, a.fingerprint);
    assert_eq!(guard.response_body, a.response_body);
    assert_eq!(
        guard.clone().outcome("another body"),
        Err(StoreError::IdempotencyKeyReused)
    );
    assert_eq!(
        store
            .idempotency_guard(UserId::new(), "guarded", Utc::now())
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .idempotency_guard(buyer, "guarded", a.guard_expires_at + Duration::seconds(1))
            .await
            .unwrap(),
        None
    );
}

/// Calls the store as a careful caller would on a busy machine: transient failures (a slow
/// DynamoDB Local times out) are retried with the same input, which the store's conditions (and,
/// for bookings, the durable guard) make safe.
async fn until_decided<T, F, Fut>(mut call: F) -> StoreResult<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = StoreResult<T>>,
{
    for _ in 0..60 {
        match call().await {
            Err(StoreError::Contention(_) | StoreError::Unavailable(_)) => {
                tokio::time::sleep(std::time::Duration::from_millis(200)).await
            }
            decided => return decided,
        }
    }
    panic!("the store stayed unavailable")
}

async fn concurrent_bookings_never_oversell(backend: Backend) {
    let store: Arc<dyn Store> = store_for(backend).await;
    let event = sample_event(10, EventStatus::Published, Utc::now() + Duration::days(2));
    store.create_event(&event).await.unwrap();
    let tasks = (0..40).map(|i| {
        let store = store.clone();
        let a = attempt(&event, UserId::new(), &format!("k{i}"), 1);
        tokio::spawn(async move { until_decided(|| store.book(&a)).await })
    });
    let results = futures::future::join_all(tasks).await;
    // A retry of an attempt whose first try landed unseen (a timeout) replays it: still one sale.
    let created = results
        .iter()
        .filter(|r| {
            matches!(
                r,
                Ok(Ok(BookOutcome::Created | BookOutcome::Replayed { .. }))
            )
        })
        .count();
    let sold_out = results
        .iter()
        .filter(|r| matches!(r, Ok(Err(StoreError::InsufficientTickets))))
        .count();
    assert_eq!((created, sold_out), (10, 30), "{results:?}");
    let stored = store.event_by_id(event.id).await.unwrap().unwrap();
    assert_eq!(
        (stored.available_tickets, stored.confirmed_bookings),
        (0, 10)
    );
}

async fn ping_answers(backend: Backend) {
    store_for(backend).await.ping().await.unwrap();
}

fn session(family: &str, token: &str, expires_in: Duration) -> SessionRecord {
    SessionRecord {
        family: family.into(),
        user: UserId::new(),
        current_token: token.into(),
        expires_at: Utc::now() + expires_in,
    }
}

async fn sessions_rotate_once_and_remember_what_was_spent(backend: Backend) {
    let store = store_for(backend).await;
    let family = ulid::Ulid::new().to_string();
    let later = Utc::now() + Duration::days(7);
    store
        .open_session(&session(&family, "t1", Duration::days(7)))
        .await
        .unwrap();
    assert_eq!(
        store
            .rotate_session(&family, "t1", "t2", later, Utc::now())
            .await,
        Ok(Rotation::Rotated)
    );
    assert_eq!(
        store
            .rotate_session(&family, "t1", "t3", later, Utc::now())
            .await,
        Ok(Rotation::Spent),
        "t1 was spent"
    );
    assert_eq!(
        store
            .rotate_session(&family, "t2", "t3", later, Utc::now())
            .await,
        Ok(Rotation::Rotated),
        "a proven reuse is the caller's to act on; the store only reports it"
    );
    store.revoke_session(&family).await.unwrap();
    assert_eq!(
        store
            .rotate_session(&family, "t3", "t4", later, Utc::now())
            .await,
        Ok(Rotation::Revoked)
    );
    assert_eq!(
        store
            .rotate_session("no-such-family", "t1", "t2", later, Utc::now())
            .await,
        Ok(Rotation::Unknown)
    );
    store.revoke_session("no-such-family").await.unwrap();
    let expired = ulid::Ulid::new().to_string();
    store
        .open_session(&session(&expired, "e1", Duration::seconds(-1)))
        .await
        .unwrap();
    assert_eq!(
        store
            .rotate_session(&expired, "e1", "e2", later, Utc::now())
            .await,
        Ok(Rotation::Unknown)
    );
    // Expiry is judged at the `now` given: a live family presented after its end is unknown,
    // and still rotates at a time before it.
    let ending = ulid::Ulid::new().to_string();
    store
        .open_session(&session(&ending, "f1", Duration::hours(1)))
        .await
        .unwrap();
    let past_its_end = Utc::now() + Duration::hours(2);
    assert_eq!(
        store
            .rotate_session(&ending, "f1", "f2", later, past_its_end)
            .await,
        Ok(Rotation::Unknown)
    );
    assert_eq!(
        store
            .rotate_session(&ending, "f1", "f2", later, Utc::now())
            .await,
        Ok(Rotation::Rotated)
    );
}

async fn concurrent_rotations_of_one_token_rotate_once(backend: Backend) {
    let store = store_for(backend).await;
    let family = ulid::Ulid::new().to_string();
    store
        .open_session(&session(&family, "t1", Duration::days(7)))
        .await
        .unwrap();
    let tasks = (0..20).map(|i| {
        let (store, family) = (store.clone(), family.clone());
        tokio::spawn(async move {
            let next = format!("next-{i}");
            until_decided(|| {
                store.rotate_session(
                    &family,
                    "t1",
                    &next,
                    Utc::now() + Duration::days(7),
                    Utc::now(),
                )
            })
            .await
        })
    });
    let results: Vec<_> = futures::future::join_all(tasks)
        .await
        .into_iter()
        .map(|r| r.unwrap().unwrap())
        .collect();
    let rotated = results.iter().filter(|r| **r == Rotation::Rotated).count();
    let spent = results.iter().filter(|r| **r == Rotation::Spent).count();
    assert_eq!((rotated, spent), (1, 19), "{results:?}");
}

/// An event as the catalog indexes hold it: no counters (the shards hold them).
fn catalog_entry(event: &ticketing::domain::Event) -> ticketing::domain::Event {
    ticketing::domain::Event {
        available_tickets: 0,
        confirmed_bookings: 0,
        ..event.clone()
    }
}

/// The catalog by date holds the live events the filter admits, in date order (ties by id)
/// either way, through creates, date and status changes and deletes; the per-status counts
/// follow every catalog write.
async fn catalog_by_date_and_status_counts_follow_catalog_writes(backend: Backend) {
    let store = store_for(backend).await;
    let base = Utc::now() + Duration::days(3);
    let statuses = [
        EventStatus::Published,
        EventStatus::Draft,
        EventStatus::Published,
    ];
    let mut events: Vec<ticketing::domain::Event> = (0..14)
        .map(|i| {
            // Dates out of creation order, and pairs on the very same instant.
            let date = base + Duration::hours(((i * 5) % 7) as i64);
            sample_event(10, statuses[i % statuses.len()], date)
        })
        .collect();
    for e in &events {
        store.create_event(e).await.unwrap();
    }
    let check = |stage: &'static str, live: Vec<ticketing::domain::Event>| {
        let store = store.clone();
        async move {
            let mut counts: HashMap<EventStatus, u64> = HashMap::new();
            for e in &live {
                *counts.entry(e.status).or_default() += 1;
            }
            let mut stored = store.catalog_status_counts().await.unwrap();
            stored.retain(|_, n| *n > 0);
            assert_eq!(stored, counts, "{stage}: counts");
            for filter in [
                StatusFilter::Any,
                StatusFilter::NotDraft,
                StatusFilter::Only(EventStatus::Cancelled),
                StatusFilter::Only(EventStatus::Draft),
                StatusFilter::Nothing,
            ] {
                let mut want: Vec<_> = live
                    .iter()
                    .filter(|e| filter.admits(e.status))
                    .map(|e| (e.date, e.id))
                    .collect();
                want.sort();
                for order in [SortOrder::Asc, SortOrder::Desc] {
                    let mut want = want.clone();
                    if order == SortOrder::Desc {
                        want.reverse();
                    }
                    for count in [3, 100] {
                        let got: Vec<_> = store
                            .catalog_by_date(filter, order, count)
                            .await
                            .unwrap()
                            .iter()
                            .map(|e| (e.date, e.id))
                            .collect();
                        let want: Vec<_> = want.iter().copied().take(count).collect();
                        assert_eq!(got, want, "{stage}: {filter:?} {order:?} {count}");
                    }
                }
            }
        }
    };
    check("created", events.clone()).await;
    // New dates, status changes (both ways, and to a final one), deletes.
    for (i, e) in events.iter_mut().enumerate().filter(|(i, _)| i % 3 == 0) {
        let was = e.status;
        e.date += Duration::days(i as i64 % 2);
        e.status = match was {
            EventStatus::Draft => EventStatus::Published,
            _ if i % 2 == 0 => EventStatus::Cancelled,
            _ => EventStatus::Draft,
        };
        e.updated_at += Duration::seconds(1);
        store.update_event_details(e, was).await.unwrap();
    }
    let gone: Vec<_> = events.iter().skip(1).step_by(4).map(|e| e.id).collect();
    for id in &gone {
        store
            .delete_event(*id, UserId::new(), Utc::now())
            .await
            .unwrap();
    }
    events.retain(|e| !gone.contains(&e.id));
    check("rewritten", events).await;
}

/// An event's `maxTicketsPerUser` holds inside the booking transaction: per user, counting what
/// they hold (a cancel gives it back), one order above it refused outright, concurrent orders of
/// one user never past it together, and a booking made on a stale limit refused as stale terms.
async fn the_ticket_limit_per_user_holds_in_the_booking_transaction(backend: Backend) {
    let store = store_for(backend).await;
    let mut event = sample_event(100, EventStatus::Published, Utc::now() + Duration::days(1));
    event.max_tickets_per_user = Some(4);
    store.create_event(&event).await.unwrap();
    let (ada, bob, cy) = (UserId::new(), UserId::new(), UserId::new());
    let limit = |remaining| Err(StoreError::TicketLimitReached { remaining });

    let first = attempt(&event, ada, "a1", 3);
    assert_eq!(store.book(&first).await, Ok(BookOutcome::Created));
    assert_eq!(store.book(&attempt(&event, ada, "a2", 2)).await, limit(1));
    assert_eq!(
        store.book(&attempt(&event, ada, "a3", 1)).await,
        Ok(BookOutcome::Created)
    );
    assert_eq!(store.book(&attempt(&event, ada, "a4", 1)).await, limit(0));
    // A replay of a booking already made is still its replay, not a refusal.
    assert!(matches!(
        store.book(&first).await,
        Ok(BookOutcome::Replayed { .. })
    ));
    // Per user: another user has the whole limit; more than it in one order is refused.
    assert_eq!(
        store.book(&attempt(&event, bob, "b1", 4)).await,
        Ok(BookOutcome::Created)
    );
    assert_eq!(store.book(&attempt(&event, cy, "c1", 5)).await, limit(4));
    // A refused booking took nothing.
    let inventory = store
        .inventories(&[(event.id, event.inventory_shards)])
        .await
        .unwrap();
    assert_eq!(inventory[&event.id].available(), 100 - 8);
    // A cancel gives its tickets back to the user's allowance too.
    store
        .cancel_booking(&first.booking, Utc::now(), None, None)
        .await
        .unwrap();
    assert_eq!(
        store.book(&attempt(&event, ada, "a5", 3)).await,
        Ok(BookOutcome::Created)
    );
    assert_eq!(store.book(&attempt(&event, ada, "a6", 1)).await, limit(0));

    // A booking made on a limit that changed since is refused as stale, whichever way.
    let stale = attempt(&event, cy, "c2", 1);
    let was = event.status;
    event.max_tickets_per_user = None;
    event.updated_at += Duration::seconds(1);
    store.update_event_details(&event, was).await.unwrap();
    assert_eq!(store.book(&stale).await, Err(StoreError::TermsChanged));
    assert_eq!(
        store.book(&attempt(&event, cy, "c3", 6)).await,
        Ok(BookOutcome::Created)
    );
    event.max_tickets_per_user = Some(7);
    event.updated_at += Duration::seconds(1);
    store.update_event_details(&event, was).await.unwrap();
    let unlimited = BookingAttempt {
        max_tickets_per_user: None,
        ..attempt(&event, cy, "c4", 1)
    };
    assert_eq!(store.book(&unlimited).await, Err(StoreError::TermsChanged));
    // Lowering it cancelled nothing, and counts what Cy already holds: 6 of 7.
    assert_eq!(store.book(&attempt(&event, cy, "c5", 2)).await, limit(1));

    // Twelve orders of one ticket by one new user at once: exactly the limit goes through.
    let dee = UserId::new();
    let orders = (0..12).map(|i| {
        let (store, attempt) = (store.clone(), attempt(&event, dee, &format!("d{i}"), 1));
        async move {
            loop {
                match store.book(&attempt).await {
                    Err(StoreError::Contention(_)) => continue,
                    other => return other,
                }
            }
        }
    });
    let results = futures::future::join_all(orders).await;
    let made = results
        .iter()
        .filter(|r| **r == Ok(BookOutcome::Created))
        .count();
    assert_eq!(made, 7, "{results:?}");
    assert!(results
        .iter()
        .all(|r| *r == Ok(BookOutcome::Created) || *r == limit(0)));
}

/// An address's login failures round-trip, and a write lands only on the version it read: of two
/// writers that read the same version, one wins and the other must re-read.
async fn login_failures_are_written_on_the_version_read(backend: Backend) {
    use ticketing::domain::lockout::LoginFailures;
    let store = store_for(backend).await;
    let address = "eve@example.com";
    assert_eq!(
        store.login_failures(address).await.unwrap(),
        (LoginFailures::default(), 0)
    );
    // Milliseconds: what the store keeps of a time.
    let at = |m: i64| {
        let t = Utc::now() + Duration::minutes(m);
        chrono::DateTime::from_timestamp_millis(t.timestamp_millis()).unwrap()
    };
    let first = LoginFailures {
        recent: vec![at(0), at(1)],
        locked_until: None,
    };
    store
        .put_login_failures(address, &first, 0, None)
        .await
        .unwrap();
    assert!(matches!(
        store.put_login_failures(address, &first, 0, None).await,
        Err(StoreError::Contention(_))
    ));
    assert_eq!(store.login_failures(address).await.unwrap(), (first, 1));
    let locked = LoginFailures {
        recent: vec![],
        locked_until: Some(at(15)),
    };
    store
        .put_login_failures(address, &locked, 1, None)
        .await
        .unwrap();
    assert!(matches!(
        store.put_login_failures(address, &locked, 1, None).await,
        Err(StoreError::Contention(_))
    ));
    assert_eq!(store.login_failures(address).await.unwrap(), (locked, 2));
    assert_eq!(
        store.login_failures("other@example.com").await.unwrap().1,
        0,
        "per address"
    );
    store.clear_login_failures(address).await.unwrap();
    assert_eq!(
        store.login_failures(address).await.unwrap(),
        (LoginFailures::default(), 0)
    );
}

on_both_backends!(
    login_failures_are_written_on_the_version_read,
    the_ticket_limit_per_user_holds_in_the_booking_transaction,
    catalog_by_date_and_status_counts_follow_catalog_writes,
    sessions_rotate_once_and_remember_what_was_spent,
    concurrent_rotations_of_one_token_rotate_once,
    status_changes_are_conditioned_on_the_stored_status_and_bookings,
    users_round_trip_and_email_uniqueness,
    racing_registrations_create_one_user,
    catalog_changes_show_catalog_writes_and_no_booking,
    sharded_inventory_takes_and_gives_back_per_shard,
    update_changes_details_and_index_but_never_counters,
    booking_rules,
    expired_guard_does_not_block_a_new_booking,
    a_stale_price_is_refused_not_charged,
    cancel_restores_tickets_once_and_unblocks_delete,
    cancel_after_the_event_started_is_refused,
    bookings_by_user_newest_first,
    bookings_by_user_pages_by_status,
    idempotency_guard_is_read_back,
    concurrent_bookings_never_oversell,
    ping_answers,
);
