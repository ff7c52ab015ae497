//! Grid polygons: validation of the ring a client sends, and the computed area and centroid.

use geo::{
    Area, Centroid, Coord, GeodesicArea, Intersects, LineString, Point, Polygon, Validation,
};
use serde::{Deserialize, Serialize};

/// A WGS-84 point in degrees.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
pub struct LatLon {
    /// Latitude, -90..90.
    pub lat: f64,
    /// Longitude, -180..180.
    pub lon: f64,
}

impl LatLon {
    /// A point.
    pub fn new(lat: f64, lon: f64) -> Self {
        Self { lat, lon }
    }

    /// True when both coordinates are finite and in range.
    pub fn in_range(self) -> bool {
        self.lat.is_finite()
            && self.lon.is_finite()
            && (-90.0..=90.0).contains(&self.lat)
            && (-180.0..=180.0).contains(&self.lon)
    }

    fn coord(self) -> Coord<f64> {
        Coord {
            x: self.lon,
            y: self.lat,
        }
    }
}

/// Why a polygon was refused; `index` is the position in the ring as sent.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PolygonError {
    /// A coordinate is out of range or not a number.
    #[error("point {index} has coordinates out of range")]
    OutOfRange {
        /// Position of the point in the request.
        index: usize,
        /// `lat` or `lon`.
        axis: &'static str,
    },
    /// Fewer than three distinct points, or all on one line.
    #[error("must have at least 3 distinct points enclosing an area")]
    TooFewPoints,
    /// The ring crosses itself.
    #[error("must not be self-intersecting")]
    SelfIntersecting,
}

/// A validated grid polygon.
#[derive(Debug, Clone, PartialEq)]
pub struct GridShape {
    ring: Vec<LatLon>,
    polygon: Polygon<f64>,
}

impl GridShape {
    /// Validates a ring, closed or open: >= 3 distinct points, coordinates in range, simple.
    pub fn new(points: &[LatLon]) -> Result<Self, PolygonError> {
        for (index, point) in points.iter().enumerate() {
            if !point.lat.is_finite() || !(-90.0..=90.0).contains(&point.lat) {
                return Err(PolygonError::OutOfRange { index, axis: "lat" });
            }
            if !point.lon.is_finite() || !(-180.0..=180.0).contains(&point.lon) {
                return Err(PolygonError::OutOfRange { index, axis: "lon" });
            }
        }
        let mut ring: Vec<LatLon> = Vec::with_capacity(points.len() + 1);
        for point in points {
            if ring.last() != Some(point) {
                ring.push(*point);
            }
        }
        // An open ring is closed here; a closed one keeps its closing point once.
        if ring.len() > 1 && ring.first() == ring.last() {
            ring.pop();
        }
        let mut distinct = ring.clone();
        distinct.sort_by(|a, b| a.lat.total_cmp(&b.lat).then(a.lon.total_cmp(&b.lon)));
        distinct.dedup();
        if distinct.len() < 3 {
            return Err(PolygonError::TooFewPoints);
        }
        if let Some(first) = ring.first().copied() {
            ring.push(first);
        }
        let polygon = Polygon::new(
            LineString::from(ring.iter().map(|p| p.coord()).collect::<Vec<_>>()),
            vec![],
        );
        if let Err(problem) = polygon.check_validation() {
            return Err(match problem {
                geo::algorithm::validation::InvalidPolygon::SelfIntersection(_) => {
                    PolygonError::SelfIntersecting
                }
                _ => PolygonError::TooFewPoints,
            });
        }
        // Planar area in degrees: zero for collinear points (geodesic area is not, along a parallel).
        if polygon.unsigned_area() <= f64::EPSILON {
            return Err(PolygonError::TooFewPoints);
        }
        Ok(Self { ring, polygon })
    }

    /// The ring, closed (first point repeated last).
    pub fn ring(&self) -> &[LatLon] {
        &self.ring
    }

