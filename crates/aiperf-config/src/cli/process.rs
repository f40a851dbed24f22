//! Flags that configure AIPerf's own process mesh (services, workers, ZMQ sockets, its status
//! API). aiperf is one process of async tasks and one record-processor thread, so they have
//! nothing to configure; they are accepted, so scripts written for AIPerf run unchanged, and
//! each one given says in one line that it does not apply.

use std::path::PathBuf;

use clap::Args;

/// The process-mesh flags of `aiperf profile`.
#[derive(Debug, Clone, Default, Args)]
pub struct ProcessArgs {
    /// AIPerf: how many RecordProcessor services to spawn. Accepted; aiperf processes records
    /// on one thread off the request path.
    #[arg(
        long,
        visible_alias = "record-processors",
        value_name = "N",
        help_heading = "Service"
    )]
    pub record_processor_service_count: Option<u32>,
    /// AIPerf: the port of its HTTP + WebSocket status API. Accepted; use `aiperf watch` on the
    /// artifact directory instead.
    #[arg(long, value_name = "PORT", help_heading = "Service")]
    pub api_port: Option<u16>,
    /// AIPerf: the host of its status API. Accepted (see --api-port).
    #[arg(long, value_name = "HOST", help_heading = "Service")]
    pub api_host: Option<String>,
    /// AIPerf: seconds between realtime stats publishes. Accepted; the dashboard and the
    /// progress lines refresh on their own clock.
    #[arg(long, value_name = "SECONDS", help_heading = "Service")]
    pub stats_interval: Option<f64>,
    /// AIPerf: the most worker processes to create. Accepted; aiperf's workers are async tasks
    /// (one per open request), with no limit to set.
    #[arg(
        long,
        visible_alias = "max-workers",
        value_name = "N",
        help_heading = "Workers"
    )]
    pub workers_max: Option<u32>,
    /// AIPerf: the host of its internal ZMQ sockets. Accepted; aiperf has none.
    #[arg(long, value_name = "HOST", help_heading = "ZMQ Communication")]
    pub zmq_host: Option<String>,
    /// AIPerf: the directory of its ZMQ IPC sockets. Accepted; aiperf has none.
    #[arg(long, value_name = "DIR", help_heading = "ZMQ Communication")]
    pub zmq_ipc_path: Option<PathBuf>,
    /// AIPerf: the dual-bind ZMQ backend. Accepted; aiperf has no ZMQ.
    #[arg(long, help_heading = "ZMQ Communication")]
    pub zmq_dual_bind: bool,
    /// Transport protocol of API requests: http (the only one, as in AIPerf 0.13).
    #[arg(long, visible_alias = "transport-type", value_parser = ["http"], ignore_case = true,
          help_heading = "Endpoint")]
    pub transport: Option<String>,
}

impl ProcessArgs {
    /// One line per flag given that configures something aiperf does not have.
    pub fn notices(&self) -> Vec<String> {
        let not_here = |flag: &str, why: &str| format!("{flag} does not apply: {why}");
        let mut out = Vec::new();
        if self.record_processor_service_count.is_some() {
            out.push(not_here(
                "--record-processor-service-count",
                "records are processed on one thread off the request path",
            ));
        }
        if self.api_port.is_some() || self.api_host.is_some() {
            out.push(not_here(
                "--api-port/--api-host",
                "aiperf has no status API; `aiperf watch` shows a run's progress from its artifact directory",
            ));
        }
        if self.stats_interval.is_some() {
            out.push(not_here(
                "--stats-interval",
                "the dashboard and progress lines refresh on their own clock",
            ));
        }
        if self.workers_max.is_some() {
            out.push(not_here(
                "--workers-max",
                "workers are async tasks in one process, one per open request",
            ));
        }
        if self.zmq_host.is_some() || self.zmq_ipc_path.is_some() || self.zmq_dual_bind {
            out.push(not_here(
                "--zmq-*",
                "aiperf is one process and has no ZMQ sockets",
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use crate::cli::{Cli, Command};
    use clap::Parser;

    fn parse(extra: &[&str]) -> Result<super::ProcessArgs, clap::Error> {
        let mut argv = vec!["aiperf", "profile", "-m", "m"];
        argv.extend_from_slice(extra);
        match Cli::try_parse_from(argv)?.command {
            Command::Profile(p) => Ok(p.process),
            _ => unreachable!("profile"),
        }
    }

    /// Every process-mesh flag of AIPerf 0.13 (and its aliases) parses, and each given one says
    /// in one line that it does not apply; none given, nothing said.
    #[test]
    fn aiperf_process_flags_are_accepted_and_said_not_to_apply() {
        let all = parse(&[
            "--record-processors",
            "4",
            "--api-port",
            "9999",
            "--api-host",
            "0.0.0.0",
            "--stats-interval",
            "0.5",
            "--max-workers",
            "32",
            "--zmq-host",
            "127.0.0.1",
            "--zmq-ipc-path",
            "/tmp/zmq",
            "--zmq-dual-bind",
            "--transport-type",
            "HTTP",
        ])
        .unwrap();
        assert_eq!(all.record_processor_service_count, Some(4));
        assert_eq!(all.workers_max, Some(32));
        let notices = all.notices();
        assert_eq!(notices.len(), 5, "{notices:?}");
        assert!(notices.iter().all(|n| n.contains("does not apply")));
        assert!(notices[0].starts_with("--record-processor-service-count"));
        assert!(parse(&[]).unwrap().notices().is_empty());
        assert!(
            parse(&[
                "--record-processor-service-count",
                "2",
                "--workers-max",
                "8"
            ])
            .unwrap()
            .notices()
            .len()
                == 2
        );
        let e = parse(&["--transport", "grpc"]).unwrap_err().to_string();
        assert!(e.contains("grpc") && e.contains("http"), "{e}");
        let e = parse(&["--api-port", "70000"]).unwrap_err().to_string();
        assert!(e.contains("70000"), "{e}");
    }
}
