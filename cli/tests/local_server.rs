//! Black-box: the real `ticketing-local` binary, spoken to over TCP, on the embedded store and
//! on DynamoDB Local + Redis.

use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Server {
    child: Child,
    port: u16,
}

impl Server {
    fn start(env: &[(&str, String)], args: &[&str]) -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_ticketing-local"));
        cmd.args(["--port", &port.to_string()])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        for var in [
            "DYNAMODB_ENDPOINT",
            "REDIS_URL",
            "TABLE_NAME",
            "REDIS_KEY_PREFIX",
        ] {
            cmd.env_remove(var);
        }
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("spawn ticketing-local");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let started = Instant::now();
        let mut seen = Vec::new();
        loop {
            match lines.next() {
                Some(Ok(line)) if line.contains("listening on") => break,
                Some(Ok(line)) => seen.push(line),
                _ => panic!("ticketing-local exited before listening: {seen:?}"),
            }
            assert!(started.elapsed() < Duration::from_secs(30), "slow start");
        }
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Self { child, port }
    }

    fn request(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        extra: &[(&str, &str)],
        body: Option<Value>,
    ) -> (u16, String, Value) {
        let (status, headers, payload) = self.exchange(method, path, token, extra, body);
        (
            status,
            headers,
            serde_json::from_str(&payload).unwrap_or(Value::Null),
        )
    }

    /// One request over a fresh connection: (status, lower-cased head, body as text).
    fn exchange(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        extra: &[(&str, &str)],
        body: Option<Value>,
    ) -> (u16, String, String) {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let mut head = format!("{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Length: {}\r\n", body.len());
        if !body.is_empty() {
            head.push_str("Content-Type: application/json\r\n");
        }
        if let Some(t) = token {
            head.push_str(&format!("Authorization: Bearer {t}\r\n"));
        }
        for (k, v) in extra {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        stream
            .write_all(format!("{head}\r\n{body}").as_bytes())
            .unwrap();
        let mut raw = String::new();
        stream.read_to_string(&mut raw).unwrap();
        let (headers, payload) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
        let status = headers
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        (status, headers.to_ascii_lowercase(), payload.to_owned())
    }

    fn get(&self, path: &str) -> (u16, String, Value) {
        self.request("GET", path, None, &[], None)
    }

    fn stop(mut self) -> std::process::ExitStatus {
        Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "no graceful shutdown"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

fn real_env() -> Vec<(&'static str, String)> {
    vec![
        (
            "DYNAMODB_ENDPOINT",
            std::env::var("DYNAMODB_ENDPOINT").unwrap_or_else(|_| "http://127.0.0.1:8000".into()),
        ),
        (
            "REDIS_URL",
            std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into()),
        ),
        (
            "TABLE_NAME",
            format!("local-{}", ulid::Ulid::new().to_string().to_lowercase()),
        ),
        ("REDIS_KEY_PREFIX", format!("local-{}:", ulid::Ulid::new())),
    ]
}

#[test]
fn embedded_mode_serves_health_404_405_and_stops_gracefully() {
    let server = Server::start(&[], &[]);
    let (status, _, body) = server.get("/health");
    assert_eq!((status, body["data"]["status"].as_str()), (200, Some("ok")));
    let (status, _, body) = server.get("/health/ready");
    assert_eq!(
        (status, body["data"]["status"].as_str()),
        (200, Some("ready"))
    );
    let (status, headers, body) = server.get("/api/v1/unknown");
    assert_eq!((status, body["code"].as_str()), (404, Some("NOT_FOUND")));
    assert!(headers.contains("x-request-id:"));
    let (status, headers, body) = server.request("DELETE", "/health", None, &[], None);
    assert_eq!(
        (status, body["code"].as_str()),
        (405, Some("METHOD_NOT_ALLOWED"))
    );
    assert!(headers.contains("allow: get,head"), "{headers}");
    let (status, _, spec) = server.get("/api/v1/openapi.json");
    assert_eq!((status, spec["openapi"].as_str()), (200, Some("3.1.0")));
    assert!(spec["paths"]["/api/v1/bookings"]["post"].is_object());
    assert!(server.stop().success());
}

#[test]
fn real_services_full_flow_with_seeded_admin() {
    let server = Server::start(&real_env(), &["--seed-demo"]);
    let (status, _, body) = server.get("/health/ready");
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["dependencies"]["dynamodb"]["status"], "up");
    assert_eq!(body["data"]["dependencies"]["redis"]["status"], "up");

    let (status, _, login) = server.request(
        "POST",
        "/api/v1/auth/login",
        None,
        &[],
        Some(json!({ "email": "admin@example.com", "password": "DemoAdmin123" })),
    );
    assert_eq!(status, 200, "{login}");
    assert_eq!(login["data"]["user"]["role"], "admin");
    let (_, _, events) = server.get("/api/v1/events");
    assert_eq!(events["meta"]["total"], 3);
    let event_id = events["data"][0]["id"].as_str().unwrap().to_owned();
    let before = events["data"][0]["availableTickets"].as_u64().unwrap();

    let (status, _, reg) = server.request(
        "POST",
        "/api/v1/auth/register",
        None,
        &[],
        Some(json!({ "email": "fan@example.com", "password": "Fan12345x", "name": "Fan" })),
    );
    assert_eq!(status, 201, "{reg}");
    let token = reg["data"]["accessToken"].as_str().unwrap().to_owned();
    let key = [("Idempotency-Key", "0b6f7c1e-2f4a-4c7e-9a51-6a1f3f1c2d3e")];
    let body = json!({ "eventId": event_id, "quantity": 2 });
    let (status, headers, first) = server.request(
        "POST",
        "/api/v1/bookings",
        Some(&token),
        &key,
        Some(body.clone()),
    );
    assert_eq!(status, 201, "{first}");
    assert!(!headers.contains("\r\nidempotent-replayed:"));
    let (status, headers, again) =
        server.request("POST", "/api/v1/bookings", Some(&token), &key, Some(body));
    assert_eq!((status, &again), (201, &first));
    assert!(headers.contains("idempotent-replayed: true"));
    let (_, _, event) = server.get(&format!("/api/v1/events/{event_id}"));
    assert_eq!(
        event["data"]["availableTickets"].as_u64().unwrap(),
        before - 2
    );
    assert!(server.stop().success());
}

