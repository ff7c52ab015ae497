//! Revoked tokens (`--auth-revoked-file`): a stolen token otherwise lives until its `exp`. The
//! file lists token ids (`jti`) and subjects whose tokens issued (`iat`) before a time no longer
//! count:
//!
//! ```json
//! {"jti": ["0192f0c1…"], "subjects": [{"sub": "officer-7", "not_before": 1764763200}]}
//! ```
//!
//! It is consulted after the signature checks out, and read again when it changes (checked at
//! most once per interval); a file that cannot be read or parsed keeps the previous list.
//! `pingan token revoke` adds entries ([`RevocationFile::write_atomic`]).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::{LazyLock, PoisonError, RwLock};
use std::time::{Duration, Instant, SystemTime};

use prometheus::IntCounterVec;
use serde::{Deserialize, Serialize};

use super::Claims;

static REVOCATIONS: LazyLock<Option<IntCounterVec>> = LazyLock::new(|| {
    crate::metrics::register(IntCounterVec::new(
        prometheus::Opts::new(
            "pingan_auth_revocations_total",
            "Revocation list reads (reloaded, reload_failed) and tokens refused (refused_jti, refused_subject)",
        ),
        &["outcome"],
    ))
});

fn count(outcome: &str) {
    if let Some(counter) = REVOCATIONS.as_ref() {
        counter.with_label_values(&[outcome]).inc();
    }
}

/// A revocation file that cannot be read, parsed or written.
#[derive(Debug, thiserror::Error)]
pub enum RevokedError {
    /// The file could not be read or written.
    #[error("revocation file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not a revocation list.
    #[error("revocation file {path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// Why.
        message: String,
    },
}

/// A subject whose tokens issued before `not_before` are revoked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RevokedSubject {
    /// The token subject (`sub`).
    pub sub: String,
    /// Seconds since the epoch: tokens with an earlier `iat` (or none) are refused.
    pub not_before: u64,
}

/// The revocation file as written.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RevocationFile {
    /// Revoked token ids.
    #[serde(default)]
    pub jti: Vec<String>,
    /// Revoked subjects.
    #[serde(default)]
    pub subjects: Vec<RevokedSubject>,
}

impl RevocationFile {
    /// The list in `path`.
    pub fn read(path: &Path) -> Result<Self, RevokedError> {
        let text = std::fs::read_to_string(path).map_err(|source| RevokedError::Io {
            path: path.to_owned(),
            source,
        })?;
        serde_json::from_str(&text).map_err(|err| RevokedError::Parse {
            path: path.to_owned(),
            message: err.to_string(),
        })
    }

    /// The list in `path`, or an empty one when there is no file yet.
    pub fn read_or_empty(path: &Path) -> Result<Self, RevokedError> {
        match Self::read(path) {
            Err(RevokedError::Io { source, .. })
                if source.kind() == std::io::ErrorKind::NotFound =>
            {
                Ok(Self::default())
            }
            other => other,
        }
    }

    /// Revokes the token `jti`; false when it already was.
    pub fn revoke_jti(&mut self, jti: &str) -> bool {
        if self.jti.iter().any(|known| known == jti) {
            return false;
        }
        self.jti.push(jti.to_owned());
        true
    }

    /// Revokes the tokens of `sub` issued before `not_before` (a later time replaces an
    /// earlier one, never the reverse).
    pub fn revoke_subject(&mut self, sub: &str, not_before: u64) {
        match self.subjects.iter_mut().find(|entry| entry.sub == sub) {
            Some(entry) => entry.not_before = entry.not_before.max(not_before),
            None => self.subjects.push(RevokedSubject {
                sub: sub.to_owned(),
                not_before,
            }),
        }
    }

    /// Writes the list to `path` through a temporary file in the same directory and a rename,
    /// so a server reading it never sees half a list.
    pub fn write_atomic(&self, path: &Path) -> Result<(), RevokedError> {
        let io = |source| RevokedError::Io {
            path: path.to_owned(),
            source,
        };
        let mut text = serde_json::to_string_pretty(self).map_err(|err| RevokedError::Parse {
            path: path.to_owned(),
            message: err.to_string(),
        })?;
        text.push('\n');
        let name = path
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default();
        let temporary = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
        std::fs::write(&temporary, text).map_err(io)?;
        std::fs::rename(&temporary, path).map_err(|err| {
            let _ = std::fs::remove_file(&temporary);
            io(err)
        })
    }
}

/// The list as checked: sets for the lookups each call makes.
#[derive(Debug, Default)]
struct List {
    jti: BTreeSet<String>,
    subjects: BTreeMap<String, u64>,
}

