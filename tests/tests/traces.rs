//! What the traces carry: the request's span under the invocation's X-Ray trace, a span for each
//! DynamoDB call and each Redis command under it, X-Ray-compatible ids, and the trace id on
//! every log line of the request. Spans go to an in-memory exporter through the same subscriber
//! and provider set-up the functions use (only the exporter differs from OTLP).

use opentelemetry::trace::{SpanId, TraceId, TracerProvider as _};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SpanData};
use serde_json::Value;
use std::sync::Arc;
use ticketing::cache::RedisCache;
use ticketing::config::Config;
use ticketing::domain::Role;
use ticketing_tests::{dynamo_store, redis_url, unique, Backend, LogCapture, TestApp};
use tracing_subscriber::EnvFilter;

const ROOT: &str = "6742f0a03f1e2d4c5b6a79801a2b3c4d";
const PARENT: &str = "53995c3f42cd8ad8";

fn ancestors_reach(spans: &[SpanData], span: &SpanData, target: SpanId) -> bool {
    let mut parent = span.parent_span_id;
    for _ in 0..16 {
        if parent == target {
            return true;
        }
        match spans.iter().find(|s| s.span_context.span_id() == parent) {
            Some(next) => parent = next.parent_span_id,
            None => return false,
        }
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_is_traced_under_its_xray_trace_with_dynamodb_and_redis_spans() {
    let exporter = InMemorySpanExporter::default();
    let provider = ticketing::telemetry::xray_provider(exporter.clone(), "test");
    let logs = LogCapture::default();
    tracing::subscriber::set_global_default(ticketing::telemetry::subscriber(
        logs.clone(),
        EnvFilter::new("info"),
        Some(provider.tracer("test")),
    ))
    .unwrap();

    let cache = RedisCache::new(redis_url(), format!("{}:", unique("trace"))).traced(true);
    let app = TestApp::with_parts(
        Backend::Real,
        Config::for_tests(),
        dynamo_store().await,
        Arc::new(cache),
    );
    let (admin, _) = app.quick_user(Role::Admin).await;
    let id = app.create_event(&admin, serde_json::json!({})).await;
    provider.force_flush().unwrap();
    exporter.reset();

    // As API Gateway hands it over (in Lambda the runtime's context gives the same header).
    let header = format!("Root=1-6742f0a0-3f1e2d4c5b6a79801a2b3c4d;Parent={PARENT};Sampled=1");
    let reply = app
        .call_with(
            "GET",
            &format!("/api/v1/events/{id}"),
            None,
            &[("x-amzn-trace-id", &header), ("x-request-id", "trace-test")],
            None,
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.raw);
    provider.force_flush().unwrap();
    let spans = exporter.get_finished_spans().unwrap();
    let names: Vec<String> = spans.iter().map(|s| s.name.to_string()).collect();

    let trace_id = TraceId::from_hex(ROOT).unwrap();
    let request = spans
        .iter()
        .find(|s| s.name == "request")
        .unwrap_or_else(|| panic!("no request span in {names:?}"));
    assert_eq!(request.span_context.trace_id(), trace_id, "{names:?}");
    assert_eq!(request.parent_span_id, SpanId::from_hex(PARENT).unwrap());
    let under_request = |prefix: &str| {
        spans
            .iter()
            .filter(|s| s.name.starts_with(prefix))
            .filter(|s| s.span_context.trace_id() == trace_id)
            .filter(|s| ancestors_reach(&spans, s, request.span_context.span_id()))
            .count()
    };
    // A cold cache: Redis is asked, DynamoDB answers, Redis keeps the event.
    assert!(under_request("DynamoDB.GetItem") >= 1, "{names:?}");
    assert!(under_request("fred.command") >= 2, "{names:?}");

    // Every log line of the request carries the same trace.
    let lines: Vec<Value> = logs
        .text()
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["span"]["request_id"] == "trace-test")
        .collect();
    assert!(!lines.is_empty());
    for line in lines {
        assert_eq!(line["span"]["trace_id"], header.as_str(), "{line}");
    }
}

/// The real exporter: spans leave as OTLP/HTTP protobuf for the collector's `/v1/traces`.
#[test]
fn spans_are_posted_to_the_collector_as_otlp() {
    use std::io::{BufRead, BufReader, Read, Write};
    let sink = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", sink.local_addr().unwrap());
    let received = std::thread::spawn(move || {
        let (stream, _) = sink.accept().unwrap();
        let mut reader = BufReader::new(stream);
        let mut head = Vec::new();
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            if line == "\r\n" || line.is_empty() {
                break;
            }
            head.push(line.trim_end().to_owned());
        }
        let length: usize = head
            .iter()
            .find_map(|h| {
                h.to_ascii_lowercase()
                    .strip_prefix("content-length: ")
                    .map(str::to_owned)
            })
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0; length];
        reader.read_exact(&mut body).unwrap();
        reader
            .get_mut()
            .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
            .unwrap();
        (head, body)
    });
    let provider = ticketing::telemetry::otlp_provider(&endpoint, "test");
    {
        use opentelemetry::trace::{Tracer, TracerProvider as _};
        let tracer = provider.tracer("test");
        tracer.in_span("exported", |_| {});
    }
    provider.force_flush().unwrap();
    let (head, body) = received.join().unwrap();
    assert!(head[0].starts_with("POST /v1/traces "), "{head:?}");
    assert!(
        head.iter()
            .any(|h| h.eq_ignore_ascii_case("content-type: application/x-protobuf")),
        "{head:?}"
    );
    // The span's name travels in the protobuf body.
    assert!(
        body.windows(8).any(|w| w == b"exported"),
        "{} bytes",
        body.len()
    );
}
