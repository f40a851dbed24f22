//! `aiperf kube generate` (not built yet).

use std::process::ExitCode;

use aiperf_config::KubeGenerateArgs;

/// Prints the Kubernetes objects of a sharded run.
pub fn generate(_args: &KubeGenerateArgs) -> ExitCode {
    eprintln!("aiperf kube generate: not built yet");
    ExitCode::from(1)
}
