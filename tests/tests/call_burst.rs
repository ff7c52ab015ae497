//! Calls about one event arriving together, across the REAL intake, grid-registry, triage and
//! dispatch on SQLite and on Postgres + Redis (demo jurisdiction loaded through the public APIs):
//! ten simultaneous callers per round, or ten calls taken while triage is down. Every call ends on
//! exactly one live incident, every incident id ever answered resolves to it, one dispatch per
//! event, and a retry of any request returns the first answer. Past 500 lines: the bursts share
//! one cluster fixture and one set of end-state checks, kept beside them.

mod dispatch_support;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use dispatch_support::{import_units, offset, origin, place};
use pingan_platform::auth::Role;
use pingan_platform::clock::{Clock, ManualClock};
use pingan_platform::testing::TcpProxy;
use pingan_proto::common::v1::{Channel, GeoPoint};
use pingan_proto::dispatch::v1 as dpb;
use pingan_proto::events::v1::event_sink_service_client::EventSinkServiceClient;
use pingan_proto::events::v1::{DeliverRequest, EventEnvelope};
use pingan_proto::intake::v1 as ipb;
use pingan_proto::intake::v1::intake_service_client::IntakeServiceClient;
use pingan_proto::intake::v1::{IncidentStatus, Outcome};
use pingan_tests::{Bearer, ClusterOptions, Service, TestBackend, TestCluster, Topology};
use tonic::service::interceptor::InterceptedService;

type Intake = IntakeServiceClient<InterceptedService<tonic::transport::Channel, Bearer>>;

pingan_tests::backend_tests!(
    bursts_of_calls_about_one_event_end_on_one_incident_with_one_dispatch,
    calls_taken_while_triage_is_down_are_linked_when_it_returns,
    an_earlier_call_classified_later_joins_the_event_and_its_id_keeps_resolving,
    repeats_racing_the_first_request_get_its_answer,
);

const STATION: &str = "st-chengnan";
const ROUNDS: usize = 20;
const CALLERS: usize = 10;
const FIGHT: &str = "城南路口有一伙人在打架，打起来了，快来人";

fn start_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 20, 2, 0, 0)
        .single()
        .expect("valid time")
}

/// The four services with triage behind a [`TcpProxy`], on a manual clock.
struct Burst {
    cluster: TestCluster,
    triage: TcpProxy,
    clock: ManualClock,
    /// The 110 call-taking platform.
    intake: Intake,
    /// The command room (reads every incident).
    room: Intake,
    dispatch: dispatch_support::Client,
}

impl Burst {
    async fn start(backend: TestBackend) -> Self {
        let triage = TcpProxy::unpointed().await.expect("proxy");
        let clock = ManualClock::new(start_time());
        let cluster = TestCluster::start_with_options(
            backend,
            &[
                Service::Intake,
                Service::GridRegistry,
                Service::Triage,
                Service::Dispatch,
            ],
            Topology::PortPerService,
            Arc::new(clock.clone()),
            ClusterOptions {
                peers: BTreeMap::from([("triage".to_owned(), triage.url())]),
                ..ClusterOptions::default()
            },
        )
        .await
        .expect("cluster");
        triage.point_at(&cluster.endpoint(Service::Triage).expect("triage"));
        let admin = cluster.token("admin", &[Role::Admin], &[]).expect("token");
        pingan::registry_import::import(
            cluster.channel(Service::GridRegistry).expect("channel"),
            None,
            Some(&admin),
            include_str!("../../../shared/data/jurisdiction.json"),
        )
        .await
        .expect("registry import");
        let mut dispatch = dispatch_support::command_center(&cluster).await;
        import_units(&mut dispatch).await;
        for (n, unit) in ["o1", "o2", "o3", "o4", "car1"].iter().enumerate() {
            let at = offset(origin(STATION), 500.0 + 700.0 * n as f64, 600.0 * n as f64);
            place(
                &mut dispatch,
                &format!("u-{STATION}-{unit}"),
                at,
                clock.now(),
            )
            .await;
        }
        let intake = intake_as(&cluster, "110-platform", &[Role::CallIntegrator]);
        let room = intake_as(
            &cluster,
            "command-1",
            &[Role::CommandCenter, Role::Dispatcher],
        );
        Self {
            cluster,
            triage,
            clock,
            intake,
            room,
            dispatch,
        }
    }

