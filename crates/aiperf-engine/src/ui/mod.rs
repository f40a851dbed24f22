//! What is shown while a run goes on (registry category `ui`): each built-in is an
//! [`Observer`](crate::Observer) fed phase snapshots, never a reference into the run.

pub mod dashboard;
pub mod live;
pub mod simple;

use crate::observe::{Observer, Silent};

/// Every built-in UI: its registry `implementation` (the observer type that shows it) and the
/// display it selects.
pub const BUILTINS: [(&str, Ui); 3] = [
    ("aiperf_engine::ui::dashboard::Dashboard", Ui::Dashboard),
    ("aiperf_engine::ui::simple::Simple", Ui::Progress),
    ("aiperf_engine::observe::Silent", Ui::Silent),
];

/// The live view of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ui {
    /// The live terminal dashboard (`dashboard`).
    Dashboard,
    /// A progress line on stderr every second (`simple`).
    Progress,
    /// Nothing until the final tables (`none`).
    Silent,
}

impl Ui {
    pub fn from_implementation(implementation: &str) -> Option<Ui> {
        BUILTINS
            .iter()
            .find(|(i, _)| *i == implementation)
            .map(|(_, ui)| *ui)
    }

    /// The observer that shows this UI.
    pub fn observer(self) -> Box<dyn Observer> {
        match self {
            Ui::Dashboard => Box::new(dashboard::Dashboard::default()),
            Ui::Progress => Box::new(simple::Simple::default()),
            Ui::Silent => Box::new(Silent),
        }
    }
}
