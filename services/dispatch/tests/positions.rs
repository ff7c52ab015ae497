//! The live position stores answer a nearest-units search like a brute force over every unit:
//! Redis (searched in growing windows) and the in-process grid (rings of cells), with filters that leave few
//! matching units among many nearer ones (the case that makes the Redis search widen).

use chrono::{DateTime, Duration, TimeZone, Utc};
use pingan_dispatch::domain::geo;
use pingan_dispatch::positions::{
    Candidate, Fix, MemoryPositions, PositionStore, RedisPositions, SearchQuery, UnitMeta,
};
use pingan_platform::testing::{cleanup_redis, test_redis};
use pingan_proto::dispatch::v1::{UnitKind, UnitStatus};

const UNITS: usize = 1500;
const CENTRE: (f64, f64) = (30.60, 114.30);

/// A small deterministic generator (no seed file, same units every run).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }

    fn unit_interval(&mut self) -> f64 {
        (self.next() % 1_000_000) as f64 / 1_000_000.0
    }
}

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 2, 9, 0, 0)
        .single()
        .expect("time")
}

/// Units around the centre: one in twenty available, some stale, some with a boat.
fn fleet() -> (Vec<UnitMeta>, Vec<Fix>) {
    let mut random = Lcg(7);
    let mut metas = Vec::new();
    let mut fixes = Vec::new();
    for index in 0..UNITS {
        let unit_id = format!("unit-{index:04}");
        let available = random.next().is_multiple_of(20);
        metas.push(UnitMeta {
            unit_id: unit_id.clone(),
            kind: if index % 3 == 0 {
                UnitKind::PatrolCar as i32
            } else {
                UnitKind::Officer as i32
            },
            station_id: format!("st-{}", index % 4),
            capabilities: if index % 7 == 0 {
                vec!["boat".into()]
            } else {
                Vec::new()
            },
            status: if available {
                UnitStatus::Available as i32
            } else {
                UnitStatus::EnRoute as i32
            },
            callsign: format!("CS-{index}"),
        });
        let stale = random.next().is_multiple_of(10);
        fixes.push(Fix {
            unit_id,
            lat: CENTRE.0 + (random.unit_interval() - 0.5) * 0.09,
            lon: CENTRE.1 + (random.unit_interval() - 0.5) * 0.1,
            at: if stale {
                now() - Duration::minutes(30)
            } else {
                now() - Duration::seconds(20)
            },
        });
    }
    (metas, fixes)
}

fn queries() -> Vec<SearchQuery> {
    let base = SearchQuery {
        lat: CENTRE.0,
        lon: CENTRE.1,
        radius_m: 5000.0,
        kinds: Vec::new(),
        capabilities: Vec::new(),
        only_available: true,
        station_id: None,
        stations: None,
        fresh_after: now() - Duration::minutes(5),
        exclude: Vec::new(),
        limit: 5,
    };
    vec![
        base.clone(),
        SearchQuery {
            only_available: false,
            limit: 20,
            ..base.clone()
        },
        SearchQuery {
            capabilities: vec!["boat".into()],
            kinds: vec![UnitKind::PatrolCar as i32],
            limit: 3,
            ..base.clone()
        },
        SearchQuery {
            station_id: Some("st-2".into()),
            exclude: vec!["unit-0002".into()],
            limit: 8,
            ..base.clone()
        },
        SearchQuery {
            // A jurisdiction of one station in four: the other stations' nearer units are
            // passed over, never returned short of the limit.
            stations: Some(vec!["st-3".into()]),
            only_available: false,
            limit: 12,
            ..base.clone()
        },
        SearchQuery {
            // More asked than match: every matching unit in the radius, none missed.
            radius_m: 1200.0,
            limit: 500,
            ..base.clone()
        },
        SearchQuery {
            lat: CENTRE.0 + 0.03,
            radius_m: 800.0,
            only_available: false,
            ..base.clone()
        },
        SearchQuery {
            // Far from the fleet with a wide radius: the walk outgrows the occupied cells.
            lat: CENTRE.0 + 0.3,
            lon: CENTRE.1 - 0.2,
            radius_m: 50_000.0,
            limit: 7,
            ..base
        },
    ]
}

/// What a search must answer: every unit, filtered, by exact distance.
fn brute_force(metas: &[UnitMeta], fixes: &[Fix], query: &SearchQuery) -> Vec<(String, f64)> {
    let mut out: Vec<(String, f64)> = metas
        .iter()
        .zip(fixes)
        .filter(|(meta, fix)| query.accepts(meta) && fix.at >= query.fresh_after)
        .map(|(meta, fix)| {
            let distance = geo::distance_m(query.lat, query.lon, fix.lat, fix.lon);
            (meta.unit_id.clone(), distance)
        })
        .filter(|(_, distance)| *distance <= query.radius_m)
        .collect();
    out.sort_by(|a, b| a.1.total_cmp(&b.1));
    out.truncate(query.limit);
    out
}

