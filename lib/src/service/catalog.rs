//! Each instance's projection of the catalog, so a listing's cost does not grow with the
//! catalog: filtering, sorting and paging run over memory, and the store is asked only for
//! what changed since the projection last looked (through the catalog-by-write index) when
//! the catalog version moved. Only catalog writes move it; bookings never do.

use crate::domain::ids::EventId;
use crate::domain::listing::{FoldedText, Listed};
use crate::domain::search::TrigramIndex;
use crate::domain::{Event, EventQuery, EventStatus, PageMeta, SortBy, SortOrder, StatusFilter};
use crate::store::{CatalogChange, Store, StoreResult, DELETIONS_KEPT};
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Changes are re-read from this long before the latest one seen: writers' clocks differ a
/// little, and an entry written a moment "earlier" must not be missed.
const CLOCK_SKEW: chrono::Duration = chrono::Duration::seconds(5);
/// The index is eventually consistent: after a version change, changes are re-read on every
/// listing for this long, so an entry the index showed late still arrives.
const INDEX_LAG: Duration = Duration::from_secs(2);

/// A projection that last read the catalog longer ago than this reloads it whole when the
/// catalog changes: deletion records older than `DELETIONS_KEPT` may be gone, so changes read
/// from that far back could miss a deletion.
const RELOAD_AFTER: chrono::Duration = chrono::Duration::hours(12);

/// The deepest page end a cold instance reads off the catalog-by-date index; past it, a listing
/// waits for the projection (reading that far is no longer O(page)).
const COLD_PAGE_END_MAX: u64 = 500;

/// Superseded copies are dropped (and the text index rebuilt) once they outnumber the
/// current ones, so memory and listing work stay within twice the catalog's.
const MIN_COMPACTION: usize = 64;

#[derive(Default)]
struct Projection {
    version: Option<u64>,
    /// Every copy of an entry seen, by slot. A copy is superseded when a newer one of its
    /// event arrives; slots only grow until compaction, as the text index needs them ascending.
    copies: Vec<Copy>,
    /// Each live or unpublished event's current copy.
    current: HashMap<EventId, u32>,
    /// Deleted events, as (id → the deletion's write time) only: an older copy arriving late
    /// must not revive them, and nothing else of them is needed (a delete is final).
    tombstones: HashMap<EventId, DateTime<Utc>>,
    /// The live copies' folded text, so a search visits only the entries that can match.
    text: TrigramIndex,
    superseded: usize,
    /// Live slots presorted ascending by each key asked for so far, and the live entries per
    /// status: what a listing filtered by status alone is read off. Dropped on any change.
    orders: HashMap<SortBy, Vec<u32>>,
    status_counts: Option<HashMap<EventStatus, usize>>,
    latest_write: Option<DateTime<Utc>>,
    recheck_until: Option<Instant>,
    /// When the last refresh started reading the catalog.
    refreshed_at: Option<DateTime<Utc>>,
}

struct Copy {
    event: Event,
    folded: FoldedText,
    current: bool,
}

impl Copy {
    fn live(&self) -> bool {
        self.current && self.event.deleted_at.is_none()
    }

    fn as_listed(&self) -> Listed<'_> {
        Listed {
            event: &self.event,
            folded: &self.folded,
        }
    }

    fn listed(&self) -> Option<Listed<'_>> {
        self.live().then(|| self.as_listed())
    }
}

/// Readers share the projection (a read lock, held for the in-memory work only); a refresh
/// holds the write lock only while it applies what it read, never across the store call, and
/// one refresh runs at a time, so a slow catalog read delays no listing that does not need it.
///
/// A cold instance (nothing loaded yet) serves status-only listings by date straight off the
/// catalog-by-date index, in O(page), while the projection loads in the background.
#[derive(Default)]
pub struct CatalogProjection {
    state: tokio::sync::RwLock<Projection>,
    refreshing: tokio::sync::Mutex<()>,
    loaded: AtomicBool,
    loading: AtomicBool,
}

