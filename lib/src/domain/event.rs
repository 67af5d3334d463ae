use super::DomainError;
use super::{text, Problems};
use crate::domain::ids::{EventId, UserId};
use crate::money::{Cents, MoneyError};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EventStatus {
    Draft,
    Published,
    Cancelled,
    Completed,
}

impl EventStatus {
    pub const ALL: [Self; 4] = [
        Self::Draft,
        Self::Published,
        Self::Cancelled,
        Self::Completed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Published => "published",
            Self::Cancelled => "cancelled",
            Self::Completed => "completed",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == raw)
    }

    /// The lifecycle: `draft ⇄ published`, `draft|published → cancelled`, `published →
    /// completed`; `cancelled` and `completed` are final. Staying put is always allowed.
    pub fn can_become(self, next: Self) -> bool {
        use EventStatus::*;
        self == next
            || matches!(
                (self, next),
                (Draft, Published)
                    | (Published, Draft)
                    | (Draft | Published, Cancelled)
                    | (Published, Completed)
            )
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    pub id: EventId,
    pub name: String,
    pub description: String,
    pub venue: String,
    pub date: DateTime<Utc>,
    pub price: Cents,
    pub total_tickets: u32,
    /// Σ of the inventory shards, read with the event (the catalog item itself holds no
    /// counter, so a booking never rewrites it); never computed from bookings.
    #[serde(default)]
    pub available_tickets: u32,
    /// Confirmed bookings (Σ of the shards), so delete and a return to draft can be race-free.
    #[serde(default)]
    pub confirmed_bookings: u32,
    /// How many inventory shards hold the counters: fixed at creation (see `ShardRule`).
    #[serde(default = "one_shard")]
    pub inventory_shards: u16,
    pub status: EventStatus,
    /// At most this many pending and confirmed tickets per user (`None`: only the per-order
    /// limit). Bookings are conditioned on it, like on the price.
    #[serde(default)]
    pub max_tickets_per_user: Option<u32>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted_by: Option<UserId>,
}

fn one_shard() -> u16 {
    1
}

impl Event {
    /// The counters as the inventory holds them.
    pub fn with_inventory(self, inventory: &super::Inventory) -> Self {
        self.with_counts(inventory.available(), inventory.confirmed())
    }

    /// The event with its counters as summed over its shards.
    pub fn with_counts(mut self, available: u32, confirmed: u32) -> Self {
        self.available_tickets = available;
        self.confirmed_bookings = confirmed;
        self
    }

    pub fn is_bookable(&self, now: DateTime<Utc>) -> bool {
        self.status == EventStatus::Published && self.date > now && self.deleted_at.is_none()
    }
}

pub const MAX_PRICE: Cents = Cents(100_000 * 100);
pub const MAX_TICKETS: u32 = 1_000_000;
/// The largest `maxTicketsPerUser` an event can set.
pub const MAX_TICKETS_PER_USER: u32 = 100;

/// A validated event creation.
#[derive(Debug, Clone)]
pub struct NewEvent {
    pub name: String,
    pub description: String,
    pub venue: String,
    pub date: DateTime<Utc>,
    pub price: Cents,
    pub total_tickets: u32,
    pub status: EventStatus,
    pub max_tickets_per_user: Option<u32>,
}

/// Raw creation input as it came off the wire (already strictly typed JSON).
#[derive(Debug, Clone, Default)]
pub struct EventFields {
    pub name: Option<String>,
    pub description: Option<String>,
    pub venue: Option<String>,
    pub date: Option<String>,
    /// The exact text of the JSON number, so nothing is rounded before it is checked.
    pub price: Option<String>,
    pub total_tickets: Option<i64>,
    pub status: Option<String>,
    /// Absent (`None`), `null` (`Some(None)`: no limit) or a number.
    pub max_tickets_per_user: Option<Option<i64>>,
}

/// An RFC 3339 timestamp in UTC. A leap second (`:60`) is refused: it would be echoed back as
/// `:60`, which most clients (JavaScript's `Date` among them) cannot read.
pub(super) fn rfc3339(raw: &str) -> Option<DateTime<Utc>> {
    use chrono::Timelike;
    DateTime::parse_from_rfc3339(raw)
        .ok()
        .filter(|ts| ts.nanosecond() < 1_000_000_000)
        .map(|ts| ts.with_timezone(&Utc))
}

fn parse_date(problems: &mut Problems, raw: &str, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    match rfc3339(raw.trim()) {
        Some(date) if date > now => Some(date),
        Some(_) => {
            problems.add("date", "must be in the future");
            None
        }
        None => {
            problems.add(
                "date",
                "must be an RFC 3339 timestamp, e.g. 2030-05-01T19:30:00Z",
            );
            None
        }
    }
}

