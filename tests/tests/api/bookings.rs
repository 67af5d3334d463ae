//! The contract's Bookings section: atomic booking, idempotency, cancel, ownership, under
//! concurrency, on both backends.

use serde_json::json;
use std::collections::HashSet;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use ticketing::cache::RedisCache;
use ticketing::config::Config;
use ticketing::domain::{Role, ShardRule};
use ticketing::http::idempotency::IN_FLIGHT_TTL;
use ticketing::ids::EventId;
use ticketing_tests::partition_model::{Limits, PartitionModelStore};
use ticketing_tests::{
    cache_for, on_both_backends, store_for, Backend, ContendedStore, RecordingCache, Reply, TestApp,
};
use uuid::Uuid;

fn key() -> String {
    Uuid::new_v4().to_string()
}

async fn booking_decrements_and_returns_the_booking(backend: Backend) {
    let app = TestApp::new(backend).await;
    let admin = app.admin_token().await;
    let (user, user_id) = app.quick_user(Role::User).await;
    let event = app
        .create_event(&admin, json!({ "price": 19.99, "totalTickets": 10 }))
        .await;
    let k = key();
    let reply = app.book(&user, &k, &event, 3).await;
    assert_eq!(reply.status, 201, "{}", reply.raw);
    assert_eq!(reply.header("idempotent-replayed"), None);
    let b = &reply.body["data"];
    assert_eq!(b["eventId"], event.as_str());
    assert_eq!(b["userId"], user_id.to_string());
    assert_eq!(
        (
            b["quantity"].clone(),
            b["unitPrice"].clone(),
            b["totalPrice"].clone()
        ),
        (json!(3), json!(19.99), json!(59.97))
    );
    assert_eq!(b["status"], "confirmed");
    assert_eq!(b["idempotencyKey"], k.as_str());
    assert_eq!(b["ticketNumbers"].as_array().unwrap().len(), 3);
    assert!(b.get("cancelledAt").is_none());
    assert_eq!(app.event(&event).await["availableTickets"], 7);
}

async fn replays_are_byte_identical_and_reuse_is_422(backend: Backend) {
    let app = TestApp::new(backend).await;
    let admin = app.admin_token().await;
    let (user, _) = app.quick_user(Role::User).await;
    let (other, _) = app.quick_user(Role::User).await;
    let event = app
        .create_event(&admin, json!({ "totalTickets": 10 }))
        .await;
    let k = key();
    let first = app.book(&user, &k, &event, 2).await;
    let again = app.book(&user, &k, &event, 2).await;
    assert_eq!(again.status, 201);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(again.raw, first.raw);
    // The quoted sf-string form is the same key.
    let quoted = app.book(&user, &format!("\"{k}\""), &event, 2).await;
    assert_eq!(
        (quoted.status.as_u16(), quoted.raw.as_str()),
        (201, first.raw.as_str())
    );
    app.book(&user, &k, &event, 3)
        .await
        .expect(422, "IDEMPOTENCY_KEY_REUSED");
    // Another user's identical key is a different key.
    let theirs = app.book(&other, &k, &event, 2).await;
    assert_eq!(theirs.status, 201);
    assert_eq!(theirs.header("idempotent-replayed"), None);
    assert_eq!(app.event(&event).await["availableTickets"], 6);
}

async fn bookings_are_charged_the_current_price(backend: Backend) {
    let app = TestApp::new(backend).await;
    let admin = app.admin_token().await;
    let (user, _) = app.quick_user(Role::User).await;
    let event = app.create_event(&admin, json!({ "price": 10 })).await;
    assert_eq!(
        app.book(&user, &key(), &event, 1).await.body["data"]["unitPrice"],
        json!(10.0)
    );
    app.call(
        "PUT",
        &format!("/api/v1/events/{event}"),
        Some(&admin),
        Some(json!({ "price": 12.5 })),
    )
    .await;
    let after_update = app.book(&user, &key(), &event, 2).await;
    assert_eq!(after_update.body["data"]["unitPrice"], json!(12.5));
    assert_eq!(after_update.body["data"]["totalPrice"], json!(25.0));
    // A price cached wrongly (or changed behind the cache's back) is caught by the transaction.
    app.state
        .cache
        .set(
            &format!("event-price:{event}"),
            "1",
            std::time::Duration::from_secs(60),
        )
        .await
        .unwrap();
    let stale = app.book(&user, &key(), &event, 1).await;
    assert_eq!(stale.status, 201, "{}", stale.raw);
    assert_eq!(stale.body["data"]["unitPrice"], json!(12.5));
    assert_eq!(app.event(&event).await["availableTickets"], 96);
}

