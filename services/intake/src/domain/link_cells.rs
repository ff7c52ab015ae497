//! The areas a link decision locks. Two calls can only be linked when they are within the
//! duplicate radius of each other, so their decisions need to see each other only then: each
//! decision locks every cell of a fixed grid that the box of the radius around its location
//! touches. Two locations within the radius then share a lock (the cell of either lies in the
//! other's box), and calls far apart never wait for each other. Cells are sorted, so decisions
//! take them in one order and never deadlock on them.

/// Side of the smallest cell, in degrees (about 550 m north–south).
const BASE_CELL_DEG: f64 = 0.005;
/// Cells grow by powers of two with the radius; at most this level (0.32°, for 10 km).
const MAX_LEVEL: u32 = 6;
/// Largest duplicate radius the cells are laid out for (metres).
pub const MAX_LINK_RADIUS_M: f64 = 10_000.0;
/// Metres per degree of latitude, rounded down so that boxes err on the large side.
const METRES_PER_DEGREE: f64 = 111_000.0;
/// Mean Earth radius in metres, as `distance_m` uses.
const EARTH_RADIUS_M: f64 = 6_371_008.8;
/// Beyond this latitude every location shares one cell (longitudes converge at the poles; no
/// jurisdiction lies there, and Redis cannot index positions beyond 85.05°).
const POLAR_LAT: f64 = 85.0;

/// The level of the cells for `radius_m`: the smallest whose side spans the radius's box.
fn level(radius_m: f64) -> u32 {
    let span = 2.0 * radius_m / METRES_PER_DEGREE;
    (0..MAX_LEVEL)
        .find(|k| BASE_CELL_DEG * f64::from(1u32 << k) >= span)
        .unwrap_or(MAX_LEVEL)
}

/// How far east or west (degrees) a location within `radius_m` of (`lat`, any longitude) can
/// be, when neither lies beyond `far_lat` from the equator: from the haversine formula,
/// `cos φ1 · cos φ2 · sin²(Δλ/2) ≤ sin²(d/2R)`, with a margin of 1 %.
fn half_width_deg(lat: f64, far_lat: f64, radius_m: f64) -> f64 {
    let bound = (radius_m / (2.0 * EARTH_RADIUS_M)).sin()
        / (lat.to_radians().cos() * far_lat.to_radians().cos()).sqrt();
    if !bound.is_finite() || bound >= 1.0 {
        return 180.0;
    }
    (2.0 * bound.asin().to_degrees() * 1.01 + 1e-9).min(180.0)
}

/// The cells a link decision at (`lat`, `lon`) takes for `radius_m`, sorted. Empty for a
/// location that is not a coordinate (it is never linked).
pub fn link_cells(lat: f64, lon: f64, radius_m: f64) -> Vec<String> {
    let radius_m = bounded_radius(radius_m);
    cells_around(level(radius_m), lat, lon, radius_m)
}

/// Level of the cell every located incident is filed under for the duplicate search (0.01°,
/// about 1.1 km): fixed, so a change of the duplicate radius never strands incidents filed
/// before it.
const HOME_LEVEL: u32 = 1;
/// Most cells one duplicate search names; a larger box (a radius of several kilometres, or a
/// location near a pole) searches the time window alone.
const MAX_SEARCH_CELLS: usize = 400;

/// The cell an incident at (`lat`, `lon`) is filed under for the duplicate search; `None` for a
/// location that is not a coordinate.
pub fn home_cell(lat: f64, lon: f64) -> Option<String> {
    (lat.is_finite() && lon.is_finite() && lat.abs() <= 90.0).then(|| cell_of(HOME_LEVEL, lat, lon))
}

/// The home cells of every location within `radius_m` of (`lat`, `lon`), sorted; `None` when
/// they are too many to name (search the time window alone) or the location is not a
/// coordinate.
pub fn search_cells(lat: f64, lon: f64, radius_m: f64) -> Option<Vec<String>> {
    let radius_m = bounded_radius(radius_m);
    let side = BASE_CELL_DEG * f64::from(1u32 << HOME_LEVEL);
    let rows = 2.0 * radius_m / METRES_PER_DEGREE / side + 2.0;
    let half_width = half_width_deg(
        lat,
        (lat.abs() + radius_m / METRES_PER_DEGREE).min(90.0),
        radius_m,
    );
    let columns = 2.0 * half_width / side + 2.0;
    let named = rows * columns;
    // NaN (not a coordinate) is too many too.
    if named.is_nan() || named > MAX_SEARCH_CELLS as f64 {
        return None;
    }
    Some(cells_around(HOME_LEVEL, lat, lon, radius_m))
}

