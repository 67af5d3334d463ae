//! The checkout's cost, on DynamoDB Local + Redis + localstripe, side by side in one run:
//!
//! 1. Throughput on one event: today's instant booking (payments off) against hold → pay →
//!    confirm (payments on), at the same concurrency: once with an in-process provider whose
//!    calls take a fixed round trip and overlap freely (as Stripe's do), once through
//!    localstripe (the buyer's card calls included, as Stripe.js makes them; localstripe is one
//!    Python process that answers one call at a time, so it caps this figure), plus the
//!    server's part of the latter alone. Each run is checked: every booking confirmed, every
//!    paid one captured, and the event's count adds up.
//! 2. The sweep: H holds that lapse together, released by the same loop `ticketing-local` runs
//!    (batches of 50, a 1 s pause when a batch comes back short). Prints the holds released per
//!    second and the delay from each hold's `expiresAt` to its release (p50, p99); the release
//!    order is the index's (by expiry), so the k-th release is matched to the k-th expiry.

use clap::Parser;
use serde_json::Value;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use ticketing::config::Config;
use ticketing::domain::Role;
use ticketing_tests::in_process_provider::InProcessProvider;
use ticketing_tests::stripe::{self, CARD_OK};
use ticketing_tests::{Backend, TestApp};

#[derive(Parser)]
struct Args {
    /// Bookings per throughput run.
    #[arg(long, default_value_t = 400)]
    bookings: usize,
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// Each call's round trip to the in-process provider (calls overlap, as Stripe's do).
    #[arg(long, default_value_t = 50)]
    provider_latency_ms: u64,
    /// Holds that lapse together in the sweep run.
    #[arg(long, default_value_t = 300)]
    holds: usize,
}

/// A published event on `app` with enough tickets for `bookings` single-ticket bookings.
async fn event_for(app: &TestApp, tickets: usize) -> String {
    let admin = app.admin_token().await;
    app.create_event(
        &admin,
        serde_json::json!({ "totalTickets": tickets, "price": 12.5, "status": "published" }),
    )
    .await
}

/// Who authorises the buyers' cards: localstripe (as Stripe.js would), or the in-process
/// provider the app was built with.
#[derive(Clone)]
enum Payer {
    Localstripe,
    InProcess(Arc<InProcessProvider>),
}

impl Payer {
    async fn pay(&self, intent: &str) -> anyhow::Result<()> {
        match self {
            Payer::Localstripe => stripe::pay(intent, CARD_OK)
                .await
                .map(drop)
                .map_err(|e| anyhow::anyhow!("pay: {e}")),
            Payer::InProcess(provider) => {
                provider.authorise(intent);
                Ok(())
            }
        }
    }
}

/// An app on DynamoDB Local + Redis whose payments go through `provider`.
async fn app_with(provider: Arc<InProcessProvider>) -> Arc<TestApp> {
    let config = stripe::checkout_config(600);
    let state = ticketing::AppState::with_provider(
        config,
        ticketing_tests::store_for(Backend::Real).await,
        ticketing_tests::cache_for(Backend::Real).await,
        Some(provider),
    );
    Arc::new(TestApp::with_state(Backend::Real, state))
}

