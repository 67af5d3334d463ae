use crate::cache::{keys, Cache};
use crate::domain::{Event, EventPatch, EventQuery, EventStatus, Identity, NewEvent, PageMeta};
use crate::ids::EventId;
use crate::metric;
use crate::money::Cents;
use crate::store::Store;
use crate::views::{Envelope, EventView};
use crate::AppError;
use std::sync::Arc;
use std::time::Duration;

const EVENT_TTL: Duration = Duration::from_secs(30);
const LIST_TTL: Duration = Duration::from_secs(5);
const PRICE_TTL: Duration = Duration::from_secs(60);

#[derive(Clone)]
pub struct EventService {
    store: Arc<dyn Store>,
    cache: Arc<dyn Cache>,
}

impl EventService {
    pub fn new(store: Arc<dyn Store>, cache: Arc<dyn Cache>) -> Self {
        Self { store, cache }
    }

    /// Drops every cached read that may show `id`: its own entry and (through a new generation)
    /// every cached listing. Called after every write that changes an event or its counter.
    pub async fn invalidate(&self, id: EventId) {
        let generation = ulid::Ulid::new().to_string();
        let key = keys::event(id);
        let (own, lists) = tokio::join!(
            self.cache.delete(&key),
            self.cache.set(
                keys::LISTING_GENERATION,
                &generation,
                Duration::from_secs(86_400)
            ),
        );
        if let Err(e) = own.and(lists) {
            metric::cache_fail_open(&e, "could not invalidate cached event reads");
        }
    }

    /// The event's current price, for pricing a booking. Cached apart from the event itself
    /// because bookings (which churn the event's cache) never change it; the booking
    /// transaction is conditioned on this price, so a stale one is caught, never charged.
    pub async fn price_of(&self, id: EventId) -> Result<Cents, AppError> {
        if let Ok(Some(raw)) = self.cache.get(&keys::event_price(id)).await {
            if let Ok(cents) = raw.parse() {
                return Ok(Cents(cents));
            }
        }
        self.fresh_price_of(id).await
    }

    /// The price read from the store (after a booking found the cached one stale).
    pub async fn fresh_price_of(&self, id: EventId) -> Result<Cents, AppError> {
        let event = self
            .store
            .event_by_id(id)
            .await?
            .ok_or(AppError::NotFound)?;
        let _ = self
            .cache
            .set(
                &keys::event_price(id),
                &event.price.0.to_string(),
                PRICE_TTL,
            )
            .await;
        Ok(event.price)
    }

    async fn forget_price(&self, id: EventId) {
        if let Err(e) = self.cache.delete(&keys::event_price(id)).await {
            metric::cache_fail_open(&e, "could not drop a cached price");
        }
    }

    /// An event as the caller may see it: drafts exist only for admins.
    pub async fn get(&self, who: Option<Identity>, id: EventId) -> Result<Event, AppError> {
        let cached = match self.cache.get(&keys::event(id)).await {
            Ok(hit) => hit.and_then(|raw| serde_json::from_str::<Event>(&raw).ok()),
            Err(e) => {
                metric::cache_fail_open(&e, "event cache unavailable; reading the store");
                None
            }
        };
        let event = match cached {
            Some(event) => event,
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

    /// One page of the listing as the finished response body. Cached rendered, so a hit costs
    /// no decoding or encoding; the cache key carries the listing generation, which every write
    /// to any event renews.
    pub async fn list_body(
        &self,
        who: Option<Identity>,
        query: &EventQuery,
    ) -> Result<String, AppError> {
        let admin = who.is_some_and(|w| w.is_admin());
        let generation = self
            .cache
            .get(keys::LISTING_GENERATION)
            .await
            .ok()
            .flatten()
            .unwrap_or_default();
        let cache_key = keys::listing(&generation, admin, &query.cache_key());
        if let Ok(Some(body)) = self.cache.get(&cache_key).await {
            return Ok(body);
        }
        let (events, meta) = self.list(admin, query).await?;
        let data: Vec<EventView> = events.iter().map(EventView::from).collect();
        let body = Envelope::page("OK", data, meta).to_json();
        let _ = self.cache.set(&cache_key, &body, LIST_TTL).await;
        Ok(body)
    }

    /// Filters and sorts what the status/date index returns (never a scan) and cuts the page.
    async fn list(
        &self,
        admin: bool,
        query: &EventQuery,
    ) -> Result<(Vec<Event>, PageMeta), AppError> {
        let statuses: Vec<EventStatus> = match query.status {
            Some(EventStatus::Draft) if !admin => vec![],
            Some(status) => vec![status],
            None if admin => EventStatus::ALL.to_vec(),
            None => EventStatus::ALL
                .into_iter()
                .filter(|s| *s != EventStatus::Draft)
                .collect(),
        };
        let mut events: Vec<Event> = self
            .store
            .events_by_status(&statuses, query.from, query.to)
            .await?
            .into_iter()
            .filter(|e| query.matches(e))
            .collect();
        query.sort(&mut events);
        Ok(query.page.slice(events))
    }

    pub async fn create(&self, new_event: NewEvent) -> Result<Event, AppError> {
        let event = new_event.into_event(chrono::Utc::now());
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
        tokio::join!(self.invalidate(id), self.forget_price(id));
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