/// What serving one listing read from the store, for tests and benchmarks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ListingCost {
    /// Catalog entries the projection's refresh read (0 while the catalog did not change).
    pub catalog_entries_read: usize,
    /// Inventory shard items read for the page's counters.
    pub inventory_items_read: usize,
    /// Projected entries the listing visited in memory: the live catalog, or for a text
    /// filter only the entries its trigram index could not rule out.
    pub entries_visited: usize,
    /// Served off the catalog-by-date index (`catalog_entries_read` entries) while the
    /// projection was not yet loaded.
    pub cold: bool,
}

impl CatalogProjection {
    /// One page of `query` over the live events whose status `visible` admits. A listing
    /// narrowed by status alone is read off a presorted order (its cost is the page's offset
    /// and length, not the catalog); any other is filtered from the entries its text filters
    /// allow (all of them without one) and only the page's prefix sorted.
    pub async fn page(
        &self,
        store: &dyn Store,
        version: u64,
        query: &EventQuery,
        visible: StatusFilter,
    ) -> StoreResult<((Vec<Event>, PageMeta), ListingCost)> {
        if !query.filters_only_status() {
            return self
                .read(store, version, &query.needles(), |live| {
                    let filter = query.filter();
                    let mut matching: Vec<Listed> = live
                        .filter(|item| visible.admits(item.event.status) && filter.matches(*item))
                        .collect();
                    query.sort(&mut matching);
                    let (page, meta) = query.page.slice(matching);
                    (
                        page.into_iter().map(|item| item.event.clone()).collect(),
                        meta,
                    )
                })
                .await;
        }
        let mut cost = self.refresh(store, version).await?;
        let projection = {
            let projection = self.state.read().await;
            if projection.is_presorted(query.sort_by) {
                projection
            } else {
                drop(projection);
                let mut projection = self.state.write().await;
                projection.presort(query.sort_by);
                projection.downgrade()
            }
        };
        let total: usize = projection
            .status_counts
            .iter()
            .flatten()
            .filter(|(status, _)| visible.admits(**status))
            .map(|(_, count)| count)
            .sum();
        let meta = PageMeta::new(query.page, total as u64);
        let skip = u64::from(query.page.page - 1) * u64::from(query.page.limit);
        let order = projection
            .orders
            .get(&query.sort_by)
            .map_or(&[][..], Vec::as_slice);
        let walk: &mut dyn Iterator<Item = &u32> = match query.sort_order {
            SortOrder::Asc => &mut order.iter(),
            SortOrder::Desc => &mut order.iter().rev(),
        };
        let mut visited = 0;
        let page = walk
            .map(|&slot| &projection.copies[slot as usize].event)
            .inspect(|_| visited += 1)
            .filter(|event| visible.admits(event.status))
            .skip(usize::try_from(skip.min(total as u64)).unwrap_or(usize::MAX))
            .take(query.page.limit as usize)
            .cloned()
            .collect();
        cost.entries_visited = visited;
        Ok(((page, meta), cost))
    }

    /// Brings the projection up to `version`, then runs `view` over its live events: those
    /// that may contain every one of `needles` (folded substrings the listing filters by).
    async fn read<T>(
        &self,
        store: &dyn Store,
        version: u64,
        needles: &[&str],
        view: impl FnOnce(&mut dyn Iterator<Item = Listed<'_>>) -> T,
    ) -> StoreResult<(T, ListingCost)> {
        let mut cost = self.refresh(store, version).await?;
        let projection = self.state.read().await;
        let copies = &projection.copies;
        let result = match projection.text.candidates(needles) {
            Some(slots) => {
                cost.entries_visited = slots.len();
                view(
                    &mut slots
                        .iter()
                        .filter_map(|&slot| copies[slot as usize].listed()),
                )
            }
            None => {
                cost.entries_visited = copies.len();
                view(&mut copies.iter().filter_map(Copy::listed))
            }
        };
        Ok((result, cost))
    }
}

impl CatalogProjection {
    /// Whether a first full load has landed.
    pub fn is_loaded(&self) -> bool {
        self.loaded.load(Ordering::Acquire)
    }

