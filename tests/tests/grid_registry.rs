//! Grid registry end to end through gRPC, on both backends: the shared jurisdiction imported
//! through the public API, LocateGrid inside / outside / on edges, bad input refused with the
//! field named and nothing written, personal data masked per role, and no clear ID or phone
//! number in any log line of the run.

mod grid_common;

use grid_common::*;
use pingan_platform::auth::Role;
use pingan_proto::common::v1::GeoPoint;
use pingan_proto::grid::v1 as pb;
use pingan_tests::{TestBackend, backend_tests};
use tonic::Code;

async fn locate_grid_inside_outside_and_on_edges(backend: TestBackend) {
    let cluster = registry_with_jurisdiction(backend).await;
    let mut dispatcher = client(&cluster, "dispatch-1", &[Role::Dispatcher], &[]);
    let rects = rectangles();
    let mut checked = 0;
    for (id, lat0, lon0, lat1, lon1) in &rects {
        let (mid_lat, mid_lon) = ((lat0 + lat1) / 2.0, (lon0 + lon1) / 2.0);
        let probes = [
            (mid_lat, mid_lon),
            (*lat0, *lon0),
            (*lat1, *lon1),
            (*lat0, mid_lon),
            (mid_lat, *lon1),
        ];
        for (lat, lon) in probes {
            let want = expected_grid(&rects, lat, lon).expect("inside some grid");
            let got = dispatcher
                .locate_grid(pb::LocateGridRequest {
                    location: point(lat, lon),
                    ..Default::default()
                })
                .await
                .unwrap_or_else(|s| panic!("locate {lat},{lon}: {s}"))
                .into_inner();
            assert_eq!(got.grid_id, want, "point {lat},{lon}");
            checked += 1;
        }
        let inside = dispatcher
            .locate_grid(pb::LocateGridRequest {
                location: point(mid_lat, mid_lon),
                ..Default::default()
            })
            .await
            .expect("inside")
            .into_inner();
        assert_eq!(&inside.grid_id, id);
        assert!(inside.station_id.starts_with("st-"));
        assert!(!inside.station_name.is_empty());
    }
    assert_eq!(checked, 90);
    // Village officers come first among the responsible people.
    let g6 = dispatcher
        .locate_grid(pb::LocateGridRequest {
            location: point(29.3, 92.25),
            ..Default::default()
        })
        .await
        .expect("g6")
        .into_inner();
    assert_eq!(g6.grid_id, "st-rongxiang-g6");
    assert_eq!(g6.officer_ids, ["st-rongxiang-o3"]);
    assert_eq!(g6.officers[0].role, pb::OfficerRole::VillageOfficer as i32);
    for (lat, lon) in [(0.0, 0.0), (29.2399, 92.15), (29.35, 92.3), (32.0, 81.0)] {
        let status = dispatcher
            .locate_grid(pb::LocateGridRequest {
                location: point(lat, lon),
                ..Default::default()
            })
            .await
            .expect_err("outside every grid");
        assert_eq!(status.code(), Code::NotFound, "{lat},{lon}");
    }
    cluster.shutdown().await.expect("shutdown");
}

async fn bad_input_names_the_field_and_writes_nothing(backend: TestBackend) {
    let cluster = registry_with_jurisdiction(backend).await;
    let mut admin = admin(&cluster);
    // A wrong check digit (the valid number ends in 2).
    let resident = pb::UpsertResidentRequest {
        request_id: "bad-1".into(),
        resident_id: "r-new".into(),
        name: "测试".into(),
        id_number: "540523194701041013".into(),
        grid_id: "st-rongxiang-g1".into(),
        ..Default::default()
    };
    let status = admin
        .upsert_resident(resident.clone())
        .await
        .expect_err("wrong check digit");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(fields(&status), ["id_number"]);
    assert!(!status.message().contains("540523194701041013"));
    let mut fixed = resident.clone();
    fixed.id_number = "11010519491231002X".into();
    let stored = admin
        .upsert_resident(fixed)
        .await
        .expect("valid")
        .into_inner();
    assert!(stored.created, "the refused request wrote nothing");

    // A self-intersecting polygon and a latitude of 95.
    let bow_tie = pb::UpsertGridRequest {
        request_id: "bad-2".into(),
        grid_id: "st-rongxiang-bad".into(),
        station_id: RONGXIANG.into(),
        name: "坏网格".into(),
        polygon: vec![
            GeoPoint {
                lat: 29.0,
                lon: 92.0,
            },
            GeoPoint {
                lat: 29.1,
                lon: 92.1,
            },
            GeoPoint {
                lat: 29.1,
                lon: 92.0,
            },
            GeoPoint {
                lat: 29.0,
                lon: 92.1,
            },
        ],
        kind: pb::GridKind::Village as i32,
        ..Default::default()
    };
    let status = admin
        .upsert_grid(bow_tie.clone())
        .await
        .expect_err("bow tie");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(fields(&status), ["polygon"]);
    let mut too_far_north = bow_tie.clone();
    too_far_north.polygon[1].lat = 95.0;
    let status = admin.upsert_grid(too_far_north).await.expect_err("lat 95");
    assert_eq!(fields(&status), ["polygon[1].lat"]);
    let status = admin
        .locate_grid(pb::LocateGridRequest {
            location: point(95.0, 92.0),
            ..Default::default()
        })
        .await
        .expect_err("lat 95");
    assert_eq!(fields(&status), ["location.lat"]);
    let listed = admin
        .list_grids(pb::ListGridsRequest {
            station_id: RONGXIANG.into(),
            ..Default::default()
        })
        .await
        .expect("list")
        .into_inner();
    assert_eq!(listed.grids.len(), 6);
    assert!(listed.grids.iter().all(|g| g.grid_id != "st-rongxiang-bad"));
    cluster.shutdown().await.expect("shutdown");
}

