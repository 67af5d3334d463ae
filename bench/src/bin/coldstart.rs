//! Cold start, measured the way Lambda starts a function: a fake Runtime API on 127.0.0.1, the
//! release binary started with the usual `AWS_LAMBDA_*` environment, and two instants timed from
//! process start: the first `GET /invocation/next` (init done) and the first response (first
//! invoke done). Medians over `--runs` starts, and each function's ratio to hello-world.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue};
use axum::routing::{get, post};
use axum::Router;
use clap::Parser;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// The mailer's event: EventBridge Scheduler's (a stream batch would name mails to deliver).
const SCHEDULED: &str = "schedule";
const SCHEDULED_EVENT: &str =
    r#"{"source":"aws.scheduler","detail-type":"Scheduled Event","detail":{}}"#;

#[derive(Parser)]
struct Args {
    /// Where the release binaries are.
    #[arg(long, default_value = "target/release")]
    bin_dir: PathBuf,
    /// Starts per function.
    #[arg(long, default_value_t = 15)]
    runs: usize,
    /// Directory of the sample API Gateway events.
    #[arg(long, default_value = "events")]
    events_dir: PathBuf,
    /// Instead of timing, count the instructions each binary runs from exec to its first
    /// `GET /invocation/next` under `valgrind --tool=callgrind` (a figure a busy machine does
    /// not move); profiles are left in this directory for `callgrind_annotate`.
    #[arg(long)]
    callgrind: Option<PathBuf>,
}

#[derive(Default)]
struct Run {
    /// Counting init only: `/next` answers nothing and the function is stopped there.
    init_only: bool,
    started: Option<Instant>,
    event: String,
    next_at: Option<Instant>,
    done_at: Option<Instant>,
    served: bool,
    failed: Option<String>,
}

#[derive(Clone, Default)]
struct Fake {
    run: Arc<Mutex<Run>>,
    done: Arc<Notify>,
}

async fn next(State(fake): State<Fake>) -> (HeaderMap, String) {
    let (event, init_counted) = {
        let mut run = fake.run.lock().unwrap();
        if run.served {
            (None, false)
        } else {
            run.served = true;
            run.next_at = Some(Instant::now());
            if run.init_only {
                (None, true)
            } else {
                (Some(run.event.clone()), false)
            }
        }
    };
    if init_counted {
        fake.done.notify_one();
    }
    // After the first invocation the function waits here until it is killed.
    let Some(event) = event else {
        return std::future::pending().await;
    };
    let mut headers = HeaderMap::new();
    headers.insert(
        "lambda-runtime-aws-request-id",
        HeaderValue::from_static("bench-request-1"),
    );
    let deadline = (chrono::Utc::now().timestamp_millis() + 30_000).to_string();
    headers.insert(
        "lambda-runtime-deadline-ms",
        HeaderValue::from_str(&deadline).unwrap(),
    );
    headers.insert(
        "lambda-runtime-invoked-function-arn",
        HeaderValue::from_static("arn:aws:lambda:us-east-1:123456789012:function:bench"),
    );
    headers.insert(
        "lambda-runtime-trace-id",
        HeaderValue::from_static("Root=1-00000000-000000000000000000000000"),
    );
    (headers, event)
}

async fn respond(State(fake): State<Fake>, Path(_id): Path<String>, body: String) -> &'static str {
    {
        let mut run = fake.run.lock().unwrap();
        run.done_at = Some(Instant::now());
        if body.contains("\"statusCode\":5") {
            run.failed = Some(format!("5xx answer: {body}"));
        }
    }
    fake.done.notify_one();
    "{}"
}

