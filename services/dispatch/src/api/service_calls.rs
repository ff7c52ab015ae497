//! The calls other Pingan services make to this one with the `service` role; the host refuses
//! a service every other call (`platform::auth::ServiceCalls`).

use pingan_platform::auth::{Callers, ServiceCall};

const SERVICE: &str = "pingan.dispatch.v1.DispatchService";

/// Who calls what, and why.
pub const SERVICE_CALLS: &[ServiceCall] = &[
    // Intake routes each police incident.
    ServiceCall::new(SERVICE, "OpenDispatch", Callers::Only(&["intake"])),
    // The incident exchange reads dispatches.
    ServiceCall::new(SERVICE, "ListDispatches", Callers::Only(&["intake"])),
    // A complaint takes the dispatch timeline as evidence.
    ServiceCall::new(
        SERVICE,
        "GetDispatchTimeline",
        Callers::Only(&["complaints-audit"]),
    ),
];
