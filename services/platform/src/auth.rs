//! Authentication and authorization. Callers present `authorization: Bearer <JWT>` (HS256)
//! carrying their subject, roles and jurisdiction (the stations they act for); handlers ask the
//! [`Caller`] for a role or a station. Services call each other with a service token.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use tonic::metadata::MetadataMap;

use crate::error::ApiError;

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
    /// Roles granted.
    #[serde(default)]
    pub roles: Vec<Role>,
    /// Stations the subject acts for; empty means the whole bureau for bureau-wide roles.
    #[serde(default)]
    pub stations: Vec<String>,
    /// Issuer.
    pub iss: String,
    /// Expiry, seconds since the epoch.
    pub exp: u64,
    /// Issued at, seconds since the epoch.
    #[serde(default)]
    pub iat: u64,
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

/// A secret that cannot sign or check tokens.
#[derive(Debug, thiserror::Error)]
#[error("invalid token secret: {0}")]
pub struct InvalidSecret(String);

/// Checks bearer tokens.
#[derive(Clone)]
pub struct Authenticator {
    key: Arc<DecodingKey>,
    validation: Arc<Validation>,
    anonymous: Option<Caller>,
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticator")
            .field("anonymous", &self.anonymous.is_some())
            .finish()
    }
}

impl Authenticator {
    /// Verifies HS256 tokens signed with `secret` and issued by `issuer`; no token, no call.
    pub fn new(secret: &[u8], issuer: &str) -> Result<Self, InvalidSecret> {
        let key = DecodingKey::from_secret(secret).map_err(|e| InvalidSecret(e.to_string()))?;
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[issuer]);
        validation.set_required_spec_claims(&["exp", "iss", "sub"]);
        validation.leeway = 30;
        Ok(Self {
            key: Arc::new(key),
            validation: Arc::new(validation),
            anonymous: None,
        })
    }

    /// Like [`Authenticator::new`], but a call without a token acts as [`Caller::dev`] — only
    /// for the embedded dev shape on a laptop.
    pub fn allowing_anonymous_dev(secret: &[u8], issuer: &str) -> Result<Self, InvalidSecret> {
        Ok(Self {
            anonymous: Some(Caller::dev()),
            ..Self::new(secret, issuer)?
        })
    }

    /// The caller of a request, from its `authorization` metadata.
    pub fn authenticate(&self, metadata: &MetadataMap) -> Result<Caller, ApiError> {
        let Some(header) = metadata.get("authorization") else {
            return self
                .anonymous
                .clone()
                .ok_or_else(|| ApiError::Unauthenticated("missing bearer token".into()));
        };
        let token = header
            .to_str()
            .ok()
            .and_then(|value| {
                value
                    .strip_prefix("Bearer ")
                    .or_else(|| value.strip_prefix("bearer "))
            })
            .ok_or_else(|| {
                ApiError::Unauthenticated("authorization is not a bearer token".into())
            })?;
        let data = jsonwebtoken::decode::<Claims>(token.trim(), &self.key, &self.validation)
            .map_err(|err| ApiError::Unauthenticated(format!("invalid token: {err}")))?;
        Ok(Caller::from_claims(data.claims))
    }

    /// The caller of a request: its bearer token when it sends one, else the service its
    /// client certificate names (mutual TLS), else as [`Authenticator::authenticate`].
    pub fn authenticate_with_peer(
        &self,
        metadata: &MetadataMap,
        peer: Option<&ServicePeer>,
    ) -> Result<Caller, ApiError> {
        match peer {
            Some(peer) if metadata.get("authorization").is_none() => Ok(Caller::service(peer)),
            _ => self.authenticate(metadata),
        }
    }

    /// The caller of a tonic request.
    pub fn caller<T>(&self, request: &tonic::Request<T>) -> Result<Caller, ApiError> {
        self.authenticate_with_peer(
            request.metadata(),
            request.extensions().get::<ServicePeer>(),
        )
    }
}

/// Signs tokens (services' own tokens, tests, the `pingan token` command).
#[derive(Clone)]
pub struct TokenIssuer {
    key: Arc<EncodingKey>,
    issuer: String,
}

impl std::fmt::Debug for TokenIssuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenIssuer")
            .field("issuer", &self.issuer)
            .finish()
    }
}

impl TokenIssuer {
    /// Signs with `secret` as `issuer`.
    pub fn new(secret: &[u8], issuer: &str) -> Result<Self, InvalidSecret> {
        let key = EncodingKey::from_secret(secret).map_err(|e| InvalidSecret(e.to_string()))?;
        Ok(Self {
            key: Arc::new(key),
            issuer: issuer.to_owned(),
        })
    }

    /// A token for `subject` with `roles` over `stations`, valid for `ttl`.
    pub fn issue(
        &self,
        subject: &str,
        roles: &[Role],
        stations: &[&str],
        ttl: Duration,
    ) -> Result<String, ApiError> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default();
        let claims = Claims {
            sub: subject.to_owned(),
            roles: roles.to_vec(),
            stations: stations.iter().map(|s| (*s).to_owned()).collect(),
            iss: self.issuer.clone(),
            exp: now + ttl.as_secs(),
            iat: now,
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.key)
            .map_err(ApiError::internal)
    }
}

