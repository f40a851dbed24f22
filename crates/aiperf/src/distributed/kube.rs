//! `aiperf kube generate`: the Kubernetes objects that run one benchmark as N shards (a headless
//! Service, an Indexed Job, a merge Job), built from `k8s-openapi`'s typed structs so the output
//! always has the API's field names and shapes, and printed as one multi-document YAML stream.
//!
//! Every per-run value (shard count, results directory, start lead, clock reference) sits in the
//! containers' env, so the shell scripts are constants that tests and readers can check once.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::ExitCode;

use aiperf_config::resolve::redact_args;
use aiperf_config::KubeGenerateArgs;
use k8s_openapi::api::batch::v1::{Job, JobSpec};
use k8s_openapi::api::core::v1::{
    Container, ContainerPort, EnvVar, EnvVarSource, PersistentVolumeClaimVolumeSource, PodSpec,
    PodTemplateSpec, ResourceRequirements, SecretKeySelector, Service, ServicePort, ServiceSpec,
    Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

/// Where the results PVC is mounted in every pod.
pub(crate) const RESULTS_MOUNT: &str = "/results";

/// Seconds between the first shard proposing the start instant and that instant: room for the
/// other pods to be scheduled, pull the image and start (editable in the YAML's env).
const START_LEAD_SECONDS: u32 = 120;

/// The UDP port on which shard 0 answers the other shards' clock probes (`--clock-reference`),
/// the conventional one; the Slurm script uses it too.
pub(crate) const CLOCK_PORT: u16 = 7787;

/// The name of the clock port on the shard container and the Service.
const CLOCK_PORT_NAME: &str = "clock";

/// The shard container's script. `"$@"` are the profile arguments (the container's `args`), so
/// they reach `aiperf profile` verbatim without any shell quoting in the YAML.
///
/// The start instant: the first pod to get here creates `.aiperf/start-at` (noclobber makes the
/// create exclusive, also on NFS) with now + lead; every pod, that one included, reads it back,
/// so all shards agree on one instant however far apart they started. A shard directory or done
/// marker that already exists means an earlier run or a retried pod: it stops rather than
/// mixing results.
///
/// `AIPERF_CLOCK_REFERENCE` is shard 0's pod (`<name>-0.<name>:7787`): shard 0 answers clock
/// probes there, every other shard measures its offset to it before the start instant, and the
/// merge corrects the shards' times by those offsets.
pub(crate) const SHARD_SCRIPT: &str = r#"set -eu
run="$AIPERF_RUN_DIR"
i="$JOB_COMPLETION_INDEX"
n="$AIPERF_SHARD_COUNT"
mkdir -p "$run/.aiperf"
if [ -e "$run/shard-$i" ] || [ -e "$run/.aiperf/done-$i" ]; then
  echo "aiperf: shard $i already ran in $run (an earlier run or a retried pod); generate a new Job to run again" >&2
  exit 1
fi
proposed=$(date -u -d "@$(( $(date +%s) + AIPERF_START_LEAD_SECONDS ))" +%Y-%m-%dT%H:%M:%SZ)
( set -C; printf '%s\n' "$proposed" > "$run/.aiperf/start-at" ) 2>/dev/null || true
start_at=""
for _ in 1 2 3 4 5 6 7 8 9 10; do
  start_at=$(cat "$run/.aiperf/start-at" 2>/dev/null || true)
  [ -n "$start_at" ] && break
  sleep 1
done
if [ -z "$start_at" ]; then
  echo "aiperf: cannot read $run/.aiperf/start-at" >&2
  exit 1
fi
echo "aiperf: shard $i/$n starts at $start_at"
set +e
aiperf profile "$@" --shard "$i/$n" --start-at "$start_at" --clock-reference "$AIPERF_CLOCK_REFERENCE" --artifact-dir "$run/shard-$i"
rc=$?
set -e
echo "$rc" > "$run/.aiperf/done-$i"
exit "$rc"
"#;

/// The merge container's script: Kubernetes has no "run after that Job" edge, so the merge pod
/// waits for every shard's `done-<i>` marker (written by the shard script whatever its exit
/// code) and then merges. When a shard failed it merges what the shards wrote with
/// `--allow-partial` (which reports the missing and failed shards); otherwise without it, so a
/// shard directory missing despite a clean exit still stops the merge.
pub(crate) const MERGE_SCRIPT: &str = r#"set -eu
run="$AIPERF_RUN_DIR"
n="$AIPERF_SHARD_COUNT"
echo "aiperf: waiting for $n shards to finish in $run"
while :; do
  set -- "$run"/.aiperf/done-*
  if [ -e "$1" ] && [ "$#" -ge "$n" ]; then break; fi
  sleep 10
done
failed=0
for f in "$run"/.aiperf/done-*; do
  [ "$(cat "$f")" = 0 ] || failed=$((failed + 1))
done
partial=""
if [ "$failed" -ne 0 ]; then
  echo "aiperf: $failed shard(s) exited non-zero; merging what was written" >&2
  partial="--allow-partial"
fi
exec aiperf kube results "$run" --output "$run/merged" ${partial:+"$partial"}
"#;

/// Prints (or writes to `--output`) the Kubernetes objects of a sharded run.
pub fn generate(args: &KubeGenerateArgs) -> ExitCode {
    let run_id = chrono::Utc::now().format("%Y%m%d-%H%M%S").to_string();
    match render(args, &run_id) {
        Ok(yaml) => write_output("aiperf kube generate", args.output.as_deref(), &yaml),
        Err(e) => {
            eprintln!("aiperf kube generate: {e}");
            ExitCode::from(1)
        }
    }
}

/// The YAML stream for `args`; `run_id` names the run's results directory on the volume (a
/// fresh one per generate, so two runs never share shard directories).
pub(crate) fn render(args: &KubeGenerateArgs, run_id: &str) -> Result<String, String> {
    check_names(args)?;
    check_profile_args(&args.profile, Engine::Kube { name: &args.name })?;
    let size = Sizing::from_plan(&args.profile, args.shards);
    let run_dir = format!("{RESULTS_MOUNT}/{}-{run_id}", args.name);
    let (service, shards, merge) = objects(args, &run_dir, size);
    let mut out = String::new();
    out.push_str(&format!(
        "# aiperf kube generate: {} shards of one benchmark, results in PVC {} at {run_dir}.\n\
         # Apply with `kubectl apply -f`; the merged run appears in {run_dir}/merged.\n\
         # Resource requests: {} CPU and {} per shard, sized from the plan (see docs/distributed.md).\n",
        args.shards, args.results_pvc, size.cpu, size.memory()
    ));
    let docs = [
        serde_saphyr::to_string(&service).map_err(yaml_error)?,
        serde_saphyr::to_string(&shards).map_err(yaml_error)?,
        serde_saphyr::to_string(&merge).map_err(yaml_error)?,
    ];
    for doc in docs {
        out.push_str("---\n");
        out.push_str(&doc);
        if !doc.ends_with('\n') {
            out.push('\n');
        }
    }
    Ok(out)
}

fn yaml_error(e: serde_saphyr::SerializeError) -> String {
    format!("cannot write YAML: {e}")
}

/// The three objects: headless Service, shard Job, merge Job.
fn objects(args: &KubeGenerateArgs, run_dir: &str, size: Sizing) -> (Service, Job, Job) {
    let name = &args.name;
    let labels = |component: &str| {
        BTreeMap::from([
            ("app.kubernetes.io/name".to_string(), "aiperf".to_string()),
            ("app.kubernetes.io/instance".to_string(), name.clone()),
            (
                "app.kubernetes.io/component".to_string(),
                component.to_string(),
            ),
        ])
    };
    let meta = |obj_name: String, component: &str| ObjectMeta {
        name: Some(obj_name),
        namespace: Some(args.namespace.clone()),
        labels: Some(labels(component)),
        ..Default::default()
    };
    let shard_selector = BTreeMap::from([
        ("app.kubernetes.io/instance".to_string(), name.clone()),
        (
            "app.kubernetes.io/component".to_string(),
            "shard".to_string(),
        ),
    ]);

    // Headless: no virtual IP, one DNS record per pod (`<name>-<index>.<name>`), published before
    // the pods are ready so peers can find each other from the start. Pod records resolve
    // without ports; the clock port is declared to document it and so NetworkPolicies can name it.
    let service = Service {
        metadata: meta(name.clone(), "shard"),
        spec: Some(ServiceSpec {
            cluster_ip: Some("None".to_string()),
            selector: Some(shard_selector),
            publish_not_ready_addresses: Some(true),
            ports: Some(vec![ServicePort {
                name: Some(CLOCK_PORT_NAME.to_string()),
                port: i32::from(CLOCK_PORT),
                protocol: Some("UDP".to_string()),
                target_port: Some(IntOrString::String(CLOCK_PORT_NAME.to_string())),
                ..Default::default()
            }]),
            ..Default::default()
        }),
        ..Default::default()
    };

    let env_value = |k: &str, v: String| EnvVar {
        name: k.to_string(),
        value: Some(v),
        ..Default::default()
    };
    // The key comes from a Secret the user creates (optional: runs without a key work too), so
    // it is never in the YAML; `aiperf profile` reads AIPERF_API_KEY itself.
    let api_key = EnvVar {
        name: "AIPERF_API_KEY".to_string(),
        value_from: Some(EnvVarSource {
            secret_key_ref: Some(SecretKeySelector {
                name: format!("{name}-api-key"),
                key: "api-key".to_string(),
                optional: Some(true),
            }),
            ..Default::default()
        }),
        ..Default::default()
    };
    let common_env = vec![
        env_value("AIPERF_SHARD_COUNT", args.shards.to_string()),
        env_value("AIPERF_RUN_DIR", run_dir.to_string()),
    ];
    let volumes = vec![Volume {
        name: "results".to_string(),
        persistent_volume_claim: Some(PersistentVolumeClaimVolumeSource {
            claim_name: args.results_pvc.clone(),
            read_only: None,
        }),
        ..Default::default()
    }];
    let mounts = vec![VolumeMount {
        name: "results".to_string(),
        mount_path: RESULTS_MOUNT.to_string(),
        ..Default::default()
    }];
    let requests = |cpu: String, memory: String| ResourceRequirements {
        requests: Some(BTreeMap::from([
            ("cpu".to_string(), Quantity(cpu)),
            ("memory".to_string(), Quantity(memory)),
        ])),
        ..Default::default()
    };

    let mut shard_env = common_env.clone();
    shard_env.push(env_value(
        "AIPERF_START_LEAD_SECONDS",
        START_LEAD_SECONDS.to_string(),
    ));
    // Shard 0's pod: its hostname and the Service's name (the pod's subdomain).
    shard_env.push(env_value(
        "AIPERF_CLOCK_REFERENCE",
        format!("{name}-0.{name}:{CLOCK_PORT}"),
    ));
    shard_env.push(api_key);
    let shard_container = Container {
        name: "shard".to_string(),
        image: Some(args.image.clone()),
        // A kind/minikube image loaded by hand is never pulled; a registry image still is once.
        image_pull_policy: Some("IfNotPresent".to_string()),
        command: Some(vec![
            "/bin/sh".to_string(),
            "-c".to_string(),
            SHARD_SCRIPT.to_string(),
            "aiperf-shard".to_string(),
        ]),
        args: Some(args.profile.clone()),
        env: Some(shard_env),
        // Shard 0 answers clock probes here; the other shards only send from ephemeral ports.
        ports: Some(vec![ContainerPort {
            name: Some(CLOCK_PORT_NAME.to_string()),
            container_port: i32::from(CLOCK_PORT),
            protocol: Some("UDP".to_string()),
            ..Default::default()
        }]),
        resources: Some(requests(size.cpu.to_string(), size.memory())),
        volume_mounts: Some(mounts.clone()),
        ..Default::default()
    };
    let shards = Job {
        metadata: meta(name.clone(), "shard"),
        spec: Some(JobSpec {
            completion_mode: Some("Indexed".to_string()),
            completions: Some(shards_i32(args.shards)),
            parallelism: Some(shards_i32(args.shards)),
            // A retried shard would send its part of the schedule late and twice: a failed
            // index stays failed, the others go on, and the merge reports it.
            backoff_limit_per_index: Some(0),
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(labels("shard")),
                    ..Default::default()
                }),
                spec: Some(PodSpec {
                    restart_policy: Some("Never".to_string()),
                    subdomain: Some(name.clone()),
                    containers: vec![shard_container],
                    volumes: Some(volumes.clone()),
                    ..Default::default()
                }),
            },
            ..Default::default()
        }),
        ..Default::default()
    };

    let merge_container = Container {
        name: "merge".to_string(),
        image: Some(args.image.clone()),
        image_pull_policy: Some("IfNotPresent".to_string()),
        command: Some(vec![
            "/bin/sh".to_string(),
            "-c".to_string(),
            MERGE_SCRIPT.to_string(),
            "aiperf-merge".to_string(),
        ]),
        env: Some(common_env),
        resources: Some(requests("100m".to_string(), "512Mi".to_string())),
        volume_mounts: Some(mounts),
        ..Default::default()
    };
    let merge = Job {
        metadata: meta(format!("{name}-merge"), "merge"),
        spec: Some(JobSpec {
            completions: Some(1),
            parallelism: Some(1),
            backoff_limit: Some(0),
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(labels("merge")),
                    ..Default::default()
                }),
                spec: Some(PodSpec {
                    restart_policy: Some("Never".to_string()),
                    containers: vec![merge_container],
                    volumes: Some(volumes),
                    ..Default::default()
                }),
            },
            ..Default::default()
        }),
        ..Default::default()
    };
    (service, shards, merge)
}

