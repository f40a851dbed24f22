//! `aiperf slurm generate`: an sbatch script that runs one benchmark as N `srun` ranks on the
//! shared filesystem and merges them as its last step. Rank 0 is the other ranks' clock
//! reference (`--clock-reference <first node>:7787`), so the merge can correct their times.

use std::process::ExitCode;

use aiperf_config::resolve::shell_quote;
use aiperf_config::SlurmGenerateArgs;

use super::kube::{check_profile_args, write_output, Engine, Sizing, CLOCK_PORT};

/// Seconds between computing the start instant and that instant: room for `srun` to launch
/// every rank (overridable with `AIPERF_START_LEAD_SECONDS` at `sbatch` time).
const START_LEAD_SECONDS: u32 = 60;

/// What each rank runs: `$1` the start instant, `$2` the run directory, `$3` the clock reference
/// (`HOST:PORT` of rank 0), the rest the profile arguments. Single-quoted in the script so
/// `$SLURM_PROCID` expands in the rank, not in the batch step.
const RANK_SCRIPT: &str = r#"start_at=$1 run_dir=$2 clock_ref=$3; shift 3; exec aiperf profile "$@" --shard "$SLURM_PROCID/$SLURM_NTASKS" --start-at "$start_at" --clock-reference "$clock_ref" --artifact-dir "$run_dir/shard-$SLURM_PROCID""#;

/// Prints (or writes to `--output`) the sbatch script of a sharded run.
pub fn generate(args: &SlurmGenerateArgs) -> ExitCode {
    match render(args) {
        Ok(script) => write_output("aiperf slurm generate", args.output.as_deref(), &script),
        Err(e) => {
            eprintln!("aiperf slurm generate: {e}");
            ExitCode::from(1)
        }
    }
}

