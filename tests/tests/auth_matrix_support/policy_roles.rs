//! The role lists of the declared policy, named after the services' own constants.

use pingan_platform::auth::Role;

use super::policy::ROLES;

/// Any authenticated caller.
pub const ANY: &[Role] = &ROLES;

// The role lists mirror the services' constants (named after them).
pub const INTAKE_REPORTERS: &[Role] = &[
    Role::Dispatcher,
    Role::CommandCenter,
    Role::StationOfficer,
    Role::CallIntegrator,
    Role::HotlineIntegrator,
    Role::Service,
    Role::Admin,
];
pub const INTAKE_READERS: &[Role] = &[
    Role::Dispatcher,
    Role::CommandCenter,
    Role::StationOfficer,
    Role::VillageOfficer,
    Role::Inspector,
    Role::LegalUnit,
    Role::CallIntegrator,
    Role::HotlineIntegrator,
    Role::Service,
    Role::Admin,
];
pub const PLACERS: &[Role] = &[
    Role::Dispatcher,
    Role::CommandCenter,
    Role::StationOfficer,
    Role::Admin,
];
pub const COMMAND_ROOM: &[Role] = &[
    Role::Dispatcher,
    Role::CommandCenter,
    Role::Service,
    Role::Admin,
];
pub const ANALYSTS: &[Role] = &[
    Role::Dispatcher,
    Role::CommandCenter,
    Role::StationOfficer,
    Role::Inspector,
    Role::Service,
    Role::Admin,
];
pub const CLASSIFIERS: &[Role] = &[
    Role::Dispatcher,
    Role::CommandCenter,
    Role::CallIntegrator,
    Role::HotlineIntegrator,
    Role::Service,
    Role::Admin,
];
pub const HOTLINE: &[Role] = &[Role::HotlineIntegrator, Role::Service, Role::Admin];
pub const TRANSFER_READERS: &[Role] = &[
    Role::Dispatcher,
    Role::CommandCenter,
    Role::Inspector,
    Role::HotlineIntegrator,
    Role::Service,
    Role::Admin,
];
pub const OUTCOME_REPORTERS: &[Role] = &[
    Role::CommandCenter,
    Role::HotlineIntegrator,
    Role::Service,
    Role::Admin,
];
pub const EXCHANGE_ANALYSTS: &[Role] = &[
    Role::Dispatcher,
    Role::CommandCenter,
    Role::Inspector,
    Role::Service,
    Role::Admin,
];
pub const ADMIN: &[Role] = &[Role::Admin];
pub const SERVICES: &[Role] = &[Role::Service, Role::Admin];
pub const MANAGE_UNITS: &[Role] = &[
    Role::Dispatcher,
    Role::CommandCenter,
    Role::StationOfficer,
    Role::Service,
    Role::Admin,
];
pub const UNIT_STEP: &[Role] = &[
    Role::Dispatcher,
    Role::CommandCenter,
    Role::StationOfficer,
    Role::VillageOfficer,
    Role::Service,
    Role::Admin,
];
pub const DISPATCH_READ: &[Role] = &[
    Role::Dispatcher,
    Role::CommandCenter,
    Role::StationOfficer,
    Role::VillageOfficer,
    Role::Inspector,
    Role::LegalUnit,
    Role::Service,
    Role::Admin,
];
pub const POSITION_REPORTERS: &[Role] = &[
    Role::Dispatcher,
    Role::CommandCenter,
    Role::StationOfficer,
    Role::VillageOfficer,
    Role::Admin,
    Role::Device,
];
pub const FIELD: &[Role] = &[
    Role::Dispatcher,
    Role::CommandCenter,
    Role::StationOfficer,
    Role::VillageOfficer,
];
pub const FOLLOWUP_READ: &[Role] = &[
    Role::Dispatcher,
    Role::CommandCenter,
    Role::StationOfficer,
    Role::VillageOfficer,
    Role::GridWorker,
    Role::Inspector,
];
pub const FOLLOWUP_STATS: &[Role] = &[
    Role::Dispatcher,
    Role::CommandCenter,
    Role::StationOfficer,
    Role::VillageOfficer,
    Role::GridWorker,
    Role::Inspector,
    Role::Admin,
];
pub const STATION_ADMINS: &[Role] = &[Role::CommandCenter, Role::Admin];
pub const GRID_ADMINS: &[Role] = &[Role::CommandCenter, Role::StationOfficer, Role::Admin];
pub const REGISTRY_KEEPERS: &[Role] = &[
    Role::StationOfficer,
    Role::VillageOfficer,
    Role::GridWorker,
    Role::Service,
    Role::Admin,
];
pub const REGISTRY_READERS: &[Role] = &[
    Role::Dispatcher,
    Role::CommandCenter,
    Role::StationOfficer,
    Role::VillageOfficer,
    Role::GridWorker,
    Role::Inspector,
    Role::Service,
    Role::Admin,
];
pub const LOOKUP: &[Role] = &[
    Role::Dispatcher,
    Role::CommandCenter,
    Role::StationOfficer,
    Role::VillageOfficer,
    Role::Service,
    Role::Admin,
];
pub const PREMISES_INSPECTORS: &[Role] = &[
    Role::StationOfficer,
    Role::VillageOfficer,
    Role::Inspector,
    Role::Admin,
];
pub const BROADCASTERS: &[Role] = &[
    Role::Dispatcher,
    Role::CommandCenter,
    Role::StationOfficer,
    Role::Service,
    Role::Admin,
];
pub const SERVICE_DESK: &[Role] = &[
    Role::StationOfficer,
    Role::VillageOfficer,
    Role::Service,
    Role::Admin,
];
pub const FILERS: &[Role] = &[
    Role::Dispatcher,
    Role::CommandCenter,
    Role::StationOfficer,
    Role::Inspector,
    Role::LegalUnit,
    Role::HotlineIntegrator,
    Role::Service,
    Role::Admin,
];
pub const ASSIGNERS: &[Role] = &[Role::Inspector, Role::Admin];
pub const COMPLAINT_ROLES: &[Role] = &[Role::Inspector, Role::LegalUnit];
pub const COMPLAINT_READERS: &[Role] = &[
    Role::CommandCenter,
    Role::Inspector,
    Role::LegalUnit,
    Role::Service,
    Role::Admin,
];
pub const WARNING_READERS: &[Role] = &[
    Role::CommandCenter,
    Role::Inspector,
    Role::LegalUnit,
    Role::Admin,
];
pub const AUDIT_READERS: &[Role] = &[Role::Inspector, Role::LegalUnit, Role::Admin];
pub const CHECKPOINT_READERS: &[Role] =
    &[Role::Inspector, Role::LegalUnit, Role::Service, Role::Admin];
