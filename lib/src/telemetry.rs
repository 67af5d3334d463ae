//! JSON-lines logs through `tracing`; every line of a request carries its request id (the
//! request span's field).

use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::EnvFilter;

/// The subscriber every binary uses, writing to `writer` (tests capture it to check what is logged).
pub fn subscriber<W>(writer: W, filter: EnvFilter) -> impl tracing::Subscriber + Send + Sync
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(true)
        .with_span_list(false)
        .flatten_event(true)
        .with_target(false)
        .with_writer(writer)
        .finish()
}

pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing::subscriber::set_global_default(subscriber(std::io::stdout, filter));
}

/// A Lambda function's whole life: logs, configuration (checked once, at start-up), clients
/// (connecting lazily, on the first request that needs them), then the function's router served
/// as Lambda does, with metrics: `metrics_cloudwatch_embedded`'s collector is the `metrics`
/// recorder, flushed as EMF lines on stdout after every invocation, with one default dimension
/// (`Function`: the deployed function's name) and a cold-start count. Every EMF line also carries
/// the invocation's request and X-Ray trace ids as properties (not dimensions).
pub async fn serve_function(function: crate::http::Function) -> Result<(), lambda_http::Error> {
    use crate::metric::name;
    init();
    let config = crate::Config::from_env(crate::config::Mode::Lambda)?;
    let function_name =
        std::env::var("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_else(|_| function.name().to_owned());
    let collector = metrics_cloudwatch_embedded::Builder::new()
        .cloudwatch_namespace(config.metrics_namespace.clone())
        .with_dimension(name::FUNCTION, function_name)
        .lambda_cold_start_metric(name::COLD_STARTS)
        .with_lambda_request_id("RequestId")
        .with_lambda_xray_trace_id("TraceId")
        .init()?;
    crate::metric::describe();
    let (state, _) = crate::AppState::from_config(config, true);
    let router = crate::http::router(state, function);
    metrics_cloudwatch_embedded::lambda::service::run_http(collector, router).await
}
