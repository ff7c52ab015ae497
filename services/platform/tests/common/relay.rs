//! A grid service for server tests: its LocateGrid validates, optionally waits, and calls on.

use std::sync::Arc;

use pingan_platform::FieldViolations;
use pingan_platform::clients::TracedChannel;
use pingan_proto::grid::v1::grid_registry_service_server::GridRegistryService;
use pingan_proto::grid::v1::{LocateGridRequest, LocateGridResponse};
use tokio::sync::Notify;
use tonic::{Request, Response, Status};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

/// A grid service whose LocateGrid calls another service (health of `next`) before answering,
/// optionally waiting for a release, and rejecting coordinates out of range.
#[derive(Clone)]
pub struct Relay {
    pub next: Option<TracedChannel>,
    pub started: Arc<Notify>,
    pub release: Arc<Notify>,
    pub hold: bool,
}

impl Relay {
    pub fn new(next: Option<TracedChannel>, hold: bool) -> Self {
        Self {
            next,
            started: Arc::new(Notify::new()),
            release: Arc::new(Notify::new()),
            hold,
        }
    }
}

#[tonic::async_trait]
impl GridRegistryService for Relay {
    async fn locate_grid(
        &self,
        request: Request<LocateGridRequest>,
    ) -> Result<Response<LocateGridResponse>, Status> {
        let location = request.into_inner().location.unwrap_or_default();
        let mut violations = FieldViolations::default();
        violations.require_coordinates("location", location.lat, location.lon);
        violations.finish()?;
        self.started.notify_one();
        if self.hold {
            self.release.notified().await;
        }
        if let Some(next) = &self.next {
            HealthClient::new(next.clone())
                .check(HealthCheckRequest {
                    service: super::QUIET_NAME.to_owned(),
                })
                .await?;
        }
        Ok(Response::new(LocateGridResponse {
            grid_id: "st-chengnan-g1".into(),
            station_id: "st-chengnan".into(),
            ..Default::default()
        }))
    }
}
