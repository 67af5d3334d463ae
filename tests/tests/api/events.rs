//! The contract's Events section, on both backends.

use chrono::{Duration, Utc};
use serde_json::{json, Value};
use std::sync::Arc;
use ticketing::cache::keys;
use ticketing::config::Config;
use ticketing::domain::Role;
use ticketing::ids::EventId;
use ticketing_tests::{cache_for, on_both_backends, store_for, Backend, RecordingCache, TestApp};

fn ids(reply: &ticketing_tests::Reply) -> Vec<String> {
    reply.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap().to_owned())
        .collect()
}

fn days(n: i64) -> String {
    (Utc::now() + Duration::days(n)).to_rfc3339()
}

async fn create_and_read_an_event(backend: Backend) {
    let app = TestApp::new(backend).await;
    let admin = app.admin_token().await;
    let id = app
        .create_event(&admin, json!({ "price": 19.99, "totalTickets": 50 }))
        .await;
    let event = app.event(&id).await;
    assert_eq!(event["price"], json!(19.99));
    assert_eq!(
        (
            event["totalTickets"].as_u64(),
            event["availableTickets"].as_u64()
        ),
        (Some(50), Some(50))
    );
    assert_eq!(event["status"], "published");
    for key in [
        "id",
        "name",
        "description",
        "venue",
        "date",
        "createdAt",
        "updatedAt",
    ] {
        assert!(event[key].is_string(), "{key} in {event}");
    }
    assert!(event.get("deletedAt").is_none() && event.get("confirmedBookings").is_none());
    // Malformed path id: 400, not 404.
    let reply = app
        .call("GET", "/api/v1/events/not-an-id", None, None)
        .await;
    reply.expect(400, "VALIDATION_ERROR");
    // An overflowing spelling of this very id (first character past '7') is no id at all:
    // one event has one spelling.
    let id = event["id"].as_str().unwrap();
    let alias = format!("{}{}", (id.as_bytes()[0] + 8) as char, &id[1..]);
    app.call("GET", &format!("/api/v1/events/{alias}"), None, None)
        .await
        .expect(400, "VALIDATION_ERROR");
    app.call(
        "GET",
        &format!("/api/v1/events/8{}", "Z".repeat(25)),
        None,
        None,
    )
    .await
    .expect(400, "VALIDATION_ERROR");
    app.call(
        "GET",
        &format!("/api/v1/events/{}", ulid::Ulid::new()),
        None,
        None,
    )
    .await
    .expect(404, "NOT_FOUND");
}

async fn admin_routes_need_an_admin(backend: Backend) {
    let app = TestApp::new(backend).await;
    let (user, _) = app.quick_user(Role::User).await;
    let body = json!({ "name": "x", "venue": "v", "date": days(3), "price": 1, "totalTickets": 1 });
    app.call("POST", "/api/v1/events", None, Some(body.clone()))
        .await
        .expect(401, "UNAUTHORIZED");
    app.call("POST", "/api/v1/events", Some(&user), Some(body.clone()))
        .await
        .expect(403, "FORBIDDEN");
    let admin = app.admin_token().await;
    let id = app.create_event(&admin, json!({})).await;
    let uri = format!("/api/v1/events/{id}");
    app.call("PUT", &uri, Some(&user), Some(json!({ "name": "y" })))
        .await
        .expect(403, "FORBIDDEN");
    app.call("DELETE", &uri, Some(&user), None)
        .await
        .expect(403, "FORBIDDEN");
    app.call("DELETE", &uri, None, None)
        .await
        .expect(401, "UNAUTHORIZED");
}

