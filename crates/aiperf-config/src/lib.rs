//! Configuration stage: `aiperf profile`'s command line, with AIPerf's flag names, aliases,
//! defaults and help groups ([`cli`]), resolved into a validated, fully typed [`ProfileConfig`]
//! ([`resolve`], one module per help group).
//!
//! Everything a user can get wrong is rejected here, before any request is sent, with a one-line
//! reason that names the flag. Resolving does a little file-system I/O so that such mistakes
//! surface here too: it checks that `--input-file` and `--system-prompt-file` exist, and for
//! `--public-dataset sharegpt` it looks the file up in the local Hugging Face cache. It reads no
//! file's contents and never touches the network.

pub mod cli;
pub mod magic_list;
pub mod resolve;
pub mod yaml;

pub use cli::{
    AnalyzeCommand, AnalyzeTraceArgs, ChatArgs, Cli, Command, CompareArgs, CompletionsArgs,
    ConfigCommand, KubeCommand, KubeGenerateArgs, MergeArgs, PluginsArgs, ProfileArgs, ShapingArgs,
    ShardArgs, SlurmCommand, SlurmGenerateArgs, SpeedBenchReportArgs, SwimLaneArgs, SynthesizeArgs,
    TraceReplayArgs, TurnMessagesArgs, ValidateArgs, WatchArgs,
};
pub use resolve::{ConfigError, LoadMode, LogLevel, ProfileConfig, UiType, UI_BUILTINS};
