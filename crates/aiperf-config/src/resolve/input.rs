//! The "Input" group: the dataset file or public dataset, how entries are sampled, and what
//! every request carries besides its prompt (headers, extra body fields).

use std::path::PathBuf;

use aiperf_dataset::SamplingStrategy;
use aiperf_endpoints::BodyOptions;
use aiperf_plugins::Registry;
use http::{HeaderName, HeaderValue};
use serde_json::{Map, Value};

use super::redact::{is_sensitive_header, redact_header_text};
use super::{invalid, ConfigError};
use crate::cli::ProfileArgs;

/// `--public-dataset` with its `--hf-subset` and `--dataset-filter`: downloaded from the Hub when
/// the dataset is prepared (`aiperf_dataset::public`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicDatasetChoice {
    /// A name of `aiperf_dataset::public::CATALOG` that this build reads.
    pub name: String,
    /// `--hf-subset`: the dataset config instead of the catalogue's default.
    pub subset: Option<String>,
    /// `--dataset-filter key=value` (Exgentic: harness, source_model, benchmark).
    pub exgentic_filters: aiperf_dataset::loader::weka::exgentic::Filters,
    /// `--hf-weka-dataset`: the repo `weka_hf` reads.
    pub weka_repo: Option<String>,
}

/// `--dataset-sampling-strategy`: the registry entry chosen and the built-in strategy it names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatasetSampling {
    /// The entry name, as `input_config` reports it.
    pub name: String,
    pub strategy: SamplingStrategy,
}

/// The "Input" flags, checked (`--extra-inputs` goes to [`body_options`]).
#[derive(Debug, Clone)]
pub(super) struct Input {
    pub headers: Vec<(HeaderName, HeaderValue)>,
    pub random_seed: Option<u64>,
    pub sampling: DatasetSampling,
    pub input_file: Option<PathBuf>,
    pub custom_dataset_type: Option<String>,
    pub public_dataset: Option<PublicDatasetChoice>,
}

pub(super) fn resolve(
    args: &ProfileArgs,
    registry: &Registry,
    notices: &mut Vec<String>,
) -> Result<Input, ConfigError> {
    if let Some(s) = &args.dataset_sampling_strategy {
        registry
            .get("dataset_sampler", s)
            .map_err(|e| invalid("--dataset-sampling-strategy", e.to_string()))?;
    }
    let public_dataset = public_dataset(args)?;
    let (input_file, custom_dataset_type) = dataset_file(args, registry, notices)?;
    let from_dataset = input_file.is_some() || public_dataset.is_some();
    let sampling = sampling(args, registry, from_dataset, custom_dataset_type.as_deref())?;
    let headers = args
        .header
        .iter()
        .map(|h| parse_header(h))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Input {
        headers,
        random_seed: args.random_seed,
        sampling,
        input_file,
        custom_dataset_type,
        public_dataset: public_dataset.filter(|_| args.input_file.is_none()),
    })
}

/// `--use-think-time-only`, `--max-context-length`, `--allow-dataset-wrap`: read by the
/// agent-graph formats.
pub(super) fn agentic(args: &ProfileArgs) -> aiperf_dataset::agentic::AgenticOptions {
    aiperf_dataset::agentic::AgenticOptions {
        use_think_time_only: args.use_think_time_only,
        max_context_length: args.max_context_length,
        allow_dataset_wrap: args.allow_dataset_wrap && !args.no_allow_dataset_wrap,
    }
}

