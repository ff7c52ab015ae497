//! gRPC handlers of `pingan.intake.v1.IncidentAnalysisService` (the command room's analysis):
//! decode, validate the scope (every bad field named), authorize, count (`app::analysis`), map.

use chrono::{DateTime, FixedOffset, Utc};
use pingan_platform::auth::Role;
use pingan_platform::time::{from_timestamp, to_timestamp};
use pingan_platform::{ApiError, FieldViolations};
use pingan_proto::common::v1::{GeoPoint, TimeRange};
use pingan_proto::intake::v1::incident_analysis_service_server::IncidentAnalysisService;
use pingan_proto::intake::v1::{
    CountBucket, Hotspot, HotspotArea, HotspotsRequest, HotspotsResponse, IncidentScope,
    IncidentStatsRequest, IncidentStatsResponse,
};
use tonic::{Request, Response, Status};

use crate::app::Deps;
use crate::app::analysis::{Analysis, Scope};
use crate::domain::analysis::{self, Area, Counts, Periods};

/// Roles that read the analysis: the command room and the bureau's units see every station,
/// a station's officers their jurisdiction.
pub const ANALYSTS: &[Role] = &[
    Role::CommandCenter,
    Role::Dispatcher,
    Role::StationOfficer,
    Role::Inspector,
    Role::Service,
    Role::Admin,
];

/// Hotspots when the request names no limit.
const DEFAULT_HOTSPOTS: i32 = 10;

/// Handlers of the incident analysis service.
#[derive(Debug, Clone)]
pub struct IncidentAnalysisApi {
    deps: Deps,
    analysis: Analysis,
}

impl IncidentAnalysisApi {
    /// Handlers over the use cases' dependencies.
    pub fn new(deps: Deps) -> Self {
        Self {
            analysis: Analysis::new(&deps),
            deps,
        }
    }
}

/// The scope of a request, checked; its violations are added to `v`.
fn scope(v: &mut FieldViolations, scope: Option<&IncidentScope>) -> Option<Scope> {
    let Some(scope) = scope else {
        v.add("scope", "is required");
        return None;
    };
    let range = scope.period.unwrap_or_default();
    let start = range.start.as_ref().and_then(from_timestamp);
    let end = range.end.as_ref().and_then(from_timestamp);
    if start.is_none() {
        v.add("scope.period.start", "must be a valid timestamp");
    }
    if end.is_none() {
        v.add("scope.period.end", "must be a valid timestamp");
    }
    let periods = match (start, end) {
        (Some(start), Some(end)) => {
            let periods = Periods::new(start, end);
            if periods.is_none() {
                v.add(
                    "scope.period",
                    format!(
                        "must end after it starts and span at most {} days",
                        analysis::MAX_PERIOD_DAYS
                    ),
                );
            }
            periods
        }
        _ => None,
    };
    let minutes = scope
        .utc_offset_minutes
        .unwrap_or(analysis::DEFAULT_UTC_OFFSET_MINUTES);
    let offset = (-840..=840)
        .contains(&minutes)
        .then(|| FixedOffset::east_opt(minutes * 60))
        .flatten();
    if offset.is_none() {
        v.add("scope.utc_offset_minutes", "must be between -840 and 840");
    }
    v.require_max_chars("scope.station_id", &scope.station_id, 128);
    v.require_max_chars("scope.grid_id", &scope.grid_id, 128);
    let category = if scope.category.is_empty() {
        String::new()
    } else {
        match pingan_catalogue::catalogue()
            .and_then(|c| c.category(&scope.category).map(|c| c.code))
        {
            Ok(code) => code.as_str().to_owned(),
            Err(_) => {
                v.add("scope.category", "must be a category code of the catalogue");
                String::new()
            }
        }
    };
    Some(Scope {
        periods: periods?,
        station_id: scope.station_id.clone(),
        grid_id: scope.grid_id.clone(),
        category,
        offset: offset?,
    })
}

fn range(start: DateTime<Utc>, end: DateTime<Utc>) -> TimeRange {
    TimeRange {
        start: Some(to_timestamp(start)),
        end: Some(to_timestamp(end)),
    }
}

fn bucket(key: &str, label: &str, counts: Counts) -> CountBucket {
    CountBucket {
        key: key.to_owned(),
        label: label.to_owned(),
        count: counts.count,
        previous_count: counts.previous,
        change: counts.change(),
        change_percent: counts.change_percent(),
        station_id: String::new(),
    }
}

