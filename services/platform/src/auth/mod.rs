//! Authentication and authorization. Callers present `authorization: Bearer <JWT>` carrying
//! their subject, roles and jurisdiction (the stations they act for): HS256 tokens signed with
//! the bureau's token secret, or RS256/ES256 tokens of the bureau's identity provider checked
//! against its JWKS ([`jwks`], [`jwks_url`]), unless revoked ([`revoked`]). Handlers ask the [`Caller`] for a role or a station. Services
//! call each other with a service token or their mutual-TLS identity.

use std::collections::BTreeSet;

use serde::{Deserialize, Deserializer, Serialize};

use crate::error::ApiError;

pub mod jwks;
pub mod jwks_url;
pub mod revoked;
mod service_calls;
mod token;

pub use jsonwebtoken::Algorithm;
pub use jwks::{Jwks, JwksError, jwks_json};
pub use jwks_url::JwksUrlOptions;
pub use revoked::{RevocationFile, Revocations, RevokedError, RevokedSubject};
pub use service_calls::{Callers, ServiceCall, ServiceCalls};
pub use token::{AuthSettings, Authenticator, InvalidSecret, TokenIssuer, random_secret};

/// What a caller may act as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// 110 command-room dispatcher.
    Dispatcher,
    /// City command center (reads across stations).
    CommandCenter,
    /// Officer of a township station.
    StationOfficer,
    /// Village officer (包村民警): keeps the notebook of the grids assigned.
    VillageOfficer,
    /// Grid worker (网格员).
    GridWorker,
    /// Inspection & audit unit (督察).
    Inspector,
    /// Legal unit (法制).
    LegalUnit,
    /// The 110 platform integration.
    CallIntegrator,
    /// The 12345 platform integration.
    HotlineIntegrator,
    /// Another Pingan service.
    Service,
    /// Administrator (operations).
    Admin,
    /// A unit's device (handset, car terminal, drone controller): subject `unit:<unit_id>`; it
    /// may act for that unit only, and sees no station.
    Device,
}

/// Subject prefix of a device token: `unit:<unit_id>`.
pub const DEVICE_SUBJECT_PREFIX: &str = "unit:";

impl Role {
    /// Roles whose jurisdiction is the whole bureau even without a station list.
    fn is_bureau_wide(self) -> bool {
        matches!(
            self,
            Self::CommandCenter | Self::Service | Self::Admin | Self::Inspector | Self::LegalUnit
        )
    }

    /// The role's name as in tokens.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Dispatcher => "dispatcher",
            Self::CommandCenter => "command_center",
            Self::StationOfficer => "station_officer",
            Self::VillageOfficer => "village_officer",
            Self::GridWorker => "grid_worker",
            Self::Inspector => "inspector",
            Self::LegalUnit => "legal_unit",
            Self::CallIntegrator => "call_integrator",
            Self::HotlineIntegrator => "hotline_integrator",
            Self::Service => "service",
            Self::Admin => "admin",
            Self::Device => "device",
        }
    }
}

/// Token claims.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// Subject: officer id, integration name or service name.
    pub sub: String,
    /// Roles granted (an identity provider's roles Pingan does not know are ignored).
    #[serde(default, deserialize_with = "known_roles")]
    pub roles: Vec<Role>,
    /// Stations the subject acts for; empty means the whole bureau for bureau-wide roles.
    #[serde(default)]
    pub stations: Vec<String>,
    /// Issuer.
    pub iss: String,
    /// Audiences (checked by the authenticator when one is configured).
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "one_or_many"
    )]
    pub aud: Vec<String>,
    /// Expiry, seconds since the epoch.
    pub exp: u64,
    /// Issued at, seconds since the epoch.
    #[serde(default)]
    pub iat: u64,
    /// Token id, named by a revocation (`pingan token` mints a random one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
}

/// The roles of a token that name a Pingan role; other strings (an identity provider's own
/// roles such as `offline_access`) grant nothing.
fn known_roles<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<Role>, D::Error> {
    let values: Vec<serde_json::Value> = Vec::deserialize(deserializer)?;
    Ok(values
        .into_iter()
        .filter_map(|value| serde_json::from_value(value).ok())
        .collect())
}

