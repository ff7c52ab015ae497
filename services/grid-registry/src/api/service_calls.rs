//! The calls other Pingan services make to this one with the `service` role; the host refuses
//! a service every other call (`platform::auth::ServiceCalls`).

use pingan_platform::auth::{Callers, ServiceCall};

const SERVICE: &str = "pingan.grid.v1.GridRegistryService";

/// Who calls what, and why.
pub const SERVICE_CALLS: &[ServiceCall] = &[
    // Intake finds each call's grid.
    ServiceCall::new(SERVICE, "LocateGrid", Callers::Only(&["intake"])),
    // Intake resolves a spoken address.
    ServiceCall::new(SERVICE, "ResolveAddress", Callers::Only(&["intake"])),
    // A found ID card is matched to its owner.
    ServiceCall::new(
        SERVICE,
        "FindResidentByIdNumber",
        Callers::Only(&["case-followup"]),
    ),
    // A lookout goes to the grid's officers.
    ServiceCall::new(SERVICE, "BroadcastToGrid", Callers::Only(&["dispatch"])),
];