async fn every_validation_rule_names_its_field(backend: Backend) {
    let app = TestApp::new(backend).await;
    let admin = app.admin_token().await;
    let good = json!({ "name": "x", "description": "d", "venue": "v", "date": days(3), "price": 10, "totalTickets": 5 });
    let with = |k: &str, v: Value| {
        let mut b = good.clone();
        b[k] = v;
        b
    };
    let cases = [
        (
            with("date", json!((Utc::now() - Duration::days(1)).to_rfc3339())),
            "date",
        ),
        (with("date", json!("next friday")), "date"),
        (with("price", json!(-1)), "price"),
        (with("price", json!(100000.01)), "price"),
        (with("price", json!(9.999)), "price"),
        (with("price", json!("10")), "price"),
        (with("totalTickets", json!(0)), "totalTickets"),
        (with("totalTickets", json!(1_000_001)), "totalTickets"),
        (with("totalTickets", json!(2.5)), "totalTickets"),
        (with("status", json!("cancelled")), "status"),
        (with("name", json!("")), "name"),
        (with("venue", json!("  ")), "venue"),
        (with("availableTickets", json!(5)), "availableTickets"),
        (with("date", Value::Null), "date"),
        (with("name", Value::Null), "name"),
    ];
    for (body, field) in cases {
        let reply = app
            .call("POST", "/api/v1/events", Some(&admin), Some(body.clone()))
            .await;
        reply.expect(400, "VALIDATION_ERROR");
        assert_eq!(reply.field_errors(), vec![field], "{body}");
    }
    // Unknown fields, a refused counter and the rules' own errors come back together.
    let mut body = with("price", json!(9.999));
    body["venue"] = json!(" ");
    body["availableTickets"] = json!(5);
    body["soldOut"] = json!(false);
    let reply = app
        .call("POST", "/api/v1/events", Some(&admin), Some(body.clone()))
        .await;
    reply.expect(400, "VALIDATION_ERROR");
    let mut fields = reply.field_errors();
    fields.sort();
    assert_eq!(
        fields,
        vec!["availableTickets", "price", "soldOut", "venue"],
        "{body}"
    );
    // Limits themselves are fine.
    app.create_event(
        &admin,
        json!({ "price": 100000, "totalTickets": 1_000_000 }),
    )
    .await;
    app.create_event(
        &admin,
        json!({ "price": 0, "totalTickets": 1, "status": "draft" }),
    )
    .await;
}

async fn update_is_partial_and_counters_are_refused(backend: Backend) {
    let app = TestApp::new(backend).await;
    let admin = app.admin_token().await;
    let id = app
        .create_event(&admin, json!({ "name": "Before", "venue": "Old Hall" }))
        .await;
    let uri = format!("/api/v1/events/{id}");
    let reply = app
        .call(
            "PUT",
            &uri,
            Some(&admin),
            Some(json!({ "name": "After", "price": 42.5 })),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.raw);
    let event = app.event(&id).await;
    assert_eq!(
        (
            event["name"].as_str(),
            event["venue"].as_str(),
            event["price"].clone()
        ),
        (Some("After"), Some("Old Hall"), json!(42.5))
    );
    for (field, value) in [("totalTickets", json!(10)), ("availableTickets", json!(10))] {
        let reply = app
            .call("PUT", &uri, Some(&admin), Some(json!({ field: value })))
            .await;
        reply.expect(400, "VALIDATION_ERROR");
        assert_eq!(reply.field_errors(), vec![field]);
    }
    app.call("PUT", &uri, Some(&admin), Some(json!({ "status": "sold" })))
        .await
        .expect(400, "VALIDATION_ERROR");
    let null_date = app
        .call("PUT", &uri, Some(&admin), Some(json!({ "date": null })))
        .await;
    null_date.expect(400, "VALIDATION_ERROR");
    assert_eq!(null_date.field_errors(), vec!["date"]);
    app.call(
        "PUT",
        &uri,
        Some(&admin),
        Some(json!({ "date": "2001-01-01T00:00:00Z" })),
    )
    .await
    .expect(400, "VALIDATION_ERROR");
    app.call(
        "PUT",
        &format!("/api/v1/events/{}", ulid::Ulid::new()),
        Some(&admin),
        Some(json!({ "name": "z" })),
    )
    .await
    .expect(404, "NOT_FOUND");
}

async fn drafts_are_for_admins_only(backend: Backend) {
    let app = TestApp::new(backend).await;
    let admin = app.admin_token().await;
    let (user, _) = app.quick_user(Role::User).await;
    let draft = app
        .create_event(&admin, json!({ "name": "Secret", "status": "draft" }))
        .await;
    app.create_event(&admin, json!({ "name": "Public" })).await;
    let public = app.call("GET", "/api/v1/events", None, None).await;
    assert_eq!(ids(&public), vec!["Public"]);
    assert_eq!(
        ids(&app.call("GET", "/api/v1/events", Some(&user), None).await),
        vec!["Public"]
    );
    assert_eq!(
        ids(&app
            .call("GET", "/api/v1/events?status=draft", None, None)
            .await),
        Vec::<String>::new()
    );
    let mut all = ids(&app.call("GET", "/api/v1/events", Some(&admin), None).await);
    all.sort();
    assert_eq!(all, vec!["Public", "Secret"]);
    app.call("GET", &format!("/api/v1/events/{draft}"), None, None)
        .await
        .expect(404, "NOT_FOUND");
    app.call("GET", &format!("/api/v1/events/{draft}"), Some(&user), None)
        .await
        .expect(404, "NOT_FOUND");
    assert_eq!(
        app.call(
            "GET",
            &format!("/api/v1/events/{draft}"),
            Some(&admin),
            None
        )
        .await
        .status,
        200
    );
}