impl From<RevocationFile> for List {
    fn from(file: RevocationFile) -> Self {
        let mut subjects = BTreeMap::new();
        for entry in file.subjects {
            let at: &mut u64 = subjects.entry(entry.sub).or_default();
            *at = (*at).max(entry.not_before);
        }
        Self {
            jti: file.jti.into_iter().collect(),
            subjects,
        }
    }
}

/// What tells the file changed: modification time, length and (on Unix) inode.
type Stamp = Option<(SystemTime, u64, u64)>;

fn stamp(path: &Path) -> Stamp {
    // `metadata` follows symlinks: a Kubernetes volume swaps a symlink on update.
    let meta = std::fs::metadata(path).ok()?;
    #[cfg(unix)]
    let inode = std::os::unix::fs::MetadataExt::ino(&meta);
    #[cfg(not(unix))]
    let inode = 0;
    Some((meta.modified().ok()?, meta.len(), inode))
}

struct State {
    list: List,
    stamp: Stamp,
    checked_at: Instant,
}

/// Why a token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Revoked {
    /// Its `jti` is listed.
    Jti,
    /// Its subject is listed with a later `not_before` than its `iat`.
    Subject,
}

/// The revocation list of `--auth-revoked-file`, read again when the file changes.
pub struct Revocations {
    path: PathBuf,
    check_every: Duration,
    state: RwLock<State>,
}

impl std::fmt::Debug for Revocations {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Revocations")
            .field("path", &self.path)
            .field("check_every", &self.check_every)
            .finish()
    }
}

impl Revocations {
    /// Reads `path` (it must exist and parse); checked for changes at most every `check_every`.
    pub fn load(path: &Path, check_every: Duration) -> Result<Self, RevokedError> {
        let stamp = stamp(path);
        let list = List::from(RevocationFile::read(path)?);
        if let Some(counter) = REVOCATIONS.as_ref() {
            for outcome in [
                "reloaded",
                "reload_failed",
                "refused_jti",
                "refused_subject",
            ] {
                counter.with_label_values(&[outcome]);
            }
        }
        tracing::info!(
            path = %path.display(),
            tokens = list.jti.len(),
            subjects = list.subjects.len(),
            "revocation list loaded"
        );
        Ok(Self {
            path: path.to_owned(),
            check_every,
            state: RwLock::new(State {
                list,
                stamp,
                checked_at: Instant::now(),
            }),
        })
    }

    /// How many token ids and subjects are revoked (after a reload if the file changed).
    pub fn counts(&self) -> (usize, usize) {
        self.refresh();
        let state = self.state.read().unwrap_or_else(PoisonError::into_inner);
        (state.list.jti.len(), state.list.subjects.len())
    }

    /// Why `claims` are revoked, if they are.
    pub(super) fn check(&self, claims: &Claims) -> Option<Revoked> {
        self.refresh();
        let state = self.state.read().unwrap_or_else(PoisonError::into_inner);
        let list = &state.list;
        let revoked = if claims
            .jti
            .as_deref()
            .is_some_and(|jti| list.jti.contains(jti))
        {
            Some(Revoked::Jti)
        } else if list
            .subjects
            .get(&claims.sub)
            .is_some_and(|not_before| claims.iat < *not_before)
        {
            Some(Revoked::Subject)
        } else {
            None
        };
        match revoked {
            Some(Revoked::Jti) => count("refused_jti"),
            Some(Revoked::Subject) => count("refused_subject"),
            None => {}
        }
        revoked
    }

    /// Reads the file again when it changed since the last read, at most every `check_every`;
    /// a file that cannot be read keeps the list (logged, counted, read again when it changes).
    fn refresh(&self) {
        {
            let state = self.state.read().unwrap_or_else(PoisonError::into_inner);
            if state.checked_at.elapsed() < self.check_every {
                return;
            }
        }
        let mut state = self.state.write().unwrap_or_else(PoisonError::into_inner);
        if state.checked_at.elapsed() < self.check_every {
            return;
        }
        state.checked_at = Instant::now();
        let fresh = stamp(&self.path);
        if fresh == state.stamp {
            return;
        }
        match RevocationFile::read(&self.path) {
            Ok(file) => {
                state.list = List::from(file);
                state.stamp = fresh;
                count("reloaded");
                tracing::info!(
                    path = %self.path.display(),
                    tokens = state.list.jti.len(),
                    subjects = state.list.subjects.len(),
                    "revocation list reloaded"
                );
            }
            Err(err) => {
                // Logged once per change of the file, not at every check.
                state.stamp = fresh;
                count("reload_failed");
                tracing::warn!(error = %err, "revocation list changed but cannot be read: keeping the previous one");
            }
        }
    }
}
