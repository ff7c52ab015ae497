//! The in-memory spatial index of grids: an R-tree of bounding boxes narrows a point to a few
//! candidate grids, then an exact point-in-polygon test decides (never a scan of every polygon).

use std::collections::HashMap;

use rstar::{AABB, RTree, RTreeObject};

use super::geometry::{GridShape, LatLon};

/// One grid in the index.
#[derive(Debug, Clone)]
struct Entry {
    grid_id: String,
    envelope: AABB<[f64; 2]>,
    shape: GridShape,
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        self.grid_id == other.grid_id
    }
}

impl RTreeObject for Entry {
    type Envelope = AABB<[f64; 2]>;

    fn envelope(&self) -> Self::Envelope {
        self.envelope
    }
}

/// Grids by location.
#[derive(Debug, Default)]
pub struct GridIndex {
    tree: RTree<Entry>,
    envelopes: HashMap<String, AABB<[f64; 2]>>,
}

impl GridIndex {
    /// Builds the index in one bulk load.
    pub fn build(grids: impl IntoIterator<Item = (String, GridShape)>) -> Self {
        let entries: Vec<Entry> = grids
            .into_iter()
            .map(|(grid_id, shape)| Entry {
                envelope: envelope_of(&shape),
                grid_id,
                shape,
            })
            .collect();
        let envelopes = entries
            .iter()
            .map(|e| (e.grid_id.clone(), e.envelope))
            .collect();
        Self {
            tree: RTree::bulk_load(entries),
            envelopes,
        }
    }

    /// Adds a grid or replaces its polygon.
    pub fn upsert(&mut self, grid_id: &str, shape: GridShape) {
        self.remove(grid_id);
        let envelope = envelope_of(&shape);
        self.envelopes.insert(grid_id.to_owned(), envelope);
        self.tree.insert(Entry {
            grid_id: grid_id.to_owned(),
            envelope,
            shape,
        });
    }

    /// Removes a grid.
    pub fn remove(&mut self, grid_id: &str) {
        if let Some(envelope) = self.envelopes.remove(grid_id) {
            let probe = self
                .tree
                .locate_in_envelope(&envelope)
                .find(|e| e.grid_id == grid_id)
                .cloned();
            if let Some(entry) = probe {
                self.tree.remove(&entry);
            }
        }
    }

    /// The grid covering the point (boundary included); on a shared edge, the smallest grid id.
    pub fn locate(&self, point: LatLon) -> Option<&str> {
        let probe = AABB::from_point([point.lon, point.lat]);
        self.tree
            .locate_in_envelope_intersecting(&probe)
            .filter(|entry| entry.shape.covers(point))
            .map(|entry| entry.grid_id.as_str())
            .min()
    }

    /// Number of grids indexed.
    pub fn len(&self) -> usize {
        self.tree.size()
    }

    /// True when no grid is indexed.
    pub fn is_empty(&self) -> bool {
        self.tree.size() == 0
    }
}

fn envelope_of(shape: &GridShape) -> AABB<[f64; 2]> {
    AABB::from_points(
        shape
            .ring()
            .iter()
            .map(|p| [p.lon, p.lat])
            .collect::<Vec<_>>()
            .iter(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn square(lat: f64, lon: f64, size: f64) -> GridShape {
        GridShape::new(&[
            LatLon::new(lat, lon),
            LatLon::new(lat, lon + size),
            LatLon::new(lat + size, lon + size),
            LatLon::new(lat + size, lon),
        ])
        .expect("square")
    }

    #[test]
    fn locates_inside_outside_and_shared_edges() {
        let index = GridIndex::build([
            ("b".to_owned(), square(0.0, 1.0, 1.0)),
            ("a".to_owned(), square(0.0, 0.0, 1.0)),
        ]);
        assert_eq!(index.len(), 2);
        assert_eq!(index.locate(LatLon::new(0.5, 0.5)), Some("a"));
        assert_eq!(index.locate(LatLon::new(0.5, 1.5)), Some("b"));
        assert_eq!(index.locate(LatLon::new(0.5, 1.0)), Some("a"));
        assert_eq!(index.locate(LatLon::new(0.0, 2.0)), Some("b"));
        assert_eq!(index.locate(LatLon::new(1.5, 0.5)), None);
    }

    #[test]
    fn upsert_moves_a_grid() {
        let mut index = GridIndex::build([("a".to_owned(), square(0.0, 0.0, 1.0))]);
        index.upsert("a", square(10.0, 10.0, 1.0));
        assert_eq!(index.len(), 1);
        assert_eq!(index.locate(LatLon::new(0.5, 0.5)), None);
        assert_eq!(index.locate(LatLon::new(10.5, 10.5)), Some("a"));
        index.remove("a");
        assert!(index.is_empty());
    }

    #[test]
    fn a_triangle_excludes_points_of_its_bounding_box() {
        let triangle = GridShape::new(&[
            LatLon::new(0.0, 0.0),
            LatLon::new(0.0, 1.0),
            LatLon::new(1.0, 0.0),
        ])
        .expect("triangle");
        let index = GridIndex::build([("t".to_owned(), triangle)]);
        assert_eq!(index.locate(LatLon::new(0.2, 0.2)), Some("t"));
        assert_eq!(index.locate(LatLon::new(0.9, 0.9)), None);
    }
}