async fn pagination_arithmetic(backend: Backend) {
    let app = TestApp::new(backend).await;
    let admin = app.admin_token().await;
    for i in 0..7 {
        app.create_event(
            &admin,
            json!({ "name": format!("E{i}"), "date": days(i + 1) }),
        )
        .await;
    }
    let page = |q: &str| {
        let uri = format!("/api/v1/events?{q}");
        let app = &app;
        async move { app.call("GET", &uri, None, None).await }
    };
    let first = page("limit=3").await;
    assert_eq!(ids(&first), vec!["E0", "E1", "E2"]);
    assert_eq!(
        first.body["meta"],
        json!({ "page": 1, "limit": 3, "total": 7, "totalPages": 3, "hasNext": true, "hasPrev": false })
    );
    let last = page("limit=3&page=3").await;
    assert_eq!(ids(&last), vec!["E6"]);
    assert_eq!(
        (
            last.body["meta"]["hasNext"].clone(),
            last.body["meta"]["hasPrev"].clone()
        ),
        (json!(false), json!(true))
    );
    let beyond = page("limit=3&page=9").await;
    assert_eq!(ids(&beyond), Vec::<String>::new());
    assert_eq!(page("").await.body["meta"]["limit"], 20);
    for bad in ["page=0", "page=x", "limit=0", "limit=101", "limit=-1"] {
        let reply = page(bad).await;
        reply.expect(400, "VALIDATION_ERROR");
        assert_eq!(
            reply.field_errors(),
            vec![bad.split('=').next().unwrap()],
            "{bad}"
        );
    }
}

async fn sorting_each_key_both_ways(backend: Backend) {
    let app = TestApp::new(backend).await;
    let admin = app.admin_token().await;
    // Names, prices and dates in different orders so each sort is distinguishable.
    app.create_event(
        &admin,
        json!({ "name": "bravo", "price": 30, "date": days(1) }),
    )
    .await;
    app.create_event(
        &admin,
        json!({ "name": "Alpha", "price": 20, "date": days(3) }),
    )
    .await;
    app.create_event(
        &admin,
        json!({ "name": "charlie", "price": 10, "date": days(2) }),
    )
    .await;
    let sorted = |q: &'static str| {
        let app = &app;
        async move {
            ids(&app
                .call("GET", &format!("/api/v1/events?{q}"), None, None)
                .await)
        }
    };
    assert_eq!(sorted("").await, vec!["bravo", "charlie", "Alpha"]);
    assert_eq!(
        sorted("sortBy=date&sortOrder=desc").await,
        vec!["Alpha", "charlie", "bravo"]
    );
    assert_eq!(
        sorted("sortBy=name").await,
        vec!["Alpha", "bravo", "charlie"]
    );
    assert_eq!(
        sorted("sortBy=name&sortOrder=desc").await,
        vec!["charlie", "bravo", "Alpha"]
    );
    assert_eq!(
        sorted("sortBy=price").await,
        vec!["charlie", "Alpha", "bravo"]
    );
    assert_eq!(
        sorted("sortBy=price&sortOrder=desc").await,
        vec!["bravo", "Alpha", "charlie"]
    );
    assert_eq!(
        sorted("sortBy=createdAt").await,
        vec!["bravo", "Alpha", "charlie"]
    );
    assert_eq!(
        sorted("sortBy=createdAt&sortOrder=desc").await,
        vec!["charlie", "Alpha", "bravo"]
    );
    app.call("GET", "/api/v1/events?sortBy=venue", None, None)
        .await
        .expect(400, "VALIDATION_ERROR");
    app.call("GET", "/api/v1/events?sortOrder=sideways", None, None)
        .await
        .expect(400, "VALIDATION_ERROR");
}

/// Search and venue filters compare by Unicode case folding, one folding for text and needle:
/// what lower-casing misses (ß, final sigma, ligatures) is found.
async fn search_folds_case_the_unicode_way(backend: Backend) {
    let app = TestApp::new(backend).await;
    let admin = app.admin_token().await;
    for (name, venue) in [
        ("Straßenfest", "Hof"),
        ("ΣΑΣΑ live", "Odeon"),
        ("ﬁesta", "Plaza Mayor"),
    ] {
        app.create_event(&admin, json!({ "name": name, "venue": venue }))
            .await;
    }
    for (query, expected) in [
        ("search=STRASSE", "Straßenfest"),
        ("search=stra%C3%9Fe", "Straßenfest"),
        ("search=%CE%A3%CE%91%CE%A3", "ΣΑΣΑ live"),
        ("search=fiesta", "ﬁesta"),
        ("search=FIESTA", "ﬁesta"),
        ("venue=PLAZA%20MAYOR", "ﬁesta"),
    ] {
        let reply = app
            .call("GET", &format!("/api/v1/events?{query}"), None, None)
            .await;
        assert_eq!(ids(&reply), vec![expected], "{query}");
    }
}

