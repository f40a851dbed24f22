//! Configuration stage: `aiperf profile`'s command line, with AIPerf's flag names, aliases,
//! defaults and help groups ([`cli`]), resolved into a validated [`ProfileConfig`] ([`resolve`]).
//!
//! Everything a user can get wrong is rejected here, before any request is sent, with a one-line
//! reason that names the flag.

pub mod cli;
pub mod resolve;

pub use cli::{Cli, Command, PluginsArgs, ProfileArgs};
pub use resolve::{ConfigError, LoadMode, ProfileConfig, UiType};
