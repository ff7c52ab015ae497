//! `pingan completions <shell>`: a completion script for bash, zsh, fish, elvish or PowerShell.

use std::io::Write as _;

use clap::Args;
use clap_complete::Shell;

/// `pingan completions`
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell, e.g. `bash` (`source <(pingan completions bash)`).
    #[arg(value_enum)]
    pub shell: Shell,
}

/// Writes the completion script of `command` (the whole `pingan` command line) to stdout.
pub fn print(args: &CompletionsArgs, mut command: clap::Command) -> anyhow::Result<()> {
    // Into a buffer first: clap_complete panics when it cannot write (e.g. `| head`).
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut command, "pingan", &mut script);
    match std::io::stdout().write_all(&script) {
        Err(err) if err.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}
