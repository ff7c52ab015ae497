//! Story 7 from ReportCall alone, across the REAL intake, grid-registry, triage and dispatch, on
//! SQLite and on Postgres + Redis: a caller reports a person in the river; triage recognises the
//! WATER situation, intake carries the catalogue's requirements into OpenDispatch, dispatch sends
//! a drone and a ground unit; the drone's flight is logged and the drone statistics go up.

mod dispatch_support;
mod stories_support;

use chrono::Utc;
use pingan_platform::auth::Role;
use pingan_proto::common::v1::{Channel, Priority, TimeRange};
use pingan_proto::dispatch::v1 as dpb;
use pingan_proto::intake::v1::Outcome;
use pingan_proto::triage::v1 as tpb;
use pingan_tests::{TestBackend, backend_tests};
use stories_support::*;

use dispatch_support::{command_center, offset, place, ts};

backend_tests!(story_7_a_river_rescue_from_report_call_gets_a_drone_and_a_ground_unit);

const DRONE: &str = "u-st-chengnan-uav1";

async fn drone_totals(dispatch: &mut Dispatch) -> dpb::DroneTotals {
    let now = Utc::now();
    dispatch
        .drone_stats(dpb::DroneStatsRequest {
            period: Some(TimeRange {
                start: Some(ts(now - chrono::Duration::days(1))),
                end: Some(ts(now + chrono::Duration::days(1))),
            }),
            interval: dpb::StatsInterval::Day as i32,
            unit_ids: vec![DRONE.into()],
            ..Default::default()
        })
        .await
        .expect("drone stats")
        .into_inner()
        .totals
        .unwrap_or_default()
}

async fn story_7_a_river_rescue_from_report_call_gets_a_drone_and_a_ground_unit(
    backend: TestBackend,
) {
    let stories = Stories::start(backend).await;
    let mut command = command_center(&stories.cluster).await;
    // Chengnan's drone is on its pad 1.5 km from the bridge.
    place(
        &mut command,
        DRONE,
        offset((scene().lat, scene().lon), 1_500.0, -500.0),
        Utc::now(),
    )
    .await;
    let before = drone_totals(&mut command).await;
    assert_eq!(before.missions, 0);

    // A quarrel by the river is no water rescue: no drone is asked for.
    let mut triage = stories.triage("110-platform", &[Role::CallIntegrator]);
    let quarrel = triage
        .classify(tpb::ClassifyRequest {
            text: "河边有人吵架".into(),
            channel: Channel::Channel110 as i32,
            ..Default::default()
        })
        .await
        .expect("classify")
        .into_inner()
        .classification
        .expect("classification");
    assert!(quarrel.situations.is_empty(), "{quarrel:#?}");
    assert!(
        quarrel
            .unit_requirements
            .iter()
            .all(|r| !r.kinds.contains(&(dpb::UnitKind::Drone as i32))),
        "{quarrel:#?}"
    );

    let mut call_taker = stories.call_taker();
    let response = call_taker
        .report_call(call_110("story7-river", "有人掉进河里了，在大桥下面"))
        .await
        .expect("report call")
        .into_inner();
    assert_eq!(response.outcome(), Outcome::Dispatched, "{response:#?}");
    let classification = response.classification.clone().expect("classification");
    assert_eq!(classification.category, "RESCUE");
    assert_eq!(classification.priority(), Priority::P1);
    let situations: Vec<&str> = classification
        .situations
        .iter()
        .map(|s| s.code.as_str())
        .collect();
    assert_eq!(situations, ["WATER"], "{classification:#?}");
    assert_eq!(classification.unit_requirements.len(), 2);
    assert_eq!(response.assigned_unit_ids.len(), 2, "{response:#?}");
    assert!(response.assigned_unit_ids.contains(&DRONE.to_owned()));

    // Dispatch's own record: the category and the carried requirements, a drone and a ground
    // unit assigned, nothing left unfilled.
    let dispatch = wait_dispatch(&mut command, &response.dispatch_id, "exists", |_| true).await;
    assert_eq!(dispatch.category, "RESCUE");
    assert_eq!(dispatch.incident_id, response.incident_id);
    assert_eq!(dispatch.unit_requirements, classification.unit_requirements);
    assert!(dispatch.unfilled_requirements.is_empty(), "{dispatch:#?}");
    let units = command
        .list_units(dpb::ListUnitsRequest {
            station_id: STATION.into(),
            ..Default::default()
        })
        .await
        .expect("units")
        .into_inner()
        .units;
    let kind_of = |id: &str| {
        units
            .iter()
            .find(|u| u.unit_id == id)
            .map(|u| u.kind())
            .unwrap_or_default()
    };
    let mut kinds: Vec<dpb::UnitKind> = dispatch
        .assignments
        .iter()
        .map(|a| {
            assert_eq!(a.unit_kind(), kind_of(&a.unit_id), "{a:#?}");
            a.unit_kind()
        })
        .collect();
    kinds.sort();
    assert_eq!(kinds.len(), 2);
    assert_eq!(kinds[1], dpb::UnitKind::Drone);
    assert!(
        matches!(
            kinds[0],
            dpb::UnitKind::Officer | dpb::UnitKind::PatrolCar | dpb::UnitKind::Auxiliary
        ),
        "{kinds:?}"
    );
    let drone = units.iter().find(|u| u.unit_id == DRONE).expect("drone");
    assert_eq!(drone.status(), dpb::UnitStatus::Assigned);

    // The drone searches the river: one sortie logged against the dispatch.
    let start = Utc::now() - chrono::Duration::minutes(20);
    command
        .log_flight(dpb::LogFlightRequest {
            request_id: "story7-flight-1".into(),
            unit_id: DRONE.into(),
            dispatch_id: dispatch.dispatch_id.clone(),
            started_at: Some(ts(start)),
            ended_at: Some(ts(start + chrono::Duration::minutes(14))),
            distance_m: 5_200.0,
            pilot_officer_id: "st-chengnan-o4".into(),
            purpose: "水域搜寻".into(),
            video_recorded: true,
            notes: String::new(),
        })
        .await
        .expect("log flight");
    let after = drone_totals(&mut command).await;
    assert_eq!(after.missions, before.missions + 1);
    assert_eq!(after.dispatches, 1);
    assert!((after.distance_m - before.distance_m - 5_200.0).abs() < 1e-6);
    assert_eq!(after.flight_time.map(|d| d.seconds), Some(14 * 60));
    stories.shutdown().await;
}