/// `--public-dataset`, `--hf-subset`, `--hf-weka-dataset`, `--dataset-filter`: a name this build
/// reads, else the reason it does not.
fn public_dataset(args: &ProfileArgs) -> Result<Option<PublicDatasetChoice>, ConfigError> {
    use aiperf_dataset::public::{self, Shape};
    for f in &args.dataset_filter {
        if !f.contains('=') || f.starts_with('=') {
            return Err(invalid(
                "--dataset-filter",
                format!("'{f}' is not in key=value form"),
            ));
        }
    }
    let Some(name) = &args.public_dataset else {
        if args.hf_subset.is_some() {
            return Err(invalid("--hf-subset", "requires --public-dataset"));
        }
        if !args.dataset_filter.is_empty() {
            return Err(invalid("--dataset-filter", "requires --public-dataset"));
        }
        if args.hf_weka_dataset.is_some() {
            return Err(invalid(
                "--hf-weka-dataset",
                "requires --public-dataset weka_hf",
            ));
        }
        return Ok(None);
    };
    let Some(ds) = public::find(name) else {
        return Err(invalid(
            "--public-dataset",
            format!(
                "'{name}' is not a public dataset (this build reads: {})",
                public::supported_names()
            ),
        ));
    };
    if let Shape::Unsupported(reason) = ds.shape {
        return Err(invalid(
            "--public-dataset",
            format!("'{name}' is not available in this build: {reason}"),
        ));
    }
    // As AIPerf: only loaders that declare filters take them (Exgentic's).
    let exgentic_filters = match ds.shape {
        Shape::Exgentic(version) => exgentic_filters(&args.dataset_filter, version)?,
        _ if !args.dataset_filter.is_empty() => {
            return Err(invalid(
                "--dataset-filter",
                format!("public dataset '{name}' does not support --dataset-filter"),
            ))
        }
        _ => Default::default(),
    };
    match (name.as_str(), &args.hf_weka_dataset) {
        ("weka_hf", None) => {
            return Err(invalid(
                "--public-dataset",
                "weka_hf reads the Hub repo --hf-weka-dataset names; give it",
            ))
        }
        ("weka_hf", Some(_)) | (_, None) => {}
        (_, Some(_)) => {
            return Err(invalid(
                "--hf-weka-dataset",
                "requires --public-dataset weka_hf",
            ))
        }
    }
    if ds.shape == Shape::ShareGpt && args.hf_subset.is_some() {
        return Err(invalid(
            "--hf-subset",
            "sharegpt is one JSON file and has no subsets",
        ));
    }
    Ok(Some(PublicDatasetChoice {
        name: name.clone(),
        subset: args.hf_subset.clone(),
        exgentic_filters,
        weka_repo: args.hf_weka_dataset.clone(),
    }))
}

/// `--dataset-filter` for an Exgentic dataset, checked as AIPerf checks it.
fn exgentic_filters(
    given: &[String],
    version: aiperf_dataset::loader::weka::exgentic::Version,
) -> Result<aiperf_dataset::loader::weka::exgentic::Filters, ConfigError> {
    let mut f = aiperf_dataset::loader::weka::exgentic::Filters::default();
    for item in given {
        let (k, v) = item.split_once('=').unwrap_or((item, ""));
        let slot = match k.trim() {
            "harness" => &mut f.harness,
            "source_model" => &mut f.source_model,
            "benchmark" => &mut f.benchmark,
            other => {
                return Err(invalid(
                    "--dataset-filter",
                    format!("unknown Exgentic filter '{other}' (harness, source_model, benchmark)"),
                ))
            }
        };
        *slot = Some(v.trim().to_string());
    }
    f.validate(version)
        .map_err(|e| invalid("--dataset-filter", e))?;
    Ok(f)
}

/// The request-body options: `--extra-inputs` and the Endpoint group's body flags. A flag that
/// changes request bodies is one line here.
pub(super) fn body_options(
    args: &ProfileArgs,
    streaming: bool,
    warnings: &mut Vec<String>,
) -> Result<BodyOptions, ConfigError> {
    let extra_inputs = parse_extra_inputs(&args.extra_inputs)?;
    if args.per_chunk_usage && !streaming {
        warnings.push("--per-chunk-usage has no effect without --streaming".to_string());
    }
    Ok(BodyOptions {
        streaming,
        use_legacy_max_tokens: args.use_legacy_max_tokens,
        per_chunk_usage: args.per_chunk_usage,
        extra_inputs,
    })
}

