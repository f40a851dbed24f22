//! `aiperf chat`: an interactive conversation with a server, timing each answer. Run by
//! `crates/aiperf/src/chat_cmd.rs`. Flags, short names and defaults are AIPerf 0.13's
//! (`cli_commands/chat.py`).

use clap::Args;

/// `aiperf chat` flags.
#[derive(Debug, Clone, Default, Args)]
pub struct ChatArgs {
    /// Model name served by the endpoint.
    #[arg(long, short = 'm')]
    pub model: String,

    /// Base URL of the OpenAI-compatible server (e.g. http://localhost:8000), matching `aiperf
    /// profile`.
    #[arg(long, short = 'u', default_value = "http://localhost:8000")]
    pub url: String,

    /// Optional system prompt prepended to the conversation.
    #[arg(long)]
    pub system_prompt: Option<String>,

    /// Send a single MESSAGE and print the response + stats, then exit.
    #[arg(long, short = 'q', value_name = "MESSAGE")]
    pub quick: Option<String>,

    /// Retain and resend conversation history each turn (default). Pass --no-history for
    /// stateless, completion-style turns. Ignored with --quick.
    #[arg(long, overrides_with = "no_history")]
    pub history: bool,

    /// Do not retain conversation history between turns.
    #[arg(long, overrides_with = "history")]
    pub no_history: bool,

    /// API key sent as a Bearer token. Defaults to the OPENAI_API_KEY environment variable.
    #[arg(long)]
    pub api_key: Option<String>,

    /// Tokenizer for client-side token counts. Defaults to the model name. Pass `builtin` for
    /// a zero-network tokenizer.
    #[arg(long)]
    pub tokenizer: Option<String>,
}
