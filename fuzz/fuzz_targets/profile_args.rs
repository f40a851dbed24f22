//! `aiperf profile` argument parsing and validation never panic, whatever the arguments
//! (NUL-separated in the input).
#![no_main]
use aiperf_config::{Cli, Command, ProfileConfig};
use clap::Parser;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut argv: Vec<String> = vec!["aiperf".into(), "profile".into()];
    argv.extend(text.split('\0').map(str::to_string));
    let Ok(cli) = Cli::try_parse_from(&argv) else {
        return;
    };
    if let Command::Profile(args) = cli.command {
        let registry = aiperf_plugins::Registry::builtin();
        let _ = ProfileConfig::resolve(*args, &argv, &registry);
    }
});
