//! Checking and signing bearer tokens: HS256 with the bureau's token secret (services' own
//! tokens, `pingan token`), RS256/ES256 with the identity provider's JWKS.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use tonic::metadata::MetadataMap;

use super::jwks::Jwks;
use super::revoked::{Revocations, Revoked};
use super::{Caller, Claims, Role, ServicePeer};
use crate::error::ApiError;

/// A secret that cannot sign or check tokens.
#[derive(Debug, thiserror::Error)]
#[error("invalid token secret: {0}")]
pub struct InvalidSecret(String);

/// What a token must say beyond its signature.
#[derive(Debug, Clone)]
pub struct AuthSettings {
    /// Issuer of HS256 tokens (Pingan's own).
    pub issuer: String,
    /// Issuer of the identity provider's RS256/ES256 tokens.
    pub jwks_issuer: String,
    /// Audience every token must name; none checked when unset.
    pub audience: Option<String>,
    /// Clock skew allowed on `exp` and `nbf`.
    pub leeway: Duration,
}

impl AuthSettings {
    /// HS256 and identity-provider tokens both from `issuer`, no audience, 30 s of skew.
    pub fn new(issuer: &str) -> Self {
        Self {
            issuer: issuer.to_owned(),
            jwks_issuer: issuer.to_owned(),
            audience: None,
            leeway: Duration::from_secs(30),
        }
    }

    fn validation(&self, algorithm: Algorithm, issuer: &str) -> Validation {
        let mut validation = Validation::new(algorithm);
        validation.set_issuer(&[issuer]);
        validation.leeway = self.leeway.as_secs();
        validation.validate_nbf = true;
        match &self.audience {
            Some(audience) => {
                validation.set_audience(&[audience]);
                validation.set_required_spec_claims(&["exp", "iss", "sub", "aud"]);
            }
            None => {
                // Without a configured audience a token's `aud` is not ours to judge.
                validation.validate_aud = false;
                validation.set_required_spec_claims(&["exp", "iss", "sub"]);
            }
        }
        validation
    }
}

/// Checks bearer tokens.
#[derive(Clone)]
pub struct Authenticator {
    secret: Option<Arc<DecodingKey>>,
    jwks: Option<Arc<Jwks>>,
    revoked: Option<Arc<Revocations>>,
    settings: Arc<AuthSettings>,
    anonymous: Option<Caller>,
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticator")
            .field("hs256", &self.secret.is_some())
            .field("jwks", &self.jwks)
            .field("revoked", &self.revoked)
            .field("settings", &self.settings)
            .field("anonymous", &self.anonymous.is_some())
            .finish()
    }
}

impl Authenticator {
    /// Verifies HS256 tokens signed with `secret` and issued by `issuer`; no token, no call.
    pub fn new(secret: &[u8], issuer: &str) -> Result<Self, InvalidSecret> {
        Self::with_settings(Some(secret), None, AuthSettings::new(issuer))
    }

    /// Verifies HS256 tokens signed with `secret` (when given) and the identity provider's
    /// RS256/ES256 tokens against `jwks` (when given), as `settings` say.
    pub fn with_settings(
        secret: Option<&[u8]>,
        jwks: Option<Arc<Jwks>>,
        settings: AuthSettings,
    ) -> Result<Self, InvalidSecret> {
        let secret = secret
            .map(|secret| {
                DecodingKey::from_secret(secret)
                    .map(Arc::new)
                    .map_err(|e| InvalidSecret(e.to_string()))
            })
            .transpose()?;
        if secret.is_none() && jwks.is_none() {
            return Err(InvalidSecret(
                "neither a token secret nor a JWKS is configured".into(),
            ));
        }
        Ok(Self {
            secret,
            jwks,
            revoked: None,
            settings: Arc::new(settings),
            anonymous: None,
        })
    }

