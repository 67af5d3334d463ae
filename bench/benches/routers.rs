//! Per-request CPU of the in-process routers on the memory store (bcrypt excluded).

use axum::body::Body;
use criterion::{criterion_group, criterion_main, Criterion};
use http::Request;
use http_body_util::BodyExt;
use serde_json::json;
use std::sync::Arc;
use ticketing::cache::MemoryCache;
use ticketing::config::Config;
use ticketing::domain::{Email, Role, User};
use ticketing::ids::UserId;
use ticketing::store::MemoryStore;
use ticketing::tokens::TokenService;
use ticketing::AppState;
use tower::ServiceExt;

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    // Metrics recorded as in Lambda (the EMF collector is the recorder), so their cost counts.
    metrics_cloudwatch_embedded::Builder::new()
        .cloudwatch_namespace("Bench")
        .with_dimension(ticketing::metric::name::FUNCTION, "bench")
        .init()
        .unwrap();
    ticketing::metric::describe();
    // The rate limiter still runs on every request (it is part of the cost), with a limit the
    // benchmark can't reach.
    let config = Config::from_lookup(ticketing::config::Mode::Local, |key| match key {
        "RATE_LIMIT_PER_MINUTE" | "AUTH_RATE_LIMIT_PER_MINUTE" => Some("1000000000000".into()),
        _ => None,
    })
    .unwrap();
    let state = AppState::new(
        config,
        Arc::new(MemoryStore::new()),
        Arc::new(MemoryCache::new()),
    );
    let router = ticketing::http::combined_router(state.clone());
    let tokens = TokenService::new(&state.config.jwt);
    let user = User {
        id: UserId::new(),
        email: Email::parse("bench@example.com").unwrap(),
        name: "Bench".into(),
        role: Role::Admin,
        password_hash: "x".into(),
        created_at: chrono::Utc::now(),
        email_verified: false,
        session_epoch: 0,
    };
    let token = tokens.issue_access(&user).unwrap();
    let event_id = rt.block_on(async {
        state.store.create_user(&user, None).await.unwrap();
        let mut ids = Vec::new();
        for i in 0..50 {
            let body = json!({ "name": format!("Event {i}"), "venue": "Hall", "date": "2099-01-01T20:00:00Z", "price": 10, "totalTickets": 1_000_000 });
            let request = Request::post("/api/v1/events")
                .header("authorization", format!("Bearer {token}"))
                .header("content-type", "application/json")
                .body(Body::from(body.to_string()))
                .unwrap();
            let response = router.clone().oneshot(request).await.unwrap();
            let bytes = response.into_body().collect().await.unwrap().to_bytes();
            let value: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
            ids.push(value["data"]["id"].as_str().unwrap().to_owned());
        }
        ids.swap_remove(0)
    });

    let get = |uri: String| {
        let router = router.clone();
        async move {
            let response = router
                .oneshot(Request::get(uri).body(Body::empty()).unwrap())
                .await
                .unwrap();
            assert!(response.status().is_success());
            response.into_body().collect().await.unwrap();
        }
    };
    c.bench_function("GET /api/v1/events/{id}", |b| {
        b.to_async(&rt)
            .iter(|| get(format!("/api/v1/events/{event_id}")))
    });
    c.bench_function("GET /api/v1/events?limit=20 (50 events)", |b| {
        b.to_async(&rt)
            .iter(|| get("/api/v1/events?limit=20&sortBy=price&search=event".into()))
    });
    c.bench_function("POST /api/v1/bookings", |b| {
        b.to_async(&rt).iter(|| {
            let router = router.clone();
            let request = Request::post("/api/v1/bookings")
                .header("authorization", format!("Bearer {token}"))
                .header("content-type", "application/json")
                .header("idempotency-key", uuid::Uuid::new_v4().to_string())
                .body(Body::from(
                    json!({ "eventId": event_id, "quantity": 1 }).to_string(),
                ))
                .unwrap();
            async move {
                let response = router.oneshot(request).await.unwrap();
                assert_eq!(response.status(), 201);
                response.into_body().collect().await.unwrap();
            }
        })
    });
    c.bench_function("validate access JWT", |b| {
        b.iter(|| tokens.identity(&token).unwrap())
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