    /// The geometry, x = longitude, y = latitude.
    pub fn polygon(&self) -> &Polygon<f64> {
        &self.polygon
    }

    /// Area on the WGS-84 ellipsoid, square metres.
    pub fn area_m2(&self) -> f64 {
        self.polygon.geodesic_area_unsigned()
    }

    /// Centroid (planar in degrees; fine at grid scale).
    pub fn centroid(&self) -> LatLon {
        self.polygon
            .centroid()
            .map(|c| LatLon::new(c.y(), c.x()))
            .unwrap_or_default()
    }

    /// True when the point is inside or on the boundary.
    pub fn covers(&self, point: LatLon) -> bool {
        self.polygon.intersects(&Point::new(point.lon, point.lat))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring(points: &[(f64, f64)]) -> Vec<LatLon> {
        points
            .iter()
            .map(|(lat, lon)| LatLon::new(*lat, *lon))
            .collect()
    }

    #[test]
    fn open_and_closed_rings_are_accepted_and_stored_closed() {
        let open = GridShape::new(&ring(&[(29.24, 92.14), (29.24, 92.19), (29.29, 92.19)]))
            .expect("open ring");
        assert_eq!(open.ring().len(), 4);
        assert_eq!(open.ring().first(), open.ring().last());
        let closed = GridShape::new(&ring(&[
            (29.24, 92.14),
            (29.24, 92.19),
            (29.29, 92.19),
            (29.29, 92.14),
            (29.24, 92.14),
        ]))
        .expect("closed ring");
        assert_eq!(closed.ring().len(), 5);
        assert!(closed.area_m2() > 20_000_000.0, "{}", closed.area_m2());
        let c = closed.centroid();
        assert!((c.lat - 29.265).abs() < 1e-9 && (c.lon - 92.165).abs() < 1e-9);
    }

    #[test]
    fn too_few_distinct_or_collinear_points_are_refused() {
        let two = ring(&[(1.0, 1.0), (1.0, 2.0), (1.0, 1.0), (1.0, 2.0)]);
        assert_eq!(GridShape::new(&two), Err(PolygonError::TooFewPoints));
        let line = ring(&[(1.0, 1.0), (1.0, 2.0), (1.0, 3.0)]);
        assert_eq!(GridShape::new(&line), Err(PolygonError::TooFewPoints));
        assert_eq!(GridShape::new(&[]), Err(PolygonError::TooFewPoints));
    }

    #[test]
    fn a_bow_tie_is_self_intersecting() {
        let bow_tie = ring(&[(0.0, 0.0), (1.0, 1.0), (1.0, 0.0), (0.0, 1.0)]);
        assert_eq!(
            GridShape::new(&bow_tie),
            Err(PolygonError::SelfIntersecting)
        );
    }

    #[test]
    fn coordinates_out_of_range_name_the_point() {
        let bad = ring(&[(29.0, 92.0), (95.0, 92.0), (29.0, 93.0)]);
        assert_eq!(
            GridShape::new(&bad),
            Err(PolygonError::OutOfRange {
                index: 1,
                axis: "lat"
            })
        );
        let nan = ring(&[(29.0, 92.0), (29.5, f64::NAN), (29.0, 93.0)]);
        assert!(matches!(
            GridShape::new(&nan),
            Err(PolygonError::OutOfRange {
                index: 1,
                axis: "lon"
            })
        ));
    }

    #[test]
    fn boundary_points_are_covered() {
        let square = GridShape::new(&ring(&[(0.0, 0.0), (0.0, 1.0), (1.0, 1.0), (1.0, 0.0)]))
            .expect("square");
        assert!(square.covers(LatLon::new(0.5, 0.5)));
        assert!(square.covers(LatLon::new(0.0, 0.5)));
        assert!(square.covers(LatLon::new(1.0, 1.0)));
        assert!(!square.covers(LatLon::new(1.0001, 0.5)));
    }
}
