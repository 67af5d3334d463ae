//! Listing cost against catalog size, on DynamoDB Local + Redis, through the whole router
//! (every layer but the socket): one catalog per size, each in its own table, measured side by
//! side in the same rounds (so DynamoDB Local's warm-up and the machine's noise favour no
//! size): the median `GET /api/v1/events?limit=20` and a search, each right after a booking,
//! with the DynamoDB items one such listing reads, for catalogs of one-shard (K = 1) and of
//! 16-shard (K = 16) events side by side. Target: 100 → 10,000 events costs ≤ 1.5× at either K,
//! and the items read grow neither with the catalog nor with K.

use chrono::{Duration, Utc};
use clap::Parser;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;
use ticketing::cache::keys;
use ticketing::config::Config;
use ticketing::domain::{EventQuery, EventStatus, NewEvent, Role};
use ticketing::ids::EventId;
use ticketing::money::Cents;
use ticketing::service::catalog::ListingCost;
use ticketing::store::Store;
use ticketing_tests::{cache_for, store_for, Backend, TestApp};

#[derive(Parser)]
struct Args {
    /// Catalog sizes, measured side by side in one run.
    #[arg(long, value_delimiter = ',', default_value = "100,1000,10000")]
    sizes: Vec<usize>,
    /// Tickets of each seeded event, one catalog per value and size: 500 is one inventory shard
    /// (K = 1), 40000 is K = 16 (the default rule: 2,000 tickets a shard, at most 16).
    #[arg(long, value_delimiter = ',', default_value = "500,40000")]
    tickets: Vec<u32>,
    /// Timed listings (each right after a booking) per size.
    #[arg(long, default_value_t = 40)]
    samples: usize,
    /// Untimed rounds (booking, listing, search on every catalog) before the timed ones.
    #[arg(long, default_value_t = 100)]
    warmup: usize,
    /// `memory` runs the same on the in-memory store and cache: the listing's own work in
    /// process, without DynamoDB Local's (which grows with its table) or Redis's.
    #[arg(long, value_enum, default_value_t = BenchBackend::Real)]
    backend: BenchBackend,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum BenchBackend {
    Real,
    Memory,
}

const VENUES: [&str; 4] = ["Arena", "Hall", "Club", "Stadium"];

fn new_event(i: usize, hours_ahead: i64, total_tickets: u32) -> NewEvent {
    NewEvent {
        name: format!("Event {i}"),
        description: format!("Evening number {i}"),
        venue: VENUES[i % VENUES.len()].to_owned(),
        date: Utc::now() + Duration::hours(hours_ahead),
        price: Cents(1_000 + (i as i64 % 50) * 100),
        total_tickets,
        status: EventStatus::Published,
        max_tickets_per_user: None,
    }
}

fn median(mut ms: Vec<f64>) -> f64 {
    ms.sort_by(f64::total_cmp);
    ms[ms.len() / 2]
}

/// One catalog of `size` events behind its own router, store and cache.
struct Catalog {
    size: usize,
    shards: u16,
    app: TestApp,
    store: Arc<dyn Store>,
    buyer: String,
    hot: String,
    reload_ms: f64,
    list_ms: Vec<f64>,
    search_ms: Vec<f64>,
}

const LISTING: &str = "/api/v1/events?limit=20";
const SEARCH: &str = "/api/v1/events?limit=20&search=hall&sortBy=price";

impl Catalog {
    async fn seed(backend: Backend, size: usize, tickets: u32) -> anyhow::Result<Self> {
        let store = store_for(backend).await;
        let config = Config::for_tests();
        let rule = config.shard_rule;
        let app = TestApp::with_parts(backend, config, store.clone(), cache_for(backend).await);
        let admin = app.admin_token().await;
        let (buyer, _) = app.quick_user(Role::User).await;
        // The soonest event: always first on the date-sorted page, so each booking changes it.
        let hot = app
            .create_event(
                &admin,
                serde_json::json!({ "totalTickets": 100_000, "date": (Utc::now() + Duration::minutes(30)).to_rfc3339() }),
            )
            .await;
        // The rest straight through the store, 32 writes at a time.
        let rest: Vec<usize> = (1..size).collect();
        for chunk in rest.chunks(32) {
            let writes = chunk.iter().map(|&i| {
                let event = new_event(i, 24 + i as i64, tickets).into_event(Utc::now(), rule);
                let store = store.clone();
                async move { store.create_event(&event).await }
            });
            for result in futures::future::join_all(writes).await {
                result?;
            }
        }
        // Seeded past the service, so drop the cached catalog version as a catalog write does.
        app.state.cache.delete(keys::CATALOG_VERSION).await?;
        // The first listing after the catalog changed reads what changed (here: everything);
        // timed apart, as it happens once per catalog change (and once per cold instance).
        let reload = Instant::now();
        let first = app.call("GET", LISTING, None, None).await;
        anyhow::ensure!(first.status == 200, "listing failed: {}", first.raw);
        // A cold instance answers that listing off the index and loads in the background:
        // the reload is done when the projection is.
        while !app.state.events.projection().is_loaded() {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        let reload_ms = reload.elapsed().as_secs_f64() * 1000.0;
        Ok(Self {
            size,
            shards: rule.shards_for(tickets),
            app,
            store,
            buyer,
            hot,
            reload_ms,
            list_ms: Vec::new(),
            search_ms: Vec::new(),
        })
    }

    /// Books one ticket of the hot event, then times a listing (which must show the hot event
    /// first) and a search.
    async fn round(&mut self, timed: bool) -> anyhow::Result<()> {
        let key = uuid::Uuid::new_v4().to_string();
        let booked = self.app.book(&self.buyer, &key, &self.hot, 1).await;
        anyhow::ensure!(booked.status == 201, "booking failed: {}", booked.raw);
        let started = Instant::now();
        let page = self.app.call("GET", LISTING, None, None).await;
        let list_ms = started.elapsed().as_secs_f64() * 1000.0;
        anyhow::ensure!(
            page.body["data"][0]["id"] == self.hot.as_str(),
            "the hot event leads the page: {}",
            page.raw
        );
        let started = Instant::now();
        let found = self.app.call("GET", SEARCH, None, None).await;
        let search_ms = started.elapsed().as_secs_f64() * 1000.0;
        anyhow::ensure!(found.status == 200, "search failed: {}", found.raw);
        if timed {
            self.list_ms.push(list_ms);
            self.search_ms.push(search_ms);
        }
        Ok(())
    }

    /// What one listing (and one search) cost the service, asked of it directly.
    async fn cost(&self, path: &str) -> anyhow::Result<(Vec<(EventId, u16)>, ListingCost)> {
        let params: HashMap<String, String> = path
            .split_once('?')
            .map(|(_, q)| q)
            .unwrap_or("")
            .split('&')
            .filter_map(|pair| pair.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        let query = EventQuery::parse(&params).map_err(|e| anyhow::anyhow!("{e:?}"))?;
        let ((page, _), cost) = self
            .app
            .state
            .events
            .list(None, &query)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        Ok((
            page.iter().map(|e| (e.id, e.inventory_shards)).collect(),
            cost,
        ))
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let backend = match args.backend {
        BenchBackend::Real => Backend::Real,
        BenchBackend::Memory => Backend::Memory,
    };
    let mut catalogs = Vec::new();
    for &tickets in &args.tickets {
        for &size in &args.sizes {
            catalogs.push(Catalog::seed(backend, size, tickets).await?);
        }
    }
    // For 2 s after the catalog moved, listings also re-read its last 5 s of writes (the
    // index lags its table a little); measured past that, as listings between catalog writes run.
    tokio::time::sleep(std::time::Duration::from_millis(2_100)).await;
    for round in 0..args.warmup + args.samples {
        // Each round starts at another catalog, so none is always measured first.
        let start = round % catalogs.len();
        for k in 0..catalogs.len() {
            let n = catalogs.len();
            catalogs[(start + k) % n]
                .round(round >= args.warmup)
                .await?;
        }
    }

    println!(
        "{:>8} | {:>3} | {:>14} | {:>14} | {:>22} | {:>18} | {:>16} | {:>14}",
        "events",
        "K",
        "listing median",
        "search median",
        "items read per listing",
        "projection reload",
        "page counters",
        "search visits"
    );
    let mut rows = Vec::new();
    for catalog in &catalogs {
        let (page, cost) = catalog.cost(LISTING).await?;
        let (_, search_cost) = catalog.cost(SEARCH).await?;
        // The page's counters alone (one BatchGetItem), to tell DynamoDB Local's own growth
        // with the table from the listing's.
        let mut counters_ms = Vec::new();
        for _ in 0..args.samples {
            let started = Instant::now();
            catalog.store.inventories(&page).await?;
            counters_ms.push(started.elapsed().as_secs_f64() * 1000.0);
        }
        let counters = median(counters_ms);
        // The catalog version comes from the cache (a store read only when its 2 s entry lapsed).
        let items = cost.catalog_entries_read + cost.inventory_items_read;
        let (list, found) = (
            median(catalog.list_ms.clone()),
            median(catalog.search_ms.clone()),
        );
        println!(
            "{:>8} | {:>3} | {list:>11.2} ms | {found:>11.2} ms | {items:>4} ({} catalog + {} shards) | {:>12.1} ms | {counters:>13.2} ms | {:>14}",
            catalog.size,
            catalog.shards,
            cost.catalog_entries_read,
            cost.inventory_items_read,
            catalog.reload_ms,
            search_cost.entries_visited
        );
        rows.push((catalog.shards, catalog.size, list, found, items, counters));
    }
    for &tickets in &args.tickets {
        let k = Config::for_tests().shard_rule.shards_for(tickets);
        let of_k: Vec<_> = rows.iter().filter(|r| r.0 == k).collect();
        if let (Some(small), Some(large)) = (of_k.first(), of_k.last()) {
            println!(
                "K = {k}, growth {} → {} events: listing {:.2}×, search {:.2}×, items read {} → {} (the page's counters alone, DynamoDB Local: {:.2}×)",
                small.1,
                large.1,
                large.2 / small.2,
                large.3 / small.3,
                small.4,
                large.4,
                large.5 / small.5
            );
        }
    }
    Ok(())
}