async fn error(State(fake): State<Fake>, body: String) -> &'static str {
    {
        let mut run = fake.run.lock().unwrap();
        run.done_at = Some(Instant::now());
        run.failed = Some(body);
    }
    fake.done.notify_one();
    "{}"
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(|a, b| a.total_cmp(b));
    let n = xs.len();
    if n % 2 == 1 {
        xs[n / 2]
    } else {
        (xs[n / 2 - 1] + xs[n / 2]) / 2.0
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let fake = Fake::default();
    let app = Router::new()
        .route("/2018-06-01/runtime/invocation/next", get(next))
        .route(
            "/2018-06-01/runtime/invocation/{id}/response",
            post(respond),
        )
        .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
        .route("/2018-06-01/runtime/init/error", post(error))
        .with_state(fake.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, app).await });

    let functions = [
        ("hello-lambda", "health"),
        ("health", "health"),
        ("auth", "auth-me"),
        ("events", "events-list"),
        ("bookings", "bookings-list"),
        // The mailer's scheduled pass: SES linked, its first invoke a pass over the due mails.
        ("mailer", SCHEDULED),
    ];
    let env = [
        ("AWS_LAMBDA_RUNTIME_API", addr.to_string()),
        ("AWS_LAMBDA_FUNCTION_NAME", "bench".into()),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256".into()),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".into()),
        ("AWS_LAMBDA_LOG_STREAM_NAME", "bench".into()),
        ("AWS_LAMBDA_LOG_GROUP_NAME", "bench".into()),
        ("AWS_REGION", "us-east-1".into()),
        ("AWS_ACCESS_KEY_ID", "local".into()),
        ("AWS_SECRET_ACCESS_KEY", "local".into()),
        (
            "DYNAMODB_ENDPOINT",
            std::env::var("DYNAMODB_ENDPOINT").unwrap_or_else(|_| "http://127.0.0.1:8000".into()),
        ),
        (
            "REDIS_URL",
            std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into()),
        ),
        (
            "TABLE_NAME",
            std::env::var("TABLE_NAME").unwrap_or_else(|_| "ticketing".into()),
        ),
        (
            "JWT_ACCESS_SECRET",
            "bench-access-secret-0123456789abcdefghijkl".into(),
        ),
        (
            "JWT_REFRESH_SECRET",
            "bench-refresh-secret-0123456789abcdefghijk".into(),
        ),
        (
            "TICKET_SIGNING_KEY",
            "rie-ticket-signing-key-0123456789abcdefg".into(),
        ),
        ("RUST_LOG", "warn".into()),
    ];

    let mut samples: Vec<(Vec<f64>, Vec<f64>)> = vec![(Vec::new(), Vec::new()); functions.len()];
    let mut events = Vec::new();
    for (binary, event_name) in functions {
        events.push(if event_name == SCHEDULED {
            SCHEDULED_EVENT.to_owned()
        } else {
            std::fs::read_to_string(args.events_dir.join(format!("{event_name}.json")))?
        });
        let path = args.bin_dir.join(binary);
        anyhow::ensure!(
            path.exists(),
            "{} is missing: build with `cargo build --release --workspace --bins`",
            path.display()
        );
    }
    if let Some(dir) = &args.callgrind {
        return count_init(&fake, &args.bin_dir, dir, &functions, &env).await;
    }
    println!(
        "cold start, {} starts each, medians (fake Runtime API on {addr})",
        args.runs
    );
    println!(
        "{:<14} {:>10} {:>12} {:>14} {:>16}",
        "function", "init ms", "init ratio", "1st invoke ms", "1st invoke ratio"
    );
    // Interleaved, so machine noise hits every function alike.
    for _ in 0..args.runs {
        for (i, (binary, _)) in functions.iter().enumerate() {
            *fake.run.lock().unwrap() = Run {
                event: events[i].clone(),
                ..Run::default()
            };
            let started = Instant::now();
            let mut child = Command::new(args.bin_dir.join(binary))
                .envs(env.iter().cloned())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()?;
            fake.run.lock().unwrap().started = Some(started);
            let finished =
                tokio::time::timeout(Duration::from_secs(20), fake.done.notified()).await;
            let _ = child.kill();
            let _ = child.wait();
            anyhow::ensure!(finished.is_ok(), "{binary}: no response within 20 s");
            let run = fake.run.lock().unwrap();
            if let Some(failure) = &run.failed {
                anyhow::bail!("{binary} failed: {failure}");
            }
            samples[i]
                .0
                .push((run.next_at.unwrap() - started).as_secs_f64() * 1000.0);
            samples[i]
                .1
                .push((run.done_at.unwrap() - started).as_secs_f64() * 1000.0);
        }
    }
    let medians: Vec<(f64, f64)> = samples
        .into_iter()
        .map(|(i, f)| (median(i), median(f)))
        .collect();
    let (base_init, base_first) = medians[0];
    for ((binary, _), (init, first)) in functions.iter().zip(medians) {
        println!(
            "{binary:<14} {init:>10.2} {:>11.2}x {first:>14.2} {:>15.2}x",
            init / base_init,
            first / base_first
        );
    }
    Ok(())
}

/// Instructions from exec to the first `GET /invocation/next` (the dynamic loader's relocations
/// included), each binary once under callgrind, stopped by SIGTERM there (callgrind writes its
/// counts on a fatal signal).
async fn count_init(
    fake: &Fake,
    bin_dir: &std::path::Path,
    out_dir: &std::path::Path,
    functions: &[(&str, &str)],
    env: &[(&str, String)],
) -> anyhow::Result<()> {
    std::fs::create_dir_all(out_dir)?;
    println!(
        "{:<14} {:>16} {:>12}",
        "function", "init instructions", "ratio"
    );
    let mut base = None;
    for (binary, _) in functions {
        *fake.run.lock().unwrap() = Run {
            init_only: true,
            ..Run::default()
        };
        let log = out_dir.join(format!("valgrind.{binary}.log"));
        let mut child = Command::new("valgrind")
            .arg("--tool=callgrind")
            .arg(format!(
                "--callgrind-out-file={}",
                out_dir.join(format!("callgrind.out.{binary}")).display()
            ))
            .arg(format!("--log-file={}", log.display()))
            .arg(bin_dir.join(binary))
            .envs(env.iter().cloned())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        let reached = tokio::time::timeout(Duration::from_secs(120), fake.done.notified()).await;
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let _ = child.wait();
        anyhow::ensure!(
            reached.is_ok(),
            "{binary}: no GET /next within 120 s under valgrind"
        );
        let text = std::fs::read_to_string(&log)?;
        let collected: u64 = text
            .lines()
            .find_map(|line| line.split("Collected :").nth(1))
            .and_then(|n| n.trim().parse().ok())
            .ok_or_else(|| anyhow::anyhow!("{binary}: no count in {}", log.display()))?;
        let base = *base.get_or_insert(collected);
        println!(
            "{binary:<14} {collected:>16} {:>11.2}x",
            collected as f64 / base as f64
        );
    }
    Ok(())
}
