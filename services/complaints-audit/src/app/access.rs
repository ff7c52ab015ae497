//! Who may see what: the roles of each operation family and the station jurisdiction.

use pingan_platform::ApiError;
use pingan_platform::auth::{Caller, Jurisdiction, Role};
use pingan_proto::common::v1::Actor;

use crate::domain::records::ComplaintRow;

/// Roles that see complaints with the complainant's data in clear.
pub const COMPLAINT_ROLES: [Role; 2] = [Role::Inspector, Role::LegalUnit];
/// Roles that may read complaints with the complainant's data masked.
pub const MASKED_READERS: [Role; 5] = [
    Role::Inspector,
    Role::LegalUnit,
    Role::CommandCenter,
    Role::Admin,
    Role::Service,
];
/// Roles that may file a complaint (received at a station, from 12345, by the inspectors).
pub const FILERS: [Role; 8] = [
    Role::Inspector,
    Role::LegalUnit,
    Role::StationOfficer,
    Role::Dispatcher,
    Role::CommandCenter,
    Role::HotlineIntegrator,
    Role::Service,
    Role::Admin,
];
/// Roles that assign investigators.
pub const ASSIGNERS: [Role; 2] = [Role::Inspector, Role::Admin];
/// Roles that read the early warning.
pub const WARNING_READERS: [Role; 4] = [
    Role::Inspector,
    Role::LegalUnit,
    Role::CommandCenter,
    Role::Admin,
];
/// Roles that read the audit log.
pub const AUDIT_READERS: [Role; 3] = [Role::Inspector, Role::Admin, Role::LegalUnit];
/// Roles that read the latest signed checkpoint (the services witnessing it, auditors).
pub const CHECKPOINT_READERS: [Role; 4] =
    [Role::Inspector, Role::Admin, Role::LegalUnit, Role::Service];
/// Roles that record audit entries directly (other services, administrators).
pub const AUDIT_WRITERS: [Role; 2] = [Role::Service, Role::Admin];

/// True when the caller sees complainants in clear.
pub fn sees_pii(caller: &Caller) -> bool {
    caller.has_any(&COMPLAINT_ROLES)
}

/// True when the caller may see a complaint of `station_id` (empty: bureau-wide only).
pub fn can_see(caller: &Caller, station_id: &str) -> bool {
    if station_id.is_empty() {
        matches!(caller.jurisdiction, Jurisdiction::Bureau)
    } else {
        caller.can_see_station(station_id)
    }
}

/// NOT_FOUND (not PERMISSION_DENIED: existence is not disclosed) outside the jurisdiction.
pub fn require_visible(caller: &Caller, row: &ComplaintRow) -> Result<(), ApiError> {
    if can_see(caller, &row.station_id) {
        Ok(())
    } else {
        Err(ApiError::NotFound(format!(
            "complaint {}",
            row.complaint_id
        )))
    }
}

/// The stations the caller is limited to, as `,a,b,` (None for bureau-wide callers).
pub fn visible_stations(caller: &Caller) -> Option<String> {
    match &caller.jurisdiction {
        Jurisdiction::Bureau => None,
        Jurisdiction::Stations(stations) => Some(crate::store::member_list(
            stations.iter().map(String::as_str),
        )),
    }
}

/// The actor of a caller, naming the role it acts in for this service when it has several.
pub fn actor(caller: &Caller) -> Actor {
    let mut actor = caller.actor();
    for role in [Role::Inspector, Role::LegalUnit, Role::Service, Role::Admin] {
        if caller.has_role(role) {
            role.as_str().clone_into(&mut actor.role);
            break;
        }
    }
    actor
}

/// The service itself, as the actor of what it does on its own (background fetches).
pub fn system_actor() -> Actor {
    Actor {
        subject: crate::SHORT_NAME.to_owned(),
        role: "service".to_owned(),
        display_name: String::new(),
    }
}
