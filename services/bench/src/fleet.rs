//! The live-unit rows: registering many units, ingesting their positions, and searching the
//! nearest — each beside the raw Redis command that does the same work (GEOADD, GEOSEARCH).

use std::time::{Duration, Instant};

use crate::system::Grpc;
use anyhow::Context;
use futures::StreamExt;
use pingan_proto::common::v1::GeoPoint;
use pingan_proto::dispatch::v1::dispatch_service_client::DispatchServiceClient;
use pingan_proto::dispatch::v1::{
    FindNearestUnitsRequest, RegisterUnitRequest, ReportPositionsRequest, UnitKind, UnitStatus,
};
use rand::Rng;

use crate::open_loop::{self, Latencies, code};

/// Where the benchmark's units stand: around 桑珠孜区城南 (a demo station's origin).
pub const CENTER: GeoPoint = GeoPoint {
    lat: 29.25,
    lon: 88.86,
};
/// Units are spread up to this far from the centre (metres, roughly).
const SPREAD_M: f64 = 20_000.0;
/// The search radius of the FindNearestUnits row.
pub const RADIUS_M: f64 = 5_000.0;
/// Fixes per ReportPositions stream and per GEOADD.
pub const BATCH: usize = 500;

/// A point within `SPREAD_M` of the centre.
pub fn scatter() -> GeoPoint {
    let mut rng = rand::rng();
    let dlat = rng.random_range(-1.0..1.0) * SPREAD_M / 111_000.0;
    let dlon = rng.random_range(-1.0..1.0) * SPREAD_M / (111_000.0 * CENTER.lat.to_radians().cos());
    GeoPoint {
        lat: CENTER.lat + dlat,
        lon: CENTER.lon + dlon,
    }
}

/// The id of the benchmark's unit `i` in run `run`.
pub fn unit_id(run: &str, i: usize) -> String {
    format!("bench-{run}-u{i}")
}

/// Registers `count` patrol cars, 32 at a time; returns the time it took.
pub async fn register_units(
    client: &DispatchServiceClient<Grpc>,
    run: &str,
    count: usize,
) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let results: Vec<Result<(), String>> = futures::stream::iter(0..count)
        .map(|i| {
            let mut client = client.clone();
            let request = RegisterUnitRequest {
                request_id: format!("bench-{run}-register-{i}"),
                unit_id: unit_id(run, i),
                kind: UnitKind::PatrolCar as i32,
                callsign: format!("BENCH-{i}"),
                station_id: "st-chengnan".to_owned(),
                // Available, so the nearest-unit rows search a fleet that answers.
                initial_status: UnitStatus::Available as i32,
                ..Default::default()
            };
            async move {
                client
                    .register_unit(request)
                    .await
                    .map(|_| ())
                    .map_err(|s| format!("{}: {}", code(&s), s.message()))
            }
        })
        .buffer_unordered(32)
        .collect()
        .await;
    if let Some(Err(first)) = results.iter().find(|r| r.is_err()) {
        anyhow::bail!("RegisterUnit failed: {first}");
    }
    Ok(started.elapsed())
}

/// Streams one fix per unit in batches of `BATCH`, one stream at a time; fixes per second.
pub async fn ingest_positions(
    client: &DispatchServiceClient<Grpc>,
    run: &str,
    count: usize,
) -> anyhow::Result<f64> {
    let started = Instant::now();
    let now = pingan_platform::time::to_timestamp(chrono::Utc::now());
    for chunk in (0..count).collect::<Vec<_>>().chunks(BATCH) {
        let fixes: Vec<ReportPositionsRequest> = chunk
            .iter()
            .map(|&i| ReportPositionsRequest {
                unit_id: unit_id(run, i),
                location: Some(scatter()),
                at: Some(now),
                ..Default::default()
            })
            .collect();
        let mut client = client.clone();
        client
            .report_positions(tokio_stream::iter(fixes))
            .await
            .map_err(|s| anyhow::anyhow!("ReportPositions: {}: {}", code(&s), s.message()))?;
    }
    Ok(count as f64 / started.elapsed().as_secs_f64())
}

/// FindNearestUnits around the centre, one after another.
pub async fn nearest(client: &DispatchServiceClient<Grpc>, count: u64) -> Latencies {
    open_loop::sequential(count, |_| nearest_once(client)).await
}

/// Units each FindNearestUnits asks for.
const NEAREST_LIMIT: usize = 5;

/// One FindNearestUnits around the centre for [`NEAREST_LIMIT`] available units within
/// `RADIUS_M`; an answer with fewer counts as an error (an empty search is no measurement).
pub async fn nearest_once(client: &DispatchServiceClient<Grpc>) -> Result<(), String> {
    let answer = client
        .clone()
        .find_nearest_units(FindNearestUnitsRequest {
            location: Some(CENTER),
            radius_m: RADIUS_M,
            only_available: true,
            limit: NEAREST_LIMIT as i32,
            ..Default::default()
        })
        .await
        .map_err(|s| code(&s))?;
    match answer.into_inner().units.len() {
        NEAREST_LIMIT => Ok(()),
        _ => Err("fewer units than asked".to_owned()),
    }
}

/// The raw Redis baselines on a key of their own: GEOADD rate and GEOSEARCH latency.
#[derive(Debug)]
pub struct RawRedis {
    /// Points per second added with GEOADD in batches of `BATCH`.
    pub geoadd_per_s: f64,
    /// GEOSEARCH … BYRADIUS … ASC COUNT 5, one after another.
    pub geosearch: Latencies,
}

/// Measures the raw baselines with `count` points and `searches` searches, then deletes the key.
pub async fn raw_redis(
    url: &str,
    run: &str,
    count: usize,
    searches: u64,
) -> anyhow::Result<RawRedis> {
    let client = redis::Client::open(url).context("redis url")?;
    let mut connection = client
        .get_multiplexed_async_connection()
        .await
        .with_context(|| format!("connecting to redis at {url}"))?;
    let key = format!("pingan-bench:{run}:geo");
    let started = Instant::now();
    for chunk in (0..count).collect::<Vec<_>>().chunks(BATCH) {
        let mut command = redis::cmd("GEOADD");
        command.arg(&key);
        for &i in chunk {
            let point = scatter();
            command.arg(point.lon).arg(point.lat).arg(format!("u{i}"));
        }
        let _: i64 = command
            .query_async(&mut connection)
            .await
            .context("GEOADD")?;
    }
    let geoadd_per_s = count as f64 / started.elapsed().as_secs_f64();
    let geosearch = open_loop::sequential(searches, |_| {
        let mut connection = connection.clone();
        let key = key.clone();
        async move {
            redis::cmd("GEOSEARCH")
                .arg(&key)
                .arg("FROMLONLAT")
                .arg(CENTER.lon)
                .arg(CENTER.lat)
                .arg("BYRADIUS")
                .arg(RADIUS_M)
                .arg("m")
                .arg("ASC")
                .arg("COUNT")
                .arg(5)
                .query_async::<Vec<String>>(&mut connection)
                .await
                .map(|_| ())
                .map_err(|e| e.to_string())
        }
    })
    .await;
    let _: i64 = redis::cmd("DEL")
        .arg(&key)
        .query_async(&mut connection)
        .await
        .context("DEL")?;
    Ok(RawRedis {
        geoadd_per_s,
        geosearch,
    })
}