/// `--shards` is at most 10,000 (the CLI's range), so it always fits.
fn shards_i32(n: u32) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// Object names must be DNS labels, and each shard pod's hostname `<name>-<index>` too.
fn check_names(args: &KubeGenerateArgs) -> Result<(), String> {
    let index_digits = (args.shards.saturating_sub(1)).to_string().len();
    let max_name = (63 - 1 - index_digits).min(63 - "-merge".len());
    if !is_dns_label(&args.name) || !args.name.starts_with(|c: char| c.is_ascii_lowercase()) {
        return Err(format!(
            "--name {:?} must be lowercase letters, digits and '-', start with a letter and end \
             with a letter or digit",
            args.name
        ));
    }
    if args.name.len() > max_name {
        return Err(format!(
            "--name {:?} is too long: at most {max_name} characters with {} shards (pod hostnames \
             are <name>-<index>, at most 63)",
            args.name, args.shards
        ));
    }
    if !is_dns_label(&args.namespace) || args.namespace.len() > 63 {
        return Err(format!(
            "--namespace {:?} is not a Kubernetes namespace name (lowercase letters, digits, '-')",
            args.namespace
        ));
    }
    let pvc_ok = !args.results_pvc.is_empty()
        && args.results_pvc.len() <= 253
        && args.results_pvc.split('.').all(is_dns_label);
    if !pvc_ok {
        return Err(format!(
            "--results-pvc {:?} is not a PersistentVolumeClaim name (lowercase letters, digits, \
             '-', '.')",
            args.results_pvc
        ));
    }
    if args.image.trim().is_empty() || args.image.contains(char::is_whitespace) {
        return Err(format!(
            "--image {:?} is not an image reference",
            args.image
        ));
    }
    Ok(())
}

fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// Which generator is checking, for the wording of its refusals.
#[derive(Clone, Copy)]
pub(crate) enum Engine<'a> {
    Kube { name: &'a str },
    Slurm,
}

/// Refuses profile arguments that the generated files set per shard, and secrets, which would
/// otherwise be written in clear into a file that is applied, shared and checked in.
pub(crate) fn check_profile_args(profile: &[String], engine: Engine<'_>) -> Result<(), String> {
    if profile
        .first()
        .is_some_and(|a| a == "profile" || a == "aiperf")
    {
        return Err(
            "give the arguments of `aiperf profile` after `--`, without `aiperf profile` itself"
                .to_string(),
        );
    }
    let set_per_shard = [
        (
            "--artifact-dir",
            "each shard writes to <results>/<run>/shard-<index>",
        ),
        (
            "--output-artifact-dir",
            "each shard writes to <results>/<run>/shard-<index>",
        ),
        (
            "--shard",
            "the shard index and count come from the generated file",
        ),
        (
            "--start-at",
            "the start instant is fixed when the run starts",
        ),
        (
            "--clock-reference",
            "shard 0 of the run is every shard's clock reference",
        ),
    ];
    for a in profile {
        let flag = a.split_once('=').map_or(a.as_str(), |(f, _)| f);
        if let Some((f, why)) = set_per_shard.iter().find(|(f, _)| *f == flag) {
            return Err(format!("{f} cannot be given: {why}"));
        }
    }
    let redacted = redact_args(profile);
    if let Some(i) = (0..profile.len()).find(|&i| redacted[i] != profile[i]) {
        let shown = match i.checked_sub(1).map(|p| profile[p].as_str()) {
            Some(prev) if prev.starts_with('-') && !redacted[i].starts_with('-') => {
                format!("{prev} {}", redacted[i])
            }
            _ => redacted[i].clone(),
        };
        let fix = match engine {
            Engine::Kube { name } => format!(
                "put the API key in a Secret instead (`kubectl create secret generic {name}-api-key \
                 --from-literal=api-key=KEY`); the Job gives it to aiperf as AIPERF_API_KEY, sent \
                 as a Bearer token"
            ),
            Engine::Slurm => "export AIPERF_API_KEY=KEY before `sbatch` instead (srun passes it \
                              to every rank; aiperf sends it as a Bearer token)"
                .to_string(),
        };
        let target = match engine {
            Engine::Kube { .. } => "the YAML",
            Engine::Slurm => "the script",
        };
        return Err(format!(
            "`{shown}` holds a secret that would be written into {target}; {fix}"
        ));
    }
    Ok(())
}

