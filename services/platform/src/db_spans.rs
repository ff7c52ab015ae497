//! Database client spans after the OpenTelemetry database conventions, from the statement events
//! sqlx already emits (`sqlx::query` at DEBUG, with the SQL text, rows and elapsed time): one
//! CLIENT span per statement, named by its query summary (`SELECT intake_incidents`), under the
//! span that ran it. Statements carry placeholders, never bound values, so no personal data.

use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

use opentelemetry::trace::{
    Span as _, SpanKind, TraceContextExt, Tracer as _, TracerProvider as _,
};
use opentelemetry::{KeyValue, Value};
use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider};
use tracing::dispatcher::WeakDispatch;
use tracing::field::{Field, Visit};
use tracing_subscriber::Layer;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::Context;

use crate::storage::Backend;

/// The target of sqlx's statement events.
const SQLX_QUERY: &str = "sqlx::query";
/// Longest `db.query.text` exported (a span attribute, not a dump).
const MAX_QUERY_TEXT: usize = 2_000;

static BACKEND: OnceLock<Backend> = OnceLock::new();

/// Records the process's database backend for `db.system.name` (the first pool opened wins: a
/// service process has one; only a test process opens both).
pub fn note_backend(backend: Backend) {
    let _ = BACKEND.set(backend);
}

/// `db.system.name` of the process's database.
fn system_name() -> &'static str {
    match BACKEND.get() {
        Some(Backend::Postgres) => "postgresql",
        Some(Backend::Sqlite) | None => "sqlite",
    }
}

/// The layer turning sqlx statement events into CLIENT spans of `provider`'s tracer; when
/// `enabled`, it enables sqlx's DEBUG statement events for itself only (logs keep their own
/// filter); when not, it enables nothing, so sqlx formats no statement for it. (Not an
/// `Option<Layer>`: that does not pass `on_register_dispatch` on, which the layer needs.)
pub fn db_span_layer<S>(provider: &SdkTracerProvider, enabled: bool) -> impl Layer<S> + use<S>
where
    S: tracing::Subscriber + for<'span> tracing_subscriber::registry::LookupSpan<'span>,
{
    let filter = if enabled {
        Targets::new().with_target(SQLX_QUERY, tracing::Level::DEBUG)
    } else {
        Targets::new()
    };
    DbSpans {
        tracer: provider.tracer("pingan"),
        dispatch: OnceLock::new(),
    }
    .with_filter(filter)
}

struct DbSpans {
    tracer: SdkTracer,
    // The subscriber this layer is in: the OpenTelemetry context of a span is read through it.
    dispatch: OnceLock<WeakDispatch>,
}

impl<S> Layer<S> for DbSpans
where
    S: tracing::Subscriber + for<'span> tracing_subscriber::registry::LookupSpan<'span>,
{
    fn on_register_dispatch(&self, subscriber: &tracing::Dispatch) {
        let _ = self.dispatch.set(subscriber.downgrade());
    }

    fn on_event(&self, event: &tracing::Event<'_>, _ctx: Context<'_, S>) {
        if event.metadata().target() != SQLX_QUERY {
            return;
        }
        // The subscriber's current span, not this layer's filtered view (which sees no spans).
        let Some(dispatch) = self.dispatch.get().and_then(WeakDispatch::upgrade) else {
            return;
        };
        let current = dispatch.current_span();
        // Only inside a traced operation: background polls do not start traces of their own.
        let Some(id) = current.id() else {
            return;
        };
        let Some(parent) = tracing_opentelemetry::get_otel_context(id, &dispatch) else {
            return;
        };
        if !parent.span().span_context().is_valid() {
            return;
        }
        let mut statement = Statement::default();
        event.record(&mut statement);
        let Some(query) = statement.query() else {
            return;
        };
        let summary = QuerySummary::of(&query);
        let now = SystemTime::now();
        let elapsed = Duration::try_from_secs_f64(statement.elapsed_secs).unwrap_or_default();
        let mut attributes = vec![
            KeyValue::new("db.system.name", system_name()),
            KeyValue::new("db.query.summary", summary.name()),
            KeyValue::new("db.query.text", truncate(&query, MAX_QUERY_TEXT)),
            KeyValue::new("db.response.returned_rows", statement.rows_returned as i64),
        ];
        if let Some(operation) = &summary.operation {
            attributes.push(KeyValue::new("db.operation.name", operation.clone()));
        }
        if let Some(collection) = &summary.collection {
            attributes.push(KeyValue::new("db.collection.name", collection.clone()));
        }
        if statement.rows_affected > 0 {
            attributes.push(KeyValue::new(
                "db.response.affected_rows",
                Value::I64(statement.rows_affected as i64),
            ));
        }
        let mut span = self
            .tracer
            .span_builder(summary.name())
            .with_kind(SpanKind::Client)
            .with_start_time(now.checked_sub(elapsed).unwrap_or(now))
            .with_attributes(attributes)
            .start_with_context(&self.tracer, &parent);
        span.end_with_timestamp(now);
    }
}

