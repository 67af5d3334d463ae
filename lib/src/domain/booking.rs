use super::payment::{Payment, PaymentStatus, Refund};
use super::{DomainError, ShardTake};
use crate::domain::ids::{BookingId, EventId, UserId};
use crate::money::Cents;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BookingStatus {
    /// A checkout's hold: its tickets are taken until it is paid, cancelled or lapses.
    Pending,
    Confirmed,
    Cancelled,
    /// A hold that lapsed unpaid: its tickets went back.
    Expired,
}

impl BookingStatus {
    pub const ALL: [Self; 4] = [
        Self::Pending,
        Self::Confirmed,
        Self::Cancelled,
        Self::Expired,
    ];

    /// The name the contract and the store use (serde's spelling).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Confirmed => "confirmed",
            Self::Cancelled => "cancelled",
            Self::Expired => "expired",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == raw)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Booking {
    pub id: BookingId,
    pub event_id: EventId,
    pub user_id: UserId,
    pub quantity: u32,
    pub unit_price: Cents,
    pub total_price: Cents,
    pub status: BookingStatus,
    pub ticket_numbers: Vec<String>,
    pub idempotency_key: String,
    pub created_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancelled_at: Option<DateTime<Utc>>,
    /// The inventory shards the tickets came from (cancel gives them back there); set by the
    /// service per attempt, never shown to clients.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allocation: Vec<ShardTake>,
    /// When each admitted ticket (by its number from 1, as text: a map's keys) was scanned.
    /// Always written, if empty: a check-in sets one entry of it by one conditional write.
    #[serde(default)]
    pub checked_in: BTreeMap<String, DateTime<Utc>>,
    /// A hold's end (the contract's `expiresAt`; stored under another name than the table's
    /// TTL attribute, which is epoch seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hold_expires_at: Option<DateTime<Utc>>,
    /// When a checkout's payment confirmed it (a booking confirmed when made has none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confirmed_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment: Option<Payment>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund: Option<Refund>,
}

/// One ticket, as its code names it: the event, the booking and the ticket's number in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TicketRef {
    pub event: EventId,
    pub booking: BookingId,
    /// From 1 to the booking's quantity.
    pub number: u8,
}

impl TicketRef {
    pub fn ticket_number(&self) -> String {
        Booking::ticket_number(self.booking, u32::from(self.number))
    }
}

impl Booking {
    /// A booking of `quantity` tickets at `unit_price` for the crate's unit tests.
    #[cfg(test)]
    pub(crate) fn sample(
        event_id: EventId,
        quantity: u32,
        unit_price: crate::money::Cents,
        status: BookingStatus,
    ) -> Self {
        let id = BookingId::new();
        Self {
            id,
            event_id,
            user_id: UserId::new(),
            quantity,
            unit_price,
            total_price: unit_price.times(quantity),
            status,
            ticket_numbers: Self::ticket_numbers(id, quantity),
            idempotency_key: "k".into(),
            created_at: Utc::now(),
            cancelled_at: None,
            allocation: vec![],
            checked_in: Default::default(),
            hold_expires_at: None,
            confirmed_at: None,
            payment: None,
            refund: None,
        }
    }

    /// The status a read shows at `now`: a hold that lapsed unpaid is `expired` from
    /// `expiresAt` on, even before the sweep has given its tickets back.
    pub fn status_at(&self, now: DateTime<Utc>) -> BookingStatus {
        let unpaid = self
            .payment
            .as_ref()
            .is_none_or(|p| p.status == PaymentStatus::RequiresPayment);
        if self.status == BookingStatus::Pending
            && unpaid
            && super::payment::hold_lapsed(self.hold_expires_at, now)
        {
            BookingStatus::Expired
        } else {
            self.status
        }
    }

    /// Where the tickets came from; a booking from before sharding took them all from shard 0.
    pub fn takes(&self) -> Vec<ShardTake> {
        if self.allocation.is_empty() {
            vec![ShardTake::new(0, self.quantity)]
        } else {
            self.allocation.clone()
        }
    }

    /// Ticket numbers derive from the (unique) booking id, so they are unique across the event
    /// by construction, with no shared sequence to contend on.
    pub fn ticket_numbers(id: BookingId, quantity: u32) -> Vec<String> {
        (1..=quantity).map(|n| Self::ticket_number(id, n)).collect()
    }

    /// The `n`th (from 1) ticket number of booking `id`.
    pub fn ticket_number(id: BookingId, n: u32) -> String {
        format!("TKT-{id}-{n:02}")
    }

