//! Ticket codes: what a QR code at the door carries. A code is the ticket's reference (version,
//! event, booking, number: 34 bytes) and an Ed25519 signature over it, base64url without
//! padding (131 characters). Ed25519 rather than a MAC so a scanner could check codes offline
//! with the public key alone, holding nothing that mints tickets; codes are derived on demand
//! and never stored. The key is aws-lc-rs's (already linked for TLS and JWTs): no new crate.

use crate::config::Secret;
use crate::domain::ids::{BookingId, EventId};
use crate::domain::TicketRef;
use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair, UnparsedPublicKey, ED25519};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};

const VERSION: u8 = 1;
const REFERENCE_LEN: usize = 1 + 16 + 16 + 1;
const SIGNATURE_LEN: usize = 64;
/// The longest text that can be a code (the contract allows 200).
pub const CODE_MAX_LEN: usize = 200;

/// Signs and checks ticket codes. The key pair is made on first use, not at start-up: a cold
/// start that serves no ticket pays nothing for it (nor for the crypto library's set-up).
pub struct TicketSigner {
    seed: [u8; 32],
    key: std::sync::OnceLock<Ed25519KeyPair>,
}

impl std::fmt::Debug for TicketSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TicketSigner(***)")
    }
}

impl TicketSigner {
    /// The key whose seed is derived from `secret` (so any secret of the configured length
    /// gives a key, and the same secret always the same key).
    pub fn new(secret: &Secret) -> Self {
        let seed = Sha256::new()
            .chain_update(b"ticket-codes/ed25519-seed/v1")
            .chain_update(secret.expose().as_bytes())
            .finalize();
        Self {
            seed: seed.into(),
            key: std::sync::OnceLock::new(),
        }
    }

    fn key(&self) -> &Ed25519KeyPair {
        self.key.get_or_init(|| {
            Ed25519KeyPair::from_seed_unchecked(&self.seed)
                .expect("any 32 bytes are an Ed25519 seed")
        })
    }

    /// What a scanner would need to check codes offline.
    pub fn public_key(&self) -> &[u8] {
        self.key().public_key().as_ref()
    }

    pub fn code(&self, ticket: &TicketRef) -> String {
        let reference = reference(ticket);
        let signature = self.key().sign(&reference);
        let mut bytes = reference.to_vec();
        bytes.extend_from_slice(signature.as_ref());
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// The ticket a code names, if this server signed it and it is whole.
    pub fn verify(&self, code: &str) -> Option<TicketRef> {
        if code.len() > CODE_MAX_LEN {
            return None;
        }
        let bytes = URL_SAFE_NO_PAD.decode(code).ok()?;
        if bytes.len() != REFERENCE_LEN + SIGNATURE_LEN {
            return None;
        }
        let (reference, signature) = bytes.split_at(REFERENCE_LEN);
        UnparsedPublicKey::new(&ED25519, self.public_key())
            .verify(reference, signature)
            .ok()?;
        if reference[0] != VERSION {
            return None;
        }
        let id = |from: usize| -> [u8; 16] {
            let mut out = [0; 16];
            out.copy_from_slice(&reference[from..from + 16]);
            out
        };
        Some(TicketRef {
            event: EventId::from_bytes(id(1)),
            booking: BookingId::from_bytes(id(17)),
            number: reference[33],
        })
    }
}

fn reference(ticket: &TicketRef) -> [u8; REFERENCE_LEN] {
    let mut out = [0; REFERENCE_LEN];
    out[0] = VERSION;
    out[1..17].copy_from_slice(&ticket.event.to_bytes());
    out[17..33].copy_from_slice(&ticket.booking.to_bytes());
    out[33] = ticket.number;
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer(secret: &str) -> TicketSigner {
        TicketSigner::new(&Secret::new(secret))
    }

    fn ticket() -> TicketRef {
        TicketRef {
            event: EventId::new(),
            booking: BookingId::new(),
            number: 3,
        }
    }

    #[test]
    fn a_code_names_its_ticket_and_fits_a_qr_code() {
        let signer = signer("ticket-secret-0123456789abcdefghijklmnop");
        let ticket = ticket();
        let code = signer.code(&ticket);
        assert!(code.len() <= CODE_MAX_LEN, "{}", code.len());
        assert!(code
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        assert_eq!(signer.verify(&code), Some(ticket));
        // Deterministic: the same ticket, the same code (nothing to store).
        assert_eq!(signer.code(&ticket), code);
    }

    #[test]
    fn altered_truncated_and_foreign_codes_are_refused() {
        let signer = signer("ticket-secret-0123456789abcdefghijklmnop");
        let code = signer.code(&ticket());
        // Every single character changed, one at a time.
        for i in 0..code.len() {
            let mut bytes = code.clone().into_bytes();
            bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
            let altered = String::from_utf8(bytes).unwrap();
            if altered != code {
                assert_eq!(signer.verify(&altered), None, "position {i}");
            }
        }
        assert_eq!(signer.verify(&code[..code.len() - 1]), None);
        assert_eq!(signer.verify(&code[..40]), None);
        assert_eq!(signer.verify(&format!("{code}AA")), None);
        assert_eq!(signer.verify(""), None);
        assert_eq!(signer.verify("not a code at all!"), None);
        assert_eq!(signer.verify(&"A".repeat(5_000)), None);
        // Signed with another key: well formed, not ours.
        let other = signer_other();
        assert_eq!(signer.verify(&other.code(&ticket())), None);
    }

    fn signer_other() -> TicketSigner {
        signer("another-secret-0123456789abcdefghijklmnop")
    }
}
