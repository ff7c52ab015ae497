//! Who may call each RPC, declared once: the roles allowed, and whether the call is scoped to
//! the station (or, for a device, the unit) of the resource it touches. `auth_matrix.rs` proves
//! every handler behaves as declared (every role, both stations) and renders this table into
//! docs/security-matrix.md, so neither can drift from the code without a test failing.

use std::sync::LazyLock;

use pingan_platform::auth::{Callers, Role, ServiceCalls};

use super::policy_roles::*;

/// Every role a token can carry, in the order of the table's columns.
pub const ROLES: [Role; 12] = [
    Role::Dispatcher,
    Role::CommandCenter,
    Role::StationOfficer,
    Role::VillageOfficer,
    Role::GridWorker,
    Role::Inspector,
    Role::LegalUnit,
    Role::CallIntegrator,
    Role::HotlineIntegrator,
    Role::Service,
    Role::Admin,
    Role::Device,
];

/// How a caller outside the resource's station is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// PERMISSION_DENIED.
    Denied,
    /// NOT_FOUND: the service does not say the record exists.
    Hidden,
    /// INVALID_ARGUMENT naming the referenced record as unknown: existence hidden, as for a
    /// record that does not exist.
    Unknown,
    /// OK, with nothing of the other station in the answer (a list filtered to the caller's
    /// stations).
    Filtered,
}

/// Whether an RPC is limited to the caller's stations.
#[derive(Debug, Clone, Copy)]
pub enum Scope {
    /// The resource belongs to a station (a device: to its unit); a caller whose jurisdiction
    /// does not hold it gets `refusal`. `exempt` roles act bureau-wide here by design (`why`).
    /// `unit`: a device's own unit counts as its station.
    Station {
        refusal: Refusal,
        exempt: &'static [Role],
        why: &'static str,
        unit: bool,
    },
    /// Not about one station's records, for the reason given.
    Bureau(&'static str),
}

impl Scope {
    /// True when a device's own unit is its station here (the position RPCs); elsewhere a
    /// device token covers no station and sees no station's records.
    pub fn for_unit(&self) -> bool {
        matches!(self, Self::Station { unit: true, .. })
    }
}

/// The declared policy of one RPC.
#[derive(Debug, Clone, Copy)]
pub struct Rpc {
    /// `package.Service`, e.g. `pingan.intake.v1.IntakeService`.
    pub service: &'static str,
    /// The method's name.
    pub method: &'static str,
    /// Roles allowed; every other role is PERMISSION_DENIED.
    pub roles: &'static [Role],
    /// Station scoping.
    pub scope: Scope,
}

/// The calls services make to each other, as the services declare them (the guard's table).
pub static SERVICE_CALLS: LazyLock<ServiceCalls> = LazyLock::new(|| {
    let mut calls = ServiceCalls::default();
    calls.allow(&pingan::routing::service_calls());
    calls
});

impl Rpc {
    /// The gRPC path.
    pub fn path(&self) -> String {
        format!("/{}/{}", self.service, self.method)
    }

    /// True when `role` may call: the role is declared, and for `service`, some service is
    /// declared to make the call (every other call by a service is refused before its handler).
    pub fn allows(&self, role: Role) -> bool {
        self.roles.contains(&role)
            && (role != Role::Service || SERVICE_CALLS.callers(&self.path()).is_some())
    }

    /// The services that make this call, when a service does.
    pub fn callers(&self) -> Option<Callers> {
        SERVICE_CALLS.callers(&self.path())
    }

    /// A service that makes this call (the subject of the matrix's `service` token).
    pub fn calling_service(&self) -> &'static str {
        match self.callers() {
            Some(Callers::Only(services)) => services.first().copied().unwrap_or("intake"),
            _ => "intake",
        }
    }

    /// A Pingan service that does not make this call, when there is one.
    pub fn other_service(&self) -> Option<&'static str> {
        match self.callers() {
            Some(Callers::Only(services)) => pingan::ServiceKind::ALL
                .into_iter()
                .map(pingan::ServiceKind::short_name)
                .find(|name| !services.contains(name)),
            _ => None,
        }
    }

    /// True when `role` is exempt from the station check.
    pub fn exempt(&self, role: Role) -> bool {
        matches!(self.scope, Scope::Station { exempt, .. } if exempt.contains(&role))
    }
}

const fn denied() -> Scope {
    Scope::Station {
        refusal: Refusal::Denied,
        exempt: &[],
        why: "",
        unit: false,
    }
}

const fn hidden() -> Scope {
    Scope::Station {
        refusal: Refusal::Hidden,
        exempt: &[],
        why: "",
        unit: false,
    }
}

