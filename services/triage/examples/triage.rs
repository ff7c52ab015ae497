//! `pingan triage …` without building the whole platform binary (corpus work on a busy machine):
//! `cargo run -p pingan-triage --example triage -- train`.

use clap::Parser;
use pingan_triage::eval_cli::TriageCommand;

#[derive(Debug, Parser)]
struct Cli {
    #[command(subcommand)]
    command: TriageCommand,
}

fn main() {
    match Cli::parse().command.run() {
        Ok(out) => println!("{out}"),
        Err(err) => {
            eprintln!("{err}");
            std::process::exit(1);
        }
    }
}
