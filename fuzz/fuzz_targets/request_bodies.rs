//! Arbitrary bytes as request bodies (and query strings) through the real router on the memory
//! store: whatever arrives, the answer is a contract 4xx or a success, never a 5xx or a panic.
#![no_main]

use axum::body::Body;
use axum::http::Request;
use libfuzzer_sys::fuzz_target;
use std::sync::{Arc, OnceLock};
use ticketing::cache::MemoryCache;
use ticketing::config::Config;
use ticketing::domain::{Email, Role, User};
use ticketing::ids::UserId;
use ticketing::store::MemoryStore;
use ticketing::AppState;
use tower::ServiceExt;

struct Rig {
    runtime: tokio::runtime::Runtime,
    router: axum::Router,
    token: String,
}

fn rig() -> &'static Rig {
    static RIG: OnceLock<Rig> = OnceLock::new();
    RIG.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let state = AppState::new(
            Config::for_tests(),
            Arc::new(MemoryStore::new()),
            Arc::new(MemoryCache::new()),
        );
        let admin = User {
            id: UserId::new(),
            email: Email::parse("fuzz@example.com").unwrap(),
            name: "Fuzz".into(),
            role: Role::Admin,
            password_hash: "x".into(),
            created_at: chrono::Utc::now(),
            email_verified: false,
            session_epoch: 0,
        };
        runtime.block_on(state.store.create_user(&admin, None)).unwrap();
        let token = state.auth.tokens().issue_access(&admin).unwrap();
        Rig {
            runtime,
            router: ticketing::http::combined_router(state),
            token,
        }
    })
}

const TARGETS: &[(&str, &str)] = &[
    ("POST", "/api/v1/auth/login"),
    ("POST", "/api/v1/auth/refresh"),
    ("POST", "/api/v1/auth/logout"),
    ("POST", "/api/v1/events"),
    ("PUT", "/api/v1/events/01JD5Z8Q4T3X9V6B2N7M1K0C8E"),
    ("POST", "/api/v1/bookings"),
    ("GET", "/api/v1/events?"),
    ("GET", "/api/v1/bookings?"),
];

fuzz_target!(|data: &[u8]| {
    let Some((selector, body)) = data.split_first() else {
        return;
    };
    let (method, path) = TARGETS[*selector as usize % TARGETS.len()];
    let rig = rig();
    let mut builder = Request::builder()
        .method(method)
        .header("authorization", format!("Bearer {}", rig.token))
        .header("idempotency-key", "0b6f7c1e-2f4a-4c7e-9a51-6a1f3f1c2d3e");
    let request = if method == "GET" {
        // The bytes become the query string, percent-encoded where needed.
        let query: String = body
            .iter()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"=&-_.".contains(b) {
                    (*b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect();
        builder
            .uri(format!("{path}{query}"))
            .body(Body::empty())
            .unwrap()
    } else {
        builder = builder.header("content-type", "application/json");
        builder.uri(path).body(Body::from(body.to_vec())).unwrap()
    };
    let response = rig
        .runtime
        .block_on(rig.router.clone().oneshot(request))
        .unwrap();
    assert!(
        response.status().as_u16() < 500,
        "{method} {path}: {}",
        response.status()
    );
});
