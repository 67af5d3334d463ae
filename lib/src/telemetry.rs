//! Logs, traces and the Lambda entry point.
//!
//! - Logs: JSON lines through `tracing`; every line of a request carries its request id and, in
//!   Lambda, the X-Ray trace id (fields of the request span).
//! - Traces: the same `tracing` spans — the request, each DynamoDB call (the SDK's own spans) and
//!   each Redis command (fred's) — exported as OpenTelemetry spans over OTLP/HTTP to the ADOT
//!   collector layer, which forwards them to X-Ray with X-Ray-compatible ids, parented on the
//!   invocation's X-Ray trace. On only where `OTEL_EXPORTER_OTLP_ENDPOINT` is set (the template
//!   sets it with the collector layer; [`crate::config`] reads it); off locally.
//!
//! This module knows logs and traces only: what a function serves is wired in
//! [`crate::startup`].
//! - Metrics: see [`crate::metric`].

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::EnvFilter;

/// The subscriber every binary uses: JSON lines to `writer` (tests capture them), and the spans
/// to `tracer` when one is given.
pub fn subscriber<W>(
    writer: W,
    filter: EnvFilter,
    tracer: Option<SdkTracer>,
) -> impl tracing::Subscriber + Send + Sync
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    use tracing_subscriber::filter::FilterExt;
    use tracing_subscriber::Layer;
    // Each layer has its own filter: logs follow RUST_LOG, traces take the spans that matter
    // whatever RUST_LOG says (the SDK's per-operation spans are at debug).
    let logs = tracing_subscriber::fmt::layer()
        .json()
        .with_current_span(true)
        .with_span_list(false)
        .flatten_event(true)
        .with_target(false)
        .with_writer(writer)
        .with_filter(filter);
    let traces = tracer.map(|tracer| {
        let spans = tracing_subscriber::filter::Targets::new()
            .with_default(tracing::Level::INFO)
            // `DynamoDB.GetItem`, `DynamoDB.TransactWriteItems`, ...: one span per call.
            .with_target("aws_sdk_dynamodb::operation", tracing::Level::DEBUG)
            .and(tracing_subscriber::filter::filter_fn(|meta| meta.is_span()));
        tracing_opentelemetry::layer()
            .with_tracer(tracer)
            .with_filter(spans)
    });
    tracing_subscriber::registry().with(logs).with(traces)
}

/// A tracer provider whose spans carry X-Ray-compatible ids (the collector hands them to X-Ray
/// as they are) and go to `exporter` in batches.
pub fn xray_provider(
    exporter: impl opentelemetry_sdk::trace::SpanExporter + 'static,
    service: &'static str,
) -> SdkTracerProvider {
    SdkTracerProvider::builder()
        .with_id_generator(opentelemetry_aws::trace::XrayIdGenerator::default())
        .with_resource(
            opentelemetry_sdk::Resource::builder()
                .with_service_name(service)
                .build(),
        )
        .with_batch_exporter(exporter)
        .build()
}

/// Logs to stdout, with traces exported over OTLP to `otlp_endpoint` when there is one (the
/// configuration's). Returns the tracer provider, to flush after each invocation.
pub fn init_with_traces(
    service: &'static str,
    otlp_endpoint: Option<&str>,
) -> Option<SdkTracerProvider> {
    let provider = otlp_endpoint.map(|endpoint| otlp_provider(endpoint, service));
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let tracer = provider.as_ref().map(|p| p.tracer(service));
    let _ = tracing::subscriber::set_global_default(subscriber(std::io::stdout, filter, tracer));
    provider
}

/// Spans exported over OTLP/HTTP to `endpoint` (the collector's base URL, as in
/// `OTEL_EXPORTER_OTLP_ENDPOINT`; spans go to its `/v1/traces`).
pub fn otlp_provider(endpoint: &str, service: &'static str) -> SdkTracerProvider {
    let exporter = LazyOtlpExporter {
        traces_url: format!("{}/v1/traces", endpoint.trim().trim_end_matches('/')),
        ..LazyOtlpExporter::default()
    };
    xray_provider(exporter, service)
}

/// The OTLP/HTTP exporter, built on its first export (on the batch processor's thread) rather
/// than at start-up: its HTTP client starts a thread of its own, which a cold start need not wait
/// for. A build failure turns export off with one message; the function serves on.
#[derive(Debug, Default)]
struct LazyOtlpExporter {
    traces_url: String,
    resource: Option<opentelemetry_sdk::Resource>,
    inner: std::sync::OnceLock<Option<opentelemetry_otlp::SpanExporter>>,
}

impl opentelemetry_sdk::trace::SpanExporter for LazyOtlpExporter {
    async fn export(
        &self,
        batch: Vec<opentelemetry_sdk::trace::SpanData>,
    ) -> opentelemetry_sdk::error::OTelSdkResult {
        let exporter = self.inner.get_or_init(|| {
            use opentelemetry_otlp::WithExportConfig;
            let built = opentelemetry_otlp::SpanExporter::builder()
                .with_http()
                .with_endpoint(self.traces_url.clone())
                .build();
            match built {
                Ok(mut exporter) => {
                    if let Some(resource) = &self.resource {
                        exporter.set_resource(resource);
                    }
                    Some(exporter)
                }
                Err(e) => {
                    eprintln!("trace export off: {e}");
                    None
                }
            }
        });
        match exporter {
            Some(exporter) => exporter.export(batch).await,
            None => Ok(()),
        }
    }

    fn set_resource(&mut self, resource: &opentelemetry_sdk::Resource) {
        self.resource = Some(resource.clone());
    }
}

/// Logs only (the local server and tools).
pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing::subscriber::set_global_default(subscriber(std::io::stdout, filter, None));
}

/// The invocation's X-Ray trace header, as a parent for the request's span (so the collector
/// files our spans under Lambda's own segment).
pub fn xray_parent(trace_header: &str) -> Option<opentelemetry::Context> {
    use opentelemetry::propagation::TextMapPropagator;
    use opentelemetry::trace::TraceContextExt;
    let carrier =
        std::collections::HashMap::from([("x-amzn-trace-id".to_owned(), trace_header.to_owned())]);
    let cx = opentelemetry_aws::trace::XrayPropagator::default().extract(&carrier);
    cx.span().span_context().is_valid().then_some(cx)
}
