//! The OTLP receiver: the collector's gRPC TraceService, keeping which service sent which span of
//! which trace, so a scenario can ask what one trace crossed.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use anyhow::Context;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::any_value;
use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;

/// One received span: its service (`service.name` of the resource) and its name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct SpanSeen {
    /// `service.name`.
    pub service: String,
    /// The span's name (e.g. `send intake.IncidentCreated`).
    pub name: String,
}

/// Spans received, by trace id (hex).
#[derive(Debug, Clone, Default)]
pub struct Collector {
    traces: Arc<Mutex<BTreeMap<String, BTreeSet<SpanSeen>>>>,
    exports: Arc<std::sync::atomic::AtomicU64>,
}

impl Collector {
    /// Listens on a loopback port; returns the collector and its endpoint (`http://…`).
    pub async fn start() -> anyhow::Result<(Self, String)> {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .context("binding the OTLP receiver")?;
        let endpoint = format!("http://{}", listener.local_addr()?);
        let collector = Self::default();
        let server = TraceServiceServer::new(collector.clone());
        tokio::spawn(async move {
            let _ = tonic::transport::Server::builder()
                .add_service(server)
                .serve_with_incoming(TcpListenerStream::new(listener))
                .await;
        });
        Ok((collector, endpoint))
    }

    /// The spans of trace `trace_id` received so far.
    pub fn trace(&self, trace_id: &str) -> BTreeSet<SpanSeen> {
        self.traces
            .lock()
            .map(|t| t.get(trace_id).cloned().unwrap_or_default())
            .unwrap_or_default()
    }

    /// Export requests received so far.
    pub fn exports(&self) -> u64 {
        self.exports.load(std::sync::atomic::Ordering::Relaxed)
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[tonic::async_trait]
impl TraceService for Collector {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        self.exports
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut received = Vec::new();
        for resource_spans in request.into_inner().resource_spans {
            let service = resource_spans
                .resource
                .as_ref()
                .and_then(|r| r.attributes.iter().find(|kv| kv.key == "service.name"))
                .and_then(|kv| kv.value.as_ref())
                .and_then(|v| match &v.value {
                    Some(any_value::Value::StringValue(s)) => Some(s.clone()),
                    _ => None,
                })
                .unwrap_or_default();
            for scope in resource_spans.scope_spans {
                for span in scope.spans {
                    received.push((
                        hex(&span.trace_id),
                        SpanSeen {
                            service: service.clone(),
                            name: span.name,
                        },
                    ));
                }
            }
        }
        if let Ok(mut traces) = self.traces.lock() {
            for (trace, span) in received {
                traces.entry(trace).or_default().insert(span);
            }
        }
        Ok(tonic::Response::new(ExportTraceServiceResponse {
            partial_success: None,
        }))
    }
}
