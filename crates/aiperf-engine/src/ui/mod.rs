//! What is shown while a run goes on (registry category `ui`, resolved by config into a
//! `UiType`): each built-in is an [`Observer`](crate::Observer) fed phase snapshots, never a
//! reference into the run.

pub mod dashboard;
pub mod live;
pub mod simple;

use aiperf_config::UiType;

use crate::observe::{Observer, Silent};

/// The observer that shows `ui`.
pub fn observer(ui: UiType) -> Box<dyn Observer> {
    match ui {
        UiType::Dashboard => Box::new(dashboard::Dashboard::default()),
        UiType::Simple => Box::new(simple::Simple::default()),
        UiType::None => Box::new(Silent),
    }
}
