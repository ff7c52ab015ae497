//! Rules of complaints and of the audit chain, without I/O.

pub mod audit;
pub mod complaint;
pub mod warning;