async fn failed_requests_do_not_consume_their_key(backend: Backend) {
    let app = TestApp::new(backend).await;
    let admin = app.admin_token().await;
    let (user, _) = app.quick_user(Role::User).await;
    let event = app.create_event(&admin, json!({ "totalTickets": 2 })).await;
    let k = key();
    app.book(&user, &k, &event, 5)
        .await
        .expect(409, "INSUFFICIENT_TICKETS");
    let retried = app.book(&user, &k, &event, 2).await;
    assert_eq!(retried.status, 201, "{}", retried.raw);
    assert_eq!(retried.header("idempotent-replayed"), None);
}

async fn bad_input_is_refused(backend: Backend) {
    let app = TestApp::new(backend).await;
    let admin = app.admin_token().await;
    let (user, _) = app.quick_user(Role::User).await;
    let event = app.create_event(&admin, json!({})).await;
    let body = json!({ "eventId": event, "quantity": 1 });
    app.call("POST", "/api/v1/bookings", None, Some(body.clone()))
        .await
        .expect(401, "UNAUTHORIZED");
    app.call("POST", "/api/v1/bookings", Some(&user), Some(body.clone()))
        .await
        .expect(400, "IDEMPOTENCY_KEY_MISSING");
    for bad_key in ["nope", "12345", "\"not-a-uuid\""] {
        let reply = app
            .call_with(
                "POST",
                "/api/v1/bookings",
                Some(&user),
                &[("idempotency-key", bad_key)],
                Some(body.clone()),
            )
            .await;
        reply.expect(400, "VALIDATION_ERROR");
    }
    for (quantity, field) in [
        (json!(0), "quantity"),
        (json!(11), "quantity"),
        (json!(1.5), "quantity"),
        (json!("2"), "quantity"),
        (json!(null), "quantity"),
    ] {
        let reply = app
            .call_with(
                "POST",
                "/api/v1/bookings",
                Some(&user),
                &[("idempotency-key", &key())],
                Some(json!({ "eventId": event, "quantity": quantity })),
            )
            .await;
        reply.expect(400, "VALIDATION_ERROR");
        assert_eq!(reply.field_errors(), vec![field]);
        assert_eq!(
            reply.body["errors"][0]["message"], "must be a whole number from 1 to 10",
            "the rule, not a type error, for {quantity}"
        );
    }
    let missing_quantity = app
        .call_with(
            "POST",
            "/api/v1/bookings",
            Some(&user),
            &[("idempotency-key", &key())],
            Some(json!({ "eventId": event })),
        )
        .await;
    assert_eq!(missing_quantity.field_errors(), vec!["quantity"]);
    let reply = app.book(&user, &key(), "not-an-id", 1).await;
    reply.expect(400, "VALIDATION_ERROR");
    assert_eq!(reply.field_errors(), vec!["eventId"]);
    app.book(&user, &key(), &ulid::Ulid::new().to_string(), 1)
        .await
        .expect(404, "NOT_FOUND");
    let extra = app
        .call_with(
            "POST",
            "/api/v1/bookings",
            Some(&user),
            &[("idempotency-key", &key())],
            Some(json!({ "eventId": event, "quantity": 1, "price": 0 })),
        )
        .await;
    extra.expect(400, "VALIDATION_ERROR");
    assert_eq!(extra.field_errors(), vec!["price"]);
    // The unknown field and the quantity's rule in one reply; nothing was booked.
    let both = app
        .call_with(
            "POST",
            "/api/v1/bookings",
            Some(&user),
            &[("idempotency-key", &key())],
            Some(json!({ "eventId": event, "quantity": 0, "price": 0 })),
        )
        .await;
    both.expect(400, "VALIDATION_ERROR");
    assert_eq!(both.field_errors(), vec!["price", "quantity"]);
    assert_eq!(
        app.event(&event).await["availableTickets"],
        app.event(&event).await["totalTickets"]
    );
}

async fn unbookable_events_are_409(backend: Backend) {
    let app = TestApp::new(backend).await;
    let admin = app.admin_token().await;
    let (user, _) = app.quick_user(Role::User).await;
    let draft = app.create_event(&admin, json!({ "status": "draft" })).await;
    app.book(&user, &key(), &draft, 1)
        .await
        .expect(409, "EVENT_NOT_BOOKABLE");
    let cancelled = app.create_event(&admin, json!({})).await;
    app.call(
        "PUT",
        &format!("/api/v1/events/{cancelled}"),
        Some(&admin),
        Some(json!({ "status": "cancelled" })),
    )
    .await;
    app.book(&user, &key(), &cancelled, 1)
        .await
        .expect(409, "EVENT_NOT_BOOKABLE");
    // An event that has started (written straight to the store: the API refuses past dates).
    let mut past = ticketing_tests::sample_event(
        10,
        ticketing::domain::EventStatus::Published,
        chrono::Utc::now() - chrono::Duration::minutes(5),
    );
    past.name = "Started".into();
    app.state.store.create_event(&past).await.unwrap();
    app.book(&user, &key(), &past.id.to_string(), 1)
        .await
        .expect(409, "EVENT_NOT_BOOKABLE");
    let small = app.create_event(&admin, json!({ "totalTickets": 1 })).await;
    app.book(&user, &key(), &small, 2)
        .await
        .expect(409, "INSUFFICIENT_TICKETS");
}

