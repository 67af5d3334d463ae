//! What the logs carry: JSON lines with the request id, and never a password, hash or token.

use serde_json::{json, Value};
use std::sync::Arc;
use ticketing_tests::{Backend, LogCapture as Capture, TestApp, PASSWORD};
use tracing_subscriber::EnvFilter;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_are_json_with_request_ids_and_no_secrets() {
    let capture = Capture::default();
    tracing::subscriber::set_global_default(ticketing::telemetry::subscriber(
        capture.clone(),
        EnvFilter::new("debug"),
        None,
    ))
    .unwrap();

    let app = TestApp::new(Backend::Real).await;
    let register = app
        .call_with(
            "POST",
            "/api/v1/auth/register",
            None,
            &[("x-request-id", "log-test-1")],
            Some(json!({ "email": "logs@example.com", "password": PASSWORD, "name": "Log" })),
        )
        .await;
    let access = register.body["data"]["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let refresh = register.body["data"]["refreshToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let login = app
        .call(
            "POST",
            "/api/v1/auth/login",
            None,
            Some(json!({ "email": "logs@example.com", "password": PASSWORD })),
        )
        .await;
    let wrong = app
        .call(
            "POST",
            "/api/v1/auth/login",
            None,
            Some(json!({ "email": "logs@example.com", "password": "Wrong1Password" })),
        )
        .await;
    assert_eq!((login.status.as_u16(), wrong.status.as_u16()), (200, 401));
    let rotated = app
        .call(
            "POST",
            "/api/v1/auth/refresh",
            None,
            Some(json!({ "refreshToken": refresh })),
        )
        .await;
    // Reuse detection logs a warning: it must not carry the token either.
    app.with_refresh_token("refresh", &refresh).await;
    app.call("GET", "/api/v1/auth/me", Some(&access), None)
        .await;

    // A dependency failure: the cause is logged once, in the request's span, and not sent.
    let unreachable = Arc::new(ticketing::store::DynamoStore::new(
        "nowhere",
        Some("http://127.0.0.1:1".into()),
        Some("us-east-1".into()),
    ));
    let broken = TestApp::with_parts(
        Backend::Memory,
        ticketing::config::Config::for_tests(),
        unreachable,
        Arc::new(ticketing::cache::MemoryCache::new()),
    );
    let failed = broken
        .call_with(
            "GET",
            "/api/v1/events/01ARZ3NDEKTSV4RRFFQ69G5FAV",
            None,
            &[("x-request-id", "log-test-503")],
            None,
        )
        .await;
    failed.expect(503, "SERVICE_UNAVAILABLE");

    let logs = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    assert!(!logs.is_empty());
    let causes: Vec<Value> = logs
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| {
            v["span"]["request_id"] == "log-test-503" && v["message"] == "dependency unavailable"
        })
        .collect();
    assert_eq!(causes.len(), 1, "logged once, with the request id:\n{logs}");
    assert!(
        causes[0]["error"]
            .as_str()
            // The whole chain: our kind, then the SDK's own words down to the socket.
            .is_some_and(
                |e| e.starts_with("store unavailable: ") && e.contains("Connection refused")
            ),
        "{}",
        causes[0]
    );
    let secrets = [
        PASSWORD.to_owned(),
        "Wrong1Password".to_owned(),
        "$2b$".to_owned(),
        access.clone(),
        refresh.clone(),
        rotated.body["data"]["refreshToken"]
            .as_str()
            .unwrap()
            .to_owned(),
        ticketing::config::Config::for_tests()
            .jwt
            .access_secret
            .expose()
            .to_owned(),
    ];
    for secret in &secrets {
        assert!(
            !logs.contains(secret.as_str()),
            "a secret reached the logs: {secret}"
        );
    }
    let mut with_our_id = 0;
    for line in logs.lines() {
        let value: Value =
            serde_json::from_str(line).unwrap_or_else(|_| panic!("not a JSON line: {line}"));
        if value["span"]["request_id"] == "log-test-1" {
            with_our_id += 1;
        }
    }
    assert!(
        with_our_id >= 2,
        "the request's lines carry its id:\n{logs}"
    );
}
