//! The seed stories across the real services: a cluster of intake, grid-registry, triage (with
//! the in-process 12345 simulator) and dispatch, the demo jurisdiction loaded through the public
//! APIs, units placed around Chengnan, clients with tokens, and bounded polling helpers.

#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use pingan_platform::auth::Role;
use pingan_proto::common::v1::GeoPoint;
use pingan_proto::dispatch::v1 as dpb;
use pingan_proto::dispatch::v1::dispatch_service_client::DispatchServiceClient;
use pingan_proto::grid::v1::grid_registry_service_client::GridRegistryServiceClient;
use pingan_proto::intake::v1 as ipb;
use pingan_proto::intake::v1::intake_service_client::IntakeServiceClient;
use pingan_proto::triage::v1::triage_service_client::TriageServiceClient;
use pingan_tests::{Bearer, ClusterOptions, Service, TestBackend, TestCluster, Topology};
use pingan_triage::{HotlineSimulator, TriageConfig};
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

use crate::dispatch_support::{self, import_units, offset, origin, place};

pub type Intake = IntakeServiceClient<InterceptedService<Channel, Bearer>>;
pub type Dispatch = DispatchServiceClient<InterceptedService<Channel, Bearer>>;
pub type Triage = TriageServiceClient<InterceptedService<Channel, Bearer>>;
pub type Grid = GridRegistryServiceClient<InterceptedService<Channel, Bearer>>;

pub const STATION: &str = "st-chengnan";
pub const GRID: &str = "st-chengnan-g1";
/// The unit placed nearest to [`scene`] (officer st-chengnan-o1).
pub const NEAREST: &str = "u-st-chengnan-o1";
pub const NEAREST_OFFICER: &str = "st-chengnan-o1";

const JURISDICTION: &str = include_str!("../../../../shared/data/jurisdiction.json");

/// The running services and the simulated 12345 platform.
pub struct Stories {
    pub cluster: TestCluster,
    pub simulator: HotlineSimulator,
}

/// A point inside grid st-chengnan-g1 (its south-west corner is the station's origin).
pub fn scene() -> GeoPoint {
    offset(origin(STATION), 500.0, 500.0)
}

impl Stories {
    /// Starts the four services, loads the jurisdiction (stations, grids, officers, residents
    /// into grid-registry; units into dispatch) and places Chengnan's units around [`scene`].
    pub async fn start(backend: TestBackend) -> Self {
        let clock = pingan_platform::clock::system();
        let simulator = HotlineSimulator::new(clock.clone());
        let cluster = TestCluster::start_with_options(
            backend,
            &[
                Service::Intake,
                Service::GridRegistry,
                Service::Triage,
                Service::Dispatch,
            ],
            Topology::PortPerService,
            clock,
            ClusterOptions {
                triage: Some(TriageConfig {
                    delivery_poll: Duration::from_millis(50),
                    retry_initial: Duration::from_millis(100),
                    retry_max: Duration::from_secs(1),
                    call_timeout: Duration::from_secs(3),
                    simulator: Some(simulator.clone()),
                    ..TriageConfig::default()
                }),
                ..ClusterOptions::default()
            },
        )
        .await
        .expect("cluster");
        let admin = cluster.token("admin", &[Role::Admin], &[]).expect("token");
        let report = pingan::registry_import::import(
            cluster.channel(Service::GridRegistry).expect("channel"),
            None,
            Some(&admin),
            JURISDICTION,
        )
        .await
        .expect("registry import");
        assert_eq!((report.stations, report.grids), (3, 18));
        let mut command = dispatch_support::command_center(&cluster).await;
        assert_eq!(import_units(&mut command).await.len(), 18);
        let now = chrono::Utc::now();
        let scene = (scene().lat, scene().lon);
        for (unit, north, east) in [
            (NEAREST, 200.0, 100.0),
            ("u-st-chengnan-o2", 1_200.0, 900.0),
            ("u-st-chengnan-o3", -1_500.0, 2_000.0),
            ("u-st-chengnan-o4", 2_500.0, -400.0),
            ("u-st-chengnan-car1", 3_000.0, 3_000.0),
        ] {
            place(&mut command, unit, offset(scene, north, east), now).await;
        }
        Self { cluster, simulator }
    }

    pub fn intake(&self, subject: &str, roles: &[Role]) -> Intake {
        let token = self.cluster.token(subject, roles, &[]).expect("token");
        IntakeServiceClient::new(
            self.cluster
                .channel_as(Service::Intake, &token)
                .expect("channel"),
        )
    }

    /// The 110 call-taking platform.
    pub fn call_taker(&self) -> Intake {
        self.intake("110-platform", &[Role::CallIntegrator])
    }

    /// The command room (reads incidents with every field).
    pub fn command_room(&self) -> Intake {
        self.intake("command-1", &[Role::CommandCenter, Role::Dispatcher])
    }

    /// An officer of Chengnan station on dispatch.
    pub fn officer(&self, officer_id: &str) -> Dispatch {
        let token = self
            .cluster
            .token(officer_id, &[Role::StationOfficer], &[STATION])
            .expect("token");
        DispatchServiceClient::new(
            self.cluster
                .channel_as(Service::Dispatch, &token)
                .expect("channel"),
        )
    }

    pub fn triage(&self, subject: &str, roles: &[Role]) -> Triage {
        let token = self.cluster.token(subject, roles, &[]).expect("token");
        TriageServiceClient::new(
            self.cluster
                .channel_as(Service::Triage, &token)
                .expect("channel"),
        )
    }

    pub fn grid(&self) -> Grid {
        let token = self
            .cluster
            .token("command-1", &[Role::CommandCenter], &[])
            .expect("token");
        GridRegistryServiceClient::new(
            self.cluster
                .channel_as(Service::GridRegistry, &token)
                .expect("channel"),
        )
    }

