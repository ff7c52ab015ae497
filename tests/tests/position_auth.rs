//! Position reports are authorised per unit, on SQLite (positions in process) and on Postgres +
//! Redis: a unit's own device, the officers and dispatchers of its station and the bureau-wide
//! roles may report it; anyone else gets PERMISSION_DENIED and nothing is written, for
//! UpdatePosition and for every fix of a ReportPositions stream.

mod dispatch_support;

use chrono::Utc;
use dispatch_support::*;
use pingan_platform::auth::Role;
use pingan_proto::common::v1::GeoPoint;
use pingan_proto::dispatch::v1::*;
use pingan_tests::{Service, TestBackend, TestCluster, backend_tests};
use tonic::Code;

backend_tests!(
    update_position_is_allowed_to_the_unit_its_station_and_the_bureau_only,
    every_fix_of_a_stream_is_authorised_for_its_unit,
    a_unit_moved_to_another_station_is_reported_by_its_new_station,
    a_device_stream_kept_open_has_each_fix_stored_as_it_comes,
);

/// (subject, roles, stations, unit reported, allowed)
type Case<'a> = (&'a str, Vec<Role>, Vec<&'a str>, &'a str, bool);

const OWN: &str = "u-st-chengnan-o1";
const OWN_STATION_OTHER_UNIT: &str = "u-st-chengnan-o2";
const OTHER_STATION_UNIT: &str = "u-st-rongxiang-o1";

/// A distinct point per attempt near the unit's station, so a stray write would show.
fn spot(unit_id: &str, attempt: u32) -> GeoPoint {
    let station = if unit_id.contains("rongxiang") {
        "st-rongxiang"
    } else {
        "st-chengnan"
    };
    offset(origin(station), 10.0 * f64::from(attempt), 0.0)
}

async fn report(client: &mut Client, unit_id: &str, attempt: u32) -> Result<PositionOutcome, Code> {
    client
        .update_position(UpdatePositionRequest {
            unit_id: unit_id.to_owned(),
            location: Some(spot(unit_id, attempt)),
            at: Some(ts(Utc::now())),
            ..Default::default()
        })
        .await
        .map(|r| r.into_inner().outcome())
        .map_err(|status| status.code())
}

/// Where dispatch holds `unit_id` now.
async fn position(admin: &mut Client, unit_id: &str) -> Option<GeoPoint> {
    let units = admin
        .list_units(ListUnitsRequest {
            page_size: 1000,
            ..Default::default()
        })
        .await
        .expect("list units")
        .into_inner()
        .units;
    units
        .into_iter()
        .find(|u| u.unit_id == unit_id)
        .expect("unit listed")
        .location
}

fn same(a: Option<GeoPoint>, b: &GeoPoint) -> bool {
    a.is_some_and(|a| (a.lat - b.lat).abs() < 1e-7 && (a.lon - b.lon).abs() < 1e-7)
}

async fn update_position_is_allowed_to_the_unit_its_station_and_the_bureau_only(
    backend: TestBackend,
) {
    let cluster = TestCluster::start(backend, &[Service::Dispatch])
        .await
        .expect("cluster");
    let mut admin = as_subject(&cluster, "ops", &[Role::Admin], &[]).await;
    import_units(&mut admin).await;

    let device = format!("unit:{OWN}");
    let cases: Vec<Case<'_>> = vec![
        (&device, vec![Role::Device], vec![], OWN, true),
        (
            &device,
            vec![Role::Device],
            vec![],
            OWN_STATION_OTHER_UNIT,
            false,
        ),
        (
            &device,
            vec![Role::Device],
            vec![],
            OTHER_STATION_UNIT,
            false,
        ),
        (
            "o-cn",
            vec![Role::StationOfficer],
            vec!["st-chengnan"],
            OWN_STATION_OTHER_UNIT,
            true,
        ),
        (
            "o-cn",
            vec![Role::StationOfficer],
            vec!["st-chengnan"],
            OTHER_STATION_UNIT,
            false,
        ),
        (
            "o-rx",
            vec![Role::VillageOfficer],
            vec!["st-rongxiang"],
            OWN,
            false,
        ),
        (
            "o-rx",
            vec![Role::VillageOfficer],
            vec!["st-rongxiang"],
            OTHER_STATION_UNIT,
            true,
        ),
        (
            "d-cn",
            vec![Role::Dispatcher],
            vec!["st-chengnan"],
            OWN,
            true,
        ),
        ("d-none", vec![Role::Dispatcher], vec![], OWN, false),
        (
            "cc",
            vec![Role::CommandCenter],
            vec![],
            OTHER_STATION_UNIT,
            true,
        ),
        (
            "cc-rx",
            vec![Role::CommandCenter],
            vec!["st-rongxiang"],
            OWN,
            false,
        ),
        ("ops", vec![Role::Admin], vec![], OWN, true),
        // No service reports positions: a service's identity is refused them.
        (
            "intake",
            vec![Role::Service],
            vec![],
            OTHER_STATION_UNIT,
            false,
        ),
        // A bureau-wide reader is not a reporter.
        ("insp", vec![Role::Inspector], vec![], OWN, false),
        // The subject alone does not make a device.
        (
            &device,
            vec![Role::StationOfficer],
            vec!["st-rongxiang"],
            OWN,
            false,
        ),
    ];
    let mut attempt = 0;
    for (subject, roles, stations, unit, allowed) in cases {
        attempt += 1;
        let before = position(&mut admin, unit).await;
        let mut client = as_subject(&cluster, subject, &roles, &stations).await;
        let answer = report(&mut client, unit, attempt).await;
        let now = position(&mut admin, unit).await;
        let case = format!("{subject} {roles:?} {stations:?} -> {unit}");
        if allowed {
            assert_eq!(answer, Ok(PositionOutcome::Accepted), "{case}");
            assert!(same(now, &spot(unit, attempt)), "{case}: position stored");
        } else {
            assert_eq!(answer, Err(Code::PermissionDenied), "{case}");
            assert_eq!(now, before, "{case}: nothing written");
        }
    }

    // An unknown unit is NOT_FOUND, whoever asks (nothing to authorise).
    let mut officer = as_subject(&cluster, "o-cn", &[Role::StationOfficer], &["st-chengnan"]).await;
    assert_eq!(
        report(&mut officer, "u-nobody", 99).await,
        Err(Code::NotFound)
    );
}