async fn filters_are_literal_and_combine(backend: Backend) {
    let app = TestApp::new(backend).await;
    let admin = app.admin_token().await;
    app.create_event(
        &admin,
        json!({ "name": "Jazz Night", "venue": "Blue Note", "price": 35, "date": days(5) }),
    )
    .await;
    app.create_event(
        &admin,
        json!({ "name": "Rock", "venue": "The .* Club", "price": 60, "date": days(20) }),
    )
    .await;
    app.create_event(&admin, json!({ "name": "Opera", "description": "an evening of JAZZ standards", "venue": "Hall (main)", "price": 120, "date": days(40) })).await;
    let q = |q: String| {
        let app = &app;
        async move {
            let mut names = ids(&app
                .call("GET", &format!("/api/v1/events?{q}"), None, None)
                .await);
            names.sort();
            names
        }
    };
    assert_eq!(q("venue=blue".into()).await, vec!["Jazz Night"]);
    assert_eq!(q("venue=.*".into()).await, vec!["Rock"]);
    assert_eq!(q("venue=%28main%29".into()).await, vec!["Opera"]);
    assert_eq!(q("venue=%5E".into()).await, Vec::<String>::new());
    assert_eq!(q("search=jazz".into()).await, vec!["Jazz Night", "Opera"]);
    assert_eq!(q("search=%5B".into()).await, Vec::<String>::new());
    assert_eq!(q("minPrice=50".into()).await, vec!["Opera", "Rock"]);
    assert_eq!(q("maxPrice=60".into()).await, vec!["Jazz Night", "Rock"]);
    assert_eq!(q("minPrice=40&maxPrice=100".into()).await, vec!["Rock"]);
    let from = (Utc::now() + Duration::days(10)).format("%Y-%m-%d");
    let to = (Utc::now() + Duration::days(30)).format("%Y-%m-%d");
    assert_eq!(q(format!("from={from}")).await, vec!["Opera", "Rock"]);
    assert_eq!(q(format!("to={to}")).await, vec!["Jazz Night", "Rock"]);
    assert_eq!(
        q(format!("from={from}&to={to}&search=rock")).await,
        vec!["Rock"]
    );
    assert_eq!(
        q("status=published&search=opera".into()).await,
        vec!["Opera"]
    );
    for (bad, field) in [
        ("minPrice=cheap", "minPrice"),
        ("maxPrice=1.234", "maxPrice"),
        ("from=soon", "from"),
        ("to=2020-13-01", "to"),
        ("status=open", "status"),
        ("minPrice=9&maxPrice=1", "maxPrice"),
    ] {
        let reply = app
            .call("GET", &format!("/api/v1/events?{bad}"), None, None)
            .await;
        reply.expect(400, "VALIDATION_ERROR");
        assert_eq!(reply.field_errors(), vec![field], "{bad}");
    }
}

async fn soft_delete_then_404_everywhere(backend: Backend) {
    let app = TestApp::new(backend).await;
    let admin = app.admin_token().await;
    let (user, _) = app.quick_user(Role::User).await;
    let id = app.create_event(&admin, json!({ "name": "Doomed" })).await;
    let uri = format!("/api/v1/events/{id}");
    app.event(&id).await; // warm the cache
    assert_eq!(
        app.call("DELETE", &uri, Some(&admin), None).await.status,
        200
    );
    app.call("GET", &uri, None, None)
        .await
        .expect(404, "NOT_FOUND");
    app.call("GET", &uri, Some(&admin), None)
        .await
        .expect(404, "NOT_FOUND");
    app.call("PUT", &uri, Some(&admin), Some(json!({ "name": "Back" })))
        .await
        .expect(404, "NOT_FOUND");
    app.call("DELETE", &uri, Some(&admin), None)
        .await
        .expect(404, "NOT_FOUND");
    assert!(ids(&app.call("GET", "/api/v1/events", Some(&admin), None).await).is_empty());
    app.book(&user, &uuid::Uuid::new_v4().to_string(), &id, 1)
        .await
        .expect(404, "NOT_FOUND");
}

async fn delete_is_blocked_while_bookings_exist(backend: Backend) {
    let app = TestApp::new(backend).await;
    let admin = app.admin_token().await;
    let (user, _) = app.quick_user(Role::User).await;
    let id = app.create_event(&admin, json!({})).await;
    let booked = app
        .book(&user, &uuid::Uuid::new_v4().to_string(), &id, 2)
        .await;
    assert_eq!(booked.status, 201, "{}", booked.raw);
    let uri = format!("/api/v1/events/{id}");
    app.call("DELETE", &uri, Some(&admin), None)
        .await
        .expect(409, "EVENT_HAS_ACTIVE_BOOKINGS");
    let booking_id = booked.body["data"]["id"].as_str().unwrap();
    assert_eq!(
        app.call(
            "PATCH",
            &format!("/api/v1/bookings/{booking_id}/cancel"),
            Some(&user),
            None
        )
        .await
        .status,
        200
    );
    assert_eq!(
        app.call("DELETE", &uri, Some(&admin), None).await.status,
        200
    );
}