    /// Whether `query` can be read off the catalog-by-date index in O(page) while the
    /// projection loads: narrowed by status alone, sorted by date, not too deep a page.
    pub fn serves_cold(query: &EventQuery) -> bool {
        query.filters_only_status()
            && query.sort_by == SortBy::Date
            && u64::from(query.page.page) * u64::from(query.page.limit) <= COLD_PAGE_END_MAX
    }

    /// Starts the first load without waiting for it (once; again after a failed one).
    pub fn load_in_background(self: &Arc<Self>, store: Arc<dyn Store>, version: u64) {
        if self.is_loaded() || self.loading.swap(true, Ordering::AcqRel) {
            return;
        }
        let projection = Arc::clone(self);
        tokio::spawn(async move {
            if let Err(e) = projection.refresh(&*store, version).await {
                tracing::warn!(error = %e, "the catalog projection could not load; the next listing retries");
            }
            projection.loading.store(false, Ordering::Release);
        });
    }

    /// One page of a query `serves_cold` admits, read off the catalog-by-date index (its
    /// total off the per-status counts): what a cold instance answers while it loads.
    pub async fn page_from_index(
        &self,
        store: &dyn Store,
        query: &EventQuery,
        visible: StatusFilter,
    ) -> StoreResult<((Vec<Event>, PageMeta), ListingCost)> {
        let skip = u64::from(query.page.page - 1) * u64::from(query.page.limit);
        let end = skip + u64::from(query.page.limit);
        let (events, counts) = tokio::try_join!(
            store.catalog_by_date(visible, query.sort_order, end as usize),
            store.catalog_status_counts(),
        )?;
        let total = counts
            .iter()
            .filter(|(status, _)| visible.admits(**status))
            .map(|(_, count)| count)
            .sum();
        let cost = ListingCost {
            catalog_entries_read: events.len(),
            cold: true,
            ..ListingCost::default()
        };
        let page = events.into_iter().skip(skip as usize).collect();
        Ok(((page, PageMeta::new(query.page, total)), cost))
    }

    /// Brings the projection up to `version` if it is behind (or still within the index's lag
    /// after a change): one refresh at a time, the store read outside the state lock. A listing
    /// that waited for another's refresh finds it done and reads nothing. A whole load (the
    /// first, or a reload) is built aside and swapped in, so listings go on being served from
    /// the projection it replaces.
    async fn refresh(&self, store: &dyn Store, version: u64) -> StoreResult<ListingCost> {
        let now = Utc::now();
        if self.state.read().await.up_to(version, now).is_none() {
            return Ok(ListingCost::default());
        }
        let _one_at_a_time = self.refreshing.lock().await;
        let Some(since) = self.state.read().await.up_to(version, now) else {
            return Ok(ListingCost::default());
        };
        let changes = store.catalog_changes(since).await?;
        let catalog_entries_read = changes.len();
        if since.is_none() {
            let mut whole = Projection::default();
            whole.apply(changes, version, now);
            *self.state.write().await = whole;
            self.loaded.store(true, Ordering::Release);
        } else {
            self.state.write().await.apply(changes, version, now);
        }
        Ok(ListingCost {
            catalog_entries_read,
            ..ListingCost::default()
        })
    }
}

impl Projection {
    /// `None` when the projection is up to `version` and past the index's lag; else where to
    /// read changes from (`Some(None)`: from the start — nothing loaded yet, or the last read
    /// so long ago that a deletion's record may have expired since).
    fn up_to(&self, version: u64, now: DateTime<Utc>) -> Option<Option<DateTime<Utc>>> {
        let moved = self.version != Some(version);
        let lagging = self.recheck_until.is_some_and(|t| Instant::now() < t);
        if !(moved || lagging) {
            return None;
        }
        let stale = self.refreshed_at.is_none_or(|at| now - at > RELOAD_AFTER);
        Some(if stale {
            None
        } else {
            self.latest_write.map(|t| t - CLOCK_SKEW)
        })
    }

