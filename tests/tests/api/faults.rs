//! Fault injection with real processes, started and stopped by the tests: a private
//! redis-server and a private DynamoDB Local, killed mid-run and brought back.

use serde_json::json;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use ticketing::cache::RedisCache;
use ticketing::config::Config;
use ticketing::domain::{PageParams, Role};
use ticketing::store::{table, DynamoStore};
use ticketing_tests::{cache_for, store_for, Backend, TestApp, PASSWORD};

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn wait_for_port(port: u16, seconds: u64) {
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(seconds),
            "port {port} never opened"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn start_redis(port: u16) -> Process {
    let child = Command::new("redis-server")
        .args([
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ])
        .stdout(Stdio::null())
        .spawn()
        .expect("redis-server is installed by scripts/services");
    wait_for_port(port, 10).await;
    Process(child)
}

fn dynamodb_local_dir() -> PathBuf {
    std::env::var_os("DYNAMODB_LOCAL_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var("HOME").unwrap()).join(".cache/ticketing/dynamodb-local")
        })
}

async fn start_dynamodb(port: u16, data: &std::path::Path) -> Process {
    let dir = dynamodb_local_dir();
    let child = Command::new("java")
        .current_dir(&dir)
        .args([
            "-Djava.library.path=DynamoDBLocal_lib",
            "-jar",
            "DynamoDBLocal.jar",
            "-sharedDb",
            "-disableTelemetry",
        ])
        .args([
            "-dbPath",
            data.to_str().unwrap(),
            "-port",
            &port.to_string(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("java and DynamoDB Local (scripts/services fetches it)");
    wait_for_port(port, 60).await;
    Process(child)
}

fn key() -> String {
    uuid::Uuid::new_v4().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redis_stopped_mid_run_then_back() {
    let port = free_port();
    let redis = start_redis(port).await;
    let cache = Arc::new(RedisCache::new(
        format!("redis://127.0.0.1:{port}"),
        "fault:",
    ));
    let app = TestApp::with_parts(
        Backend::Real,
        Config::for_tests(),
        store_for(Backend::Real).await,
        cache,
    );
    let admin = app.admin_token().await;
    let (user, _) = app.quick_user(Role::User).await;
    let event = app
        .create_event(&admin, json!({ "totalTickets": 10 }))
        .await;
    assert_eq!(app.book(&user, &key(), &event, 1).await.status, 201);
    let (_, refresh, _) = app.register().await;

    drop(redis);
    let k = key();
    let first = app.book(&user, &k, &event, 2).await;
    assert_eq!(first.status, 201, "bookings fail open: {}", first.raw);
    let again = app.book(&user, &k, &event, 2).await;
    assert_eq!(
        (again.status.as_u16(), again.raw.as_str()),
        (201, first.raw.as_str()),
        "the guard still holds"
    );
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    // Sessions live in the store: refresh is served with Redis down, and so are register (one
    // account, no half-write), login and logout.
    let rotated = app.with_refresh_token("refresh", &refresh).await;
    rotated.expect(200, "");
    let (access, fresh_refresh, _) = app.register().await;
    assert_eq!(
        app.call("GET", "/api/v1/auth/me", Some(&access), None)
            .await
            .status,
        200
    );
    app.with_refresh_token("logout", &fresh_refresh)
        .await
        .expect(200, "");
    app.with_refresh_token("refresh", &fresh_refresh)
        .await
        .expect(401, "UNAUTHORIZED");
    let ready = app.call("GET", "/health/ready", None, None).await;
    ready.expect(503, "SERVICE_UNAVAILABLE");
    assert_eq!(
        ready.body["data"]["dependencies"]["redis"]["status"],
        "down"
    );
    assert_eq!(app.event(&event).await["availableTickets"], 7);

    // Back: full service, no restart of the app.
    let _redis = start_redis(port).await;
    app.wait_until_ready(10).await;
    let (email_user, _, _) = app.register().await;
    assert_eq!(
        app.call("GET", "/api/v1/auth/me", Some(&email_user), None)
            .await
            .status,
        200
    );
    let login = app
        .call(
            "POST",
            "/api/v1/auth/register",
            None,
            Some(json!({ "email": "back@example.com", "password": PASSWORD, "name": "Back" })),
        )
        .await;
    let refresh = login.body["data"]["refreshToken"].as_str().unwrap();
    assert_eq!(app.with_refresh_token("refresh", refresh).await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn dynamodb_stopped_mid_run_then_back() {
    let port = free_port();
    let data = std::env::temp_dir().join(format!("ddb-fault-{}", ulid::Ulid::new()));
    std::fs::create_dir_all(&data).unwrap();
    let dynamodb = start_dynamodb(port, &data).await;
    let store = Arc::new(DynamoStore::new(
        "fault",
        Some(format!("http://127.0.0.1:{port}")),
        Some("us-east-1".into()),
    ));
    table::ensure_table(store.client().await, "fault")
        .await
        .unwrap();
    let app = TestApp::with_parts(
        Backend::Real,
        Config::for_tests(),
        store,
        cache_for(Backend::Real).await,
    );
    let admin = app.admin_token().await;
    let (user, user_id) = app.quick_user(Role::User).await;
    let event = app
        .create_event(&admin, json!({ "totalTickets": 10 }))
        .await;
    assert_eq!(app.book(&user, &key(), &event, 1).await.status, 201);

    drop(dynamodb);
    for (method, uri, body) in [
        ("GET", "/api/v1/events".to_owned(), None),
        ("GET", format!("/api/v1/events/{}", ulid::Ulid::new()), None),
        ("GET", "/api/v1/bookings".to_owned(), None),
    ] {
        let started = Instant::now();
        let reply = app.call(method, &uri, Some(&user), body).await;
        reply.expect(503, "SERVICE_UNAVAILABLE");
        assert!(reply.header("retry-after").is_some());
        assert!(
            started.elapsed() < Duration::from_secs(6),
            "{uri} took {:?}",
            started.elapsed()
        );
    }
    let k = key();
    app.book(&user, &k, &event, 1)
        .await
        .expect(503, "SERVICE_UNAVAILABLE");
    let ready = app.call("GET", "/health/ready", None, None).await;
    ready.expect(503, "SERVICE_UNAVAILABLE");
    assert_eq!(
        ready.body["data"]["dependencies"]["dynamodb"]["status"],
        "down"
    );

    let _dynamodb = start_dynamodb(port, &data).await;
    app.wait_until_ready(15).await;
    // The failed attempt did not consume its key. (Whether the last write before the SIGKILL
    // survived is DynamoDB Local's durability, not ours: compare with what it holds now.)
    let before = app.event(&event).await["availableTickets"]
        .as_u64()
        .unwrap();
    assert_eq!(app.book(&user, &k, &event, 1).await.status, 201);
    let after = app.event(&event).await["availableTickets"]
        .as_u64()
        .unwrap();
    assert_eq!(after, before - 1);
    // And the counter still equals the tickets of the confirmed bookings.
    let sold: u64 = app
        .state
        .store
        .bookings_by_user(user_id, None, PageParams::default())
        .await
        .unwrap()
        .bookings
        .iter()
        .map(|b| u64::from(b.quantity))
        .sum();
    assert_eq!(10 - after, sold);
    let _ = std::fs::remove_dir_all(&data);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_booking_abandoned_mid_flight_and_retried_books_once() {
    let store = store_for(Backend::Real).await;
    for cut_after_ms in [1u64, 3, 6, 10, 20] {
        let app = TestApp::with_parts(
            Backend::Real,
            Config::for_tests(),
            store.clone(),
            cache_for(Backend::Real).await,
        );
        let admin = app.admin_token().await;
        let (user, user_id) = app.quick_user(Role::User).await;
        let event = app
            .create_event(&admin, json!({ "totalTickets": 10 }))
            .await;
        let k = key();
        // The client gives up (or the function times out) somewhere inside the request.
        let _ = tokio::time::timeout(
            Duration::from_millis(cut_after_ms),
            app.book(&user, &k, &event, 2),
        )
        .await;
        // Until its in-flight marker expires the key is busy (or, if it finished, replayed)...
        let meanwhile = app.book(&user, &k, &event, 2).await;
        assert!(
            meanwhile.status == 201
                || (meanwhile.status == 409 && meanwhile.code() == "IDEMPOTENCY_KEY_IN_USE"),
            "{}",
            meanwhile.raw
        );
        // ...and once it expired (a fresh cache), the retry lands exactly one booking.
        let later = TestApp::with_parts(
            Backend::Real,
            Config::for_tests(),
            store.clone(),
            cache_for(Backend::Real).await,
        );
        let retried = later.book(&user, &k, &event, 2).await;
        assert_eq!(retried.status, 201, "{}", retried.raw);
        let bookings = store
            .bookings_by_user(user_id, None, PageParams::default())
            .await
            .unwrap();
        assert_eq!(
            (bookings.bookings.len(), bookings.total),
            (1, 1),
            "cut after {cut_after_ms} ms"
        );
        assert_eq!(later.event(&event).await["availableTickets"], 8);
    }
}
