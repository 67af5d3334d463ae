//! Listing cost against catalog size, on DynamoDB Local + Redis, through the whole router
//! (every layer but the socket): the catalog grows to each size in turn and, at each, the
//! median `GET /api/v1/events?limit=20` and a search are timed right after a booking, with the
//! DynamoDB items one such listing reads. Target: 100 → 10,000 events costs ≤ 1.5× and the items
//! read do not grow with the catalog.

use chrono::{Duration, Utc};
use clap::Parser;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;
use ticketing::config::Config;
use ticketing::domain::{EventQuery, EventStatus, NewEvent, Role};
use ticketing::money::Cents;
use ticketing_tests::{cache_for, store_for, Backend, TestApp};

#[derive(Parser)]
struct Args {
    /// Catalog sizes, measured in this order in one run.
    #[arg(long, value_delimiter = ',', default_value = "100,1000,10000")]
    sizes: Vec<usize>,
    /// Timed listings (each right after a booking) per size.
    #[arg(long, default_value_t = 40)]
    samples: usize,
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

fn new_event(i: usize, hours_ahead: i64) -> NewEvent {
    NewEvent {
        name: format!("Event {i}"),
        description: format!("Evening number {i}"),
        venue: VENUES[i % VENUES.len()].to_owned(),
        date: Utc::now() + Duration::hours(hours_ahead),
        price: Cents(1_000 + (i as i64 % 50) * 100),
        total_tickets: 500,
        status: EventStatus::Published,
    }
}

fn median(mut ms: Vec<f64>) -> f64 {
    ms.sort_by(f64::total_cmp);
    ms[ms.len() / 2]
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let backend = match args.backend {
        BenchBackend::Real => Backend::Real,
        BenchBackend::Memory => Backend::Memory,
    };
    let store = store_for(backend).await;
    let config = Config::for_tests();
    let rule = config.shard_rule;
    let app = Arc::new(TestApp::with_parts(
        backend,
        config,
        store.clone(),
        cache_for(backend).await,
    ));
    let admin = app.admin_token().await;
    let (buyer, _) = app.quick_user(Role::User).await;
    // The soonest event: always first on the date-sorted page, so each booking changes it.
    let hot = app
        .create_event(
            &admin,
            serde_json::json!({ "totalTickets": 100_000, "date": (Utc::now() + Duration::minutes(30)).to_rfc3339() }),
        )
        .await;
    let listing = "/api/v1/events?limit=20";
    let search = "/api/v1/events?limit=20&search=hall&sortBy=price";
    let mut catalog = 1;
    let mut rows = Vec::new();
    println!(
        "{:>8} | {:>14} | {:>14} | {:>22} | {:>18} | {:>16}",
        "events",
        "listing median",
        "search median",
        "items read per listing",
        "projection reload",
        "page counters"
    );
    for &size in &args.sizes {
        // Grow the catalog straight through the store, 32 writes at a time.
        let missing: Vec<usize> = (catalog..size).collect();
        for chunk in missing.chunks(32) {
            let writes = chunk.iter().map(|&i| {
                let event = new_event(i, 24 + i as i64).into_event(Utc::now(), rule);
                let store = store.clone();
                async move { ticketing::store::EventStore::create_event(&*store, &event).await }
            });
            for result in futures::future::join_all(writes).await {
                result?;
            }
        }
        catalog = catalog.max(size);
        // Seeded past the service, so drop the cached catalog version as a catalog write does.
        app.state
            .cache
            .delete(ticketing::cache::keys::CATALOG_VERSION)
            .await?;
        // The first listing after the catalog changed reads what changed (here: everything
        // seeded since the last size); timed apart, as it happens once per catalog change.
        let reload = Instant::now();
        let first = app.call("GET", listing, None, None).await;
        anyhow::ensure!(first.status == 200, "listing failed: {}", first.raw);
        let reload_ms = reload.elapsed().as_secs_f64() * 1000.0;
        app.call("GET", search, None, None).await;
        // For 2 s after the catalog moved, listings also re-read its last 5 s of writes (the
        // index lags its table a little); measured past that, as listings between catalog
        // writes run.
        tokio::time::sleep(std::time::Duration::from_millis(2_100)).await;

        let mut list_ms = Vec::new();
        let mut search_ms = Vec::new();
        for _ in 0..args.samples {
            let booked = app
                .book(&buyer, &uuid::Uuid::new_v4().to_string(), &hot, 1)
                .await;
            anyhow::ensure!(booked.status == 201, "booking failed: {}", booked.raw);
            let started = Instant::now();
            let page = app.call("GET", listing, None, None).await;
            list_ms.push(started.elapsed().as_secs_f64() * 1000.0);
            anyhow::ensure!(
                page.body["data"][0]["id"] == hot.as_str(),
                "the hot event leads the page: {}",
                page.raw
            );
            let started = Instant::now();
            let found = app.call("GET", search, None, None).await;
            search_ms.push(started.elapsed().as_secs_f64() * 1000.0);
            anyhow::ensure!(found.status == 200, "search failed: {}", found.raw);
        }
        // What one such listing reads from DynamoDB, asked of the service itself.
        let query = EventQuery::parse(&HashMap::from([("limit".into(), "20".into())]))
            .map_err(|e| anyhow::anyhow!("{e:?}"))?;
        let ((page, _), cost) = app
            .state
            .events
            .list(None, &query)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        // The page's counters alone (one BatchGetItem), to tell DynamoDB Local's own growth
        // with the table from the listing's.
        let shards: Vec<_> = page.iter().map(|e| (e.id, e.inventory_shards)).collect();
        let mut counters_ms = Vec::new();
        for _ in 0..args.samples {
            let started = Instant::now();
            ticketing::store::EventStore::inventories(&*store, &shards).await?;
            counters_ms.push(started.elapsed().as_secs_f64() * 1000.0);
        }
        let counters = median(counters_ms);
        // The catalog version comes from the cache (a store read only when its 2 s entry lapsed).
        let items = cost.catalog_entries_read + cost.inventory_items_read;
        let (list, found) = (median(list_ms), median(search_ms));
        println!(
            "{size:>8} | {list:>11.2} ms | {found:>11.2} ms | {items:>4} ({} catalog + {} shards) | {reload_ms:>12.1} ms | {counters:>13.2} ms",
            cost.catalog_entries_read, cost.inventory_items_read
        );
        rows.push((size, list, found, items, counters));
    }
    if let (Some(small), Some(large)) = (rows.first(), rows.last()) {
        println!(
            "growth {} → {} events: listing {:.2}×, search {:.2}×, items read {} → {} (the page's counters alone, DynamoDB Local: {:.2}×)",
            small.0,
            large.0,
            large.1 / small.1,
            large.2 / small.2,
            small.3,
            large.3,
            large.4 / small.4
        );
    }
    Ok(())
}
