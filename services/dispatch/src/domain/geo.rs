//! Distances and ETAs.

use std::time::Duration;

use pingan_proto::dispatch::v1::UnitKind;

use crate::settings::Speeds;

/// Mean earth radius in metres (the value Redis GEO uses).
pub const EARTH_RADIUS_M: f64 = 6_372_797.560_856;

/// Great-circle distance in metres between two WGS-84 points (haversine).
pub fn distance_m(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    let (phi1, phi2) = (lat1.to_radians(), lat2.to_radians());
    let dphi = (lat2 - lat1).to_radians();
    let dlambda = (lon2 - lon1).to_radians();
    let a = (dphi / 2.0).sin().powi(2) + phi1.cos() * phi2.cos() * (dlambda / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_M * a.sqrt().asin()
}

/// Estimated time for a unit of `kind` to cover a great-circle distance: a drone flies straight
/// and fast after take-off; ground units follow roads (longer than the straight line) and slower.
pub fn eta(kind: UnitKind, distance_m: f64, speeds: &Speeds) -> Duration {
    let distance_m = distance_m.max(0.0);
    let (start, metres, speed) = match kind {
        UnitKind::Drone => (speeds.drone_launch, distance_m, speeds.drone_mps),
        UnitKind::PatrolCar => (
            speeds.ground_start,
            distance_m * speeds.road_factor,
            speeds.car_mps,
        ),
        UnitKind::Auxiliary => (
            speeds.ground_start,
            distance_m * speeds.road_factor,
            speeds.auxiliary_mps,
        ),
        UnitKind::Officer | UnitKind::Unspecified => (
            speeds.ground_start,
            distance_m * speeds.road_factor,
            speeds.officer_mps,
        ),
    };
    let travel = if speed > 0.0 {
        Duration::from_secs_f64((metres / speed).min(86_400.0 * 7.0))
    } else {
        Duration::from_secs(86_400 * 7)
    };
    start + travel
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_degree_of_latitude_is_about_111_km() {
        let d = distance_m(29.0, 88.0, 30.0, 88.0);
        assert!((d - 111_226.0).abs() < 200.0, "{d}");
        assert_eq!(distance_m(29.25, 88.86, 29.25, 88.86), 0.0);
    }

    #[test]
    fn a_drone_beats_a_car_which_beats_an_officer_on_foot() {
        let speeds = Speeds::default();
        let drone = eta(UnitKind::Drone, 5_000.0, &speeds);
        let car = eta(UnitKind::PatrolCar, 5_000.0, &speeds);
        let officer = eta(UnitKind::Officer, 5_000.0, &speeds);
        assert!(drone < car, "{drone:?} {car:?}");
        assert!(car < officer, "{car:?} {officer:?}");
        // Very close by, the drone's take-off dominates.
        assert!(eta(UnitKind::Officer, 10.0, &speeds) < eta(UnitKind::Drone, 10.0, &speeds));
    }
}