/// Per-shard resources, from the plan's rate and concurrency when the arguments give them.
///
/// One core sends about 4,000 streamed requests/s (docs/performance.md), so a shard asks for
/// one core per 4,000 requests/s of its share; memory is a 256 MiB base plus 64 KiB per open
/// request of its share (576 MiB at 10,000 streams, measured), at least 512 MiB. Both are
/// requests, not limits: a shard that needs more is not killed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Sizing {
    pub cpu: u64,
    pub memory_mib: u64,
}

const REQUESTS_PER_CORE: f64 = 4_000.0;

impl Sizing {
    pub(crate) fn from_plan(profile: &[String], shards: u32) -> Sizing {
        let shards = f64::from(shards.max(1));
        let rate = flag_max(profile, "--request-rate").unwrap_or(0.0) / shards;
        let concurrency = flag_max(profile, "--concurrency").unwrap_or(0.0) / shards;
        let cpu = (rate / REQUESTS_PER_CORE).ceil().max(1.0) as u64;
        let memory_mib = (256.0 + (concurrency * 64.0 / 1024.0).ceil()).max(512.0) as u64;
        Sizing { cpu, memory_mib }
    }

    pub(crate) fn memory(&self) -> String {
        format!("{}Mi", self.memory_mib)
    }
}

/// The largest value of `flag` (`--flag V` or `--flag=V`, a sweep list `a,b,c` counts by its
/// largest); unparsable values are ignored (`aiperf profile` reports them itself).
fn flag_max(profile: &[String], flag: &str) -> Option<f64> {
    let mut best: Option<f64> = None;
    for (i, a) in profile.iter().enumerate() {
        let value = if a == flag {
            profile.get(i + 1).map(String::as_str)
        } else {
            a.strip_prefix(flag).and_then(|r| r.strip_prefix('='))
        };
        for v in value.into_iter().flat_map(|v| v.split(',')) {
            if let Ok(x) = v.trim().parse::<f64>() {
                if x.is_finite() && x >= 0.0 {
                    best = Some(best.map_or(x, |b: f64| b.max(x)));
                }
            }
        }
    }
    best
}

