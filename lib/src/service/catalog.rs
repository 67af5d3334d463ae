//! Each instance's projection of the catalog, so a listing's cost does not grow with the
//! catalog: filtering, sorting and paging run over memory, and the store is asked only for
//! what changed since the projection last looked (through the catalog-by-write index) when
//! the catalog version moved. Only catalog writes move it; bookings never do.

use crate::domain::event::{FoldedText, Listed};
use crate::domain::Event;
use crate::ids::EventId;
use crate::store::{Store, StoreResult};
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Changes are re-read from this long before the latest one seen: writers' clocks differ a
/// little, and an entry written a moment "earlier" must not be missed.
const CLOCK_SKEW: chrono::Duration = chrono::Duration::seconds(5);
/// The index is eventually consistent: after a version change, changes are re-read on every
/// listing for this long, so an entry the index showed late still arrives.
const INDEX_LAG: Duration = Duration::from_secs(2);

#[derive(Default)]
struct Projection {
    version: Option<u64>,
    /// Every entry seen (with its text folded once), deleted ones kept as tombstones so an
    /// older copy cannot revive them.
    entries: HashMap<EventId, (Event, FoldedText)>,
    latest_write: Option<DateTime<Utc>>,
    recheck_until: Option<Instant>,
}

#[derive(Default)]
pub struct CatalogProjection {
    state: tokio::sync::Mutex<Projection>,
}

/// What serving one listing read from the store, for tests and benchmarks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ListingCost {
    /// Catalog entries the projection's refresh read (0 while the catalog did not change).
    pub catalog_entries_read: usize,
    /// Inventory shard items read for the page's counters.
    pub inventory_items_read: usize,
}

impl CatalogProjection {
    /// Brings the projection up to `version`, then runs `view` over its live events.
    pub async fn read<T>(
        &self,
        store: &dyn Store,
        version: u64,
        view: impl FnOnce(&mut dyn Iterator<Item = Listed<'_>>) -> T,
    ) -> StoreResult<(T, ListingCost)> {
        let mut projection = self.state.lock().await;
        let refresh = projection.refresh(store, version).await?;
        let mut live = projection
            .entries
            .values()
            .filter(|(event, _)| event.deleted_at.is_none())
            .map(|(event, folded)| Listed { event, folded });
        Ok((view(&mut live), refresh))
    }
}

impl Projection {
    async fn refresh(&mut self, store: &dyn Store, version: u64) -> StoreResult<ListingCost> {
        let moved = self.version != Some(version);
        let lagging = self.recheck_until.is_some_and(|t| Instant::now() < t);
        if !moved && !lagging {
            return Ok(ListingCost::default());
        }
        let since = self.latest_write.map(|t| t - CLOCK_SKEW);
        let changes = store.catalog_changes(since).await?;
        let catalog_entries_read = changes.len();
        for entry in changes {
            self.latest_write = self.latest_write.max(Some(entry.updated_at));
            let newer_known = self
                .entries
                .get(&entry.id)
                .is_some_and(|(known, _)| known.updated_at > entry.updated_at);
            if !newer_known {
                let folded = FoldedText::of(&entry);
                self.entries.insert(entry.id, (entry, folded));
            }
        }
        if moved {
            self.recheck_until = Some(Instant::now() + INDEX_LAG);
            self.version = Some(version);
        }
        Ok(ListingCost {
            catalog_entries_read,
            inventory_items_read: 0,
        })
    }
}