/// The format of `file` when `--custom-dataset-type` is not given: the one registered loader
/// whose format test accepts the file's first record (AIPerf's inference).
fn detect_format(file: &std::path::Path, registry: &Registry) -> Result<String, ConfigError> {
    let entries = registry.iter("custom_dataset_loader");
    let candidates: Vec<(&str, &str)> = entries
        .iter()
        .map(|e| (e.name.as_str(), e.implementation.as_str()))
        .collect();
    aiperf_dataset::loader::detect(file, &candidates)
        .map(str::to_string)
        .map_err(|e| invalid("--input-file", e.to_string()))
}

/// `--input-file` (or the ShareGPT file `--public-dataset` names) and its loader entry, given
/// or detected; the file must exist.
fn dataset_file(
    args: &ProfileArgs,
    registry: &Registry,
    notices: &mut Vec<String>,
) -> Result<(Option<PathBuf>, Option<String>), ConfigError> {
    let input_file = args.input_file.clone();
    let mut custom_dataset_type = args.custom_dataset_type.clone();
    if args.public_dataset.is_some() {
        if custom_dataset_type.is_some() {
            return Err(invalid(
                "--public-dataset",
                "cannot be combined with --custom-dataset-type",
            ));
        }
        // A public dataset's own file given with --input-file is read as that dataset (only
        // ShareGPT is one file); otherwise the engine downloads it.
        if input_file.is_none() {
            return Ok((None, None));
        }
        if args.public_dataset.as_deref() != Some("sharegpt") {
            return Err(invalid(
                "--input-file",
                "with --public-dataset only for sharegpt (its JSON file); other public datasets come from the Hub",
            ));
        }
        custom_dataset_type = Some("sharegpt".into());
    }
    let kind = match (&input_file, custom_dataset_type) {
        (None, Some(_)) => return Err(invalid("--custom-dataset-type", "requires --input-file")),
        (None, None) => None,
        (Some(f), t) => {
            if !f.exists() {
                return Err(invalid(
                    "--input-file",
                    format!("'{}' is not a valid file or directory", f.display()),
                ));
            }
            let t = match t {
                Some(t) => {
                    registry
                        .get("custom_dataset_loader", &t)
                        .map_err(|e| invalid("--custom-dataset-type", e.to_string()))?;
                    t
                }
                None => {
                    let t = detect_format(f, registry)?;
                    notices.push(format!(
                        "Auto-detected dataset type: {t} (from '{}'; --custom-dataset-type overrides)",
                        f.display()
                    ));
                    t
                }
            };
            Some(t)
        }
    };
    Ok((input_file, kind))
}

/// Flags (clap ids) that only shape synthetic data, so a dataset file makes them no-ops.
const SYNTHETIC_ONLY: [&str; 37] = [
    "isl_mean",
    "isl_stddev",
    "prompt_batch_size",
    "num_dataset_entries",
    "turn_mean",
    "turn_stddev",
    "turn_delay_mean",
    "turn_delay_stddev",
    "turn_delay_ratio",
    "prefix_pool_size",
    "prefix_length",
    "image_width_mean",
    "image_width_stddev",
    "image_height_mean",
    "image_height_stddev",
    "image_batch_size",
    "image_format",
    "audio_length_mean",
    "audio_length_stddev",
    "audio_batch_size",
    "audio_format",
    "video_width",
    "video_height",
    "video_batch_size",
    "video_duration",
    "video_fps",
    "video_synth_type",
    "image_source",
    "image_source_sampling",
    "seq_dist",
    "random_range_ratio",
    "rankings_passages_mean",
    "rankings_passages_stddev",
    "rankings_passages_prompt_token_mean",
    "rankings_passages_prompt_token_stddev",
    "rankings_query_prompt_token_mean",
    "rankings_query_prompt_token_stddev",
];

