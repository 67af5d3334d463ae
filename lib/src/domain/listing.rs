//! Listing queries: what a client may ask of the catalog (filters, search, sort, page) and how an
//! event is matched and ordered; the catalog service runs them over its projection.

use super::event::{rfc3339, Event, EventStatus};
use super::{DomainError, PageParams, Problems};
use crate::money::Cents;
use aho_corasick::AhoCorasick;
use chrono::{DateTime, NaiveDate, Utc};
use memchr::memmem;
use std::borrow::Cow;
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
            SortBy::Name => a.name().bytes().cmp(b.name().bytes()),
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

/// Which statuses a listing shows: what the caller asked for (`status`) within what they may
/// see (drafts only for admins). A store can filter by it as well as the projection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusFilter {
    Any,
    NotDraft,
    Only(EventStatus),
    /// A non-admin asking for drafts: an empty listing, not an error.
    Nothing,
}

impl StatusFilter {
    pub fn of(asked: Option<EventStatus>, admin: bool) -> Self {
        match asked {
            Some(EventStatus::Draft) if !admin => StatusFilter::Nothing,
            Some(wanted) => StatusFilter::Only(wanted),
            None if admin => StatusFilter::Any,
            None => StatusFilter::NotDraft,
        }
    }

    pub fn admits(self, status: EventStatus) -> bool {
        match self {
            StatusFilter::Any => true,
            StatusFilter::NotDraft => status != EventStatus::Draft,
            StatusFilter::Only(wanted) => status == wanted,
            StatusFilter::Nothing => false,
        }
    }
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
            search: self.search.as_deref().map(Needle::new),
            venue: self.venue.as_deref().map(Needle::new),
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
    search: Option<Needle<'q>>,
    venue: Option<Needle<'q>>,
}

impl ListingFilter<'_> {
    /// Whether `item` passes the filters other than status.
    pub fn matches(&self, item: Listed) -> bool {
        let (event, query) = (item.event, self.query);
        self.venue.as_ref().is_none_or(|v| v.found_in(item.venue()))
            && self.search.as_ref().is_none_or(|s| {
                s.found_in(item.name())
                    || s.found_in(item.description())
                    || s.found_in(item.venue())
            })
            && query.min_price.is_none_or(|m| event.price >= m)
            && query.max_price.is_none_or(|m| event.price <= m)
            && query.from.is_none_or(|f| event.date >= f)
            && query.to.is_none_or(|t| event.date <= t)
    }
}

/// A folded needle, searched for in either form of folded text: the stored folding, or an
/// ASCII field compared without case (an ASCII field's folding is its ASCII lower case, and
/// holds no needle that is not ASCII).
struct Needle<'q> {
    folded: memmem::Finder<'q>,
    ascii: Option<AhoCorasick>,
}

impl<'q> Needle<'q> {
    fn new(folded: &'q str) -> Self {
        let ascii = folded.is_ascii().then(|| {
            AhoCorasick::builder()
                .ascii_case_insensitive(true)
                .build([folded])
                .expect("one literal pattern always builds")
        });
        Self {
            folded: memmem::Finder::new(folded),
            ascii,
        }
    }

    fn found_in(&self, text: Folded) -> bool {
        match text {
            Folded::Ascii(raw) => self.ascii.as_ref().is_some_and(|a| a.is_match(raw)),
            Folded::Stored(folded) => self.folded.find(folded.as_bytes()).is_some(),
        }
    }
}

/// The case folding of an event's fields that are not ASCII, computed once so filters and name
/// sorts do not fold them again for every listing and comparison. An ASCII field keeps no copy:
/// its folding is its ASCII lower case, read off the field itself — most text is ASCII, and a
/// catalog's memory is mostly its text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FoldedText {
    name: Option<Box<str>>,
    description: Option<Box<str>>,
    venue: Option<Box<str>>,
}

impl FoldedText {
    pub fn of(event: &Event) -> Self {
        let fold = |text: &str| (!text.is_ascii()).then(|| super::text::fold(text).into());
        Self {
            name: fold(&event.name),
            description: fold(&event.description),
            venue: fold(&event.venue),
        }
    }
}

