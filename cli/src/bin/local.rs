//! `ticketing-local`: every function's router on one port, for development and black-box tests.
//! Runs on the embedded in-memory store and cache unless `DYNAMODB_ENDPOINT` / `REDIS_URL` are set.

#[path = "../envelope_io.rs"]
mod envelope_io;

use anyhow::Context;
use clap::Parser;
use std::net::SocketAddr;
use ticketing::config::{Config, Mode};
use ticketing::domain::{event::EventFields, NewEvent, NewUser, Role};
use ticketing::http::site::Site;
use ticketing::store::{table, DynamoStore};
use ticketing::AppState;

#[derive(Parser)]
#[command(about = "Serve the whole ticketing API locally")]
struct Args {
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    #[arg(long, default_value_t = 3000)]
    port: u16,
    /// Create an admin and a few published events, and print the admin's login.
    #[arg(long)]
    seed_demo: bool,
    /// The built web app to serve at `/` (default: the repository's `web/dist`).
    #[arg(long)]
    site_dir: Option<std::path::PathBuf>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    ticketing::telemetry::init();
    let args = Args::parse();
    let config = Config::from_env(Mode::Local)?;
    for warning in &config.warnings {
        tracing::warn!("{warning}");
    }
    let table_name = config.table_name.clone();
    let endpoint = config.dynamodb_endpoint.clone();
    let region = config.aws_region.clone();
    let (state, backends) = ticketing::startup::state(config, false);
    if backends.dynamodb {
        let store = DynamoStore::new(&table_name, endpoint, region);
        table::ensure_table(store.client().await, &table_name)
            .await
            .context("preparing the DynamoDB table")?;
    }
    tracing::info!(
        store = if backends.dynamodb {
            "dynamodb"
        } else {
            "embedded in-memory"
        },
        cache = if backends.redis {
            "redis"
        } else {
            "embedded in-memory"
        },
        "storage backends"
    );
    if args.seed_demo {
        seed_demo(&state).await?;
    }
    start_mail_worker(&state);
    start_payment_sweep(&state);

    let addr: SocketAddr = format!("{}:{}", args.host, args.port)
        .parse()
        .context("--host/--port")?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding {addr}"))?;
    tracing::info!(%addr, "ticketing-local listening");
    println!("ticketing-local listening on http://{addr}");
    let site_dir = args
        .site_dir
        .unwrap_or_else(|| concat!(env!("CARGO_MANIFEST_DIR"), "/../web/dist").into());
    let stripe_js = state.config.payments.as_ref().map(|p| p.js_url.clone());
    let site = match Site::open(&site_dir) {
        Ok(site) => {
            let site = match &stripe_js {
                Some(js_url) => site.with_stripe_js(js_url),
                None => site,
            };
            println!("web app: http://{addr}/ (from {})", site.dir().display());
            Some(site)
        }
        Err(e) => {
            tracing::warn!(dir = %site_dir.display(), error = %e,
                "the web app is not built (scripts/run builds it): serving the API only");
            None
        }
    };
    let app = ticketing::http::combined_router_with(state, openapi_route()?, site);
    serve(listener, app).await;
    tracing::info!("ticketing-local stopped");
    Ok(())
}

/// Delivers the outbox in the background, through `SES_ENDPOINT` (e.g. aws-ses-v2-local) or
/// SES itself when AWS credentials are configured; with neither, mails wait in the outbox.
fn start_mail_worker(state: &AppState) {
    let settings = &state.config.mail;
    let has_aws = std::env::var_os("AWS_ACCESS_KEY_ID").is_some()
        || std::env::var_os("AWS_PROFILE").is_some();
    if settings.ses_endpoint.is_none() && !has_aws {
        tracing::warn!(
            "SES_ENDPOINT is not set and no AWS credentials are: mail waits in the outbox"
        );
        return;
    }
    let mailer = std::sync::Arc::new(ticketing::mail::SesMailer::new(
        settings.ses_endpoint.clone(),
        state.config.aws_region.clone(),
    ));
    if let Some(endpoint) = &settings.ses_endpoint {
        println!("mail: through {endpoint} (sent mails: {endpoint}/)");
    }
    let worker = ticketing::mail::MailWorker::new(state, mailer);
    tokio::spawn(worker.run(MAIL_POLL));
}

/// Settles the checkout's due work in the background (lapsed holds, captures, voids, refunds),
/// as the scheduled sweep function does in AWS.
fn start_payment_sweep(state: &AppState) {
    let Some(checkout) = state.bookings.checkout().cloned() else {
        return;
    };
    if let Some(stripe) = &state.config.payments {
        println!(
            "payments: through {} (Stripe.js: {})",
            stripe.api_base, stripe.js_url
        );
    }
    tokio::spawn(async move {
        loop {
            match checkout.sweep(SWEEP_BATCH).await {
                // A full batch: more may be due at once.
                Ok(n) if n >= SWEEP_BATCH => continue,
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "payment sweep failed; trying again"),
            }
            tokio::time::sleep(SWEEP_POLL).await;
        }
    });
}

/// How often the local sweep looks for due payment work, and how much it takes at once.
const SWEEP_POLL: std::time::Duration = std::time::Duration::from_secs(1);
const SWEEP_BATCH: usize = 50;