fn parse_price(problems: &mut Problems, field: &str, raw: &str) -> Option<Cents> {
    match Cents::parse_exact(raw) {
        Ok(c) if c <= MAX_PRICE => Some(c),
        Ok(_) | Err(MoneyError::OutOfRange) => {
            problems.add(field, "must be from 0 to 100000");
            None
        }
        Err(MoneyError::TooPrecise) => {
            problems.add(field, "must be a number with at most 2 decimals");
            None
        }
        Err(MoneyError::NotANumber) => {
            problems.add(field, "must be a number");
            None
        }
    }
}

/// `null` (no limit) or a whole number from 1 to `MAX_TICKETS_PER_USER`.
fn parse_ticket_limit(problems: &mut Problems, raw: Option<i64>) -> Option<Option<u32>> {
    match raw {
        None => Some(None),
        Some(n) if (1..=i64::from(MAX_TICKETS_PER_USER)).contains(&n) => Some(Some(n as u32)),
        Some(_) => {
            problems.add(
                "maxTicketsPerUser",
                "must be a whole number from 1 to 100, or null",
            );
            None
        }
    }
}

fn parse_creatable_status(problems: &mut Problems, raw: &str) -> Option<EventStatus> {
    match EventStatus::parse(raw) {
        Some(s @ (EventStatus::Draft | EventStatus::Published)) => Some(s),
        _ => {
            problems.add("status", "must be draft or published");
            None
        }
    }
}

impl NewEvent {
    pub fn parse(fields: EventFields, now: DateTime<Utc>) -> Result<Self, DomainError> {
        let mut p = Problems::default();
        let name = text(&mut p, "name", fields.name.as_deref().unwrap_or(""), 1, 200);
        let description = text(
            &mut p,
            "description",
            fields.description.as_deref().unwrap_or(""),
            0,
            5000,
        );
        let venue = text(
            &mut p,
            "venue",
            fields.venue.as_deref().unwrap_or(""),
            1,
            200,
        );
        let date = match fields.date.as_deref() {
            Some(raw) => parse_date(&mut p, raw, now),
            None => {
                p.add("date", "is required");
                None
            }
        };
        let price = match fields.price.as_deref() {
            Some(raw) => parse_price(&mut p, "price", raw),
            None => {
                p.add("price", "is required");
                None
            }
        };
        let total_tickets = match fields.total_tickets {
            Some(n) if (1..=i64::from(MAX_TICKETS)).contains(&n) => Some(n as u32),
            Some(_) => {
                p.add("totalTickets", "must be a whole number from 1 to 1000000");
                None
            }
            None => {
                p.add("totalTickets", "is required");
                None
            }
        };
        let status = match fields.status.as_deref() {
            Some(raw) => parse_creatable_status(&mut p, raw),
            None => Some(EventStatus::Published),
        };
        let max_tickets_per_user =
            parse_ticket_limit(&mut p, fields.max_tickets_per_user.flatten());
        let parsed = match (date, price, total_tickets, status, max_tickets_per_user) {
            (
                Some(date),
                Some(price),
                Some(total_tickets),
                Some(status),
                Some(max_tickets_per_user),
            ) => Some(Self {
                name,
                description,
                venue,
                date,
                price,
                total_tickets,
                status,
                max_tickets_per_user,
            }),
            _ => None,
        };
        p.finish(parsed)
    }

    pub fn into_event(self, now: DateTime<Utc>, rule: super::ShardRule) -> Event {
        Event {
            inventory_shards: rule.shards_for(self.total_tickets),
            id: EventId::new(),
            name: self.name,
            description: self.description,
            venue: self.venue,
            date: self.date,
            price: self.price,
            total_tickets: self.total_tickets,
            available_tickets: self.total_tickets,
            confirmed_bookings: 0,
            status: self.status,
            max_tickets_per_user: self.max_tickets_per_user,
            created_at: now,
            updated_at: now,
            deleted_at: None,
            deleted_by: None,
        }
    }
}

/// A validated partial update.
#[derive(Debug, Clone, Default)]
pub struct EventPatch {
    pub name: Option<String>,
    pub description: Option<String>,
    pub venue: Option<String>,
    pub date: Option<DateTime<Utc>>,
    pub price: Option<Cents>,
    pub status: Option<EventStatus>,
    /// `Some(None)` lifts the limit. Lowering it never cancels a booking.
    pub max_tickets_per_user: Option<Option<u32>>,
}

impl EventPatch {
    /// `fields.total_tickets` must be `None`: the counters are not editable (the HTTP adapter
    /// reports `totalTickets`/`availableTickets` itself since they are not in `EventFields`).
    pub fn parse(fields: EventFields, now: DateTime<Utc>) -> Result<Self, DomainError> {
        let mut p = Problems::default();
        let patch = Self {
            name: fields.name.map(|raw| text(&mut p, "name", &raw, 1, 200)),
            description: fields
                .description
                .map(|raw| text(&mut p, "description", &raw, 0, 5000)),
            venue: fields.venue.map(|raw| text(&mut p, "venue", &raw, 1, 200)),
            date: fields.date.and_then(|raw| parse_date(&mut p, &raw, now)),
            price: fields
                .price
                .and_then(|raw| parse_price(&mut p, "price", &raw)),
            status: fields
                .status
                .and_then(|raw| match EventStatus::parse(&raw) {
                    Some(s) => Some(s),
                    None => {
                        p.add("status", "must be draft, published, cancelled or completed");
                        None
                    }
                }),
            max_tickets_per_user: fields
                .max_tickets_per_user
                .and_then(|raw| parse_ticket_limit(&mut p, raw)),
        };
        if fields.total_tickets.is_some() {
            p.add("totalTickets", "cannot be changed");
        }
        p.into_result(patch)
    }

