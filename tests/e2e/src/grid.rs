//! Scenario f: a grid created through one grid-registry replica is located by the other within
//! seconds.

use std::time::{Duration, Instant};

use pingan_proto::common::v1::GeoPoint;
use pingan_proto::grid::v1::{GridKind, LocateGridRequest, UpsertGridRequest};

use crate::common::{Verdict, code, ms};
use crate::world::World;

/// How long the other replica may take.
const WITHIN: Duration = Duration::from_secs(5);

/// Runs the scenario.
pub async fn run(world: &World, run: &str) -> anyhow::Result<Verdict> {
    let mut verdict = Verdict::new("f. grid across replicas");
    // A square far from the demo jurisdiction's grids (no overlap), unique per run.
    let offset = (rand::random::<u32>() % 1000) as f64 * 0.01;
    let (lat, lon) = (31.0 + offset, 95.0 + offset);
    let d = 0.004;
    let polygon = vec![
        GeoPoint { lat, lon },
        GeoPoint { lat, lon: lon + d },
        GeoPoint {
            lat: lat + d,
            lon: lon + d,
        },
        GeoPoint { lat: lat + d, lon },
    ];
    let grid_id = format!("e2e-{run}-grid");
    let locate = |replica: usize| {
        let client = world.grid(Some(replica));
        async move {
            let mut client = client?;
            let answer = client
                .locate_grid(LocateGridRequest {
                    location: Some(GeoPoint {
                        lat: lat + d / 2.0,
                        lon: lon + d / 2.0,
                    }),
                    ..Default::default()
                })
                .await;
            anyhow::Ok(match answer {
                Ok(a) => a.into_inner().grid_id,
                Err(s) => format!("({})", code(&s)),
            })
        }
    };
    let before = locate(2).await?;
    verdict.check(
        before != grid_id,
        "replica 2 located the grid before it was created",
    );
    world
        .grid(Some(1))?
        .upsert_grid(UpsertGridRequest {
            request_id: format!("e2e-{run}-grid-create"),
            grid_id: grid_id.clone(),
            station_id: "st-chengnan".to_owned(),
            name: "e2e 测试网格".to_owned(),
            polygon,
            kind: GridKind::Community as i32,
            ..Default::default()
        })
        .await
        .map_err(|s| anyhow::anyhow!("UpsertGrid on replica 1: {}: {}", code(&s), s.message()))?;
    let started = Instant::now();
    let on_first = locate(1).await?;
    verdict.check(
        on_first == grid_id,
        format!("replica 1 (the writer) locates {on_first:?}"),
    );
    let mut seen = None;
    while started.elapsed() < WITHIN * 2 {
        if locate(2).await? == grid_id {
            seen = Some(started.elapsed());
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    match seen {
        Some(after) => {
            verdict.figure("located by replica 2 after", ms(after));
            verdict.check(
                after <= WITHIN,
                format!("replica 2 took {} (> {})", ms(after), ms(WITHIN)),
            );
        }
        None => {
            verdict.figure("located by replica 2 after", "never (10 s)");
            verdict.check(
                false,
                "replica 2 never located the new grid (needs the grid-refresh fix)",
            );
        }
    }
    Ok(verdict)
}
