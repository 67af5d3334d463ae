//! A panicking handler still answers 500 with the envelope in the release build.
//!
//! The release profile aborts on panic (unwinding would take every zip past its 4 MB budget:
//! BENCHMARKS.md), so the router's `CatchPanicLayer` never runs there. This hook runs before the
//! abort: it posts the panic answer as the invocation's response to Lambda's Runtime API, then
//! lets the process end (Lambda starts a fresh instance for the next request). In an unwinding
//! build the hook leaves the answer to the `CatchPanicLayer`, so nothing answers twice.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Mutex;
use std::time::Duration;

/// The Lambda request id of the invocation in flight (one at a time per instance).
static INVOCATION: Mutex<Option<String>> = Mutex::new(None);

/// Notes the invocation about to be handled; the runtime's layer calls it for each one.
pub fn begin(invocation: lambda_runtime::LambdaInvocation) -> lambda_runtime::LambdaInvocation {
    *INVOCATION.lock().unwrap_or_else(|p| p.into_inner()) =
        Some(invocation.context.request_id.clone());
    invocation
}

/// Installs the hook, which also logs the panic as a JSON line (in place of the default hook's
/// plain text).
pub fn install(runtime_api: String) {
    if !cfg!(panic = "abort") {
        return;
    }
    std::panic::set_hook(Box::new(move |info| {
        tracing::error!(panic = %info, "handler panicked");
        let Some(answer) = crate::http::panic_answer() else {
            return;
        };
        let invocation = INVOCATION
            .try_lock()
            .ok()
            .and_then(|mut current| current.take());
        if let Some(invocation) = invocation {
            match post_response(&runtime_api, &invocation, &answer.to_string()) {
                Ok(status) => tracing::error!(%invocation, %status, "answered the panic with 500"),
                Err(e) => tracing::error!(%invocation, error = %e, "could not answer the panic"),
            }
        }
    }));
}

/// `POST /2018-06-01/runtime/invocation/{id}/response` over plain HTTP/1.1 (the Runtime API is a
/// local endpoint): blocking, with short timeouts, as nothing async runs inside a panic hook.
/// Returns the Runtime API's status line.
fn post_response(runtime_api: &str, invocation: &str, body: &str) -> std::io::Result<String> {
    let mut stream = TcpStream::connect(runtime_api)?;
    stream.set_write_timeout(Some(Duration::from_secs(1)))?;
    stream.set_read_timeout(Some(Duration::from_secs(1)))?;
    write!(
        stream,
        "POST /2018-06-01/runtime/invocation/{invocation}/response HTTP/1.1\r\n\
         Host: {runtime_api}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    let mut reply = [0u8; 64];
    let read = stream.read(&mut reply)?;
    let reply = String::from_utf8_lossy(&reply[..read]);
    Ok(reply.lines().next().unwrap_or_default().to_owned())
}
