//! hyper answers some malformed requests itself, before any handler runs (a bare CR in a header,
//! an unparseable Content-Length, a URI past 64 KiB, too many headers), with a bodiless 4xx.
//! This wrapper of the connection's socket recognises exactly those answers on their way out and
//! writes the contract's envelope instead, with the security headers and a request id, so every
//! error the local server sends is one a client can read. (In AWS, API Gateway answers these.)

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use ticketing::http::SECURITY_HEADERS;
use ticketing::AppError;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

pub struct EnvelopeIo<S> {
    inner: S,
    /// Bytes of a replacement answer not yet written to the socket.
    pending: Vec<u8>,
}

impl<S> EnvelopeIo<S> {
    pub fn new(inner: S) -> Self {
        Self {
            inner,
            pending: Vec::new(),
        }
    }
}

/// hyper's own error answers are a 4xx head with `content-length: 0` and nothing else; every
/// answer of the app's carries an envelope, so it never matches.
fn replacement(written: &[u8]) -> Option<Vec<u8>> {
    let text = std::str::from_utf8(written).ok()?;
    let status: u16 = text.strip_prefix("HTTP/1.1 4")?.get(..2)?.parse().ok()?;
    let status = 400 + status;
    let bodiless = text.ends_with("\r\n\r\n")
        && text
            .to_ascii_lowercase()
            .contains("\r\ncontent-length: 0\r\n");
    if !bodiless {
        return None;
    }
    let error = match status {
        414 => AppError::UriTooLong,
        431 => AppError::HeadersTooLarge,
        _ => AppError::validation("request", "is malformed"),
    };
    let (code_status, code) = error.status_and_code();
    let request_id = ulid::Ulid::new().to_string();
    let mut body = serde_json::json!({
        "success": false,
        "message": error.public_message(),
        "code": code,
        "requestId": request_id,
    });
    if let AppError::Validation(errors) = &error {
        body["errors"] = serde_json::json!(errors);
    }
    let body = body.to_string();
    let reason = axum::http::StatusCode::from_u16(code_status)
        .ok()?
        .canonical_reason()
        .unwrap_or("Bad Request");
    let mut head = format!(
        "HTTP/1.1 {code_status} {reason}\r\ncontent-type: application/json; charset=utf-8\r\n\
         content-length: {}\r\nconnection: close\r\nx-request-id: {request_id}\r\n",
        body.len()
    );
    for (name, value) in SECURITY_HEADERS {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    Some(format!("{head}\r\n{body}").into_bytes())
}

impl<S: AsyncWrite + Unpin> EnvelopeIo<S> {
    fn poll_drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while !self.pending.is_empty() {
            let n = ready!(Pin::new(&mut self.inner).poll_write(cx, &self.pending))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.pending.drain(..n);
        }
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for EnvelopeIo<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for EnvelopeIo<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        ready!(self.poll_drain(cx))?;
        if let Some(answer) = replacement(buf) {
            // Taken whole; written out by the drain here or at the flush hyper makes next.
            self.pending = answer;
            let _ = self.poll_drain(cx)?;
            return Poll::Ready(Ok(buf.len()));
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_drain(cx))?;
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_drain(cx))?;
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    // One buffer a response, so an answer is recognised whole.
    fn is_write_vectored(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::replacement;

    #[test]
    fn only_hypers_bodiless_errors_are_replaced() {
        let hyper = b"HTTP/1.1 431 Request Header Fields Too Large\r\nconnection: close\r\ncontent-length: 0\r\ndate: x\r\n\r\n";
        let answer = String::from_utf8(replacement(hyper).unwrap()).unwrap();
        assert!(answer.starts_with("HTTP/1.1 431 Request Header Fields Too Large\r\n"));
        assert!(
            answer.contains("\"code\":\"HEADERS_TOO_LARGE\""),
            "{answer}"
        );
        assert!(answer.contains("x-content-type-options: nosniff"));
        let bad = b"HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n";
        assert!(String::from_utf8(replacement(bad).unwrap())
            .unwrap()
            .contains("VALIDATION_ERROR"));
        // The app's own answers always have a body.
        assert!(replacement(b"HTTP/1.1 404 Not Found\r\ncontent-length: 108\r\n\r\n").is_none());
        assert!(replacement(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n").is_none());
        assert!(replacement(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n{}").is_none());
    }
}
