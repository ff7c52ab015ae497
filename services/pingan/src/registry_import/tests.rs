use super::*;

const DEMO: &str = pingan_grid_registry::DEMO_JURISDICTION;

#[test]
fn every_demo_unit_maps_to_an_available_register_request() {
    let requests = unit_requests(DEMO).expect("units");
    assert_eq!(requests.len(), 18);
    let first = &requests[0];
    assert_eq!(first.request_id, format!("import-{}", first.unit_id));
    assert_eq!(first.initial_status, dispatch::UnitStatus::Available as i32);
    assert!(!first.callsign.is_empty() && !first.station_id.is_empty());
    assert_eq!(first.officer_ids.len(), 1);
    for kind in [
        dispatch::UnitKind::Officer,
        dispatch::UnitKind::PatrolCar,
        dispatch::UnitKind::Drone,
    ] {
        assert!(requests.iter().any(|r| r.kind == kind as i32), "{kind:?}");
    }
}

#[test]
fn unit_kinds_accept_the_file_spellings_and_refuse_unknown_ones() {
    let unit = |kind: &str| UnitIn {
        unit_id: "u-1".into(),
        kind: kind.into(),
        callsign: String::new(),
        station_id: "st".into(),
        officer_id: None,
        capabilities: Vec::new(),
    };
    for (text, kind) in [
        ("UNIT_OFFICER", dispatch::UnitKind::Officer),
        ("patrol_car", dispatch::UnitKind::PatrolCar),
        ("UNIT_KIND_DRONE", dispatch::UnitKind::Drone),
        ("UNIT_AUXILIARY", dispatch::UnitKind::Auxiliary),
    ] {
        assert_eq!(unit_kind(&unit(text)).expect(text), kind);
    }
    for bad in ["UNIT_TANK", "", "UNIT_KIND_UNSPECIFIED"] {
        assert!(matches!(
            unit_kind(&unit(bad)),
            Err(ImportError::Vocabulary { .. })
        ));
    }
}