async fn personal_data_is_masked_per_role_and_lookups_are_audited(backend: TestBackend) {
    let cluster = registry_with_jurisdiction(backend).await;
    let lookup = |purpose| pb::FindResidentByIdNumberRequest {
        id_number: "540523194701041012".into(),
        purpose,
        reason: "拾获身份证归还失主".into(),
        reference_id: "found-1".into(),
    };
    let purpose = pb::LookupPurpose::LostAndFound as i32;
    let mut followup = client(&cluster, "case-followup", &[Role::Service], &[]);
    let found = followup
        .find_resident_by_id_number(lookup(purpose))
        .await
        .expect("found")
        .into_inner();
    let resident = found.resident.expect("resident");
    assert_eq!(resident.resident_id, "r-101");
    assert_eq!(resident.id_number_masked, "540523********1012");
    assert_eq!(
        resident.id_number, "",
        "services do not get the id number back"
    );
    assert_eq!(resident.phone, "18247856977", "the owner must be called");
    assert_eq!(resident.phone_masked, "182****6977");
    assert!(resident.age >= 77);
    assert!(!found.lookup_id.is_empty());
    assert_eq!(found.responsible_officers[0].officer_id, "st-rongxiang-o3");
    let mut leader = client(&cluster, "leader", &[Role::StationOfficer], &[RONGXIANG]);
    let clear = leader
        .find_resident_by_id_number(lookup(purpose))
        .await
        .expect("found")
        .into_inner();
    assert_eq!(
        clear.resident.expect("resident").id_number,
        "540523194701041012"
    );
    let mut other_station = client(&cluster, "leader-2", &[Role::StationOfficer], &["st-caye"]);
    let status = other_station
        .find_resident_by_id_number(lookup(purpose))
        .await
        .expect_err("not theirs");
    assert_eq!(status.code(), Code::NotFound);
    let mut worker = client(&cluster, "worker", &[Role::GridWorker], &[RONGXIANG]);
    let status = worker
        .find_resident_by_id_number(lookup(purpose))
        .await
        .expect_err("role");
    assert_eq!(status.code(), Code::PermissionDenied);
    let status = followup
        .find_resident_by_id_number(lookup(0))
        .await
        .expect_err("purpose");
    assert_eq!(fields(&status), ["purpose"]);
    // A station officer cannot draw grids of another station.
    let status = leader
        .upsert_grid(pb::UpsertGridRequest {
            grid_id: "st-chengnan-g1".into(),
            station_id: "st-chengnan".into(),
            name: "x".into(),
            polygon: vec![
                GeoPoint { lat: 1.0, lon: 1.0 },
                GeoPoint { lat: 1.0, lon: 2.0 },
                GeoPoint { lat: 2.0, lon: 2.0 },
            ],
            ..Default::default()
        })
        .await
        .expect_err("other station");
    assert_eq!(status.code(), Code::PermissionDenied);
    // A broadcast to a grid's residents goes through the log sink with masked contacts.
    let sent = client(&cluster, "dispatch-1", &[Role::Dispatcher], &[RONGXIANG])
        .broadcast_to_grid(pb::BroadcastToGridRequest {
            request_id: "bc-1".into(),
            grid_id: "st-rongxiang-g6".into(),
            audiences: vec![pb::BroadcastAudience::Residents as i32],
            title: "协查".into(),
            message: "请留意一辆白色出租车".into(),
            ..Default::default()
        })
        .await
        .expect("broadcast")
        .into_inner()
        .broadcast
        .expect("broadcast");
    assert!(sent.recipient_count >= 3);
    assert_eq!(sent.sent_count, sent.recipient_count);
    assert!(
        sent.deliveries
            .iter()
            .all(|d| d.contact_masked.contains("****"))
    );
    cluster.shutdown().await.expect("shutdown");
}

