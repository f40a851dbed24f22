//! `aiperf chat`: an interactive conversation with a server, timing each answer. Run by
//! `crates/aiperf/src/chat_cmd.rs`.

use clap::Args;

/// `aiperf chat` flags.
#[derive(Debug, Clone, Default, Args)]
pub struct ChatArgs {}