/// `aud` as a string or an array of strings (RFC 7519 allows both).
fn one_or_many<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match OneOrMany::deserialize(deserializer)? {
        OneOrMany::One(one) => vec![one],
        OneOrMany::Many(many) => many,
    })
}

/// A Pingan service calling over mutual TLS, named by its verified client certificate. Only the
/// server's TLS layer puts it in a request's extensions (callers cannot set extensions).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServicePeer(pub String);

/// Which stations a caller may see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Jurisdiction {
    /// Every station of the bureau.
    Bureau,
    /// Only these stations.
    Stations(BTreeSet<String>),
}

/// The authenticated caller of one RPC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// Subject of the token.
    pub subject: String,
    /// Roles granted.
    pub roles: BTreeSet<Role>,
    /// Stations the caller may see.
    pub jurisdiction: Jurisdiction,
}

impl Caller {
    fn from_claims(claims: Claims) -> Self {
        let roles: BTreeSet<Role> = claims.roles.into_iter().collect();
        let jurisdiction = if claims.stations.is_empty() && roles.iter().any(|r| r.is_bureau_wide())
        {
            Jurisdiction::Bureau
        } else {
            Jurisdiction::Stations(claims.stations.into_iter().collect())
        };
        Self {
            subject: claims.sub,
            roles,
            jurisdiction,
        }
    }

    /// The caller of the embedded dev shape when no token is sent: every role, every station.
    pub fn dev() -> Self {
        Self {
            subject: "dev".to_owned(),
            roles: [
                Role::Dispatcher,
                Role::CommandCenter,
                Role::StationOfficer,
                Role::VillageOfficer,
                Role::GridWorker,
                Role::Inspector,
                Role::LegalUnit,
                Role::CallIntegrator,
                Role::HotlineIntegrator,
                Role::Admin,
            ]
            .into_iter()
            .collect(),
            jurisdiction: Jurisdiction::Bureau,
        }
    }

    /// A service calling over mutual TLS: role `service` over the whole bureau, as its token
    /// would give it.
    pub fn service(peer: &ServicePeer) -> Self {
        Self {
            subject: peer.0.clone(),
            roles: [Role::Service].into_iter().collect(),
            jurisdiction: Jurisdiction::Bureau,
        }
    }

    /// True when the caller holds `role`.
    pub fn has_role(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    /// True when the caller holds any of `roles`.
    pub fn has_any(&self, roles: &[Role]) -> bool {
        roles.iter().any(|role| self.has_role(*role))
    }

    /// PERMISSION_DENIED unless the caller holds one of `roles`.
    pub fn require_any(&self, roles: &[Role]) -> Result<(), ApiError> {
        if self.has_any(roles) {
            Ok(())
        } else {
            let wanted: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
            Err(ApiError::PermissionDenied(format!(
                "requires one of the roles {}",
                wanted.join(", ")
            )))
        }
    }

    /// The unit a device token speaks for: `Some(unit_id)` for role `device` with subject
    /// `unit:<unit_id>`, None for any other caller.
    pub fn device_unit(&self) -> Option<&str> {
        if !self.has_role(Role::Device) {
            return None;
        }
        self.subject
            .strip_prefix(DEVICE_SUBJECT_PREFIX)
            .filter(|unit| !unit.is_empty())
    }

    /// True when `station_id` is within the caller's jurisdiction.
    pub fn can_see_station(&self, station_id: &str) -> bool {
        match &self.jurisdiction {
            Jurisdiction::Bureau => true,
            Jurisdiction::Stations(stations) => stations.contains(station_id),
        }
    }

    /// PERMISSION_DENIED unless `station_id` is within the caller's jurisdiction.
    pub fn require_station(&self, station_id: &str) -> Result<(), ApiError> {
        if self.can_see_station(station_id) {
            Ok(())
        } else {
            Err(ApiError::PermissionDenied(format!(
                "station {station_id} is outside the caller's jurisdiction"
            )))
        }
    }

    /// The caller as recorded on timelines and in the audit log.
    pub fn actor(&self) -> pingan_proto::common::v1::Actor {
        pingan_proto::common::v1::Actor {
            subject: self.subject.clone(),
            role: self
                .roles
                .iter()
                .next()
                .map(|r| r.as_str().to_owned())
                .unwrap_or_default(),
            display_name: String::new(),
        }
    }
}

#[cfg(test)]
mod tests;
