//! The rules and the model in force: loaded at start, swapped together and atomically on reload
//! (RPC or file change); an invalid rules or model file leaves both previous ones in force.

use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use crate::domain::classify::Classification;
use crate::domain::rules::{CompiledRules, DEFAULT_RULES, RulesError};
use crate::model::{DEFAULT_MODEL, Model, ModelError};

/// Why the rules or the model could not be (re)loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The rules file.
    #[error(transparent)]
    Rules(#[from] RulesError),
    /// The model file.
    #[error(transparent)]
    Model(#[from] ModelError),
}

#[derive(Debug)]
struct Loaded {
    rules: Arc<CompiledRules>,
    model: Arc<Model>,
    digest: String,
    loaded_at: DateTime<Utc>,
}

/// The rules and the model in force, shared by the handlers and the watcher.
#[derive(Debug, Clone)]
pub struct RulesState {
    path: Option<PathBuf>,
    model_path: Option<PathBuf>,
    serve_model: bool,
    current: Arc<RwLock<Loaded>>,
}

/// What a reload did.
#[derive(Debug, Clone)]
pub struct Reloaded {
    /// Rules version now in force.
    pub version: String,
    /// Rules version before.
    pub previous: String,
    /// Rules loaded.
    pub rule_count: usize,
    /// Model version now in force.
    pub model_version: String,
    /// Model version before.
    pub previous_model: String,
    /// When.
    pub loaded_at: DateTime<Utc>,
}

fn digest(rules: &str, model: &str) -> String {
    let mut h = Sha256::new();
    h.update(Sha256::digest(rules.as_bytes()));
    h.update(Sha256::digest(model.as_bytes()));
    hex::encode(h.finalize())
}

/// Parses both files; the model must answer in the rules' categories.
fn parse(rules: &str, model: &str) -> Result<(CompiledRules, Model), LoadError> {
    let rules = CompiledRules::parse(rules)?;
    let model = Model::parse(model)?;
    // Its classes and the categories its thresholds name (a threshold for a category the rules
    // do not know is a file made for other rules).
    let t = &model.file.thresholds;
    if let Some(unknown) = model
        .file
        .heads
        .category
        .classes
        .iter()
        .chain(t.divert_by_category.keys())
        .chain(t.p1_by_category.keys())
        .find(|c| rules.category_index(c).is_none())
    {
        return Err(ModelError::Invalid(format!(
            "category {unknown} is not a category of rules {}",
            rules.version
        ))
        .into());
    }
    // The segmenter is built once per process: build it now, not on the first call.
    let _ = crate::model::features::jieba();
    Ok((rules, model))
}

impl RulesState {
    /// Loads the rules from `path` (the shipped rules when `None`) with the shipped model.
    pub fn load(path: Option<PathBuf>, now: DateTime<Utc>) -> Result<Self, LoadError> {
        Self::load_with_model(path, None, now)
    }

    /// Loads the rules from `path` and the model from `model_path` (the shipped ones when `None`).
    pub fn load_with_model(
        path: Option<PathBuf>,
        model_path: Option<PathBuf>,
        now: DateTime<Utc>,
    ) -> Result<Self, LoadError> {
        let text = read_rules(path.as_ref())?;
        let model_text = read_model(model_path.as_ref())?;
        let (rules, model) = parse(&text, &model_text)?;
        Ok(Self {
            path,
            model_path,
            serve_model: false,
            current: Arc::new(RwLock::new(Loaded {
                rules: Arc::new(rules),
                model: Arc::new(model),
                digest: digest(&text, &model_text),
                loaded_at: now,
            })),
        })
    }

    /// Whether [`RulesState::classify`] answers with the model (`true`) or the rules' own decision.
    pub fn serving_model(mut self, model: bool) -> Self {
        self.serve_model = model;
        self
    }

    /// The rules in force.
    pub fn current(&self) -> Arc<CompiledRules> {
        self.current
            .read()
            .map(|l| l.rules.clone())
            .unwrap_or_else(|e| e.into_inner().rules.clone())
    }

    /// The model in force.
    pub fn model(&self) -> Arc<Model> {
        self.current
            .read()
            .map(|l| l.model.clone())
            .unwrap_or_else(|e| e.into_inner().model.clone())
    }

    /// The rules and the model in force, from the same load.
    pub fn snapshot(&self) -> (Arc<CompiledRules>, Arc<Model>) {
        let read = |l: &Loaded| (l.rules.clone(), l.model.clone());
        self.current
            .read()
            .map(|l| read(&l))
            .unwrap_or_else(|e| read(&e.into_inner()))
    }

    /// Classifies a call (the answer of `Classify` and of every other classification triage
    /// makes): with the model in force, the model proposes and the rules' safety layer decides
    /// (`domain::decide`); otherwise the rules' own decision (`domain::classify`).
    pub fn classify(&self, text: &str, channel: &str, reported_category: &str) -> Classification {
        let (rules, model) = self.snapshot();
        if self.serve_model {
            model.classify(&rules, text, channel, reported_category)
        } else {
            crate::domain::classify::classify(&rules, text, channel, reported_category)
        }
    }

    /// Reads both files again and swaps them in when both are valid.
    pub fn reload(&self, now: DateTime<Utc>) -> Result<Reloaded, LoadError> {
        let text = read_rules(self.path.as_ref())?;
        let model_text = read_model(self.model_path.as_ref())?;
        let (rules, model) = parse(&text, &model_text)?;
        let mut guard = self.current.write().unwrap_or_else(|e| e.into_inner());
        let reloaded = Reloaded {
            version: rules.version.clone(),
            previous: guard.rules.version.clone(),
            rule_count: rules.rule_count,
            model_version: model.version().to_owned(),
            previous_model: guard.model.version().to_owned(),
            loaded_at: now,
        };
        *guard = Loaded {
            rules: Arc::new(rules),
            model: Arc::new(model),
            digest: digest(&text, &model_text),
            loaded_at: now,
        };
        Ok(reloaded)
    }

    /// Reloads when a file's content changed since the last load; `Ok(None)` when unchanged.
    pub fn reload_if_changed(&self, now: DateTime<Utc>) -> Result<Option<Reloaded>, LoadError> {
        if self.path.is_none() && self.model_path.is_none() {
            return Ok(None);
        }
        let text = read_rules(self.path.as_ref())?;
        let model_text = read_model(self.model_path.as_ref())?;
        let unchanged = self
            .current
            .read()
            .map(|l| l.digest == digest(&text, &model_text))
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

fn read_rules(path: Option<&PathBuf>) -> Result<String, RulesError> {
    match path {
        None => Ok(DEFAULT_RULES.to_owned()),
        Some(path) => std::fs::read_to_string(path).map_err(|source| RulesError::Io {
            path: path.display().to_string(),
            source,
        }),
    }
}

fn read_model(path: Option<&PathBuf>) -> Result<String, ModelError> {
    match path {
        None => Ok(DEFAULT_MODEL.to_owned()),
        Some(path) => std::fs::read_to_string(path).map_err(|source| ModelError::Io {
            path: path.display().to_string(),
            source,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("pingan-triage-state-{}-{name}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        dir
    }

    #[test]
    fn a_bad_model_file_is_refused_and_the_old_model_stays() {
        let dir = temp("bad-model");
        let path = dir.join("model.json");
        std::fs::write(&path, DEFAULT_MODEL).expect("write");
        let now = Utc::now();
        let state = RulesState::load_with_model(None, Some(path.clone()), now).expect("load");
        let version = state.model().version().to_owned();
        assert!(state.reload_if_changed(now).expect("unchanged").is_none());

        std::fs::write(&path, "{ not json").expect("break");
        assert!(matches!(state.reload(now), Err(LoadError::Model(_))));
        assert!(state.reload_if_changed(now).is_err());
        assert_eq!(state.model().version(), version, "the old model stays");

        // Valid JSON with a category the rules do not know is refused too.
        let renamed = DEFAULT_MODEL.replacen("\"FRAUD\"", "\"NO_SUCH_CATEGORY\"", 1);
        assert_ne!(renamed, DEFAULT_MODEL);
        std::fs::write(&path, renamed).expect("rename");
        assert!(state.reload(now).is_err());
        assert_eq!(state.model().version(), version);

        std::fs::write(&path, DEFAULT_MODEL).expect("restore");
        let reloaded = state.reload(now).expect("reload");
        assert_eq!(reloaded.model_version, version);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn the_classifier_setting_picks_who_answers() {
        let text = "我们小区从昨天开始停水，到现在还没来水";
        let rules = RulesState::load(None, Utc::now()).expect("load");
        let by_rules = rules.classify(text, "CHANNEL_110", "");
        assert_eq!(
            by_rules,
            crate::domain::classify::classify(&rules.current(), text, "CHANNEL_110", "")
        );
        assert!(
            by_rules
                .matched
                .iter()
                .all(|m| m.rule_id != "model.category")
        );
        let model = rules.clone().serving_model(true);
        let by_model = model.classify(text, "CHANNEL_110", "");
        assert!(
            by_model
                .matched
                .iter()
                .any(|m| m.rule_id == "model.category")
        );
    }

    #[test]
    fn a_missing_model_file_fails_the_load() {
        let dir = temp("missing-model");
        let missing = dir.join("nope.json");
        assert!(matches!(
            RulesState::load_with_model(None, Some(missing), Utc::now()),
            Err(LoadError::Model(ModelError::Io { .. }))
        ));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
