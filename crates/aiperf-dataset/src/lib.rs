//! Dataset stage: what gets sent.
//!
//! - [`tokenizer`] loads a real Hugging Face `tokenizer.json` (the built-in `o200k_base`, a local
//!   file or directory, or a hub id found in the local Hugging Face cache).
//! - [`corpus`] turns the bundled public-domain text into one long token sequence.
//! - [`synthetic`] cuts prompts of exactly the sampled token length out of that corpus, the way
//!   AIPerf does, and builds conversations.
//! - [`sampling`] decides which conversation the n-th session uses, as a pure function of `n`.
//! - [`rng`] derives independent, reproducible random streams from one `--random-seed`.
//!
//! Nothing here touches the network.

pub mod agentic;
pub mod blocks;
pub mod cache_bust;
pub mod chat_template;
pub mod corpus;
mod count;
pub mod ffmpeg;
pub mod image_uuids;
pub mod length_dist;
pub mod loader;
pub mod parallel;
pub mod public;
pub mod replay;
pub mod rng;
pub mod sampling;
pub mod seq_dist;
pub mod synthesis;
pub mod synthetic;
pub mod synthetic_media;
pub mod tokenizer;
pub mod video;

pub use sampling::{Sampler, SamplingStrategy};
pub use synthetic::{PromptGenerator, RankingsConfig, SyntheticConfig};
pub use tokenizer::{TextTokenizer, TokenizerError};
