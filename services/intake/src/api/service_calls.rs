//! The calls other Pingan services make to this one with the `service` role; the host refuses
//! a service every other call (`platform::auth::ServiceCalls`).

use pingan_platform::auth::{Callers, ServiceCall};

const SERVICE: &str = "pingan.intake.v1.IntakeService";

/// Who calls what, and why.
pub const SERVICE_CALLS: &[ServiceCall] = &[
    // Triage hands over police business taken from 12345.
    ServiceCall::new(SERVICE, "ReportCall", Callers::Only(&["triage"])),
];
