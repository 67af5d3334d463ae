//! Contract conventions every route shares: envelope, request ids, security headers, CORS,
//! 404/405/413/415, strict bodies, health.

use axum::body::Body;
use http::Request;
use serde_json::json;
use std::sync::Arc;
use ticketing::cache::RedisCache;
use ticketing::config::Config;
use ticketing_tests::{on_both_backends, store_for, Backend, TestApp};

async fn unknown_route_is_a_404_envelope_with_request_id(backend: Backend) {
    let app = TestApp::new(backend).await;
    let reply = app.call("GET", "/api/v1/nothing-here", None, None).await;
    reply.expect(404, "NOT_FOUND");
    assert_eq!(reply.body["success"], false);
    let id = reply
        .header("x-request-id")
        .expect("x-request-id")
        .to_owned();
    assert_eq!(reply.body["requestId"], id.as_str());
    assert!(reply.body["message"].is_string());
}

async fn wrong_method_is_405_with_allow(backend: Backend) {
    let app = TestApp::new(backend).await;
    let reply = app.call("DELETE", "/api/v1/auth/login", None, None).await;
    reply.expect(405, "METHOD_NOT_ALLOWED");
    assert!(
        reply.header("allow").unwrap().contains("POST"),
        "{:?}",
        reply.headers
    );
    let reply = app.call("PUT", "/api/v1/bookings", None, None).await;
    reply.expect(405, "METHOD_NOT_ALLOWED");
    let allow = reply.header("allow").unwrap();
    assert!(allow.contains("GET") && allow.contains("POST"), "{allow}");
    assert!(
        allow.contains("OPTIONS"),
        "every path answers OPTIONS: {allow}"
    );
}

/// An `OPTIONS` that is no CORS preflight is answered 204 with the path's methods in `Allow`
/// (OPTIONS among them); an unknown path is a 404 envelope.
async fn plain_options_lists_the_methods(backend: Backend) {
    let app = TestApp::new(backend).await;
    let reply = app.call("OPTIONS", "/api/v1/auth/login", None, None).await;
    assert_eq!(reply.status, 204, "{}", reply.raw);
    assert!(reply.raw.is_empty());
    let allow = reply.header("allow").expect("an Allow header");
    let methods: Vec<&str> = allow.split(',').map(str::trim).collect();
    assert!(
        methods.contains(&"POST") && methods.contains(&"OPTIONS"),
        "{allow}"
    );
    assert!(!methods.contains(&"GET"), "{allow}");
    let reply = app
        .call(
            "OPTIONS",
            &format!("/api/v1/events/{}", ulid::Ulid::new()),
            None,
            None,
        )
        .await;
    assert_eq!(reply.status, 204, "{}", reply.raw);
    let allow = reply.header("allow").unwrap();
    for method in ["GET", "PUT", "DELETE", "OPTIONS"] {
        assert!(allow.contains(method), "{method} in {allow}");
    }
    app.call("OPTIONS", "/api/v1/nothing-here", None, None)
        .await
        .expect(404, "NOT_FOUND");
}

async fn request_id_is_echoed_only_when_sane(backend: Backend) {
    let app = TestApp::new(backend).await;
    let reply = app
        .call_with(
            "GET",
            "/health",
            None,
            &[("x-request-id", "trace-abc_1.2")],
            None,
        )
        .await;
    assert_eq!(reply.header("x-request-id"), Some("trace-abc_1.2"));
    let insane = "bad id with spaces";
    let reply = app
        .call_with("GET", "/nope", None, &[("x-request-id", insane)], None)
        .await;
    let id = reply.header("x-request-id").unwrap();
    assert_ne!(id, insane);
    assert!(!id.is_empty());
    assert_eq!(reply.body["requestId"], id);
    let long = "a".repeat(129);
    let reply = app
        .call_with("GET", "/health", None, &[("x-request-id", &long)], None)
        .await;
    assert_ne!(reply.header("x-request-id"), Some(long.as_str()));
}

