//! The calls other Pingan services make to this one with the `service` role; the host refuses
//! a service every other call (`platform::auth::ServiceCalls`).

use pingan_platform::auth::ServiceCall;

/// No service calls case-followup: it learns what it needs from events.
pub const SERVICE_CALLS: &[ServiceCall] = &[];
