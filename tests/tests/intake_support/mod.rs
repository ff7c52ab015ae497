//! Fake grid-registry, triage and dispatch peers for intake's end-to-end tests: the generated
//! server traits with deterministic answers, each on its own loopback port, stoppable and
//! restartable on the same address (to show what intake does while a peer is down).

#![allow(dead_code)]

pub mod harness;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use pingan_platform::server::ServiceHost;
use pingan_proto::common::v1::Priority;
use pingan_proto::dispatch::v1::dispatch_service_server::{DispatchService, DispatchServiceServer};
use pingan_proto::dispatch::v1::{
    Assignment, AssignmentStatus, Dispatch, DispatchStatus, OpenDispatchRequest,
    OpenDispatchResponse,
};
use pingan_proto::grid::v1::grid_registry_service_server::{
    GridRegistryService, GridRegistryServiceServer,
};
use pingan_proto::grid::v1::{LocateGridRequest, LocateGridResponse};
use pingan_proto::triage::v1::triage_service_server::{TriageService, TriageServiceServer};
use pingan_proto::triage::v1::{
    Classification, ClassifyRequest, ClassifyResponse, DivertTo12345Request, DivertTo12345Response,
    Kind, MatchedRule, RuleEffect, Transfer, TransferStatus,
};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::{Request, Response, Status};

/// The demo grid every test point falls in (a box around Chengnan).
pub const GRID: &str = "g-chengnan-01";
pub const STATION: &str = "st-chengnan";
pub const UNIT: &str = "u-st-chengnan-o1";
pub const BASE_LAT: f64 = 29.6500;
pub const BASE_LON: f64 = 91.1300;

/// What the fakes were asked.
#[derive(Debug, Default)]
pub struct Seen {
    pub locates: usize,
    pub classifies: usize,
    pub dispatches: Vec<OpenDispatchRequest>,
    pub diversions: Vec<DivertTo12345Request>,
}

pub type Shared = Arc<Mutex<Seen>>;

#[derive(Clone)]
struct FakeGrid(Shared);

#[tonic::async_trait]
impl GridRegistryService for FakeGrid {
    async fn locate_grid(
        &self,
        request: Request<LocateGridRequest>,
    ) -> Result<Response<LocateGridResponse>, Status> {
        self.0.lock().expect("lock").locates += 1;
        let point = request.into_inner().location.unwrap_or_default();
        if (point.lat - BASE_LAT).abs() > 0.05 || (point.lon - BASE_LON).abs() > 0.05 {
            return Err(Status::not_found("no grid contains the point"));
        }
        Ok(Response::new(LocateGridResponse {
            grid_id: GRID.into(),
            station_id: STATION.into(),
            officer_ids: vec!["off-chengnan-1".into()],
            grid_name: "城南一网格".into(),
            station_name: "城南派出所".into(),
            ..Default::default()
        }))
    }
}

fn classification(
    kind: Kind,
    category: &str,
    priority: Priority,
    words: &[&str],
) -> Classification {
    let seconds = match priority {
        Priority::P1 => 300,
        Priority::P2 => 600,
        Priority::P3 => 1800,
        _ => 0,
    };
    Classification {
        kind: kind as i32,
        category: category.into(),
        priority: priority as i32,
        response_target: (seconds > 0).then_some(prost_types::Duration { seconds, nanos: 0 }),
        matched_rules: vec![MatchedRule {
            rule_id: format!("fake-{}", category.to_lowercase()),
            category: category.into(),
            matched_words: words.iter().map(|w| (*w).to_owned()).collect(),
            effect: RuleEffect::Category as i32,
            kind: kind as i32,
            priority: priority as i32,
            ..Default::default()
        }],
        department: if kind == Kind::NonPolice {
            "市水务局".into()
        } else {
            String::new()
        },
        category_name: category.to_lowercase(),
        rules_version: "fake-1".into(),
        needs_confirmation: false,
        ..Default::default()
    }
}

#[derive(Clone)]
struct FakeTriage(Shared);

#[tonic::async_trait]
impl TriageService for FakeTriage {
    async fn classify(
        &self,
        request: Request<ClassifyRequest>,
    ) -> Result<Response<ClassifyResponse>, Status> {
        self.0.lock().expect("lock").classifies += 1;
        let text = request.into_inner().text;
        let c = if text.contains("停水") {
            classification(Kind::NonPolice, "UTILITIES", Priority::P4, &["停水"])
        } else if text.contains("投诉") && text.contains("民警") {
            classification(
                Kind::ComplaintAboutPolice,
                "POLICE_CONDUCT",
                Priority::P4,
                &["投诉", "民警"],
            )
        } else if text.contains("撞") {
            classification(Kind::Police, "TRAFFIC_ACCIDENT", Priority::P1, &["撞"])
        } else if text.contains("受伤") {
            classification(Kind::Joint, "MEDICAL", Priority::P1, &["受伤"])
        } else if text.contains("手机") {
            classification(Kind::Police, "ASSISTANCE", Priority::P2, &["手机"])
        } else if text.contains("无声") {
            classification(Kind::Invalid, "INVALID", Priority::P4, &["无声"])
        } else {
            classification(Kind::Police, "DISPUTE", Priority::P3, &[])
        };
        Ok(Response::new(ClassifyResponse {
            classification: Some(c),
        }))
    }