#[test]
fn readiness_names_redis_when_it_is_down() {
    let mut env = real_env();
    env[1].1 = "redis://127.0.0.1:1".into();
    let server = Server::start(&env, &[]);
    let (status, headers, body) = server.get("/health/ready");
    assert_eq!(
        (status, body["code"].as_str()),
        (503, Some("SERVICE_UNAVAILABLE")),
        "{body}"
    );
    assert_eq!(body["data"]["dependencies"]["redis"]["status"], "down");
    assert_eq!(body["data"]["dependencies"]["dynamodb"]["status"], "up");
    assert!(headers.contains("retry-after:"));
    server.stop();
}

/// A built app in a temporary directory, as `npm run build` lays it out.
fn fake_site() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("site-{}", ulid::Ulid::new()));
    std::fs::create_dir_all(dir.join("assets")).unwrap();
    std::fs::write(dir.join("index.html"), "<!doctype html><title>app</title>").unwrap();
    std::fs::write(dir.join("assets/app-1a2b.js"), "console.log('app')").unwrap();
    std::fs::write(dir.join("favicon.svg"), "<svg/>").unwrap();
    std::fs::write(dir.join("api-docs.html"), "<title>reference</title>").unwrap();
    dir
}

const NAVIGATION: (&str, &str) = (
    "Accept",
    "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
);

