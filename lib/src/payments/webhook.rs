//! Stripe's webhook signatures: `Stripe-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of
//! "<t>.<raw body>">` (one or more `v1`, during a secret's rotation), checked in constant time
//! on the raw body, within a tolerance either side of now.

use aws_lc_rs::hmac;

/// How far from now a signature's `t` may be.
pub const TOLERANCE_SECS: i64 = 300;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("no usable Stripe-Signature header")]
    Malformed,
    #[error("the signature's timestamp is outside the tolerance")]
    Stale,
    #[error("no signature matches")]
    Mismatch,
}

/// Verifies `header` for `body` under `secret` at `now` (unix seconds).
pub fn verify(secret: &str, header: &str, body: &[u8], now: i64) -> Result<(), SignatureError> {
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", t)) => timestamp = t.parse::<i64>().ok(),
            Some(("v1", sig)) => {
                if let Ok(bytes) = hex::decode(sig) {
                    signatures.push(bytes);
                }
            }
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(SignatureError::Malformed)?;
    if signatures.is_empty() {
        return Err(SignatureError::Malformed);
    }
    if (now - timestamp).abs() > TOLERANCE_SECS {
        return Err(SignatureError::Stale);
    }
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes());
    let mut signed = format!("{timestamp}.").into_bytes();
    signed.extend_from_slice(body);
    // `verify` compares in constant time.
    if signatures
        .iter()
        .any(|sig| hmac::verify(&key, &signed, sig).is_ok())
    {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

/// The header Stripe would send for `body` at `timestamp`: for tests and tools.
pub fn sign(secret: &str, body: &[u8], timestamp: i64) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes());
    let mut signed = format!("{timestamp}.").into_bytes();
    signed.extend_from_slice(body);
    format!(
        "t={timestamp},v1={}",
        hex::encode(hmac::sign(&key, &signed).as_ref())
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_test_secret";

    #[test]
    fn good_bad_and_stale_signatures() {
        let body = br#"{"id":"evt_1"}"#;
        let now = 1_800_000_000;
        let header = sign(SECRET, body, now);
        assert_eq!(verify(SECRET, &header, body, now), Ok(()));
        assert_eq!(verify(SECRET, &header, body, now + 300), Ok(()));
        assert_eq!(
            verify(SECRET, &header, body, now + 301),
            Err(SignatureError::Stale)
        );
        assert_eq!(
            verify(SECRET, &header, body, now - 301),
            Err(SignatureError::Stale)
        );
        assert_eq!(
            verify("whsec_other", &header, body, now),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(SECRET, &header, br#"{"id":"evt_2"}"#, now),
            Err(SignatureError::Mismatch)
        );
        for malformed in ["", "t=abc,v1=00", "v1=00", &format!("t={now}")] {
            assert_eq!(
                verify(SECRET, malformed, body, now),
                Err(SignatureError::Malformed),
                "{malformed}"
            );
        }
        // A rotation: one of several v1 signatures matching is enough.
        let rotated = format!("{header},v1=00ff");
        assert_eq!(verify(SECRET, &rotated, body, now), Ok(()));
    }
}