/// One warning naming every synthetic-data flag the user typed (as typed: `--isl`, not its
/// canonical name) that a dataset (`source`: the flag that chose it) makes a no-op; `None`
/// when there is none.
/// `argv` is the whole command line; flags left at their defaults are not named.
pub(super) fn ignored_synthetic_flags(argv: &[String], source: &str) -> Option<String> {
    use clap::CommandFactory;
    let cli = crate::cli::Cli::command();
    let matches = cli.clone().try_get_matches_from(argv).ok()?;
    let (_, profile_matches) = matches.subcommand()?;
    let profile = cli.find_subcommand("profile")?;
    let typed: Vec<String> = SYNTHETIC_ONLY
        .iter()
        .filter(|id| {
            profile_matches.value_source(id) == Some(clap::parser::ValueSource::CommandLine)
        })
        .filter_map(|id| {
            let arg = profile.get_arguments().find(|a| a.get_id() == *id)?;
            let longs: Vec<&str> = arg
                .get_long()
                .into_iter()
                .chain(arg.get_all_aliases().unwrap_or_default())
                .collect();
            let shorts: Vec<String> = arg
                .get_short()
                .into_iter()
                .chain(arg.get_all_short_aliases().unwrap_or_default())
                .map(|c| format!("-{c}"))
                .collect();
            let as_typed = argv.iter().find_map(|a| {
                let name = a.split('=').next().unwrap_or(a);
                let long = name.strip_prefix("--").filter(|n| longs.contains(n));
                long.map(|n| format!("--{n}"))
                    .or_else(|| shorts.iter().find(|s| a.starts_with(s.as_str())).cloned())
            });
            Some(as_typed.unwrap_or_else(|| format!("--{}", arg.get_long().unwrap_or(id))))
        })
        .collect();
    if typed.is_empty() {
        return None;
    }
    let (verb, pronoun) = if typed.len() == 1 {
        ("shapes", "it is")
    } else {
        ("shape", "they are")
    };
    Some(format!(
        "{} {verb} synthetic data only: {pronoun} ignored with {source}",
        typed.join(", ")
    ))
}

/// The sampler entry resolved to its built-in strategy. Without the flag, as AIPerf: the file
/// format's preferred sampler (its loader's `preferred_sampling`: shuffle for `random_pool`,
/// random for `dag_jsonl`), else sequential for files and shuffle for synthetic data.
fn sampling(
    args: &ProfileArgs,
    registry: &Registry,
    from_file: bool,
    format: Option<&str>,
) -> Result<DatasetSampling, ConfigError> {
    let preferred = format
        .and_then(|f| {
            registry
                .typed_metadata::<aiperf_plugins::DatasetLoaderMetadata>("custom_dataset_loader", f)
                .ok()
        })
        .and_then(|m| m.preferred_sampling);
    let name = args.dataset_sampling_strategy.clone().unwrap_or_else(|| {
        preferred.unwrap_or_else(|| if from_file { "sequential" } else { "shuffle" }.into())
    });
    let entry = registry
        .get("dataset_sampler", &name)
        .map_err(|e| invalid("--dataset-sampling-strategy", e.to_string()))?;
    let strategy =
        SamplingStrategy::from_implementation(&entry.implementation).ok_or_else(|| {
            invalid(
                "--dataset-sampling-strategy",
                format!("sampler '{name}' has no implementation in this build"),
            )
        })?;
    Ok(DatasetSampling { name, strategy })
}