    /// Like [`Authenticator::new`], but a call without a token acts as [`Caller::dev`] — only
    /// for the embedded dev shape on a laptop.
    pub fn allowing_anonymous_dev(secret: &[u8], issuer: &str) -> Result<Self, InvalidSecret> {
        Ok(Self::new(secret, issuer)?.with_anonymous_dev())
    }

    /// This authenticator, with calls without a token acting as [`Caller::dev`].
    pub fn with_anonymous_dev(self) -> Self {
        Self {
            anonymous: Some(Caller::dev()),
            ..self
        }
    }

    /// This authenticator, refusing the tokens `revoked` lists.
    pub fn with_revocations(self, revoked: Option<Arc<Revocations>>) -> Self {
        Self { revoked, ..self }
    }

    /// The caller of a request, from its `authorization` metadata.
    pub fn authenticate(&self, metadata: &MetadataMap) -> Result<Caller, ApiError> {
        let caller = self.authenticate_token(metadata)?;
        crate::idempotency::note_caller(&caller.subject);
        Ok(caller)
    }

    fn authenticate_token(&self, metadata: &MetadataMap) -> Result<Caller, ApiError> {
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
        let claims = self.verify(token.trim())?;
        Ok(Caller::from_claims(claims))
    }

    /// The claims of a token whose signature, issuer, audience and times check out, and which
    /// is not revoked.
    pub fn verify(&self, token: &str) -> Result<Claims, ApiError> {
        let invalid =
            |reason: String| ApiError::Unauthenticated(format!("invalid token: {reason}"));
        let header = jsonwebtoken::decode_header(token).map_err(|e| invalid(e.to_string()))?;
        let (key, validation) = match header.alg {
            Algorithm::HS256 => {
                let key = self
                    .secret
                    .as_deref()
                    .ok_or_else(|| invalid("HS256 tokens are not accepted".into()))?;
                (
                    key.clone(),
                    self.settings
                        .validation(Algorithm::HS256, &self.settings.issuer),
                )
            }
            Algorithm::RS256 | Algorithm::ES256 => {
                let jwks = self
                    .jwks
                    .as_deref()
                    .ok_or_else(|| invalid("no identity provider keys are configured".into()))?;
                let kid = header
                    .kid
                    .as_deref()
                    .ok_or_else(|| invalid("the token names no kid".into()))?;
                let key = jwks
                    .key(kid)
                    .ok_or_else(|| invalid(format!("unknown kid {kid:?}")))?;
                // A key verifies only the algorithm it was published for (no RS/ES confusion).
                if key.algorithm != header.alg {
                    return Err(invalid(format!(
                        "kid {kid:?} is not a {:?} key",
                        header.alg
                    )));
                }
                (
                    key.key,
                    self.settings
                        .validation(header.alg, &self.settings.jwks_issuer),
                )
            }
            other => return Err(invalid(format!("algorithm {other:?} is not accepted"))),
        };
        let claims = jsonwebtoken::decode::<Claims>(token, &key, &validation)
            .map(|data| data.claims)
            .map_err(|e| invalid(e.to_string()))?;
        // After the signature: an unsigned token cannot probe the list.
        match self.revoked.as_deref().and_then(|list| list.check(&claims)) {
            Some(why) => {
                let (reason, message) = match why {
                    Revoked::Jti => ("jti", "token revoked"),
                    Revoked::Subject => (
                        "subject",
                        "token revoked: its subject's tokens were revoked",
                    ),
                };
                tracing::info!(reason, "revoked token refused");
                Err(ApiError::Unauthenticated(message.into()))
            }
            None => Ok(claims),
        }
    }