const fn filtered() -> Scope {
    Scope::Station {
        refusal: Refusal::Filtered,
        exempt: &[],
        why: "",
        unit: false,
    }
}

const fn rpc(
    service: &'static str,
    method: &'static str,
    roles: &'static [Role],
    scope: Scope,
) -> Rpc {
    Rpc {
        service,
        method,
        roles,
        scope,
    }
}

const INTAKE: &str = "pingan.intake.v1.IntakeService";
const EXCHANGE: &str = "pingan.intake.v1.IncidentExchangeService";
const INCIDENT_ANALYSIS: &str = "pingan.intake.v1.IncidentAnalysisService";
const TRIAGE: &str = "pingan.triage.v1.TriageService";
const TRIAGE_ANALYSIS: &str = "pingan.triage.v1.TriageAnalysisService";
const DISPATCH: &str = "pingan.dispatch.v1.DispatchService";
const DISPATCH_ANALYSIS: &str = "pingan.dispatch.v1.DispatchAnalysisService";
const SINK: &str = "pingan.events.v1.EventSinkService";
const EVENT_ADMIN: &str = "pingan.events.v1.EventAdminService";
const FOLLOWUP: &str = "pingan.followup.v1.CaseFollowupService";
const FOLLOWUP_ANALYSIS: &str = "pingan.followup.v1.FollowupAnalysisService";
const GRID: &str = "pingan.grid.v1.GridRegistryService";
const SERVICE_REQUESTS: &str = "pingan.grid.v1.ServiceRequestService";
const AUDIT: &str = "pingan.audit.v1.ComplaintsAuditService";

const NEW_CALL: &str = "a new call has no station yet: intake places it by its location";
const LEDGER: &str =
    "the 110/12345 exchange ledger carries no station; the command room reads it bureau-wide";
const CATALOGUE: &str = "catalogue or classification: no record of any station";
const DELIVERY: &str = "service-to-service event delivery";
const OPERATIONS: &str = "operations (outbox, dead letters) of the whole service";
const GEOGRAPHY: &str =
    "which grid and station a place belongs to; officers' phones masked outside the jurisdiction";
const CHAIN: &str = "the audit log is one hash chain for the bureau";
const COMMAND_PLACES: &str = "the command room places held incidents of any station";
const BUREAU_POSITIONS: &str = "admin reports any unit's position (fleet tools)";