async fn security_headers_on_every_response(backend: Backend) {
    let app = TestApp::new(backend).await;
    for reply in [
        app.call("GET", "/health", None, None).await,
        app.call("GET", "/nope", None, None).await,
    ] {
        assert_eq!(reply.header("x-content-type-options"), Some("nosniff"));
        assert_eq!(reply.header("x-frame-options"), Some("DENY"));
        assert_eq!(reply.header("referrer-policy"), Some("no-referrer"));
        assert_eq!(
            reply.header("strict-transport-security"),
            Some("max-age=31536000; includeSubDomains")
        );
        assert_eq!(
            reply.header("content-security-policy"),
            Some("default-src 'none'; frame-ancestors 'none'")
        );
        assert!(reply
            .header("content-type")
            .unwrap()
            .starts_with("application/json"));
    }
}

async fn bodies_are_strict(backend: Backend) {
    let app = TestApp::new(backend).await;
    // Wrong content type: 415.
    let request = Request::post("/api/v1/auth/login")
        .header("content-type", "text/plain")
        .body(Body::from("hi"))
        .unwrap();
    app.send(request)
        .await
        .expect(415, "UNSUPPORTED_MEDIA_TYPE");
    // No content type at all on a write: 415.
    let request = Request::post("/api/v1/auth/login")
        .body(Body::from("{}"))
        .unwrap();
    app.send(request)
        .await
        .expect(415, "UNSUPPORTED_MEDIA_TYPE");
    // Malformed JSON: 400.
    let request = Request::post("/api/v1/auth/login")
        .header("content-type", "application/json")
        .body(Body::from("{\"email\":"))
        .unwrap();
    app.send(request).await.expect(400, "VALIDATION_ERROR");
    // A JSON array where an object belongs: 400.
    let request = Request::post("/api/v1/auth/login")
        .header("content-type", "application/json")
        .body(Body::from("[\"a@b.co\",\"x\"]"))
        .unwrap();
    app.send(request).await.expect(400, "VALIDATION_ERROR");
    // Unknown field: 400 naming it.
    let reply = app
        .call(
            "POST",
            "/api/v1/auth/login",
            None,
            Some(json!({ "email": "a@b.co", "password": "x", "extra": 1 })),
        )
        .await;
    reply.expect(400, "VALIDATION_ERROR");
    assert_eq!(reply.field_errors(), vec!["extra"]);
    // An unknown field does not hide the other fields' problems: one reply names them all.
    let reply = app
        .call(
            "POST",
            "/api/v1/auth/register",
            None,
            Some(json!({ "email": "not-an-email", "password": "short", "name": "A", "role": "admin" })),
        )
        .await;
    reply.expect(400, "VALIDATION_ERROR");
    assert_eq!(reply.field_errors(), vec!["role", "email", "password"]);
    // ... nor a wrong type (read again without the unknown fields).
    let reply = app
        .call(
            "POST",
            "/api/v1/auth/register",
            None,
            Some(json!({ "zeta": 1, "email": "a@b.co", "password": "long enough 1", "name": 5, "alpha": true })),
        )
        .await;
    reply.expect(400, "VALIDATION_ERROR");
    assert_eq!(reply.field_errors(), vec!["alpha", "zeta", "name"]);
    // Over 64 KiB: 413.
    let big = json!({ "email": "a@b.co", "password": "x".repeat(70 * 1024) });
    app.call("POST", "/api/v1/auth/login", None, Some(big))
        .await
        .expect(413, "PAYLOAD_TOO_LARGE");
    // Just under the limit is read (and then judged on its merits).
    let fits = json!({ "email": "a@b.co", "password": "x".repeat(60 * 1024) });
    app.call("POST", "/api/v1/auth/login", None, Some(fits))
        .await
        .expect(401, "INVALID_CREDENTIALS");
}

