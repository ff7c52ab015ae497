//! The registry's rules, free of I/O: polygons and the spatial index, records,
//! inspections, the notebook, outreach statistics and who may see personal data in clear.

pub mod access;
pub mod address_match;
pub mod geometry;
pub mod inspection;
pub mod notebook;
pub mod outreach;
pub mod reads;
pub mod records;
pub mod service_report;
pub mod service_request;
pub mod spatial;

pub use geometry::{GridShape, LatLon, PolygonError};
pub use records::*;
pub use spatial::GridIndex;