    /// Applies the patch if the lifecycle allows its status change: `InvalidStatusChange`
    /// otherwise, and `EventHasActiveBookings` for a return to draft while bookings stand (the
    /// store re-checks both atomically when it writes).
    pub fn apply(self, event: &mut Event, now: DateTime<Utc>) -> Result<(), DomainError> {
        if let Some(next) = self.status {
            if !event.status.can_become(next) {
                return Err(DomainError::InvalidStatusChange);
            }
            if next == EventStatus::Draft
                && event.status != EventStatus::Draft
                && event.confirmed_bookings > 0
            {
                return Err(DomainError::HasActiveBookings);
            }
        }
        if let Some(v) = self.name {
            event.name = v;
        }
        if let Some(v) = self.description {
            event.description = v;
        }
        if let Some(v) = self.venue {
            event.venue = v;
        }
        if let Some(v) = self.date {
            event.date = v;
        }
        if let Some(v) = self.price {
            event.price = v;
        }
        if let Some(v) = self.status {
            event.status = v;
        }
        if let Some(v) = self.max_tickets_per_user {
            event.max_tickets_per_user = v;
        }
        event.updated_at = now;
        Ok(())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn fields() -> EventFields {
        EventFields {
            name: Some("Concert".into()),
            description: Some("Loud".into()),
            venue: Some("Hall".into()),
            date: Some("2099-01-01T20:00:00Z".into()),
            price: Some("19.99".into()),
            total_tickets: Some(100),
            status: None,
            max_tickets_per_user: None,
        }
    }

    #[test]
    fn creation_rules() {
        let now = Utc::now();
        let ok = NewEvent::parse(fields(), now).unwrap();
        assert_eq!(
            (ok.price, ok.status, ok.total_tickets),
            (Cents(1999), EventStatus::Published, 100)
        );
        let limited = NewEvent::parse(
            EventFields {
                max_tickets_per_user: Some(Some(4)),
                ..fields()
            },
            now,
        )
        .unwrap();
        assert_eq!(limited.max_tickets_per_user, Some(4));
        let unlimited = EventFields {
            max_tickets_per_user: Some(None),
            ..fields()
        };
        assert_eq!(
            NewEvent::parse(unlimited, now)
                .unwrap()
                .max_tickets_per_user,
            None
        );
        for bad in [0, 101, -1] {
            let input = EventFields {
                max_tickets_per_user: Some(Some(bad)),
                ..fields()
            };
            let DomainError::Invalid(errors) = NewEvent::parse(input, now).unwrap_err() else {
                panic!()
            };
            assert_eq!(
                errors[0].field.as_deref(),
                Some("maxTicketsPerUser"),
                "{bad}"
            );
            let patch = EventFields {
                max_tickets_per_user: Some(Some(bad)),
                ..EventFields::default()
            };
            assert!(EventPatch::parse(patch, now).is_err(), "{bad}");
        }
        // A patch tells "lift the limit" (null) from "leave it" (absent).
        let lift = EventFields {
            max_tickets_per_user: Some(None),
            ..EventFields::default()
        };
        assert_eq!(
            EventPatch::parse(lift, now).unwrap().max_tickets_per_user,
            Some(None)
        );
        let leave = EventPatch::parse(EventFields::default(), now).unwrap();
        assert_eq!(leave.max_tickets_per_user, None);
        let cases: [(&str, EventFields); 7] = [
            (
                "date",
                EventFields {
                    date: Some("2001-01-01T00:00:00Z".into()),
                    ..fields()
                },
            ),
            (
                "date",
                EventFields {
                    date: Some("tomorrow".into()),
                    ..fields()
                },
            ),
            (
                "price",
                EventFields {
                    price: Some("100000.01".into()),
                    ..fields()
                },
            ),
            (
                "price",
                EventFields {
                    price: Some("-1".into()),
                    ..fields()
                },
            ),
            (
                "totalTickets",
                EventFields {
                    total_tickets: Some(0),
                    ..fields()
                },
            ),
            (
                "totalTickets",
                EventFields {
                    total_tickets: Some(1_000_001),
                    ..fields()
                },
            ),
            (
                "status",
                EventFields {
                    status: Some("cancelled".into()),
                    ..fields()
                },
            ),
        ];
        for (field, input) in cases {
            let DomainError::Invalid(errors) = NewEvent::parse(input, now).unwrap_err() else {
                panic!()
            };
            assert_eq!(errors[0].field.as_deref(), Some(field));
        }
    }
}
