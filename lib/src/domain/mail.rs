//! The outbox: each mail the platform sends is a record written in the same store write as its
//! cause (an account opened, a reset asked for, a lock, a booking confirmed or cancelled) and
//! delivered later by a worker. A record names its cause, never its content: what a mail says
//! (a token, the tickets) is worked out at delivery, so no secret waits in the table.

use crate::domain::ids::{BookingId, UserId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Partitions of the index of mails waiting for delivery: a hot sale's confirmations spread
/// over them instead of queueing on one index partition.
pub const MAIL_QUEUE_SHARDS: u16 = 8;

/// Why a mail is sent, and what its worker needs to find out what it says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum MailKind {
    /// The address of a new account (or a resend) is to be verified.
    #[serde(rename_all = "camelCase")]
    Verification { user_id: UserId },
    /// Someone asked to reset the password of this address: mailed only if an account has it.
    PasswordReset { address: String },
    /// This address was locked after failed logins: mailed only if an account has it.
    AccountLocked {
        address: String,
        until: DateTime<Utc>,
    },
    #[serde(rename_all = "camelCase")]
    BookingConfirmed { booking_id: BookingId },
    #[serde(rename_all = "camelCase")]
    BookingCancelled { booking_id: BookingId },
}

/// One mail waiting in (or delivered from) the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxMail {
    /// Unique per cause: a cause that can happen once (a booking's confirmation, one lock) has an
    /// id derived from it, so writing it twice is refused by the store.
    pub id: String,
    pub kind: MailKind,
    pub created_at: DateTime<Utc>,
}

impl OutboxMail {
    fn new(id: String, kind: MailKind, now: DateTime<Utc>) -> Self {
        // To the millisecond, as the store keeps it.
        use chrono::SubsecRound;
        Self {
            id,
            kind,
            created_at: now.trunc_subsecs(3),
        }
    }

    /// A fresh verification link for `user` (each one makes the earlier ones invalid).
    pub fn verification(user_id: UserId, now: DateTime<Utc>) -> Self {
        let id = format!("verify.{}", ulid::Ulid::new());
        Self::new(id, MailKind::Verification { user_id }, now)
    }

    pub fn password_reset(address: &str, now: DateTime<Utc>) -> Self {
        let id = format!("reset.{}", ulid::Ulid::new());
        let address = address.to_owned();
        Self::new(id, MailKind::PasswordReset { address }, now)
    }

    /// One notice per lock: the id names the address and the lock's end.
    pub fn account_locked(address: &str, until: DateTime<Utc>, now: DateTime<Utc>) -> Self {
        let digest = hex::encode(&Sha256::digest(address.as_bytes())[..12]);
        let id = format!("locked.{digest}.{}", until.timestamp_millis());
        let address = address.to_owned();
        Self::new(id, MailKind::AccountLocked { address, until }, now)
    }

    pub fn booking_confirmed(booking_id: BookingId, now: DateTime<Utc>) -> Self {
        let id = format!("confirmed.{booking_id}");
        Self::new(id, MailKind::BookingConfirmed { booking_id }, now)
    }

    pub fn booking_cancelled(booking_id: BookingId, now: DateTime<Utc>) -> Self {
        let id = format!("cancelled.{booking_id}");
        Self::new(id, MailKind::BookingCancelled { booking_id }, now)
    }

    /// The partition of the waiting-mail index this mail queues in.
    pub fn queue_shard(&self) -> u16 {
        queue_shard(&self.id)
    }
}

pub fn queue_shard(id: &str) -> u16 {
    let digest = Sha256::digest(id.as_bytes());
    u16::from_be_bytes([digest[0], digest[1]]) % MAIL_QUEUE_SHARDS
}

/// Where a mail stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailState {
    /// Waiting, first or again, for a worker from `due`.
    Pending { due: DateTime<Utc> },
    /// A worker took it until `until`: another takes it only after that (a crashed worker's
    /// mail is delivered by the next one).
    Leased { until: DateTime<Utc> },
    /// SES accepted it, or there was nobody to send it to.
    Done,
}

/// A mail a worker holds the lease of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeasedMail {
    pub mail: OutboxMail,
    /// Deliveries tried before this one.
    pub attempts: u32,
    /// What the lease is known by: the worker that marks the mail done must still hold it.
    pub lease: String,
}

/// How long after a failed delivery the next try is due: doubling from 1 s, at most 10 s, so a
/// mail goes out within seconds of SES coming back (the contract allows 30 s).
pub fn retry_delay(attempts: u32) -> chrono::Duration {
    let secs = 1i64 << attempts.min(4);
    chrono::Duration::seconds(secs.min(10))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn causes_that_happen_once_have_one_id() {
        let now = Utc::now();
        let booking = BookingId::new();
        assert_eq!(
            OutboxMail::booking_confirmed(booking, now).id,
            OutboxMail::booking_confirmed(booking, now + chrono::Duration::seconds(5)).id
        );
        assert_ne!(
            OutboxMail::booking_confirmed(booking, now).id,
            OutboxMail::booking_cancelled(booking, now).id
        );
        let until = now + chrono::Duration::minutes(15);
        let lock = OutboxMail::account_locked("ada@example.com", until, now);
        assert_eq!(
            lock.id,
            OutboxMail::account_locked("ada@example.com", until, now).id
        );
        assert_ne!(
            lock.id,
            OutboxMail::account_locked("bob@example.com", until, now).id
        );
        let user = UserId::new();
        assert_ne!(
            OutboxMail::verification(user, now).id,
            OutboxMail::verification(user, now).id
        );
    }

    #[test]
    fn kinds_round_trip_through_their_stored_form() {
        let now = Utc::now();
        for mail in [
            OutboxMail::verification(UserId::new(), now),
            OutboxMail::password_reset("ada@example.com", now),
            OutboxMail::account_locked("ada@example.com", now, now),
            OutboxMail::booking_confirmed(BookingId::new(), now),
            OutboxMail::booking_cancelled(BookingId::new(), now),
        ] {
            let json = serde_json::to_string(&mail.kind).unwrap();
            assert_eq!(serde_json::from_str::<MailKind>(&json).unwrap(), mail.kind);
            assert!(mail.queue_shard() < MAIL_QUEUE_SHARDS);
        }
    }

    #[test]
    fn retries_back_off_to_ten_seconds() {
        let delays: Vec<_> = (0..7).map(|a| retry_delay(a).num_seconds()).collect();
        assert_eq!(delays, [1, 2, 4, 8, 10, 10, 10]);
    }
}