fn bounded_radius(radius_m: f64) -> f64 {
    if radius_m.is_finite() {
        radius_m.clamp(0.0, MAX_LINK_RADIUS_M)
    } else {
        MAX_LINK_RADIUS_M
    }
}

/// The cell of `level` that (`lat`, `lon`) lies in.
fn cell_of(level: u32, lat: f64, lon: f64) -> String {
    if lat.abs() > POLAR_LAT {
        return format!("{level}:polar");
    }
    let side = BASE_CELL_DEG * f64::from(1u32 << level);
    let columns = (360.0 / side).round() as i64;
    let r = ((lat + 90.0) / side).floor() as i64;
    let c = (((lon + 180.0) / side).floor() as i64).rem_euclid(columns);
    format!("{level}:{r}:{c}")
}

/// Every cell of `level` that the box of `radius_m` around (`lat`, `lon`) touches, sorted.
fn cells_around(level: u32, lat: f64, lon: f64, radius_m: f64) -> Vec<String> {
    if !lat.is_finite() || !lon.is_finite() || lat.abs() > 90.0 {
        return Vec::new();
    }
    let side = BASE_CELL_DEG * f64::from(1u32 << level);
    let half_height = radius_m / METRES_PER_DEGREE + 1e-9;
    let (south, north) = (lat - half_height, lat + half_height);
    let mut cells = Vec::new();
    if south < -POLAR_LAT || north > POLAR_LAT {
        cells.push(format!("{level}:polar"));
    }
    let (south, north) = (south.max(-POLAR_LAT), north.min(POLAR_LAT));
    if south <= north {
        let far_lat = south.abs().max(north.abs());
        let half_width = half_width_deg(lat, far_lat, radius_m);
        let columns = (360.0 / side).round() as i64;
        let column = |lon: f64| ((lon + 180.0) / side).floor() as i64;
        let row = |lat: f64| ((lat + 90.0) / side).floor() as i64;
        let (west, east) = if half_width >= 180.0 {
            (0, columns - 1)
        } else {
            (column(lon - half_width), column(lon + half_width))
        };
        let east = east.min(west + columns - 1);
        for r in row(south)..=row(north) {
            for c in west..=east {
                cells.push(format!("{level}:{r}:{}", c.rem_euclid(columns)));
            }
        }
    }
    cells.sort_unstable();
    cells.dedup();
    cells
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::distance_m;

    /// The cell a location itself lies in (what another decision near it must also take).
    fn own_cell(lat: f64, lon: f64, radius_m: f64) -> String {
        cell_of(level(radius_m.clamp(0.0, MAX_LINK_RADIUS_M)), lat, lon)
    }

    /// A point `metres` away from (`lat`, `lon`) towards `bearing_deg`, on the sphere.
    fn offset(lat: f64, lon: f64, metres: f64, bearing_deg: f64) -> (f64, f64) {
        let d = metres / EARTH_RADIUS_M;
        let (p1, l1, b) = (lat.to_radians(), lon.to_radians(), bearing_deg.to_radians());
        let p2 = (p1.sin() * d.cos() + p1.cos() * d.sin() * b.cos()).asin();
        let l2 = l1 + (b.sin() * d.sin() * p1.cos()).atan2(d.cos() - p1.sin() * p2.sin());
        let lon2 = (l2.to_degrees() + 540.0).rem_euclid(360.0) - 180.0;
        (p2.to_degrees(), lon2)
    }

    /// Points at 0, half, 99 % and all of `radius` from (`lat`, `lon`) every 5°, those that
    /// lie within it.
    fn within(lat: f64, lon: f64, radius: f64) -> Vec<(f64, f64)> {
        (0..72)
            .flat_map(|step| {
                let bearing = f64::from(step) * 5.0;
                [0.0, 0.5, 0.99, 1.0].map(|fraction| offset(lat, lon, radius * fraction, bearing))
            })
            .filter(|(lat2, lon2)| distance_m(lat, lon, *lat2, *lon2) <= radius)
            .collect()
    }

    #[test]
    fn locations_within_the_radius_share_a_cell() {
        let mut checked = 0;
        for radius in [0.0, 50.0, 300.0, 1_000.0, 5_000.0, MAX_LINK_RADIUS_M] {
            for (lat, lon) in [
                (29.65, 91.13),
                (29.6549, 91.1449),
                (53.49, 122.35),
                (18.2, 109.5),
                (-33.9, 151.2),
                (0.0, 179.999),
                (84.99, 10.0),
                (85.2, -3.0),
                (85.05, 40.0),
                (-84.98, -179.99),
                (-89.9, 0.0),
            ] {
                let mine = link_cells(lat, lon, radius);
                assert!(!mine.is_empty());
                assert!(mine.len() <= 120, "{lat},{lon} r={radius}: {}", mine.len());
                for (lat2, lon2) in within(lat, lon, radius) {
                    let theirs = link_cells(lat2, lon2, radius);
                    let cell = own_cell(lat2, lon2, radius);
                    assert!(theirs.contains(&cell), "{lat2},{lon2} lacks its own cell");
                    assert!(
                        mine.contains(&cell),
                        "r={radius}: ({lat},{lon}) and ({lat2},{lon2}) share no cell"
                    );
                    checked += 1;
                }
            }
        }
        assert!(checked > 10_000, "{checked} pairs");
    }

    #[test]
    fn calls_far_apart_take_different_cells_and_a_town_takes_few() {
        let town = link_cells(29.65, 91.13, 300.0);
        assert!((1..=6).contains(&town.len()), "{town:?}");
        let across_town = link_cells(29.70, 91.20, 300.0);
        assert!(town.iter().all(|cell| !across_town.contains(cell)));
        assert_eq!(town, link_cells(29.65, 91.13, 300.0), "the same every time");
        let mut sorted = town.clone();
        sorted.sort();
        assert_eq!(town, sorted);
    }

    #[test]
    fn what_is_not_a_coordinate_takes_no_cell_and_odd_radii_are_bounded() {
        assert!(link_cells(f64::NAN, 91.0, 300.0).is_empty());
        assert!(link_cells(29.0, f64::INFINITY, 300.0).is_empty());
        assert!(link_cells(91.0, 0.0, 300.0).is_empty());
        assert!(!link_cells(29.0, 91.0, f64::NAN).is_empty());
        assert!(link_cells(29.0, 91.0, 1e12).len() <= 9);
        assert!(link_cells(29.0, 91.0, -5.0).len() <= 4);
    }

    #[test]
    fn an_incident_within_the_radius_is_filed_in_a_searched_cell() {
        let mut checked = 0;
        for radius in [0.0, 50.0, 300.0, 1_000.0, 3_000.0] {
            for (lat, lon) in [
                (29.65, 91.13),
                (29.6549, 91.1449),
                (53.49, 122.35),
                (-33.9, 151.2),
                (0.0, 179.999),
                (-0.004, -179.996),
            ] {
                let searched = search_cells(lat, lon, radius).expect("a town's box is named");
                assert!(searched.len() <= MAX_SEARCH_CELLS);
                for (lat2, lon2) in within(lat, lon, radius) {
                    let home = home_cell(lat2, lon2).expect("a coordinate");
                    assert!(
                        searched.contains(&home),
                        "r={radius}: ({lat2},{lon2}) filed in {home}, not searched from ({lat},{lon})"
                    );
                    checked += 1;
                }
            }
        }
        assert!(checked > 5_000, "{checked} pairs");
    }

    #[test]
    fn the_default_radius_searches_a_few_cells_and_odd_boxes_search_the_window() {
        let town = search_cells(29.65, 91.13, 300.0).expect("named");
        assert!((1..=6).contains(&town.len()), "{town:?}");
        assert_eq!(home_cell(29.65, 91.13).as_deref(), Some("1:11965:27113"));
        let polar = Some(vec!["1:polar".to_owned()]);
        assert_eq!(search_cells(89.0, 0.0, 300.0), polar, "beyond 85° one cell");
        assert_eq!(home_cell(89.0, 0.0).as_deref(), Some("1:polar"));
        assert!(
            search_cells(29.0, 91.0, MAX_LINK_RADIUS_M).is_none(),
            "a 10 km box"
        );
        assert!(search_cells(f64::NAN, 91.0, 300.0).is_none());
        assert_eq!(home_cell(f64::NAN, 91.0), None);
        assert_eq!(home_cell(91.0, 0.0), None);
    }
}
