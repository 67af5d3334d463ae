//! The composition root: configuration → clients → state → router, and a Lambda function's
//! whole life around it. Logs and traces come from [`crate::telemetry`], which knows nothing of
//! the app.

use crate::cache::{Cache, MemoryCache, RedisCache};
use crate::config::{Config, Mode};
use crate::http::EndpointGroup;
use crate::store::{DynamoStore, MemoryStore, Store};
use crate::{metric, telemetry, AppState};
use std::sync::Arc;

mod mailer;
mod panic_hook;

pub use mailer::{new_mail_ids, serve_mailer};

/// Which backends a process runs on, for the start-up log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backends {
    pub dynamodb: bool,
    pub redis: bool,
}

/// Real DynamoDB when running in Lambda or when `DYNAMODB_ENDPOINT` is set, else the memory
/// store; Redis when `REDIS_URL` is set, else the memory cache. Nothing connects here: the
/// clients connect on first use, keeping cold starts short.
pub fn state(config: Config, in_lambda: bool) -> (AppState, Backends) {
    state_with(config, in_lambda, AppState::new)
}

/// [`state`], with the state built by `build` from the configuration and the backends.
fn state_with(
    config: Config,
    in_lambda: bool,
    build: fn(Config, Arc<dyn Store>, Arc<dyn Cache>) -> AppState,
) -> (AppState, Backends) {
    let use_dynamo = in_lambda || config.dynamodb_endpoint.is_some();
    let store: Arc<dyn Store> = if use_dynamo {
        Arc::new(DynamoStore::new(
            &config.table_name,
            config.dynamodb_endpoint.clone(),
            config.aws_region.clone(),
        ))
    } else {
        Arc::new(MemoryStore::new())
    };
    let cache: Arc<dyn Cache> = match &config.redis_url {
        Some(url) => Arc::new(
            RedisCache::new(url, &config.redis_key_prefix).traced(config.otlp_endpoint.is_some()),
        ),
        None => Arc::new(MemoryCache::new()),
    };
    let backends = Backends {
        dynamodb: use_dynamo,
        redis: config.redis_url.is_some(),
    };
    (build(config, store, cache), backends)
}

/// A Lambda function's configuration, checked once at start-up (with Stripe's secrets where
/// the function `calls_payments`); a bad one is logged (logs only: the configuration that
/// would turn traces on is what failed) and refuses the start.
fn lambda_config(calls_payments: bool) -> Result<Config, crate::config::ConfigError> {
    let config = Config::from_env(Mode::Lambda);
    let config = if calls_payments {
        config.and_then(Config::require_stripe_secrets)
    } else {
        config
    };
    config.inspect_err(|e| {
        telemetry::init();
        tracing::error!(error = %e, "refusing to start");
    })
}

/// A Lambda function's whole life: configuration (checked once, at start-up), logs and traces,
/// clients (connecting lazily, on the first request that needs them), then the function's router
/// served as Lambda does, with metrics: `metrics_cloudwatch_embedded`'s collector is the
/// `metrics` recorder, flushed as EMF lines on stdout after every invocation, with one default
/// dimension (`Function`: the deployed function's name) and a cold-start count. Every EMF line
/// also carries the invocation's request and X-Ray trace ids as properties (not dimensions).
/// With traces on, lambda_runtime's OpenTelemetry layer wraps each invocation in a span and
/// flushes the spans before the next one.
pub async fn serve_function<G: EndpointGroup>() -> Result<(), lambda_http::Error> {
    let function = G::FUNCTION;
    let config = lambda_config(G::CALLS_PAYMENTS)?;
    let traces = telemetry::init_with_traces(function.name(), config.otlp_endpoint.as_deref());
    let namespace = config.metrics_namespace.clone();
    // A constant per binary: the others never build, so never link, the provider's client.
    let build = if G::CALLS_PAYMENTS {
        AppState::new
    } else {
        AppState::without_payments
    };
    let (state, _) = state_with(config, true, build);
    serve_lambda(
        function.name(),
        namespace,
        traces,
        crate::http::router_of::<G>(state),
    )
    .await
}

/// Serves `router` as a Lambda function named `name` (its default metric dimension), with
/// metrics in `namespace`, traces through `traces` when on, and the panic hook.
pub async fn serve_lambda(
    name: &str,
    namespace: String,
    traces: Option<opentelemetry_sdk::trace::SdkTracerProvider>,
    router: axum::Router,
) -> Result<(), lambda_http::Error> {
    use lambda_runtime::layers::{OpenTelemetryFaasTrigger, OpenTelemetryLayer, TracingLayer};
    if let Ok(runtime_api) = std::env::var("AWS_LAMBDA_RUNTIME_API") {
        panic_hook::install(runtime_api);
    }
    let function_name =
        std::env::var("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_else(|_| name.to_owned());
    let collector = metrics_cloudwatch_embedded::Builder::new()
        .cloudwatch_namespace(namespace)
        .with_dimension(metric::name::FUNCTION, function_name)
        .lambda_cold_start_metric(metric::name::COLD_STARTS)
        .with_lambda_request_id("RequestId")
        .with_lambda_xray_trace_id("TraceId")
        .init()?;
    metric::describe();
    let otel = traces.map(|provider| {
        OpenTelemetryLayer::new(move || {
            if let Err(e) = provider.force_flush() {
                tracing::warn!(error = %e, "could not flush traces");
            }
        })
        .with_trigger(OpenTelemetryFaasTrigger::Http)
    });
    lambda_runtime::Runtime::new(lambda_http::Adapter::from(router))
        .layer(TracingLayer::new())
        .layer(metrics_cloudwatch_embedded::lambda::MetricsLayer::new(
            collector,
        ))
        .layer(tower::util::option_layer(otel))
        .layer(tower::util::MapRequestLayer::new(panic_hook::begin))
        .run()
        .await
}
