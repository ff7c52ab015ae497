//! `pingan completions <shell>`: a completion script for bash, zsh, fish, elvish or PowerShell.

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
    clap_complete::generate(args.shell, &mut command, "pingan", &mut std::io::stdout());
    Ok(())
}