async fn stream(
    client: &mut Client,
    fixes: &[(&str, u32)],
) -> Result<ReportPositionsResponse, Code> {
    let now = Utc::now();
    let items: Vec<ReportPositionsRequest> = fixes
        .iter()
        .enumerate()
        .map(|(i, (unit_id, attempt))| ReportPositionsRequest {
            unit_id: (*unit_id).to_owned(),
            location: Some(spot(unit_id, *attempt)),
            at: Some(ts(now + chrono::Duration::milliseconds(i as i64))),
            ..Default::default()
        })
        .collect();
    client
        .report_positions(tokio_stream::iter(items))
        .await
        .map(tonic::Response::into_inner)
        .map_err(|status| status.code())
}

async fn every_fix_of_a_stream_is_authorised_for_its_unit(backend: TestBackend) {
    let cluster = TestCluster::start(backend, &[Service::Dispatch])
        .await
        .expect("cluster");
    let mut admin = as_subject(&cluster, "ops", &[Role::Admin], &[]).await;
    import_units(&mut admin).await;

    // A station officer's stream: its own units pass, an unknown unit is counted as rejected.
    let mut officer = as_subject(&cluster, "o-cn", &[Role::StationOfficer], &["st-chengnan"]).await;
    let answer = stream(
        &mut officer,
        &[(OWN, 1), (OWN_STATION_OTHER_UNIT, 1), ("u-nobody", 1)],
    )
    .await
    .expect("own station's units");
    assert_eq!((answer.accepted, answer.rejected), (2, 1));
    assert!(same(position(&mut admin, OWN).await, &spot(OWN, 1)));

    // Mixed: allowed fixes before the forbidden one are stored; the forbidden unit and every
    // fix after it are not, and the stream ends with PERMISSION_DENIED.
    let other_before = position(&mut admin, OTHER_STATION_UNIT).await;
    let answer = stream(
        &mut officer,
        &[
            (OWN, 2),
            (OTHER_STATION_UNIT, 2),
            (OWN_STATION_OTHER_UNIT, 2),
        ],
    )
    .await;
    assert_eq!(answer.err(), Some(Code::PermissionDenied));
    assert!(
        same(position(&mut admin, OWN).await, &spot(OWN, 2)),
        "allowed fix before it stored"
    );
    assert_eq!(position(&mut admin, OTHER_STATION_UNIT).await, other_before);
    assert!(
        same(
            position(&mut admin, OWN_STATION_OTHER_UNIT).await,
            &spot(OWN_STATION_OTHER_UNIT, 1)
        ),
        "nothing after the forbidden fix"
    );

    // A device streams its own unit only.
    let mut device = as_subject(&cluster, &format!("unit:{OWN}"), &[Role::Device], &[]).await;
    let answer = stream(&mut device, &[(OWN, 3)]).await.expect("own unit");
    assert_eq!(answer.accepted, 1);
    assert_eq!(
        stream(&mut device, &[(OWN_STATION_OTHER_UNIT, 3)])
            .await
            .err(),
        Some(Code::PermissionDenied)
    );
    assert!(same(
        position(&mut admin, OWN_STATION_OTHER_UNIT).await,
        &spot(OWN_STATION_OTHER_UNIT, 1)
    ));

    // A dispatcher of the other station is refused at the first fix of ours.
    let mut dispatcher = as_subject(&cluster, "d-rx", &[Role::Dispatcher], &["st-rongxiang"]).await;
    assert_eq!(
        stream(&mut dispatcher, &[(OWN, 4)]).await.err(),
        Some(Code::PermissionDenied)
    );
    assert!(same(position(&mut admin, OWN).await, &spot(OWN, 3)));

    // Concurrent streams of two stations' officers, each for its own units, all pass.
    let mut rongxiang =
        as_subject(&cluster, "o-rx", &[Role::StationOfficer], &["st-rongxiang"]).await;
    let (a, b) = tokio::join!(
        stream(&mut officer, &[(OWN, 5), (OWN_STATION_OTHER_UNIT, 5)]),
        stream(&mut rongxiang, &[(OTHER_STATION_UNIT, 5)]),
    );
    assert_eq!(a.expect("chengnan").accepted, 2);
    assert_eq!(b.expect("rongxiang").accepted, 1);
    assert!(same(
        position(&mut admin, OTHER_STATION_UNIT).await,
        &spot(OTHER_STATION_UNIT, 5)
    ));
}