/// Reads right after writes show them, yet bookings and cancels (inventory) invalidate no cached
/// read and write nothing to the catalog index; catalog writes do both.
async fn reads_after_writes_are_fresh(backend: Backend) {
    let cache = Arc::new(RecordingCache::new(cache_for(backend).await));
    let app = TestApp::with_parts(
        backend,
        Config::for_tests(),
        store_for(backend).await,
        cache.clone(),
    );
    let store = app.state.store.clone();
    let admin = app.admin_token().await;
    let (user, _) = app.quick_user(Role::User).await;
    let id = app
        .create_event(&admin, json!({ "totalTickets": 10 }))
        .await;
    let list_available = || {
        let app = &app;
        async move {
            app.call("GET", "/api/v1/events", None, None).await.body["data"][0]["availableTickets"]
                .clone()
        }
    };
    // Prime the caches and the projection, then write, then read.
    assert_eq!(app.event(&id).await["availableTickets"], 10);
    assert_eq!(list_available().await, 10);
    let version = store.catalog_version().await.unwrap();
    let before_bookings = Utc::now();
    cache.drain();
    let booked = app
        .book(&user, &uuid::Uuid::new_v4().to_string(), &id, 3)
        .await;
    assert_eq!(app.event(&id).await["availableTickets"], 7);
    assert_eq!(list_available().await, 7);
    let booking_id = booked.body["data"]["id"].as_str().unwrap();
    let cancelled = app
        .call(
            "PATCH",
            &format!("/api/v1/bookings/{booking_id}/cancel"),
            Some(&user),
            None,
        )
        .await;
    assert_eq!(cancelled.status, 200, "{}", cancelled.raw);
    assert_eq!(app.event(&id).await["availableTickets"], 10);
    assert_eq!(list_available().await, 10);
    let (written, deleted) = cache.drain();
    assert!(
        deleted.is_empty(),
        "inventory writes invalidated {deleted:?}"
    );
    assert!(
        written
            .iter()
            // Idempotency records, rate limits, the first fill of the booking terms, and the
            // availability tally (and its guards) each booking and cancel adjusts.
            .all(
                |k| ["idempotency:", "ratelimit:", "event-terms:", "availability"]
                    .iter()
                    .any(|prefix| k.starts_with(prefix))
            ),
        "inventory writes touched cached reads: {written:?}"
    );
    assert_eq!(store.catalog_version().await.unwrap(), version);
    assert!(
        store
            .catalog_changes(Some(before_bookings))
            .await
            .unwrap()
            .is_empty(),
        "a booking or cancel wrote to the catalog index"
    );

    let renamed = app
        .call(
            "PUT",
            &format!("/api/v1/events/{id}"),
            Some(&admin),
            Some(json!({ "name": "Renamed" })),
        )
        .await;
    assert_eq!(renamed.status, 200, "{}", renamed.raw);
    let (_, deleted) = cache.drain();
    let event_id: EventId = id.parse().unwrap();
    for key in [keys::event(event_id), keys::CATALOG_VERSION.to_owned()] {
        assert!(deleted.contains(&key), "{key} not invalidated: {deleted:?}");
    }
    assert!(store.catalog_version().await.unwrap() > version);
    assert_eq!(app.event(&id).await["name"], "Renamed");
    let listed = app.call("GET", "/api/v1/events", None, None).await;
    assert_eq!(listed.body["data"][0]["name"], "Renamed");
    assert_eq!(listed.body["data"][0]["availableTickets"], 10);
}

async fn delete_racing_bookings_never_leaves_a_booking_on_a_deleted_event(backend: Backend) {
    let app = Arc::new(TestApp::new(backend).await);
    let admin = app.admin_token().await;
    for _ in 0..3 {
        let id = app
            .create_event(&admin, json!({ "totalTickets": 50 }))
            .await;
        let mut tasks = Vec::new();
        for i in 0..10 {
            let app = app.clone();
            let id = id.clone();
            let (user, _) = app.quick_user(Role::User).await;
            tasks.push(tokio::spawn(async move {
                if i == 5 {
                    let admin = app.admin_token().await;
                    (
                        "delete",
                        app.call_carefully("DELETE", &format!("/api/v1/events/{id}"), Some(&admin))
                            .await,
                    )
                } else {
                    (
                        "book",
                        app.book_carefully(&user, &uuid::Uuid::new_v4().to_string(), &id, 1)
                            .await,
                    )
                }
            }));
        }
        let results: Vec<_> = futures::future::join_all(tasks)
            .await
            .into_iter()
            .map(Result::unwrap)
            .collect();
        let booked = results
            .iter()
            .filter(|(k, r)| *k == "book" && r.status == 201)
            .count();
        let (_, delete) = results.iter().find(|(k, _)| *k == "delete").unwrap();
        for (kind, reply) in &results {
            if *kind == "book" && reply.status != 201 {
                reply.expect(404, "NOT_FOUND");
            }
        }
        if delete.status == 200 {
            // Deleted: it must have had no confirmed booking at that instant, and none after.
            assert_eq!(booked, 0, "a booking landed on a deleted event");
        } else {
            delete.expect(409, "EVENT_HAS_ACTIVE_BOOKINGS");
            assert!(booked > 0);
            assert_eq!(app.event(&id).await["availableTickets"], 50 - booked as u64);
        }
    }
}