    /// Takes in what a refresh that started reading at `read_at` read for `version`.
    fn apply(&mut self, changes: Vec<CatalogChange>, version: u64, read_at: DateTime<Utc>) {
        let moved = self.version != Some(version);
        let bulk = changes.len() >= MIN_COMPACTION;
        self.refreshed_at = Some(read_at);
        for change in changes {
            self.latest_write = self.latest_write.max(Some(change.at()));
            match change {
                CatalogChange::Written(entry) => self.project(entry),
                CatalogChange::Deleted { id, at } => self.delete(id, at),
            }
        }
        if self.superseded > self.current.len().max(MIN_COMPACTION) {
            self.compact();
        } else if bulk {
            self.shrink();
        }
        if moved {
            self.recheck_until = Some(Instant::now() + INDEX_LAG);
            self.version = Some(version);
        }
    }

    fn is_presorted(&self, key: SortBy) -> bool {
        self.status_counts.is_some() && self.orders.contains_key(&key)
    }

    /// Takes `entry` as its event's current copy unless as new a copy is already current
    /// (changes are re-read after a version move, and may arrive out of order).
    fn project(&mut self, entry: Event) {
        if self.tombstones.contains_key(&entry.id) {
            return;
        }
        if let Some(at) = entry.deleted_at {
            return self.delete(entry.id, at);
        }
        if let Some(&slot) = self.current.get(&entry.id) {
            let known = &mut self.copies[slot as usize];
            if known.event.updated_at >= entry.updated_at {
                return;
            }
            known.current = false;
            self.superseded += 1;
        }
        let slot = u32::try_from(self.copies.len()).expect("fewer than 2^32 catalog copies");
        self.current.insert(entry.id, slot);
        let folded = FoldedText::of(&entry);
        self.push(slot, entry, folded);
    }

    /// Drops a deleted event's copy, and keeps its id and deletion time alone: a copy of it
    /// arriving late (the index lags) must not revive it.
    fn delete(&mut self, id: EventId, at: DateTime<Utc>) {
        if let Some(slot) = self.current.remove(&id) {
            self.copies[slot as usize].current = false;
            self.superseded += 1;
        }
        self.tombstones.insert(id, at);
        self.orders.clear();
        self.status_counts = None;
    }

    /// Sorts the live slots by `key` (and counts them per status) unless done since the last
    /// change: once per catalog change and key, not per listing.
    fn presort(&mut self, key: SortBy) {
        let copies = &self.copies;
        self.status_counts.get_or_insert_with(|| {
            let mut counts = HashMap::new();
            for copy in copies.iter().filter(|copy| copy.live()) {
                *counts.entry(copy.event.status).or_default() += 1;
            }
            counts
        });
        self.orders.entry(key).or_insert_with(|| {
            let mut slots: Vec<u32> = (0u32..)
                .zip(copies)
                .filter(|(_, copy)| copy.live())
                .map(|(slot, _)| slot)
                .collect();
            slots.sort_unstable_by(|a, b| {
                key.compare(
                    &copies[*a as usize].as_listed(),
                    &copies[*b as usize].as_listed(),
                )
            });
            slots
        });
    }

    fn push(&mut self, slot: u32, event: Event, folded: FoldedText) {
        self.orders.clear();
        self.status_counts = None;
        if event.deleted_at.is_none() {
            let listed = Listed {
                event: &event,
                folded: &folded,
            };
            let [name, description, venue] =
                [listed.name(), listed.description(), listed.venue()].map(|f| f.text());
            self.text.insert(slot, &[&name, &description, &venue]);
        }
        self.copies.push(Copy {
            event,
            folded,
            current: true,
        });
    }

    /// Drops superseded copies and renumbers the rest from 0, rebuilding the text index.
    fn compact(&mut self) {
        let copies = std::mem::take(&mut self.copies);
        self.text = TrigramIndex::default();
        self.current.clear();
        self.superseded = 0;
        for (slot, copy) in (0u32..).zip(copies.into_iter().filter(|copy| copy.current)) {
            self.current.insert(copy.event.id, slot);
            self.push(slot, copy.event, copy.folded);
        }
        // No copy of an event deleted that long before the latest write can still arrive (it
        // left the index when deleted): its tombstone has done its work.
        if let Some(latest) = self.latest_write {
            self.tombstones
                .retain(|_, at| *at > latest - DELETIONS_KEPT);
        }
        self.shrink();
    }