    /// The caller of a request: its bearer token when it sends one, else the service its
    /// client certificate names (mutual TLS), else as [`Authenticator::authenticate`].
    pub fn authenticate_with_peer(
        &self,
        metadata: &MetadataMap,
        peer: Option<&ServicePeer>,
    ) -> Result<Caller, ApiError> {
        match peer {
            Some(peer) if metadata.get("authorization").is_none() => {
                let caller = Caller::service(peer);
                crate::idempotency::note_caller(&caller.subject);
                Ok(caller)
            }
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
    header: Header,
    issuer: String,
    audience: Option<String>,
}

impl std::fmt::Debug for TokenIssuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenIssuer")
            .field("issuer", &self.issuer)
            .field("algorithm", &self.header.alg)
            .field("kid", &self.header.kid)
            .field("audience", &self.audience)
            .finish()
    }
}

impl TokenIssuer {
    /// Signs with `secret` (HS256) as `issuer`.
    pub fn new(secret: &[u8], issuer: &str) -> Result<Self, InvalidSecret> {
        let key = EncodingKey::from_secret(secret).map_err(|e| InvalidSecret(e.to_string()))?;
        Ok(Self {
            key: Arc::new(key),
            header: Header::new(Algorithm::HS256),
            issuer: issuer.to_owned(),
            audience: None,
        })
    }

    /// Signs like an identity provider: `algorithm` with the DER private key `der` (RS256:
    /// PKCS#1, ES256: PKCS#8), naming `kid` (tests and tools standing in for the provider).
    pub fn from_der(
        algorithm: Algorithm,
        der: &[u8],
        kid: &str,
        issuer: &str,
    ) -> Result<Self, InvalidSecret> {
        let key = match algorithm {
            Algorithm::RS256 => EncodingKey::from_rsa_der(der),
            Algorithm::ES256 => EncodingKey::from_ec_der(der),
            other => return Err(InvalidSecret(format!("{other:?} is not RS256 or ES256"))),
        };
        let mut header = Header::new(algorithm);
        header.kid = Some(kid.to_owned());
        Ok(Self {
            key: Arc::new(key),
            header,
            issuer: issuer.to_owned(),
            audience: None,
        })
    }

    /// This issuer, naming `audience` in every token.
    pub fn with_audience(self, audience: Option<&str>) -> Self {
        Self {
            audience: audience.map(str::to_owned),
            ..self
        }
    }

    /// The public JWK of this issuer's key (for a JWKS file), None for HS256.
    pub fn public_jwk(&self) -> Option<jsonwebtoken::jwk::Jwk> {
        if self.header.alg == Algorithm::HS256 {
            return None;
        }
        let mut jwk = jsonwebtoken::jwk::Jwk::from_encoding_key(&self.key, self.header.alg).ok()?;
        jwk.common.key_id = self.header.kid.clone();
        Some(jwk)
    }

    /// A token for `subject` with `roles` over `stations`, valid for `ttl`.
    pub fn issue(
        &self,
        subject: &str,
        roles: &[Role],
        stations: &[&str],
        ttl: Duration,
    ) -> Result<String, ApiError> {
        let now = now_secs();
        self.sign(&Claims {
            sub: subject.to_owned(),
            roles: roles.to_vec(),
            stations: stations.iter().map(|s| (*s).to_owned()).collect(),
            iss: self.issuer.clone(),
            aud: self.audience.iter().cloned().collect(),
            exp: now + ttl.as_secs(),
            iat: now,
            jti: Some(random_jti()),
        })
    }

    /// Signs `claims` as they are (tests of expired or misdirected tokens).
    pub fn sign(&self, claims: &Claims) -> Result<String, ApiError> {
        jsonwebtoken::encode(&self.header, claims, &self.key).map_err(ApiError::internal)
    }
}

/// Seconds since the epoch now.
pub(super) fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

/// A random token id (128 bits, hex), so one token can be revoked.
fn random_jti() -> String {
    use rand::RngCore;
    let mut bytes = [0_u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// A random secret for processes that sign and check their own tokens (the dev shape, tests).
pub fn random_secret() -> Vec<u8> {
    use rand::RngCore;
    let mut secret = vec![0_u8; 32];
    rand::rng().fill_bytes(&mut secret);
    secret
}
