//! PII proof: the story flows (a 110 call with the caller's number and exact location through
//! intake, triage, dispatch and grid-registry; the demo jurisdiction's residents loaded with
//! their phone and ID numbers; an ID-number lookup) run with every log event's fields and every
//! span's attributes captured in this process, and none holds a clear phone number, ID number
//! or the caller's exact coordinates. A unit check shows the scan catches a planted one.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod dispatch_support;
mod stories_support;

use std::fmt::Write as _;
use std::sync::{Arc, Mutex, OnceLock};

use pingan_proto::dispatch::v1 as dpb;
use pingan_proto::grid::v1 as gpb;
use pingan_tests::{TestBackend, backend_tests};
use stories_support::*;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;

/// Every captured line: `event <target> <fields>` or `span <name> <fields>`.
type Lines = Arc<Mutex<Vec<String>>>;

/// Writes every field of an event or span as ` name=value`.
struct Fields(String);

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let _ = write!(self.0, " {}={:?}", field.name(), value);
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        let _ = write!(self.0, " {}={}", field.name(), value);
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        let _ = write!(self.0, " {}={}", field.name(), value);
    }
}

/// A layer keeping every event field and span attribute (at creation and recorded later).
struct Capture(Lines);

impl Capture {
    fn push(&self, line: String) {
        if let Ok(mut lines) = self.0.lock() {
            lines.push(line);
        }
    }
}

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Capture {
    fn on_new_span(&self, attrs: &Attributes<'_>, _id: &Id, _ctx: Context<'_, S>) {
        let mut fields = Fields(format!("span {}", attrs.metadata().name()));
        attrs.record(&mut fields);
        self.push(fields.0);
    }
    fn on_record(&self, _id: &Id, values: &Record<'_>, _ctx: Context<'_, S>) {
        let mut fields = Fields("span-record".into());
        values.record(&mut fields);
        self.push(fields.0);
    }
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let mut fields = Fields(format!("event {}", event.metadata().target()));
        event.record(&mut fields);
        self.push(fields.0);
    }
}

/// The process-wide capture (every test thread and every runtime worker), installed once:
/// everything of Pingan's crates down to TRACE, everything else down to DEBUG.
fn global_capture() -> Lines {
    static LINES: OnceLock<Lines> = OnceLock::new();
    LINES
        .get_or_init(|| {
            let lines = Lines::default();
            let filter = Targets::new()
                .with_default(LevelFilter::DEBUG)
                .with_target("pingan", LevelFilter::TRACE);
            let subscriber =
                tracing_subscriber::registry().with(Capture(lines.clone()).with_filter(filter));
            tracing::subscriber::set_global_default(subscriber).expect("first subscriber");
            lines
        })
        .clone()
}

/// Clear values that must never be logged.
fn forbidden() -> Vec<String> {
    let jurisdiction: serde_json::Value =
        serde_json::from_str(include_str!("../../../shared/data/jurisdiction.json")).unwrap();
    let mut values = vec!["13812345678".to_owned()];
    for resident in jurisdiction["residents"].as_array().unwrap() {
        for key in ["id_number", "phone"] {
            if let Some(value) = resident[key].as_str()
                && !value.is_empty()
            {
                values.push(value.to_owned());
            }
        }
    }
    // The caller's exact position, as Rust prints it and to the metre (5 decimals).
    let at = scene();
    for degrees in [at.lat, at.lon] {
        values.push(format!("{degrees}"));
        values.push(format!("{degrees:.5}"));
    }
    values
}

/// The captured lines holding any forbidden value, with the value found.
fn leaks(lines: &[String], forbidden: &[String]) -> Vec<(String, String)> {
    lines
        .iter()
        .flat_map(|line| {
            forbidden
                .iter()
                .filter(|value| line.contains(value.as_str()))
                .map(|value| (value.clone(), line.clone()))
        })
        .collect()
}