    /// Gives back the spare room growing left, once many entries went in at once: a catalog's
    /// projection is the instance's largest allocation, and doubling would leave it up to half
    /// empty.
    fn shrink(&mut self) {
        self.copies.shrink_to_fit();
        self.current.shrink_to_fit();
        self.tombstones.shrink_to_fit();
        self.text.shrink();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ids::UserId;
    use crate::domain::{EventQuery, EventStatus, NewEvent, ShardRule};
    use crate::money::Cents;
    use crate::store::{EventStore, MemoryStore};

    const VENUES: [&str; 4] = ["Hall", "Club", "Arena", "Royal Albert Hall"];

    fn event(i: usize) -> Event {
        NewEvent {
            name: format!("Show {i}"),
            description: if i.is_multiple_of(7) {
                "Jazz night".into()
            } else {
                String::new()
            },
            venue: VENUES[i % VENUES.len()].to_owned(),
            date: Utc::now() + chrono::Duration::days(1 + i as i64),
            price: Cents(1_000),
            total_tickets: 10,
            status: EventStatus::Published,
            max_tickets_per_user: None,
        }
        .into_event(Utc::now(), ShardRule::DEFAULT)
    }

    /// What the projection lists for `search` (ids, sorted) next to what a scan of the store
    /// finds, and how many entries the listing visited.
    async fn listed(
        projection: &CatalogProjection,
        store: &MemoryStore,
        search: &str,
    ) -> (Vec<EventId>, Vec<EventId>, usize) {
        let query = EventQuery::parse(&HashMap::from([("search".into(), search.into())]))
            .expect("a valid query");
        let version = store.catalog_version().await.unwrap();
        let (mut found, cost) = projection
            .read(store, version, &query.needles(), |live| {
                let filter = query.filter();
                live.filter(|item| filter.matches(*item))
                    .map(|item| item.event.id)
                    .collect::<Vec<_>>()
            })
            .await
            .unwrap();
        found.sort();
        let mut exact: Vec<EventId> = store
            .catalog_changes(None)
            .await
            .unwrap()
            .into_iter()
            .filter_map(CatalogChange::written)
            .filter(|e| {
                [&e.name, &e.description, &e.venue]
                    .iter()
                    .any(|text| crate::domain::text::fold(text).contains(search))
            })
            .map(|e| e.id)
            .collect();
        exact.sort();
        (found, exact, cost.entries_visited)
    }

    #[tokio::test]
    async fn searches_find_what_a_scan_finds_through_updates_compaction_and_deletes() {
        let store = MemoryStore::new();
        let projection = CatalogProjection::default();
        let mut events: Vec<Event> = (0..200).map(event).collect();
        for e in &events {
            store.create_event(e).await.unwrap();
        }
        let searches = ["hall", "albert hall", "club", "jazz", "show 1", "ha", "zzz"];
        let check = |stage: &'static str| {
            let (projection, store) = (&projection, &store);
            async move {
                for search in searches {
                    let (found, exact, _) = listed(projection, store, search).await;
                    assert_eq!(found, exact, "{stage}: {search}");
                }
            }
        };
        check("created").await;
        // A rare needle visits only its candidates, not the catalog.
        let (found, _, visited) = listed(&projection, &store, "albert hall").await;
        assert_eq!(found.len(), 50);
        assert_eq!(
            visited, 50,
            "a search visits the entries its trigrams allow"
        );
        let (_, _, visited) = listed(&projection, &store, "zzz").await;
        assert_eq!(visited, 0);

        // Three rounds of renames: copies superseded past the current count are compacted.
        for round in 1..=3 {
            for (i, e) in events.iter_mut().enumerate().filter(|(i, _)| i % 4 != 3) {
                e.venue = VENUES[(i + round) % VENUES.len()].to_owned();
                e.name = format!("Show {i} round {round}");
                e.updated_at += chrono::Duration::seconds(round as i64);
                store
                    .update_event_details(e, EventStatus::Published)
                    .await
                    .unwrap();
            }
            check("renamed").await;
            let state = projection.state.read().await;
            assert!(
                state.copies.len() <= 2 * state.current.len().max(MIN_COMPACTION),
                "round {round}: {} copies for {} events",
                state.copies.len(),
                state.current.len()
            );
        }
        // Deleted events leave every listing, and a late older copy does not revive them.
        for e in events.iter().step_by(5) {
            let at = e.updated_at + chrono::Duration::seconds(10);
            store.delete_event(e.id, UserId::new(), at).await.unwrap();
        }
        check("deleted").await;
        let mut state = projection.state.write().await;
        state.project(events[0].clone());
        assert!(!state.current.contains_key(&events[0].id));
        // A deleted event is kept as its id and write time alone: no copy of it stays live or
        // current, and compaction leaves none behind.
        let deleted: Vec<EventId> = events.iter().step_by(5).map(|e| e.id).collect();
        assert_eq!(state.tombstones.len(), deleted.len());
        assert!(deleted.iter().all(|id| state.tombstones.contains_key(id)));
        assert!(state
            .copies
            .iter()
            .all(|copy| !copy.current || copy.event.deleted_at.is_none()));
        state.compact();
        assert_eq!(state.copies.len(), events.len() - deleted.len());
        assert!(state
            .copies
            .iter()
            .all(|copy| !deleted.contains(&copy.event.id)));
    }

