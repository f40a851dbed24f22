//! The vocabulary every stage of aiperf shares.
//!
//! Data flows `dataset -> timing -> engine (transport + endpoint) -> metrics -> export`; the types
//! that cross those boundaries live here so that no stage has to depend on another stage's crate
//! just to name what it receives. This crate knows nothing about tokio or HTTP, and its only I/O
//! is [`textfile`]: the one way every stage opens a text file the user gave it.

pub mod clock;
pub mod credit;
pub mod error;
pub mod numfmt;
pub mod record;
pub mod textfile;
pub mod turn;

pub use clock::Clock;
pub use credit::{Credit, Phase};
pub use error::{one_line, ErrorDetails};
pub use record::{Chunk, RawRecord};
pub use turn::{Branch, BranchMode, Conversation, Dag, PreparedTurn, Turn};
