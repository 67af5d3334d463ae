use super::DomainError;
use super::{text, PageParams, Problems};
use crate::domain::ids::{EventId, UserId};
use crate::money::{Cents, MoneyError};
use chrono::{DateTime, NaiveDate, Utc};
use memchr::memmem;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

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
    pub fn with_inventory(mut self, inventory: &super::Inventory) -> Self {
        self.available_tickets = inventory.available();
        self.confirmed_bookings = inventory.confirmed();
        self
    }

    pub fn is_bookable(&self, now: DateTime<Utc>) -> bool {
        self.status == EventStatus::Published && self.date > now && self.deleted_at.is_none()
    }
}

pub const MAX_PRICE: Cents = Cents(100_000 * 100);
pub const MAX_TICKETS: u32 = 1_000_000;

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
}

/// An RFC 3339 timestamp in UTC. A leap second (`:60`) is refused: it would be echoed back as
/// `:60`, which most clients (JavaScript's `Date` among them) cannot read.
fn rfc3339(raw: &str) -> Option<DateTime<Utc>> {
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
        let parsed = match (date, price, total_tickets, status) {
            (Some(date), Some(price), Some(total_tickets), Some(status)) => Some(Self {
                name,
                description,
                venue,
                date,
                price,
                total_tickets,
                status,
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
        event.updated_at = now;
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SortBy {
    #[default]
    Date,
    Name,
    Price,
    CreatedAt,
}

impl SortBy {
    /// Ascending order by this key, ties broken by id (a total order: pages never overlap).
    pub fn compare(self, a: &Listed, b: &Listed) -> std::cmp::Ordering {
        match self {
            SortBy::Date => a.event.date.cmp(&b.event.date),
            SortBy::Name => a.folded.name.cmp(&b.folded.name),
            SortBy::Price => a.event.price.cmp(&b.event.price),
            SortBy::CreatedAt => a.event.created_at.cmp(&b.event.created_at),
        }
        .then_with(|| a.event.id.cmp(&b.event.id))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortOrder {
    #[default]
    Asc,
    Desc,
}

/// A validated listing query.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EventQuery {
    pub page: PageParams,
    pub status: Option<EventStatus>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub venue: Option<String>,
    pub min_price: Option<Cents>,
    pub max_price: Option<Cents>,
    pub search: Option<String>,
    pub sort_by: SortBy,
    pub sort_order: SortOrder,
}

/// `from`/`to` accept a full RFC 3339 timestamp or a bare date (a `to` date includes that day).
fn parse_bound(
    p: &mut Problems,
    field: &str,
    raw: &str,
    end_of_day: bool,
) -> Option<DateTime<Utc>> {
    if let Some(ts) = rfc3339(raw) {
        return Some(ts);
    }
    if let Ok(day) = NaiveDate::parse_from_str(raw, "%Y-%m-%d") {
        let time = if end_of_day {
            day.and_hms_milli_opt(23, 59, 59, 999)
        } else {
            day.and_hms_opt(0, 0, 0)
        };
        return time.map(|t| t.and_utc());
    }
    p.add(
        field,
        "must be a date (YYYY-MM-DD) or an RFC 3339 timestamp",
    );
    None
}

impl EventQuery {
    pub fn parse(params: &HashMap<String, String>) -> Result<Self, DomainError> {
        let mut p = Problems::default();
        // An empty value (`from=` from a form) means the filter is not set.
        let get = |k: &str| {
            params
                .get(k)
                .map(String::as_str)
                .filter(|v| !v.trim().is_empty())
        };
        let page = PageParams::parse(&mut p, get("page"), get("limit"));
        let status = get("status").and_then(|raw| {
            EventStatus::parse(raw).or_else(|| {
                p.add("status", "must be draft, published, cancelled or completed");
                None
            })
        });
        let from = get("from").and_then(|raw| parse_bound(&mut p, "from", raw, false));
        let to = get("to").and_then(|raw| parse_bound(&mut p, "to", raw, true));
        if let (Some(f), Some(t)) = (from, to) {
            if f > t {
                p.add("to", "must not be before from");
            }
        }
        let mut price = |field: &str| {
            get(field).and_then(|raw| match Cents::parse_exact(raw.trim()) {
                Ok(c) => Some(c),
                Err(_) => {
                    p.add(
                        field,
                        "must be a non-negative number with at most 2 decimals",
                    );
                    None
                }
            })
        };
        let min_price = price("minPrice");
        let max_price = price("maxPrice");
        if let (Some(lo), Some(hi)) = (min_price, max_price) {
            if lo > hi {
                p.add("maxPrice", "must not be below minPrice");
            }
        }
        let literal = |raw: Option<&str>| {
            raw.map(str::trim)
                .filter(|s| !s.is_empty())
                .map(super::text::fold)
        };
        let venue = literal(get("venue"));
        let search = literal(get("search"));
        let sort_by = match get("sortBy") {
            None => SortBy::Date,
            Some("date") => SortBy::Date,
            Some("name") => SortBy::Name,
            Some("price") => SortBy::Price,
            Some("createdAt") => SortBy::CreatedAt,
            Some(_) => {
                p.add("sortBy", "must be date, name, price or createdAt");
                SortBy::Date
            }
        };
        let sort_order = match get("sortOrder") {
            None | Some("asc") => SortOrder::Asc,
            Some("desc") => SortOrder::Desc,
            Some(_) => {
                p.add("sortOrder", "must be asc or desc");
                SortOrder::Asc
            }
        };
        p.into_result(Self {
            page,
            status,
            from,
            to,
            venue,
            min_price,
            max_price,
            search,
            sort_by,
            sort_order,
        })
    }

    /// The query's filters other than status, ready to run over many entries.
    pub fn filter(&self) -> ListingFilter<'_> {
        ListingFilter {
            query: self,
            search: self.search.as_deref().map(memmem::Finder::new),
            venue: self.venue.as_deref().map(memmem::Finder::new),
        }
    }

    /// The folded substrings every match contains (search and venue), for a text index to
    /// narrow the entries before `matches` checks them.
    pub fn needles(&self) -> Vec<&str> {
        [self.search.as_deref(), self.venue.as_deref()]
            .into_iter()
            .flatten()
            .collect()
    }

    /// Orders items by the query's sort; ties are broken by id so pages never overlap.
    fn order(&self, a: &Listed, b: &Listed) -> std::cmp::Ordering {
        let ascending = self.sort_by.compare(a, b);
        match self.sort_order {
            SortOrder::Asc => ascending,
            SortOrder::Desc => ascending.reverse(),
        }
    }

    /// Whether only status narrows the listing (no text, price or date filter): its page can
    /// then be read off a presorted order, and its total off counts per status.
    pub fn filters_only_status(&self) -> bool {
        self.search.is_none()
            && self.venue.is_none()
            && self.min_price.is_none()
            && self.max_price.is_none()
            && self.from.is_none()
            && self.to.is_none()
    }

    /// Sorts just enough for the requested page: the items up to its end in order (a linear
    /// selection first, so a catalog of any size is not sorted whole for one page).
    pub fn sort(&self, items: &mut [Listed]) {
        let end = (u64::from(self.page.page) * u64::from(self.page.limit)).min(items.len() as u64)
            as usize;
        if end == 0 {
            return;
        }
        if end < items.len() {
            items.select_nth_unstable_by(end - 1, |a, b| self.order(a, b));
        }
        items[..end].sort_unstable_by(|a, b| self.order(a, b));
    }
}

/// A query's filters with its substring searchers built once, not once per entry and field.
/// Substring matches are literal: no pattern syntax is ever interpreted.
pub struct ListingFilter<'q> {
    query: &'q EventQuery,
    search: Option<memmem::Finder<'q>>,
    venue: Option<memmem::Finder<'q>>,
}

impl ListingFilter<'_> {
    /// Whether `item` passes the filters other than status.
    pub fn matches(&self, item: Listed) -> bool {
        let (event, folded, query) = (item.event, item.folded, self.query);
        let found = |finder: &memmem::Finder, text: &str| finder.find(text.as_bytes()).is_some();
        self.venue.as_ref().is_none_or(|v| found(v, &folded.venue))
            && self.search.as_ref().is_none_or(|s| {
                found(s, &folded.name) || found(s, &folded.description) || found(s, &folded.venue)
            })
            && query.min_price.is_none_or(|m| event.price >= m)
            && query.max_price.is_none_or(|m| event.price <= m)
            && query.from.is_none_or(|f| event.date >= f)
            && query.to.is_none_or(|t| event.date <= t)
    }
}

/// An event's text folded to lower case once, so filters and name sorts over a whole catalog
/// do not fold it again for every listing and comparison.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FoldedText {
    pub name: String,
    pub description: String,
    pub venue: String,
}

impl FoldedText {
    pub fn of(event: &Event) -> Self {
        Self {
            name: super::text::fold(&event.name),
            description: super::text::fold(&event.description),
            venue: super::text::fold(&event.venue),
        }
    }
}

/// An event as a listing filters and sorts it.
#[derive(Debug, Clone, Copy)]
pub struct Listed<'a> {
    pub event: &'a Event,
    pub folded: &'a FoldedText,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields() -> EventFields {
        EventFields {
            name: Some("Concert".into()),
            description: Some("Loud".into()),
            venue: Some("Hall".into()),
            date: Some("2099-01-01T20:00:00Z".into()),
            price: Some("19.99".into()),
            total_tickets: Some(100),
            status: None,
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

    #[test]
    fn query_parsing_and_literal_matching() {
        let q = |pairs: &[(&str, &str)]| {
            EventQuery::parse(
                &pairs
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            )
        };
        assert!(q(&[("sortBy", "venue")]).is_err());
        assert!(q(&[("sortOrder", "up")]).is_err());
        assert!(q(&[("minPrice", "abc")]).is_err());
        assert!(q(&[("from", "yesterday")]).is_err());
        assert!(q(&[("minPrice", "5"), ("maxPrice", "1")]).is_err());
        let query = q(&[("venue", ".*")]).unwrap();
        let mut event = NewEvent::parse(fields(), Utc::now())
            .unwrap()
            .into_event(Utc::now(), super::super::ShardRule::DEFAULT);
        assert!(!query.filter().matches(Listed {
            event: &event,
            folded: &FoldedText::of(&event)
        }));
        event.venue = "Bar .* Club".into();
        assert!(query.filter().matches(Listed {
            event: &event,
            folded: &FoldedText::of(&event)
        }));
    }
}