    /// Listings share the projection: one still at its in-memory work (holding its read
    /// guard) does not keep another, of either kind, from being served.
    #[tokio::test]
    async fn listings_do_not_wait_for_each_other() {
        let store = MemoryStore::new();
        for i in 0..20 {
            store.create_event(&event(i)).await.unwrap();
        }
        let projection = CatalogProjection::default();
        let version = store.catalog_version().await.unwrap();
        let all = StatusFilter::Any;
        let plain = EventQuery::default();
        let search = EventQuery::parse(&HashMap::from([("search".into(), "hall".into())]))
            .expect("a valid query");
        // The first listing loads and presorts (and, past the index's lag, no listing needs a
        // refresh); then one holds on while others are served.
        projection.page(&store, version, &plain, all).await.unwrap();
        projection.state.write().await.recheck_until = None;
        let busy = projection.state.read().await;
        for query in [&plain, &search] {
            let served = tokio::time::timeout(
                std::time::Duration::from_secs(10),
                projection.page(&store, version, query, all),
            )
            .await
            .expect("served while another listing holds the projection")
            .unwrap();
            assert!(!served.0 .0.is_empty());
        }
        drop(busy);
    }

    /// A projection that last read the catalog longer ago than `RELOAD_AFTER` reloads it whole
    /// when it changes: reading changes since then could miss a deletion whose record expired.
    #[tokio::test]
    async fn a_projection_older_than_the_deletion_records_reloads() {
        let store = MemoryStore::new();
        let events: Vec<Event> = (0..10).map(event).collect();
        for e in &events {
            store.create_event(e).await.unwrap();
        }
        async fn listed(projection: &CatalogProjection, store: &MemoryStore) -> usize {
            let version = store.catalog_version().await.unwrap();
            let ((page, _), _) = projection
                .page(store, version, &EventQuery::default(), StatusFilter::Any)
                .await
                .unwrap();
            page.len()
        }
        let (recent, old) = (CatalogProjection::default(), CatalogProjection::default());
        assert_eq!(listed(&recent, &store).await, 10);
        assert_eq!(listed(&old, &store).await, 10);
        old.state.write().await.refreshed_at =
            Some(Utc::now() - RELOAD_AFTER - chrono::Duration::minutes(1));
        // A deletion whose record has expired: changes read from any earlier write miss it.
        let long_ago = Utc::now() - DELETIONS_KEPT - chrono::Duration::hours(1);
        store
            .delete_event(events[3].id, UserId::new(), long_ago)
            .await
            .unwrap();
        // The bad case: a projection reading changes still lists it...
        assert_eq!(
            listed(&recent, &store).await,
            10,
            "changes cannot show an expired deletion"
        );
        // ...one that last read too long ago reloads and does not.
        assert_eq!(listed(&old, &store).await, 9);
        let state = old.state.read().await;
        assert!(!state.current.contains_key(&events[3].id));
        assert!(state
            .refreshed_at
            .is_some_and(|at| Utc::now() - at < chrono::Duration::minutes(1)));
    }