/// AIPerf's `--extra-inputs`: `key:value` items with values coerced (int, float, bool, JSON
/// array/object, else string), or one whole-argument JSON object.
pub fn parse_extra_inputs(items: &[String]) -> Result<Map<String, Value>, ConfigError> {
    let mut out = Map::new();
    for item in items {
        let trimmed = item.trim();
        if trimmed.starts_with('{') {
            match serde_json::from_str::<Value>(trimmed) {
                Ok(Value::Object(obj)) => {
                    out.extend(obj);
                    continue;
                }
                _ => {
                    return Err(invalid(
                        "--extra-inputs",
                        format!("'{item}' is not a valid JSON object"),
                    ))
                }
            }
        }
        let Some((key, value)) = trimmed.split_once(':') else {
            return Err(invalid(
                "--extra-inputs",
                format!("'{item}': expected key:value or a JSON object"),
            ));
        };
        let key = key.trim();
        if key.is_empty() {
            return Err(invalid("--extra-inputs", format!("'{item}': empty key")));
        }
        out.insert(key.to_string(), coerce(value.trim()));
    }
    Ok(out)
}

fn coerce(v: &str) -> Value {
    if let Ok(i) = v.parse::<i64>() {
        return Value::from(i);
    }
    if let Ok(f) = v.parse::<f64>() {
        if f.is_finite() {
            return Value::from(f);
        }
    }
    match v.to_ascii_lowercase().as_str() {
        "true" => return Value::Bool(true),
        "false" => return Value::Bool(false),
        _ => {}
    }
    if v.starts_with('[') {
        if let Ok(arr @ Value::Array(_)) = serde_json::from_str::<Value>(v) {
            return arr;
        }
    }
    Value::String(v.to_string())
}

/// One `--header Name:Value`, parsed once; a credential's value is marked sensitive so it never
/// shows in `Debug` output or logs.
fn parse_header(h: &str) -> Result<(HeaderName, HeaderValue), ConfigError> {
    let (name, value) = match h.split_once(':') {
        Some((name, value)) if !name.trim().is_empty() && !name.trim().contains(' ') => {
            (name.trim(), value.trim())
        }
        _ => {
            return Err(invalid(
                "--header",
                format!("'{}': expected Name:Value", redact_header_text(h)),
            ))
        }
    };
    let header_name = HeaderName::from_bytes(name.as_bytes())
        .map_err(|_| invalid("--header", format!("invalid header name '{name}'")))?;
    let mut header_value = HeaderValue::from_str(value)
        .map_err(|_| invalid("--header", format!("invalid value for header '{name}'")))?;
    header_value.set_sensitive(is_sensitive_header(name));
    Ok((header_name, header_value))
}

#[cfg(test)]
mod tests {
    use super::super::test_support::args;
    use super::*;

    fn input(a: &[&str]) -> Result<Input, String> {
        resolve(&args(a), &Registry::builtin(), &mut Vec::new()).map_err(|e| e.to_string())
    }

    #[test]
    fn sampling_defaults_by_source_and_resolves_to_a_strategy() {
        let i = input(&[]).unwrap();
        assert_eq!(
            i.sampling,
            DatasetSampling {
                name: "shuffle".into(),
                strategy: SamplingStrategy::Shuffle
            }
        );
        assert_eq!((i.input_file, i.custom_dataset_type), (None, None));
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("d.jsonl");
        std::fs::write(&file, "{\"text\": \"hi\"}\n").unwrap();
        let file = file.to_str().unwrap();
        let i = input(&["--input-file", file]).unwrap();
        assert_eq!(i.sampling.strategy, SamplingStrategy::Sequential);
        assert_eq!(i.custom_dataset_type.as_deref(), Some("single_turn"));
        let i = input(&["--dataset-sampling-strategy", "random"]).unwrap();
        assert_eq!(i.sampling.strategy, SamplingStrategy::Random);
        // A format's preferred sampler, unless the flag says otherwise.
        let pool = dir.path().join("pool.jsonl");
        std::fs::write(&pool, "{\"text\": \"hi\"}\n").unwrap();
        let pool = pool.to_str().unwrap();
        let i = input(&["--input-file", pool, "--custom-dataset-type", "random_pool"]).unwrap();
        assert_eq!(i.sampling.name, "shuffle");
        let i = input(&[
            "--input-file",
            pool,
            "--custom-dataset-type",
            "random_pool",
            "--dataset-sampling-strategy",
            "sequential",
        ])
        .unwrap();
        assert_eq!(i.sampling.name, "sequential");
    }

