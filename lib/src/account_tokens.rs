//! Tokens of the links that verify an address and reset a password: `<user id>.<secret>`, the
//! secret 256 bits, base64url. The store keeps only the secret's SHA-256 (on the user item, one
//! per purpose: a newer token replaces the older, which stops working), and a redemption is one
//! conditional write on that hash and its expiry, so a token works once.
//!
//! The secret is an HMAC of the outbox mail that carries it, under a key derived from
//! configuration: the worker that delivers (or re-delivers) the mail derives the same token, and
//! no plain token is ever written anywhere.

use crate::config::Secret;
use crate::domain::ids::UserId;
use aws_lc_rs::hmac;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use sha2::{Digest, Sha256};

const SECRET_LEN: usize = 32;

/// What a token is for; each has its own lifetime.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenPurpose {
    VerifyEmail,
    ResetPassword,
}

impl TokenPurpose {
    pub fn lifetime(self) -> Duration {
        match self {
            TokenPurpose::VerifyEmail => Duration::hours(24),
            TokenPurpose::ResetPassword => Duration::minutes(30),
        }
    }

    fn label(self) -> &'static str {
        match self {
            TokenPurpose::VerifyEmail => "verify-email",
            TokenPurpose::ResetPassword => "reset-password",
        }
    }
}

/// A token as a link carries it.
#[derive(Clone, PartialEq, Eq)]
pub struct AccountToken {
    pub user: UserId,
    secret: [u8; SECRET_LEN],
}

// Never print the secret.
impl std::fmt::Debug for AccountToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AccountToken({}, ***)", self.user)
    }
}

impl AccountToken {
    /// The token `mail_id` carries (the same on every delivery of that mail).
    pub fn derive(keys: &TokenKeys, purpose: TokenPurpose, user: UserId, mail_id: &str) -> Self {
        let tag = hmac::sign(
            &keys.0,
            format!("{}\n{user}\n{mail_id}", purpose.label()).as_bytes(),
        );
        let mut secret = [0u8; SECRET_LEN];
        secret.copy_from_slice(&tag.as_ref()[..SECRET_LEN]);
        Self { user, secret }
    }

    /// A token of the right shape, or `None` (garbage is an invalid token like any other).
    pub fn parse(text: &str) -> Option<Self> {
        let (user, secret) = text.trim().split_once('.')?;
        let user = user.parse::<UserId>().ok()?;
        if secret.len() != 43 {
            return None;
        }
        let bytes = URL_SAFE_NO_PAD.decode(secret).ok()?;
        let secret = <[u8; SECRET_LEN]>::try_from(bytes.as_slice()).ok()?;
        Some(Self { user, secret })
    }

    pub fn encode(&self) -> String {
        format!("{}.{}", self.user, URL_SAFE_NO_PAD.encode(self.secret))
    }

    /// What the store keeps: the secret's SHA-256, hex.
    pub fn hash(&self) -> String {
        hex::encode(Sha256::digest(self.secret))
    }
}

/// A token's hash and expiry as the user item holds them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredToken {
    pub hash: String,
    pub expires_at: DateTime<Utc>,
}

impl StoredToken {
    pub fn of(token: &AccountToken, purpose: TokenPurpose, now: DateTime<Utc>) -> Self {
        Self {
            hash: token.hash(),
            expires_at: now + purpose.lifetime(),
        }
    }
}

/// The key tokens are derived under.
#[derive(Clone)]
pub struct TokenKeys(hmac::Key);

impl TokenKeys {
    /// Derived from the refresh-token secret (configuration, validated at start-up), under a
    /// label of its own, so it is never the key of anything else.
    pub fn new(secret: &Secret) -> Self {
        let seed = Sha256::new()
            .chain_update(b"account-tokens/hmac-key/v1")
            .chain_update(secret.expose().as_bytes())
            .finalize();
        Self(hmac::Key::new(hmac::HMAC_SHA256, &seed))
    }
}

impl std::fmt::Debug for TokenKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenKeys(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(secret: &str) -> TokenKeys {
        TokenKeys::new(&Secret::new(secret))
    }

    #[test]
    fn a_mail_always_carries_the_same_token_and_two_mails_differ() {
        let k = keys("a-secret-of-some-length-0123456789");
        let user = UserId::new();
        let one = AccountToken::derive(&k, TokenPurpose::ResetPassword, user, "reset.1");
        let again = AccountToken::derive(&k, TokenPurpose::ResetPassword, user, "reset.1");
        assert_eq!(one, again);
        assert_ne!(
            one,
            AccountToken::derive(&k, TokenPurpose::ResetPassword, user, "reset.2")
        );
        assert_ne!(
            one,
            AccountToken::derive(&k, TokenPurpose::VerifyEmail, user, "reset.1")
        );
        let other_key = keys("another-secret-of-some-length-987654");
        assert_ne!(
            one,
            AccountToken::derive(&other_key, TokenPurpose::ResetPassword, user, "reset.1")
        );
    }

    #[test]
    fn tokens_round_trip_and_garbage_does_not_parse() {
        let k = keys("a-secret-of-some-length-0123456789");
        let token = AccountToken::derive(&k, TokenPurpose::VerifyEmail, UserId::new(), "m");
        let text = token.encode();
        assert_eq!(AccountToken::parse(&text), Some(token.clone()));
        assert_eq!(token.hash().len(), 64);
        assert!(!text.contains(&token.hash()));
        let (user, secret) = text.split_once('.').unwrap();
        for bad in [
            String::new(),
            "garbage".into(),
            user.to_owned(),
            format!("{user}."),
            format!("{user}.{}", &secret[1..]),
            format!("{user}.{secret}A"),
            format!("{}.{secret}", &user[1..]),
            format!("{}.{secret}", user.to_lowercase()),
            format!(
                "{user}.{}",
                secret.replace(|c: char| c.is_alphanumeric(), "*")
            ),
        ] {
            assert_eq!(AccountToken::parse(&bad), None, "{bad}");
        }
    }
}
