//! `ticketing-local`: every function's router on one port, for development and black-box tests.
//! Runs on the embedded in-memory store and cache unless `DYNAMODB_ENDPOINT` / `REDIS_URL` are set.

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
    let (state, backends) = AppState::from_config(config, false);
    if backends.dynamodb {
        let store = DynamoStore::new(&table_name, endpoint, region);
        table::ensure_table(store.client().await, &table_name)
            .await
            .map_err(anyhow::Error::msg)
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
    let site = match Site::open(&site_dir) {
        Ok(site) => {
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
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await?;
    tracing::info!("ticketing-local stopped");
    Ok(())
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

async fn seed_demo(state: &AppState) -> anyhow::Result<()> {
    let new_admin = NewUser::parse(DEMO_ADMIN_EMAIL, DEMO_ADMIN_PASSWORD, "Demo Admin")
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    match state.auth.register(new_admin).await {
        Ok(_) | Err(ticketing::AppError::EmailTaken) => {}
        Err(e) => return Err(anyhow::anyhow!("creating the demo admin: {e}")),
    }
    state
        .auth
        .set_role(DEMO_ADMIN_EMAIL, Role::Admin)
        .await
        .map_err(|e| anyhow::anyhow!("promoting: {e}"))?;
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
