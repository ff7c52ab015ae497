//! The one Pingan binary's library: which services exist and how a process hosts them, shared by
//! `pingan serve`, `pingan dev` and the end-to-end test harness.

pub mod admin_cli;
pub mod certs_cli;
pub mod client;
pub mod exchange_cli;
pub mod fleet;
pub mod hosting;
pub mod pii_cli;
pub mod registry_import;
pub mod report_cli;
pub mod routing;
pub mod wiring;

pub use hosting::{HostError, Process, Security, ServiceKind, StorageChoice};