    async fn divert_to12345(
        &self,
        request: Request<DivertTo12345Request>,
    ) -> Result<Response<DivertTo12345Response>, Status> {
        let request = request.into_inner();
        let transfer = Transfer {
            transfer_id: format!("tr-{}", request.incident_id),
            status: TransferStatus::Sent as i32,
            hotline_ticket_id: format!("12345-{}", request.incident_id.len()),
            incident_id: request.incident_id.clone(),
            department: request.department.clone(),
            ..Default::default()
        };
        self.0.lock().expect("lock").diversions.push(request);
        Ok(Response::new(DivertTo12345Response {
            transfer: Some(transfer),
        }))
    }
}

#[derive(Clone)]
struct FakeDispatch(Shared);

#[tonic::async_trait]
impl DispatchService for FakeDispatch {
    async fn open_dispatch(
        &self,
        request: Request<OpenDispatchRequest>,
    ) -> Result<Response<OpenDispatchResponse>, Status> {
        let request = request.into_inner();
        if request.summary.contains(REFUSED_BY_DISPATCH) {
            self.0.lock().expect("lock").dispatches.push(request);
            return Err(Status::invalid_argument("category: not in the catalogue"));
        }
        let dispatch_id = format!("d-{}", request.incident_id);
        let auto = matches!(
            Priority::try_from(request.priority),
            Ok(Priority::P1 | Priority::P2)
        );
        let assignments = if auto {
            vec![Assignment {
                assignment_id: format!("a-{}", request.incident_id),
                dispatch_id: dispatch_id.clone(),
                unit_id: UNIT.into(),
                status: AssignmentStatus::Assigned as i32,
                ..Default::default()
            }]
        } else {
            Vec::new()
        };
        let dispatch = Dispatch {
            dispatch_id,
            incident_id: request.incident_id.clone(),
            status: if auto {
                DispatchStatus::Assigned
            } else {
                DispatchStatus::Pending
            } as i32,
            priority: request.priority,
            assignments,
            ..Default::default()
        };
        self.0.lock().expect("lock").dispatches.push(request);
        Ok(Response::new(OpenDispatchResponse {
            dispatch: Some(dispatch),
        }))
    }
}

/// A call whose description holds this is refused by the fake dispatch as INVALID_ARGUMENT.
pub const REFUSED_BY_DISPATCH: &str = "#dispatch-refuses";

/// Which fake peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Peer {
    Grid,
    Triage,
    Dispatch,
}

impl Peer {
    pub const ALL: [Peer; 3] = [Peer::Grid, Peer::Triage, Peer::Dispatch];

    fn name(self) -> &'static str {
        match self {
            Self::Grid => "grid-registry",
            Self::Triage => "triage",
            Self::Dispatch => "dispatch",
        }
    }
}

struct Running {
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

/// The three fakes, each on its own address.
pub struct FakePeers {
    pub seen: Shared,
    addrs: BTreeMap<Peer, SocketAddr>,
    running: BTreeMap<Peer, Running>,
}

impl FakePeers {
    /// Starts all three on ephemeral loopback ports.
    pub async fn start() -> anyhow::Result<Self> {
        let mut peers = Self {
            seen: Arc::default(),
            addrs: BTreeMap::new(),
            running: BTreeMap::new(),
        };
        for peer in Peer::ALL {
            let listener = TcpListener::bind("127.0.0.1:0").await?;
            peers.addrs.insert(peer, listener.local_addr()?);
            peers.serve(peer, listener);
        }
        Ok(peers)
    }

    /// Peer name → URL, for intake's configuration.
    pub fn urls(&self) -> BTreeMap<String, String> {
        self.addrs
            .iter()
            .map(|(peer, addr)| (peer.name().to_owned(), format!("http://{addr}")))
            .collect()
    }

    fn serve(&mut self, peer: Peer, listener: TcpListener) {
        let mut host = ServiceHost::new(pingan_tests::test_server_config());
        let seen = self.seen.clone();
        match peer {
            Peer::Grid => host.add_service(GridRegistryServiceServer::new(FakeGrid(seen)), vec![]),
            Peer::Triage => host.add_service(TriageServiceServer::new(FakeTriage(seen)), vec![]),
            Peer::Dispatch => {
                host.add_service(DispatchServiceServer::new(FakeDispatch(seen)), vec![])
            }
        };
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let _ = host
                .serve(listener, async move {
                    let _ = stopped.await;
                })
                .await;
        });
        self.running.insert(peer, Running { stop, task });
    }

    /// Stops one fake: its port refuses connections until [`FakePeers::restart`].
    pub async fn stop(&mut self, peer: Peer) -> anyhow::Result<()> {
        if let Some(running) = self.running.remove(&peer) {
            let _ = running.stop.send(());
            tokio::time::timeout(Duration::from_secs(10), running.task).await??;
        }
        Ok(())
    }

    /// Starts a stopped fake again on the same address.
    pub async fn restart(&mut self, peer: Peer) -> anyhow::Result<()> {
        let addr = self.addrs[&peer];
        let listener = TcpListener::bind(addr).await?;
        self.serve(peer, listener);
        Ok(())
    }

    pub fn dispatches(&self) -> Vec<OpenDispatchRequest> {
        self.seen.lock().expect("lock").dispatches.clone()
    }

    pub fn diversions(&self) -> Vec<DivertTo12345Request> {
        self.seen.lock().expect("lock").diversions.clone()
    }

    pub async fn shutdown(mut self) -> anyhow::Result<()> {
        for peer in Peer::ALL {
            self.stop(peer).await?;
        }
        Ok(())
    }
}
