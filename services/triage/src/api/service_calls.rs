//! The calls other Pingan services make to this one with the `service` role; the host refuses
//! a service every other call (`platform::auth::ServiceCalls`).

use pingan_platform::auth::{Callers, ServiceCall};

const SERVICE: &str = "pingan.triage.v1.TriageService";

/// Who calls what, and why.
pub const SERVICE_CALLS: &[ServiceCall] = &[
    // Intake classifies each call it saves.
    ServiceCall::new(SERVICE, "Classify", Callers::Only(&["intake"])),
    // Intake diverts non-police calls.
    ServiceCall::new(SERVICE, "DivertTo12345", Callers::Only(&["intake"])),
    // The incident exchange reads transfers.
    ServiceCall::new(SERVICE, "ListTransfers", Callers::Only(&["intake"])),
];