async fn the_status_lifecycle_is_enforced(backend: Backend) {
    let app = TestApp::new(backend).await;
    let admin = app.admin_token().await;
    let set = |id: String, status: &'static str| {
        let app = &app;
        let admin = admin.clone();
        async move {
            app.call(
                "PUT",
                &format!("/api/v1/events/{id}"),
                Some(&admin),
                Some(json!({ "status": status })),
            )
            .await
        }
    };
    let event = app.create_event(&admin, json!({ "status": "draft" })).await;
    for (to, status) in [
        ("draft", 200),
        ("published", 200),
        ("draft", 200),
        ("cancelled", 200),
    ] {
        let reply = set(event.clone(), to).await;
        assert_eq!(reply.status, status, "→ {to}: {}", reply.raw);
        assert_eq!(reply.body["data"]["status"], to);
    }
    // Final states stay final; the status it already has is a no-op.
    for to in ["draft", "published", "completed"] {
        set(event.clone(), to)
            .await
            .expect(409, "INVALID_STATUS_CHANGE");
    }
    set(event.clone(), "cancelled").await.expect(200, "");

    let draft = app.create_event(&admin, json!({ "status": "draft" })).await;
    set(draft.clone(), "completed")
        .await
        .expect(409, "INVALID_STATUS_CHANGE");
    let booked = app.create_event(&admin, json!({})).await;
    let (user, _) = app.quick_user(Role::User).await;
    assert_eq!(
        app.book_carefully(&user, &uuid::Uuid::new_v4().to_string(), &booked, 1)
            .await
            .status,
        201
    );
    set(booked.clone(), "draft")
        .await
        .expect(409, "EVENT_HAS_ACTIVE_BOOKINGS");
    assert_eq!(app.event(&booked).await["status"], "published");
    set(booked.clone(), "completed").await.expect(200, "");
    set(booked.clone(), "published")
        .await
        .expect(409, "INVALID_STATUS_CHANGE");
}

/// Money is never rounded into validity, a leap second is not a date we can echo, and every
/// query bound names its real limit.
async fn inputs_at_the_edges(backend: Backend) {
    let app = TestApp::new(backend).await;
    let admin = app.admin_token().await;
    let create = |price: &'static str, date: Option<&'static str>| {
        let body = format!(
            r#"{{"name":"Edge","venue":"Hall","date":"{}","price":{price},"totalTickets":5}}"#,
            date.map(str::to_owned)
                .unwrap_or_else(|| (Utc::now() + Duration::days(9)).to_rfc3339())
        );
        let request = http::Request::post("/api/v1/events")
            .header("content-type", "application/json")
            .header("authorization", format!("Bearer {admin}"))
            .body(axum::body::Body::from(body))
            .unwrap();
        app.send(request)
    };
    for price in [
        "0.30000000000000004",
        "1e-400",
        "100000.00000000001",
        "100000.01",
        "-0",
        "-1",
        "\"10\"",
        "1e400",
    ] {
        let reply = create(price, None).await;
        reply.expect(400, "VALIDATION_ERROR");
        assert_eq!(
            reply.field_errors(),
            vec!["price"],
            "{price}: {}",
            reply.raw
        );
    }
    for (price, shown) in [
        ("1e2", json!(100.0)),
        ("19.99", json!(19.99)),
        ("0", json!(0.0)),
        ("100000", json!(100000.0)),
    ] {
        let reply = create(price, None).await;
        assert_eq!(reply.status, 201, "{price}: {}", reply.raw);
        assert_eq!(reply.body["data"]["price"], shown, "{price}");
    }
    let leap = create("10", Some("9999-12-31T23:59:60Z")).await;
    leap.expect(400, "VALIDATION_ERROR");
    assert_eq!(leap.field_errors(), vec!["date"]);

    let page = app
        .call("GET", "/api/v1/events?page=1000000000000000000", None, None)
        .await;
    page.expect(400, "VALIDATION_ERROR");
    assert!(page.raw.contains("4294967295"), "{}", page.raw);
    for query in [
        "search=%FF",
        "venue=%C3%28",
        "from=2030-01-01T00:00:60Z",
        "minPrice=0.001",
        "maxPrice=-0",
    ] {
        app.call("GET", &format!("/api/v1/events?{query}"), None, None)
            .await
            .expect(400, "VALIDATION_ERROR");
    }
    app.call("GET", "/api/v1/events?search=caf%C3%A9", None, None)
        .await
        .expect(200, "");
}