/// How often the local mail worker looks for due mail when it found none.
const MAIL_POLL: std::time::Duration = std::time::Duration::from_millis(500);

/// A client gets this long to send a request's headers; slower ones are disconnected, so a
/// trickle of bytes cannot hold a connection (bodies have their own timeout in the layers).
const HEADER_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);
/// Room for a request head well past the limits the app enforces itself (URI and header size),
/// so those are answered by the app, in the contract's envelope, rather than by hyper.
const MAX_HEAD_BYTES: usize = 1024 * 1024;

/// HTTP/1.1 with hyper directly (axum's `serve` does not expose these timeouts), each connection
/// carrying its peer address for rate limits, until Ctrl-C or SIGTERM; then in-flight requests
/// finish (at most 10 s).
async fn serve(listener: tokio::net::TcpListener, app: axum::Router) {
    use axum::extract::ConnectInfo;
    use hyper_util::rt::{TokioIo, TokioTimer};
    use hyper_util::service::TowerToHyperService;

    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT)
        .max_buf_size(MAX_HEAD_BYTES)
        .max_headers(256);
    let shutdown = shutdown_signal();
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let service = TowerToHyperService::new(tower::ServiceExt::map_request(
            app.clone(),
            move |mut req: axum::extract::Request<hyper::body::Incoming>| {
                req.extensions_mut().insert(ConnectInfo(peer));
                req.map(axum::body::Body::new)
            },
        ));
        let io = TokioIo::new(envelope_io::EnvelopeIo::new(stream));
        let connection = graceful.watch(http.serve_connection(io, service));
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "connection ended with an error");
            }
        });
    }
    if tokio::time::timeout(std::time::Duration::from_secs(10), graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("connections still open after 10 s: closing them");
    }
}

/// The contract as OpenAPI, at `/api/v1/openapi.json` (converted once from `openapi.yaml`).
fn openapi_route() -> anyhow::Result<axum::Router<AppState>> {
    let spec: serde_json::Value = serde_yaml::from_str(include_str!("../../../openapi.yaml"))
        .context("openapi.yaml is not valid YAML")?;
    let body = spec.to_string();
    Ok(axum::Router::new().route(
        "/api/v1/openapi.json",
        axum::routing::get(move || async move {
            ticketing::http::json(
                axum::http::StatusCode::OK,
                &serde_json::from_str(&body).unwrap_or_default(),
            )
        }),
    ))
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! { _ = ctrl_c => {}, _ = terminate => {} }
}

const DEMO_ADMIN_EMAIL: &str = "admin@example.com";
const DEMO_ADMIN_PASSWORD: &str = "DemoAdmin123";

/// The demo admin's address counts as verified: its token made and spent here, as its mail's
/// link would be.
async fn verify_demo_address(state: &AppState, user: ticketing::ids::UserId) -> anyhow::Result<()> {
    use ticketing::account_tokens::{AccountToken, StoredToken, TokenKeys, TokenPurpose};
    let keys = TokenKeys::new(&state.config.jwt.refresh_secret);
    let purpose = TokenPurpose::VerifyEmail;
    let token = AccountToken::derive(&keys, purpose, user, "demo-seed");
    let now = chrono::Utc::now();
    state
        .store
        .set_account_token(user, purpose, &StoredToken::of(&token, purpose, now))
        .await?;
    state.store.verify_email(user, &token.hash(), now).await?;
    Ok(())
}

async fn seed_demo(state: &AppState) -> anyhow::Result<()> {
    let new_admin = NewUser::parse(DEMO_ADMIN_EMAIL, DEMO_ADMIN_PASSWORD, "Demo Admin")
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    match state.auth.register(new_admin).await {
        Ok(_) | Err(ticketing::AppError::EmailTaken) => {}
        Err(e) => return Err(anyhow::anyhow!("creating the demo admin: {e}")),
    }
    let admin = state
        .auth
        .set_role(DEMO_ADMIN_EMAIL, Role::Admin)
        .await
        .map_err(|e| anyhow::anyhow!("promoting: {e}"))?;
    verify_demo_address(state, admin.id).await?;
    let now = chrono::Utc::now();
    for (i, (name, venue, price, tickets)) in [
        ("Rust Conf Live", "Main Hall, Berlin", "49", 200),
        ("Serverless Summit", "Pier 27, San Francisco", "120.50", 500),
        ("Midnight Jazz", "Blue Note, New York", "35", 80),
    ]
    .into_iter()
    .enumerate()
    {
        let fields = EventFields {
            name: Some(name.into()),
            description: Some(format!("{name}: a demo event")),
            venue: Some(venue.into()),
            date: Some((now + chrono::Duration::days(30 * (i as i64 + 1))).to_rfc3339()),
            price: Some(price.to_string()),
            total_tickets: Some(tickets),
            status: None,
            // The small jazz club sells at most 4 tickets a person.
            max_tickets_per_user: (tickets < 100).then_some(Some(4)),
        };
        let event = NewEvent::parse(fields, now).map_err(|e| anyhow::anyhow!("{e}"))?;
        state
            .events
            .create(event)
            .await
            .map_err(|e| anyhow::anyhow!("creating a demo event: {e}"))?;
    }
    println!("demo admin: {DEMO_ADMIN_EMAIL} / {DEMO_ADMIN_PASSWORD} (3 demo events published)");
    Ok(())
}