    /// Sends every request at once; the answers in the same order.
    async fn report_all(
        &self,
        requests: &[ipb::ReportCallRequest],
    ) -> Vec<ipb::ReportCallResponse> {
        let calls = requests.iter().cloned().map(|request| {
            let mut intake = self.intake.clone();
            async move { intake.report_call(request).await }
        });
        futures::future::join_all(calls)
            .await
            .into_iter()
            .map(|answer| answer.expect("report call").into_inner())
            .collect()
    }

    async fn incident(&self, id: &str) -> ipb::Incident {
        self.room
            .clone()
            .get_incident(ipb::GetIncidentRequest {
                incident_id: id.into(),
                ..Default::default()
            })
            .await
            .unwrap_or_else(|status| panic!("incident {id} does not resolve: {status:?}"))
            .into_inner()
            .incident
            .expect("incident")
    }

    /// Drives the routing job worker (and the clock past any retry time) until every answered incident
    /// resolves to one incident with a dispatch; returns it.
    async fn settle(&self, answered: &BTreeSet<String>) -> ipb::Incident {
        let context = self.cluster.context(Service::Intake).expect("context");
        let completer =
            pingan_intake::job_worker(&context, pingan_intake::IntakeSettings::default());
        let mut last = Vec::new();
        for _ in 0..100 {
            let mut roots = BTreeMap::new();
            for id in answered {
                let incident = self.incident(id).await;
                roots.insert(incident.incident_id.clone(), incident);
            }
            if let [(_, root)] = roots.into_iter().collect::<Vec<_>>().as_slice()
                && !root.dispatch_id.is_empty()
            {
                return root.clone();
            }
            last = answered.iter().cloned().collect();
            self.clock.advance(Duration::from_secs(60));
            completer.run_once().await.expect("completer round");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("answered incidents never settled on one dispatched incident: {last:?}");
    }

    /// Every dispatch opened so far.
    async fn dispatches(&self) -> Vec<dpb::Dispatch> {
        self.dispatch
            .clone()
            .list_dispatches(dpb::ListDispatchesRequest {
                page_size: 500,
                ..Default::default()
            })
            .await
            .expect("list dispatches")
            .into_inner()
            .dispatches
    }

    /// Every incident the command room lists (no page holds more than 500 here).
    async fn listed(&self) -> Vec<ipb::Incident> {
        self.room
            .clone()
            .list_incidents(ipb::ListIncidentsRequest {
                page_size: 500,
                ..Default::default()
            })
            .await
            .expect("list incidents")
            .into_inner()
            .incidents
    }

    /// Repeats every request: each answers with its first answer's incident and outcome.
    async fn retries_return_first_answers(
        &self,
        requests: &[ipb::ReportCallRequest],
        first: &[ipb::ReportCallResponse],
        root: &ipb::Incident,
    ) {
        let again = self.report_all(requests).await;
        for (first, again) in first.iter().zip(&again) {
            assert_eq!(
                (&again.incident_id, again.outcome(), &again.call_id),
                (&first.incident_id, first.outcome(), &first.call_id),
                "a retry returns the first answer"
            );
            assert_eq!(again.status(), root.status(), "current state: {again:?}");
            assert_eq!(
                again.dispatch_id, root.dispatch_id,
                "current state: {again:?}"
            );
        }
    }

    async fn shutdown(self) {
        self.triage.cut();
        self.cluster.shutdown().await.expect("shutdown");
    }
}

fn intake_as(cluster: &TestCluster, subject: &str, roles: &[Role]) -> Intake {
    let token = cluster.token(subject, roles, &[]).expect("token");
    IntakeServiceClient::new(
        cluster
            .channel_as(Service::Intake, &token)
            .expect("channel"),
    )
}

/// Spot of round `n`: a lattice over Chengnan's grids, 900 m or more apart (the duplicate
/// radius is 300 m).
fn spot(n: usize) -> (f64, f64) {
    let p = offset(
        origin(STATION),
        400.0 + 900.0 * (n / 5) as f64,
        400.0 + 1_100.0 * (n % 5) as f64,
    );
    (p.lat, p.lon)
}

/// Caller `n` of an event at `spot`: a few metres from the others, own phone and request id.
fn fight_call(request_id: &str, spot: (f64, f64), n: usize) -> ipb::ReportCallRequest {
    let GeoPoint { lat, lon } = offset(spot, (n % 4) as f64 * 2.0, (n / 4) as f64 * 3.0);
    ipb::ReportCallRequest {
        request_id: request_id.into(),
        channel: Channel::Channel110 as i32,
        source_call_id: format!("110-{request_id}"),
        caller_phone: format!("138{:08}", 10_000 + n),
        caller_name: format!("群众{n}"),
        location: Some(GeoPoint { lat, lon }),
        address: "桑珠孜区城南路口".into(),
        description: FIGHT.into(),
        ..Default::default()
    }
}

/// The event's calls are all on `root`, once each, and no other incident holds them.
fn calls_on_root(root: &ipb::Incident, answers: &[ipb::ReportCallResponse]) {
    let on_root: Vec<&str> = root.calls.iter().map(|c| c.call_id.as_str()).collect();
    let unique: BTreeSet<&str> = on_root.iter().copied().collect();
    assert_eq!(
        unique.len(),
        on_root.len(),
        "a call listed twice: {on_root:?}"
    );
    for answer in answers {
        assert!(
            unique.contains(answer.call_id.as_str()),
            "call {} is not on {}: {on_root:?}",
            answer.call_id,
            root.incident_id
        );
    }
    assert_eq!(on_root.len(), answers.len(), "{on_root:?}");
    assert_eq!(
        root.calls.iter().filter(|c| !c.duplicate).count(),
        1,
        "one first call, the rest duplicates"
    );
}

async fn bursts_of_calls_about_one_event_end_on_one_incident_with_one_dispatch(
    backend: TestBackend,
) {
    let b = Burst::start(backend).await;
    let mut roots: BTreeMap<String, String> = BTreeMap::new();
    for round in 0..ROUNDS {
        let requests: Vec<_> = (0..CALLERS)
            .map(|n| fight_call(&format!("burst-{round}-{n}"), spot(round), n))
            .collect();
        let answers = b.report_all(&requests).await;
        let answered: BTreeSet<String> = answers.iter().map(|a| a.incident_id.clone()).collect();
        let root = b.settle(&answered).await;
        assert_eq!(root.status(), IncidentStatus::Dispatched, "{root:?}");
        calls_on_root(&root, &answers);
        for id in &answered {
            roots.insert(id.clone(), root.incident_id.clone());
        }

        // One dispatch for the event, opened for the incident every call is on.
        let dispatches = b.dispatches().await;
        assert_eq!(dispatches.len(), round + 1, "one dispatch per event");
        let for_event: Vec<_> = dispatches
            .iter()
            .filter(|d| answered.contains(&d.incident_id) || d.incident_id == root.incident_id)
            .collect();
        assert_eq!(for_event.len(), 1, "round {round}: {for_event:?}");
        assert_eq!(for_event[0].incident_id, root.incident_id);
        assert_eq!(for_event[0].dispatch_id, root.dispatch_id);

        // The command room lists one incident per event, with every call of it.
        let listed = b.listed().await;
        assert_eq!(listed.len(), round + 1, "linked incidents are not listed");
        assert!(listed.iter().all(|i| i.calls.len() == CALLERS));
        b.retries_return_first_answers(&requests, &answers, &root)
            .await;
    }
    // Ids answered in earlier rounds still resolve to their event's incident.
    for (id, root) in &roots {
        assert_eq!(&b.incident(id).await.incident_id, root);
    }
    b.shutdown().await;
}

async fn calls_taken_while_triage_is_down_are_linked_when_it_returns(backend: TestBackend) {
    let b = Burst::start(backend).await;
    b.triage.cut();
    let requests: Vec<_> = (0..CALLERS)
        .map(|n| fight_call(&format!("chaos-{n}"), spot(7), n))
        .collect();
    let answers = b.report_all(&requests).await;
    for answer in &answers {
        assert_eq!(
            answer.outcome(),
            Outcome::PendingClassification,
            "{answer:?}"
        );
        assert_eq!(answer.status(), IncidentStatus::New);
    }
    let answered: BTreeSet<String> = answers.iter().map(|a| a.incident_id.clone()).collect();
    assert_eq!(
        answered.len(),
        CALLERS,
        "each call saved as its own incident"
    );
    assert!(b.dispatches().await.is_empty());

    // Triage returns: the routing jobs classify them all; they become one incident, one dispatch.
    b.triage.restore();
    let root = b.settle(&answered).await;
    assert_eq!(root.status(), IncidentStatus::Dispatched, "{root:?}");
    calls_on_root(&root, &answers);
    let dispatches = b.dispatches().await;
    assert_eq!(dispatches.len(), 1, "{dispatches:?}");
    assert_eq!(dispatches[0].incident_id, root.incident_id);
    let listed = b.listed().await;
    assert_eq!(listed.len(), 1, "linked incidents are not listed");
    assert_eq!(listed[0].incident_id, root.incident_id);

    // Every answered id resolves (incident and timeline) to the incident the calls are on.
    for id in &answered {
        assert_eq!(b.incident(id).await.incident_id, root.incident_id);
        let timeline = b
            .room
            .clone()
            .get_incident_timeline(ipb::GetIncidentTimelineRequest {
                incident_id: id.clone(),
            })
            .await
            .expect("timeline")
            .into_inner();
        assert_eq!(timeline.incident_id, root.incident_id);
    }
    let linked = root.calls.iter().filter(|c| c.duplicate).count();
    assert_eq!(linked, CALLERS - 1);

    // Retries: the first answer (own incident id, PENDING_CLASSIFICATION), the state of now.
    b.retries_return_first_answers(&requests, &answers, &root)
        .await;
    let again = b.report_all(&requests).await;
    for answer in &again {
        assert_eq!(answer.outcome(), Outcome::PendingClassification);
        let expected = if answer.incident_id == root.incident_id {
            ""
        } else {
            root.incident_id.as_str()
        };
        assert_eq!(answer.duplicate_of, expected, "{answer:?}");
    }
    b.shutdown().await;
}

/// The first call of an event waits for triage while a second caller's call is classified and
/// dispatched: when triage answers the first, it is linked into the second's incident (no
/// second dispatch, whatever the order of arrival), and everything said about its id resolves.
async fn an_earlier_call_classified_later_joins_the_event_and_its_id_keeps_resolving(
    backend: TestBackend,
) {
    let b = Burst::start(backend).await;
    b.triage.cut();
    let early = fight_call("early", spot(3), 0);
    let [first] =
        <[_; 1]>::try_from(b.report_all(std::slice::from_ref(&early)).await).expect("one answer");
    assert_eq!(first.outcome(), Outcome::PendingClassification);
    b.triage.restore();
    b.clock.advance(Duration::from_secs(1));
    let late = fight_call("late", spot(3), 1);
    let [second] =
        <[_; 1]>::try_from(b.report_all(std::slice::from_ref(&late)).await).expect("one answer");
    assert_ne!(second.incident_id, first.incident_id);
    assert!(!second.dispatch_id.is_empty(), "{second:?}");

    let answered = BTreeSet::from([first.incident_id.clone(), second.incident_id.clone()]);
    let root = b.settle(&answered).await;
    assert_eq!(
        root.incident_id, second.incident_id,
        "the decided primary stays"
    );
    assert_eq!(
        root.linked_incident_ids,
        std::slice::from_ref(&first.incident_id)
    );
    let early_call = root
        .calls
        .iter()
        .find(|c| c.call_id == first.call_id)
        .expect("the early call is on the event's incident");
    assert!(early_call.duplicate);
    assert_eq!(early_call.first_incident_id, first.incident_id);
    assert_eq!(b.dispatches().await.len(), 1, "no second dispatch");
    let timeline = b
        .room
        .clone()
        .get_incident_timeline(ipb::GetIncidentTimelineRequest {
            incident_id: first.incident_id.clone(),
        })
        .await
        .expect("timeline of the linked id")
        .into_inner();
    assert_eq!(timeline.incident_id, root.incident_id);
    assert!(timeline.entries.iter().any(|e| {
        e.kind() == ipb::TimelineEntryKind::DuplicateCallLinked && e.related_id == first.call_id
    }));

    // An event about the linked id lands on the incident it was linked into.
    let on_scene = dpb::DispatchTimelineEvent {
        entry: Some(dpb::TimelineEntry {
            entry_id: "de-on-scene".into(),
            dispatch_id: root.dispatch_id.clone(),
            incident_id: first.incident_id.clone(),
            kind: dpb::TimelineEntryKind::OnScene as i32,
            unit_id: "u-st-chengnan-o4".into(),
            description: "on scene".into(),
            ..Default::default()
        }),
        ..Default::default()
    };
    deliver(&b.cluster, "ev-on-scene", &on_scene).await;
    assert_eq!(
        b.incident(&first.incident_id).await.status(),
        IncidentStatus::OnScene
    );
    let again = b.report_all(&[early]).await;
    assert_eq!(
        (&again[0].incident_id, again[0].outcome()),
        (&first.incident_id, Outcome::PendingClassification)
    );
    assert_eq!(again[0].duplicate_of, root.incident_id);
    assert_eq!(again[0].status(), IncidentStatus::OnScene);
    b.shutdown().await;
}

/// The same request sent several times at once (and the same source call under other request
/// ids): one call, and every answer is the first request's own.
async fn repeats_racing_the_first_request_get_its_answer(backend: TestBackend) {
    let b = Burst::start(backend).await;
    for round in 0..3 {
        let request = fight_call(&format!("race-{round}"), spot(10 + round), 0);
        let mut requests = vec![request.clone(); 6];
        requests.extend((0..4).map(|n| ipb::ReportCallRequest {
            request_id: format!("race-{round}-resent-{n}"),
            ..request.clone()
        }));
        let answers = b.report_all(&requests).await;
        let later = b.report_all(&requests[..1]).await;
        for answer in answers.iter().chain(&later) {
            assert_eq!(
                (&answer.incident_id, answer.outcome(), &answer.call_id),
                (
                    &answers[0].incident_id,
                    answers[0].outcome(),
                    &answers[0].call_id
                ),
                "round {round}"
            );
        }
        assert_eq!(
            answers[0].outcome(),
            Outcome::Dispatched,
            "{:?}",
            answers[0]
        );
    }
    assert_eq!(b.listed().await.len(), 3);
    assert_eq!(b.dispatches().await.len(), 3);
    b.shutdown().await;
}

/// Delivers `message` to intake's inbox as dispatch would.
async fn deliver<M: prost::Name>(cluster: &TestCluster, event_id: &str, message: &M) {
    let token = cluster
        .token("dispatch", &[Role::Service], &[])
        .expect("token");
    let channel = cluster
        .channel_as(Service::Intake, &token)
        .expect("channel");
    EventSinkServiceClient::new(channel)
        .deliver(DeliverRequest {
            event: Some(EventEnvelope {
                event_id: event_id.into(),
                event_type: M::full_name(),
                source: "dispatch".into(),
                aggregate_id: event_id.into(),
                sequence: 1,
                payload: Some(prost_types::Any {
                    type_url: M::type_url(),
                    value: message.encode_to_vec(),
                }),
                ..Default::default()
            }),
            destination: "intake".into(),
        })
        .await
        .expect("deliver");
}
