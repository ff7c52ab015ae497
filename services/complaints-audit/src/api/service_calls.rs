//! The calls other Pingan services make to this one with the `service` role; the host refuses
//! a service every other call (`platform::auth::ServiceCalls`).

use pingan_platform::auth::{Callers, ServiceCall};

const SERVICE: &str = "pingan.audit.v1.ComplaintsAuditService";

/// Who calls what, and why.
pub const SERVICE_CALLS: &[ServiceCall] = &[
    // Every service witnesses the audit chain's checkpoints.
    ServiceCall::new(SERVICE, "GetAuditCheckpoint", Callers::AnyService),
    // Any service appends its own audit records.
    ServiceCall::new(SERVICE, "RecordAudit", Callers::AnyService),
];
