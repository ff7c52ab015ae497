//! `pingan triage …`: the corpus commands (the binary only parses and prints).

use std::path::PathBuf;

use clap::{Args, Subcommand};

use crate::eval;

/// Commands on the labelled corpus.
#[derive(Debug, Subcommand)]
pub enum TriageCommand {
    /// Classify every call of a corpus split with the shipped rules and print the figures.
    Eval(EvalArgs),
    /// Train the model on corpus/train.jsonl (cross-validated, deterministic) and write it.
    Train(TrainArgs),
    /// Regenerate corpus/train.jsonl and corpus/test.jsonl from corpus/calls/*.jsonl (fixed seed).
    Split(SplitArgs),
    /// Rewrite models/segmenter-dict.txt from jieba's whole dictionary and corpus/train.jsonl.
    SegmenterDict(SegmenterDictArgs),
}

/// `pingan triage eval`.
#[derive(Debug, Args)]
pub struct EvalArgs {
    /// Which split: test (the held-out set), train or all.
    #[arg(long, default_value = "test", value_parser = ["test", "train", "all"])]
    pub split: String,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
    /// The corpus folder (default: the one in the source tree).
    #[arg(long)]
    pub corpus: Option<PathBuf>,
    /// A model file to evaluate instead of the shipped one.
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Who answers: the model under the safety layer, or the rules alone.
    #[arg(long, default_value = "model", value_parser = ["model", "rules"])]
    pub classifier: String,
}

/// `pingan triage train`.
#[derive(Debug, Args)]
pub struct TrainArgs {
    /// The corpus folder (default: the one in the source tree).
    #[arg(long)]
    pub corpus: Option<PathBuf>,
    /// Where to write the model (default: the shipped models/triage-model.json).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// `pingan triage split`.
#[derive(Debug, Args)]
pub struct SplitArgs {
    /// The corpus folder (default: the one in the source tree).
    #[arg(long)]
    pub corpus: Option<PathBuf>,
}

/// `pingan triage segmenter-dict`.
#[derive(Debug, Args)]
pub struct SegmenterDictArgs {
    /// jieba's whole dictionary: `src/data/dict.txt` of the jieba-rs crate in cargo's registry.
    #[arg(long)]
    pub jieba_dict: PathBuf,
    /// The corpus folder (default: the one in the source tree).
    #[arg(long)]
    pub corpus: Option<PathBuf>,
    /// Where to write (default: the shipped models/segmenter-dict.txt).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

impl TriageCommand {
    /// Runs the command; returns what to print.
    pub fn run(&self) -> Result<String, eval::EvalError> {
        match self {
            Self::Eval(args) => {
                let dir = args.corpus.clone().unwrap_or_else(eval::default_corpus_dir);
                let report = eval::run_eval(
                    &dir,
                    &args.split,
                    args.model.as_deref(),
                    args.classifier == "rules",
                )?;
                if args.json {
                    Ok(serde_json::to_string_pretty(&report).unwrap_or_default())
                } else {
                    Ok(report.render())
                }
            }
            Self::Train(args) => {
                let dir = args.corpus.clone().unwrap_or_else(eval::default_corpus_dir);
                let model = eval::run_train(&dir)?;
                let out = args.out.clone().unwrap_or_else(|| {
                    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(crate::model::MODEL_FILE)
                });
                std::fs::write(&out, crate::model::train::to_json(&model)).map_err(|source| {
                    eval::EvalError::Io {
                        path: out.display().to_string(),
                        source,
                    }
                })?;
                let f = &model.file;
                Ok(format!(
                    "wrote {} (model {}, {} features, trained on {} calls sha256 {})\ncross-validation ({} folds, train split only):\n  {}\nchosen: {}\nthresholds: divert {:.2} ({}), invalid {:.2}, p1 {:.2} ({}), confident {:.2}",
                    out.display(),
                    f.version,
                    f.vocabulary.len(),
                    f.trained_on.calls,
                    f.trained_on.sha256,
                    f.cv.folds,
                    f.cv.candidates.join("\n  "),
                    f.cv.chosen,
                    f.thresholds.divert,
                    crate::model::train::per_category(&f.thresholds),
                    f.thresholds.invalid,
                    f.thresholds.p1,
                    crate::model::train::p1_line(&f.thresholds),
                    f.thresholds.confident
                ))
            }
            Self::SegmenterDict(args) => {
                let dir = args.corpus.clone().unwrap_or_else(eval::default_corpus_dir);
                let out = args.out.clone().unwrap_or_else(|| {
                    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                        .join(crate::model::segmenter::SEGMENTER_FILE)
                });
                let entries = eval::write_segmenter_dict(&args.jieba_dict, &dir, &out)?;
                Ok(format!("wrote {} ({entries} entries)", out.display()))
            }
            Self::Split(args) => {
                let dir = args.corpus.clone().unwrap_or_else(eval::default_corpus_dir);
                let (train, test) = eval::write_split(&dir)?;
                Ok(format!(
                    "wrote {} ({train} calls) and {} ({test} calls) in {}",
                    eval::TRAIN_FILE,
                    eval::TEST_FILE,
                    dir.display()
                ))
            }
        }
    }
}