async fn health_and_readiness(backend: Backend) {
    let app = TestApp::new(backend).await;
    let reply = app.call("GET", "/health", None, None).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body["data"]["status"], "ok");
    assert_eq!(reply.body["data"]["version"], ticketing::VERSION);
    let reply = app.call("GET", "/health/ready", None, None).await;
    assert_eq!(reply.status, 200, "{}", reply.raw);
    assert_eq!(reply.body["data"]["status"], "ready");
    assert_eq!(
        reply.body["data"]["dependencies"]["dynamodb"]["status"],
        "up"
    );
    assert_eq!(reply.body["data"]["dependencies"]["redis"]["status"], "up");
    assert!(reply.body["data"]["dependencies"]["redis"]["latencyMs"].is_u64());
    // Readiness says what really answers: the embedded default is not DynamoDB or Redis.
    let (store, cache) = match backend {
        Backend::Memory => ("memory", "memory"),
        Backend::Real => ("dynamodb", "redis"),
    };
    let deps = &reply.body["data"]["dependencies"];
    assert_eq!(
        (
            deps["dynamodb"]["backend"].as_str(),
            deps["redis"]["backend"].as_str()
        ),
        (Some(store), Some(cache))
    );
    // What the web app asks of the deployment: payments off, the hold a checkout would have.
    let reply = app.call("GET", "/api/v1/config", None, None).await;
    reply.expect(200, "");
    assert_eq!(
        reply.body["data"],
        serde_json::json!({ "payments": null, "holdSeconds": 600 })
    );
}

