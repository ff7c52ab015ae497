//! Use cases: the bridge (diversions out, outcomes, ledger queries), inbound 12345 tickets, the
//! deliveries as platform jobs and what their answers settle, the ledger view, the chores.

pub mod bridge;
pub mod chores;
pub mod delivery;
pub mod exchange_report;
pub mod inbound;
pub mod ledger;
pub mod settle;