    pub async fn shutdown(self) {
        self.cluster.shutdown().await.expect("shutdown");
    }
}

/// A 110 call at [`scene`].
pub fn call_110(request_id: &str, description: &str) -> ipb::ReportCallRequest {
    ipb::ReportCallRequest {
        request_id: request_id.into(),
        channel: pingan_proto::common::v1::Channel::Channel110 as i32,
        source_call_id: format!("110-{request_id}"),
        caller_phone: "13812345678".into(),
        caller_name: "张女士".into(),
        location: Some(scene()),
        address: "桑珠孜区城南路 8 号".into(),
        description: description.into(),
        ..Default::default()
    }
}

/// A 110 call `n` km north of [`scene`]: calls of one test that are never linked as one event.
pub fn call_110_apart(n: usize, request_id: &str, description: &str) -> ipb::ReportCallRequest {
    let mut call = call_110(request_id, description);
    call.location = Some(offset((scene().lat, scene().lon), n as f64 * 1_000.0, 0.0));
    call
}

/// Reports [`call_110_apart`] and returns the answer with its classification.
pub async fn report_apart(
    call_taker: &mut Intake,
    n: usize,
    request_id: &str,
    description: &str,
) -> (
    ipb::ReportCallResponse,
    pingan_proto::triage::v1::Classification,
) {
    let response = call_taker
        .report_call(call_110_apart(n, request_id, description))
        .await
        .expect("report call")
        .into_inner();
    let classification = response.classification.clone().expect("classification");
    (response, classification)
}

pub async fn incident(intake: &mut Intake, id: &str) -> ipb::Incident {
    intake
        .get_incident(ipb::GetIncidentRequest {
            incident_id: id.into(),
            ..Default::default()
        })
        .await
        .expect("get incident")
        .into_inner()
        .incident
        .expect("incident")
}

pub async fn timeline(intake: &mut Intake, id: &str) -> Vec<ipb::TimelineEntry> {
    intake
        .get_incident_timeline(ipb::GetIncidentTimelineRequest {
            incident_id: id.into(),
        })
        .await
        .expect("timeline")
        .into_inner()
        .entries
}

pub fn kinds(entries: &[ipb::TimelineEntry]) -> Vec<ipb::TimelineEntryKind> {
    entries.iter().map(|e| e.kind()).collect()
}

/// Polls (real time, at most 15 s) until the incident satisfies `done`.
pub async fn wait_incident(
    intake: &mut Intake,
    id: &str,
    what: &str,
    done: impl Fn(&ipb::Incident) -> bool,
) -> ipb::Incident {
    let mut last = None;
    for _ in 0..150 {
        let current = incident(intake, id).await;
        if done(&current) {
            return current;
        }
        last = Some(current);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("incident {id} never {what}: {last:#?}");
}

/// Polls (real time, at most 15 s) until the timeline holds an entry of `kind` (matching `also`).
pub async fn wait_entry(
    intake: &mut Intake,
    id: &str,
    kind: ipb::TimelineEntryKind,
    also: impl Fn(&ipb::TimelineEntry) -> bool,
) -> Vec<ipb::TimelineEntry> {
    let mut last = Vec::new();
    for _ in 0..150 {
        let entries = timeline(intake, id).await;
        if entries.iter().any(|e| e.kind() == kind && also(e)) {
            return entries;
        }
        last = entries;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timeline of {id} never got {kind:?}: {:?}", kinds(&last));
}

/// Polls (real time, at most 15 s) until the dispatch satisfies `done`.
pub async fn wait_dispatch(
    client: &mut Dispatch,
    id: &str,
    what: &str,
    done: impl Fn(&dpb::Dispatch) -> bool,
) -> dpb::Dispatch {
    let mut last = None;
    for _ in 0..150 {
        let current = client
            .get_dispatch(dpb::GetDispatchRequest {
                dispatch_id: id.into(),
            })
            .await
            .expect("get dispatch")
            .into_inner()
            .dispatch
            .expect("dispatch");
        if done(&current) {
            return current;
        }
        last = Some(current);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("dispatch {id} never {what}: {last:#?}");
}

/// Polls (real time, at most 15 s) until `probe` returns something.
pub async fn eventually<T, F: std::future::Future<Output = Option<T>>>(
    what: &str,
    mut probe: impl FnMut() -> F,
) -> T {
    for _ in 0..150 {
        if let Some(value) = probe().await {
            return value;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("never happened: {what}");
}

/// Shared handle to the simulator, for closures.
pub fn simulator(stories: &Stories) -> Arc<HotlineSimulator> {
    Arc::new(stories.simulator.clone())
}

/// A 12345 push of police business from 李先生, located by `address` only.
pub fn hotline_ticket(
    id: &str,
    description: &str,
    address: &str,
) -> pingan_proto::triage::v1::ReceiveHotlineTicketRequest {
    pingan_proto::triage::v1::ReceiveHotlineTicketRequest {
        request_id: format!("push-{id}"),
        hotline_ticket_id: id.into(),
        description: description.into(),
        caller_phone: "13700002222".into(),
        caller_name: "李先生".into(),
        address: address.into(),
        department: "12345 热线".into(),
        ..Default::default()
    }
}

/// The fields an INVALID_ARGUMENT names (google.rpc.BadRequest).
pub fn fields(status: &tonic::Status) -> Vec<String> {
    use tonic_types::StatusExt as _;
    assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");
    status
        .get_details_bad_request()
        .map(|b| b.field_violations.into_iter().map(|v| v.field).collect())
        .unwrap_or_default()
}