async fn list_get_and_ownership(backend: Backend) {
    let app = TestApp::new(backend).await;
    let admin = app.admin_token().await;
    let (alice, _) = app.quick_user(Role::User).await;
    let (bob, _) = app.quick_user(Role::User).await;
    let event = app.create_event(&admin, json!({})).await;
    let mut mine = Vec::new();
    for _ in 0..3 {
        mine.push(
            app.book(&alice, &key(), &event, 1).await.body["data"]["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    app.book(&bob, &key(), &event, 1).await;
    app.call(
        "PATCH",
        &format!("/api/v1/bookings/{}/cancel", mine[0]),
        Some(&alice),
        None,
    )
    .await;

    let list = app
        .call("GET", "/api/v1/bookings", Some(&alice), None)
        .await;
    let listed: Vec<_> = list.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        listed,
        mine.iter().rev().cloned().collect::<Vec<_>>(),
        "newest first, own only"
    );
    assert_eq!(list.body["meta"]["total"], 3);
    let confirmed = app
        .call(
            "GET",
            "/api/v1/bookings?status=confirmed",
            Some(&alice),
            None,
        )
        .await;
    assert_eq!(confirmed.body["meta"]["total"], 2);
    let cancelled = app
        .call(
            "GET",
            "/api/v1/bookings?status=cancelled&limit=1",
            Some(&alice),
            None,
        )
        .await;
    assert_eq!(cancelled.body["data"][0]["id"], mine[0].as_str());
    let paged = app
        .call("GET", "/api/v1/bookings?limit=2&page=2", Some(&alice), None)
        .await;
    assert_eq!(
        paged.body["meta"],
        json!({ "page": 2, "limit": 2, "total": 3, "totalPages": 2, "hasNext": false, "hasPrev": true })
    );
    // The filter takes the checkout's statuses too (none here: payments are off).
    let pending = app
        .call("GET", "/api/v1/bookings?status=pending", Some(&alice), None)
        .await;
    pending.expect(200, "");
    assert_eq!(pending.body["meta"]["total"], 0);
    app.call("GET", "/api/v1/bookings?status=held", Some(&alice), None)
        .await
        .expect(400, "VALIDATION_ERROR");
    app.call("GET", "/api/v1/bookings?limit=500", Some(&alice), None)
        .await
        .expect(400, "VALIDATION_ERROR");

    let uri = format!("/api/v1/bookings/{}", mine[1]);
    assert_eq!(app.call("GET", &uri, Some(&alice), None).await.status, 200);
    assert_eq!(app.call("GET", &uri, Some(&admin), None).await.status, 200);
    app.call("GET", &uri, Some(&bob), None)
        .await
        .expect(404, "NOT_FOUND");
    app.call("PATCH", &format!("{uri}/cancel"), Some(&bob), None)
        .await
        .expect(404, "NOT_FOUND");
    app.call("GET", "/api/v1/bookings/garbage", Some(&alice), None)
        .await
        .expect(400, "VALIDATION_ERROR");
    app.call(
        "GET",
        &format!("/api/v1/bookings/{}", ulid::Ulid::new()),
        Some(&alice),
        None,
    )
    .await
    .expect(404, "NOT_FOUND");
    app.call("GET", "/api/v1/bookings", None, None)
        .await
        .expect(401, "UNAUTHORIZED");
}

async fn cancel_once_restores_tickets_once(backend: Backend) {
    let app = Arc::new(TestApp::new(backend).await);
    let admin = app.admin_token().await;
    let (user, _) = app.quick_user(Role::User).await;
    let event = app
        .create_event(&admin, json!({ "totalTickets": 10 }))
        .await;
    let booking = app.book(&user, &key(), &event, 4).await.body["data"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let uri = format!("/api/v1/bookings/{booking}/cancel");
    let tasks = (0..8).map(|_| {
        let (app, uri, user) = (app.clone(), uri.clone(), user.clone());
        tokio::spawn(async move { app.call_carefully("PATCH", &uri, Some(&user)).await })
    });
    let replies: Vec<Reply> = futures::future::join_all(tasks)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let ok: Vec<_> = replies.iter().filter(|r| r.status == 200).collect();
    assert_eq!(
        ok.len(),
        1,
        "{:?}",
        replies.iter().map(|r| &r.raw).collect::<Vec<_>>()
    );
    assert_eq!(ok[0].body["data"]["status"], "cancelled");
    assert!(ok[0].body["data"]["cancelledAt"].is_string());
    for r in replies.iter().filter(|r| r.status != 200) {
        r.expect(409, "BOOKING_NOT_CANCELLABLE");
    }
    assert_eq!(app.event(&event).await["availableTickets"], 10);
    app.call("PATCH", &uri, Some(&user), None)
        .await
        .expect(409, "BOOKING_NOT_CANCELLABLE");
}

async fn same_key_concurrently_books_once(backend: Backend) {
    let app = Arc::new(TestApp::new(backend).await);
    let admin = app.admin_token().await;
    let (user, _) = app.quick_user(Role::User).await;
    let event = app
        .create_event(&admin, json!({ "totalTickets": 100 }))
        .await;
    let k = key();
    let tasks = (0..20).map(|_| {
        let (app, user, event, k) = (app.clone(), user.clone(), event.clone(), k.clone());
        tokio::spawn(async move { app.book_carefully(&user, &k, &event, 2).await })
    });
    let replies: Vec<Reply> = futures::future::join_all(tasks)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    // Every careful client ends with the one booking: the first answer or its replay.
    for r in &replies {
        assert_eq!(r.status, 201, "{}", r.raw);
    }
    let created: Vec<_> = replies.iter().collect();
    let ids: HashSet<_> = created
        .iter()
        .map(|r| r.body["data"]["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), 1, "one booking");
    assert_eq!(
        created
            .iter()
            .filter(|r| r.header("idempotent-replayed").is_none())
            .count(),
        1,
        "one first answer"
    );
    assert_eq!(app.event(&event).await["availableTickets"], 98);
    let list = app.call("GET", "/api/v1/bookings", Some(&user), None).await;
    assert_eq!(list.body["meta"]["total"], 1);
}

async fn durable_guard_replays_after_the_cache_lost_the_key(backend: Backend) {
    let store = store_for(backend).await;
    let admin_app = TestApp::with_store(backend, store.clone()).await;
    let admin = admin_app.admin_token().await;
    let (user, _) = admin_app.quick_user(Role::User).await;
    let event = admin_app
        .create_event(&admin, json!({ "totalTickets": 5 }))
        .await;
    let k = key();
    let first = admin_app.book(&user, &k, &event, 2).await;
    assert_eq!(first.status, 201);
    // A fresh, empty cache: as if Redis was flushed or lost the key.
    let forgetful = TestApp::with_store(backend, store).await;
    let again = forgetful.book(&user, &k, &event, 2).await;
    assert_eq!(again.status, 201, "{}", again.raw);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(again.raw, first.raw, "byte-for-byte from the durable guard");
    forgetful
        .book(&user, &k, &event, 1)
        .await
        .expect(422, "IDEMPOTENCY_KEY_REUSED");
    assert_eq!(forgetful.event(&event).await["availableTickets"], 3);
}

/// Redis stalls as a booking finishes, so its marker is neither replaced by the 201 nor cleared:
/// the finished booking is replayed from the durable guard (never `IN_USE`), and a failed
/// request's leftover marker frees its key within the marker's short lease.
async fn a_marker_left_behind_by_a_redis_blip_does_not_hold_its_key(backend: Backend) {
    let store = store_for(backend).await;
    let cache = Arc::new(RecordingCache::new(cache_for(backend).await));
    let app = TestApp::with_parts(backend, Config::for_tests(), store, cache.clone());
    let admin = app.admin_token().await;
    let (user, _) = app.quick_user(Role::User).await;
    let event = app.create_event(&admin, json!({ "totalTickets": 5 })).await;

    let k = key();
    cache.blip.store(true, Ordering::SeqCst);
    let first = app.book(&user, &k, &event, 2).await;
    cache.blip.store(false, Ordering::SeqCst);
    assert_eq!(first.status, 201, "{}", first.raw);
    let again = app.book(&user, &k, &event, 2).await;
    assert_eq!(again.status, 201, "{}", again.raw);
    assert_eq!(again.raw, first.raw, "the guard's byte-exact 201");
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    app.book(&user, &k, &event, 1)
        .await
        .expect(422, "IDEMPOTENCY_KEY_REUSED");
    assert_eq!(app.event(&event).await["availableTickets"], 3);

    // A refused request (more than is left) whose marker could not be cleared.
    let k2 = key();
    cache.blip.store(true, Ordering::SeqCst);
    app.book(&user, &k2, &event, 4)
        .await
        .expect(409, "INSUFFICIENT_TICKETS");
    cache.blip.store(false, Ordering::SeqCst);
    let deadline = std::time::Instant::now() + IN_FLIGHT_TTL + std::time::Duration::from_secs(10);
    let retried = loop {
        let reply = app.book(&user, &k2, &event, 4).await;
        if reply.code() != "IDEMPOTENCY_KEY_IN_USE" {
            break reply;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the leftover marker still holds its key"
        );
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    };
    // Answered on its merits again (still more than is left), and nothing was booked.
    retried.expect(409, "INSUFFICIENT_TICKETS");
    assert_eq!(app.event(&event).await["availableTickets"], 3);
}

/// A replay whose event was deleted since (and whose key the cache lost) is the original 201
/// from the durable guard, not a 404.
async fn a_key_is_replayed_after_its_event_is_gone(backend: Backend) {
    let store = store_for(backend).await;
    let app = TestApp::with_store(backend, store.clone()).await;
    let admin = app.admin_token().await;
    let (user, _) = app.quick_user(Role::User).await;
    let event = app.create_event(&admin, json!({ "totalTickets": 5 })).await;
    let k = key();
    let first = app.book(&user, &k, &event, 2).await;
    assert_eq!(first.status, 201, "{}", first.raw);
    let id = first.body["data"]["id"].as_str().unwrap().to_owned();
    let cancel = app
        .call(
            "PATCH",
            &format!("/api/v1/bookings/{id}/cancel"),
            Some(&user),
            None,
        )
        .await;
    assert_eq!(cancel.status, 200, "{}", cancel.raw);
    let deleted = app
        .call(
            "DELETE",
            &format!("/api/v1/events/{event}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(deleted.status, 200, "{}", deleted.raw);

    let forgetful = TestApp::with_store(backend, store).await;
    let again = forgetful.book(&user, &k, &event, 2).await;
    assert_eq!(again.status, 201, "{}", again.raw);
    assert_eq!(again.raw, first.raw);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    forgetful
        .book(&user, &k, &event, 1)
        .await
        .expect(422, "IDEMPOTENCY_KEY_REUSED");
    forgetful
        .book(&user, &key(), &event, 2)
        .await
        .expect(404, "NOT_FOUND");
}

async fn contention_is_retried_then_503(backend: Backend) {
    let store = store_for(backend).await;
    let contended = Arc::new(ContendedStore::new(store, 0));
    let app = TestApp::with_store(backend, contended.clone()).await;
    let admin = app.admin_token().await;
    let (user, _) = app.quick_user(Role::User).await;
    let event = app.create_event(&admin, json!({ "totalTickets": 5 })).await;

    // Two conflicts, then success: the client never sees them.
    contended.failures.store(2, Ordering::SeqCst);
    let k = key();
    let reply = app.book(&user, &k, &event, 1).await;
    assert_eq!(reply.status, 201, "{}", reply.raw);
    assert_eq!(contended.book_calls.load(Ordering::SeqCst), 3);

    // Endless conflicts: 503 with Retry-After, never 500, nothing booked, key not consumed.
    contended.failures.store(1_000, Ordering::SeqCst);
    let k2 = key();
    let reply = app.book(&user, &k2, &event, 1).await;
    reply.expect(503, "SERVICE_UNAVAILABLE");
    assert!(reply.header("retry-after").is_some());
    assert!(
        !reply.raw.contains("Transaction"),
        "no internal text: {}",
        reply.raw
    );
    contended.failures.store(0, Ordering::SeqCst);
    let retried = app.book(&user, &k2, &event, 1).await;
    assert_eq!(retried.status, 201, "{}", retried.raw);
    assert_eq!(retried.header("idempotent-replayed"), None);
    assert_eq!(app.event(&event).await["availableTickets"], 3);
}

async fn flash_sale_never_oversells(backend: Backend) {
    flash_sale(Arc::new(TestApp::new(backend).await), 100, 500).await;
}

/// The same rush on DynamoDB's partition limits (scaled to 5 %: 50 write units a second per
/// partition, so one event item takes ~25 bookings a second): the limits bind — throttles and
/// transaction conflicts happen, the service retries, careful clients retry its 503s — and the
/// sale still ends exact.
async fn flash_sale_on_the_partition_model_never_oversells(backend: Backend) {
    let model = Arc::new(PartitionModelStore::new(
        store_for(backend).await,
        Limits::scaled(0.05),
    ));
    let app = TestApp::with_store(backend, model.clone()).await;
    flash_sale(Arc::new(app), 100, 300).await;
    let refused = model.refusals.throttled.load(Ordering::Relaxed)
        + model.refusals.conflicts.load(Ordering::Relaxed);
    assert!(refused > 0, "the model's limits never bound");
}

/// `requests` bookings of `quantity(i)` tickets by 50 users, 64 at a time, each as a careful
/// client; each answer with the token of the user who got it.
async fn rush(
    app: &Arc<TestApp>,
    event: &str,
    requests: usize,
    quantity: fn(usize) -> i64,
) -> Vec<(String, Reply)> {
    let mut users = Vec::new();
    for _ in 0..50 {
        users.push(app.quick_user(Role::User).await.0);
    }
    let gate = Arc::new(tokio::sync::Semaphore::new(64));
    let tasks = (0..requests).map(|i| {
        let (app, event, user, gate) = (
            app.clone(),
            event.to_owned(),
            users[i % users.len()].clone(),
            gate.clone(),
        );
        tokio::spawn(async move {
            let _permit = gate.acquire().await.unwrap();
            let reply = app.book_carefully(&user, &key(), &event, quantity(i)).await;
            (user, reply)
        })
    });
    futures::future::join_all(tasks)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect()
}

/// A sale's answers: each 201 or 409 `INSUFFICIENT_TICKETS`, exactly `tickets` sold, every
/// ticket number unique. Returns the tickets sold.
fn check_sale<'a>(replies: impl Iterator<Item = &'a Reply>, tickets: u64) -> u64 {
    let mut sold = 0;
    let mut numbers = HashSet::new();
    for r in replies {
        let ok = r.status == 201 || (r.status == 409 && r.code() == "INSUFFICIENT_TICKETS");
        assert!(ok, "unexpected answer: {} {}", r.status, r.raw);
        if r.status == 201 {
            sold += r.body["data"]["quantity"].as_u64().unwrap();
            for number in r.body["data"]["ticketNumbers"].as_array().unwrap() {
                assert!(
                    numbers.insert(number.as_str().unwrap().to_owned()),
                    "ticket number {number} sold twice"
                );
            }
        }
    }
    assert_eq!(sold, tickets, "exactly the tickets there are");
    assert_eq!(numbers.len() as u64, tickets, "one number per ticket");
    sold
}

/// `requests` one-ticket bookings by 50 users, 64 at a time, on an event of `tickets`, each as
/// a careful client; then exactly `tickets` sold, unique ticket numbers, and the counter equal to
/// what the bookings say.
async fn flash_sale(app: Arc<TestApp>, tickets: u64, requests: usize) {
    let admin = app.admin_token().await;
    let event = app
        .create_event(&admin, json!({ "totalTickets": tickets }))
        .await;
    let replies: Vec<Reply> = rush(&app, &event, requests, |_| 1)
        .await
        .into_iter()
        .map(|(_, reply)| reply)
        .collect();
    let created: Vec<&Reply> = replies.iter().filter(|r| r.status == 201).collect();
    assert_eq!(
        created.len() as u64,
        tickets,
        "exactly the tickets there are"
    );
    let sold = check_sale(replies.iter(), tickets);
    let event = app.event(&event).await;
    assert_eq!(
        event["availableTickets"].as_u64().unwrap(),
        event["totalTickets"].as_u64().unwrap() - sold
    );
}

/// The app with events split over up to 8 shards of `tickets_per_shard` each.
async fn sharded_app(backend: Backend, tickets_per_shard: u32) -> Arc<TestApp> {
    let mut config = Config::for_tests();
    config.shard_rule = ShardRule {
        tickets_per_shard,
        max_shards: 8,
    };
    Arc::new(TestApp::with_config(backend, config).await)
}

/// The event's shards as the store holds them: (available, confirmed) per shard.
async fn shards_of(app: &TestApp, event: &str) -> Vec<(u32, u32)> {
    let id: EventId = event.parse().unwrap();
    let stored = app.state.store.event_by_id(id).await.unwrap().unwrap();
    app.state
        .store
        .inventories(&[(id, stored.inventory_shards)])
        .await
        .unwrap()
        .remove(&id)
        .unwrap()
        .shards
        .iter()
        .map(|s| (s.available, s.confirmed))
        .collect()
}

/// 500 careful clients book 1-4 tickets each of an event of 100 split over 8 shards: exactly
/// 100 sold, the shards' sum is what the event shows and what the bookings left, every ticket
/// number unique; then every booking is cancelled twice at once and each gives back once.
async fn sharded_event_sells_exactly_and_cancels_give_back_once(backend: Backend) {
    let app = sharded_app(backend, 13).await;
    let admin = app.admin_token().await;
    let event = app
        .create_event(&admin, json!({ "totalTickets": 100 }))
        .await;
    let initial = shards_of(&app, &event).await;
    assert_eq!(initial.len(), 8, "100 tickets at 13 a shard");
    let replies = rush(&app, &event, 500, |i| (i % 4 + 1) as i64).await;
    check_sale(replies.iter().map(|(_, r)| r), 100);
    let created: Vec<&(String, Reply)> = replies.iter().filter(|(_, r)| r.status == 201).collect();
    let shards = shards_of(&app, &event).await;
    assert_eq!(shards.iter().map(|s| s.0).sum::<u32>(), 0);
    assert_eq!(
        shards.iter().map(|s| s.1).sum::<u32>() as usize,
        created.len(),
        "Σ confirmed over the shards is the number of bookings"
    );
    assert_eq!(app.event(&event).await["availableTickets"], 0);

    // Each booking cancelled by two careful clients at once: one 200, one 409.
    let mut cancels = Vec::new();
    for (user, r) in &created {
        let uri = format!(
            "/api/v1/bookings/{}/cancel",
            r.body["data"]["id"].as_str().unwrap()
        );
        for _ in 0..2 {
            let (app, uri, user) = (app.clone(), uri.clone(), user.clone());
            cancels.push(tokio::spawn(async move {
                app.call_carefully("PATCH", &uri, Some(&user)).await
            }));
        }
    }
    let cancelled: Vec<Reply> = futures::future::join_all(cancels)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        cancelled.iter().filter(|r| r.status == 200).count(),
        created.len()
    );
    for r in cancelled.iter().filter(|r| r.status != 200) {
        r.expect(409, "BOOKING_NOT_CANCELLABLE");
    }
    assert_eq!(
        shards_of(&app, &event).await,
        initial,
        "every ticket back where it came from"
    );
    assert_eq!(app.event(&event).await["availableTickets"], 100);
}

/// A quantity larger than any one shard holds, but not than the event: taken from several
/// shards in one transaction; one more than the event holds is refused.
async fn a_booking_larger_than_any_shard_succeeds(backend: Backend) {
    let app = sharded_app(backend, 2).await;
    let admin = app.admin_token().await;
    let (user, _) = app.quick_user(Role::User).await;
    let event = app
        .create_event(&admin, json!({ "totalTickets": 20 }))
        .await;
    assert_eq!(
        shards_of(&app, &event).await,
        vec![
            (3, 0),
            (3, 0),
            (3, 0),
            (3, 0),
            (2, 0),
            (2, 0),
            (2, 0),
            (2, 0)
        ]
    );
    let big = app.book(&user, &key(), &event, 10).await;
    assert_eq!(big.status, 201, "{}", big.raw);
    assert_eq!(app.event(&event).await["availableTickets"], 10);
    let rest = app.book(&user, &key(), &event, 10).await;
    assert_eq!(rest.status, 201, "{}", rest.raw);
    app.book(&user, &key(), &event, 1)
        .await
        .expect(409, "INSUFFICIENT_TICKETS");
    assert!(shards_of(&app, &event).await.iter().all(|s| s.0 == 0));
    let id = big.body["data"]["id"].as_str().unwrap();
    let cancelled = app
        .call(
            "PATCH",
            &format!("/api/v1/bookings/{id}/cancel"),
            Some(&user),
            None,
        )
        .await;
    assert_eq!(cancelled.status, 200, "{}", cancelled.raw);
    assert_eq!(app.event(&event).await["availableTickets"], 10);
    assert_eq!(
        shards_of(&app, &event)
            .await
            .iter()
            .map(|s| s.0)
            .sum::<u32>(),
        10
    );
}

/// `maxTicketsPerUser` through the API: set, shown, changed and lifted by admins (bad values
/// named), and held per user under a burst of one user's orders on a 16-shard event: exactly
/// the limit is sold to them, every other order is 409 `TICKET_LIMIT_REACHED` with
/// `data.remaining`; lowering it cancels nothing.
async fn the_ticket_limit_per_user_holds(backend: Backend) {
    let app = Arc::new(TestApp::new(backend).await);
    let admin = app.admin_token().await;
    let id = app
        .create_event(
            &admin,
            json!({ "totalTickets": 40_000, "maxTicketsPerUser": 4 }),
        )
        .await;
    assert_eq!(app.event(&id).await["maxTicketsPerUser"], 4);
    let open = app.create_event(&admin, json!({})).await;
    assert_eq!(app.event(&open).await["maxTicketsPerUser"], json!(null));
    for bad in [json!(0), json!(101), json!(-1), json!("3"), json!(1.5)] {
        let body = json!({
            "name": "x", "venue": "y", "date": "2099-01-01T20:00:00Z", "price": 1,
            "totalTickets": 5, "maxTicketsPerUser": bad
        });
        let reply = app
            .call("POST", "/api/v1/events", Some(&admin), Some(body))
            .await;
        reply.expect(400, "VALIDATION_ERROR");
        assert_eq!(reply.field_errors(), vec!["maxTicketsPerUser"], "{bad}");
        let reply = app
            .call(
                "PUT",
                &format!("/api/v1/events/{id}"),
                Some(&admin),
                Some(json!({ "maxTicketsPerUser": bad })),
            )
            .await;
        reply.expect(400, "VALIDATION_ERROR");
    }

    let (ada, _) = app.quick_user(Role::User).await;
    let orders = (0..20).map(|_| {
        let (app, ada, id) = (app.clone(), ada.clone(), id.clone());
        async move { app.book_carefully(&ada, &key(), &id, 1).await }
    });
    let replies = futures::future::join_all(orders).await;
    let sold = replies.iter().filter(|r| r.status == 201).count();
    assert_eq!(sold, 4, "one user's burst sold past the limit");
    for refused in replies.iter().filter(|r| r.status != 201) {
        refused.expect(409, "TICKET_LIMIT_REACHED");
        assert_eq!(
            refused.body["data"],
            json!({ "remaining": 0 }),
            "{}",
            refused.raw
        );
    }
    assert_eq!(app.event(&id).await["availableTickets"], 40_000 - 4);
    let (bob, _) = app.quick_user(Role::User).await;
    let too_many = app.book(&bob, &key(), &id, 5).await;
    too_many.expect(409, "TICKET_LIMIT_REACHED");
    assert_eq!(too_many.body["data"], json!({ "remaining": 4 }));
    app.book(&bob, &key(), &id, 3).await.expect(201, "");
    let one_left = app.book(&bob, &key(), &id, 2).await;
    assert_eq!(one_left.body["data"], json!({ "remaining": 1 }));

    // Lowered below what Ada holds: her bookings stand, and she gets no more.
    let path = format!("/api/v1/events/{id}");
    let lowered = app
        .call(
            "PUT",
            &path,
            Some(&admin),
            Some(json!({ "maxTicketsPerUser": 2 })),
        )
        .await;
    lowered.expect(200, "");
    assert_eq!(lowered.body["data"]["maxTicketsPerUser"], 2);
    let mine = app
        .call("GET", "/api/v1/bookings?status=confirmed", Some(&ada), None)
        .await;
    assert_eq!(mine.body["meta"]["total"], 4);
    let refused = app.book(&ada, &key(), &id, 1).await;
    refused.expect(409, "TICKET_LIMIT_REACHED");
    assert_eq!(refused.body["data"], json!({ "remaining": 0 }));
    // Lifted: only the per-order limit applies.
    app.call(
        "PUT",
        &path,
        Some(&admin),
        Some(json!({ "maxTicketsPerUser": null })),
    )
    .await
    .expect(200, "");
    assert_eq!(app.event(&id).await["maxTicketsPerUser"], json!(null));
    app.book(&ada, &key(), &id, 10).await.expect(201, "");
}

on_both_backends!(
    the_ticket_limit_per_user_holds,
    a_marker_left_behind_by_a_redis_blip_does_not_hold_its_key,
    a_key_is_replayed_after_its_event_is_gone,
    booking_decrements_and_returns_the_booking,
    replays_are_byte_identical_and_reuse_is_422,
    failed_requests_do_not_consume_their_key,
    bookings_are_charged_the_current_price,
    bad_input_is_refused,
    unbookable_events_are_409,
    list_get_and_ownership,
    cancel_once_restores_tickets_once,
    same_key_concurrently_books_once,
    durable_guard_replays_after_the_cache_lost_the_key,
    contention_is_retried_then_503,
    flash_sale_never_oversells,
    flash_sale_on_the_partition_model_never_oversells,
    sharded_event_sells_exactly_and_cancels_give_back_once,
    a_booking_larger_than_any_shard_succeeds,
);

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bookings_work_without_redis_and_the_guard_still_holds() {
    let store = store_for(Backend::Real).await;
    let dead = Arc::new(RedisCache::new("redis://127.0.0.1:1", "x:"));
    let app = TestApp::with_parts(Backend::Real, Config::for_tests(), store, dead);
    let admin = app.admin_token().await;
    let (user, _) = app.quick_user(Role::User).await;
    let event = app.create_event(&admin, json!({ "totalTickets": 5 })).await;
    let k = key();
    let first = app.book(&user, &k, &event, 2).await;
    assert_eq!(first.status, 201, "{}", first.raw);
    let again = app.book(&user, &k, &event, 2).await;
    assert_eq!(
        (again.status.as_u16(), again.raw.as_str()),
        (201, first.raw.as_str())
    );
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(app.event(&event).await["availableTickets"], 3);
}