/// A JSON body in another charset is 415; a header that must appear once, sent twice, is 400.
async fn charsets_and_repeated_headers(backend: Backend) {
    let app = TestApp::new(backend).await;
    let login = |content_type: &'static str| {
        Request::post("/api/v1/auth/login")
            .header("content-type", content_type)
            .body(Body::from(r#"{"email":"a@b.co","password":"x"}"#))
            .unwrap()
    };
    for bad in [
        "application/json;charset=latin1",
        "application/json; charset=utf-16",
    ] {
        app.send(login(bad))
            .await
            .expect(415, "UNSUPPORTED_MEDIA_TYPE");
    }
    for fine in [
        "application/json; charset=utf-8",
        "application/json;charset=UTF-8",
    ] {
        app.send(login(fine))
            .await
            .expect(401, "INVALID_CREDENTIALS");
    }
    let (token, _) = app.quick_user(ticketing::domain::Role::User).await;
    let key = uuid::Uuid::new_v4().to_string();
    let other = uuid::Uuid::new_v4().to_string();
    let twice: [(&str, [(&str, String); 2]); 3] = [
        (
            "idempotency-key",
            [("idempotency-key", key.clone()), ("idempotency-key", other)],
        ),
        (
            "authorization",
            [
                ("authorization", format!("Bearer {token}")),
                ("authorization", format!("Bearer {token}")),
            ],
        ),
        (
            "content-type",
            [
                ("content-type", "application/json".into()),
                ("content-type", "application/json".into()),
            ],
        ),
    ];
    for (name, headers) in twice {
        let mut request = Request::post("/api/v1/bookings").header("idempotency-key", &key);
        request = request.header("authorization", format!("Bearer {token}"));
        for (h, v) in &headers {
            request = request.header(*h, v.as_str());
        }
        let reply = app
            .send(
                request
                    .body(Body::from(
                        r#"{"eventId":"01ARZ3NDEKTSV4RRFFQ69G5FAV","quantity":1}"#,
                    ))
                    .unwrap(),
            )
            .await;
        reply.expect(400, "VALIDATION_ERROR");
        assert_eq!(reply.field_errors(), vec![name], "{}", reply.raw);
    }
}

on_both_backends!(
    charsets_and_repeated_headers,
    unknown_route_is_a_404_envelope_with_request_id,
    wrong_method_is_405_with_allow,
    plain_options_lists_the_methods,
    request_id_is_echoed_only_when_sane,
    security_headers_on_every_response,
    bodies_are_strict,
    health_and_readiness,
);

#[tokio::test]
async fn readiness_is_503_naming_redis_when_redis_is_down() {
    let store = store_for(Backend::Real).await;
    let dead_cache = Arc::new(RedisCache::new("redis://127.0.0.1:1", "x:"));
    let app = TestApp::with_parts(Backend::Real, Config::for_tests(), store, dead_cache);
    let started = std::time::Instant::now();
    let reply = app.call("GET", "/health/ready", None, None).await;
    reply.expect(503, "SERVICE_UNAVAILABLE");
    assert!(reply.header("retry-after").is_some());
    assert_eq!(reply.body["data"]["status"], "degraded");
    assert_eq!(
        reply.body["data"]["dependencies"]["redis"]["status"],
        "down"
    );
    assert_eq!(
        reply.body["data"]["dependencies"]["dynamodb"]["status"],
        "up"
    );
    assert!(reply.body["message"].as_str().unwrap().contains("redis"));
    assert!(
        started.elapsed() < std::time::Duration::from_secs(2),
        "bounded by the check timeout"
    );
}

#[tokio::test]
async fn readiness_is_503_naming_dynamodb_when_it_is_down() {
    let dead_store = Arc::new(ticketing::store::DynamoStore::new(
        "t",
        Some("http://127.0.0.1:1".into()),
        None,
    ));
    let cache = ticketing_tests::cache_for(Backend::Real).await;
    let app = TestApp::with_parts(Backend::Real, Config::for_tests(), dead_store, cache);
    let reply = app.call("GET", "/health/ready", None, None).await;
    reply.expect(503, "SERVICE_UNAVAILABLE");
    assert_eq!(
        reply.body["data"]["dependencies"]["dynamodb"]["status"],
        "down"
    );
    assert_eq!(reply.body["data"]["dependencies"]["redis"]["status"], "up");
    // A request that needs the store is a 503 with Retry-After, never a 500 or a hang.
    let reply = app.call("GET", "/api/v1/events", None, None).await;
    reply.expect(503, "SERVICE_UNAVAILABLE");
    assert!(reply.header("retry-after").is_some());
    assert!(
        !reply.raw.contains("dispatch") && !reply.raw.contains("dynamodb"),
        "{}",
        reply.raw
    );
}

#[tokio::test]
async fn cors_preflight_is_204_for_configured_origins() {
    let config = Config::from_lookup(ticketing::config::Mode::Local, |k| match k {
        "CORS_ALLOWED_ORIGINS" => Some("https://app.example.com".into()),
        _ => None,
    })
    .unwrap();
    let app = TestApp::with_config(Backend::Memory, config).await;
    let preflight = |origin: &'static str| {
        Request::builder()
            .method("OPTIONS")
            .uri("/api/v1/bookings")
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "idempotency-key, content-type",
            )
            .body(Body::empty())
            .unwrap()
    };
    let reply = app.send(preflight("https://app.example.com")).await;
    assert_eq!(reply.status, 204);
    assert_eq!(
        reply.header("access-control-allow-origin"),
        Some("https://app.example.com")
    );
    let reply = app.send(preflight("https://evil.example.com")).await;
    assert_eq!(reply.header("access-control-allow-origin"), None);
}

/// A body trickled a byte at a time, each inside the read timeout between frames, is still cut
/// off at the body deadline: a 400, not a connection held for as long as the client likes.
#[tokio::test]
async fn a_trickled_body_meets_its_deadline() {
    let app = TestApp::new(Backend::Memory).await;
    let trickle = futures::stream::unfold(0u32, |sent| async move {
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        Some((
            Ok::<_, std::convert::Infallible>(axum::body::Bytes::from_static(b" ")),
            sent + 1,
        ))
    });
    let request = Request::post("/api/v1/auth/login")
        .header("content-type", "application/json")
        .header("content-length", "60000")
        .body(Body::from_stream(trickle))
        .unwrap();
    let limit = ticketing::http::BODY_DEADLINE + std::time::Duration::from_secs(20);
    let reply = tokio::time::timeout(limit, app.send(request))
        .await
        .expect("answered once the body deadline passed");
    reply.expect(400, "VALIDATION_ERROR");
    assert!(reply.raw.contains("body"), "{}", reply.raw);
}