/// Listings read each event's availability tally, not its shards: a K = 16 event's shards are
/// read on the first listing only; after a booking and a cancel the listing is exact and reads
/// none. While a write is under way no tally is kept (it could miss or double-count it).
async fn listings_read_tallies_not_shards(backend: Backend) {
    use ticketing::domain::EventQuery;
    use ticketing::service::availability::Outcome;
    let app = TestApp::new(backend).await;
    let admin = app.admin_token().await;
    let (user, _) = app.quick_user(Role::User).await;
    let id = app
        .create_event(&admin, json!({ "totalTickets": 40_000 }))
        .await;
    let event_id: EventId = id.parse().unwrap();
    // One listing: event `id` as listed, and the shard items the listing read.
    let listed = |id: EventId| {
        let app = &app;
        async move {
            let ((events, _), cost) = app
                .state
                .events
                .list(None, &EventQuery::default())
                .await
                .unwrap();
            let event = events.into_iter().find(|e| e.id == id).unwrap();
            (event, cost.inventory_items_read)
        }
    };
    // (available, confirmed bookings, shard items read) of one listing.
    let listing = || {
        let listed = &listed;
        async move {
            let (event, items_read) = listed(event_id).await;
            assert_eq!(event.inventory_shards, 16);
            (
                event.available_tickets,
                event.confirmed_bookings,
                items_read,
            )
        }
    };
    assert_eq!(
        listing().await,
        (40_000, 0, 16),
        "first listing reads the shards"
    );
    assert_eq!(listing().await, (40_000, 0, 0), "then the tally answers");

    let booked = app
        .book(&user, &uuid::Uuid::new_v4().to_string(), &id, 3)
        .await;
    assert_eq!(booked.status, 201, "{}", booked.raw);
    assert_eq!(
        listing().await,
        (39_997, 1, 0),
        "exact right after a booking"
    );
    let booking_id = booked.body["data"]["id"].as_str().unwrap();
    let path = format!("/api/v1/bookings/{booking_id}/cancel");
    let cancelled = app.call("PATCH", &path, Some(&user), None).await;
    assert_eq!(cancelled.status, 200, "{}", cancelled.raw);
    assert_eq!(
        listing().await,
        (40_000, 0, 0),
        "exact right after a cancel"
    );

    // A refused booking changes nothing.
    let refused = app
        .book(&user, &uuid::Uuid::new_v4().to_string(), &id, 50_000)
        .await;
    assert_eq!(refused.status, 400, "{}", refused.raw);
    assert_eq!(listing().await, (40_000, 0, 0));

    // With the tally gone and a write under way, listings read the shards and keep no tally...
    app.state
        .cache
        .delete(&keys::availability(event_id))
        .await
        .unwrap();
    let availability = app.state.events.availability();
    availability.begin(event_id).await;
    assert_eq!(listing().await, (40_000, 0, 16));
    assert_eq!(
        listing().await,
        (40_000, 0, 16),
        "no tally while a write is pending"
    );
    // ...until it ends; the first listing after keeps one again.
    availability.end(event_id, Outcome::NotWritten).await;
    assert_eq!(listing().await, (40_000, 0, 16));
    assert_eq!(listing().await, (40_000, 0, 0));
    // A write whose outcome is unknown drops the tally: the shards answer next.
    availability.begin(event_id).await;
    availability.end(event_id, Outcome::Unknown).await;
    assert_eq!(listing().await, (40_000, 0, 16));

    // A one-shard event keeps no tally: its one shard is read, and its bookings skip the cache.
    let small = app
        .create_event(&admin, json!({ "totalTickets": 10 }))
        .await;
    let small_id: EventId = small.parse().unwrap();
    let booked = app
        .book(&user, &uuid::Uuid::new_v4().to_string(), &small, 2)
        .await;
    assert_eq!(booked.status, 201, "{}", booked.raw);
    let (small_listed, items_read) = listed(small_id).await;
    assert_eq!(
        (
            small_listed.available_tickets,
            small_listed.confirmed_bookings
        ),
        (8, 1)
    );
    assert_eq!(items_read, 1, "its shard, and the big event's tally");
    for key in [
        keys::availability(small_id),
        keys::availability_pending(small_id),
    ] {
        assert_eq!(app.state.cache.get(&key).await.unwrap(), None, "{key}");
    }
}

