//! The "UI" and "Service" groups: the live view and log verbosity.

use aiperf_plugins::Registry;

use super::{invalid, ConfigError};
use crate::cli::ProfileArgs;

/// The live view chosen for the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UiType {
    Dashboard,
    Simple,
    None,
}

impl UiType {
    /// The `ui` registry entry name.
    pub fn name(self) -> &'static str {
        match self {
            UiType::Dashboard => "dashboard",
            UiType::Simple => "simple",
            UiType::None => "none",
        }
    }

    /// The view a `ui` registry `implementation` names.
    fn from_implementation(implementation: &str) -> Option<Self> {
        UI_BUILTINS
            .iter()
            .find(|(i, _)| *i == implementation)
            .map(|(_, ui)| *ui)
    }
}

/// Every built-in UI: its registry `implementation` (the engine's observer type that shows it)
/// and the view it selects. The engine maps each view to its observer.
pub const UI_BUILTINS: [(&str, UiType); 3] = [
    ("aiperf_engine::ui::dashboard::Dashboard", UiType::Dashboard),
    ("aiperf_engine::ui::simple::Simple", UiType::Simple),
    ("aiperf_engine::observe::Silent", UiType::None),
];

/// `--log-level` (or `-v`, `-vv`, `--extra-verbose`), AIPerf's levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogLevel {
    Trace,
    Debug,
    Info,
    Notice,
    Warning,
    Success,
    Error,
    Critical,
}

impl LogLevel {
    /// AIPerf's spelling.
    pub fn name(self) -> &'static str {
        match self {
            LogLevel::Trace => "TRACE",
            LogLevel::Debug => "DEBUG",
            LogLevel::Info => "INFO",
            LogLevel::Notice => "NOTICE",
            LogLevel::Warning => "WARNING",
            LogLevel::Success => "SUCCESS",
            LogLevel::Error => "ERROR",
            LogLevel::Critical => "CRITICAL",
        }
    }
}

/// `--ui-type`, checked against the registry and resolved through its entry's implementation;
/// `None` when not given (the binary picks by terminal).
pub(super) fn ui(args: &ProfileArgs, registry: &Registry) -> Result<Option<UiType>, ConfigError> {
    let Some(name) = &args.ui_type else {
        return Ok(None);
    };
    let entry = registry
        .get("ui", name)
        .map_err(|e| invalid("--ui-type", e.to_string()))?;
    UiType::from_implementation(&entry.implementation)
        .map(Some)
        .ok_or_else(|| {
            invalid(
                "--ui-type",
                format!("'{name}' has no implementation in this build"),
            )
        })
}

/// `-vv` and `--extra-verbose` mean TRACE, `-v` DEBUG; otherwise `--log-level` (any case).
pub(super) fn log_level(args: &ProfileArgs) -> Result<LogLevel, ConfigError> {
    if args.extra_verbose || args.verbose >= 2 {
        return Ok(LogLevel::Trace);
    }
    if args.verbose == 1 {
        return Ok(LogLevel::Debug);
    }
    Ok(match args.log_level.to_ascii_uppercase().as_str() {
        "TRACE" => LogLevel::Trace,
        "DEBUG" => LogLevel::Debug,
        "INFO" => LogLevel::Info,
        "NOTICE" => LogLevel::Notice,
        "WARNING" => LogLevel::Warning,
        "SUCCESS" => LogLevel::Success,
        "ERROR" => LogLevel::Error,
        "CRITICAL" => LogLevel::Critical,
        other => {
            return Err(invalid(
                "--log-level",
                format!(
                "'{other}': choose TRACE, DEBUG, INFO, NOTICE, WARNING, SUCCESS, ERROR or CRITICAL"
            ),
            ))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::super::test_support::args;
    use super::*;

    #[test]
    fn ui_types() {
        let ui_of = |a: &[&str]| ui(&args(a), &Registry::builtin()).map_err(|e| e.to_string());
        assert_eq!(ui_of(&[]), Ok(None));
        assert_eq!(
            ui_of(&["--ui-type", "dashboard"]),
            Ok(Some(UiType::Dashboard))
        );
        assert_eq!(ui_of(&["--ui", "simple"]), Ok(Some(UiType::Simple)));
        assert_eq!(ui_of(&["--ui-type", "none"]), Ok(Some(UiType::None)));
        for t in [UiType::Dashboard, UiType::Simple, UiType::None] {
            assert_eq!(ui_of(&["--ui-type", t.name()]), Ok(Some(t)));
        }
        assert!(ui_of(&["--ui-type", "fancy"])
            .unwrap_err()
            .starts_with("--ui-type: Type 'fancy'"));
    }

    #[test]
    fn log_levels() {
        let level = |a: &[&str]| log_level(&args(a)).unwrap();
        assert_eq!(level(&[]), LogLevel::Info);
        assert_eq!(level(&["--log-level", "warning"]), LogLevel::Warning);
        assert_eq!(level(&["--log-level", "CRITICAL"]), LogLevel::Critical);
        assert_eq!(level(&["-v"]), LogLevel::Debug);
        assert_eq!(level(&["-vv", "--log-level", "ERROR"]), LogLevel::Trace);
        assert_eq!(level(&["--extra-verbose"]), LogLevel::Trace);
        assert_eq!(LogLevel::Success.name(), "SUCCESS");
    }
}
