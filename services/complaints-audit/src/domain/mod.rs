//! Rules of complaints, evidence and the audit chain, and the records they work on. No I/O.

pub mod audit;
pub mod checkpoint;
pub mod complaint;
pub mod evidence;
pub mod records;
pub mod warning;