    /// Its tickets, as codes name them (`n` from 1).
    pub fn tickets(&self) -> impl Iterator<Item = TicketRef> + '_ {
        (1..=self.quantity).map(|n| TicketRef {
            event: self.event_id,
            booking: self.id,
            number: n as u8,
        })
    }

    /// When ticket `number` was admitted, if it was.
    pub fn checked_in_at(&self, number: u8) -> Option<DateTime<Utc>> {
        self.checked_in.get(&number.to_string()).copied()
    }
}

pub const MAX_QUANTITY: u32 = 10;

/// A validated booking request, plus the fingerprint that idempotency compares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewBookingRequest {
    pub event_id: EventId,
    pub quantity: u32,
    pub idempotency_key: uuid::Uuid,
}

impl NewBookingRequest {
    pub fn parse(
        event_id: &str,
        quantity: i64,
        idempotency_key: uuid::Uuid,
    ) -> Result<Self, DomainError> {
        let mut problems = super::Problems::default();
        let event_id = EventId::parse(event_id, "eventId")
            .map_err(|_| problems.add("eventId", "must be a valid event id"))
            .ok();
        if !(1..=i64::from(MAX_QUANTITY)).contains(&quantity) {
            problems.add("quantity", "must be a whole number from 1 to 10");
        }
        let quantity = u32::try_from(quantity).ok();
        let parsed = event_id.zip(quantity).map(|(event_id, quantity)| Self {
            event_id,
            quantity,
            idempotency_key,
        });
        problems.finish(parsed)
    }

    /// Identifies "the same request" for idempotency: equal bodies give equal fingerprints.
    pub fn fingerprint(&self) -> String {
        let canonical = format!("{}|{}", self.event_id, self.quantity);
        hex::encode(Sha256::digest(canonical.as_bytes()))
    }
}

/// Parses an `Idempotency-Key` header: a UUID, bare or as a quoted sf-string.
pub fn parse_idempotency_key(raw: &str) -> Result<uuid::Uuid, DomainError> {
    let raw = raw.trim();
    let inner = raw
        .strip_prefix('"')
        .and_then(|r| r.strip_suffix('"'))
        .unwrap_or(raw);
    uuid::Uuid::try_parse(inner)
        .ok()
        .filter(|_| inner.len() == 36)
        .ok_or_else(|| DomainError::invalid("Idempotency-Key", "must be a UUID"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_names_are_serdes() {
        for status in BookingStatus::ALL {
            let json = serde_json::to_string(&status).unwrap();
            assert_eq!(json, format!("\"{}\"", status.as_str()));
            assert_eq!(BookingStatus::parse(status.as_str()), Some(status));
        }
        assert_eq!(BookingStatus::parse("Confirmed"), None);
    }

    #[test]
    fn idempotency_key_forms() {
        let key = "6f1c2a8e-7d3b-4c5e-9f10-2a3b4c5d6e7f";
        assert_eq!(parse_idempotency_key(key).unwrap().to_string(), key);
        assert_eq!(
            parse_idempotency_key(&format!("\"{key}\""))
                .unwrap()
                .to_string(),
            key
        );
        for bad in [
            "",
            "abc",
            "\"abc\"",
            "6f1c2a8e7d3b4c5e9f102a3b4c5d6e7f",
            "\"6f1c2a8e-7d3b-4c5e-9f10-2a3b4c5d6e7f",
        ] {
            assert!(parse_idempotency_key(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn quantity_bounds_and_fingerprints() {
        let key = uuid::Uuid::nil();
        let event = EventId::new().to_string();
        assert!(NewBookingRequest::parse(&event, 0, key).is_err());
        assert!(NewBookingRequest::parse(&event, 11, key).is_err());
        assert!(NewBookingRequest::parse("nope", 1, key).is_err());
        let a = NewBookingRequest::parse(&event, 2, key).unwrap();
        let b = NewBookingRequest::parse(&event, 2, key).unwrap();
        let c = NewBookingRequest::parse(&event, 3, key).unwrap();
        assert_eq!(a.fingerprint(), b.fingerprint());
        assert_ne!(a.fingerprint(), c.fingerprint());
    }

    #[test]
    fn ticket_numbers_are_unique_per_booking() {
        let numbers = Booking::ticket_numbers(BookingId::new(), 3);
        assert_eq!(numbers.len(), 3);
        let other = Booking::ticket_numbers(BookingId::new(), 3);
        assert!(numbers.iter().all(|n| !other.contains(n)));
    }
}