/// Same units as the brute force, nearest first; distances within a metre (Redis geohashes).
fn assert_same(store: &str, found: &[Candidate], expected: &[(String, f64)], query: &SearchQuery) {
    let tolerance = 1.0;
    assert_eq!(found.len(), expected.len(), "{store}: count for {query:?}");
    for (index, (candidate, (unit_id, distance))) in found.iter().zip(expected).enumerate() {
        assert!(
            (candidate.distance_m - distance).abs() < tolerance,
            "{store}: #{index} at {} m, expected {unit_id} at {distance} m",
            candidate.distance_m
        );
        if candidate.meta.unit_id != *unit_id {
            // Only a near tie may swap two units.
            let twin = expected
                .iter()
                .find(|(id, _)| *id == candidate.meta.unit_id);
            assert!(
                twin.is_some_and(|(_, d)| (d - distance).abs() < tolerance),
                "{store}: #{index} is {}, expected {unit_id}",
                candidate.meta.unit_id
            );
        }
        assert!(query.accepts(&candidate.meta), "{store}: filters");
    }
    assert!(
        found
            .windows(2)
            .all(|pair| pair[0].distance_m <= pair[1].distance_m),
        "{store}: nearest first"
    );
}

async fn check(store: &dyn PositionStore, name: &str) {
    let (mut metas, mut fixes) = fleet();
    store.upsert_units(&metas).await.expect("units");
    store.record(&fixes).await.expect("fixes");
    search_all(store, name, &metas, &fixes, "fresh fleet").await;

    // Units change status, station and position after they were placed: the sets searched for
    // available units follow (a unit taken is never offered, a unit freed is found again).
    let available = UnitStatus::Available as i32;
    let mut random = Lcg(11);
    for meta in metas.iter_mut() {
        if random.next().is_multiple_of(5) {
            meta.status = if meta.status == available {
                UnitStatus::Assigned as i32
            } else {
                available
            };
            store
                .set_status(&meta.unit_id, meta.status)
                .await
                .expect("status");
        }
    }
    let mut moved = Vec::new();
    for index in (0..UNITS).step_by(9) {
        metas[index].station_id = format!("st-{}", (index + 1) % 4);
        metas[index].status = available;
        metas[index].callsign = format!("CS-{index}-moved");
        moved.push(metas[index].clone());
    }
    store.upsert_units(&moved).await.expect("moved units");
    // Stations as the position gate reads them: each unit's current one, none for a stranger.
    let mut asked: Vec<String> = metas.iter().map(|m| m.unit_id.clone()).collect();
    asked.push("unit-unknown".to_owned());
    let stations = store.stations(&asked).await.expect("stations");
    assert_eq!(
        stations.len(),
        metas.len(),
        "{name}: one station per known unit"
    );
    for meta in &metas {
        assert_eq!(
            stations.get(&meta.unit_id),
            Some(&meta.station_id),
            "{name}: the station of {}",
            meta.unit_id
        );
    }
    let mut later = Vec::new();
    for index in (0..UNITS).step_by(13) {
        fixes[index].lat += 0.004;
        fixes[index].at = now() - Duration::seconds(5);
        later.push(fixes[index].clone());
    }
    store.record(&later).await.expect("later fixes");
    search_all(store, name, &metas, &fixes, "after changes").await;

    // Positions forgotten leave every set.
    let cutoff = now() - Duration::minutes(10);
    store.forget_before(cutoff).await.expect("forget");
    let (kept_metas, kept_fixes): (Vec<UnitMeta>, Vec<Fix>) = metas
        .into_iter()
        .zip(fixes)
        .filter(|(_, fix)| fix.at >= cutoff)
        .unzip();
    search_all(store, name, &kept_metas, &kept_fixes, "after forgetting").await;
    let stale_only = SearchQuery {
        fresh_after: now() - Duration::hours(1),
        ..queries()[0].clone()
    };
    let found = store.search(&stale_only).await.expect("search");
    assert!(
        found.iter().all(|c| c.position.at >= cutoff),
        "{name}: a forgotten position was found"
    );
}

