//! The bureau identity provider's signing keys, from a JWKS file (RFC 7517) that the
//! provider's key distribution keeps current (a mounted ConfigMap or Secret, or a sync job that
//! fetches the provider's `jwks_uri`). Keys are cached by `kid`, the file is re-read every
//! refresh interval and when a token names a `kid` not cached (throttled), so a rotation by the
//! provider needs no restart and a removed key stops verifying at the next refresh.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::RwLock;
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, JwkSet, KeyAlgorithm};
use jsonwebtoken::{Algorithm, DecodingKey};

/// Least time between two re-reads caused by unknown `kid`s, so forged tokens cannot make every
/// call read the file.
const UNKNOWN_KID_RELOAD_INTERVAL: Duration = Duration::from_secs(1);

/// A JWKS that cannot be read or holds no usable key.
#[derive(Debug, thiserror::Error)]
pub enum JwksError {
    /// The file could not be read.
    #[error("reading JWKS {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not a JWK set.
    #[error("parsing JWKS {path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// Why.
        message: String,
    },
}

/// One verification key and the only algorithm it verifies.
#[derive(Clone)]
pub(super) struct VerifyingKey {
    pub(super) algorithm: Algorithm,
    pub(super) key: DecodingKey,
}

struct State {
    keys: HashMap<String, VerifyingKey>,
    checked_at: Instant,
    forced_at: Option<Instant>,
}

/// The identity provider's keys by `kid`, re-read from their file as they rotate.
pub struct Jwks {
    path: PathBuf,
    refresh: Duration,
    state: RwLock<State>,
}

impl std::fmt::Debug for Jwks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Jwks")
            .field("path", &self.path)
            .field("refresh", &self.refresh)
            .finish()
    }
}

impl Jwks {
    /// Loads the keys of `path` (it must hold at least one RS256 or ES256 key with a `kid`);
    /// re-read every `refresh`.
    pub fn load(path: &Path, refresh: Duration) -> Result<Self, JwksError> {
        let keys = read_keys(path)?;
        if keys.is_empty() {
            return Err(JwksError::Parse {
                path: path.to_owned(),
                message: "no RS256 or ES256 key with a kid".into(),
            });
        }
        Ok(Self {
            path: path.to_owned(),
            refresh,
            state: RwLock::new(State {
                keys,
                checked_at: Instant::now(),
                forced_at: None,
            }),
        })
    }

    /// The `kid`s currently cached (sorted).
    pub fn key_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = match self.state.read() {
            Ok(state) => state.keys.keys().cloned().collect(),
            Err(poisoned) => poisoned.into_inner().keys.keys().cloned().collect(),
        };
        ids.sort();
        ids
    }

    /// The key named `kid`, after a re-read when the refresh interval has passed or the `kid`
    /// is not cached.
    pub(super) fn key(&self, kid: &str) -> Option<VerifyingKey> {
        let now = Instant::now();
        let (due, cached) = {
            let state = match self.state.read() {
                Ok(state) => state,
                Err(poisoned) => poisoned.into_inner(),
            };
            (
                now.duration_since(state.checked_at) >= self.refresh,
                state.keys.get(kid).cloned(),
            )
        };
        if !due && cached.is_some() {
            return cached;
        }
        let mut state = match self.state.write() {
            Ok(state) => state,
            Err(poisoned) => poisoned.into_inner(),
        };
        let may_force = state
            .forced_at
            .is_none_or(|at| now.duration_since(at) >= UNKNOWN_KID_RELOAD_INTERVAL);
        let stale = now.duration_since(state.checked_at) >= self.refresh;
        if stale || (!state.keys.contains_key(kid) && may_force) {
            if !stale {
                state.forced_at = Some(now);
            }
            state.checked_at = now;
            // A small file read under the lock, rarely: at most once per refresh interval and
            // once a second for unknown kids.
            match read_keys(&self.path) {
                Ok(keys) => state.keys = keys,
                Err(err) => {
                    tracing::warn!(error = %err, "JWKS reload failed: keeping the keys cached");
                }
            }
        }
        state.keys.get(kid).cloned()
    }
}

/// A JWKS document publishing the public keys of `issuers` (tests and tools standing in for
/// the identity provider); HS256 issuers are left out.
pub fn jwks_json(issuers: &[&super::TokenIssuer]) -> String {
    let set = JwkSet {
        keys: issuers.iter().filter_map(|i| i.public_jwk()).collect(),
    };
    serde_json::to_string(&set).unwrap_or_default()
}

fn read_keys(path: &Path) -> Result<HashMap<String, VerifyingKey>, JwksError> {
    let text = std::fs::read_to_string(path).map_err(|source| JwksError::Read {
        path: path.to_owned(),
        source,
    })?;
    parse_keys(&text).map_err(|message| JwksError::Parse {
        path: path.to_owned(),
        message,
    })
}

/// The RS256 and ES256 signing keys of a JWK set, by `kid`; other keys are skipped.
fn parse_keys(text: &str) -> Result<HashMap<String, VerifyingKey>, String> {
    let set: JwkSet = serde_json::from_str(text).map_err(|err| err.to_string())?;
    let mut keys = HashMap::new();
    for jwk in &set.keys {
        let Some(kid) = jwk.common.key_id.clone().filter(|kid| !kid.is_empty()) else {
            continue;
        };
        let algorithm = match (&jwk.algorithm, jwk.common.key_algorithm) {
            (AlgorithmParameters::RSA(_), None | Some(KeyAlgorithm::RS256)) => Algorithm::RS256,
            (AlgorithmParameters::EllipticCurve(ec), None | Some(KeyAlgorithm::ES256))
                if ec.curve == EllipticCurve::P256 =>
            {
                Algorithm::ES256
            }
            _ => continue,
        };
        let Ok(key) = DecodingKey::from_jwk(jwk) else {
            continue;
        };
        keys.insert(kid, VerifyingKey { algorithm, key });
    }
    Ok(keys)
}