/// One field's folding: the field itself where it is ASCII, else its stored folding.
#[derive(Debug, Clone, Copy)]
pub enum Folded<'a> {
    Ascii(&'a str),
    Stored(&'a str),
}

impl<'a> Folded<'a> {
    fn pick(raw: &'a str, stored: &'a Option<Box<str>>) -> Self {
        stored.as_deref().map_or(Folded::Ascii(raw), Folded::Stored)
    }

    /// The folded text's bytes, in order.
    pub fn bytes(self) -> impl Iterator<Item = u8> + 'a {
        let (raw, lower) = match self {
            Folded::Ascii(raw) => (raw, true),
            Folded::Stored(folded) => (folded, false),
        };
        raw.bytes()
            .map(move |b| if lower { b.to_ascii_lowercase() } else { b })
    }

    /// The folded text itself (a copy only for an ASCII field with capitals).
    pub fn text(self) -> Cow<'a, str> {
        match self {
            Folded::Ascii(raw) if raw.bytes().any(|b| b.is_ascii_uppercase()) => {
                Cow::Owned(raw.to_ascii_lowercase())
            }
            Folded::Ascii(raw) | Folded::Stored(raw) => Cow::Borrowed(raw),
        }
    }
}

/// An event as a listing filters and sorts it.
#[derive(Debug, Clone, Copy)]
pub struct Listed<'a> {
    pub event: &'a Event,
    pub folded: &'a FoldedText,
}

impl<'a> Listed<'a> {
    pub fn name(self) -> Folded<'a> {
        Folded::pick(&self.event.name, &self.folded.name)
    }

    pub fn description(self) -> Folded<'a> {
        Folded::pick(&self.event.description, &self.folded.description)
    }

    pub fn venue(self) -> Folded<'a> {
        Folded::pick(&self.event.venue, &self.folded.venue)
    }
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

    /// Every field compares, matches and sorts as its full case folding would, whether its
    /// folding is stored (not ASCII) or read off the field (ASCII).
    #[test]
    fn folded_views_agree_with_full_case_folding() {
        use crate::domain::text::fold;
        let texts = [
            "Royal Albert HALL",
            "jazz club",
            "Straße",
            "ΣΑΣΑ",
            "ﬁesta",
            "KELVIN",
            "",
            "Café Ünïcode",
        ];
        let needles = [
            "hall",
            "HALL",
            "STRASSE",
            "ΣΑΣ",
            "fiesta",
            "ﬁesta",
            "\u{212a}elvin",
            "é",
            "club",
            "zz",
        ];
        let mut event = NewEvent::parse(fields(), Utc::now())
            .unwrap()
            .into_event(Utc::now(), super::super::ShardRule::DEFAULT);
        let mut views = Vec::new();
        for text in texts {
            event.name = text.into();
            event.venue = text.into();
            let folded = FoldedText::of(&event);
            assert_eq!(
                folded.name.is_some(),
                !text.is_ascii(),
                "{text}: kept only if needed"
            );
            let listed = Listed {
                event: &event,
                folded: &folded,
            };
            assert_eq!(listed.name().text(), fold(text), "{text}");
            assert_eq!(
                listed.name().bytes().collect::<Vec<u8>>(),
                fold(text).into_bytes(),
                "{text}"
            );
            for needle in needles {
                let folded_needle = fold(needle);
                let query = EventQuery {
                    venue: Some(folded_needle.clone()),
                    ..EventQuery::default()
                };
                assert_eq!(
                    query.filter().matches(listed),
                    fold(text).contains(&folded_needle),
                    "{text} ∋ {needle}"
                );
            }
            views.push((fold(text), event.clone(), folded));
        }
        // Name sorts order by the folded text, byte by byte.
        for (a_text, a_event, a_folded) in &views {
            for (b_text, b_event, b_folded) in &views {
                let (a, b) = (
                    Listed {
                        event: a_event,
                        folded: a_folded,
                    },
                    Listed {
                        event: b_event,
                        folded: b_folded,
                    },
                );
                assert_eq!(a.name().bytes().cmp(b.name().bytes()), a_text.cmp(b_text));
            }
        }
    }
}
