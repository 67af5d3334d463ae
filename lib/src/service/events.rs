use super::availability::Availability;
use super::catalog::{CatalogProjection, ListingCost};
use crate::cache::{keys, Cache};
use crate::domain::ids::EventId;
use crate::domain::stats::{Attendee, EventStats};
use crate::domain::{
    Event, EventPatch, EventQuery, EventStatus, Identity, NewEvent, PageMeta, PageParams,
    ShardRule, StatusFilter,
};
use crate::metric;
use crate::money::Cents;
use crate::store::Store;
use crate::AppError;
use std::sync::Arc;
use std::time::Duration;

const EVENT_TTL: Duration = Duration::from_secs(30);
const TERMS_TTL: Duration = Duration::from_secs(60);
/// How long a cached catalog version is believed. Writers drop it after each catalog write;
/// this bounds how long a reader's late write of an older version can hide a change.
const VERSION_TTL: Duration = Duration::from_secs(2);

/// What a booking needs to know of its event before it writes: the price and the per-user
/// limit it is conditioned on, and how many shards hold the tickets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BookingTerms {
    pub price: Cents,
    pub shards: u16,
    pub max_tickets_per_user: Option<u32>,
}

impl BookingTerms {
    fn of(event: &Event) -> Self {
        Self {
            price: event.price,
            shards: event.inventory_shards,
            max_tickets_per_user: event.max_tickets_per_user,
        }
    }

    /// `price/shards/limit` (an empty limit: none), as the cache keeps them.
    fn to_cached(self) -> String {
        let limit = self.max_tickets_per_user.map(|l| l.to_string());
        format!(
            "{}/{}/{}",
            self.price.0,
            self.shards,
            limit.unwrap_or_default()
        )
    }

    fn from_cached(raw: &str) -> Option<Self> {
        let mut parts = raw.split('/');
        let (price, shards, limit) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() {
            return None;
        }
        Some(Self {
            price: Cents(price.parse().ok()?),
            shards: shards.parse().ok()?,
            max_tickets_per_user: match limit {
                "" => None,
                n => Some(n.parse().ok()?),
            },
        })
    }
}

#[derive(Clone)]
pub struct EventService {
    store: Arc<dyn Store>,
    cache: Arc<dyn Cache>,
    availability: Availability,
    catalog: Arc<CatalogProjection>,
    shard_rule: ShardRule,
}

impl EventService {
    pub fn new(store: Arc<dyn Store>, cache: Arc<dyn Cache>, shard_rule: ShardRule) -> Self {
        Self {
            availability: Availability::new(store.clone(), cache.clone()),
            store,
            cache,
            catalog: Arc::default(),
            shard_rule,
        }
    }

    /// This instance's projection of the catalog.
    pub fn projection(&self) -> &CatalogProjection {
        &self.catalog
    }

    /// Each event's counts for listings, kept by the bookings' writes.
    pub fn availability(&self) -> &Availability {
        &self.availability
    }

    /// Drops every cached read of `id`'s catalog entry and the cached catalog version. Called
    /// after catalog writes only: bookings change inventory, which is never cached.
    async fn invalidate(&self, id: EventId) {
        let (event_key, terms_key) = (keys::event(id), keys::booking_terms(id));
        let (own, terms, version) = tokio::join!(
            self.cache.delete(&event_key),
            self.cache.delete(&terms_key),
            self.cache.delete(keys::CATALOG_VERSION),
        );
        if let Err(e) = own.and(terms).and(version) {
            metric::cache_fail_open(&e, "could not invalidate cached catalog reads");
        }
    }

    /// The event's price, limit and shard count, for a booking. Cached: bookings never change
    /// them, and the booking transaction is conditioned on the price and the limit, so a stale
    /// one is caught, never charged or let through.
    pub async fn terms_of(&self, id: EventId) -> Result<BookingTerms, AppError> {
        if let Ok(Some(raw)) = self.cache.get(&keys::booking_terms(id)).await {
            if let Some(terms) = BookingTerms::from_cached(&raw) {
                return Ok(terms);
            }
        }
        self.fresh_terms_of(id).await
    }