/// Writes `text` to `output` or standard output.
pub(crate) fn write_output(cmd: &str, output: Option<&Path>, text: &str) -> ExitCode {
    match output {
        Some(path) => match std::fs::write(path, text) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("{cmd}: cannot write {}: {e}", path.display());
                ExitCode::from(1)
            }
        },
        None => {
            use std::io::Write;
            let mut out = std::io::stdout().lock();
            match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("{cmd}: cannot write to standard output: {e}");
                    ExitCode::from(1)
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(profile: &[&str]) -> KubeGenerateArgs {
        KubeGenerateArgs {
            shards: 4,
            image: "aiperf:dev".to_string(),
            namespace: "bench".to_string(),
            name: "llama".to_string(),
            results_pvc: "aiperf-results".to_string(),
            output: None,
            profile: profile.iter().map(|s| s.to_string()).collect(),
        }
    }

    /// The stream split into its documents, each parsed back into the typed object.
    fn parse(yaml: &str) -> (Service, Job, Job) {
        let docs: Vec<&str> = yaml
            .split("\n---\n")
            .skip(1) // the header comment
            .collect();
        assert_eq!(docs.len(), 3, "{yaml}");
        let service: Service = serde_saphyr::from_str(docs[0]).expect("Service parses");
        let shards: Job = serde_saphyr::from_str(docs[1]).expect("Job parses");
        let merge: Job = serde_saphyr::from_str(docs[2]).expect("merge Job parses");
        (service, shards, merge)
    }

    fn env_of(c: &Container) -> BTreeMap<String, EnvVar> {
        c.env
            .iter()
            .flatten()
            .map(|e| (e.name.clone(), e.clone()))
            .collect()
    }

    #[test]
    fn the_stream_parses_back_into_the_typed_objects() {
        let profile = [
            "-m",
            "llama-3",
            "--url",
            "http://llm.bench.svc:8000",
            "--request-rate",
            "20000",
            "--concurrency",
            "4096",
            "--extra-inputs",
            "stop: [\"a b\", 'c']",
        ];
        let yaml = render(&args(&profile), "20261207-160000").expect("renders");
        assert!(
            yaml.starts_with("# aiperf kube generate: 4 shards"),
            "{yaml}"
        );
        let (service, shards, merge) = parse(&yaml);

        assert_eq!(service.metadata.name.as_deref(), Some("llama"));
        assert_eq!(service.metadata.namespace.as_deref(), Some("bench"));
        let sspec = service.spec.expect("service spec");
        assert_eq!(sspec.cluster_ip.as_deref(), Some("None"));
        assert_eq!(sspec.publish_not_ready_addresses, Some(true));
        let selector = sspec.selector.expect("selector");
        assert_eq!(selector["app.kubernetes.io/component"], "shard");
        assert_eq!(selector["app.kubernetes.io/instance"], "llama");
        let sports = sspec.ports.expect("service ports");
        assert_eq!(sports.len(), 1);
        assert_eq!(sports[0].name.as_deref(), Some("clock"));
        assert_eq!(sports[0].port, 7787);
        assert_eq!(sports[0].protocol.as_deref(), Some("UDP"));
        assert_eq!(
            sports[0].target_port,
            Some(IntOrString::String("clock".to_string()))
        );

        assert_eq!(shards.metadata.name.as_deref(), Some("llama"));
        assert_eq!(shards.metadata.namespace.as_deref(), Some("bench"));
        let spec = shards.spec.expect("job spec");
        assert_eq!(spec.completion_mode.as_deref(), Some("Indexed"));
        assert_eq!(spec.completions, Some(4));
        assert_eq!(spec.parallelism, Some(4));
        assert_eq!(spec.backoff_limit_per_index, Some(0));
        let pod = spec.template.spec.expect("pod spec");
        let pod_labels = spec
            .template
            .metadata
            .and_then(|m| m.labels)
            .expect("labels");
        for (k, v) in &selector {
            assert_eq!(
                pod_labels.get(k),
                Some(v),
                "the Service selects the shard pods"
            );
        }
        assert_eq!(pod.restart_policy.as_deref(), Some("Never"));
        assert_eq!(pod.subdomain.as_deref(), Some("llama"));
        let vols = pod.volumes.expect("volumes");
        assert_eq!(vols.len(), 1);
        assert_eq!(
            vols[0]
                .persistent_volume_claim
                .as_ref()
                .map(|p| p.claim_name.as_str()),
            Some("aiperf-results")
        );
        assert_eq!(pod.containers.len(), 1);
        let c = &pod.containers[0];
        assert_eq!(c.image.as_deref(), Some("aiperf:dev"));
        assert_eq!(
            c.command,
            Some(vec![
                "/bin/sh".to_string(),
                "-c".to_string(),
                SHARD_SCRIPT.to_string(),
                "aiperf-shard".to_string()
            ])
        );
        // The profile arguments verbatim, quotes and spaces included.
        assert_eq!(
            c.args,
            Some(profile.iter().map(|s| s.to_string()).collect::<Vec<_>>())
        );
        let mounts = c.volume_mounts.as_ref().expect("mounts");
        assert_eq!(mounts[0].name, "results");
        assert_eq!(mounts[0].mount_path, "/results");
        let env = env_of(c);
        assert_eq!(env["AIPERF_SHARD_COUNT"].value.as_deref(), Some("4"));
        assert_eq!(
            env["AIPERF_RUN_DIR"].value.as_deref(),
            Some("/results/llama-20261207-160000")
        );
        assert_eq!(
            env["AIPERF_START_LEAD_SECONDS"].value.as_deref(),
            Some("120")
        );
        // Shard 0's pod: hostname `<name>-0` in the subdomain `<name>` (the headless Service).
        assert_eq!(
            env["AIPERF_CLOCK_REFERENCE"].value.as_deref(),
            Some("llama-0.llama:7787")
        );
        let cports = c.ports.as_ref().expect("container ports");
        assert_eq!(cports.len(), 1);
        assert_eq!(cports[0].name.as_deref(), Some("clock"));
        assert_eq!(cports[0].container_port, 7787);
        assert_eq!(cports[0].protocol.as_deref(), Some("UDP"));
        assert!(cports[0].host_port.is_none());
        let secret = env["AIPERF_API_KEY"]
            .value_from
            .as_ref()
            .and_then(|v| v.secret_key_ref.as_ref())
            .expect("api key from a secret");
        assert_eq!(secret.name, "llama-api-key");
        assert_eq!(secret.key, "api-key");
        assert_eq!(secret.optional, Some(true));
        assert!(env["AIPERF_API_KEY"].value.is_none());
        // 20,000 req/s over 4 shards = 5,000 each: 2 cores; 4096/4 = 1024 open: 256 + 64 MiB.
        let req = c
            .resources
            .as_ref()
            .and_then(|r| r.requests.as_ref())
            .expect("requests");
        assert_eq!(req["cpu"].0, "2");
        assert_eq!(req["memory"].0, "512Mi");

        assert_eq!(merge.metadata.name.as_deref(), Some("llama-merge"));
        let mspec = merge.spec.expect("merge spec");
        assert_eq!(mspec.completions, Some(1));
        assert_eq!(mspec.backoff_limit, Some(0));
        assert!(mspec.completion_mode.is_none());
        let mpod = mspec.template.spec.expect("merge pod");
        assert_eq!(mpod.restart_policy.as_deref(), Some("Never"));
        let m = &mpod.containers[0];
        assert_eq!(
            m.command.as_ref().map(|c| c[2].as_str()),
            Some(MERGE_SCRIPT),
            "merge command"
        );
        assert!(m.args.is_none());
        assert!(m.ports.is_none(), "the merge pod listens on nothing");
        let menv = env_of(m);
        assert_eq!(menv["AIPERF_SHARD_COUNT"].value.as_deref(), Some("4"));
        assert!(!menv.contains_key("AIPERF_CLOCK_REFERENCE"));
        assert_eq!(
            menv["AIPERF_RUN_DIR"].value.as_deref(),
            Some("/results/llama-20261207-160000")
        );
        assert_eq!(
            m.volume_mounts.as_ref().map(|v| v[0].mount_path.as_str()),
            Some("/results")
        );
        assert_eq!(
            mpod.volumes.as_ref().and_then(|v| v[0]
                .persistent_volume_claim
                .as_ref()
                .map(|p| p.claim_name.clone())),
            Some("aiperf-results".to_string())
        );
    }

    /// Written again from the parsed objects, every document is unchanged: no field was
    /// dropped as unknown on the way back, so the YAML holds exactly the typed objects.
    #[test]
    fn the_documents_round_trip_unchanged() {
        let yaml = render(&args(&["-m", "m", "-H", "X-Trace: a 'b'"]), "r").expect("renders");
        let docs: Vec<&str> = yaml.split("\n---\n").skip(1).collect();
        let (service, shards, merge) = parse(&yaml);
        let again = [
            serde_saphyr::to_string(&service).expect("service"),
            serde_saphyr::to_string(&shards).expect("job"),
            serde_saphyr::to_string(&merge).expect("merge"),
        ];
        for (doc, again) in docs.iter().zip(&again) {
            assert_eq!(doc.trim_end(), again.trim_end());
        }
    }

    #[test]
    fn the_documents_name_their_kinds() {
        let yaml = render(&args(&["-m", "m"]), "r").expect("renders");
        let kinds: Vec<&str> = yaml
            .lines()
            .filter_map(|l| l.strip_prefix("kind: "))
            .collect();
        assert_eq!(kinds, ["Service", "Job", "Job"]);
        assert_eq!(
            yaml.lines()
                .filter(|l| *l == "apiVersion: batch/v1")
                .count(),
            2
        );
    }

    #[test]
    fn the_scripts_run_the_documented_commands() {
        assert!(SHARD_SCRIPT.contains(
            r#"aiperf profile "$@" --shard "$i/$n" --start-at "$start_at" --clock-reference "$AIPERF_CLOCK_REFERENCE" --artifact-dir "$run/shard-$i""#
        ));
        // `--allow-partial` only once a shard failed.
        assert!(MERGE_SCRIPT.contains(
            "if [ \"$failed\" -ne 0 ]; then\n  \
             echo \"aiperf: $failed shard(s) exited non-zero; merging what was written\" >&2\n  \
             partial=\"--allow-partial\"\nfi\n"
        ));
        assert!(MERGE_SCRIPT.contains(
            r#"exec aiperf kube results "$run" --output "$run/merged" ${partial:+"$partial"}"#
        ));
        assert_eq!(MERGE_SCRIPT.matches("--allow-partial").count(), 1);
        // The containers run them with /bin/sh; bash too must accept them.
        for shell in ["sh", "bash"] {
            for script in [SHARD_SCRIPT, MERGE_SCRIPT] {
                match std::process::Command::new(shell)
                    .arg("-n")
                    .arg("-c")
                    .arg(script)
                    .status()
                {
                    Ok(s) => assert!(s.success(), "{shell} -n rejects:\n{script}"),
                    Err(e) => {
                        eprintln!("note: {shell} not runnable ({e}); script syntax unchecked")
                    }
                }
            }
        }
    }

    /// The shard script run for real by two "pods" against one directory: both agree on the
    /// start instant, and each passes its profile arguments through untouched.
    #[test]
    fn shards_agree_on_one_start_instant() {
        let dir = tempfile::tempdir().expect("tempdir");
        let bin = dir.path().join("bin");
        std::fs::create_dir(&bin).expect("bin dir");
        // A stand-in `aiperf` that records its arguments, one per line.
        let fake = bin.join("aiperf");
        std::fs::write(
            &fake,
            "#!/bin/sh\nfor a in \"$@\"; do printf '%s\\n' \"$a\"; done > \"$AIPERF_RUN_DIR/args-$JOB_COMPLETION_INDEX\"\n",
        )
        .expect("fake aiperf");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        }
        let run = dir.path().join("run");
        let path = format!(
            "{}:{}",
            bin.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        for i in 0..2 {
            let status = std::process::Command::new("sh")
                .arg("-c")
                .arg(SHARD_SCRIPT)
                .arg("aiperf-shard")
                .args(["-m", "a b", "--extra-inputs", "it's"])
                .env("PATH", &path)
                .env("AIPERF_RUN_DIR", &run)
                .env("JOB_COMPLETION_INDEX", i.to_string())
                .env("AIPERF_SHARD_COUNT", "2")
                .env("AIPERF_START_LEAD_SECONDS", "60")
                .env("AIPERF_CLOCK_REFERENCE", "llama-0.llama:7787")
                .status();
            match status {
                Ok(s) => assert!(s.success()),
                Err(e) => {
                    eprintln!("note: sh not runnable ({e}); skipped");
                    return;
                }
            }
        }
        let read = |f: &str| std::fs::read_to_string(run.join(f)).expect(f);
        let start = read(".aiperf/start-at");
        let start = start.trim();
        assert_eq!(start.len(), "2026-12-07T16:00:00Z".len(), "{start}");
        for i in 0..2 {
            let got: Vec<String> = read(&format!("args-{i}"))
                .lines()
                .map(String::from)
                .collect();
            let want: Vec<String> = [
                "profile",
                "-m",
                "a b",
                "--extra-inputs",
                "it's",
                "--shard",
                &format!("{i}/2"),
                "--start-at",
                start,
                "--clock-reference",
                "llama-0.llama:7787",
                "--artifact-dir",
                &format!("{}/shard-{i}", run.display()),
            ]
            .iter()
            .map(|s| s.to_string())
            .collect();
            assert_eq!(got, want);
            assert_eq!(read(&format!(".aiperf/done-{i}")).trim(), "0");
        }
        // A second run into the same directory stops instead of mixing results.
        std::fs::create_dir(run.join("shard-0")).expect("shard dir");
        let again = std::process::Command::new("sh")
            .arg("-c")
            .arg(SHARD_SCRIPT)
            .arg("aiperf-shard")
            .env("PATH", &path)
            .env("AIPERF_RUN_DIR", &run)
            .env("JOB_COMPLETION_INDEX", "0")
            .env("AIPERF_SHARD_COUNT", "2")
            .env("AIPERF_START_LEAD_SECONDS", "60")
            .env("AIPERF_CLOCK_REFERENCE", "llama-0.llama:7787")
            .output()
            .expect("sh ran before");
        assert!(!again.status.success());
        assert!(String::from_utf8_lossy(&again.stderr).contains("already ran"));
    }

    /// The merge script run for real once every shard left its marker with exit code `rcs[i]`:
    /// its standard error and the arguments `aiperf` got, or `None` when sh is missing.
    fn run_merge_script(rcs: &[&str]) -> Option<(String, Vec<String>, String)> {
        let dir = tempfile::tempdir().expect("tempdir");
        let bin = dir.path().join("bin");
        std::fs::create_dir(&bin).expect("bin dir");
        let fake = bin.join("aiperf");
        std::fs::write(
            &fake,
            "#!/bin/sh\nfor a in \"$@\"; do printf '%s\\n' \"$a\"; done > \"$AIPERF_RUN_DIR/merge-args\"\n",
        )
        .expect("fake aiperf");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        }
        let run = dir.path().join("run");
        std::fs::create_dir_all(run.join(".aiperf")).expect("marker dir");
        for (i, rc) in rcs.iter().enumerate() {
            std::fs::write(run.join(format!(".aiperf/done-{i}")), format!("{rc}\n"))
                .expect("marker");
        }
        let path = format!(
            "{}:{}",
            bin.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let out = match std::process::Command::new("sh")
            .arg("-c")
            .arg(MERGE_SCRIPT)
            .arg("aiperf-merge")
            .env("PATH", &path)
            .env("AIPERF_RUN_DIR", &run)
            .env("AIPERF_SHARD_COUNT", rcs.len().to_string())
            .output()
        {
            Ok(o) => o,
            Err(e) => {
                eprintln!("note: sh not runnable ({e}); skipped");
                return None;
            }
        };
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "{stderr}");
        let got = std::fs::read_to_string(run.join("merge-args")).expect("merge ran");
        Some((
            stderr,
            got.lines().map(String::from).collect(),
            run.display().to_string(),
        ))
    }

    /// One shard failed: the merge still runs, over what was written (`--allow-partial`).
    #[test]
    fn the_merge_runs_once_every_shard_is_done() {
        let Some((stderr, got, run)) = run_merge_script(&["0", "3", "0"]) else {
            return;
        };
        assert!(stderr.contains("1 shard(s) exited non-zero"), "{stderr}");
        assert_eq!(
            got,
            [
                "kube",
                "results",
                &run,
                "--output",
                &format!("{run}/merged"),
                "--allow-partial"
            ]
        );
    }

    /// Every shard succeeded: no `--allow-partial`, so a shard that is missing anyway stops the
    /// merge instead of being left out quietly.
    #[test]
    fn a_clean_run_merges_without_allow_partial() {
        let Some((stderr, got, run)) = run_merge_script(&["0", "0", "0"]) else {
            return;
        };
        assert!(!stderr.contains("non-zero"), "{stderr}");
        assert_eq!(
            got,
            [
                "kube",
                "results",
                &run,
                "--output",
                &format!("{run}/merged")
            ]
        );
    }

    #[test]
    fn conflicting_and_secret_arguments_are_refused() {
        for (profile, needle) in [
            (
                vec!["--artifact-dir", "x"],
                "--artifact-dir cannot be given",
            ),
            (
                vec!["--output-artifact-dir=x"],
                "--output-artifact-dir cannot be given",
            ),
            (vec!["--shard", "1/2"], "--shard cannot be given"),
            (
                vec!["--start-at=2026-01-01T00:00:00Z"],
                "--start-at cannot be given",
            ),
            (
                vec!["--clock-reference", "h:7787"],
                "--clock-reference cannot be given",
            ),
            (vec!["profile", "-m", "x"], "without `aiperf profile`"),
            (
                vec!["--api-key", "sk-SECRET"],
                "`--api-key <redacted>` holds a secret",
            ),
            (vec!["--api-key=sk-SECRET"], "holds a secret"),
            (
                vec!["-H", "Authorization: Bearer sk-SECRET"],
                "holds a secret",
            ),
            (vec!["--url", "http://u:sk-SECRET@h:8000"], "holds a secret"),
        ] {
            let err = render(&args(&profile), "r").expect_err("refused");
            assert!(err.contains(needle), "{profile:?}: {err}");
            assert!(!err.contains("sk-SECRET"), "the secret leaks: {err}");
            assert!(!err.contains('\n'), "one line: {err}");
        }
        let err = render(&args(&["--api-key", "k"]), "r").expect_err("refused");
        assert!(
            err.contains("kubectl create secret generic llama-api-key"),
            "{err}"
        );
        // A non-secret header is fine.
        assert!(render(&args(&["-H", "X-Trace: 1"]), "r").is_ok());
    }

    #[test]
    fn names_must_be_dns_labels() {
        let mut a = args(&["-m", "x"]);
        a.name = "Llama_3".to_string();
        assert!(render(&a, "r").expect_err("bad").contains("--name"));
        a.name = "x".repeat(58);
        assert!(render(&a, "r").expect_err("long").contains("too long"));
        a.name = "ok".to_string();
        a.namespace = "a.b".to_string();
        assert!(render(&a, "r").expect_err("ns").contains("--namespace"));
        a.namespace = "default".to_string();
        a.results_pvc = "Results".to_string();
        assert!(render(&a, "r").expect_err("pvc").contains("--results-pvc"));
        a.results_pvc = "my.results-1".to_string();
        assert!(render(&a, "r").is_ok());
    }

    #[test]
    fn sizing_follows_the_plan() {
        let p = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            Sizing::from_plan(&p(&["-m", "x"]), 8),
            Sizing {
                cpu: 1,
                memory_mib: 512
            }
        );
        assert_eq!(
            Sizing::from_plan(&p(&["--request-rate=100000", "--concurrency", "80000"]), 8),
            Sizing {
                cpu: 4,
                memory_mib: 256 + 625
            }
        );
        // A sweep is sized for its largest value; junk is left to `aiperf profile`.
        assert_eq!(
            Sizing::from_plan(
                &p(&["--request-rate", "10,50000", "--concurrency", "many"]),
                2
            ),
            Sizing {
                cpu: 7,
                memory_mib: 512
            }
        );
    }
}
