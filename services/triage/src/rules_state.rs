//! The rules in force: loaded at start, swapped atomically on reload (RPC or file change); an
//! invalid file leaves the previous rules in force.

use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use crate::domain::rules::{CompiledRules, DEFAULT_RULES, RulesError};

#[derive(Debug)]
struct Loaded {
    rules: Arc<CompiledRules>,
    digest: String,
    loaded_at: DateTime<Utc>,
}

/// The rules in force, shared by the handlers and the watcher.
#[derive(Debug, Clone)]
pub struct RulesState {
    path: Option<PathBuf>,
    current: Arc<RwLock<Loaded>>,
}

/// What a reload did.
#[derive(Debug, Clone)]
pub struct Reloaded {
    /// Version now in force.
    pub version: String,
    /// Version before.
    pub previous: String,
    /// Rules loaded.
    pub rule_count: usize,
    /// When.
    pub loaded_at: DateTime<Utc>,
}

fn digest(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

impl RulesState {
    /// Loads the rules from `path`, or the shipped rules when `None`.
    pub fn load(path: Option<PathBuf>, now: DateTime<Utc>) -> Result<Self, RulesError> {
        let text = read(path.as_ref())?;
        let rules = CompiledRules::parse(&text)?;
        Ok(Self {
            path,
            current: Arc::new(RwLock::new(Loaded {
                rules: Arc::new(rules),
                digest: digest(&text),
                loaded_at: now,
            })),
        })
    }

    /// The rules in force.
    pub fn current(&self) -> Arc<CompiledRules> {
        self.current
            .read()
            .map(|l| l.rules.clone())
            .unwrap_or_else(|e| e.into_inner().rules.clone())
    }

    /// Reads the file again and swaps the rules in when valid.
    pub fn reload(&self, now: DateTime<Utc>) -> Result<Reloaded, RulesError> {
        let text = read(self.path.as_ref())?;
        let rules = CompiledRules::parse(&text)?;
        let mut guard = self.current.write().unwrap_or_else(|e| e.into_inner());
        let previous = guard.rules.version.clone();
        let reloaded = Reloaded {
            version: rules.version.clone(),
            previous,
            rule_count: rules.rule_count,
            loaded_at: now,
        };
        *guard = Loaded {
            rules: Arc::new(rules),
            digest: digest(&text),
            loaded_at: now,
        };
        Ok(reloaded)
    }

    /// Reloads when the file's content changed since the last load; `Ok(None)` when unchanged.
    pub fn reload_if_changed(&self, now: DateTime<Utc>) -> Result<Option<Reloaded>, RulesError> {
        if self.path.is_none() {
            return Ok(None);
        }
        let text = read(self.path.as_ref())?;
        let unchanged = self
            .current
            .read()
            .map(|l| l.digest == digest(&text))
            .unwrap_or(false);
        if unchanged {
            return Ok(None);
        }
        self.reload(now).map(Some)
    }

    /// When the rules in force were loaded.
    pub fn loaded_at(&self) -> DateTime<Utc> {
        self.current
            .read()
            .map(|l| l.loaded_at)
            .unwrap_or_else(|e| e.into_inner().loaded_at)
    }
}

fn read(path: Option<&PathBuf>) -> Result<String, RulesError> {
    match path {
        None => Ok(DEFAULT_RULES.to_owned()),
        Some(path) => std::fs::read_to_string(path).map_err(|source| RulesError::Io {
            path: path.display().to_string(),
            source,
        }),
    }
}