/// The sbatch script for `args`.
pub(crate) fn render(args: &SlurmGenerateArgs) -> Result<String, String> {
    let name_ok = !args.name.is_empty()
        && args
            .name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
    if !name_ok {
        return Err(format!(
            "--name {:?} must be letters, digits, '.', '_' and '-'",
            args.name
        ));
    }
    let results_dir = args
        .results_dir
        .to_str()
        .filter(|d| !d.is_empty())
        .ok_or_else(|| {
            format!(
                "--results-dir {:?} must be a non-empty UTF-8 path",
                args.results_dir
            )
        })?;
    check_profile_args(&args.profile, Engine::Slurm)?;
    let size = Sizing::from_plan(&args.profile, args.shards);
    let profile_args = args
        .profile
        .iter()
        .map(|a| format!("  {}\n", shell_quote(a)))
        .collect::<String>();
    Ok(format!(
        r#"#!/bin/bash
#SBATCH --job-name={name}
#SBATCH --ntasks={shards}
#SBATCH --cpus-per-task={cpus}
#SBATCH --mem-per-cpu={mem_per_cpu}M
#SBATCH --output=%x-%j.out
# aiperf slurm generate: {shards} shards of one benchmark as srun ranks, merged at the end.
# Resources per rank are sized from the plan (docs/distributed.md). An API key goes in the
# environment, never in this file: `export AIPERF_API_KEY=...` before `sbatch`.
set -euo pipefail

results_dir={results_dir}
# One directory per job: two runs never share shard directories.
run_dir="$results_dir/$SLURM_JOB_NAME-$SLURM_JOB_ID"
mkdir -p "$run_dir"

# One start instant for every rank, computed once here and passed to each.
start_lead_seconds="${{AIPERF_START_LEAD_SECONDS:-{lead}}}"
start_at=$(date -u -d "@$(( $(date +%s) + start_lead_seconds ))" +%Y-%m-%dT%H:%M:%SZ)
echo "aiperf: {shards} shards start at $start_at, results in $run_dir"

# Rank 0 runs on the allocation's first node (srun's block distribution) and answers the other
# ranks' clock probes on UDP {clock_port}; they measure their offsets to it before the start.
# (`sed -n 1p` rather than `head -n1`: it reads every name, so a long node list cannot end
# scontrol with SIGPIPE, which pipefail would turn into a failed job.)
clock_host=$(scontrol show hostnames "$SLURM_JOB_NODELIST" | sed -n 1p)
if [ -z "$clock_host" ]; then
  echo "aiperf: cannot name the first node of SLURM_JOB_NODELIST=$SLURM_JOB_NODELIST" >&2
  exit 1
fi
clock_ref="$clock_host:{clock_port}"

profile_args=(
{profile_args})

# A failed rank does not stop the others; the merge then runs with --allow-partial and reports
# what is missing. The rank command is in single quotes so that $SLURM_PROCID expands in each
# rank, not here.
set +e
# shellcheck disable=SC2016
srun --ntasks="$SLURM_NTASKS" --kill-on-bad-exit=0 --export=ALL \
  bash -c '{rank}' \
  aiperf-shard "$start_at" "$run_dir" "$clock_ref" "${{profile_args[@]}}"
srun_rc=$?
set -e
# Without --allow-partial the merge refuses a missing or failed shard: only after a failed srun.
partial=""
if [ "$srun_rc" -ne 0 ]; then
  echo "aiperf: some shards failed (srun exit $srun_rc); merging what was written" >&2
  partial="--allow-partial"
fi

aiperf merge "$run_dir"/shard-* --output "$run_dir/merged" ${{partial:+"$partial"}}
echo "aiperf: merged results in $run_dir/merged"
exit "$srun_rc"
"#,
        name = args.name,
        shards = args.shards,
        cpus = size.cpu,
        // `--mem-per-cpu` because `--mem` is per node, and ranks share nodes.
        mem_per_cpu = size.memory_mib.div_ceil(size.cpu.max(1)),
        results_dir = shell_quote(results_dir),
        lead = START_LEAD_SECONDS,
        clock_port = CLOCK_PORT,
        profile_args = profile_args,
        rank = RANK_SCRIPT,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;
    use std::process::Command;

    fn args(profile: &[&str]) -> SlurmGenerateArgs {
        SlurmGenerateArgs {
            shards: 8,
            results_dir: PathBuf::from("/shared/aiperf results"),
            name: "llama".to_string(),
            output: None,
            profile: profile.iter().map(|s| s.to_string()).collect(),
        }
    }

    /// `bash -n` on the script; `None` (with a note) when bash is missing.
    fn bash_syntax_ok(script: &str) -> Option<bool> {
        match Command::new("bash")
            .arg("-n")
            .arg("-c")
            .arg(script)
            .output()
        {
            Ok(o) => {
                if !o.status.success() {
                    eprintln!("{}", String::from_utf8_lossy(&o.stderr));
                }
                Some(o.status.success())
            }
            Err(e) => {
                eprintln!("note: bash not runnable ({e}); syntax unchecked");
                None
            }
        }
    }

    #[test]
    fn the_script_is_valid_bash_with_the_expected_steps() {
        let profile = [
            "-m",
            "llama 3",
            "--extra-inputs",
            "stop:\"it's\"",
            "--request-rate",
            "40000",
        ];
        let s = render(&args(&profile)).expect("renders");
        assert_ne!(bash_syntax_ok(&s), Some(false), "{s}");
        let lines: Vec<&str> = s.lines().collect();
        assert_eq!(lines[0], "#!/bin/bash");
        assert!(lines.contains(&"#SBATCH --job-name=llama"));
        assert!(lines.contains(&"#SBATCH --ntasks=8"));
        // 40,000 req/s over 8 ranks = 5,000 each: 2 cores; 512 MiB over them.
        assert!(lines.contains(&"#SBATCH --cpus-per-task=2"));
        assert!(lines.contains(&"#SBATCH --mem-per-cpu=256M"));
        assert!(lines.contains(&"#SBATCH --output=%x-%j.out"));
        assert!(lines.contains(&"results_dir='/shared/aiperf results'"));
        assert!(lines.contains(&"  'llama 3'"));
        assert!(lines.contains(&r#"  'stop:"it'\''s"'"#));
        let start = lines
            .iter()
            .position(|l| l.starts_with("start_at="))
            .expect("start_at");
        let srun = lines
            .iter()
            .position(|l| l.starts_with("srun "))
            .expect("srun");
        let merge = lines
            .iter()
            .position(|l| l.starts_with("aiperf merge "))
            .expect("merge");
        let clock = lines
            .iter()
            .position(|l| l.starts_with("clock_ref="))
            .expect("clock_ref");
        assert!(start < srun && srun < merge, "start, then srun, then merge");
        assert!(clock < srun, "the clock reference is known before srun");
        assert_eq!(s.matches("start_at=$(date").count(), 1, "computed once");
        assert!(lines.contains(
            &r#"clock_host=$(scontrol show hostnames "$SLURM_JOB_NODELIST" | sed -n 1p)"#
        ));
        assert_eq!(lines[clock], r#"clock_ref="$clock_host:7787""#);
        // `--allow-partial` only after a failed srun.
        assert!(s.contains(
            "partial=\"\"\nif [ \"$srun_rc\" -ne 0 ]; then\n  \
             echo \"aiperf: some shards failed (srun exit $srun_rc); merging what was written\" >&2\n  \
             partial=\"--allow-partial\"\nfi\n"
        ));
        assert_eq!(
            lines
                .iter()
                .filter(|l| !l.starts_with('#') && l.contains("--allow-partial"))
                .count(),
            1,
            "set in one place only: {s}"
        );
        assert_eq!(
            lines[merge],
            r#"aiperf merge "$run_dir"/shard-* --output "$run_dir/merged" ${partial:+"$partial"}"#
        );
        assert!(s.contains(&format!("bash -c '{RANK_SCRIPT}'")));
        assert!(s.contains(
            r#"  aiperf-shard "$start_at" "$run_dir" "$clock_ref" "${profile_args[@]}""#
        ));
        assert!(RANK_SCRIPT.starts_with("start_at=$1 run_dir=$2 clock_ref=$3; shift 3; "));
        assert!(RANK_SCRIPT.contains(r#" --clock-reference "$clock_ref" "#));
        assert_ne!(bash_syntax_ok(RANK_SCRIPT), Some(false), "{RANK_SCRIPT}");
        assert!(
            !RANK_SCRIPT.contains('\''),
            "the rank script sits in single quotes"
        );
    }

    /// What one run of the script left behind.
    struct Ran {
        /// The run directory (`<results>/llama-42`).
        run: PathBuf,
        /// Each rank's `aiperf` arguments, by rank.
        ranks: Vec<Vec<String>>,
        /// The merge's `aiperf` arguments.
        merge: Vec<String>,
        stderr: String,
        code: Option<i32>,
        _dir: tempfile::TempDir,
    }

    /// The script run for real with stand-ins for `srun` (runs each rank in turn with its
    /// SLURM_PROCID, failing when any rank failed), `scontrol`, `aiperf` (records its arguments;
    /// the profile of rank `fail_rank` exits 3) and the Slurm environment. `None` (with a note)
    /// when bash is missing.
    fn run_script(profile: &[&str], shards: u32, fail_rank: Option<u32>) -> Option<Ran> {
        let mut a = args(profile);
        a.shards = shards;
        let dir = tempfile::tempdir().expect("tempdir");
        a.results_dir = dir.path().join("res ults");
        let script = render(&a).expect("renders");
        let bin = dir.path().join("bin");
        std::fs::create_dir(&bin).expect("bin");
        let write_exe = |name: &str, body: &str| {
            let p = bin.join(name);
            std::fs::write(&p, body).expect("write stub");
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755))
                    .expect("chmod");
            }
        };
        // srun: drop its own options, run the command once per rank.
        write_exe(
            "srun",
            "#!/bin/bash\nwhile [[ $1 == --* ]]; do shift; done\nrc=0\nfor ((r = 0; r < SLURM_NTASKS; r++)); do SLURM_PROCID=$r \"$@\" || rc=1; done\nexit $rc\n",
        );
        // scontrol: expands the one node list the test sets.
        write_exe(
            "scontrol",
            "#!/bin/bash\n[ \"$*\" = 'show hostnames gpu[07-09]' ] || exit 2\nprintf '%s\\n' gpu07 gpu08 gpu09\n",
        );
        write_exe(
            "aiperf",
            "#!/bin/bash\nif [ \"$1\" = profile ]; then out=\"${@: -1}\"; mkdir -p \"$out\"; printf '%s\\n' \"$@\" > \"$out/args\"; [ \"$SLURM_PROCID\" != \"$AIPERF_TEST_FAIL_RANK\" ] || exit 3; else printf '%s\\n' \"$@\" > \"$AIPERF_TEST_DIR/merge-args\"; fi\n",
        );
        let path = format!(
            "{}:{}",
            bin.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let out = match Command::new("bash")
            .arg("-c")
            .arg(&script)
            .env("PATH", &path)
            .env("SLURM_JOB_NAME", "llama")
            .env("SLURM_JOB_ID", "42")
            .env("SLURM_NTASKS", shards.to_string())
            .env("SLURM_JOB_NODELIST", "gpu[07-09]")
            .env("AIPERF_TEST_DIR", dir.path())
            .env(
                "AIPERF_TEST_FAIL_RANK",
                fail_rank.map_or("none".to_string(), |r| r.to_string()),
            )
            .output()
        {
            Ok(o) => o,
            Err(e) => {
                eprintln!("note: bash not runnable ({e}); skipped");
                return None;
            }
        };
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        let run = a.results_dir.join("llama-42");
        let lines = |p: PathBuf| -> Vec<String> {
            std::fs::read_to_string(&p)
                .unwrap_or_else(|e| panic!("{}: {e}\n{stderr}", p.display()))
                .lines()
                .map(String::from)
                .collect()
        };
        let ranks = (0..shards)
            .map(|r| lines(run.join(format!("shard-{r}/args"))))
            .collect();
        let merge = lines(dir.path().join("merge-args"));
        Some(Ran {
            run,
            ranks,
            merge,
            stderr,
            code: out.status.code(),
            _dir: dir,
        })
    }

    #[test]
    fn every_rank_gets_the_same_instant_and_its_own_index() {
        let profile = [
            "-m",
            "a b",
            "--extra-inputs",
            "it's $HOME",
            "--concurrency",
            "2",
        ];
        let Some(ran) = run_script(&profile, 3, None) else {
            return;
        };
        assert_eq!(ran.code, Some(0), "{}", ran.stderr);
        let run = &ran.run;
        let mut starts = Vec::new();
        for (r, got) in ran.ranks.iter().enumerate() {
            assert_eq!(
                &got[..7],
                &[
                    "profile",
                    "-m",
                    "a b",
                    "--extra-inputs",
                    "it's $HOME",
                    "--concurrency",
                    "2"
                ]
            );
            assert_eq!(got[7], "--shard");
            assert_eq!(got[8], format!("{r}/3"));
            assert_eq!(got[9], "--start-at");
            starts.push(got[10].to_string());
            // Every rank, rank 0 included, names the first node of the allocation.
            assert_eq!(got[11], "--clock-reference");
            assert_eq!(got[12], "gpu07:7787");
            assert_eq!(got[13], "--artifact-dir");
            assert_eq!(
                got[14],
                run.join(format!("shard-{r}")).display().to_string()
            );
            assert_eq!(got.len(), 15);
        }
        assert!(starts.iter().all(|s| *s == starts[0]), "{starts:?}");
        let shard = |r: u32| run.join(format!("shard-{r}")).display().to_string();
        // A clean run merges without --allow-partial: a shard missing anyway stops the merge.
        assert_eq!(
            ran.merge,
            [
                "merge".to_string(),
                shard(0),
                shard(1),
                shard(2),
                "--output".to_string(),
                run.join("merged").display().to_string()
            ]
        );
    }

    /// A failed rank: the others still run, the merge takes what was written
    /// (`--allow-partial`) and the job exits with srun's failure.
    #[test]
    fn a_failed_rank_merges_the_rest_with_allow_partial() {
        let Some(ran) = run_script(&["-m", "x"], 3, Some(1)) else {
            return;
        };
        assert_eq!(ran.code, Some(1), "{}", ran.stderr);
        assert!(
            ran.stderr.contains("some shards failed (srun exit 1)"),
            "{}",
            ran.stderr
        );
        assert_eq!(ran.ranks.len(), 3, "the other ranks ran");
        let run = &ran.run;
        let shard = |r: u32| run.join(format!("shard-{r}")).display().to_string();
        assert_eq!(
            ran.merge,
            [
                "merge".to_string(),
                shard(0),
                shard(1),
                shard(2),
                "--output".to_string(),
                run.join("merged").display().to_string(),
                "--allow-partial".to_string()
            ]
        );
    }

    #[test]
    fn secrets_and_conflicts_are_refused() {
        for profile in [
            vec!["--api-key", "sk-SECRET"],
            vec!["-H", "Authorization: Bearer sk-SECRET"],
            vec!["--header=X-Api-Key:sk-SECRET"],
        ] {
            let err = render(&args(&profile)).expect_err("refused");
            assert!(err.contains("holds a secret"), "{err}");
            assert!(err.contains("export AIPERF_API_KEY"), "{err}");
            assert!(!err.contains("sk-SECRET"), "{err}");
        }
        let err = render(&args(&["--artifact-dir", "x"])).expect_err("refused");
        assert!(err.contains("--artifact-dir cannot be given"), "{err}");
        let err = render(&args(&["--clock-reference=h:1"])).expect_err("refused");
        assert!(err.contains("--clock-reference cannot be given"), "{err}");
        let mut a = args(&["-m", "x"]);
        a.name = "my job".to_string();
        assert!(render(&a).expect_err("name").contains("--name"));
    }

    #[test]
    fn quoting_round_trips_through_bash() {
        for arg in [
            "plain", "a b", "it's", "\"q\"", "$HOME", "a\nb", "", "*", "x;y",
        ] {
            let q = shell_quote(arg);
            let out = Command::new("bash")
                .arg("-c")
                .arg(format!("printf '%s' {q}"))
                .output();
            match out {
                Ok(o) => assert_eq!(String::from_utf8_lossy(&o.stdout), arg, "{q}"),
                Err(e) => {
                    eprintln!("note: bash not runnable ({e}); skipped");
                    return;
                }
            }
        }
    }
}
