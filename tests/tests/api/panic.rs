//! A panicking handler answers 500 with the envelope in a binary built with the release
//! profile's panic strategy, invoked as Lambda invokes it (under the Runtime Interface Emulator).
//! Tests otherwise run in the dev profile, which unwinds into the `CatchPanicLayer`; the release
//! profile aborts, where only the panic hook's answer through the Runtime API stands between a
//! bug and API Gateway's bare 502.

use serde_json::{json, Value};
use std::collections::BTreeMap;
use ticketing_tests::emulator::{cargo_build, Emulator};
use ticketing_tests::samples;

fn build_probe() -> std::path::PathBuf {
    cargo_build("release-probe", &["ticketing-panic-probe"]).join("ticketing-panic-probe")
}

/// The health sample, sent to another path.
fn payload(path: &str, request_id: &str) -> Value {
    let mut payload = samples::load("health");
    payload["rawPath"] = json!(path);
    payload["routeKey"] = json!(format!("GET {path}"));
    payload["requestContext"]["http"]["path"] = json!(path);
    payload["requestContext"]["routeKey"] = json!(format!("GET {path}"));
    payload["headers"]["x-request-id"] = json!(request_id);
    payload
}

#[tokio::test]
async fn a_panicking_handler_answers_500_with_the_envelope_in_a_release_strategy_build() {
    let binary = build_probe();
    let env = BTreeMap::from([("RUST_LOG".to_owned(), "info".to_owned())]);
    let emulator = Emulator::start_binary(&binary, &env);

    // A healthy request first: the probe serves the real routes.
    let events = emulator
        .invoke(&payload("/api/v1/events", "before-the-panic"))
        .await;
    assert_eq!(events.status, 200, "{}", events.body);

    // The instance ends after answering: wait for its last line, not a REPORT.
    let call = emulator
        .invoke_until(&payload("/__panic", "the-panicking-one"), |lines| {
            lines.iter().any(|l| l.contains("answered the panic"))
        })
        .await;
    assert_eq!(call.status, 500, "{:?}", call.output);
    assert_eq!(call.body["success"], false, "{}", call.body);
    assert_eq!(call.body["code"], "INTERNAL_ERROR", "{}", call.body);
    assert_eq!(call.body["requestId"], "the-panicking-one", "{}", call.body);
    assert_eq!(call.headers["x-request-id"], "the-panicking-one");
    assert_eq!(
        call.headers["content-type"],
        "application/json; charset=utf-8"
    );
    assert_eq!(call.headers["x-content-type-options"], "nosniff");
    ticketing_tests::assert_no_internal_text(&call.body.to_string());
    // The panic is logged as a JSON line, like every other error.
    assert!(
        call.output.iter().any(|line| {
            serde_json::from_str::<Value>(line)
                .is_ok_and(|l| l["message"] == "handler panicked" && l["level"] == "ERROR")
        }),
        "{:?}",
        call.output
    );
}
