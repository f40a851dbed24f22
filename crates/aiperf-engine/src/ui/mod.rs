//! What is shown while a run goes on (registry category `ui`).

pub mod dashboard;
pub mod live;
pub mod simple;

/// Built-in UI implementations (registry `implementation` values).
pub const IMPLEMENTATIONS: [&str; 3] = [
    "aiperf_engine::ui::Dashboard",
    "aiperf_engine::ui::Simple",
    "aiperf_engine::ui::Silent",
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
        match implementation {
            "aiperf_engine::ui::Dashboard" => Some(Ui::Dashboard),
            "aiperf_engine::ui::Simple" => Some(Ui::Progress),
            "aiperf_engine::ui::Silent" => Some(Ui::Silent),
            _ => None,
        }
    }
}
