//! Flash sale: against a running `ticketing-local` (on DynamoDB Local + Redis), registers users,
//! creates an event of T tickets and fires C concurrent bookings until it is sold out; then, in
//! the same run, the bare limit: the same booking transactions issued straight to DynamoDB with
//! aws-sdk-dynamodb at the same concurrency. Prints throughput, latency percentiles, answer
//! counts, the invariant checks and the full-stack / bare ratio.

use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem, Update};
use clap::Parser;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use ticketing::store::{dynamo::build_client, table};

#[derive(Parser, Clone)]
struct Args {
    #[arg(long, default_value = "http://127.0.0.1:3000")]
    base_url: String,
    #[arg(long, default_value = "admin@example.com")]
    admin_email: String,
    #[arg(long, default_value = "DemoAdmin123")]
    admin_password: String,
    #[arg(long, default_value_t = 64)]
    users: usize,
    #[arg(long, default_value_t = 2000)]
    tickets: u64,
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// Tickets of an unmeasured bare sale first, so DynamoDB Local's JIT is warm for both runs.
    #[arg(long, default_value_t = 1000)]
    warmup_tickets: u64,
    /// Measured pairs (bare + full stack each); the order alternates from pair to pair
    /// (bare first, then full first, ...) so whatever warms up during a run favours neither, and
    /// the ratio reported is the median of the pairs' ratios.
    #[arg(long, default_value_t = 4)]
    pairs: usize,
}