#[test]
fn serves_the_web_app_for_navigations_and_json_404_for_everything_else() {
    let dir = fake_site();
    let server = Server::start(&[], &["--site-dir", dir.to_str().unwrap()]);
    for path in [
        "/",
        "/events",
        "/events/01ARZ3NDEKTSV4RRFFQ69G5FAV",
        "/no/such/page",
    ] {
        let (status, headers, body) = server.exchange("GET", path, None, &[NAVIGATION], None);
        assert_eq!(status, 200, "{path}: {headers}");
        assert_eq!(body, "<!doctype html><title>app</title>");
        assert!(headers.contains("content-type: text/html"), "{headers}");
        assert!(headers.contains("cache-control: no-cache"), "{headers}");
        assert!(
            headers.contains("content-security-policy: default-src 'self'; script-src 'self';"),
            "the app's own policy: {headers}"
        );
        assert!(headers.contains("x-frame-options: deny"), "{headers}");
        assert!(headers.contains("x-request-id:"), "{headers}");
    }
    let (status, headers, body) = server.exchange("HEAD", "/events", None, &[NAVIGATION], None);
    assert_eq!((status, body.as_str()), (200, ""), "{headers}");

    let (status, headers, body) = server.exchange("GET", "/assets/app-1a2b.js", None, &[], None);
    assert_eq!((status, body.as_str()), (200, "console.log('app')"));
    assert!(
        headers.contains("cache-control: public, max-age=31536000, immutable"),
        "{headers}"
    );
    assert!(
        headers.contains("content-security-policy: default-src 'none'"),
        "{headers}"
    );
    // The API reference page sits beside the API it describes, whatever the Accept.
    for accept in ["*/*", NAVIGATION.1] {
        let (status, headers, body) =
            server.exchange("GET", "/api/docs", None, &[("Accept", accept)], None);
        assert_eq!((status, body.as_str()), (200, "<title>reference</title>"));
        assert!(headers.contains("content-type: text/html"), "{headers}");
        assert!(headers.contains("content-security-policy: default-src 'self'"));
    }
    let (status, _, body) = server.request("POST", "/api/docs", None, &[NAVIGATION], None);
    assert_eq!((status, body["code"].as_str()), (404, Some("NOT_FOUND")));
    let (status, _, body) = server.request("GET", "/api/docs/x", None, &[NAVIGATION], None);
    assert_eq!((status, body["code"].as_str()), (404, Some("NOT_FOUND")));
    let (status, headers, _) = server.exchange("GET", "/favicon.svg", None, &[], None);
    assert_eq!(status, 200);
    assert!(headers.contains("cache-control: no-cache"), "{headers}");

    // Not a navigation, under /api or /health, not a read, or no such file: the JSON 404.
    for (method, path, accept) in [
        ("GET", "/events", "*/*"),
        ("GET", "/events", "application/json"),
        ("GET", "/api/v1/nothing", NAVIGATION.1),
        ("GET", "/api", NAVIGATION.1),
        ("GET", "/health/nothing", NAVIGATION.1),
        ("POST", "/events", NAVIGATION.1),
        ("GET", "/assets/missing.js", "*/*"),
        ("GET", "/assets/..%2f..%2fetc%2fpasswd", "*/*"),
        ("GET", "/../../etc/passwd", "*/*"),
    ] {
        let (status, headers, body) =
            server.request(method, path, None, &[("Accept", accept)], None);
        assert_eq!(
            (status, body["code"].as_str()),
            (404, Some("NOT_FOUND")),
            "{method} {path} ({accept}): {headers}"
        );
        assert!(headers.contains("content-security-policy: default-src 'none'"));
    }
    server.stop();
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn without_a_built_app_only_the_api_is_served() {
    let missing = std::env::temp_dir().join(format!("no-site-{}", ulid::Ulid::new()));
    let server = Server::start(&[], &["--site-dir", missing.to_str().unwrap()]);
    let (status, _, body) = server.request("GET", "/events", None, &[NAVIGATION], None);
    assert_eq!((status, body["code"].as_str()), (404, Some("NOT_FOUND")));
    let (status, _, _) = server.get("/health");
    assert_eq!(status, 200);
    server.stop();
}

#[test]
fn oversized_requests_get_the_envelope() {
    let server = Server::start(&[], &[]);
    let long_path = format!("/api/v1/events?search={}", "a".repeat(20 * 1024));
    let (status, headers, body) = server.request("GET", &long_path, None, &[], None);
    assert_eq!(
        (status, body["code"].as_str()),
        (414, Some("URI_TOO_LONG")),
        "{headers}"
    );
    assert!(body["requestId"].is_string());
    assert!(headers.contains("x-request-id:") && headers.contains("x-frame-options: deny"));
    let big = "b".repeat(40 * 1024);
    let (status, headers, body) =
        server.request("GET", "/api/v1/events", None, &[("X-Big", &big)], None);
    assert_eq!(
        (status, body["code"].as_str()),
        (431, Some("HEADERS_TOO_LARGE")),
        "{headers}"
    );
    assert!(headers.contains("x-request-id:"));

    // What hyper refuses before any handler runs still reaches the client as an envelope.
    let huge_uri = format!("/api/v1/events?search={}", "a".repeat(100 * 1024));
    for (what, raw, status, code) in [
        (
            "a 100 KB URI",
            format!("GET {huge_uri} HTTP/1.1\r\nHost: localhost\r\n\r\n"),
            414,
            "URI_TOO_LONG",
        ),
        (
            "a bare CR in a header",
            "GET /health HTTP/1.1\r\nHost: localhost\r\nX-Bad: a\rb\r\n\r\n".to_owned(),
            400,
            "VALIDATION_ERROR",
        ),
        (
            "an absurd Content-Length",
            "POST /api/v1/auth/login HTTP/1.1\r\nHost: localhost\r\nContent-Length: 99999999999999999999999\r\n\r\n".to_owned(),
            400,
            "VALIDATION_ERROR",
        ),
        (
            "too many headers",
            format!(
                "GET /health HTTP/1.1\r\nHost: localhost\r\n{}\r\n",
                (0..300).map(|i| format!("X-H{i}: v\r\n")).collect::<String>()
            ),
            431,
            "HEADERS_TOO_LARGE",
        ),
    ] {
        let mut stream = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
        stream.write_all(raw.as_bytes()).unwrap();
        let (answer, _) = read_until_closed(&mut stream);
        let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
        assert!(head.starts_with(&format!("HTTP/1.1 {status}")), "{what}: {answer}");
        let body: Value = serde_json::from_str(body).unwrap_or(Value::Null);
        assert_eq!(body["code"].as_str(), Some(code), "{what}: {answer}");
        assert_eq!(body["success"], false);
        assert!(body["requestId"].is_string(), "{what}");
        let head = head.to_ascii_lowercase();
        assert!(head.contains("x-request-id:") && head.contains("x-content-type-options: nosniff"), "{what}: {head}");
    }
    assert_eq!(server.get("/health").0, 200);
    server.stop();
}

/// Reads until the server closes the connection (or 40 s pass); returns what it sent.
fn read_until_closed(stream: &mut TcpStream) -> (String, Duration) {
    let started = Instant::now();
    stream
        .set_read_timeout(Some(Duration::from_secs(40)))
        .unwrap();
    let mut received = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => received.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break,
            Err(e) => panic!("the server kept the connection open: {e}"),
        }
    }
    (
        String::from_utf8_lossy(&received).into_owned(),
        started.elapsed(),
    )
}

#[test]
fn slow_clients_cannot_hold_a_connection() {
    let server = Server::start(&[], &[]);
    // Headers that never end.
    let mut partial = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    partial
        .write_all(b"GET /api/v1/events HTTP/1.1\r\nHost: localhost\r\nX-Slow: ")
        .unwrap();
    // A body shorter than its Content-Length.
    let mut short = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    short
        .write_all(
            b"POST /api/v1/auth/login HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"email\":",
        )
        .unwrap();
    let (_, _) = read_until_closed(&mut partial);
    let (answer, _) = read_until_closed(&mut short);
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(answer.contains("VALIDATION_ERROR"), "{answer}");
    // The server is still serving everyone else.
    assert_eq!(server.get("/health").0, 200);
    server.stop();
}
