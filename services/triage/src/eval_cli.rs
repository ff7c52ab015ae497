//! `pingan triage …`: the corpus commands (the binary only parses and prints).

use std::path::PathBuf;

use clap::{Args, Subcommand};

use crate::eval;

/// Commands on the labelled corpus.
#[derive(Debug, Subcommand)]
pub enum TriageCommand {
    /// Classify every call of a corpus split with the shipped rules and print the figures.
    Eval(EvalArgs),
    /// Regenerate corpus/train.jsonl and corpus/test.jsonl from corpus/calls/*.jsonl (fixed seed).
    Split(SplitArgs),
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
}

/// `pingan triage split`.
#[derive(Debug, Args)]
pub struct SplitArgs {
    /// The corpus folder (default: the one in the source tree).
    #[arg(long)]
    pub corpus: Option<PathBuf>,
}

impl TriageCommand {
    /// Runs the command; returns what to print.
    pub fn run(&self) -> Result<String, eval::EvalError> {
        match self {
            Self::Eval(args) => {
                let dir = args.corpus.clone().unwrap_or_else(eval::default_corpus_dir);
                let report = eval::run_eval(&dir, &args.split)?;
                if args.json {
                    Ok(serde_json::to_string_pretty(&report).unwrap_or_default())
                } else {
                    Ok(report.render())
                }
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
