//! The six services and how one process mounts any set of them on a [`ServiceHost`].

use std::collections::BTreeMap;

use pingan_platform::auth::{Authenticator, InvalidSecret, TokenIssuer};
use pingan_platform::clients::{Peers, ServiceCredentials};
use pingan_platform::health::Dependency;
use pingan_platform::redis_store::RedisStore;
use pingan_platform::server::ServiceHost;
use pingan_platform::storage::{Db, Migrations, PoolSettings, StorageError, redact_url};
use pingan_platform::{ApiError, ServiceContext};

/// One of Pingan's six services.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, clap::ValueEnum)]
pub enum ServiceKind {
    /// Calls, incidents and the incident timeline.
    Intake,
    /// Classification and the 110 ↔ 12345 bridge.
    Triage,
    /// Units, positions, assignments and the board.
    Dispatch,
    /// Grids, stations and the community registry.
    GridRegistry,
    /// Mediations, revisits, lost-and-found.
    CaseFollowup,
    /// Complaints against officers and the audit log.
    ComplaintsAudit,
}

impl ServiceKind {
    /// All six, in the order `pingan dev` starts them.
    pub const ALL: [ServiceKind; 6] = [
        Self::GridRegistry,
        Self::Triage,
        Self::Dispatch,
        Self::CaseFollowup,
        Self::ComplaintsAudit,
        Self::Intake,
    ];

    /// Short name: config, peers, data files (`intake`, `grid-registry`, ...).
    pub fn short_name(self) -> &'static str {
        match self {
            Self::Intake => pingan_intake::SHORT_NAME,
            Self::Triage => pingan_triage::SHORT_NAME,
            Self::Dispatch => pingan_dispatch::SHORT_NAME,
            Self::GridRegistry => pingan_grid_registry::SHORT_NAME,
            Self::CaseFollowup => pingan_case_followup::SHORT_NAME,
            Self::ComplaintsAudit => pingan_complaints_audit::SHORT_NAME,
        }
    }

    /// Full gRPC service name, as health and reflection report it.
    pub fn grpc_name(self) -> &'static str {
        use tonic::server::NamedService;
        match self {
            Self::Intake => pingan_proto::intake::v1::intake_service_server::IntakeServiceServer::<
                pingan_intake::IntakeApi,
            >::NAME,
            Self::Triage => pingan_proto::triage::v1::triage_service_server::TriageServiceServer::<
                pingan_triage::TriageApi,
            >::NAME,
            Self::Dispatch => {
                pingan_proto::dispatch::v1::dispatch_service_server::DispatchServiceServer::<
                    pingan_dispatch::DispatchApi,
                >::NAME
            }
            Self::GridRegistry => {
                pingan_proto::grid::v1::grid_registry_service_server::GridRegistryServiceServer::<
                    pingan_grid_registry::GridRegistryApi,
                >::NAME
            }
            Self::CaseFollowup => {
                pingan_proto::followup::v1::case_followup_service_server::CaseFollowupServiceServer::<
                    pingan_case_followup::CaseFollowupApi,
                >::NAME
            }
            Self::ComplaintsAudit => {
                pingan_proto::audit::v1::complaints_audit_service_server::ComplaintsAuditServiceServer::<
                    pingan_complaints_audit::ComplaintsAuditApi,
                >::NAME
            }
        }
    }

    /// The service's migrations.
    pub fn migrations(self) -> &'static Migrations {
        match self {
            Self::Intake => &pingan_intake::MIGRATIONS,
            Self::Triage => &pingan_triage::MIGRATIONS,
            Self::Dispatch => &pingan_dispatch::MIGRATIONS,
            Self::GridRegistry => &pingan_grid_registry::MIGRATIONS,
            Self::CaseFollowup => &pingan_case_followup::MIGRATIONS,
            Self::ComplaintsAudit => &pingan_complaints_audit::MIGRATIONS,
        }
    }

    /// True for the service that keeps live state in Redis in the cluster shape.
    pub fn uses_redis(self) -> bool {
        matches!(self, Self::Dispatch)
    }
}

