//! What the scenarios share: the verdict of one scenario, calls retried as an integrator retries
//! them, and the checks every fault ends with (incidents routed, no double booking, outboxes
//! drained).

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use pingan_bench::system::Grpc;
use pingan_proto::dispatch::v1::dispatch_service_client::DispatchServiceClient;
use pingan_proto::dispatch::v1::{AssignmentStatus, DispatchStatus, ListDispatchesRequest};
use pingan_proto::events::v1::GetOutboxStatsRequest;
use pingan_proto::intake::v1::intake_service_client::IntakeServiceClient;
use pingan_proto::intake::v1::{
    GetIncidentRequest, Incident, IncidentStatus, ListIncidentsRequest, ReportCallRequest,
    ReportCallResponse,
};

use crate::world::World;

/// The verdict of one scenario.
#[derive(Debug, Clone)]
pub struct Verdict {
    /// Its name.
    pub name: &'static str,
    /// Its figures (calls, incidents, double bookings, time to recover, …).
    pub figures: Vec<(String, String)>,
    /// What went wrong; empty when it passed.
    pub failures: Vec<String>,
}

impl Verdict {
    /// An empty verdict for scenario `name`.
    pub fn new(name: &'static str) -> Self {
        Self {
            name,
            figures: Vec::new(),
            failures: Vec::new(),
        }
    }

    /// Records a figure.
    pub fn figure(&mut self, name: &str, value: impl std::fmt::Display) {
        self.figures.push((name.to_owned(), value.to_string()));
    }

    /// Records a failure unless `ok`.
    pub fn check(&mut self, ok: bool, failure: impl Into<String>) {
        if !ok {
            self.failures.push(failure.into());
        }
    }

