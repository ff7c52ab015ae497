//! Who may do and see what: the roles of follow-up work and the station a listing covers.

use pingan_platform::ApiError;
use pingan_platform::auth::{Caller, Jurisdiction, Role};

/// Roles that do follow-up work (mediate, revisit, register and return items).
pub const FIELD_ROLES: &[Role] = &[
    Role::StationOfficer,
    Role::VillageOfficer,
    Role::Dispatcher,
    Role::CommandCenter,
];
/// Roles that may read follow-up records (phones masked unless also a field role).
pub const READ_ROLES: &[Role] = &[
    Role::StationOfficer,
    Role::VillageOfficer,
    Role::Dispatcher,
    Role::CommandCenter,
    Role::GridWorker,
    Role::Inspector,
];

/// True when the caller may see phone numbers in clear.
pub fn sees_phones(caller: &Caller) -> bool {
    caller.has_any(FIELD_ROLES)
}

/// The station a listing is restricted to: the requested one (checked), any for bureau-wide
/// callers, or the caller's only station.
pub fn resolve_station(caller: &Caller, requested: &str) -> Result<String, ApiError> {
    if !requested.is_empty() {
        caller.require_station(requested)?;
        return Ok(requested.to_owned());
    }
    match &caller.jurisdiction {
        Jurisdiction::Bureau => Ok(String::new()),
        Jurisdiction::Stations(stations) if stations.len() == 1 => {
            Ok(stations.iter().next().cloned().unwrap_or_default())
        }
        Jurisdiction::Stations(_) => Err(ApiError::invalid(
            "station_id",
            "must be set: the caller acts for several stations (or none)",
        )),
    }
}
