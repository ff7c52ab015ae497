//! The bureau identity provider's signing keys (RFC 7517), from a JWKS file that the provider's
//! key distribution keeps current (a mounted ConfigMap or Secret, or a sync job), or fetched
//! from the provider's `jwks_uri` ([`super::jwks_url`]). Keys are cached by `kid`; the source is
//! read again every refresh interval and when a token names a `kid` not cached (throttled), so a
//! rotation by the provider needs no restart and a removed key stops verifying at the next
//! refresh. A source that fails keeps the keys cached. Both sources share the parsing and the
//! cache below.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock, PoisonError, RwLock};
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, JwkSet, KeyAlgorithm};
use jsonwebtoken::{Algorithm, DecodingKey};
use prometheus::IntCounterVec;

use super::jwks_url::{Fetcher, JwksUrlOptions};

/// Least time between two file re-reads caused by unknown `kid`s, so forged tokens cannot make
/// every call read the file.
const UNKNOWN_KID_RELOAD_INTERVAL: Duration = Duration::from_secs(1);

static REFRESHES: LazyLock<Option<IntCounterVec>> = LazyLock::new(|| {
    crate::metrics::register(IntCounterVec::new(
        prometheus::Opts::new(
            "pingan_auth_jwks_refresh_total",
            "Reads of the identity provider's JWKS, by source (file, url) and outcome (ok, failed)",
        ),
        &["source", "outcome"],
    ))
});

