//! Database spans follow the OpenTelemetry database conventions, through the production layers:
//! one CLIENT span per statement under the span that ran it, named `{operation} {table}`, with
//! `db.system.name`, `db.query.summary`, `db.query.text` (placeholders, never bound values) and
//! the rows; statements outside any traced operation start no trace. Alone in its test binary:
//! the subscriber is global (as in production) and the backend name is per process.

use opentelemetry::Value;
use opentelemetry::trace::SpanKind;
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData};
use pingan_platform::config::DEFAULT_TRACE_FILTER;
use pingan_platform::db_spans::db_span_layer;
use pingan_platform::storage::{Backend, Db, PoolSettings};
use pingan_platform::telemetry::otel_layer;
use pingan_platform::testing::DATABASE_URL_VAR;
use pingan_platform::with_db;
use tracing::Instrument;
use tracing_subscriber::layer::SubscriberExt;

// SQLite's worker thread holds a clone of the current span until it has answered, so `call` may
// close there just after the await returns: wait for it.
#[path = "common/spans.rs"]
#[allow(dead_code)] // the other trace tests use the rest
mod spans;
use spans::wait_for_spans;

const SECRET_PHONE: &str = "13912345678";

fn attribute(span: &SpanData, key: &str) -> Option<String> {
    span.attributes
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| match &kv.value {
            Value::String(s) => s.to_string(),
            other => other.to_string(),
        })
}

/// Creates a table, writes a row with a bound phone number and reads it back, inside `call`.
async fn traffic(db: &Db, table: &str) {
    let create = format!("CREATE TABLE {table} (id BIGINT PRIMARY KEY, phone TEXT NOT NULL)");
    let insert = format!("INSERT INTO {table} (id, phone) VALUES ($1, $2)");
    let select = format!("SELECT id, phone FROM {table} WHERE id = $1");
    // Untraced: the table exists before the call.
    with_db!(db, pool => sqlx::query(sqlx::AssertSqlSafe(create.clone())).execute(pool).await.map(|_| ()))
        .expect("create");
    let call = tracing::info_span!("call");
    async {
        with_db!(db, pool => sqlx::query(sqlx::AssertSqlSafe(insert.clone())).bind(7_i64).bind(SECRET_PHONE).execute(pool).await.map(|_| ()))
            .expect("insert");
        let rows: Vec<(i64, String)> = with_db!(db, pool => sqlx::query_as(sqlx::AssertSqlSafe(select.clone())).bind(7_i64).fetch_all(pool).await)
            .expect("select");
        assert_eq!(rows.len(), 1);
    }
    .instrument(call)
    .await;
}

fn check(spans: &[SpanData], table: &str, system: Option<&str>) {
    let call = spans.iter().find(|s| s.name == "call").expect("call span");
    let insert_name = format!("INSERT {table}");
    let select_name = format!("SELECT {table}");
    for name in [&insert_name, &select_name] {
        let span = spans
            .iter()
            .find(|s| s.name == name.as_str())
            .unwrap_or_else(|| {
                let names: Vec<_> = spans.iter().map(|s| s.name.to_string()).collect();
                panic!("no span {name}; have {names:?}")
            });
        assert_eq!(span.span_kind, SpanKind::Client, "{name}");
        assert_eq!(span.parent_span_id, call.span_context.span_id(), "{name}");
        assert_eq!(
            span.span_context.trace_id(),
            call.span_context.trace_id(),
            "{name}"
        );
        assert_eq!(
            attribute(span, "db.query.summary").as_deref(),
            Some(name.as_str())
        );
        assert_eq!(
            attribute(span, "db.collection.name").as_deref(),
            Some(table)
        );
        let text = attribute(span, "db.query.text").expect("db.query.text");
        assert!(text.contains(table) && text.contains("$1"), "{text}");
        for kv in &span.attributes {
            assert!(
                !kv.value.to_string().contains(SECRET_PHONE),
                "a bound value reached the span: {kv:?}"
            );
        }
        if let Some(system) = system {
            assert_eq!(attribute(span, "db.system.name").as_deref(), Some(system));
        }
        assert!(span.start_time <= span.end_time);
    }
    let select = spans
        .iter()
        .find(|s| s.name == select_name.as_str())
        .expect("select");
    assert_eq!(
        attribute(select, "db.response.returned_rows").as_deref(),
        Some("1")
    );
    assert!(
        !spans.iter().any(|s| s.name.starts_with("CREATE")),
        "a statement outside any traced operation started a trace"
    );
}

#[tokio::test]
async fn database_spans_follow_the_database_conventions_on_both_backends() {
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(exporter.clone())
        .build();
    let subscriber = tracing_subscriber::registry()
        .with(otel_layer(&provider, DEFAULT_TRACE_FILTER).expect("layer"))
        .with(db_span_layer(&provider, true));
    // Global, as in production: SQLite runs statements on its own worker thread.
    tracing::subscriber::set_global_default(subscriber).expect("the only subscriber");

    // SQLite first: the process's backend is the first one opened.
    let file = std::env::temp_dir().join(format!(
        "{}.db",
        pingan_platform::testing::unique_name("db_spans")
    ));
    let url = format!("sqlite://{}", file.display());
    let db = Db::connect(&url, &PoolSettings::default())
        .await
        .expect("sqlite");
    assert_eq!(Backend::from_url(&url).expect("backend"), Backend::Sqlite);
    traffic(&db, "db_spans_sqlite").await;
    check(
        &wait_for_spans(&exporter, &["call"]).await,
        "db_spans_sqlite",
        Some("sqlite"),
    );
    db.close().await;
    let _ = std::fs::remove_file(&file);

    exporter.reset();
    let admin_url = std::env::var(DATABASE_URL_VAR)
        .unwrap_or_else(|_| panic!("{DATABASE_URL_VAR} must name the test Postgres"));
    let db = Db::connect(&admin_url, &PoolSettings::default())
        .await
        .expect("postgres");
    let table = pingan_platform::testing::unique_name("db_spans_pg");
    traffic(&db, &table).await;
    check(&wait_for_spans(&exporter, &["call"]).await, &table, None);
    let drop = format!("DROP TABLE {table}");
    with_db!(&db, pool => sqlx::query(sqlx::AssertSqlSafe(drop)).execute(pool).await.map(|_| ()))
        .expect("drop");
    db.close().await;
}
