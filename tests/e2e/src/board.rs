//! Scenario e: two dispatch replicas, many concurrent dispatches and assignments over few units:
//! no unit is ever held by two dispatches, and a board watcher on either replica sees every
//! change (the last state it saw of each dispatch is the state dispatch ends with).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use pingan_proto::common::v1::{GeoPoint, Priority};
use pingan_proto::dispatch::v1::watch_board_response::Event;
use pingan_proto::dispatch::v1::{
    AssignRequest, AssignmentStatus, Dispatch, GetDispatchRequest, OpenDispatchRequest,
    RegisterUnitRequest, UnitKind, UnitStatus, UpdatePositionRequest, WatchBoardRequest,
};

use crate::common::{Verdict, code, double_bookings, ms};
use crate::world::World;

/// Where the dispatches are: inside 擦叶乡's first grid.
const CENTER: GeoPoint = GeoPoint {
    lat: 32.405,
    lon: 81.125,
};
const STATION: &str = "st-caye";

/// What a board watcher saw: the last state of each dispatch, and lag notices.
#[derive(Debug, Default)]
struct Seen {
    dispatches: BTreeMap<String, (i32, BTreeSet<String>)>,
    lagged: i64,
    events: u64,
    error: Option<String>,
}

/// A dispatch's status and the units holding it.
fn state(dispatch: &Dispatch) -> (i32, BTreeSet<String>) {
    let units = dispatch
        .assignments
        .iter()
        .filter(|a| {
            [
                AssignmentStatus::Assigned,
                AssignmentStatus::Acknowledged,
                AssignmentStatus::EnRoute,
                AssignmentStatus::OnScene,
            ]
            .iter()
            .any(|s| *s as i32 == a.status)
        })
        .map(|a| a.unit_id.clone())
        .collect();
    (dispatch.status, units)
}

/// Opens a board stream on replica `replica` and records what it sees.
async fn watch(world: &World, replica: usize) -> anyhow::Result<Arc<Mutex<Seen>>> {
    let seen = Arc::new(Mutex::new(Seen::default()));
    let mut client = world.dispatch(Some(replica))?;
    let mut stream = client
        .watch_board(WatchBoardRequest {
            station_ids: vec![STATION.to_owned()],
            send_snapshot: false,
            include_positions: false,
        })
        .await
        .map_err(|s| anyhow::anyhow!("WatchBoard on replica {replica}: {}", code(&s)))?
        .into_inner();
    let sink = seen.clone();
    tokio::spawn(async move {
        while let Some(message) = stream.next().await {
            let Ok(mut seen) = sink.lock() else {
                return;
            };
            match message {
                Ok(message) => {
                    seen.events += 1;
                    match message.event {
                        Some(Event::Dispatch(dispatch)) => {
                            let s = state(&dispatch);
                            seen.dispatches.insert(dispatch.dispatch_id, s);
                        }
                        Some(Event::Lagged(lagged)) => seen.lagged += lagged.missed_events,
                        _ => {}
                    }
                }
                Err(status) => {
                    seen.error = Some(code(&status));
                    return;
                }
            }
        }
    });
    Ok(seen)
}

/// Calls `call` until it answers something else than UNAVAILABLE (30 s at most).
async fn retry_unavailable<T, F, Fut>(call: F) -> Result<T, tonic::Status>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<T, tonic::Status>>,
{
    let started = Instant::now();
    let mut backoff = Duration::from_millis(100);
    loop {
        match call().await {
            Err(status)
                if status.code() == tonic::Code::Unavailable
                    && started.elapsed() < Duration::from_secs(30) =>
            {
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(1));
            }
            answer => return answer,
        }
    }
}