/// A random secret for processes that sign and check their own tokens (the dev shape, tests).
pub fn random_secret() -> Vec<u8> {
    use rand::RngCore;
    let mut secret = vec![0_u8; 32];
    rand::rng().fill_bytes(&mut secret);
    secret
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair() -> (TokenIssuer, Authenticator) {
        let secret = b"test-secret-test-secret-test-secret";
        (
            TokenIssuer::new(secret, "pingan").expect("issuer"),
            Authenticator::new(secret, "pingan").expect("authenticator"),
        )
    }

    fn metadata(token: &str) -> MetadataMap {
        let mut metadata = MetadataMap::new();
        metadata.insert(
            "authorization",
            format!("Bearer {token}").parse().expect("metadata value"),
        );
        metadata
    }

    #[test]
    fn a_valid_token_yields_roles_and_stations() {
        let (issuer, auth) = pair();
        let token = issuer
            .issue(
                "officer-7",
                &[Role::VillageOfficer],
                &["st-rongxiang"],
                Duration::from_secs(60),
            )
            .expect("token");
        let caller = auth.authenticate(&metadata(&token)).expect("caller");
        assert_eq!(caller.subject, "officer-7");
        assert!(caller.has_role(Role::VillageOfficer));
        assert!(caller.require_any(&[Role::Dispatcher]).is_err());
        assert!(caller.can_see_station("st-rongxiang"));
        assert!(caller.require_station("st-chengnan").is_err());
    }

    #[test]
    fn bureau_wide_roles_without_stations_see_everything() {
        let (issuer, auth) = pair();
        let token = issuer
            .issue("intake", &[Role::Service], &[], Duration::from_secs(60))
            .expect("token");
        let caller = auth.authenticate(&metadata(&token)).expect("caller");
        assert!(caller.can_see_station("st-caye"));
    }

    #[test]
    fn missing_forged_or_expired_tokens_are_rejected() {
        let (issuer, auth) = pair();
        assert!(matches!(
            auth.authenticate(&MetadataMap::new()),
            Err(ApiError::Unauthenticated(_))
        ));
        let forged = TokenIssuer::new(b"another-secret-another-secret!!", "pingan")
            .expect("issuer")
            .issue("x", &[Role::Admin], &[], Duration::from_secs(60))
            .expect("token");
        assert!(auth.authenticate(&metadata(&forged)).is_err());
        let expired = {
            let claims = Claims {
                sub: "x".into(),
                roles: vec![Role::Admin],
                stations: vec![],
                iss: "pingan".into(),
                exp: 1_000,
                iat: 0,
            };
            jsonwebtoken::encode(
                &Header::new(Algorithm::HS256),
                &claims,
                &EncodingKey::from_secret(b"test-secret-test-secret-test-secret").expect("key"),
            )
            .expect("token")
        };
        assert!(auth.authenticate(&metadata(&expired)).is_err());
        let _ = issuer;
    }

    #[test]
    fn dev_shape_treats_anonymous_calls_as_the_dev_user() {
        let auth = Authenticator::allowing_anonymous_dev(&random_secret(), "pingan").expect("auth");
        let caller = auth.authenticate(&MetadataMap::new()).expect("dev caller");
        assert_eq!(caller.subject, "dev");
        assert!(caller.has_role(Role::Dispatcher));
    }

    #[test]
    fn a_service_peer_without_a_token_is_that_service_and_a_token_still_wins() {
        let (issuer, auth) = pair();
        let peer = ServicePeer("intake".into());
        let caller = auth
            .authenticate_with_peer(&MetadataMap::new(), Some(&peer))
            .expect("service caller");
        assert_eq!(caller.subject, "intake");
        assert!(caller.has_role(Role::Service));
        assert!(caller.can_see_station("st-caye"));
        let token = issuer
            .issue(
                "officer-7",
                &[Role::Dispatcher],
                &["st-1"],
                Duration::from_secs(60),
            )
            .expect("token");
        let caller = auth
            .authenticate_with_peer(&metadata(&token), Some(&peer))
            .expect("token caller");
        assert_eq!(caller.subject, "officer-7");
        assert!(!caller.has_role(Role::Service));
        assert!(
            auth.authenticate_with_peer(&MetadataMap::new(), None)
                .is_err()
        );
    }

    #[test]
    fn a_device_token_speaks_for_its_unit_only() {
        let (issuer, auth) = pair();
        let token = issuer
            .issue("unit:u-1", &[Role::Device], &[], Duration::from_secs(60))
            .expect("token");
        let caller = auth.authenticate(&metadata(&token)).expect("caller");
        assert_eq!(caller.device_unit(), Some("u-1"));
        assert!(!caller.can_see_station("st-1"), "a device sees no station");
        let officer = issuer
            .issue(
                "unit:u-1",
                &[Role::StationOfficer],
                &["st-1"],
                Duration::from_secs(60),
            )
            .expect("token");
        let caller = auth.authenticate(&metadata(&officer)).expect("caller");
        assert_eq!(
            caller.device_unit(),
            None,
            "the subject alone is not a device"
        );
    }
}
