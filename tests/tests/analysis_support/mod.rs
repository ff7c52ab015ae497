//! Fake peers for the analysis tests: a grid-registry that places a point by latitude band
//! (four grids over two stations), a triage that reads the category from the call's text
//! (`#CODE`), and a dispatch that opens every dispatch pending. Each on its own loopback port.

#![allow(dead_code)]

use std::collections::BTreeMap;

use pingan_platform::server::ServiceHost;
use pingan_proto::common::v1::Priority;
use pingan_proto::dispatch::v1::dispatch_service_server::{DispatchService, DispatchServiceServer};
use pingan_proto::dispatch::v1::{
    Dispatch, DispatchStatus, OpenDispatchRequest, OpenDispatchResponse,
};
use pingan_proto::grid::v1::grid_registry_service_server::{
    GridRegistryService, GridRegistryServiceServer,
};
use pingan_proto::grid::v1::{LocateGridRequest, LocateGridResponse};
use pingan_proto::triage::v1::triage_service_server::{TriageService, TriageServiceServer};
use pingan_proto::triage::v1::{Classification, ClassifyRequest, ClassifyResponse, Kind};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::{Request, Response, Status};

/// South edge of the first grid; each grid is a band of 0.02 degrees of latitude.
pub const SOUTH: f64 = 29.60;
pub const BAND: f64 = 0.02;
/// Grids from south to north, with their stations.
pub const GRIDS: [(&str, &str); 4] = [
    ("g-a", "st-east"),
    ("g-b", "st-east"),
    ("g-c", "st-west"),
    ("g-d", "st-west"),
];

/// The grid and station of a point, as the fake grid-registry answers.
pub fn grid_of(lat: f64) -> Option<(&'static str, &'static str)> {
    let band = ((lat - SOUTH) / BAND).floor();
    if band < 0.0 {
        return None;
    }
    GRIDS.get(band as usize).copied()
}

#[derive(Clone)]
struct BandGrid;

#[tonic::async_trait]
impl GridRegistryService for BandGrid {
    async fn locate_grid(
        &self,
        request: Request<LocateGridRequest>,
    ) -> Result<Response<LocateGridResponse>, Status> {
        let point = request.into_inner().location.unwrap_or_default();
        let Some((grid, station)) = grid_of(point.lat) else {
            return Err(Status::not_found("no grid contains the point"));
        };
        Ok(Response::new(LocateGridResponse {
            grid_id: grid.into(),
            station_id: station.into(),
            officer_ids: vec![format!("off-{grid}")],
            ..Default::default()
        }))
    }
}

/// The priority the fake triage gives a category.
pub fn priority_of(category: &str) -> Priority {
    match category {
        "TRAFFIC_ACCIDENT" => Priority::P1,
        "ASSISTANCE" => Priority::P2,
        _ => Priority::P3,
    }
}

#[derive(Clone)]
struct TagTriage;

#[tonic::async_trait]
impl TriageService for TagTriage {
    async fn classify(
        &self,
        request: Request<ClassifyRequest>,
    ) -> Result<Response<ClassifyResponse>, Status> {
        let text = request.into_inner().text;
        let category = text
            .split_once('#')
            .map(|(_, code)| code.trim().to_owned())
            .unwrap_or_else(|| "DISPUTE".to_owned());
        let priority = priority_of(&category);
        Ok(Response::new(ClassifyResponse {
            classification: Some(Classification {
                kind: Kind::Police as i32,
                category: category.clone(),
                priority: priority as i32,
                category_name: category.to_lowercase(),
                rules_version: "fake-1".into(),
                ..Default::default()
            }),
        }))
    }
}

#[derive(Clone)]
struct PendingDispatch;

#[tonic::async_trait]
impl DispatchService for PendingDispatch {
    async fn open_dispatch(
        &self,
        request: Request<OpenDispatchRequest>,
    ) -> Result<Response<OpenDispatchResponse>, Status> {
        let request = request.into_inner();
        Ok(Response::new(OpenDispatchResponse {
            dispatch: Some(Dispatch {
                dispatch_id: format!("d-{}", request.incident_id),
                incident_id: request.incident_id,
                status: DispatchStatus::Pending as i32,
                priority: request.priority,
                ..Default::default()
            }),
        }))
    }
}

/// The three fakes, running.
pub struct Fakes {
    urls: BTreeMap<String, String>,
    running: Vec<(oneshot::Sender<()>, JoinHandle<()>)>,
}

impl Fakes {
    pub async fn start() -> anyhow::Result<Self> {
        let mut fakes = Self {
            urls: BTreeMap::new(),
            running: Vec::new(),
        };
        for name in ["grid-registry", "triage", "dispatch"] {
            let listener = TcpListener::bind("127.0.0.1:0").await?;
            fakes.urls.insert(
                name.to_owned(),
                format!("http://{}", listener.local_addr()?),
            );
            let mut host = ServiceHost::new(pingan_tests::test_server_config());
            match name {
                "grid-registry" => {
                    host.add_service(GridRegistryServiceServer::new(BandGrid), vec![])
                }
                "triage" => host.add_service(TriageServiceServer::new(TagTriage), vec![]),
                _ => host.add_service(DispatchServiceServer::new(PendingDispatch), vec![]),
            };
            let (stop, stopped) = oneshot::channel::<()>();
            let task = tokio::spawn(async move {
                let _ = host
                    .serve(listener, async move {
                        let _ = stopped.await;
                    })
                    .await;
            });
            fakes.running.push((stop, task));
        }
        Ok(fakes)
    }

    /// Peer name → URL, for intake's configuration.
    pub fn urls(&self) -> BTreeMap<String, String> {
        self.urls.clone()
    }

    pub async fn shutdown(self) {
        for (stop, task) in self.running {
            let _ = stop.send(());
            let _ = task.await;
        }
    }
}

/// A small deterministic generator (xorshift64*), so each run draws the same month.
pub struct Draw(u64);

impl Draw {
    pub fn new(seed: u64) -> Self {
        Self(seed.max(1))
    }

    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in 0..n.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}