/// Every RPC Pingan serves, with who may call it.
pub const POLICY: &[Rpc] = &[
    rpc(
        INTAKE,
        "ReportCall",
        INTAKE_REPORTERS,
        Scope::Bureau(NEW_CALL),
    ),
    rpc(INTAKE, "GetIncident", INTAKE_READERS, hidden()),
    rpc(INTAKE, "ListIncidents", INTAKE_READERS, filtered()),
    rpc(INTAKE, "GetIncidentTimeline", INTAKE_READERS, hidden()),
    rpc(
        INTAKE,
        "LocateIncident",
        PLACERS,
        Scope::Station {
            refusal: Refusal::Hidden,
            exempt: &[Role::Dispatcher, Role::CommandCenter, Role::Admin],
            why: COMMAND_PLACES,
            unit: false,
        },
    ),
    rpc(EXCHANGE, "ExportIncident", INTAKE_READERS, hidden()),
    rpc(
        EXCHANGE,
        "ImportIncident",
        COMMAND_ROOM,
        Scope::Bureau(NEW_CALL),
    ),
    rpc(INCIDENT_ANALYSIS, "IncidentStats", ANALYSTS, denied()),
    rpc(INCIDENT_ANALYSIS, "Hotspots", ANALYSTS, denied()),
    rpc(TRIAGE, "Classify", CLASSIFIERS, Scope::Bureau(CATALOGUE)),
    rpc(TRIAGE, "DivertTo12345", COMMAND_ROOM, Scope::Bureau(LEDGER)),
    rpc(
        TRIAGE,
        "ReceiveHotlineTicket",
        HOTLINE,
        Scope::Bureau(LEDGER),
    ),
    rpc(
        TRIAGE,
        "GetTransfer",
        TRANSFER_READERS,
        Scope::Bureau(LEDGER),
    ),
    rpc(
        TRIAGE,
        "ListTransfers",
        TRANSFER_READERS,
        Scope::Bureau(LEDGER),
    ),
    rpc(
        TRIAGE,
        "RecordTransferOutcome",
        OUTCOME_REPORTERS,
        Scope::Bureau(LEDGER),
    ),
    rpc(
        TRIAGE,
        "ListOverdueTransfers",
        TRANSFER_READERS,
        Scope::Bureau(LEDGER),
    ),
    rpc(
        TRIAGE,
        "ListDeadLetters",
        TRANSFER_READERS,
        Scope::Bureau(LEDGER),
    ),
    rpc(TRIAGE, "ReloadRules", ADMIN, Scope::Bureau(CATALOGUE)),
    rpc(
        TRIAGE,
        "ListCategories",
        CLASSIFIERS,
        Scope::Bureau(CATALOGUE),
    ),
    rpc(
        TRIAGE_ANALYSIS,
        "ExchangeReport",
        EXCHANGE_ANALYSTS,
        Scope::Bureau(LEDGER),
    ),
    rpc(DISPATCH, "RegisterUnit", MANAGE_UNITS, denied()),
    rpc(DISPATCH, "SetUnitStatus", MANAGE_UNITS, denied()),
    rpc(DISPATCH, "ListUnits", DISPATCH_READ, denied()),
    rpc(
        DISPATCH,
        "ReportPositions",
        POSITION_REPORTERS,
        Scope::Station {
            refusal: Refusal::Denied,
            exempt: &[Role::Admin],
            why: BUREAU_POSITIONS,
            unit: true,
        },
    ),
    rpc(
        DISPATCH,
        "UpdatePosition",
        POSITION_REPORTERS,
        Scope::Station {
            refusal: Refusal::Denied,
            exempt: &[Role::Admin],
            why: BUREAU_POSITIONS,
            unit: true,
        },
    ),
    rpc(DISPATCH, "FindNearestUnits", DISPATCH_READ, denied()),
    rpc(DISPATCH, "OpenDispatch", COMMAND_ROOM, denied()),
    rpc(DISPATCH, "Assign", COMMAND_ROOM, denied()),
    rpc(DISPATCH, "Acknowledge", UNIT_STEP, denied()),
    rpc(DISPATCH, "MarkEnRoute", UNIT_STEP, denied()),
    rpc(DISPATCH, "MarkOnScene", UNIT_STEP, denied()),
    rpc(DISPATCH, "ClearUnit", UNIT_STEP, denied()),
    rpc(DISPATCH, "CloseDispatch", UNIT_STEP, denied()),
    rpc(DISPATCH, "WatchBoard", DISPATCH_READ, denied()),
    rpc(DISPATCH, "GetDispatch", DISPATCH_READ, denied()),
    rpc(DISPATCH, "ListDispatches", DISPATCH_READ, denied()),
    rpc(DISPATCH, "GetDispatchTimeline", DISPATCH_READ, denied()),
    rpc(DISPATCH, "LogFlight", MANAGE_UNITS, denied()),
    rpc(DISPATCH, "DroneStats", DISPATCH_READ, denied()),
    rpc(DISPATCH_ANALYSIS, "ResponseTimeReport", ANALYSTS, denied()),
    rpc(SINK, "Deliver", SERVICES, Scope::Bureau(DELIVERY)),
    rpc(SINK, "DeliverBatch", SERVICES, Scope::Bureau(DELIVERY)),
    rpc(
        EVENT_ADMIN,
        "ListDeadLetters",
        ADMIN,
        Scope::Bureau(OPERATIONS),
    ),
    rpc(
        EVENT_ADMIN,
        "RedriveDeadLetters",
        ADMIN,
        Scope::Bureau(OPERATIONS),
    ),
    rpc(
        EVENT_ADMIN,
        "GetOutboxStats",
        ADMIN,
        Scope::Bureau(OPERATIONS),
    ),
    rpc(FOLLOWUP, "OpenMediation", FIELD, denied()),
    rpc(FOLLOWUP, "RecordMediationOutcome", FIELD, hidden()),
    rpc(FOLLOWUP, "ListDueRevisits", FOLLOWUP_READ, denied()),
    rpc(FOLLOWUP, "RecordRevisit", FIELD, hidden()),
    rpc(FOLLOWUP, "RegisterFoundItem", FIELD, denied()),
    rpc(FOLLOWUP, "RegisterLostReport", FIELD, denied()),
    rpc(FOLLOWUP, "ListMatches", FOLLOWUP_READ, denied()),
    rpc(FOLLOWUP, "MarkOwnerContacted", FIELD, hidden()),
    rpc(FOLLOWUP, "MarkReturned", FIELD, hidden()),
    rpc(FOLLOWUP, "FollowupStats", FOLLOWUP_STATS, denied()),
    rpc(FOLLOWUP_ANALYSIS, "FollowUpReport", ANALYSTS, denied()),
    rpc(GRID, "UpsertStation", STATION_ADMINS, denied()),
    rpc(GRID, "UpsertGrid", GRID_ADMINS, denied()),
    rpc(GRID, "ListGrids", REGISTRY_READERS, denied()),
    rpc(GRID, "LocateGrid", ANY, Scope::Bureau(GEOGRAPHY)),
    rpc(GRID, "ResolveAddress", ANY, Scope::Bureau(GEOGRAPHY)),
    rpc(GRID, "AssignOfficer", GRID_ADMINS, denied()),
    rpc(GRID, "UpsertAddress", REGISTRY_KEEPERS, denied()),
    rpc(GRID, "UpsertResident", REGISTRY_KEEPERS, denied()),
    rpc(GRID, "UpsertHouse", REGISTRY_KEEPERS, denied()),
    rpc(GRID, "UpsertPremises", REGISTRY_KEEPERS, denied()),
    rpc(GRID, "FindResidentByIdNumber", LOOKUP, hidden()),
    rpc(GRID, "RecordVisit", REGISTRY_KEEPERS, denied()),
    rpc(GRID, "RecordNeed", REGISTRY_KEEPERS, denied()),
    rpc(GRID, "ResolveNeed", REGISTRY_KEEPERS, hidden()),
    rpc(GRID, "ListOpenNeeds", REGISTRY_READERS, denied()),
    rpc(GRID, "ListWelfareVisitsDue", REGISTRY_READERS, denied()),
    rpc(
        GRID,
        "StartInspection",
        PREMISES_INSPECTORS,
        Scope::Station {
            refusal: Refusal::Unknown,
            exempt: &[],
            why: "",
            unit: false,
        },
    ),
    rpc(
        GRID,
        "RecordInspectionResult",
        PREMISES_INSPECTORS,
        hidden(),
    ),
    rpc(GRID, "ListDueReinspections", REGISTRY_READERS, denied()),
    rpc(GRID, "RecordOutreach", REGISTRY_KEEPERS, denied()),
    rpc(GRID, "OutreachStats", REGISTRY_READERS, denied()),
    rpc(GRID, "BroadcastToGrid", BROADCASTERS, denied()),
    rpc(GRID, "ListPremises", REGISTRY_READERS, denied()),
    rpc(GRID, "GetInspection", REGISTRY_READERS, hidden()),
    rpc(GRID, "ListInspections", REGISTRY_READERS, denied()),
    rpc(
        GRID,
        "ListInspectionTemplates",
        ANY,
        Scope::Bureau(CATALOGUE),
    ),
    rpc(GRID, "ListNeeds", REGISTRY_READERS, denied()),
    rpc(GRID, "GetNeed", REGISTRY_READERS, hidden()),
    rpc(GRID, "ListVisits", REGISTRY_READERS, denied()),
    rpc(
        SERVICE_REQUESTS,
        "ListServiceRequestTypes",
        ANY,
        Scope::Bureau(CATALOGUE),
    ),
    rpc(
        SERVICE_REQUESTS,
        "OpenServiceRequest",
        SERVICE_DESK,
        denied(),
    ),
    rpc(
        SERVICE_REQUESTS,
        "CompleteChecklistItem",
        SERVICE_DESK,
        hidden(),
    ),
    rpc(
        SERVICE_REQUESTS,
        "SubmitServiceRequest",
        SERVICE_DESK,
        hidden(),
    ),
    rpc(
        SERVICE_REQUESTS,
        "CloseServiceRequest",
        SERVICE_DESK,
        hidden(),
    ),
    rpc(
        SERVICE_REQUESTS,
        "GetServiceRequest",
        REGISTRY_READERS,
        hidden(),
    ),
    rpc(
        SERVICE_REQUESTS,
        "ListServiceRequests",
        REGISTRY_READERS,
        denied(),
    ),
    rpc(
        SERVICE_REQUESTS,
        "ServiceRequestReport",
        REGISTRY_READERS,
        denied(),
    ),
    rpc(AUDIT, "FileComplaint", FILERS, denied()),
    rpc(AUDIT, "AssignInvestigator", ASSIGNERS, hidden()),
    rpc(AUDIT, "AddEvidence", COMPLAINT_ROLES, hidden()),
    rpc(AUDIT, "RecordFinding", COMPLAINT_ROLES, hidden()),
    rpc(AUDIT, "GetComplaint", COMPLAINT_READERS, hidden()),
    rpc(AUDIT, "ListComplaints", COMPLAINT_READERS, denied()),
    rpc(AUDIT, "ListEarlyWarnings", WARNING_READERS, filtered()),
    rpc(AUDIT, "RecordAudit", SERVICES, Scope::Bureau(CHAIN)),
    rpc(AUDIT, "QueryAudit", AUDIT_READERS, denied()),
    rpc(
        AUDIT,
        "VerifyAuditChain",
        AUDIT_READERS,
        Scope::Bureau(CHAIN),
    ),
    rpc(
        AUDIT,
        "GetAuditCheckpoint",
        CHECKPOINT_READERS,
        Scope::Bureau(CHAIN),
    ),
];
