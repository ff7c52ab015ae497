//! Use cases, one transaction each: the dispatch lifecycle (`lifecycle`, `assign`), the response
//! clocks (`timers`), the lookout broadcast (`lookout`), position fixes and searches (`units`);
//! what they share (`Runtime`), the live board (`board`) and what they send (`outbound`).

pub mod assign;
pub mod board;
pub mod lifecycle;
pub mod lookout;
pub mod outbound;
pub(crate) mod records;
mod runtime;
pub mod timers;
pub mod units;

pub use runtime::{Effects, Runtime};