/// A JWKS that cannot be read, fetched or holds no usable key.
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
    /// `--auth-jwks-url` or `--auth-jwks-ca` is unusable.
    #[error("{flag} {value}: {message}")]
    Settings {
        /// The flag at fault.
        flag: &'static str,
        /// Its value (a URL or a path: no secret).
        value: String,
        /// Why.
        message: String,
    },
    /// The provider's JWKS could not be fetched at start, and no copy of it was kept.
    #[error("--auth-jwks-url {url}: fetching the identity provider's JWKS: {message}")]
    Fetch {
        /// The URL.
        url: String,
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

/// Keys by `kid`.
pub(super) type Keys = HashMap<String, VerifyingKey>;

struct State {
    keys: Keys,
    checked_at: Instant,
    forced_at: Option<Instant>,
}

/// The keys last read from a source, shared with the URL fetcher's thread.
pub(super) struct KeyCache {
    source: &'static str,
    state: RwLock<State>,
}

impl KeyCache {
    fn new(source: &'static str, keys: Keys) -> Self {
        register_metrics();
        Self {
            source,
            state: RwLock::new(State {
                keys,
                checked_at: Instant::now(),
                forced_at: None,
            }),
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, State> {
        // Only a map of keys: consistent whatever panicked while holding it.
        self.state.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// Installs the outcome of one read of the source: new keys, or a failure that keeps the
    /// cached ones (logged and counted).
    pub(super) fn apply(&self, outcome: Result<Keys, String>) -> bool {
        let mut state = self.write();
        state.checked_at = Instant::now();
        match outcome {
            Ok(keys) => {
                let changed = !same_kids(&state.keys, &keys);
                state.keys = keys;
                drop(state);
                count(self.source, "ok");
                if changed {
                    tracing::info!(source = self.source, kids = ?self.key_ids(), "identity provider keys changed");
                }
                true
            }
            Err(error) => {
                drop(state);
                count(self.source, "failed");
                tracing::warn!(source = self.source, %error, "JWKS refresh failed: keeping the keys cached");
                false
            }
        }
    }

    fn key_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self.read().keys.keys().cloned().collect();
        ids.sort();
        ids
    }

    fn get(&self, kid: &str) -> Option<VerifyingKey> {
        self.read().keys.get(kid).cloned()
    }

    /// Claims the right to read the source when `refresh` has passed since the last read: true
    /// for one caller only.
    fn claim_stale(&self, refresh: Duration) -> bool {
        let now = Instant::now();
        let mut state = self.write();
        if now.duration_since(state.checked_at) < refresh {
            return false;
        }
        state.checked_at = now;
        true
    }

    /// Claims the right to read the source for an unknown `kid`: true at most once per
    /// `interval`.
    fn claim_forced(&self, interval: Duration) -> bool {
        let now = Instant::now();
        let mut state = self.write();
        if state
            .forced_at
            .is_some_and(|at| now.duration_since(at) < interval)
        {
            return false;
        }
        state.forced_at = Some(now);
        true
    }
}

fn same_kids(a: &Keys, b: &Keys) -> bool {
    a.len() == b.len() && a.keys().all(|kid| b.contains_key(kid))
}

fn count(source: &str, outcome: &str) {
    if let Some(refreshes) = REFRESHES.as_ref() {
        refreshes.with_label_values(&[source, outcome]).inc();
    }
}

fn register_metrics() {
    if let Some(refreshes) = REFRESHES.as_ref() {
        for source in ["file", "url"] {
            for outcome in ["ok", "failed"] {
                refreshes.with_label_values(&[source, outcome]);
            }
        }
    }
}

enum Source {
    File(PathBuf),
    Url(Fetcher),
}

/// The identity provider's keys by `kid`, read again from their file or URL as they rotate.
pub struct Jwks {
    source: Source,
    refresh: Duration,
    cache: Arc<KeyCache>,
}

impl std::fmt::Debug for Jwks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut debug = f.debug_struct("Jwks");
        match &self.source {
            Source::File(path) => debug.field("path", path),
            Source::Url(fetcher) => debug.field("url", &fetcher.url()),
        };
        debug.field("refresh", &self.refresh).finish()
    }
}

impl Jwks {
    /// Loads the keys of `path` (it must hold at least one RS256 or ES256 key with a `kid`);
    /// re-read every `refresh`.
    pub fn load(path: &Path, refresh: Duration) -> Result<Self, JwksError> {
        let keys = read_keys(path)?;
        require_keys(&keys, path)?;
        Ok(Self {
            source: Source::File(path.to_owned()),
            refresh,
            cache: Arc::new(KeyCache::new("file", keys)),
        })
    }

    /// Fetches the keys from the provider's URL now (an error when that fails and no copy is
    /// kept in `options.cache_file`), then again every `refresh` and on unknown `kid`s.
    pub fn from_url(options: JwksUrlOptions, refresh: Duration) -> Result<Self, JwksError> {
        let cache = Arc::new(KeyCache::new("url", Keys::new()));
        let (fetcher, first) = Fetcher::start(&options, refresh, Arc::downgrade(&cache))?;
        let keys = match first {
            Ok(keys) => keys,
            Err(message) => match options.cache_file.as_deref().map(read_keys) {
                Some(Ok(keys)) if !keys.is_empty() => {
                    tracing::warn!(url = %options.shown_url(), error = %message, "identity provider unreachable at start: using the keys kept in the JWKS file");
                    keys
                }
                _ => {
                    return Err(JwksError::Fetch {
                        url: options.shown_url(),
                        message,
                    });
                }
            },
        };
        cache.apply(Ok(keys));
        Ok(Self {
            source: Source::Url(fetcher),
            refresh,
            cache,
        })
    }

    /// The `kid`s currently cached (sorted).
    pub fn key_ids(&self) -> Vec<String> {
        self.cache.key_ids()
    }

    /// The key named `kid`, after a re-read when the refresh interval has passed (file) or the
    /// `kid` is not cached (throttled).
    pub(super) fn key(&self, kid: &str) -> Option<VerifyingKey> {
        match &self.source {
            Source::File(path) => self.file_key(path, kid),
            Source::Url(fetcher) => {
                // The fetcher refreshes on its own timer; only an unknown kid waits for it.
                if let Some(key) = self.cache.get(kid) {
                    return Some(key);
                }
                if self.cache.claim_forced(fetcher.unknown_kid_interval()) {
                    tracing::info!("token names an unknown kid: fetching the JWKS again");
                    fetcher.fetch_now();
                }
                self.cache.get(kid)
            }
        }
    }

    fn file_key(&self, path: &Path, kid: &str) -> Option<VerifyingKey> {
        let (stale, cached) = {
            let state = self.cache.read();
            (
                state.checked_at.elapsed() >= self.refresh,
                state.keys.get(kid).cloned(),
            )
        };
        if !stale && cached.is_some() {
            return cached;
        }
        // A small file read, rarely: once per refresh interval and once a second for unknown
        // kids, by whichever call claims it first.
        if self.cache.claim_stale(self.refresh)
            || (cached.is_none() && self.cache.claim_forced(UNKNOWN_KID_RELOAD_INTERVAL))
        {
            self.cache
                .apply(read_keys(path).map_err(|err| err.to_string()));
        }
        self.cache.get(kid)
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

fn require_keys(keys: &Keys, path: &Path) -> Result<(), JwksError> {
    if keys.is_empty() {
        return Err(JwksError::Parse {
            path: path.to_owned(),
            message: "no RS256 or ES256 key with a kid".into(),
        });
    }
    Ok(())
}

pub(super) fn read_keys(path: &Path) -> Result<Keys, JwksError> {
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
pub(super) fn parse_keys(text: &str) -> Result<Keys, String> {
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
