//! `GET /api/v1/bookings` against a user's history, on DynamoDB Local + Redis through the whole
//! router: a user with few bookings and one with many, measured side by side in the same rounds
//! (alternating, after untimed warm-up rounds): the median first page, the median first page of a
//! `status` filter that matches a small share of the history. Target: many / few ≤ 1.5×.

use clap::Parser;
use serde_json::json;
use std::sync::Arc;
use std::time::Instant;
use ticketing::domain::Role;
use ticketing_tests::{Backend, TestApp};

#[derive(Parser)]
struct Args {
    /// Bookings of the light user and of the heavy one.
    #[arg(long, value_delimiter = ',', default_value = "10,2000")]
    histories: Vec<usize>,
    /// Of each user's bookings, how many are cancelled (the filtered listing's matches).
    #[arg(long, default_value_t = 5)]
    cancelled: usize,
    #[arg(long, default_value_t = 60)]
    samples: usize,
    #[arg(long, default_value_t = 20)]
    warmup: usize,
}

const FIRST_PAGE: &str = "/api/v1/bookings?limit=20";
const CANCELLED_PAGE: &str = "/api/v1/bookings?limit=20&status=cancelled";

struct Buyer {
    history: usize,
    token: String,
    page_ms: Vec<f64>,
    filtered_ms: Vec<f64>,
}

fn median(mut ms: Vec<f64>) -> f64 {
    ms.sort_by(f64::total_cmp);
    ms[ms.len() / 2]
}

async fn seed(
    app: &Arc<TestApp>,
    event: &str,
    history: usize,
    cancelled: usize,
) -> anyhow::Result<Buyer> {
    let (token, _) = app.quick_user(Role::User).await;
    let mut ids = Vec::with_capacity(history);
    for chunk in (0..history).collect::<Vec<_>>().chunks(8) {
        let replies = futures::future::join_all(chunk.iter().map(|_| {
            let key = uuid::Uuid::new_v4().to_string();
            let (app, token, event) = (app.clone(), token.clone(), event.to_owned());
            async move { app.book_carefully(&token, &key, &event, 1).await }
        }))
        .await;
        for reply in replies {
            anyhow::ensure!(reply.status == 201, "seeding: {}", reply.raw);
            ids.push(
                reply.body["data"]["id"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            );
        }
    }
    for id in ids.iter().take(cancelled) {
        let reply = app
            .call(
                "PATCH",
                &format!("/api/v1/bookings/{id}/cancel"),
                Some(&token),
                None,
            )
            .await;
        anyhow::ensure!(reply.status == 200, "cancel: {}", reply.raw);
    }
    Ok(Buyer {
        history,
        token,
        page_ms: Vec::new(),
        filtered_ms: Vec::new(),
    })
}

/// One listing's time, after checking it is the page it should be.
async fn timed(app: &TestApp, token: &str, uri: &str, total: usize) -> anyhow::Result<f64> {
    let started = Instant::now();
    let reply = app.call("GET", uri, Some(token), None).await;
    let ms = started.elapsed().as_secs_f64() * 1e3;
    anyhow::ensure!(reply.status == 200, "{uri}: {}", reply.raw);
    anyhow::ensure!(
        reply.body["meta"]["total"] == json!(total),
        "{uri}: total {} ≠ {total}",
        reply.body["meta"]["total"]
    );
    Ok(ms)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let app = Arc::new(TestApp::new(Backend::Real).await);
    let admin = app.admin_token().await;
    let event = app
        .create_event(&admin, json!({ "totalTickets": 1_000_000, "price": 0 }))
        .await;
    let mut buyers = Vec::new();
    for &history in &args.histories {
        let started = Instant::now();
        buyers.push(seed(&app, &event, history, args.cancelled.min(history)).await?);
        eprintln!(
            "seeded a user with {history} bookings in {:.1} s",
            started.elapsed().as_secs_f64()
        );
    }
    for round in 0..args.warmup + args.samples {
        // Each round starts at another user, so neither is always measured first.
        for i in 0..buyers.len() {
            let buyer = &mut buyers[(round + i) % args.histories.len()];
            let cancelled = args.cancelled.min(buyer.history);
            let page = timed(&app, &buyer.token, FIRST_PAGE, buyer.history).await?;
            let filtered = timed(&app, &buyer.token, CANCELLED_PAGE, cancelled).await?;
            if round >= args.warmup {
                buyer.page_ms.push(page);
                buyer.filtered_ms.push(filtered);
            }
        }
    }
    println!(
        "{:>9} {:>14} {:>22}   (median of {} rounds, side by side)",
        "bookings", "first page ms", "status=cancelled ms", args.samples
    );
    let mut firsts = Vec::new();
    for buyer in buyers {
        let (page, filtered) = (median(buyer.page_ms), median(buyer.filtered_ms));
        println!("{:>9} {page:>14.2} {filtered:>22.2}", buyer.history);
        firsts.push((page, filtered));
    }
    if let (Some(few), Some(many)) = (firsts.first(), firsts.last()) {
        println!(
            "many / few: first page {:.2}×, status filter {:.2}×",
            many.0 / few.0,
            many.1 / few.1
        );
    }
    Ok(())
}