async fn no_clear_pii_in_logs_or_spans(backend: TestBackend) {
    let lines = global_capture();
    let stories = Stories::start(backend).await;
    let mut call_taker = stories.call_taker();
    let mut room = stories.command_room();
    let response = call_taker
        .report_call(call_110(
            &format!("pii-call-{backend:?}"),
            "我的手机落在出租车上了，车牌藏C·T1234，十分钟前在城南路下的车",
        ))
        .await
        .expect("report call")
        .into_inner();
    let incident_id = response.incident_id.clone();
    let dispatch_id = response.dispatch_id.clone();
    assert!(!dispatch_id.is_empty(), "{response:#?}");
    // The command room reads the incident with the caller's number in clear.
    let read = incident(&mut room, &incident_id).await;
    assert_eq!(read.incident_id, incident_id);
    let mut officer = stories.officer(NEAREST_OFFICER);
    let step = |n: &str| format!("pii-{backend:?}-{n}");
    officer
        .acknowledge(dpb::AcknowledgeRequest {
            request_id: step("ack"),
            dispatch_id: dispatch_id.clone(),
            unit_id: NEAREST.into(),
            note: "收到".into(),
        })
        .await
        .expect("acknowledge");
    officer
        .mark_on_scene(dpb::MarkOnSceneRequest {
            request_id: step("on-scene"),
            dispatch_id: dispatch_id.clone(),
            unit_id: NEAREST.into(),
            location: Some(scene()),
            ..Default::default()
        })
        .await
        .expect("on scene");
    wait_incident(&mut room, &incident_id, "went ON_SCENE", |i| {
        i.status() == pingan_proto::intake::v1::IncidentStatus::OnScene
    })
    .await;
    // An ID-number lookup in grid-registry (a found ID card), answered or refused: either way
    // the number must not be logged.
    let forbidden = forbidden();
    let id_number = forbidden
        .iter()
        .find(|v| v.len() == 18)
        .cloned()
        .expect("a resident with an ID number");
    let _ = stories
        .grid()
        .find_resident_by_id_number(gpb::FindResidentByIdNumberRequest {
            id_number,
            purpose: 1,
            reason: "拾获身份证归还失主".into(),
            ..Default::default()
        })
        .await;
    stories.shutdown().await;

    let captured = lines.lock().unwrap().clone();
    assert!(
        captured.len() > 100,
        "the capture saw the run: {} lines",
        captured.len()
    );
    assert!(
        captured.iter().any(|l| l.contains(&incident_id)),
        "the capture saw this incident's own logs"
    );
    let found = leaks(&captured, &forbidden);
    assert!(
        found.is_empty(),
        "clear PII in {} captured lines, e.g. {:#?}",
        found.len(),
        found.iter().take(5).collect::<Vec<_>>()
    );
}

backend_tests!(no_clear_pii_in_logs_or_spans);

/// The scan is not blind: a clear number planted in an event field and in a span attribute is
/// found, and the masked form is not.
#[test]
fn a_planted_clear_number_is_caught() {
    let lines = Lines::default();
    let subscriber = tracing_subscriber::registry().with(Capture(lines.clone()));
    tracing::subscriber::with_default(subscriber, || {
        let span = tracing::info_span!("call", caller = tracing::field::Empty);
        span.record("caller", "18247856977");
        let _entered = span.enter();
        tracing::info!(phone = "138****5678", "masked is fine");
        tracing::warn!(id = %"540523194701041012", "planted");
        tracing::debug!(lat = scene().lat, "planted position");
    });
    let captured = lines.lock().unwrap().clone();
    let found: Vec<String> = leaks(&captured, &forbidden())
        .into_iter()
        .map(|(value, _)| value)
        .collect();
    assert!(found.contains(&"18247856977".to_owned()), "{captured:?}");
    assert!(
        found.contains(&"540523194701041012".to_owned()),
        "{captured:?}"
    );
    assert!(found.contains(&format!("{}", scene().lat)), "{captured:?}");
    assert!(!found.iter().any(|v| v.contains('*')));
}
