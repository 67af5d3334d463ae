//! A cold instance's first listing against catalog size, on DynamoDB Local + Redis, side by
//! side in one run. For each catalog (1,000 / 5,000 / 10,000 events by default, a fifth of
//! them deleted, descriptions of 2,000 characters), each figure the median of `--instances`
//! fresh instances:
//! - `first`: a fresh instance's first `GET /api/v1/events?limit=20` (off the catalog-by-date
//!   index while the projection loads);
//! - `par med` / `par max`: 20 parallel first listings of a fresh instance;
//! - `loaded`: how long after its first listing that instance's projection was loaded;
//! - `waits`: a fresh instance's first listing that needs the projection (`sortBy=name`): what
//!   every first listing cost before, side by side.
//!
//! Target: `first` ≤ 300 ms at 10,000 events (2,000 deleted), flat across sizes.

use chrono::{Duration, Utc};
use clap::Parser;
use std::sync::Arc;
use std::time::Instant;
use ticketing::config::Config;
use ticketing::domain::{EventStatus, NewEvent};
use ticketing::ids::UserId;
use ticketing::money::Cents;
use ticketing::store::Store;
use ticketing_tests::{cache_for, store_for, Backend, TestApp};

#[derive(Parser)]
struct Args {
    #[arg(long, value_delimiter = ',', default_value = "1000,5000,10000")]
    sizes: Vec<usize>,
    /// Fresh instances per figure (the median is shown).
    #[arg(long, default_value_t = 3)]
    instances: usize,
}

const LISTING: &str = "/api/v1/events?limit=20";
const NEEDS_PROJECTION: &str = "/api/v1/events?limit=20&sortBy=name";

fn ms(since: Instant) -> f64 {
    since.elapsed().as_secs_f64() * 1000.0
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

async fn seed(size: usize) -> anyhow::Result<Arc<dyn Store>> {
    let store = store_for(Backend::Real).await;
    let rule = Config::for_tests().shard_rule;
    let description: String = "An evening of music, talk and dancing. ".repeat(52)[..2_000].into();
    let events: Vec<_> = (0..size)
        .map(|i| {
            NewEvent {
                name: format!("Event {i}"),
                description: description.clone(),
                venue: format!("Venue {}", i % 40),
                date: Utc::now() + Duration::hours(24 + i as i64),
                price: Cents(1_000 + (i as i64 % 50) * 100),
                total_tickets: 500,
                status: EventStatus::Published,
                max_tickets_per_user: None,
            }
            .into_event(Utc::now(), rule)
        })
        .collect();
    for chunk in events.chunks(32) {
        let writes = chunk.iter().map(|event| {
            let store = store.clone();
            async move { store.create_event(event).await }
        });
        for result in futures::future::join_all(writes).await {
            result?;
        }
    }
    let deleted: Vec<_> = events.iter().step_by(5).collect();
    for chunk in deleted.chunks(32) {
        let deletes = chunk.iter().map(|event| {
            let store = store.clone();
            async move {
                store
                    .delete_event(event.id, UserId::new(), Utc::now())
                    .await
            }
        });
        for result in futures::future::join_all(deletes).await {
            result?;
        }
    }
    Ok(store)
}

async fn fresh(store: &Arc<dyn Store>) -> TestApp {
    TestApp::with_parts(
        Backend::Real,
        Config::for_tests(),
        store.clone(),
        cache_for(Backend::Real).await,
    )
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let mut catalogs = Vec::new();
    for &size in &args.sizes {
        let started = Instant::now();
        catalogs.push((size, seed(size).await?));
        eprintln!(
            "seeded {size} events in {:.0} s",
            started.elapsed().as_secs_f64()
        );
    }
    let mut rows: Vec<[Vec<f64>; 5]> = vec![Default::default(); catalogs.len()];
    // Rounds across the sizes, so the machine's noise and DynamoDB Local's warm-up favour none.
    for _ in 0..args.instances {
        for ((_, store), row) in catalogs.iter().zip(&mut rows) {
            let app = fresh(store).await;
            let started = Instant::now();
            let first = app.call("GET", LISTING, None, None).await;
            anyhow::ensure!(first.status == 200, "listing failed: {}", first.raw);
            row[0].push(ms(started));
            while !app.state.events.projection().is_loaded() {
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
            row[3].push(ms(started));

            let app = fresh(store).await;
            let parallel = (0..20).map(|_| {
                let app = &app;
                async move {
                    let started = Instant::now();
                    let reply = app.call("GET", LISTING, None, None).await;
                    (reply.status, ms(started))
                }
            });
            let times: Vec<f64> = futures::future::join_all(parallel)
                .await
                .into_iter()
                .map(|(status, ms)| {
                    assert_eq!(status, 200);
                    ms
                })
                .collect();
            row[2].push(times.iter().copied().fold(0.0, f64::max));
            row[1].push(median(times));

            let app = fresh(store).await;
            let started = Instant::now();
            let waited = app.call("GET", NEEDS_PROJECTION, None, None).await;
            anyhow::ensure!(waited.status == 200, "listing failed: {}", waited.raw);
            row[4].push(ms(started));
        }
    }
    println!(
        "{:>7} {:>8} {:>10} {:>9} {:>9} {:>10} {:>10}",
        "events", "deleted", "first ms", "par med", "par max", "loaded ms", "waits ms"
    );
    for ((size, _), row) in catalogs.iter().zip(rows) {
        let [first, par_med, par_max, loaded, waits] = row.map(median);
        println!(
            "{:>7} {:>8} {:>10.1} {:>9.1} {:>9.1} {:>10.0} {:>10.0}",
            size,
            size.div_ceil(5),
            first,
            par_med,
            par_max,
            loaded,
            waits
        );
    }
    Ok(())
}