/// A fresh instance (nothing projected yet) answers a listing by date narrowed by status alone
/// off the catalog-by-date index, reading about one page whatever the catalog's size, and
/// answers it as a warm instance does — drafts, deletes, cancellations, ties, pages, both
/// orders, both audiences; once its projection has loaded in the background, it serves from it.
async fn a_cold_instance_lists_what_a_warm_one_lists(backend: Backend) {
    use ticketing::domain::{EventQuery, Identity};
    let warm = TestApp::new(backend).await;
    let (admin, admin_id) = warm.quick_user(Role::Admin).await;
    let base = Utc::now() + Duration::days(1);
    let mut created = Vec::new();
    for i in 0..24i64 {
        let status = if i % 5 == 0 { "draft" } else { "published" };
        // Events i and i + 11 share their date to the instant: ties go by id.
        let date = (base + Duration::days(i % 11)).to_rfc3339();
        let body = json!({ "name": format!("C{i}"), "date": date, "status": status });
        created.push(warm.create_event(&admin, body).await);
    }
    for id in created.iter().step_by(6) {
        let body = json!({ "status": "cancelled" });
        warm.call(
            "PUT",
            &format!("/api/v1/events/{id}"),
            Some(&admin),
            Some(body),
        )
        .await
        .expect(200, "");
    }
    for id in created.iter().skip(1).step_by(7) {
        warm.call(
            "DELETE",
            &format!("/api/v1/events/{id}"),
            Some(&admin),
            None,
        )
        .await
        .expect(200, "");
    }
    // Warm: a listing the index cannot serve loads the projection first.
    warm.call("GET", "/api/v1/events?sortBy=name", None, None)
        .await;
    assert!(warm.state.events.projection().is_loaded());
    let admin_identity = Identity {
        user_id: admin_id,
        role: Role::Admin,
    };
    for q in [
        "",
        "sortOrder=desc",
        "limit=5&page=2",
        "limit=7&page=3&sortOrder=desc",
        "status=cancelled",
        "status=draft",
        "status=published&limit=4&page=2",
        "limit=5&page=9",
    ] {
        for (who, token) in [(None, None), (Some(admin_identity), Some(admin.as_str()))] {
            let uri = format!("/api/v1/events?{q}");
            let case = format!(
                "{q:?} as {}",
                if who.is_some() { "admin" } else { "public" }
            );
            let want = warm.call("GET", &uri, token, None).await;
            want.expect(200, "");
            let cold = TestApp::with_store(backend, warm.state.store.clone()).await;
            let got = cold.call("GET", &uri, token, None).await;
            assert_eq!(got.body, want.body, "{case}");
            // What it read: about one page, off the index, nothing projected.
            let params = q
                .split('&')
                .filter_map(|pair| pair.split_once('='))
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect();
            let query = EventQuery::parse(&params).unwrap();
            let probe = TestApp::with_store(backend, warm.state.store.clone()).await;
            let ((events, _), cost) = probe.state.events.list(who, &query).await.unwrap();
            let page_end = (query.page.page * query.page.limit) as usize;
            assert!(cost.cold, "{case}");
            assert!(cost.catalog_entries_read <= page_end, "{case}: {cost:?}");
            assert_eq!(cost.entries_visited, 0, "{case}");
            // Loaded meanwhile, the same instance serves the same page from its projection.
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
            while !probe.state.events.projection().is_loaded() {
                assert!(std::time::Instant::now() < deadline, "{case}: never loaded");
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
            let ((again, _), cost) = probe.state.events.list(who, &query).await.unwrap();
            assert!(!cost.cold, "{case}");
            let ids = |events: &[ticketing::domain::Event]| {
                events.iter().map(|e| e.id).collect::<Vec<_>>()
            };
            assert_eq!(ids(&again), ids(&events), "{case}");
        }
    }
}

on_both_backends!(
    a_cold_instance_lists_what_a_warm_one_lists,
    listings_read_tallies_not_shards,
    search_folds_case_the_unicode_way,
    inputs_at_the_edges,
    the_status_lifecycle_is_enforced,
    create_and_read_an_event,
    admin_routes_need_an_admin,
    every_validation_rule_names_its_field,
    update_is_partial_and_counters_are_refused,
    drafts_are_for_admins_only,
    pagination_arithmetic,
    sorting_each_key_both_ways,
    filters_are_literal_and_combine,
    soft_delete_then_404_everywhere,
    delete_is_blocked_while_bookings_exist,
    reads_after_writes_are_fresh,
    delete_racing_bookings_never_leaves_a_booking_on_a_deleted_event,
);