    /// The terms read from the store (after a booking found the cached price stale).
    pub async fn fresh_terms_of(&self, id: EventId) -> Result<BookingTerms, AppError> {
        let event = self
            .store
            .event_by_id(id)
            .await?
            .ok_or(AppError::NotFound)?;
        let terms = BookingTerms::of(&event);
        let _ = self
            .cache
            .set(&keys::booking_terms(id), &terms.to_cached(), TERMS_TTL)
            .await;
        Ok(terms)
    }

    /// An event as the caller may see it (drafts exist only for admins): the catalog entry,
    /// cached, with its counters read fresh, so a read right after a booking shows it.
    pub async fn get(&self, who: Option<Identity>, id: EventId) -> Result<Event, AppError> {
        let event = match self.cached_entry(id).await {
            Some(entry) => {
                let inventories = self
                    .store
                    .inventories(&[(id, entry.inventory_shards)])
                    .await?;
                match inventories.get(&id) {
                    Some(inventory) => entry.with_inventory(inventory),
                    None => return Err(AppError::NotFound),
                }
            }
            None => {
                let event = self
                    .store
                    .event_by_id(id)
                    .await?
                    .ok_or(AppError::NotFound)?;
                if let Ok(raw) = serde_json::to_string(&event) {
                    let _ = self.cache.set(&keys::event(id), &raw, EVENT_TTL).await;
                }
                event
            }
        };
        if event.status == EventStatus::Draft && !who.is_some_and(|w| w.is_admin()) {
            return Err(AppError::NotFound);
        }
        Ok(event)
    }

    /// The event's cached catalog entry (its counters not fresh), if the cache has it.
    async fn cached_entry(&self, id: EventId) -> Option<Event> {
        match self.cache.get(&keys::event(id)).await {
            Ok(hit) => hit.and_then(|raw| serde_json::from_str::<Event>(&raw).ok()),
            Err(e) => {
                metric::cache_fail_open(&e, "event cache unavailable; reading the store");
                None
            }
        }
    }

    /// The catalog's version: cached briefly (every listing asks), else from the store.
    async fn catalog_version(&self) -> Result<u64, AppError> {
        match self.cache.get(keys::CATALOG_VERSION).await {
            Ok(Some(raw)) => {
                if let Ok(version) = raw.parse() {
                    return Ok(version);
                }
            }
            Ok(None) => {}
            Err(e) => metric::cache_fail_open(&e, "catalog version unavailable in the cache"),
        }
        let version = self.store.catalog_version().await?;
        let _ = self
            .cache
            .set(keys::CATALOG_VERSION, &version.to_string(), VERSION_TTL)
            .await;
        Ok(version)
    }

    /// One page of events, and what the projection had to read to serve it.
    pub async fn list(
        &self,
        who: Option<Identity>,
        query: &EventQuery,
    ) -> Result<((Vec<Event>, PageMeta), ListingCost), AppError> {
        let visible = StatusFilter::of(query.status, who.is_some_and(|w| w.is_admin()));
        let version = self.catalog_version().await?;
        // A cold instance answers what it can off the index at once, and loads meanwhile.
        let ((page, meta), mut cost) =
            if !self.catalog.is_loaded() && CatalogProjection::serves_cold(query) {
                self.catalog
                    .page_from_index(&*self.store, query, visible)
                    .await?
            } else {
                self.catalog
                    .page(&*self.store, version, query, visible)
                    .await?
            };
        let shards: Vec<(EventId, u16)> = page.iter().map(|e| (e.id, e.inventory_shards)).collect();
        let (counts, items_read) = self.availability.of(&shards).await?;
        cost.inventory_items_read = items_read;
        if cost.cold {
            // Started once the page is read, so the load's first reads do not delay it.
            self.catalog.load_in_background(self.store.clone(), version);
        }
        let page = page
            .into_iter()
            .map(|e| match counts.get(&e.id) {
                Some(c) => e.with_counts(c.available, c.confirmed),
                None => e,
            })
            .collect();
        Ok(((page, meta), cost))
    }

    /// The event's figures for its organiser: the K shards' counters and sales by day, summed.
    pub async fn stats(&self, who: Identity, id: EventId) -> Result<EventStats, AppError> {
        // The figures read the shards themselves: with the entry cached, they are read once.
        // (Deletes drop the cached entry, so a deleted event is still 404.)
        let event = match self.cached_entry(id).await {
            Some(entry) => entry,
            None => self.get(Some(who), id).await?,
        };
        let (shards, days) = self.store.event_figures(id, event.inventory_shards).await?;
        Ok(EventStats::sum(event.total_tickets, &shards, days))
    }

