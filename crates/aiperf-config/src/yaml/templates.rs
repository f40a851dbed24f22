//! `aiperf config init [TEMPLATE]`: run files adapted from AIPerf's own templates.

macro_rules! templates {
    ($($name:literal),* $(,)?) => {
        const NAMES: &[&str] = &[$($name),*];
        const TEXTS: &[&str] = &[$(include_str!(concat!("../../templates/", $name, ".yaml"))),*];
    };
}

templates!(
    "minimal",
    "goodput_slo",
    "latency_test",
    "sweep_distributions",
    "multi_turn_conversation",
    "ramping",
    "time_based_soak",
    "kv_cache_test",
    "trace_replay",
);

/// The text of the template `name` (e.g. `minimal`), if there is one.
pub fn template(name: &str) -> Option<&'static str> {
    let name = name.strip_suffix(".yaml").unwrap_or(name);
    NAMES.iter().position(|n| *n == name).map(|i| TEXTS[i])
}

/// The names of the templates, simplest first.
pub fn templates() -> &'static [&'static str] {
    NAMES
}