/// The Chinese name of a category code (the code itself when the catalogue has none).
fn category_name(code: &str) -> String {
    pingan_catalogue::catalogue()
        .ok()
        .and_then(|c| c.category(code).ok().map(|c| c.name.clone()))
        .unwrap_or_else(|| code.to_owned())
}

fn point(lat_lon: (f64, f64)) -> GeoPoint {
    GeoPoint {
        lat: lat_lon.0,
        lon: lat_lon.1,
    }
}

#[tonic::async_trait]
impl IncidentAnalysisService for IncidentAnalysisApi {
    async fn incident_stats(
        &self,
        request: Request<IncidentStatsRequest>,
    ) -> Result<Response<IncidentStatsResponse>, Status> {
        let caller = self.deps.context.auth.caller(&request)?;
        caller.require_any(ANALYSTS)?;
        let req = request.into_inner();
        let mut v = FieldViolations::default();
        let scope = scope(&mut v, req.scope.as_ref());
        v.finish()?;
        let scope = scope.ok_or_else(|| ApiError::internal("scope checked without violations"))?;
        self.deps.ready().await?;
        let stats = self.analysis.stats(&caller, &scope).await?;
        let p = scope.periods;
        Ok(Response::new(IncidentStatsResponse {
            period: Some(range(p.start, p.end)),
            previous_period: Some(range(p.previous_start, p.start)),
            total: Some(bucket("", "合计", stats.total)),
            by_station: stats
                .by_station
                .iter()
                .map(|(k, c)| bucket(k, k, *c))
                .collect(),
            by_grid: stats
                .by_grid
                .iter()
                .map(|(grid, station, c)| CountBucket {
                    station_id: station.clone(),
                    ..bucket(grid, grid, *c)
                })
                .collect(),
            by_category: stats
                .by_category
                .iter()
                .map(|(k, c)| bucket(k, &category_name(k), *c))
                .collect(),
            by_hour: stats
                .by_hour
                .iter()
                .enumerate()
                .map(|(h, c)| {
                    let key = format!("{h:02}");
                    bucket(&key, &key, *c)
                })
                .collect(),
            by_day: stats
                .by_day
                .iter()
                .map(|(day, c)| {
                    let date = day.with_timezone(&scope.offset).date_naive().to_string();
                    bucket(&date, &date, *c)
                })
                .collect(),
        }))
    }

    async fn hotspots(
        &self,
        request: Request<HotspotsRequest>,
    ) -> Result<Response<HotspotsResponse>, Status> {
        let caller = self.deps.context.auth.caller(&request)?;
        caller.require_any(ANALYSTS)?;
        let req = request.into_inner();
        let mut v = FieldViolations::default();
        let scope = scope(&mut v, req.scope.as_ref());
        let area = match HotspotArea::try_from(req.area) {
            Ok(HotspotArea::Unspecified | HotspotArea::Grid) => Some(Area::Grid),
            Ok(HotspotArea::Cell) => Some(Area::Cell),
            Err(_) => {
                v.add("area", "must be HOTSPOT_AREA_GRID or HOTSPOT_AREA_CELL");
                None
            }
        };
        if !(0..=100).contains(&req.limit) {
            v.add("limit", "must be between 0 and 100");
        }
        v.finish()?;
        let (Some(scope), Some(area)) = (scope, area) else {
            return Err(ApiError::internal("request checked without violations").into());
        };
        let limit = if req.limit == 0 {
            DEFAULT_HOTSPOTS
        } else {
            req.limit
        };
        self.deps.ready().await?;
        let (hotspots, unplaced) = self
            .analysis
            .hotspots(&caller, &scope, area, usize::try_from(limit).unwrap_or(10))
            .await?;
        let p = scope.periods;
        Ok(Response::new(HotspotsResponse {
            period: Some(range(p.start, p.end)),
            previous_period: Some(range(p.previous_start, p.start)),
            area: match area {
                Area::Grid => HotspotArea::Grid,
                Area::Cell => HotspotArea::Cell,
            } as i32,
            hotspots: hotspots
                .into_iter()
                .map(|h| Hotspot {
                    area_id: h.area_id,
                    station_id: h.station_id,
                    count: h.counts.count,
                    previous_count: h.counts.previous,
                    change: h.counts.change(),
                    change_percent: h.counts.change_percent(),
                    center: h.cell.map(|c| point(c.center())),
                    south_west: h.cell.map(|c| point(c.south_west())),
                    north_east: h.cell.map(|c| point(c.north_east())),
                    previous_rank: h.previous_rank,
                })
                .collect(),
            unplaced,
        }))
    }
}
