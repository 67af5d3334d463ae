//! The answer to a request whose handler panicked, built outside the router: with
//! `panic = "abort"` (the release profile) the `CatchPanicLayer` never runs, so the panic hook
//! hands this to Lambda's Runtime API before the process ends.

use super::response::current_request_id;
use super::{REQUEST_ID_HEADER, SECURITY_HEADERS};
use crate::AppError;
use serde_json::{json, Map, Value};

/// The API Gateway proxy response (payload 1.0 and 2.0 read the same fields) for the request in
/// flight on this task: 500 with the envelope, its request id and the contract's headers. `None`
/// outside a request (a panic on another thread or between requests has nobody to answer).
pub fn panic_answer() -> Option<Value> {
    let request_id = current_request_id()?;
    let error = AppError::internal("handler panicked");
    let (status, code) = error.status_and_code();
    let body = crate::views::Envelope::<()>::error(
        error.public_message(),
        code,
        None,
        None,
        Some(request_id.clone()),
    );
    let mut headers: Map<String, Value> = SECURITY_HEADERS
        .iter()
        .map(|(name, value)| (name.to_string(), json!(value)))
        .collect();
    headers.insert(
        "content-type".into(),
        json!("application/json; charset=utf-8"),
    );
    headers.insert(REQUEST_ID_HEADER.into(), json!(request_id));
    Some(json!({
        "statusCode": status,
        "headers": headers,
        "body": body.to_json(),
        "isBase64Encoded": false,
    }))
}