/// Where a service keeps its data.
#[derive(Debug, Clone)]
pub struct StorageChoice {
    /// `postgres://…` or `sqlite://…`.
    pub database_url: String,
    /// Redis URL; `None` keeps live state in process (the embedded shape).
    pub redis_url: Option<String>,
    /// Key prefix in Redis, so services and tests can share a server.
    pub redis_prefix: String,
}

/// How the hosted services check callers and prove themselves to each other.
#[derive(Debug, Clone)]
pub struct Security {
    /// Checks incoming bearer tokens.
    pub authenticator: Authenticator,
    /// Signs the services' own tokens for calls to their peers.
    pub issuer: TokenIssuer,
}

impl Security {
    /// Tokens signed and checked with `secret`; anonymous calls refused.
    pub fn new(secret: &[u8], issuer: &str) -> Result<Self, InvalidSecret> {
        Ok(Self {
            authenticator: Authenticator::new(secret, issuer)?,
            issuer: TokenIssuer::new(secret, issuer)?,
        })
    }

    /// The embedded dev shape: anonymous calls act as the dev user.
    pub fn dev(secret: &[u8], issuer: &str) -> Result<Self, InvalidSecret> {
        Ok(Self {
            authenticator: Authenticator::allowing_anonymous_dev(secret, issuer)?,
            issuer: TokenIssuer::new(secret, issuer)?,
        })
    }
}

/// Errors while bringing a service up.
#[derive(Debug, thiserror::Error)]
pub enum HostError {
    /// The database could not be opened or migrated.
    #[error("{service}: database {url}: {source}")]
    Database {
        /// Short service name.
        service: &'static str,
        /// The URL, password removed.
        url: String,
        /// What failed.
        #[source]
        source: StorageError,
    },
    /// Redis could not be reached.
    #[error("{service}: redis: {source}")]
    Redis {
        /// Short service name.
        service: &'static str,
        /// What failed.
        #[source]
        source: pingan_platform::redis_store::RedisError,
    },
    /// A peer URL is invalid.
    #[error("peers: {0}")]
    Peers(#[from] ApiError),
}

/// Opens the service's storage (applying migrations) and mounts it on `host`.
pub async fn mount(
    host: &mut ServiceHost,
    kind: ServiceKind,
    storage: &StorageChoice,
    peers: &BTreeMap<String, String>,
    pool: &PoolSettings,
    security: &Security,
) -> Result<ServiceContext, HostError> {
    let service = kind.short_name();
    let db = Db::connect_and_migrate(&storage.database_url, pool, kind.migrations())
        .await
        .map_err(|source| HostError::Database {
            service,
            url: redact_url(&storage.database_url),
            source,
        })?;
    let redis = match (&storage.redis_url, kind.uses_redis()) {
        (Some(url), true) => Some(
            RedisStore::connect(url, &storage.redis_prefix)
                .await
                .map_err(|source| HostError::Redis { service, source })?,
        ),
        _ => None,
    };
    let context = ServiceContext {
        db: db.clone(),
        redis: redis.clone(),
        peers: Peers::new(
            peers,
            Some(ServiceCredentials::new(security.issuer.clone(), service)),
        )?,
        auth: security.authenticator.clone(),
    };
    let mut dependencies = vec![Dependency::Database(db)];
    dependencies.extend(redis.map(Dependency::Redis));
    match kind {
        ServiceKind::Intake => host.add_service(pingan_intake::service(&context), dependencies),
        ServiceKind::Triage => host.add_service(pingan_triage::service(&context), dependencies),
        ServiceKind::Dispatch => host.add_service(pingan_dispatch::service(&context), dependencies),
        ServiceKind::GridRegistry => {
            host.add_service(pingan_grid_registry::service(&context), dependencies)
        }
        ServiceKind::CaseFollowup => {
            host.add_service(pingan_case_followup::service(&context), dependencies)
        }
        ServiceKind::ComplaintsAudit => {
            host.add_service(pingan_complaints_audit::service(&context), dependencies)
        }
    };
    Ok(context)
}