    /// True when nothing failed.
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }

    /// `name: figures` on one line.
    pub fn summary(&self) -> String {
        self.figures
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Milliseconds with one decimal.
pub fn ms(d: Duration) -> String {
    format!("{:.0} ms", d.as_secs_f64() * 1000.0)
}

/// The gRPC code name of a status.
pub fn code(status: &tonic::Status) -> String {
    format!("{:?}", status.code())
}

/// Sends `request` until intake answers (as an integrator does: same request_id, backoff),
/// within `limit`; the answer and the attempts it took.
pub async fn report_until_answered(
    client: &IntakeServiceClient<Grpc>,
    request: ReportCallRequest,
    limit: Duration,
) -> (Result<ReportCallResponse, String>, u32) {
    let started = Instant::now();
    let mut attempts = 0;
    let mut backoff = Duration::from_millis(200);
    loop {
        attempts += 1;
        let mut client = client.clone();
        let mut call = tonic::Request::new(request.clone());
        call.set_timeout(Duration::from_secs(10));
        match client.report_call(call).await {
            Ok(answer) => return (Ok(answer.into_inner()), attempts),
            Err(status) => {
                if started.elapsed() > limit {
                    return (
                        Err(format!("{}: {}", code(&status), status.message())),
                        attempts,
                    );
                }
            }
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(2));
    }
}

/// An incident is routed when it went somewhere: a dispatch, a 12345 transfer, a complaint, or
/// a decision that closes it.
pub fn routed(incident: &Incident) -> bool {
    !incident.dispatch_id.is_empty()
        || !incident.transfer_id.is_empty()
        || !incident.complaint_id.is_empty()
        || incident.status == IncidentStatus::Closed as i32
        || incident.status == IncidentStatus::Diverted as i32
        || incident.status == IncidentStatus::FollowedUp as i32
}

/// Waits until every incident of `ids` is routed (or `limit` passes); the ones that are not.
pub async fn wait_routed(
    client: &IntakeServiceClient<Grpc>,
    ids: &BTreeSet<String>,
    limit: Duration,
) -> BTreeMap<String, String> {
    let started = Instant::now();
    let mut left: BTreeMap<String, String> = ids
        .iter()
        .map(|id| (id.clone(), "not read".to_owned()))
        .collect();
    loop {
        let mut still = BTreeMap::new();
        for id in left.keys() {
            let mut client = client.clone();
            match client
                .get_incident(GetIncidentRequest {
                    incident_id: id.clone(),
                    ..Default::default()
                })
                .await
            {
                Ok(answer) => match answer.into_inner().incident {
                    Some(incident) if routed(&incident) => {}
                    Some(incident) => {
                        still.insert(
                            id.clone(),
                            format!(
                                "status {:?} ({})",
                                IncidentStatus::try_from(incident.status)
                                    .unwrap_or(IncidentStatus::Unspecified),
                                incident.pending_reason
                            ),
                        );
                    }
                    None => {
                        still.insert(id.clone(), "no incident in the answer".to_owned());
                    }
                },
                Err(status) => {
                    still.insert(id.clone(), format!("GetIncident: {}", code(&status)));
                }
            }
        }
        left = still;
        if left.is_empty() || started.elapsed() > limit {
            return left;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// Incidents whose calls were received in `[from, to)`.
pub async fn incidents_received(
    client: &IntakeServiceClient<Grpc>,
    from: chrono::DateTime<chrono::Utc>,
    to: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<Vec<Incident>> {
    let mut incidents = Vec::new();
    let mut page_token = String::new();
    loop {
        let mut client = client.clone();
        let page = client
            .list_incidents(ListIncidentsRequest {
                received: Some(pingan_proto::common::v1::TimeRange {
                    start: Some(pingan_platform::time::to_timestamp(from)),
                    end: Some(pingan_platform::time::to_timestamp(to)),
                }),
                page_size: 200,
                page_token: page_token.clone(),
                ..Default::default()
            })
            .await
            .map_err(|s| anyhow::anyhow!("ListIncidents: {}: {}", code(&s), s.message()))?
            .into_inner();
        incidents.extend(page.incidents);
        if page.next_page_token.is_empty() {
            return Ok(incidents);
        }
        page_token = page.next_page_token;
    }
}

/// Assignments still holding their unit.
fn active(status: i32) -> bool {
    [
        AssignmentStatus::Assigned,
        AssignmentStatus::Acknowledged,
        AssignmentStatus::EnRoute,
        AssignmentStatus::OnScene,
    ]
    .iter()
    .any(|s| *s as i32 == status)
}

/// Units held by more than one open dispatch at once, with the dispatches holding them; and the
/// number of open dispatches read.
pub async fn double_bookings(
    client: &DispatchServiceClient<Grpc>,
) -> anyhow::Result<(BTreeMap<String, Vec<String>>, usize)> {
    let mut holders: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut page_token = String::new();
    let mut open = 0;
    loop {
        let mut client = client.clone();
        let page = client
            .list_dispatches(ListDispatchesRequest {
                page_size: 200,
                page_token: page_token.clone(),
                statuses: vec![
                    DispatchStatus::Pending as i32,
                    DispatchStatus::Assigned as i32,
                    DispatchStatus::EnRoute as i32,
                    DispatchStatus::OnScene as i32,
                ],
                ..Default::default()
            })
            .await
            .map_err(|s| anyhow::anyhow!("ListDispatches: {}: {}", code(&s), s.message()))?
            .into_inner();
        for dispatch in page.dispatches {
            open += 1;
            for assignment in &dispatch.assignments {
                if active(assignment.status) {
                    holders
                        .entry(assignment.unit_id.clone())
                        .or_default()
                        .push(dispatch.dispatch_id.clone());
                }
            }
        }
        if page.next_page_token.is_empty() {
            break;
        }
        page_token = page.next_page_token;
    }
    holders.retain(|_, dispatches| dispatches.len() > 1);
    Ok((holders, open))
}

/// Services with an outbox.
pub const OUTBOX_SERVICES: [&str; 6] = [
    "intake",
    "triage",
    "dispatch",
    "grid-registry",
    "case-followup",
    "complaints-audit",
];

/// Waits until every outbox is empty (or `limit` passes); pending and dead events per service
/// at the end, and how long it took.
pub async fn drain_outboxes(
    world: &World,
    limit: Duration,
) -> (BTreeMap<&'static str, (i64, i64)>, Duration) {
    let started = Instant::now();
    loop {
        let mut left = BTreeMap::new();
        for service in OUTBOX_SERVICES {
            let Ok(mut admin) = world.admin(service) else {
                continue;
            };
            match admin
                .get_outbox_stats(GetOutboxStatsRequest {
                    service: service.to_owned(),
                })
                .await
            {
                Ok(stats) => {
                    let stats = stats.into_inner();
                    left.insert(service, (stats.pending, stats.dead));
                }
                // A service without an outbox (or with another name for it) says so.
                Err(status)
                    if matches!(
                        status.code(),
                        tonic::Code::Unimplemented
                            | tonic::Code::NotFound
                            | tonic::Code::InvalidArgument
                    ) => {}
                Err(_) => {
                    left.insert(service, (-1, -1));
                }
            }
        }
        let pending: i64 = left.values().map(|(p, _)| (*p).max(0)).sum();
        let unreadable = left.values().any(|(p, _)| *p < 0);
        if (pending == 0 && !unreadable) || started.elapsed() > limit {
            return (left, started.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}