    /// One page of the event's attendees (a row per ticket of its confirmed bookings, by
    /// booking), and how many tickets the whole list holds: reads the bookings up to the page's
    /// end through the attendee index, and the page's holders.
    pub async fn attendees(
        &self,
        who: Identity,
        id: EventId,
        page: PageParams,
    ) -> Result<(Vec<Attendee>, PageMeta), AppError> {
        let event = self.get(Some(who), id).await?;
        let skip = page.offset();
        let rows = self
            .attendee_rows(&event, skip, u64::from(page.limit))
            .await?;
        // Every confirmed ticket is on the list: the shards' count of them is its length.
        let total = u64::from(event.total_tickets.saturating_sub(event.available_tickets));
        Ok((rows, PageMeta::new(page, total)))
    }

    /// Every attendee of the event, for the CSV.
    pub async fn all_attendees(
        &self,
        who: Identity,
        id: EventId,
    ) -> Result<Vec<Attendee>, AppError> {
        let event = self.get(Some(who), id).await?;
        self.attendee_rows(&event, 0, u64::MAX).await
    }

    async fn attendee_rows(
        &self,
        event: &Event,
        skip: u64,
        want: u64,
    ) -> Result<Vec<Attendee>, AppError> {
        const BATCH: usize = 50;
        let mut tickets = Vec::new();
        let mut seen = 0u64;
        let mut after = None;
        'bookings: loop {
            let batch = self
                .store
                .confirmed_bookings(event.id, event.inventory_shards, after, BATCH)
                .await?;
            let Some(last) = batch.last() else { break };
            after = Some(last.id);
            for booking in &batch {
                for ticket in booking.tickets() {
                    if seen >= skip {
                        tickets.push((booking.clone(), ticket));
                    }
                    seen += 1;
                    if tickets.len() as u64 >= want {
                        break 'bookings;
                    }
                }
            }
            if batch.len() < BATCH {
                break;
            }
        }
        let holders: std::collections::HashSet<_> =
            tickets.iter().map(|(b, _)| b.user_id).collect();
        let holders =
            futures::future::try_join_all(holders.into_iter().map(|id| async move {
                Ok::<_, AppError>((id, self.store.user_by_id(id).await?))
            }))
            .await?;
        let holders: std::collections::HashMap<_, _> = holders.into_iter().collect();
        Ok(tickets
            .into_iter()
            .map(|(booking, ticket)| {
                let holder = holders.get(&booking.user_id).and_then(Option::as_ref);
                Attendee {
                    booking_id: booking.id,
                    ticket_number: ticket.ticket_number(),
                    holder_name: holder.map(|u| u.name.clone()).unwrap_or_default(),
                    holder_email: holder.map(|u| u.email.to_string()).unwrap_or_default(),
                    checked_in_at: booking.checked_in_at(ticket.number),
                }
            })
            .collect())
    }

    pub async fn create(&self, new_event: NewEvent) -> Result<Event, AppError> {
        let event = new_event.into_event(chrono::Utc::now(), self.shard_rule);
        self.store.create_event(&event).await?;
        self.invalidate(event.id).await;
        Ok(event)
    }

    pub async fn update(&self, id: EventId, patch: EventPatch) -> Result<Event, AppError> {
        let mut event = self
            .store
            .event_by_id(id)
            .await?
            .ok_or(AppError::NotFound)?;
        let was = event.status;
        patch.apply(&mut event, chrono::Utc::now())?;
        self.store.update_event_details(&event, was).await?;
        self.invalidate(id).await;
        // Re-read so the counters shown are the store's, not the possibly stale copy above.
        self.store.event_by_id(id).await?.ok_or(AppError::NotFound)
    }

    pub async fn delete(&self, who: Identity, id: EventId) -> Result<(), AppError> {
        self.store
            .delete_event(id, who.user_id, chrono::Utc::now())
            .await?;
        self.invalidate(id).await;
        Ok(())
    }
}