/// `bookings` bookings of one ticket by `concurrency` clients, each paid by `payer` when it is
/// a hold; bookings per second.
async fn throughput(app: Arc<TestApp>, args: &Args, payer: Option<Payer>) -> anyhow::Result<f64> {
    let checkout = payer.is_some();
    let event = event_for(&app, args.bookings).await;
    let next = Arc::new(AtomicUsize::new(0));
    let mut users = Vec::new();
    for _ in 0..args.concurrency {
        users.push(app.quick_user(Role::User).await.0);
    }
    let started = Instant::now();
    let workers = users.into_iter().map(|user| {
        let (app, event, next, total) = (app.clone(), event.clone(), next.clone(), args.bookings);
        let payer = payer.clone();
        tokio::spawn(async move {
            while next.fetch_add(1, Ordering::Relaxed) < total {
                let key = uuid::Uuid::new_v4().to_string();
                let reply = app.book_carefully(&user, &key, &event, 1).await;
                anyhow::ensure!(reply.status.as_u16() == 201, "booking: {}", reply.raw);
                let booking = &reply.body["data"];
                if !checkout {
                    anyhow::ensure!(booking["status"] == "confirmed", "{}", reply.raw);
                    continue;
                }
                let intent = booking["payment"]["intentId"].as_str().unwrap_or_default();
                if let Some(payer) = &payer {
                    payer.pay(intent).await?;
                }
                let id = booking["id"].as_str().unwrap_or_default();
                let uri = format!("/api/v1/bookings/{id}/confirm");
                let confirmed = app.call_carefully("POST", &uri, Some(&user)).await;
                let settled = &confirmed.body["data"];
                anyhow::ensure!(
                    confirmed.status.as_u16() == 200
                        && settled["status"] == "confirmed"
                        && settled["payment"]["status"] == "captured",
                    "confirm: {}",
                    confirmed.raw
                );
            }
            anyhow::Ok(())
        })
    });
    for worker in futures::future::join_all(workers).await {
        worker??;
    }
    let rate = args.bookings as f64 / started.elapsed().as_secs_f64();
    let left = app.event(&event).await["availableTickets"].as_u64();
    anyhow::ensure!(
        left == Some(0),
        "{left:?} tickets left of {}",
        args.bookings
    );
    Ok(rate)
}

