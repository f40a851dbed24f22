//! `aiperf completions SHELL` (and AIPerf's `--install-completion` / `--show-completion`,
//! handled before parsing in `crates/aiperf/src/lib.rs`). Run by
//! `crates/aiperf/src/completions_cmd.rs`.

use clap::{Args, ValueEnum};

/// Shells a completion script can be generated for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CompletionShell {
    Bash,
    Zsh,
    Fish,
    Elvish,
    Powershell,
}

/// `aiperf completions` flags.
#[derive(Debug, Clone, Default, Args)]
pub struct CompletionsArgs {
    /// The shell to print a completion script for.
    #[arg(value_enum)]
    pub shell: Option<CompletionShell>,
}

impl CompletionShell {
    /// The shell's name as typed (`bash`, `powershell`, ...).
    pub fn name(self) -> &'static str {
        match self {
            CompletionShell::Bash => "bash",
            CompletionShell::Zsh => "zsh",
            CompletionShell::Fish => "fish",
            CompletionShell::Elvish => "elvish",
            CompletionShell::Powershell => "powershell",
        }
    }
}

impl CompletionsArgs {
    /// The shell asked for, by name (the enum is not re-exported from the crate root).
    pub fn shell_name(&self) -> Option<&'static str> {
        self.shell.map(CompletionShell::name)
    }
}