    /// Without --custom-dataset-type the format comes from the first record, with a notice;
    /// the flag wins; a file nothing reads is refused before any work, naming the file.
    #[test]
    fn dataset_format_is_detected_unless_given() {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, text: &str| {
            let p = dir.path().join(name);
            std::fs::write(&p, text).unwrap();
            p.to_str().unwrap().to_string()
        };
        let cases = [
            (
                "s.jsonl",
                "\n{\"text\": \"hi\", \"output_length\": 5}\n",
                "single_turn",
            ),
            (
                "m.jsonl",
                "{\"session_id\": \"a\", \"turns\": [{\"text\": \"hi\"}]}\n",
                "multi_turn",
            ),
            (
                "t.jsonl",
                "{\"timestamp\": 0, \"input_length\": 8, \"hash_ids\": [1]}\n",
                "mooncake_trace",
            ),
            (
                "b.jsonl",
                "\u{feff}{\"text_input\": \"hi\"}\n",
                "mooncake_trace",
            ),
            (
                "g.json",
                "[\n  {\"id\": \"x\", \"conversations\": []}\n]\n",
                "sharegpt",
            ),
        ];
        for (name, text, want) in cases {
            let f = write(name, text);
            let mut notices = Vec::new();
            let i = resolve(
                &args(&["--input-file", &f]),
                &Registry::builtin(),
                &mut notices,
            )
            .unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(i.custom_dataset_type.as_deref(), Some(want), "{name}");
            assert_eq!(
                notices,
                [format!("Auto-detected dataset type: {want} (from '{f}'; --custom-dataset-type overrides)")]
            );
        }
        let pools = dir.path().join("pools");
        std::fs::create_dir(&pools).unwrap();
        std::fs::write(pools.join("q.jsonl"), "{\"text\": \"q\"}\n").unwrap();
        std::fs::write(pools.join("img.png"), [0x89u8, 0x50, 0xff, 0xfe]).unwrap();
        let i = input(&["--input-file", pools.to_str().unwrap()]).unwrap();
        assert_eq!(i.custom_dataset_type.as_deref(), Some("random_pool"));
        // The flag wins, even where detection would fail.
        let f = write("odd.jsonl", "{\"prompt\": \"x\"}\n");
        let mut notices = Vec::new();
        let i = resolve(
            &args(&["--input-file", &f, "--custom-dataset-type", "single_turn"]),
            &Registry::builtin(),
            &mut notices,
        )
        .unwrap();
        assert_eq!(i.custom_dataset_type.as_deref(), Some("single_turn"));
        assert!(notices.is_empty());
        assert_eq!(
            input(&["--input-file", &f]).unwrap_err(),
            format!("--input-file: {f}: no dataset format recognizes this file (the record on line 1 has fields 'prompt'); pass --custom-dataset-type (one of: single_turn, multi_turn, random_pool, mooncake_trace, sharegpt, bailian_trace, burst_gpt_trace, inputs_json, baseten_trace, sagemaker_data_capture, raw_payload, dag_jsonl, weka_trace, tracelab, speed_bench_* (32 variants))")
        );
        let f = write("bin.jsonl", "\u{1}\u{2}not json");
        let e = input(&["--input-file", &f]).unwrap_err();
        assert!(e.contains("(line 1 is not JSON)"), "{e}");
        let f = write("empty.jsonl", "\n\n");
        let e = input(&["--input-file", &f]).unwrap_err();
        assert!(e.contains("(it holds no records)"), "{e}");
    }

    #[test]
    fn headers_are_typed_and_credentials_sensitive() {
        let i = input(&["-H", "X-Trace: 1", "-H", "Authorization:Bearer x"]).unwrap();
        assert_eq!(i.headers[0].0.as_str(), "x-trace");
        assert_eq!(i.headers[0].1, "1");
        assert!(!i.headers[0].1.is_sensitive());
        assert!(i.headers[1].1.is_sensitive());
    }