/// Runs the scenario with `dispatches` dispatches over `units` units.
pub async fn run(
    world: &World,
    run: &str,
    dispatches: usize,
    units: usize,
) -> anyhow::Result<Verdict> {
    let mut verdict = Verdict::new("e. dispatch replicas");
    let clients = [world.dispatch(Some(1))?, world.dispatch(Some(2))?];
    let unit_ids: Vec<String> = (0..units).map(|i| format!("e2e-{run}-u{i}")).collect();
    for (i, unit_id) in unit_ids.iter().enumerate() {
        let mut client = clients[i % 2].clone();
        client
            .register_unit(RegisterUnitRequest {
                request_id: format!("e2e-{run}-register-{i}"),
                unit_id: unit_id.clone(),
                kind: UnitKind::PatrolCar as i32,
                callsign: format!("E2E-{i}"),
                station_id: STATION.to_owned(),
                initial_status: UnitStatus::Available as i32,
                ..Default::default()
            })
            .await
            .map_err(|s| anyhow::anyhow!("RegisterUnit: {}: {}", code(&s), s.message()))?;
        let at = pingan_platform::time::to_timestamp(chrono::Utc::now());
        client
            .update_position(UpdatePositionRequest {
                unit_id: unit_id.clone(),
                location: Some(GeoPoint {
                    lat: CENTER.lat + (i as f64) * 0.0001,
                    lon: CENTER.lon,
                }),
                at: Some(at),
                ..Default::default()
            })
            .await
            .map_err(|s| anyhow::anyhow!("UpdatePosition: {}: {}", code(&s), s.message()))?;
    }
    let watchers = [watch(world, 1).await?, watch(world, 2).await?];
    // Both streams subscribed before the first change.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let started = Instant::now();
    let opened: Vec<Result<String, String>> = futures::stream::iter(0..dispatches)
        .map(|i| {
            let client = clients[i % 2].clone();
            let request = OpenDispatchRequest {
                request_id: format!("e2e-{run}-open-{i}"),
                incident_id: format!("e2e-{run}-incident-{i}"),
                priority: Priority::P2 as i32,
                location: Some(CENTER),
                category: "DISPUTE".to_owned(),
                summary: format!("e2e board {i}"),
                station_id: STATION.to_owned(),
                ..Default::default()
            };
            async move {
                // UNAVAILABLE (a full pool under the burst) is retried, as a client does.
                retry_unavailable(|| {
                    let mut client = client.clone();
                    let request = request.clone();
                    async move { client.open_dispatch(request).await }
                })
                .await
                .map_err(|s| format!("{}: {}", code(&s), s.message()))
                .and_then(|a| {
                    a.into_inner()
                        .dispatch
                        .map(|d| d.dispatch_id)
                        .ok_or_else(|| "no dispatch in the answer".to_owned())
                })
            }
        })
        .buffer_unordered(dispatches.max(1))
        .collect()
        .await;
    let ids: Vec<String> = opened.iter().filter_map(|r| r.clone().ok()).collect();
    let open_errors: Vec<&String> = opened.iter().filter_map(|r| r.as_ref().err()).collect();
    // Dispatchers on both replicas assign units by hand at the same time: most must be refused.
    let assigned: Vec<Result<(), String>> = futures::stream::iter(ids.iter().enumerate())
        .map(|(i, dispatch_id)| {
            let client = clients[i % 2].clone();
            let request = AssignRequest {
                request_id: format!("e2e-{run}-assign-{i}"),
                dispatch_id: dispatch_id.clone(),
                unit_id: unit_ids[(i * 7) % unit_ids.len().max(1)].clone(),
                note: String::new(),
            };
            async move {
                retry_unavailable(|| {
                    let mut client = client.clone();
                    let request = request.clone();
                    async move { client.assign(request).await }
                })
                .await
                .map(|_| ())
                .map_err(|s| format!("{}: {}", code(&s), s.message()))
            }
        })
        .buffer_unordered(ids.len().max(1))
        .collect()
        .await;
    let elapsed = started.elapsed();
    let assigns_ok = assigned.iter().filter(|r| r.is_ok()).count();
    let mut refused: BTreeMap<String, usize> = BTreeMap::new();
    let mut first_refusal = BTreeMap::new();
    for error in assigned.iter().filter_map(|r| r.as_ref().err()) {
        let kind = error.split(':').next().unwrap_or_default().to_owned();
        first_refusal
            .entry(kind.clone())
            .or_insert_with(|| error.clone());
        *refused.entry(kind).or_default() += 1;
    }
    let (doubles, open) = double_bookings(&clients[0]).await?;
    // Truth: each dispatch as dispatch ends it.
    let truth: BTreeMap<String, (i32, BTreeSet<String>)> = futures::stream::iter(ids.iter())
        .map(|id| {
            let mut client = clients[0].clone();
            async move {
                let answer = client
                    .get_dispatch(GetDispatchRequest {
                        dispatch_id: id.clone(),
                    })
                    .await
                    .ok()?
                    .into_inner()
                    .dispatch?;
                Some((id.clone(), state(&answer)))
            }
        })
        .buffer_unordered(16)
        .filter_map(|x| async move { x })
        .collect()
        .await;
    let held: usize = truth.values().map(|(_, u)| u.len()).sum();
    // Give the boards a moment, then compare.
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut missed = [0usize; 2];
    loop {
        for (n, watcher) in watchers.iter().enumerate() {
            let seen = watcher.lock().map_err(|_| anyhow::anyhow!("poisoned"))?;
            missed[n] = truth
                .iter()
                .filter(|(id, state)| seen.dispatches.get(*id) != Some(*state))
                .count();
        }
        if missed == [0, 0] || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    verdict.figure("dispatches", format!("{} opened", ids.len()));
    verdict.figure("units", units);
    verdict.figure(
        "manual assigns",
        format!("{assigns_ok} ok, refused {refused:?}"),
    );
    for example in first_refusal.values() {
        println!("  assign refused, e.g.: {example}");
    }
    verdict.figure("units held", held);
    verdict.figure("double bookings", doubles.len());
    verdict.figure("in", ms(elapsed));
    for (n, watcher) in watchers.iter().enumerate() {
        let seen = watcher.lock().map_err(|_| anyhow::anyhow!("poisoned"))?;
        verdict.figure(
            &format!("board on replica {}", n + 1),
            format!(
                "{} events, {} of {} dispatches not at their last state{}{}",
                seen.events,
                missed[n],
                truth.len(),
                if seen.lagged > 0 {
                    format!(", lagged {}", seen.lagged)
                } else {
                    String::new()
                },
                seen.error
                    .as_ref()
                    .map(|e| format!(", stream ended {e}"))
                    .unwrap_or_default()
            ),
        );
        verdict.check(
            missed[n] == 0,
            format!(
                "the board on replica {} missed {} dispatches' changes (needs the board fan-out fix)",
                n + 1,
                missed[n]
            ),
        );
    }
    verdict.check(
        open_errors.is_empty(),
        format!(
            "{} OpenDispatch failed, e.g. {:?}",
            open_errors.len(),
            open_errors.first()
        ),
    );
    verdict.check(
        doubles.is_empty(),
        format!("units held by two dispatches: {doubles:?}"),
    );
    verdict.check(
        truth.len() == ids.len(),
        format!("read back {} of {} dispatches", truth.len(), ids.len()),
    );
    verdict.check(held > 0, "no unit was assigned at all");
    verdict.figure("open dispatches in the system", open);
    Ok(verdict)
}
