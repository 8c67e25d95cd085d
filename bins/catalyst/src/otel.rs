//! Optional OpenTelemetry trace export over OTLP/HTTP (protobuf).
//!
//! Built only with the cargo feature `otel` (off by default, so the default build carries no
//! exporter), and active only when `OTEL_EXPORTER_OTLP_ENDPOINT` (or
//! `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set. The exporter reads the standard `OTEL_*`
//! variables; `OTEL_SERVICE_NAME` defaults to `catalyst`. Every span becomes an OTLP span with
//! its fields as attributes, so the `request` span's `request_id` reaches the collector.

use tracing::Subscriber;
use tracing_subscriber::Layer;
use tracing_subscriber::registry::LookupSpan;

/// The variables that switch the export on.
const ENDPOINT_VARS: [&str; 2] = [
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
];

/// Whether an OTLP endpoint is configured in the environment.
pub fn endpoint_configured() -> bool {
    ENDPOINT_VARS
        .iter()
        .any(|var| std::env::var_os(var).is_some_and(|v| !v.is_empty()))
}

/// A boxed tracing layer over the subscriber `S`.
pub type BoxedLayer<S> = Box<dyn Layer<S> + Send + Sync>;

/// Keeps the exporter alive; dropping it (at the end of `main`) flushes the spans still
/// buffered and stops the exporter.
#[must_use = "dropping the guard stops the export"]
pub struct Guard {
    #[cfg(feature = "otel")]
    provider: Option<opentelemetry_sdk::trace::SdkTracerProvider>,
}

impl Drop for Guard {
    fn drop(&mut self) {
        #[cfg(feature = "otel")]
        if let Some(Err(e)) = self.provider.take().map(|p| p.shutdown()) {
            eprintln!("OpenTelemetry: flushing the last spans failed: {e}");
        }
    }
}

/// The export layer when this build has the `otel` feature and an endpoint is configured.
#[cfg(feature = "otel")]
pub fn layer<S>() -> anyhow::Result<(Option<BoxedLayer<S>>, Guard)>
where
    S: Subscriber + for<'a> LookupSpan<'a> + Send + Sync,
{
    use anyhow::Context;
    use opentelemetry::trace::TracerProvider as _;

    if !endpoint_configured() {
        return Ok((None, Guard { provider: None }));
    }
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .build()
        .context("building the OTLP span exporter")?;
    let mut resource = opentelemetry_sdk::Resource::builder();
    if std::env::var_os("OTEL_SERVICE_NAME").is_none() {
        resource = resource.with_service_name("catalyst");
    }
    let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(resource.build())
        .build();
    let tracer = provider.tracer("catalyst");
    let layer = tracing_opentelemetry::layer().with_tracer(tracer).boxed();
    Ok((
        Some(layer),
        Guard {
            provider: Some(provider),
        },
    ))
}

/// This build has no exporter: no layer (`main` warns when an endpoint is configured).
#[cfg(not(feature = "otel"))]
pub fn layer<S>() -> anyhow::Result<(Option<BoxedLayer<S>>, Guard)>
where
    S: Subscriber + for<'a> LookupSpan<'a> + Send + Sync,
{
    Ok((None, Guard {}))
}
