//! Each event's availability for listings, read in O(page) items whatever its shard count.
//!
//! The inventory shards are the only truth (the booking transaction checks them); a listing
//! would otherwise read every shard of every event on its page. The cache keeps each event's
//! tally (available tickets, confirmed bookings). A booking or cancel announces itself before
//! its transaction and adds its change after it commits, before it answers, so a listing right
//! after a write shows it. A listing that finds no tally reads that event's shards and writes
//! the tally only if no change was under way or landed since it looked (a pending count and a
//! change counter guard it), so a tally never misses or double-counts a write. When the cache
//! is down or a tally is missing, the shards answer (fail-open). A change whose instance died
//! between commit and tally is forgotten when the tally expires (`TALLY_TTL`); one that died
//! before ending holds fills back for `PENDING_TTL` (listings read that event's shards).

use crate::cache::{keys, parse_tally, Cache};
use crate::domain::ids::EventId;
use crate::metric;
use crate::store::{Store, StoreError};
use crate::AppError;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// How long a tally stands before the shards are read again: the bound on how long a change
/// lost between commit and tally (a crash) can show.
pub const TALLY_TTL: Duration = Duration::from_secs(60);
/// Change counters outlive any listing's read-then-write window by far.
const CHANGES_TTL: Duration = Duration::from_secs(60 * 60);
/// A begun change longer than any booking transaction with its retries.
const PENDING_TTL: Duration = Duration::from_secs(30);

/// How a write begun with [`Availability::begin`] ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// It committed: tickets and bookings it added (negative: taken).
    Committed { tickets: i64, bookings: i64 },
    /// It was refused: nothing changed.
    NotWritten,
    /// It failed in a way that leaves open whether it committed.
    Unknown,
}

impl Outcome {
    /// How a write that answered `result` ended: `committed` gives what a success changed
    /// (tickets, bookings), or `None` if that success changed nothing; a 5xx leaves it open.
    pub fn of<T>(
        result: &Result<T, AppError>,
        committed: impl FnOnce(&T) -> Option<(i64, i64)>,
    ) -> Self {
        match result {
            Ok(done) => match committed(done) {
                Some((tickets, bookings)) => Self::Committed { tickets, bookings },
                None => Self::NotWritten,
            },
            Err(e) if e.status_and_code().0 >= 500 => Self::Unknown,
            Err(_) => Self::NotWritten,
        }
    }
}

/// An event's counts as listings show them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub available: u32,
    pub confirmed: u32,
}

#[derive(Clone)]
pub struct Availability {
    store: Arc<dyn Store>,
    cache: Arc<dyn Cache>,
}

impl Availability {
    pub fn new(store: Arc<dyn Store>, cache: Arc<dyn Cache>) -> Self {
        Self { store, cache }
    }

    /// The counts of `events` (id, shard count), and how many store items were read for them.
    pub async fn of(
        &self,
        events: &[(EventId, u16)],
    ) -> Result<(HashMap<EventId, Counts>, usize), StoreError> {
        let tallied: Vec<EventId> = events
            .iter()
            .filter(|(_, shards)| is_tallied(*shards))
            .map(|(id, _)| *id)
            .collect();
        let mut wanted: Vec<String> = tallied.iter().map(|id| keys::availability(*id)).collect();
        wanted.extend(tallied.iter().map(|id| keys::availability_changes(*id)));
        let cached = match self.cache.get_many(&wanted).await {
            Ok(values) if values.len() == wanted.len() => Some(values),
            Ok(_) => None,
            Err(e) => {
                metric::cache_fail_open(&e, "availability tallies unavailable; reading the shards");
                None
            }
        };
        let mut counts = HashMap::new();
        // (event, shards, its place among the tallied events)
        let mut missing = Vec::new();
        let mut place = 0;
        for &(id, shards) in events {
            if !is_tallied(shards) {
                missing.push((id, shards, None));
                continue;
            }
            let tally = cached.as_ref().and_then(|values| values[place].as_deref());
            match tally.and_then(counts_of) {
                Some(found) => {
                    counts.insert(id, found);
                }
                None => missing.push((id, shards, Some(place))),
            }
            place += 1;
        }
        if missing.is_empty() {
            return Ok((counts, 0));
        }
        let read: Vec<(EventId, u16)> = missing.iter().map(|&(id, k, _)| (id, k)).collect();
        let items_read = read.iter().map(|(_, k)| usize::from(*k)).sum();
        let inventories = self.store.inventories(&read).await?;
        for (id, _, place) in missing {
            let Some(inventory) = inventories.get(&id) else {
                continue;
            };
            let found = Counts {
                available: inventory.available(),
                confirmed: inventory.confirmed(),
            };
            counts.insert(id, found);
            // Only with the cache answering: `seen` is what the counter held before the read.
            if let (Some(values), Some(place)) = (&cached, place) {
                let seen = values[tallied.len() + place].as_deref();
                let tally = [i64::from(found.available), i64::from(found.confirmed)];
                let written = self
                    .cache
                    .set_tally_if_unchanged(
                        &keys::availability(id),
                        &keys::availability_pending(id),
                        &keys::availability_changes(id),
                        seen,
                        &tally,
                        TALLY_TTL,
                    )
                    .await;
                if let Err(e) = written {
                    metric::cache_fail_open(&e, "could not keep an availability tally");
                }
            }
        }
        Ok((counts, items_read))
    }

    /// A booking or cancel of `event` is about to be written.
    pub async fn begin(&self, event: EventId) {
        let pending = keys::availability_pending(event);
        if let Err(e) = self.cache.begin_tally_change(&pending, PENDING_TTL).await {
            metric::cache_fail_open(&e, "could not announce an availability change");
        }
    }

    /// The write begun with [`Self::begin`] is over, with `outcome`. A tally the cache could
    /// not adjust, or that a write of unknown outcome may have changed, is dropped so the shards
    /// answer; if that fails too, it lapses within `TALLY_TTL`.
    pub async fn end(&self, event: EventId, outcome: Outcome) {
        let key = keys::availability(event);
        let deltas = match outcome {
            Outcome::Committed { tickets, bookings } => Some([tickets, bookings]),
            Outcome::NotWritten | Outcome::Unknown => None,
        };
        let ended = self
            .cache
            .end_tally_change(
                &key,
                &keys::availability_pending(event),
                &keys::availability_changes(event),
                deltas.as_ref().map(|d| d.as_slice()),
                CHANGES_TTL,
            )
            .await;
        let stale = match ended {
            Ok(_) => outcome == Outcome::Unknown,
            Err(e) => {
                metric::cache_fail_open(&e, "could not adjust an availability tally");
                outcome != Outcome::NotWritten
            }
        };
        if stale {
            if let Err(e) = self.cache.delete(&key).await {
                metric::cache_fail_open(&e, "could not drop a stale availability tally");
            }
        }
    }
}

/// Whether an event of `shards` inventory shards keeps a tally. A one-shard event's shard is
/// one item, as cheap to read as its tally would be, so its bookings pay no cache calls for it.
pub fn is_tallied(shards: u16) -> bool {
    shards > 1
}

fn counts_of(text: &str) -> Option<Counts> {
    match parse_tally(text)?.as_slice() {
        &[available, confirmed] => Some(Counts {
            available: u32::try_from(available).ok()?,
            confirmed: u32::try_from(confirmed).ok()?,
        }),
        _ => None,
    }
}
