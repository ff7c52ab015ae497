//! The intake harness over the fake peers: intake alone in a cluster on a manual clock, a
//! dispatcher client, events delivered to its inbox, the routing job worker driven by hand.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use pingan_platform::auth::Role;
use pingan_platform::clock::ManualClock;
use pingan_proto::common::v1::{Actor, Channel, GeoPoint};
use pingan_proto::dispatch::v1::{
    DispatchTimelineEvent, TimelineEntry as DispatchEntry, TimelineEntryKind as DispatchKind,
};
use pingan_proto::events::v1::event_sink_service_client::EventSinkServiceClient;
use pingan_proto::events::v1::{DeliverRequest, EventEnvelope};
use pingan_proto::intake::v1::intake_service_client::IntakeServiceClient;
use pingan_proto::intake::v1::{
    GetIncidentRequest, GetIncidentTimelineRequest, Incident, IncidentStatus, ReportCallRequest,
    ReportCallResponse, TimelineEntryKind,
};
use pingan_tests::{Bearer, Service, TestBackend, TestCluster, Topology};
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel as GrpcChannel;

use super::{FakePeers, STATION, UNIT};

pub type Client = IntakeServiceClient<InterceptedService<GrpcChannel, Bearer>>;

pub const PHONE: &str = "18247856977";

pub fn start_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 20, 2, 0, 0)
        .single()
        .expect("valid time")
}

pub struct Harness {
    pub cluster: TestCluster,
    pub fakes: FakePeers,
    pub clock: ManualClock,
    pub dispatcher: Client,
}

impl Harness {
    pub async fn start(backend: TestBackend) -> Harness {
        let fakes = FakePeers::start().await.expect("fakes");
        let clock = ManualClock::new(start_time());
        let cluster = TestCluster::start_with_peers(
            backend,
            &[Service::Intake],
            Topology::PortPerService,
            Arc::new(clock.clone()),
            &fakes.urls(),
        )
        .await
        .expect("cluster");
        let dispatcher = client(&cluster, "dispatcher-1", &[Role::Dispatcher], &[STATION]);
        Harness {
            cluster,
            fakes,
            clock,
            dispatcher,
        }
    }

    pub async fn report(&mut self, request: ReportCallRequest) -> ReportCallResponse {
        self.dispatcher
            .report_call(request)
            .await
            .expect("report call")
            .into_inner()
    }

    pub async fn incident(&mut self, id: &str) -> Incident {
        self.dispatcher
            .get_incident(GetIncidentRequest {
                incident_id: id.into(),
                ..Default::default()
            })
            .await
            .expect("get incident")
            .into_inner()
            .incident
            .expect("incident")
    }

    pub async fn timeline(&mut self, id: &str) -> Vec<pingan_proto::intake::v1::TimelineEntry> {
        self.dispatcher
            .get_incident_timeline(GetIncidentTimelineRequest {
                incident_id: id.into(),
            })
            .await
            .expect("timeline")
            .into_inner()
            .entries
    }

    pub async fn deliver<M: prost::Name>(
        &self,
        source: &str,
        event_id: &str,
        aggregate: &str,
        message: &M,
    ) -> bool {
        let token = self
            .cluster
            .token(source, &[Role::Service], &[])
            .expect("token");
        let channel = self
            .cluster
            .channel_as(Service::Intake, &token)
            .expect("channel");
        let envelope = EventEnvelope {
            event_id: event_id.into(),
            event_type: M::full_name(),
            source: source.into(),
            aggregate_id: aggregate.into(),
            sequence: 1,
            occurred_at: None,
            traceparent: String::new(),
            tracestate: String::new(),
            payload: Some(prost_types::Any {
                type_url: M::type_url(),
                value: message.encode_to_vec(),
            }),
        };
        EventSinkServiceClient::new(channel)
            .deliver(DeliverRequest {
                event: Some(envelope),
                destination: "intake".into(),
            })
            .await
            .expect("deliver")
            .into_inner()
            .duplicate
    }

    /// Runs the routing job worker until the incident leaves `waiting` (the background ticker may win).
    pub async fn complete_until(&mut self, id: &str, waiting: &[IncidentStatus]) -> Incident {
        let context = self
            .cluster
            .context(Service::Intake)
            .expect("context")
            .clone();
        let completer =
            pingan_intake::job_worker(&context, pingan_intake::IntakeSettings::default());
        for _ in 0..50 {
            completer.run_once().await.expect("completer round");
            let incident = self.incident(id).await;
            if !waiting.iter().any(|s| *s as i32 == incident.status) {
                return incident;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("incident {id} still waiting");
    }

    pub async fn shutdown(self) {
        self.cluster.shutdown().await.expect("shutdown");
        self.fakes.shutdown().await.expect("fakes shutdown");
    }
}

pub fn client(cluster: &TestCluster, subject: &str, roles: &[Role], stations: &[&str]) -> Client {
    let token = cluster.token(subject, roles, stations).expect("token");
    IntakeServiceClient::new(
        cluster
            .channel_as(Service::Intake, &token)
            .expect("channel"),
    )
}

pub fn call(request_id: &str, description: &str, lat: f64, lon: f64) -> ReportCallRequest {
    ReportCallRequest {
        request_id: request_id.into(),
        channel: Channel::Channel110 as i32,
        source_call_id: format!("110-{request_id}"),
        caller_phone: PHONE.into(),
        caller_name: "王先生".into(),
        location: Some(GeoPoint { lat, lon }),
        address: "城南路 12 号".into(),
        description: description.into(),
        ..Default::default()
    }
}

pub fn ts(at: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: at.timestamp(),
        nanos: 0,
    }
}

pub fn kinds(entries: &[pingan_proto::intake::v1::TimelineEntry]) -> Vec<TimelineEntryKind> {
    entries
        .iter()
        .map(|e| TimelineEntryKind::try_from(e.kind).expect("kind"))
        .collect()
}

pub fn dispatch_entry(
    incident_id: &str,
    kind: DispatchKind,
    at: DateTime<Utc>,
    text: &str,
) -> DispatchTimelineEvent {
    DispatchTimelineEvent {
        entry: Some(DispatchEntry {
            entry_id: format!("de-{}", kind as i32),
            dispatch_id: format!("d-{incident_id}"),
            incident_id: incident_id.into(),
            kind: kind as i32,
            occurred_at: Some(ts(at)),
            unit_id: UNIT.into(),
            actor: Some(Actor {
                subject: "off-chengnan-1".into(),
                role: "station_officer".into(),
                display_name: String::new(),
            }),
            description: text.into(),
            ..Default::default()
        }),
        priority: pingan_proto::common::v1::Priority::P2 as i32,
        station_id: STATION.into(),
    }
}

pub async fn pending_events(
    context: &pingan_platform::ServiceContext,
    destination: &str,
) -> Vec<String> {
    const SQL: &str = "SELECT e.event_type FROM pingan_outbox_deliveries d \
        JOIN pingan_outbox_events e ON e.id = d.event_row_id WHERE d.destination = $1";
    pingan_platform::with_db!(&context.db, pool => sqlx::query_scalar::<_, String>(SQL)
        .bind(destination)
        .fetch_all(pool)
        .await)
    .expect("outbox query")
}
