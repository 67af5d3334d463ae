//! Flash sale on DynamoDB's partition limits (`ticketing_tests::partition_model`, at the real
//! figures: 1,000 write units/s per partition, 2 per transactional write) for one event of
//! T tickets split over K = 1, 4, 16 inventory shards, at the same concurrency, in one run,
//! through the whole router. Careful clients: a 503 is retried with the same key after its
//! `Retry-After`. Prints bookings/s per K and the K = 16 / K = 1 ratio, and checks each sale:
//! exactly T sold, nothing left, no 5xx but 503 with `Retry-After`.

use clap::Parser;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use ticketing::domain::Role;
use ticketing_tests::in_process_provider::InProcessProvider;
use ticketing_tests::partition_model::sale_on_the_model_with;

#[derive(Parser)]
struct Args {
    #[arg(long, default_value_t = 20_000)]
    tickets: u32,
    #[arg(long, value_delimiter = ',', default_value = "1,4,16")]
    shards: Vec<u16>,
    #[arg(long, default_value_t = 256)]
    concurrency: usize,
    /// Tickets per booking.
    #[arg(long, default_value_t = 2)]
    quantity: i64,
    /// Card payments on (an in-process provider): each booking is a checkout's hold.
    #[arg(long)]
    holds: bool,
}

struct Sale {
    bookings_per_sec: f64,
    statuses: BTreeMap<String, u64>,
    throttled: u64,
    conflicts: u64,
}

async fn sale(args: &Args, shards: u16) -> anyhow::Result<Sale> {
    let provider = args.holds.then(|| {
        Arc::new(InProcessProvider::default()) as Arc<dyn ticketing::payments::PaymentProvider>
    });
    let (app, model, _admin, event) = sale_on_the_model_with(args.tickets, shards, provider).await;
    let mut users = Vec::new();
    for _ in 0..args.concurrency {
        users.push(app.quick_user(Role::User).await.0);
    }
    let sold = Arc::new(AtomicU64::new(0));
    let bookings = Arc::new(AtomicU64::new(0));
    let sold_out = Arc::new(AtomicBool::new(false));
    let statuses = Arc::new(Mutex::new(BTreeMap::<String, u64>::new()));
    let started = Instant::now();
    let workers = users.into_iter().map(|user| {
        let (app, event, sold, bookings, sold_out, statuses) = (
            app.clone(),
            event.clone(),
            sold.clone(),
            bookings.clone(),
            sold_out.clone(),
            statuses.clone(),
        );
        let quantity = args.quantity;
        let wanted = if args.holds { "pending" } else { "confirmed" };
        tokio::spawn(async move {
            while !sold_out.load(Ordering::Relaxed) {
                let key = uuid::Uuid::new_v4().to_string();
                loop {
                    let reply = app.book(&user, &key, &event, quantity).await;
                    let label = format!("{} {}", reply.status.as_u16(), reply.code());
                    *statuses.lock().unwrap().entry(label).or_default() += 1;
                    match reply.status.as_u16() {
                        201 if expected_status(&reply.body) == Some(wanted) => {
                            sold.fetch_add(quantity as u64, Ordering::Relaxed);
                            bookings.fetch_add(1, Ordering::Relaxed);
                            break;
                        }
                        503 => {
                            let wait: u64 = reply
                                .header("retry-after")
                                .and_then(|v| v.parse().ok())
                                .ok_or_else(|| anyhow::anyhow!("503 without Retry-After"))?;
                            let jitter = rand_jitter();
                            tokio::time::sleep(Duration::from_millis(wait.min(1) * 1000 + jitter))
                                .await;
                        }
                        409 if reply.code() == "INSUFFICIENT_TICKETS" => {
                            sold_out.store(true, Ordering::Relaxed);
                            break;
                        }
                        _ => anyhow::bail!("unexpected answer {}: {}", reply.status, reply.raw),
                    }
                }
            }
            anyhow::Ok(())
        })
    });
    for worker in futures::future::join_all(workers).await {
        worker??;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let left = app.event(&event).await["availableTickets"].as_u64();
    let sold = sold.load(Ordering::Relaxed);
    anyhow::ensure!(
        sold == u64::from(args.tickets) && left == Some(0),
        "K = {shards}: sold {sold} of {}, {left:?} left",
        args.tickets
    );
    let statuses = std::mem::take(&mut *statuses.lock().unwrap());
    anyhow::ensure!(
        statuses
            .keys()
            .all(|s| s.starts_with("201") || s.starts_with("409") || s.starts_with("503")),
        "K = {shards}: unexpected answers {statuses:?}"
    );
    Ok(Sale {
        bookings_per_sec: bookings.load(Ordering::Relaxed) as f64 / elapsed,
        statuses,
        throttled: model.refusals.throttled.load(Ordering::Relaxed),
        conflicts: model.refusals.conflicts.load(Ordering::Relaxed),
    })
}

fn expected_status(body: &serde_json::Value) -> Option<&str> {
    body["data"]["status"].as_str()
}

/// Up to 250 ms, so a crowd's retries do not arrive together.
fn rand_jitter() -> u64 {
    u64::from(uuid::Uuid::new_v4().as_bytes()[0]) % 250
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let what = if args.holds { "holds" } else { "bookings" };
    println!(
        "one event of {} tickets, {} careful clients making {what} of {} at a time, DynamoDB's partition limits",
        args.tickets, args.concurrency, args.quantity
    );
    let mut rates = Vec::new();
    for &k in &args.shards {
        let sale = sale(&args, k).await?;
        println!(
            "K = {k:>2}: {:>8.1} {what}/s ({:>8.1} tickets/s) | exactly {} sold | model refusals: {} throttled, {} conflicts | {:?}",
            sale.bookings_per_sec,
            sale.bookings_per_sec * args.quantity as f64,
            args.tickets,
            sale.throttled,
            sale.conflicts,
            sale.statuses
        );
        rates.push((k, sale.bookings_per_sec));
    }
    if let (Some(first), Some(last)) = (rates.first(), rates.last()) {
        println!("K = {} / K = {}: {:.1}×", last.0, first.0, last.1 / first.1);
    }
    Ok(())
}