/// The server's part alone: `bookings` holds (timed), the cards paid (not timed: that is the
/// buyer and Stripe), then every confirm (timed), each step by `concurrency` clients at once.
/// (holds/s, confirms/s, bookings per second of server time).
async fn server_part(app: Arc<TestApp>, args: &Args) -> anyhow::Result<(f64, f64, f64)> {
    use futures::StreamExt;
    let event = event_for(&app, args.bookings).await;
    let (user, _) = app.quick_user(Role::User).await;
    let started = Instant::now();
    let held: Vec<Value> = futures::stream::iter(0..args.bookings)
        .map(|_| {
            let (app, user, event) = (app.clone(), user.clone(), event.clone());
            async move {
                let key = uuid::Uuid::new_v4().to_string();
                app.book_carefully(&user, &key, &event, 1).await
            }
        })
        .buffer_unordered(args.concurrency)
        .map(|reply| match reply.body["data"]["status"] == "pending" {
            true => Ok(reply.body["data"].clone()),
            false => Err(anyhow::anyhow!("hold: {}", reply.raw)),
        })
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<anyhow::Result<_>>()?;
    let holding = started.elapsed();
    let paid = futures::stream::iter(&held)
        .map(|booking| {
            stripe::pay(
                booking["payment"]["intentId"].as_str().unwrap_or_default(),
                CARD_OK,
            )
        })
        .buffer_unordered(args.concurrency)
        .collect::<Vec<_>>()
        .await;
    for result in paid {
        result.map_err(|e| anyhow::anyhow!("pay: {e}"))?;
    }
    let started = Instant::now();
    let confirmed = futures::stream::iter(&held)
        .map(|booking| {
            let (app, user) = (app.clone(), user.clone());
            async move {
                let id = booking["id"].as_str().unwrap_or_default();
                let uri = format!("/api/v1/bookings/{id}/confirm");
                app.call_carefully("POST", &uri, Some(&user)).await
            }
        })
        .buffer_unordered(args.concurrency)
        .collect::<Vec<_>>()
        .await;
    let confirming = started.elapsed();
    for reply in confirmed {
        anyhow::ensure!(
            reply.body["data"]["payment"]["status"] == "captured",
            "confirm: {}",
            reply.raw
        );
    }
    let n = args.bookings as f64;
    Ok((
        n / holding.as_secs_f64(),
        n / confirming.as_secs_f64(),
        n / (holding + confirming).as_secs_f64(),
    ))
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// H holds lapse; the local server's sweep loop releases them. (holds/s, p50 s, p99 s).
async fn sweep(args: &Args) -> anyhow::Result<(f64, f64, f64)> {
    const HOLD_SECONDS: u64 = 5;
    const BATCH: usize = 50;
    let app =
        Arc::new(TestApp::with_config(Backend::Real, stripe::checkout_config(HOLD_SECONDS)).await);
    let event = event_for(&app, args.holds).await;
    let (user, _) = app.quick_user(Role::User).await;
    let mut expiries = Vec::new();
    for chunk in (0..args.holds).collect::<Vec<_>>().chunks(args.concurrency) {
        let holds = chunk.iter().map(|_| {
            let (app, user, event) = (app.clone(), user.clone(), event.clone());
            async move {
                let key = uuid::Uuid::new_v4().to_string();
                app.book_carefully(&user, &key, &event, 1).await
            }
        });
        for reply in futures::future::join_all(holds).await {
            anyhow::ensure!(reply.status.as_u16() == 201, "hold: {}", reply.raw);
            let at = expires_at(&reply.body["data"])?;
            expiries.push(at);
        }
    }
    expiries.sort_by(f64::total_cmp);
    let checkout = app
        .state
        .bookings
        .checkout()
        .cloned()
        .ok_or_else(|| anyhow::anyhow!("payments are off"))?;
    let mut released_at = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(HOLD_SECONDS + 120);
    while released_at.len() < args.holds {
        anyhow::ensure!(
            Instant::now() < deadline,
            "the sweep did not finish in time"
        );
        let released = checkout.sweep(BATCH).await?;
        let now = unix_now();
        released_at.extend(std::iter::repeat_n(now, released));
        if released < BATCH {
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }
    anyhow::ensure!(
        released_at.len() == args.holds,
        "released {} of {} holds",
        released_at.len(),
        args.holds
    );
    let left = app.event(&event).await["availableTickets"].as_u64();
    anyhow::ensure!(
        left == Some(args.holds as u64),
        "{left:?} back of {}",
        args.holds
    );
    let mut delays: Vec<f64> = released_at
        .iter()
        .zip(&expiries)
        .map(|(released, due)| (released - due).max(0.0))
        .collect();
    delays.sort_by(f64::total_cmp);
    // From the first lapse to the last release: how fast a backlog of lapsed holds drains,
    // the sweep's pauses included.
    let first = expiries.first().copied().unwrap_or_default();
    let last = released_at.last().copied().unwrap_or_default();
    let rate = args.holds as f64 / (last - first).max(0.001);
    Ok((rate, percentile(&delays, 0.5), percentile(&delays, 0.99)))
}

fn expires_at(booking: &Value) -> anyhow::Result<f64> {
    let text = booking["expiresAt"]
        .as_str()
        .ok_or_else(|| anyhow::anyhow!("a hold without expiresAt: {booking}"))?;
    let at = chrono::DateTime::parse_from_rfc3339(text)?;
    Ok(at.timestamp_millis() as f64 / 1000.0)
}

fn unix_now() -> f64 {
    chrono::Utc::now().timestamp_millis() as f64 / 1000.0
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    println!(
        "DynamoDB Local + Redis + localstripe; {} single-ticket bookings of one event by {} clients",
        args.bookings, args.concurrency
    );
    let instant = Arc::new(TestApp::with_config(Backend::Real, Config::for_tests()).await);
    let instant = throughput(instant, &args, None).await?;
    let provider = Arc::new(InProcessProvider::with_latency(Duration::from_millis(
        args.provider_latency_ms,
    )));
    let modelled = throughput(
        app_with(provider.clone()).await,
        &args,
        Some(Payer::InProcess(provider)),
    )
    .await?;
    let paid_app =
        Arc::new(TestApp::with_config(Backend::Real, stripe::checkout_config(600)).await);
    let paid = throughput(paid_app.clone(), &args, Some(Payer::Localstripe)).await?;
    let (holds, confirms, server) = server_part(paid_app, &args).await?;
    println!("instant booking (payments off):          {instant:>7.1} bookings/s");
    println!(
        "hold → pay → confirm, provider {} ms/call: {modelled:>7.1} bookings/s ({:.2}× instant)",
        args.provider_latency_ms,
        modelled / instant
    );
    println!(
        "hold → pay → confirm through localstripe: {paid:>7.1} bookings/s ({:.2}× instant; the buyer's 3 card calls included)",
        paid / instant
    );
    println!(
        "  of which the server's part:             {server:>7.1} bookings/s (holds {holds:.1}/s, confirms {confirms:.1}/s)"
    );
    println!("every booking confirmed, every paid one captured, every event's count adds up");
    let (rate, p50, p99) = sweep(&args).await?;
    println!(
        "sweep: {} lapsed holds released at {rate:.1} holds/s; expiresAt → release p50 {p50:.2} s, p99 {p99:.2} s",
        args.holds
    );
    Ok(())
}