/// The fields of one sqlx statement event.
#[derive(Default)]
struct Statement {
    summary: String,
    statement: String,
    rows_returned: u64,
    rows_affected: u64,
    elapsed_secs: f64,
}

impl Statement {
    /// The SQL text on one line: sqlx sends the full text only when it is longer than the summary.
    fn query(&self) -> Option<String> {
        let text = if self.statement.trim().is_empty() {
            &self.summary
        } else {
            &self.statement
        };
        let query = text.split_whitespace().collect::<Vec<_>>().join(" ");
        (!query.is_empty()).then_some(query)
    }
}

impl Visit for Statement {
    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "summary" => self.summary = value.to_owned(),
            "db.statement" => self.statement = value.to_owned(),
            _ => {}
        }
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        match field.name() {
            "rows_returned" => self.rows_returned = value,
            "rows_affected" => self.rows_affected = value,
            _ => {}
        }
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        if field.name() == "elapsed_secs" {
            self.elapsed_secs = value;
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        // sqlx records strings with `%`/`?` on some paths.
        match field.name() {
            "summary" if self.summary.is_empty() => self.summary = format!("{value:?}"),
            "db.statement" if self.statement.is_empty() => {
                self.statement = format!("{value:?}").trim_matches('"').replace("\\n", "\n");
            }
            _ => {}
        }
    }
}

/// The operation and the table a statement works on, for the span name.
#[derive(Debug, PartialEq, Eq)]
pub struct QuerySummary {
    /// `SELECT`, `INSERT`, `UPDATE`, `DELETE`, `BEGIN`, …
    pub operation: Option<String>,
    /// The first table named after FROM / INTO / UPDATE.
    pub collection: Option<String>,
}

impl QuerySummary {
    /// Reads the operation and the first table of `query`.
    pub fn of(query: &str) -> Self {
        let words: Vec<&str> = query.split_whitespace().collect();
        let operation = words
            .first()
            .map(|w| w.trim_matches(|c: char| !c.is_ascii_alphabetic()))
            .filter(|w| !w.is_empty())
            .map(str::to_ascii_uppercase);
        let after = |keyword: &str| {
            words
                .iter()
                .position(|w| w.eq_ignore_ascii_case(keyword))
                .and_then(|i| words.get(i + 1))
                .map(|w| table_name(w))
                .filter(|w| !w.is_empty())
        };
        let collection = match operation.as_deref() {
            Some("INSERT") => after("INTO"),
            Some("UPDATE") => words.get(1).map(|w| table_name(w)),
            Some("SELECT" | "DELETE" | "WITH") => after("FROM"),
            _ => None,
        };
        Self {
            operation,
            collection,
        }
    }

    /// `{operation} {collection}`, or the operation alone, or the system's name.
    pub fn name(&self) -> String {
        match (&self.operation, &self.collection) {
            (Some(operation), Some(collection)) => format!("{operation} {collection}"),
            (Some(operation), None) => operation.clone(),
            _ => system_name().to_owned(),
        }
    }
}

fn table_name(word: &str) -> String {
    word.split('(')
        .next()
        .unwrap_or_default()
        .trim_matches(|c: char| c == '"' || c == '`' || c == ',' || c == ';' || c == ')')
        .to_owned()
}

fn truncate(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::QuerySummary;

    fn name(query: &str) -> String {
        QuerySummary::of(query).name()
    }

    #[test]
    fn statements_are_named_by_operation_and_first_table() {
        assert_eq!(
            name("SELECT a, b FROM intake_incidents WHERE id = $1"),
            "SELECT intake_incidents"
        );
        assert_eq!(
            name("insert into outbox(id, body) values (?, ?)"),
            "INSERT outbox"
        );
        assert_eq!(name("UPDATE jobs SET lease_until = $1"), "UPDATE jobs");
        assert_eq!(
            name("DELETE FROM \"idempotency\" WHERE at < $1"),
            "DELETE idempotency"
        );
        assert_eq!(name("BEGIN IMMEDIATE"), "BEGIN");
        assert_eq!(name("SELECT 1"), "SELECT");
    }
}