async fn search_all(
    store: &dyn PositionStore,
    name: &str,
    metas: &[UnitMeta],
    fixes: &[Fix],
    when: &str,
) {
    for query in queries() {
        let expected = brute_force(metas, fixes, &query);
        assert!(!expected.is_empty(), "the fleet covers {query:?}");
        let found = store.search(&query).await.expect("search");
        assert_same(&format!("{name}, {when}"), &found, &expected, &query);
        for candidate in &found {
            let meta = metas
                .iter()
                .find(|m| m.unit_id == candidate.meta.unit_id)
                .expect("a known unit");
            assert_eq!(
                candidate.meta, *meta,
                "{name}, {when}: the unit's live state"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_search_matches_brute_force() {
    let redis = test_redis().await.expect("redis");
    check(&RedisPositions::new(redis.clone()), "redis").await;
    cleanup_redis(&redis).await;
}

#[tokio::test]
async fn memory_search_matches_brute_force() {
    check(&MemoryPositions::new(), "memory").await;
}

/// Streams racing: four writers move disjoint quarters of the fleet across cells, three times
/// each, while searches run; the store then answers like a brute force over the last fixes.
async fn check_racing(store: std::sync::Arc<dyn PositionStore>, name: &str) {
    let (metas, mut fixes) = fleet();
    store.upsert_units(&metas).await.expect("units");
    store.record(&fixes).await.expect("fixes");
    let moved = |fix: &Fix, round: usize| Fix {
        unit_id: fix.unit_id.clone(),
        lat: fix.lat + 0.013 * (round + 1) as f64 - 0.02,
        lon: fix.lon - 0.011 * (round + 1) as f64 + 0.02,
        at: now() - Duration::seconds(10 - round as i64),
    };
    let writers = (0..4).map(|writer| {
        let store = store.clone();
        let mine: Vec<Fix> = fixes.iter().skip(writer).step_by(4).cloned().collect();
        tokio::spawn(async move {
            for round in 0..3 {
                let batch: Vec<Fix> = mine.iter().map(|fix| moved(fix, round)).collect();
                store.record(&batch).await.expect("racing fixes");
            }
        })
    });
    let searchers = (0..2).map(|_| {
        let store = store.clone();
        tokio::spawn(async move {
            for query in queries().into_iter().cycle().take(30) {
                store.search(&query).await.expect("search while fixes race");
            }
        })
    });
    for task in futures::future::join_all(writers.chain(searchers)).await {
        task.expect("task");
    }
    for fix in fixes.iter_mut() {
        *fix = moved(fix, 2);
    }
    search_all(store.as_ref(), name, &metas, &fixes, "after racing moves").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_racing_moves_end_like_a_brute_force() {
    let redis = test_redis().await.expect("redis");
    check_racing(
        std::sync::Arc::new(RedisPositions::new(redis.clone())),
        "redis",
    )
    .await;
    cleanup_redis(&redis).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_racing_moves_end_like_a_brute_force() {
    check_racing(std::sync::Arc::new(MemoryPositions::new()), "memory").await;
}

/// One record call holding a unit's fixes in order and out of order, twice over, beside an
/// unknown unit: one code per fix, and the unit's latest fix is its live position in every set
/// (the Redis script adds a group's members to each set in one command).
async fn check_one_group(store: &dyn PositionStore, name: &str) {
    let (metas, fixes) = fleet();
    let unit = metas[0].clone();
    let available_unit = UnitMeta {
        status: UnitStatus::Available as i32,
        ..unit
    };
    store
        .upsert_units(std::slice::from_ref(&available_unit))
        .await
        .expect("unit");
    let base = fixes[0].clone();
    let at = |seconds: i64, lat_step: f64| Fix {
        lat: base.lat + lat_step * 0.01,
        at: now() - Duration::seconds(seconds),
        ..base.clone()
    };
    let stranger = Fix {
        unit_id: "unit-unknown".to_owned(),
        ..at(30, 0.0)
    };
    let group = vec![
        at(40, 0.0),
        at(30, 1.0),
        at(35, 2.0),
        stranger,
        at(20, 3.0),
        at(25, 4.0),
    ];
    let codes = store.record(&group).await.expect("group");
    use pingan_dispatch::positions::Recorded::{Accepted, OutOfOrder, UnknownUnit};
    assert_eq!(
        codes,
        vec![
            Accepted,
            Accepted,
            OutOfOrder,
            UnknownUnit,
            Accepted,
            OutOfOrder
        ],
        "{name}: one code per fix, in order"
    );
    let latest = &group[4];
    let live = store
        .positions(std::slice::from_ref(&available_unit.unit_id))
        .await
        .expect("positions");
    let position = live.get(&available_unit.unit_id).expect("a live position");
    assert_eq!(
        (position.lat, position.at),
        (latest.lat, latest.at),
        "{name}: the latest fix"
    );
    for (station, only_available) in [
        (None, false),
        (None, true),
        (Some("st-0"), false),
        (Some("st-0"), true),
    ] {
        let query = SearchQuery {
            lat: latest.lat,
            lon: latest.lon,
            radius_m: 50.0,
            kinds: Vec::new(),
            capabilities: Vec::new(),
            only_available,
            station_id: station.map(str::to_owned),
            stations: None,
            fresh_after: now() - Duration::minutes(5),
            exclude: Vec::new(),
            limit: 5,
        };
        let found = store.search(&query).await.expect("search");
        let ids: Vec<&str> = found.iter().map(|c| c.meta.unit_id.as_str()).collect();
        assert_eq!(
            ids,
            vec![available_unit.unit_id.as_str()],
            "{name}: found at its latest fix by {query:?}"
        );
        assert!(
            found[0].distance_m < 1.0,
            "{name}: indexed at its latest fix by {query:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_one_group_keeps_each_units_latest_fix() {
    let redis = test_redis().await.expect("redis");
    check_one_group(&RedisPositions::new(redis.clone()), "redis").await;
    cleanup_redis(&redis).await;
}

#[tokio::test]
async fn memory_one_group_keeps_each_units_latest_fix() {
    check_one_group(&MemoryPositions::new(), "memory").await;
}