    #[test]
    fn rejections() {
        let cases: [(&[&str], &str); 8] = [
            (&["-H", "broken"], "--header: 'broken': expected Name:Value"),
            (
                &["-H", "Bad Name:x"],
                "--header: 'Bad Name:<redacted>': expected Name:Value",
            ),
            (
                &["-H", "Bad(Name:x"],
                "--header: invalid header name 'Bad(Name'",
            ),
            (
                &["-H", "X:a\u{7f}b"],
                "--header: invalid value for header 'X'",
            ),
            (
                &["--custom-dataset-type", "single_turn"],
                "--custom-dataset-type: requires --input-file",
            ),
            (
                &["--input-file", "/nonexistent/x.jsonl"],
                "--input-file: '/nonexistent/x.jsonl' is not a valid file or directory",
            ),
            (
                &["--public-dataset", "exgentic", "--dataset-filter", "harness=nope"],
                "--dataset-filter: Invalid Exgentic dataset filters: harness=\"nope\" is not one of the values; available filters: harness=[claude_code, openai_solo, smolagents_code, tool_calling, tool_calling_with_shortlisting], source_model=[DeepSeek-V3.2, Kimi-K2.5, claude-opus-4-5, gemini-3-pro-preview, gpt-4.1, gpt-5.2-2025-12-11]",
            ),
            (
                &[
                    "--public-dataset",
                    "sharegpt",
                    "--custom-dataset-type",
                    "single_turn",
                ],
                "--public-dataset: cannot be combined with --custom-dataset-type",
            ),
        ];
        for (a, want) in cases {
            assert_eq!(input(a).unwrap_err(), want, "{a:?}");
        }
        let e = input(&["--dataset-sampling-strategy", "shufle"]).unwrap_err();
        assert!(
            e.starts_with("--dataset-sampling-strategy: ") && e.contains("Did you mean 'shuffle'?"),
            "{e}"
        );
    }

    #[test]
    fn body_options_carry_the_body_flags() {
        let mut warnings = Vec::new();
        let a = args(&[
            "--use-legacy-max-tokens",
            "--per-chunk-usage",
            "--extra-inputs",
            "temperature:0.5",
        ]);
        let b = body_options(&a, true, &mut warnings).unwrap();
        assert!(b.streaming && b.use_legacy_max_tokens && b.per_chunk_usage);
        assert_eq!(b.extra_inputs["temperature"], 0.5);
        assert!(warnings.is_empty());
        let b = body_options(&a, false, &mut warnings).unwrap();
        assert!(!b.streaming);
        assert_eq!(
            warnings,
            ["--per-chunk-usage has no effect without --streaming"]
        );
    }

    #[test]
    fn extra_inputs_are_coerced() {
        let m = parse_extra_inputs(&[
            "temperature:0.7".into(),
            "max_new:5".into(),
            "ignore_eos:true".into(),
            "stop:[\"a\"]".into(),
            "name:hello:world".into(),
            r#"{"top_p": 0.9}"#.into(),
        ])
        .unwrap();
        assert_eq!(
            Value::Object(m),
            serde_json::json!({"temperature": 0.7, "max_new": 5, "ignore_eos": true, "stop": ["a"], "name": "hello:world", "top_p": 0.9})
        );
    }

    #[test]
    fn extra_inputs_rejections() {
        let e = |items: &[&str]| {
            let items: Vec<String> = items.iter().map(|s| s.to_string()).collect();
            parse_extra_inputs(&items).unwrap_err().to_string()
        };
        assert_eq!(
            e(&["novalue"]),
            "--extra-inputs: 'novalue': expected key:value or a JSON object"
        );
        assert_eq!(e(&[":1"]), "--extra-inputs: ':1': empty key");
        assert_eq!(
            e(&["{not json"]),
            "--extra-inputs: '{not json' is not a valid JSON object"
        );
    }
}
