//! Check-ins against bookings on DynamoDB's partition limits (`ticketing_tests::partition_model`,
//! 1,000 write units/s per partition, 2 per transactional write), for one event of T tickets on
//! K = 1 and K = 16 inventory shards, through the whole router, careful clients (a 503 is
//! retried after its `Retry-After`). Per K: the booking rate while the event sells out, then
//! every ticket's code scanned by C scanners at once (check-ins/s), then every code again
//! (each must be refused: a second 201 for any ticket fails the run, a double admission).

use clap::Parser;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use ticketing::domain::Role;
use ticketing_tests::partition_model::sale_on_the_model;
use ticketing_tests::Reply;

#[derive(Parser)]
struct Args {
    #[arg(long, default_value_t = 8_000)]
    tickets: u32,
    #[arg(long, value_delimiter = ',', default_value = "1,16")]
    shards: Vec<u16>,
    #[arg(long, default_value_t = 256)]
    concurrency: usize,
    /// Tickets per booking.
    #[arg(long, default_value_t = 2)]
    quantity: i64,
}

/// Sends `send` until the answer is definitive, waiting out each 503's `Retry-After` (with
/// jitter, so a crowd's retries spread).
async fn carefully<F, Fut>(mut send: F) -> anyhow::Result<Reply>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Reply>,
{
    loop {
        let reply = send().await;
        if reply.status != 503 {
            return Ok(reply);
        }
        let wait: u64 = reply
            .header("retry-after")
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| anyhow::anyhow!("503 without Retry-After"))?;
        let jitter = u64::from(uuid::Uuid::new_v4().as_bytes()[0]) % 250;
        tokio::time::sleep(Duration::from_millis(wait.min(1) * 1000 + jitter)).await;
    }
}

struct Run {
    bookings: usize,
    stats_items_read: u64,
    bookings_per_sec: f64,
    check_ins_per_sec: f64,
    refusals_per_sec: f64,
    admitted: u64,
    refused_again: u64,
}

async fn run(args: &Args, shards: u16) -> anyhow::Result<Run> {
    let (app, model, admin, event) = sale_on_the_model(args.tickets, shards).await;
    let bookings = usize::try_from(u64::from(args.tickets) / args.quantity as u64)?;
    let mut users = Vec::new();
    for _ in 0..args.concurrency {
        users.push(app.quick_user(Role::User).await.0);
    }
    // Sell out: the codes come back in the 201s.
    let codes = Arc::new(Mutex::new(Vec::new()));
    let next = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let sellers = users.into_iter().map(|user| {
        let (app, event, codes, next) = (app.clone(), event.clone(), codes.clone(), next.clone());
        let quantity = args.quantity;
        tokio::spawn(async move {
            while next.fetch_add(1, Ordering::Relaxed) < bookings as u64 {
                let key = uuid::Uuid::new_v4().to_string();
                let reply = carefully(|| app.book(&user, &key, &event, quantity)).await?;
                anyhow::ensure!(reply.status == 201, "booking: {}", reply.raw);
                let mut codes = codes.lock().unwrap();
                for ticket in reply.body["data"]["tickets"]
                    .as_array()
                    .into_iter()
                    .flatten()
                {
                    codes.push(ticket["code"].as_str().unwrap_or_default().to_owned());
                }
            }
            anyhow::Ok(())
        })
    });
    for seller in futures::future::join_all(sellers).await {
        seller??;
    }
    let bookings_per_sec = bookings as f64 / started.elapsed().as_secs_f64();
    let codes = Arc::new(std::mem::take(&mut *codes.lock().unwrap()));
    anyhow::ensure!(codes.len() as u32 == args.tickets, "{} codes", codes.len());

    // Every code by C scanners at once, then every code again: the first pass admits each
    // ticket, the second refuses each.
    let mut passes = Vec::new();
    for expected in [201u16, 409] {
        let answered = Arc::new(AtomicU64::new(0));
        let next = Arc::new(AtomicU64::new(0));
        let started = Instant::now();
        let scanners = (0..args.concurrency).map(|_| {
            let (app, admin, event, codes) =
                (app.clone(), admin.clone(), event.clone(), codes.clone());
            let (answered, next) = (answered.clone(), next.clone());
            tokio::spawn(async move {
                while let Some(code) = codes.get(next.fetch_add(1, Ordering::Relaxed) as usize) {
                    let body = serde_json::json!({ "code": code });
                    let uri = format!("/api/v1/events/{event}/check-ins");
                    let reply =
                        carefully(|| app.call("POST", &uri, Some(&admin), Some(body.clone())))
                            .await?;
                    let fine = match expected {
                        201 => reply.status == 201,
                        _ => reply.status == 409 && reply.code() == "ALREADY_CHECKED_IN",
                    };
                    anyhow::ensure!(fine, "pass {expected}: {}", reply.raw);
                    answered.fetch_add(1, Ordering::Relaxed);
                }
                anyhow::Ok(())
            })
        });
        for scanner in futures::future::join_all(scanners).await {
            scanner??;
        }
        let answered = answered.load(Ordering::Relaxed);
        anyhow::ensure!(
            answered == u64::from(args.tickets),
            "pass {expected}: {answered}"
        );
        passes.push((answered, answered as f64 / started.elapsed().as_secs_f64()));
    }
    let ((admitted, check_ins_per_sec), (refused_again, refusals_per_sec)) = (passes[0], passes[1]);
    // The figures after all of it: what one read of them costs.
    let before = model.figure_items_read.load(Ordering::Relaxed);
    let stats = app
        .call(
            "GET",
            &format!("/api/v1/events/{event}/stats"),
            Some(&admin),
            None,
        )
        .await;
    anyhow::ensure!(
        stats.body["data"]["ticketsCheckedIn"] == u64::from(args.tickets)
            && stats.body["data"]["ticketsSold"] == u64::from(args.tickets),
        "figures: {}",
        stats.raw
    );
    let stats_items_read = model.figure_items_read.load(Ordering::Relaxed) - before;
    Ok(Run {
        bookings,
        stats_items_read,
        bookings_per_sec,
        check_ins_per_sec,
        refusals_per_sec,
        admitted,
        refused_again,
    })
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    println!(
        "one event of {} tickets ({} a booking), {} careful clients, DynamoDB's partition limits",
        args.tickets, args.quantity, args.concurrency
    );
    for &k in &args.shards {
        let run = run(&args, k).await?;
        println!(
            "K = {k:>2}: {:>8.1} bookings/s | {:>8.1} check-ins/s ({:.2}× the booking rate) | second scans {:>8.1}/s | {} admitted once, {} second scans refused, 0 double admissions",
            run.bookings_per_sec,
            run.check_ins_per_sec,
            run.check_ins_per_sec / run.bookings_per_sec,
            run.refusals_per_sec,
            run.admitted,
            run.refused_again
        );
        println!(
            "        figures after {} bookings and {} check-ins: {} items read",
            run.bookings, run.admitted, run.stats_items_read
        );
    }
    Ok(())
}