    /// Every status-only listing (each sort, order, page and audience) read off the presorted
    /// orders matches a sort of the whole live catalog, before and after catalog writes.
    #[tokio::test]
    async fn status_only_pages_match_a_full_sort_through_catalog_writes() {
        let store = MemoryStore::new();
        let projection = CatalogProjection::default();
        let statuses = [
            EventStatus::Published,
            EventStatus::Draft,
            EventStatus::Published,
            EventStatus::Cancelled,
        ];
        let mut events: Vec<Event> = (0..60)
            .map(|i| {
                let mut e = event(i);
                e.status = statuses[i % statuses.len()];
                e.name = format!("{} show", (b'a' + (i * 7 % 26) as u8) as char);
                e.price = Cents(1_000 * (i as i64 % 5));
                e
            })
            .collect();
        for e in &events {
            store.create_event(e).await.unwrap();
        }
        let audiences = [
            ("admin", StatusFilter::Any),
            ("public", StatusFilter::NotDraft),
            ("cancelled", StatusFilter::Only(EventStatus::Cancelled)),
        ];
        let check = |stage: &'static str| {
            let (projection, store) = (&projection, &store);
            async move {
                let live: Vec<Event> = store
                    .catalog_changes(None)
                    .await
                    .unwrap()
                    .into_iter()
                    .filter_map(CatalogChange::written)
                    .collect();
                let version = store.catalog_version().await.unwrap();
                for sort_by in ["date", "name", "price", "createdAt"] {
                    for order in ["asc", "desc"] {
                        for page in ["1", "2", "4", "9"] {
                            let query = EventQuery::parse(&HashMap::from([
                                ("sortBy".into(), sort_by.into()),
                                ("sortOrder".into(), order.into()),
                                ("page".into(), page.into()),
                                ("limit".into(), "7".into()),
                            ]))
                            .unwrap();
                            for (audience, visible) in audiences {
                                let folded: Vec<(&Event, FoldedText)> = live
                                    .iter()
                                    .filter(|e| visible.admits(e.status))
                                    .map(|e| (e, FoldedText::of(e)))
                                    .collect();
                                let mut all: Vec<Listed> = folded
                                    .iter()
                                    .map(|(event, folded)| Listed { event, folded })
                                    .collect();
                                all.sort_by(|a, b| query.sort_by.compare(a, b));
                                if order == "desc" {
                                    all.reverse();
                                }
                                let (want, want_meta) = query.page.slice(all);
                                let want: Vec<EventId> =
                                    want.iter().map(|item| item.event.id).collect();
                                let ((got, meta), cost) = projection
                                    .page(store, version, &query, visible)
                                    .await
                                    .unwrap();
                                let got: Vec<EventId> = got.iter().map(|e| e.id).collect();
                                let case = format!("{stage} {sort_by} {order} p{page} {audience}");
                                assert_eq!(got, want, "{case}");
                                assert_eq!(meta, want_meta, "{case}");
                                if audience == "admin" {
                                    // Every live entry is visible: the walk stops at the page's end.
                                    let end = (meta.page as usize * 7).min(meta.total as usize);
                                    assert_eq!(cost.entries_visited, end, "{case}");
                                }
                            }
                        }
                    }
                }
            }
        };
        check("created").await;
        // Renames, new dates and prices, status changes and deletes reorder every key.
        for (i, e) in events.iter_mut().enumerate().filter(|(i, _)| i % 3 == 0) {
            e.name = format!("z{i} renamed");
            e.date -= chrono::Duration::days(40);
            e.price = Cents(99_000 - i as i64);
            let was = e.status;
            e.status = statuses[(i + 1) % statuses.len()];
            e.updated_at += chrono::Duration::seconds(1);
            store.update_event_details(e, was).await.unwrap();
        }
        for e in events.iter().skip(1).step_by(7) {
            let at = e.updated_at + chrono::Duration::seconds(5);
            store.delete_event(e.id, UserId::new(), at).await.unwrap();
        }
        check("rewritten").await;
    }
}