/// Everything above writes logs; none may carry a clear ID or phone number of the jurisdiction.
async fn no_clear_id_or_phone_number_in_logs(backend: TestBackend) {
    let logs = captured_logs();
    let cluster = registry_with_jurisdiction(backend).await;
    let mut leader = client(&cluster, "leader", &[Role::StationOfficer], &[RONGXIANG]);
    leader
        .find_resident_by_id_number(pb::FindResidentByIdNumberRequest {
            id_number: "540523194701041012".into(),
            purpose: pb::LookupPurpose::LostAndFound as i32,
            reason: "归还".into(),
            reference_id: String::new(),
        })
        .await
        .expect("lookup");
    let _ = leader
        .upsert_resident(pb::UpsertResidentRequest {
            resident_id: "r-101".into(),
            name: "x".into(),
            id_number: "540523194701041019".into(),
            phone: "18247856977".into(),
            ..Default::default()
        })
        .await;
    cluster.shutdown().await.expect("shutdown");
    let text = String::from_utf8_lossy(&logs.lock().expect("logs")).into_owned();
    assert!(
        text.contains("resident looked up by id number"),
        "logs were captured"
    );
    let data = jurisdiction();
    for r in data["residents"].as_array().expect("residents") {
        for key in ["id_number", "phone"] {
            let value = r[key].as_str().unwrap_or_default();
            assert!(
                !value.is_empty() && !text.contains(value),
                "a clear {key} reached the logs"
            );
        }
    }
    assert!(!text.contains("540523194701041019"));
}

/// ResolveAddress through gRPC: a station narrows the search, an address text shared by two
/// grids is no match (never a guessed grid), a missing token is refused.
async fn resolve_address_by_station_and_never_a_guessed_grid(backend: TestBackend) {
    let cluster = registry_with_jurisdiction(backend).await;
    let mut admin = admin(&cluster);
    let addresses = [
        (
            "a-x-1",
            "st-rongxiang-g6",
            "山南市桑日县玉村137号",
            (29.29421, 92.24945),
        ),
        (
            "a-x-2",
            "st-chengnan-g1",
            "日喀则市桑珠孜区玉村137号",
            (29.25683, 88.86841),
        ),
        (
            "a-x-3",
            "st-caye-g1",
            "阿里地区革吉县擦叶村202号",
            (32.3899, 81.10083),
        ),
    ];
    for (id, grid_id, text, (lat, lon)) in addresses {
        admin
            .upsert_address(pb::UpsertAddressRequest {
                request_id: format!("put-{id}"),
                address_id: id.into(),
                grid_id: grid_id.into(),
                full_text: text.into(),
                location: point(lat, lon),
                ..Default::default()
            })
            .await
            .expect("upsert address");
    }
    let mut dispatcher = client(&cluster, "dispatch-1", &[Role::Dispatcher], &[]);
    let resolve = |address: &str, station_id: &str| pb::ResolveAddressRequest {
        address: address.into(),
        station_id: station_id.into(),
    };
    // "玉村137号" alone names two grids: no answer rather than a wrong one.
    let ambiguous = dispatcher
        .resolve_address(resolve("玉村137号", ""))
        .await
        .expect_err("ambiguous");
    assert_eq!(ambiguous.code(), Code::NotFound);
    // Within one station it is certain.
    let found = dispatcher
        .resolve_address(resolve("玉村137号", "st-rongxiang"))
        .await
        .expect("in Rongxiang")
        .into_inner();
    assert_eq!(found.address_id, "a-x-1");
    assert_eq!(found.grid_id, "st-rongxiang-g6");
    assert_eq!(found.match_kind(), pb::AddressMatchKind::Normalised);
    assert_eq!(found.score, 1.0);
    let found = dispatcher
        .resolve_address(resolve("革吉县擦叶村２０２号", ""))
        .await
        .expect("full-width digits")
        .into_inner();
    assert_eq!(found.address_id, "a-x-3");
    assert_eq!(found.station_id, "st-caye");
    let outside = dispatcher
        .resolve_address(resolve("山南市桑日县玉村137号", "st-caye"))
        .await
        .expect_err("another station's address");
    assert_eq!(outside.code(), Code::NotFound);
    let bad = dispatcher
        .resolve_address(resolve("", ""))
        .await
        .expect_err("empty");
    assert_eq!(fields(&bad), ["address"]);
    let mut anonymous = pb::grid_registry_service_client::GridRegistryServiceClient::new(
        cluster
            .channel(pingan_tests::Service::GridRegistry)
            .expect("channel"),
    );
    let refused = anonymous
        .resolve_address(resolve("玉村37号", "st-rongxiang"))
        .await
        .expect_err("no token");
    assert_eq!(refused.code(), Code::Unauthenticated);
    cluster.shutdown().await.expect("shutdown");
}

backend_tests!(
    resolve_address_by_station_and_never_a_guessed_grid,
    locate_grid_inside_outside_and_on_edges,
    bad_input_names_the_field_and_writes_nothing,
    personal_data_is_masked_per_role_and_lookups_are_audited,
    no_clear_id_or_phone_number_in_logs,
);
