//! Listing queries: what a client may ask of the catalog (filters, search, sort, page) and how an
//! event is matched and ordered; the catalog service runs them over its projection.

use super::event::{rfc3339, Event, EventStatus};
use super::{DomainError, PageParams, Problems};
use crate::money::Cents;
use chrono::{DateTime, NaiveDate, Utc};
use memchr::memmem;
use std::collections::HashMap;

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
    use crate::domain::event::{EventFields, NewEvent};

    fn fields() -> EventFields {
        crate::domain::event::tests::fields()
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