#[derive(Default)]
struct Tally {
    latencies_ms: Vec<f64>,
    statuses: BTreeMap<String, u64>,
    tickets: Vec<String>,
    sold: u64,
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn report(name: &str, tally: &Tally, elapsed: Duration) -> f64 {
    let mut lat = tally.latencies_ms.clone();
    lat.sort_by(|a, b| a.total_cmp(b));
    let rate = tally.sold as f64 / elapsed.as_secs_f64();
    println!(
        "{name:<10} sold {:>5} in {:>6.2} s = {:>7.1} bookings/s | p50 {:>6.1} ms  p95 {:>6.1} ms  p99 {:>6.1} ms | {:?}",
        tally.sold,
        elapsed.as_secs_f64(),
        rate,
        percentile(&lat, 0.50),
        percentile(&lat, 0.95),
        percentile(&lat, 0.99),
        tally.statuses
    );
    rate
}

async fn full_stack(args: &Args) -> anyhow::Result<(f64, u64)> {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(args.concurrency)
        .build()?;
    let url = |path: &str| format!("{}{path}", args.base_url);
    let login: Value = http
        .post(url("/api/v1/auth/login"))
        .json(&json!({ "email": args.admin_email, "password": args.admin_password }))
        .send()
        .await?
        .json()
        .await?;
    let admin = login["data"]["accessToken"]
        .as_str()
        .ok_or_else(|| anyhow::anyhow!("admin login failed: {login}"))?
        .to_owned();
    let event: Value = http
        .post(url("/api/v1/events"))
        .bearer_auth(&admin)
        .json(&json!({ "name": "Flash sale", "venue": "Arena", "date": (chrono::Utc::now() + chrono::Duration::days(7)).to_rfc3339(), "price": 10, "totalTickets": args.tickets }))
        .send()
        .await?
        .json()
        .await?;
    let event_id = event["data"]["id"]
        .as_str()
        .ok_or_else(|| anyhow::anyhow!("event creation failed: {event}"))?
        .to_owned();

    let run = ulid::Ulid::new().to_string().to_lowercase();
    let registrations = (0..args.users).map(|i| {
        let http = http.clone();
        let url = url("/api/v1/auth/register");
        let email = format!("fan{i}-{run}@example.com");
        async move {
            let body: Value = http
                .post(url)
                .json(&json!({ "email": email, "password": "FlashSale123", "name": "Fan" }))
                .send()
                .await?
                .json()
                .await?;
            body["data"]["accessToken"]
                .as_str()
                .map(str::to_owned)
                .ok_or_else(|| anyhow::anyhow!("register failed: {body}"))
        }
    });
    let tokens: Vec<String> = futures::future::try_join_all(registrations).await?;
    println!(
        "full stack: {} users registered, event {event_id} with {} tickets, {} workers",
        tokens.len(),
        args.tickets,
        args.concurrency
    );

    let tally = Arc::new(Mutex::new(Tally::default()));
    let sold_out = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let workers = (0..args.concurrency).map(|w| {
        let (http, tally, sold_out, token) = (
            http.clone(),
            tally.clone(),
            sold_out.clone(),
            tokens[w % tokens.len()].clone(),
        );
        let (url, event_id) = (url("/api/v1/bookings"), event_id.clone());
        tokio::spawn(async move {
            while !sold_out.load(Ordering::Relaxed) {
                let sent = Instant::now();
                let response = http
                    .post(&url)
                    .bearer_auth(&token)
                    .header("idempotency-key", uuid::Uuid::new_v4().to_string())
                    .json(&json!({ "eventId": event_id, "quantity": 1 }))
                    .send()
                    .await;
                let ms = sent.elapsed().as_secs_f64() * 1000.0;
                let (status, body) = match response {
                    Ok(r) => (
                        r.status().as_u16(),
                        r.json::<Value>().await.unwrap_or(Value::Null),
                    ),
                    Err(_) => (0, Value::Null),
                };
                let code = body["code"].as_str().unwrap_or("");
                let mut t = tally.lock().unwrap();
                t.latencies_ms.push(ms);
                *t.statuses
                    .entry(format!(
                        "{status}{}{code}",
                        if code.is_empty() { "" } else { " " }
                    ))
                    .or_default() += 1;
                if status == 201 {
                    t.sold += body["data"]["quantity"].as_u64().unwrap_or(0);
                    for n in body["data"]["ticketNumbers"]
                        .as_array()
                        .into_iter()
                        .flatten()
                    {
                        t.tickets.push(n.as_str().unwrap_or("").to_owned());
                    }
                }
                if code == "INSUFFICIENT_TICKETS" {
                    sold_out.store(true, Ordering::Relaxed);
                }
            }
        })
    });
    futures::future::join_all(workers).await;
    let elapsed = started.elapsed();
    let tally = std::mem::take(&mut *tally.lock().unwrap());
    let rate = report("full stack", &tally, elapsed);

    let event: Value = http
        .get(url(&format!("/api/v1/events/{event_id}")))
        .send()
        .await?
        .json()
        .await?;
    let available = event["data"]["availableTickets"]
        .as_u64()
        .unwrap_or(u64::MAX);
    let unique: HashSet<_> = tally.tickets.iter().collect();
    let errors_500 = tally
        .statuses
        .iter()
        .filter(|(k, _)| k.starts_with('5') && !k.starts_with("503"))
        .map(|(_, v)| v)
        .sum::<u64>();
    println!(
        "invariants: sold {} of {} (oversold: {}), availableTickets {available}, ticket numbers unique: {}, 5xx other than 503: {errors_500}",
        tally.sold,
        args.tickets,
        tally.sold > args.tickets,
        unique.len() == tally.tickets.len()
    );
    anyhow::ensure!(
        tally.sold == args.tickets && available == 0,
        "the sale did not sell exactly the tickets"
    );
    anyhow::ensure!(
        unique.len() == tally.tickets.len() && errors_500 == 0,
        "invariant broken"
    );
    Ok((rate, tally.sold))
}

/// The same transaction the store issues (event update + booking put + guard put), without HTTP,
/// auth, idempotency cache or anything else.
async fn bare(args: &Args, label: &str) -> anyhow::Result<f64> {
    let endpoint =
        std::env::var("DYNAMODB_ENDPOINT").unwrap_or_else(|_| "http://127.0.0.1:8000".into());
    let client = build_client(Some(endpoint), Some("us-east-1".into())).await;
    let table_name = format!(
        "bench-bare-{}",
        ulid::Ulid::new().to_string().to_lowercase()
    );
    table::ensure_table(&client, &table_name).await?;
    let event_key = || {
        std::collections::HashMap::from([
            ("pk".to_owned(), AttributeValue::S("EVENT#bare".into())),
            ("sk".to_owned(), AttributeValue::S("EVENT".into())),
        ])
    };
    let mut item = event_key();
    item.insert(
        "availableTickets".into(),
        AttributeValue::N(args.tickets.to_string()),
    );
    item.insert("confirmedBookings".into(), AttributeValue::N("0".into()));
    item.insert("status".into(), AttributeValue::S("published".into()));
    item.insert("dateTs".into(), AttributeValue::N(i64::MAX.to_string()));
    client
        .put_item()
        .table_name(&table_name)
        .set_item(Some(item))
        .send()
        .await?;

    let tally = Arc::new(Mutex::new(Tally::default()));
    let sold_out = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let workers = (0..args.concurrency).map(|_| {
        let (client, tally, sold_out, table_name) = (client.clone(), tally.clone(), sold_out.clone(), table_name.clone());
        tokio::spawn(async move {
            while !sold_out.load(Ordering::Relaxed) {
                let id = ulid::Ulid::new().to_string();
                let update = Update::builder()
                    .table_name(&table_name)
                    .set_key(Some(event_key()))
                    .update_expression("SET availableTickets = availableTickets - :q, confirmedBookings = confirmedBookings + :one")
                    .condition_expression("attribute_exists(pk) AND attribute_not_exists(deletedAt) AND #s = :p AND dateTs > :now AND availableTickets >= :q")
                    .expression_attribute_names("#s", "status")
                    .expression_attribute_values(":q", AttributeValue::N("1".into()))
                    .expression_attribute_values(":one", AttributeValue::N("1".into()))
                    .expression_attribute_values(":p", AttributeValue::S("published".into()))
                    .expression_attribute_values(":now", AttributeValue::N(chrono::Utc::now().timestamp_millis().to_string()))
                    .build()
                    .expect("update");
                let put = |pk: String| {
                    Put::builder()
                        .table_name(&table_name)
                        .item("pk", AttributeValue::S(pk))
                        .item("sk", AttributeValue::S("X".into()))
                        .condition_expression("attribute_not_exists(pk)")
                        .build()
                        .expect("put")
                };
                let sent = Instant::now();
                let result = client
                    .transact_write_items()
                    .transact_items(TransactWriteItem::builder().update(update).build())
                    .transact_items(TransactWriteItem::builder().put(put(format!("BOOKING#{id}"))).build())
                    .transact_items(TransactWriteItem::builder().put(put(format!("IDEMPOTENCY#{id}"))).build())
                    .send()
                    .await;
                let mut t = tally.lock().unwrap();
                t.latencies_ms.push(sent.elapsed().as_secs_f64() * 1000.0);
                let label = if result.is_ok() { "ok" } else { "cancelled" };
                *t.statuses.entry(label.into()).or_default() += 1;
                if result.is_ok() {
                    t.sold += 1;
                } else {
                    sold_out.store(true, Ordering::Relaxed);
                }
            }
        })
    });
    futures::future::join_all(workers).await;
    let elapsed = started.elapsed();
    let rate = report(label, &tally.lock().unwrap(), elapsed);
    let _ = client.delete_table().table_name(&table_name).send().await;
    Ok(rate)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if args.warmup_tickets > 0 {
        bare(
            &Args {
                tickets: args.warmup_tickets,
                ..args.clone()
            },
            "warm-up",
        )
        .await?;
    }
    let mut ratios = Vec::new();
    for pair in 1..=args.pairs.max(1) {
        let (full, bare) = if pair % 2 == 1 {
            let bare = bare(&args, "bare").await?;
            (full_stack(&args).await?.0, bare)
        } else {
            let (full, _) = full_stack(&args).await?;
            (full, bare(&args, "bare").await?)
        };
        println!("pair {pair}: full stack / bare = {:.2}", full / bare);
        ratios.push(full / bare);
    }
    ratios.sort_by(|a, b| a.total_cmp(b));
    let middle = ratios.len() / 2;
    let median = if ratios.len() % 2 == 0 {
        (ratios[middle - 1] + ratios[middle]) / 2.0
    } else {
        ratios[middle]
    };
    println!(
        "ratio full stack / bare = {median:.2}, median of {} alternating pairs {:.2?} (C = {}, T = {})",
        ratios.len(),
        ratios,
        args.concurrency,
        args.tickets
    );
    Ok(())
}