/// Streams are authorised on the stations the live store holds: a unit registered again under
/// another station is refused to its old station's officers at once, and allowed to the new one's.
async fn a_unit_moved_to_another_station_is_reported_by_its_new_station(backend: TestBackend) {
    let cluster = TestCluster::start(backend, &[Service::Dispatch])
        .await
        .expect("cluster");
    let mut admin = as_subject(&cluster, "ops", &[Role::Admin], &[]).await;
    let units = import_units(&mut admin).await;
    let mut chengnan =
        as_subject(&cluster, "o-cn", &[Role::StationOfficer], &["st-chengnan"]).await;
    let mut rongxiang =
        as_subject(&cluster, "o-rx", &[Role::StationOfficer], &["st-rongxiang"]).await;
    // The first stream warms the live store with every unit and their stations.
    assert_eq!(
        stream(&mut chengnan, &[(OWN, 1)])
            .await
            .expect("own unit")
            .accepted,
        1
    );
    let mut moved = units
        .into_iter()
        .find(|unit| unit.unit_id == OWN)
        .expect("the unit in the jurisdiction");
    moved.request_id = format!("move-{OWN}");
    moved.station_id = "st-rongxiang".to_owned();
    admin.register_unit(moved).await.expect("unit moved");

    assert_eq!(
        stream(&mut chengnan, &[(OWN, 2)]).await.err(),
        Some(Code::PermissionDenied),
        "the old station may no longer report the unit"
    );
    assert!(same(position(&mut admin, OWN).await, &spot(OWN, 1)));
    assert_eq!(
        stream(&mut rongxiang, &[(OWN, 3)])
            .await
            .expect("new station")
            .accepted,
        1
    );
    assert!(same(position(&mut admin, OWN).await, &spot(OWN, 3)));
}

/// A device keeps one stream open and sends a fix now and then: each is live before the next
/// one is sent (not held until a batch fills or the stream ends).
async fn a_device_stream_kept_open_has_each_fix_stored_as_it_comes(backend: TestBackend) {
    let cluster = TestCluster::start(backend, &[Service::Dispatch])
        .await
        .expect("cluster");
    let mut admin = as_subject(&cluster, "ops", &[Role::Admin], &[]).await;
    import_units(&mut admin).await;
    let mut device = as_subject(&cluster, &format!("unit:{OWN}"), &[Role::Device], &[]).await;
    let (sender, fixes) = tokio::sync::mpsc::channel::<ReportPositionsRequest>(4);
    let open = tokio::spawn(async move {
        device
            .report_positions(tokio_stream::wrappers::ReceiverStream::new(fixes))
            .await
            .map(tonic::Response::into_inner)
            .map_err(|status| status.code())
    });
    for attempt in 11..14 {
        sender
            .send(ReportPositionsRequest {
                unit_id: OWN.to_owned(),
                location: Some(spot(OWN, attempt)),
                at: Some(ts(Utc::now())),
                ..Default::default()
            })
            .await
            .expect("stream open");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while !same(position(&mut admin, OWN).await, &spot(OWN, attempt)) {
            assert!(
                std::time::Instant::now() < deadline,
                "fix {attempt} not live while the stream stays open"
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }
    drop(sender);
    let answer = open.await.expect("stream task").expect("stream answer");
    assert_eq!((answer.accepted, answer.rejected), (3, 0));
}
