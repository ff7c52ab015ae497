//! Use cases, one transaction each: the dispatch lifecycle (`lifecycle`, `assign`), the response
//! clocks (armed as durable jobs by `deadlines`, run by `timers`), the lookout broadcast
//! (`lookout`), position fixes and searches (`units`); what they share (`Runtime`), the live
//! board (`board`, shared across replicas by `board_relay`), what they send (`outbound`) and the background work at start (`upkeep`).

pub mod analysis;
pub mod assign;
pub mod board;
pub mod board_relay;
pub mod deadlines;
pub mod lifecycle;
pub mod lookout;
pub mod metrics;
pub mod outbound;
pub(crate) mod records;
mod runtime;
pub mod timers;
pub mod units;
pub mod upkeep;

pub use runtime::{Effects, Runtime};
