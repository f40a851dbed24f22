//! From the YAML tree to [`RunFile`]: every key checked (camelCase or snake_case), every value
//! typed, each problem reported at its line.

use indexmap::IndexMap;

use aiperf_accuracy::{BenchmarkKind, GraderKind};
use aiperf_dataset::cache_bust::CacheBustTarget;
use aiperf_dataset::seq_dist::{parse_range_ratio, RandomCorpusStyle, SeqDist};

use super::model::*;
use super::tree::{Key, Node, Value};
use super::Reported;

type R<T> = Result<T, Reported>;

/// `max_tokens` -> `maxTokens`; camelCase stays as is.
pub(crate) fn camel(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    let mut upper = false;
    for (i, c) in key.chars().enumerate() {
        if c == '_' && i > 0 {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// `maxTokens` -> `max_tokens`.
pub(crate) fn snake(key: &str) -> String {
    let mut out = String::with_capacity(key.len() + 4);
    for c in key.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// The closest candidate, if it is close enough to be what was meant.
pub(crate) fn suggest<'c>(
    word: &str,
    candidates: impl Iterator<Item = &'c str>,
) -> Option<&'c str> {
    let lower = word.to_ascii_lowercase();
    candidates
        .map(|c| (strsim::jaro_winkler(&lower, &c.to_ascii_lowercase()), c))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

/// A value found under a key: the key as written (for messages), its line and the node.
#[derive(Clone, Copy)]
pub(crate) struct Field<'a> {
    pub key: &'a str,
    pub line: u32,
    pub node: &'a Node,
}

/// The keys of one mapping, consumed one by one; whatever is left is unknown.
pub(crate) struct Obj<'a> {
    entries: &'a [(Key, Node)],
    known: Vec<&'static str>,
}

impl<'a> Obj<'a> {
    pub fn new(f: Field<'a>) -> R<Self> {
        match &f.node.value {
            Value::Map(entries) => Ok(Obj {
                entries,
                known: Vec::new(),
            }),
            _ => Err(Reported::at(
                f.node.line,
                format!("'{}' must be a mapping, got {}", f.key, f.node.describe()),
            )),
        }
    }

    /// The value of `key` (camelCase; the snake_case spelling matches too).
    pub fn get(&mut self, key: &'static str) -> R<Option<Field<'a>>> {
        self.known.push(key);
        let mut found: Option<Field<'a>> = None;
        for (k, v) in self.entries {
            if camel(&k.name) == key {
                if let Some(first) = found {
                    return Err(Reported::at(
                        k.line,
                        format!(
                            "'{}' is given twice (also as '{}' on line {})",
                            k.name, first.key, first.line
                        ),
                    ));
                }
                found = Some(Field {
                    key: &k.name,
                    line: k.line,
                    node: v,
                });
            }
        }
        Ok(found)
    }

    /// The line of `key` (0 when absent).
    pub fn line_of(&self, key: &str) -> u32 {
        self.entries
            .iter()
            .find(|(k, _)| camel(&k.name) == key)
            .map_or(0, |(k, _)| k.line)
    }

    pub fn has(&self, key: &str) -> bool {
        self.entries.iter().any(|(k, _)| camel(&k.name) == key)
    }

    /// Fails on the first key no `get` asked for.
    pub fn finish(self) -> R<()> {
        for (k, _) in self.entries {
            let norm = camel(&k.name);
            if self.known.contains(&norm.as_str()) {
                continue;
            }
            // Suggest in the file's own style (snake_case when the mapping uses it).
            let snake_style = self.entries.iter().any(|(k, _)| k.name.contains('_'));
            let style = |c: &str| if snake_style { snake(c) } else { c.to_string() };
            let reason = match suggest(&norm, self.known.iter().copied()) {
                Some(s) => format!("unknown key '{}' (did you mean '{}'?)", k.name, style(s)),
                None => format!(
                    "unknown key '{}' (expected one of: {})",
                    k.name,
                    self.known
                        .iter()
                        .map(|c| style(c))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            };
            return Err(Reported::at(k.line, reason));
        }
        Ok(())
    }
}

impl<'a> Field<'a> {
    fn fail(&self, what: &str) -> Reported {
        Reported::at(
            self.node.line,
            format!(
                "'{}' must be {what}, got {}",
                self.key,
                self.node.describe()
            ),
        )
    }

    pub fn u64(&self) -> R<u64> {
        let v = match &self.node.value {
            Value::Int(i) => u64::try_from(*i).ok(),
            Value::Float(f) if f.fract() == 0.0 && *f >= 0.0 && *f < 9.0e15 => Some(*f as u64),
            Value::Str(s) => s.trim().parse::<u64>().ok(),
            _ => None,
        };
        let negative = matches!(self.i64(), Ok(i) if i < 0);
        v.ok_or_else(|| {
            self.fail(if negative {
                "a non-negative integer"
            } else {
                "an integer"
            })
        })
    }

    pub fn u32(&self) -> R<u32> {
        u32::try_from(self.u64()?).map_err(|_| self.fail("an integer below 2^32"))
    }

    pub fn i64(&self) -> R<i64> {
        let v = match &self.node.value {
            Value::Int(i) => Some(*i),
            Value::Float(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Some(*f as i64),
            Value::Str(s) => s.trim().parse::<i64>().ok(),
            _ => None,
        };
        v.ok_or_else(|| self.fail("an integer"))
    }

    pub fn f64(&self) -> R<f64> {
        let v = match &self.node.value {
            Value::Int(i) => Some(*i as f64),
            Value::Float(f) => Some(*f),
            Value::Str(s) => s.trim().parse::<f64>().ok().filter(|f| f.is_finite()),
            _ => None,
        };
        v.ok_or_else(|| self.fail("a number"))
    }

    pub fn bool(&self) -> R<bool> {
        let v = match &self.node.value {
            Value::Bool(b) => Some(*b),
            Value::Str(s) => match s.trim().to_ascii_lowercase().as_str() {
                "true" => Some(true),
                "false" => Some(false),
                _ => None,
            },
            _ => None,
        };
        v.ok_or_else(|| self.fail("true or false"))
    }

    pub fn string(&self) -> R<String> {
        match &self.node.value {
            Value::Str(s) => Ok(s.clone()),
            Value::Int(i) => Ok(i.to_string()),
            Value::Float(f) => Ok(f.to_string()),
            Value::Bool(b) => Ok(b.to_string()),
            _ => Err(self.fail("a string")),
        }
    }

    /// A string out of `choices`.
    pub fn choice(&self, choices: &[&str]) -> R<String> {
        let s = self.string()?;
        if choices.contains(&s.as_str()) {
            return Ok(s);
        }
        let hint = suggest(&s, choices.iter().copied())
            .map(|c| format!(" (did you mean '{c}'?)"))
            .unwrap_or_default();
        Err(Reported::at(
            self.node.line,
            format!(
                "'{}' must be one of {}, got {:?}{hint}",
                self.key,
                choices.join(", "),
                s
            ),
        ))
    }

    /// Seconds: a number, or "30s", "5m", "2h", "inf" (AIPerf's duration syntax).
    pub fn duration(&self) -> R<f64> {
        let what = "a duration (seconds, or text like '30s', '5m', '2h', 'inf')";
        match &self.node.value {
            Value::Int(i) if *i >= 0 => Ok(*i as f64),
            Value::Float(f) if *f >= 0.0 => Ok(*f),
            Value::Str(s) => parse_duration(s).ok_or_else(|| self.fail(what)),
            _ => Err(self.fail(what)),
        }
    }

    pub fn items(&self) -> R<&'a [Node]> {
        match &self.node.value {
            Value::Seq(items) => Ok(items),
            _ => Err(self.fail("a list")),
        }
    }

    /// The same key for an item of this list.
    pub fn item(&self, node: &'a Node) -> Field<'a> {
        Field {
            key: self.key,
            line: node.line,
            node,
        }
    }
}

/// AIPerf's `_parse_duration`.
pub(crate) fn parse_duration(text: &str) -> Option<f64> {
    let t = text.trim().to_ascii_lowercase();
    if t == "inf" || t == "infinity" {
        return Some(f64::INFINITY);
    }
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    if num.is_empty() || num.starts_with('.') || num.ends_with('.') || num.matches('.').count() > 1
    {
        return None;
    }
    let value: f64 = num.parse().ok()?;
    let factor = match unit.trim() {
        "" | "s" | "sec" => 1.0,
        "m" | "min" => 60.0,
        "h" | "hr" | "hour" => 3600.0,
        _ => return None,
    };
    Some(value * factor)
}

fn opt<'a, T>(field: Option<Field<'a>>, f: impl FnOnce(&Field<'a>) -> R<T>) -> R<Option<T>> {
    field.as_ref().map(f).transpose()
}

/// The whole file.
pub(crate) fn run_file(root: &Node) -> R<RunFile> {
    if matches!(root.value, Value::Null) {
        return Err(Reported::file("the file is empty (missing 'benchmark')"));
    }
    let top = Field {
        key: "(top level)",
        line: root.line,
        node: root,
    };
    let mut o = Obj::new(top).map_err(|_| {
        Reported::at(
            root.line,
            format!(
                "the file must be a mapping of keys, got {}",
                root.describe()
            ),
        )
    })?;
    let schema_version = opt(o.get("schemaVersion")?, |f| {
        let v = match &f.node.value {
            Value::Float(x) if *x == 2.0 => "2.0".to_string(),
            Value::Int(2) => "2.0".to_string(),
            _ => f.string()?,
        };
        if v != "2.0" {
            return Err(Reported::at(
                f.node.line,
                format!("'{}' must be \"2.0\", got {}", f.key, f.node.describe()),
            ));
        }
        Ok(v)
    })?;
    let random_seed = opt(o.get("randomSeed")?, Field::u64)?;
    // Substituted before reading; kept only so the key is known.
    let _ = o.get("variables")?;
    let multi_run = opt(o.get("multiRun")?, multi_run)?;
    let sweep_field = o.get("sweep")?;
    let no_sweep_table = opt(o.get("noSweepTable")?, Field::bool)?;
    let benchmark_field = o.get("benchmark")?;
    let slos = opt(o.get("slos")?, slos)?;
    let artifacts = opt(o.get("artifacts")?, artifacts)?;
    let tokenizer = opt(o.get("tokenizer")?, tokenizer)?;
    let plot = opt(o.get("plot")?, plot_envelope)?;
    o.finish()?;
    let Some(benchmark_field) = benchmark_field else {
        return Err(Reported::file("missing 'benchmark'"));
    };
    let benchmark = self::benchmark(&benchmark_field)?;
    for (name, top, inner) in [
        ("slos", slos.is_some(), benchmark.slos.is_some()),
        (
            "artifacts",
            artifacts.is_some(),
            benchmark.artifacts.is_some(),
        ),
        (
            "tokenizer",
            tokenizer.is_some(),
            benchmark.tokenizer.is_some(),
        ),
    ] {
        if top && inner {
            return Err(Reported::at(
                benchmark_field.line,
                format!("'{name}' is given both at the top level and under 'benchmark'"),
            ));
        }
    }
    let dataset_seed = benchmark.dataset.as_ref().and_then(|d| d.random_seed);
    if let (Some(top), Some(inner)) = (random_seed, dataset_seed) {
        if top != inner {
            return Err(Reported::at(
                benchmark_field.line,
                format!(
                    "the dataset's 'randomSeed' ({inner}) differs from the top-level one \
                     ({top}); this build uses one seed per run"
                ),
            ));
        }
    }
    let sweep = opt(sweep_field, |f| {
        sweep(f, &|path| {
            super::emit::sweep_target(path, &benchmark).map(|_| ())
        })
    })?;
    Ok(RunFile {
        schema_version,
        random_seed,
        variables: None,
        multi_run,
        sweep,
        no_sweep_table,
        benchmark,
        slos,
        artifacts,
        tokenizer,
        plot,
    })
}

fn multi_run(f: &Field) -> R<MultiRun> {
    let mut o = Obj::new(*f)?;
    let m = MultiRun {
        num_runs: opt(o.get("numRuns")?, Field::u32)?,
        cooldown_seconds: opt(o.get("cooldownSeconds")?, Field::duration)?,
        confidence_level: opt(o.get("confidenceLevel")?, Field::f64)?,
        set_consistent_seed: opt(o.get("setConsistentSeed")?, Field::bool)?,
        vary_seed_per_trial: opt(o.get("varySeedPerTrial")?, Field::bool)?,
        disable_warmup_after_first: opt(o.get("disableWarmupAfterFirst")?, Field::bool)?,
        convergence: opt(o.get("convergence")?, convergence)?,
    };
    o.finish()?;
    Ok(m)
}

fn convergence(f: &Field) -> R<Convergence> {
    let mut o = Obj::new(*f)?;
    let metric = o.get("metric")?;
    let c = Convergence {
        metric: String::new(),
        stat: opt(o.get("stat")?, |f| {
            f.choice(&["avg", "p50", "p90", "p95", "p99", "min", "max"])
        })?,
        mode: opt(o.get("mode")?, |f| f.choice(&["ci_width", "cv"]))?,
        threshold: opt(o.get("threshold")?, Field::f64)?,
        min_runs: opt(o.get("minRuns")?, |f| {
            let n = f.u32()?;
            if n != 2 {
                return Err(Reported::at(
                    f.node.line,
                    format!("'{}': only 2 is supported by this build, got {n}", f.key),
                ));
            }
            Ok(n)
        })?,
    };
    o.finish()?;
    let Some(metric) = metric else {
        return Err(Reported::at(f.node.line, "'convergence' needs 'metric'"));
    };
    Ok(Convergence {
        metric: metric.string()?,
        ..c
    })
}

fn sweep(f: &Field, check: &dyn Fn(&str) -> Result<(), String>) -> R<Sweep> {
    let mut o = Obj::new(*f)?;
    let kind = opt(o.get("type")?, |f| {
        Ok(match f.choice(&["grid", "zip"])?.as_str() {
            "zip" => SweepType::Zip,
            _ => SweepType::Grid,
        })
    })?;
    let params = o.get("parameters")?;
    let cooldown_seconds = opt(o.get("cooldownSeconds")?, Field::duration)?;
    let same_seed = opt(o.get("sameSeed")?, Field::bool)?;
    let iteration_order = opt(o.get("iterationOrder")?, |f| {
        f.choice(&["repeated", "independent"])
    })?;
    o.finish()?;
    let Some(params) = params else {
        return Err(Reported::at(f.node.line, "'sweep' needs 'parameters'"));
    };
    let Value::Map(entries) = &params.node.value else {
        return Err(Reported::at(
            params.node.line,
            format!(
                "'parameters' must be a mapping of path to values, got {}",
                params.node.describe()
            ),
        ));
    };
    let mut parameters = IndexMap::new();
    for (k, v) in entries {
        let field = Field {
            key: &k.name,
            line: k.line,
            node: v,
        };
        let values = match &v.value {
            Value::Seq(items) => items
                .iter()
                .map(|n| sweep_number(&field.item(n)))
                .collect::<R<Vec<_>>>()?,
            _ => {
                return Err(Reported::at(
                    v.line,
                    format!(
                        "sweep parameter '{}' must be a list of values, got {}",
                        k.name,
                        v.describe()
                    ),
                ))
            }
        };
        if values.is_empty() {
            return Err(Reported::at(
                v.line,
                format!("sweep parameter '{}' has no values", k.name),
            ));
        }
        // Checked now so the error points at the path.
        check(&k.name).map_err(|reason| Reported::at(k.line, reason))?;
        parameters.insert(k.name.clone(), values);
    }
    if parameters.is_empty() {
        return Err(Reported::at(params.node.line, "'parameters' is empty"));
    }
    Ok(Sweep {
        kind,
        parameters,
        cooldown_seconds,
        same_seed,
        iteration_order,
    })
}

fn sweep_number(f: &Field) -> R<SweepNumber> {
    match &f.node.value {
        Value::Str(s) => parse_duration(s)
            .or_else(|| s.trim().parse::<f64>().ok())
            .filter(|v| v.is_finite())
            .map(SweepNumber)
            .ok_or_else(|| {
                Reported::at(
                    f.node.line,
                    format!(
                        "sweep values of '{}' must be numbers, got {}",
                        f.key,
                        f.node.describe()
                    ),
                )
            }),
        _ => f.f64().map(SweepNumber).map_err(|_| {
            Reported::at(
                f.node.line,
                format!(
                    "sweep values of '{}' must be numbers, got {}",
                    f.key,
                    f.node.describe()
                ),
            )
        }),
    }
}

fn benchmark(f: &Field) -> R<Benchmark> {
    let mut o = Obj::new(*f)?;
    let model = opt(o.get("model")?, Field::string)?;
    let models = opt(o.get("models")?, models)?;
    if model.is_some() && models.is_some() {
        return Err(Reported::at(
            f.node.line,
            "give either 'model' or 'models', not both",
        ));
    }
    let endpoint = opt(o.get("endpoint")?, endpoint)?;
    let dataset_field = o.get("dataset")?;
    let datasets_field = o.get("datasets")?;
    let dataset = match (dataset_field, datasets_field) {
        (Some(_), Some(d)) => {
            return Err(Reported::at(
                d.line,
                "give either 'dataset' or 'datasets', not both",
            ))
        }
        (Some(d), None) => Some(dataset(&d, None)?),
        (None, Some(d)) => Some(datasets(&d)?),
        (None, None) => None,
    };
    let mut phases: Vec<(Phase, u32)> = Vec::new();
    if let Some(p) = o.get("phases")? {
        phases = self::phases(&p)?;
    }
    if let Some(f) = o.get("warmup")? {
        let mut p = phase(&f, Some("warmup"))?;
        p.exclude_from_results.get_or_insert(true);
        phases.insert(0, (p, f.line));
    }
    if let Some(f) = o.get("profiling")? {
        phases.push((phase(&f, Some("profiling"))?, f.line));
    }
    let slos = opt(o.get("slos")?, slos)?;
    let artifacts = opt(o.get("artifacts")?, artifacts)?;
    let tokenizer = opt(o.get("tokenizer")?, tokenizer)?;
    let server_metrics = opt(o.get("serverMetrics")?, server_metrics_block)?;
    let gpu_telemetry = opt(o.get("gpuTelemetry")?, gpu_telemetry_block)?;
    let accuracy = opt(o.get("accuracy")?, accuracy_block)?.flatten();
    o.finish()?;
    let mut warmups = phases.iter().filter(|(p, _)| is_warmup(p));
    if let (Some(_), Some((_, line))) = (warmups.next(), warmups.next()) {
        return Err(Reported::at(*line, "only one warm-up phase is supported"));
    }
    let mut profiling = phases.iter().filter(|(p, _)| !is_warmup(p));
    if let (Some(_), Some((_, line))) = (profiling.next(), profiling.next()) {
        return Err(Reported::at(*line, "only one profiling phase is supported"));
    }
    let phases: Vec<Phase> = phases.into_iter().map(|(p, _)| p).collect();
    Ok(Benchmark {
        model,
        models,
        endpoint,
        dataset,
        datasets: None,
        phases: (!phases.is_empty()).then_some(phases),
        warmup: None,
        profiling: None,
        slos,
        artifacts,
        tokenizer,
        server_metrics,
        gpu_telemetry,
        accuracy,
    })
}

/// A phase excluded from results (or named `warmup`).
pub(crate) fn is_warmup(p: &Phase) -> bool {
    p.exclude_from_results == Some(true)
        || (p.exclude_from_results.is_none() && p.name.as_deref() == Some("warmup"))
}

fn models(f: &Field) -> R<Vec<String>> {
    let name_of = |n: &Node| -> R<String> {
        let item = f.item(n);
        match &n.value {
            Value::Map(_) => {
                let mut o = Obj::new(item)?;
                let name = o.get("name")?;
                o.finish()?;
                name.ok_or_else(|| Reported::at(n.line, "a model needs 'name'"))?
                    .string()
            }
            _ => item.string(),
        }
    };
    match &f.node.value {
        Value::Seq(items) => items.iter().map(name_of).collect(),
        Value::Map(_) => {
            let mut o = Obj::new(*f)?;
            let items = o.get("items")?;
            o.finish()?;
            let items = items.ok_or_else(|| Reported::at(f.node.line, "'models' needs 'items'"))?;
            items.items()?.iter().map(name_of).collect()
        }
        _ => Ok(vec![f.string()?]),
    }
}

fn string_or_list(f: &Field) -> R<Vec<String>> {
    match &f.node.value {
        Value::Seq(items) => items.iter().map(|n| f.item(n).string()).collect(),
        _ => Ok(vec![f.string()?]),
    }
}

fn endpoint(f: &Field) -> R<Endpoint> {
    let mut o = Obj::new(*f)?;
    let e = Endpoint {
        url: opt(o.get("url")?, Field::string)?,
        urls: opt(o.get("urls")?, string_or_list)?,
        kind: opt(o.get("type")?, Field::string)?,
        path: opt(o.get("path")?, Field::string)?,
        streaming: opt(o.get("streaming")?, Field::bool)?,
        timeout: opt(o.get("timeout")?, Field::duration)?,
        headers: opt(o.get("headers")?, |f| string_map(f, |v| v.string()))?,
        extra: opt(o.get("extra")?, |f| string_map(f, |v| Ok(v.node.to_json())))?,
        api_key: opt(o.get("apiKey")?, Field::string)?,
        connection_reuse: opt(o.get("connectionReuse")?, |f| {
            f.choice(&["pooled", "never", "sticky-user-sessions"])
        })?,
        use_legacy_max_tokens: opt(o.get("useLegacyMaxTokens")?, Field::bool)?,
        use_server_token_count: opt(o.get("useServerTokenCount")?, Field::bool)?,
        per_chunk_usage: opt(o.get("perChunkUsage")?, Field::bool)?,
        session_header: opt(o.get("sessionHeader")?, Field::string)?,
        download_video_content: opt(o.get("downloadVideoContent")?, Field::bool)?,
        wait_for_model_timeout: opt(o.get("waitForModelTimeout")?, Field::duration)?,
        wait_for_model_interval: opt(o.get("waitForModelInterval")?, Field::duration)?,
        wait_for_model_mode: opt(o.get("waitForModelMode")?, |f| {
            f.choice(&["models", "inference", "both"])
        })?,
        url_strategy: opt(o.get("urlStrategy")?, |f| f.choice(&["round_robin"]))?,
        transport: opt(o.get("transport")?, |f| f.choice(&["http"]))?,
        request_content_type: opt(o.get("requestContentType")?, |f| {
            f.choice(&["application/json", "multipart/form-data"])
        })?,
        uuid_and_strip: opt(o.get("uuidAndStrip")?, Field::bool)?,
        reset_kv_cache: opt(o.get("resetKvCache")?, |f| {
            control_hook(f, &["path", "timeoutSeconds", "maxRetrySeconds"])
        })?
        .flatten(),
        server_profiler: opt(o.get("serverProfiler")?, |f| {
            control_hook(f, &["startPath", "stopPath", "timeoutSeconds"])
        })?
        .flatten(),
    };
    if e.url.is_some() && e.urls.is_some() {
        return Err(Reported::at(
            f.node.line,
            "give either 'url' or 'urls', not both",
        ));
    }
    o.finish()?;
    Ok(e)
}

/// AIPerf's `false | true | {settings}` control hook; `None` for false. `keys` are the settings
/// this hook takes (`maxRetrySeconds` is read and checked but has no flag: 60 s, as AIPerf).
fn control_hook(f: &Field, keys: &[&'static str]) -> R<Option<ControlHook>> {
    if let Value::Bool(on) = &f.node.value {
        return Ok(on.then(ControlHook::default));
    }
    let mut o = Obj::new(*f)?;
    let mut hook = ControlHook::default();
    for key in keys {
        let Some(v) = o.get(key)? else { continue };
        match *key {
            "path" => hook.path = Some(v.string()?),
            "startPath" => hook.start_path = Some(v.string()?),
            "stopPath" => hook.stop_path = Some(v.string()?),
            "timeoutSeconds" => hook.timeout_seconds = Some(v.duration()?),
            _ => {
                v.f64()?;
            }
        }
    }
    o.finish()?;
    Ok(Some(hook))
}

/// A mapping whose keys are data (header names, metric tags), kept as written.
fn string_map<'a, T>(f: &Field<'a>, value: impl Fn(&Field<'a>) -> R<T>) -> R<IndexMap<String, T>> {
    let Value::Map(entries) = &f.node.value else {
        return Err(Reported::at(
            f.node.line,
            format!("'{}' must be a mapping, got {}", f.key, f.node.describe()),
        ));
    };
    let mut out = IndexMap::new();
    for (k, v) in entries {
        let field = Field {
            key: &k.name,
            line: k.line,
            node: v,
        };
        out.insert(k.name.clone(), value(&field)?);
    }
    Ok(out)
}

fn slos(f: &Field) -> R<IndexMap<String, f64>> {
    string_map(f, Field::f64)
}

fn plot_envelope(f: &Field) -> R<PlotEnvelope> {
    match &f.node.value {
        Value::Map(_) => Ok(PlotEnvelope::Inline(IndexMap::new())),
        Value::Str(_) => Ok(PlotEnvelope::File(f.string()?)),
        _ => Err(Reported::at(
            f.node.line,
            format!(
                "'plot' must be a plot config (a mapping) or the path of one, got {}",
                f.node.describe()
            ),
        )),
    }
}

fn artifacts(f: &Field) -> R<Artifacts> {
    let mut o = Obj::new(*f)?;
    let a = Artifacts {
        dir: opt(o.get("dir")?, Field::string)?,
        slice_duration: opt(o.get("sliceDuration")?, Field::duration)?,
        auto_plot: opt(o.get("autoPlot")?, Field::bool)?,
        plot_required: opt(o.get("plotRequired")?, Field::bool)?,
        prefix: opt(o.get("prefix")?, Field::string)?,
        summary: opt(o.get("summary")?, |f| formats_or_false(f, "json"))?,
        records: opt(o.get("records")?, |f| formats_or_false(f, "jsonl"))?,
        raw: opt(o.get("raw")?, Field::bool)?,
        trace: opt(o.get("trace")?, Field::bool)?,
        show_trace_timing: opt(o.get("showTraceTiming")?, Field::bool)?,
        user_files: opt(o.get("userFiles")?, user_files)?,
    };
    o.finish()?;
    if a.summary.as_ref().is_some_and(Vec::is_empty) {
        return Err(Reported::at(
            f.node.line,
            "'artifacts.summary: false' is not supported: the summary JSON is always written",
        ));
    }
    Ok(a)
}

/// `artifacts.userFiles`: AIPerf's `UserFile` checks (path inside the run directory, content
/// matching the format); no two entries may write the same path.
fn user_files(f: &Field) -> R<Vec<UserFile>> {
    let mut out: Vec<UserFile> = Vec::new();
    for n in f.items()? {
        let file = user_file(&f.item(n))?;
        if out.iter().any(|u| u.path == file.path) {
            return Err(Reported::at(
                n.line,
                format!("user file '{}' is listed twice", file.path),
            ));
        }
        out.push(file);
    }
    Ok(out)
}

fn user_file(f: &Field) -> R<UserFile> {
    let mut o = Obj::new(*f)?;
    let path = o.get("path")?;
    let format = opt(o.get("format")?, |f| f.choice(&["json", "yaml", "text"]))?;
    let content = o.get("content")?;
    o.finish()?;
    let (Some(path), Some(content)) = (path, content) else {
        return Err(Reported::at(
            f.node.line,
            "a user file needs 'path' and 'content'",
        ));
    };
    let line = path.node.line;
    let path = path.string()?;
    user_file_path(&path)
        .map_err(|why| Reported::at(line, format!("user file '{path}': {why}")))?;
    let is_text = matches!(content.node.value, Value::Str(_));
    let format = format.unwrap_or_else(|| if is_text { "text" } else { "json" }.to_string());
    match (format.as_str(), is_text) {
        ("text", false) => Err(Reported::at(
            content.node.line,
            format!("user file '{path}': 'format: text' needs string content"),
        )),
        ("json" | "yaml", true) => Err(Reported::at(
            content.node.line,
            format!(
                "user file '{path}': 'format: {format}' needs structured content (or set 'format: text')"
            ),
        )),
        _ => Ok(UserFile {
            path,
            format,
            content: content.node.to_json(),
        }),
    }
}

/// A run-directory-relative POSIX path: not empty, no control characters, not absolute, no `..`.
fn user_file_path(path: &str) -> Result<(), &'static str> {
    if path.is_empty() {
        return Err("the path is empty");
    }
    if path.chars().any(|c| c.is_control()) {
        return Err("the path holds control characters");
    }
    if path.starts_with('/') {
        return Err("absolute paths are refused (it is relative to the run directory)");
    }
    if path.split('/').any(|part| part == "..") {
        return Err("'..' is refused (the file must stay in the run directory)");
    }
    Ok(())
}

/// AIPerf's `[formats]` or `false` (an empty list here); `only` is the one format it takes.
fn formats_or_false(f: &Field, only: &str) -> R<Vec<String>> {
    if let Value::Bool(b) = &f.node.value {
        return match b {
            false => Ok(Vec::new()),
            true => Err(Reported::at(
                f.node.line,
                format!(
                    "'{}' takes a list of formats ([{only}]) or false, got true",
                    f.key
                ),
            )),
        };
    }
    list_of(f, |item| item.choice(&[only]))
}

/// `url`/`urls` of a telemetry block: one string or a list.
fn block_urls(o: &mut Obj<'_>) -> R<Option<Vec<String>>> {
    let urls = opt(o.get("urls")?, string_or_list)?;
    let url = opt(o.get("url")?, string_or_list)?;
    Ok(urls.or(url))
}

fn server_metrics_block(f: &Field) -> R<ServerMetricsBlock> {
    if matches!(f.node.value, Value::Str(_)) {
        return Ok(ServerMetricsBlock {
            urls: Some(vec![f.string()?]),
            ..ServerMetricsBlock::default()
        });
    }
    let mut o = Obj::new(*f)?;
    let b = ServerMetricsBlock {
        enabled: opt(o.get("enabled")?, Field::bool)?,
        urls: block_urls(&mut o)?,
        formats: opt(o.get("formats")?, |f| {
            list_of(f, |i| i.choice(&["json", "csv", "jsonl", "parquet"]))
        })?,
        discovery: opt(o.get("discovery")?, |f| {
            let mut d = Obj::new(*f)?;
            let mode = opt(d.get("mode")?, |f| {
                f.choice(&["auto", "kubernetes", "disabled"])
            })?;
            for key in ["labelSelector", "namespace", "timeoutSeconds"] {
                if let Some(k) = d.get(key)? {
                    return Err(Reported::at(
                        k.line,
                        format!("'discovery.{key}': Kubernetes discovery of metrics endpoints is not supported; list the endpoints in 'urls'"),
                    ));
                }
            }
            d.finish()?;
            if mode.as_deref() == Some("kubernetes") {
                return Err(Reported::at(
                    f.node.line,
                    "'discovery.mode: kubernetes' is not supported; list the endpoints in 'urls'",
                ));
            }
            Ok(ServerMetricsDiscovery { mode })
        })?,
    };
    o.finish()?;
    Ok(b)
}

fn gpu_telemetry_block(f: &Field) -> R<GpuTelemetryBlock> {
    if matches!(f.node.value, Value::Str(_)) {
        return Ok(GpuTelemetryBlock {
            urls: Some(vec![f.string()?]),
            ..GpuTelemetryBlock::default()
        });
    }
    let mut o = Obj::new(*f)?;
    let b = GpuTelemetryBlock {
        enabled: opt(o.get("enabled")?, Field::bool)?,
        urls: block_urls(&mut o)?,
        metrics_file: opt(o.get("metricsFile")?, Field::string)?,
        collector: opt(o.get("collector")?, |f| {
            f.choice(&["dcgm", "pynvml", "amdsmi"])
        })?,
        mode: opt(o.get("mode")?, |f| {
            f.choice(&["summary", "realtime_dashboard"])
        })?,
    };
    o.finish()?;
    Ok(b)
}

/// `benchmark.accuracy`; null is no block. Names match as AIPerf's enums do (any case, `-`
/// for `_`), and the other keys without `benchmark` are refused, as AIPerf refuses them.
fn accuracy_block(f: &Field) -> R<Option<AccuracyBlock>> {
    if matches!(f.node.value, Value::Null) {
        return Ok(None);
    }
    let mut o = Obj::new(*f)?;
    let benchmarks = BenchmarkKind::ALL.map(BenchmarkKind::name);
    let graders = GraderKind::ALL.map(GraderKind::name);
    let b = AccuracyBlock {
        benchmark: opt(o.get("benchmark")?, |f| plugin_name(f, &benchmarks))?,
        tasks: opt(o.get("tasks")?, string_or_list)?,
        n_shots: opt(o.get("nShots")?, |f| int_in(f, 0, 32).map(|n| n as u32))?,
        enable_cot: opt(o.get("enableCot")?, Field::bool)?,
        grader: opt(o.get("grader")?, |f| plugin_name(f, &graders))?,
        system_prompt: opt(o.get("systemPrompt")?, Field::string)?,
        verbose: opt(o.get("verbose")?, Field::bool)?,
    };
    let orphans: Vec<(String, u32)> = o
        .entries_lines()
        .into_iter()
        .filter(|(k, _)| camel(k) != "benchmark")
        .collect();
    o.finish()?;
    if b.benchmark.is_none() {
        if let Some((_, line)) = orphans.first() {
            let keys: Vec<&str> = orphans.iter().map(|(k, _)| k.as_str()).collect();
            return Err(Reported::at(
                *line,
                format!(
                    "'{}' set without 'benchmark', which accuracy mode needs (they would \
                     otherwise be ignored); benchmarks: {}",
                    keys.join("', '"),
                    benchmarks.join(", ")
                ),
            ));
        }
    }
    Ok(Some(b))
}

/// One of a plugin category's `names`, matched as AIPerf matches them (any case, `-` for
/// `_`); the canonical name.
fn plugin_name(f: &Field, names: &[&'static str]) -> R<String> {
    let given = f.string()?.to_ascii_lowercase().replace('-', "_");
    match names.iter().find(|n| **n == given) {
        Some(n) => Ok(n.to_string()),
        None => f.choice(names),
    }
}

fn tokenizer(f: &Field) -> R<Tokenizer> {
    if !matches!(f.node.value, Value::Map(_)) {
        return Ok(Tokenizer {
            name: Some(f.string()?),
            ..Tokenizer::default()
        });
    }
    let mut o = Obj::new(*f)?;
    let t = Tokenizer {
        name: opt(o.get("name")?, Field::string)?,
        revision: opt(o.get("revision")?, Field::string)?,
        trust_remote_code: opt(o.get("trustRemoteCode")?, Field::bool)?,
        apply_chat_template: opt(o.get("applyChatTemplate")?, Field::bool)?,
    };
    o.finish()?;
    Ok(t)
}

/// `datasets:` with exactly one entry: `{name: {...}}` or `[{name: ..., ...}]`.
fn datasets(f: &Field) -> R<Dataset> {
    let one = |n: usize, line: u32| -> R<()> {
        if n == 1 {
            Ok(())
        } else {
            Err(Reported::at(
                line,
                format!("'{}' must hold exactly one dataset, got {n}", f.key),
            ))
        }
    };
    match &f.node.value {
        Value::Map(entries) => {
            one(entries.len(), f.node.line)?;
            let (k, v) = &entries[0];
            let field = Field {
                key: &k.name,
                line: k.line,
                node: v,
            };
            dataset(&field, Some(&k.name))
        }
        Value::Seq(items) => {
            one(items.len(), f.node.line)?;
            dataset(&f.item(&items[0]), None)
        }
        _ => Err(Reported::at(
            f.node.line,
            format!(
                "'{}' must be a mapping or a list, got {}",
                f.key,
                f.node.describe()
            ),
        )),
    }
}

fn dist(f: &Field) -> R<Dist> {
    if !matches!(f.node.value, Value::Map(_)) {
        return Ok(Dist::Fixed(f.f64()?));
    }
    let mut o = Obj::new(*f)?;
    let mean = o.get("mean")?;
    let stddev = opt(o.get("stddev")?, Field::f64)?;
    o.finish()?;
    let mean = mean
        .ok_or_else(|| Reported::at(f.node.line, format!("'{}' needs 'mean'", f.key)))?
        .f64()?;
    Ok(Dist::Normal { mean, stddev })
}

/// `isl`/`osl`: the `{mean, stddev}` forms as a `Dist`, AIPerf's others (log-normal, peaks,
/// points, bounds) as the JSON of `--isl-distribution`, checked here so errors name the line.
fn length(f: Option<Field>) -> R<(Option<Dist>, Option<serde_json::Value>)> {
    let Some(f) = f else {
        return Ok((None, None));
    };
    let extended = match &f.node.value {
        Value::Map(entries) => entries
            .iter()
            .any(|(k, _)| !matches!(camel(&k.name).as_str(), "mean" | "stddev")),
        _ => false,
    };
    if !extended {
        return Ok((Some(dist(&f)?), None));
    }
    let json = f.node.to_json();
    aiperf_dataset::length_dist::LengthDist::parse(&json)
        .map_err(|e| Reported::at(f.node.line, format!("'{}': {e}", f.key)))?;
    Ok((None, Some(json)))
}

fn prompts(f: &Field) -> R<Prompts> {
    let mut o = Obj::new(*f)?;
    let (isl, isl_distribution) = length(o.get("isl")?)?;
    let (osl, osl_distribution) = length(o.get("osl")?)?;
    // The style first: it decides which ratio forms are valid.
    let random_corpus_style = opt(o.get("randomCorpusStyle")?, |f| {
        f.choice(&["vllm", "sglang"])
    })?;
    let style = match random_corpus_style.as_deref() {
        Some("sglang") => RandomCorpusStyle::Sglang,
        _ => RandomCorpusStyle::Vllm,
    };
    let p = Prompts {
        isl,
        osl,
        isl_distribution,
        osl_distribution,
        batch_size: opt(o.get("batchSize")?, Field::u64)?,
        block_size: opt(o.get("blockSize")?, Field::u64)?,
        cache_bust: opt(o.get("cacheBust")?, cache_bust)?,
        corpus: opt(o.get("corpus")?, |f| {
            f.choice(&["sonnet", "coding", "random"])
        })?,
        sequence_distribution: opt(o.get("sequenceDistribution")?, sequence_distribution)?,
        random_range_ratio: opt(o.get("randomRangeRatio")?, |f| range_ratio(f, style))?,
        random_corpus_style,
    };
    o.finish()?;
    Ok(p)
}

/// `cacheBust: {target: ...}`, or the bare target.
fn cache_bust(f: &Field) -> R<CacheBust> {
    let targets: Vec<&str> = CacheBustTarget::ALL.iter().map(|t| t.as_str()).collect();
    if !matches!(f.node.value, Value::Map(_)) {
        return Ok(CacheBust {
            target: f.choice(&targets)?,
        });
    }
    let mut o = Obj::new(*f)?;
    let target = opt(o.get("target")?, |f| f.choice(&targets))?;
    o.finish()?;
    Ok(CacheBust {
        target: target.unwrap_or_else(|| "none".to_string()),
    })
}

/// A length with AIPerf's `islStddev`/`oslStddev` shorthand, which (as in AIPerf) only
/// applies to a plain number.
fn dist_with_stddev(f: &Field, stddev: Option<f64>) -> R<Dist> {
    match (dist(f)?, stddev) {
        (Dist::Fixed(mean), Some(s)) => Ok(Dist::Normal {
            mean,
            stddev: Some(s),
        }),
        (d, _) => Ok(d),
    }
}

fn seq_entry<'a>(f: &Field<'a>) -> R<SeqEntry> {
    let mut o = Obj::new(*f)?;
    let isl = o.get("isl")?;
    let isl_stddev = opt(o.get("islStddev")?, Field::f64)?;
    let osl = o.get("osl")?;
    let osl_stddev = opt(o.get("oslStddev")?, Field::f64)?;
    let probability = o.get("probability")?;
    o.finish()?;
    let line = f.node.line;
    let what = f.key;
    let need = |field: Option<Field<'a>>, key: &str| -> R<Field<'a>> {
        field.ok_or_else(|| Reported::at(line, format!("a '{what}' entry needs '{key}'")))
    };
    Ok(SeqEntry {
        isl: dist_with_stddev(&need(isl, "isl")?, isl_stddev)?,
        osl: dist_with_stddev(&need(osl, "osl")?, osl_stddev)?,
        probability: need(probability, "probability")?.f64()?,
    })
}

/// `prompts.sequenceDistribution`, checked as `--seq-dist` checks it (so that a bad
/// distribution names its line, not the flag).
fn sequence_distribution(f: &Field) -> R<Vec<SeqEntry>> {
    let entries = f
        .items()?
        .iter()
        .map(|n| seq_entry(&f.item(n)))
        .collect::<R<Vec<_>>>()?;
    if entries.is_empty() {
        return Err(Reported::at(
            f.node.line,
            format!("'{}' needs at least one entry", f.key),
        ));
    }
    SeqDist::parse(&super::emit::seq_dist_text(&entries)).map_err(|e| {
        // The parser's message quotes the flag's text; the entries are what was written.
        let reason = e.split_once("': ").map_or(e.as_str(), |(_, r)| r);
        Reported::at(f.node.line, format!("'{}': {reason}", f.key))
    })?;
    Ok(entries)
}

/// `prompts.randomRangeRatio`: a number, `{input, output}`, or either as text (AIPerf turns
/// both into the flag's string), checked against the corpus style.
fn range_ratio(f: &Field, style: RandomCorpusStyle) -> R<RangeRatio> {
    let shape = || f.fail("a number or {input: r, output: r}");
    let ratio = match &f.node.value {
        Value::Map(_) => {
            let mut o = Obj::new(*f)?;
            let input = o.get("input")?;
            let output = o.get("output")?;
            o.finish()?;
            match (input, output) {
                (Some(i), Some(o)) => RangeRatio::Split {
                    input: i.f64()?,
                    output: o.f64()?,
                },
                _ => {
                    return Err(Reported::at(
                        f.node.line,
                        format!("'{}' needs both 'input' and 'output'", f.key),
                    ))
                }
            }
        }
        Value::Str(s) => match s.trim().parse::<f64>() {
            Ok(r) => RangeRatio::Both(r),
            Err(_) => {
                let json: serde_json::Value =
                    serde_json::from_str(s.trim()).map_err(|_| shape())?;
                match (
                    json.get("input").and_then(serde_json::Value::as_f64),
                    json.get("output").and_then(serde_json::Value::as_f64),
                    json.as_object().map(|m| m.len()),
                ) {
                    (Some(input), Some(output), Some(2)) => RangeRatio::Split { input, output },
                    _ => return Err(shape()),
                }
            }
        },
        Value::Int(_) | Value::Float(_) => RangeRatio::Both(f.f64()?),
        _ => return Err(shape()),
    };
    parse_range_ratio(&super::emit::range_ratio_text(ratio), style)
        .map_err(|e| Reported::at(f.node.line, format!("'{}': {e}", f.key)))?;
    Ok(ratio)
}

/// An integer between `lo` and `hi`.
fn int_in(f: &Field, lo: u64, hi: u64) -> R<u64> {
    let v = f.u64()?;
    if v < lo || v > hi {
        return Err(Reported::at(
            f.node.line,
            format!("'{}' must be between {lo} and {hi}, got {v}", f.key),
        ));
    }
    Ok(v)
}

/// A count or `{mean, stddev}` of counts (the flags take whole numbers).
fn whole_dist(f: &Field) -> R<Dist> {
    let d = dist(f)?;
    let whole = |v: f64| v >= 0.0 && v.fract() == 0.0 && v < 9.0e15;
    if !whole(d.mean()) || !d.stddev().is_none_or(whole) {
        return Err(f.fail("a whole number or {mean, stddev} of whole numbers"));
    }
    Ok(d)
}

/// A list, or one value standing for a list of one.
fn list_of<'a, T>(f: &Field<'a>, item: impl Fn(&Field<'a>) -> R<T>) -> R<Vec<T>> {
    let values = match &f.node.value {
        Value::Seq(items) => items
            .iter()
            .map(|n| item(&f.item(n)))
            .collect::<R<Vec<_>>>()?,
        _ => vec![item(f)?],
    };
    if values.is_empty() {
        return Err(Reported::at(
            f.node.line,
            format!("'{}' needs at least one value", f.key),
        ));
    }
    Ok(values)
}

fn images(f: &Field) -> R<Images> {
    let mut o = Obj::new(*f)?;
    let i = Images {
        batch_size: opt(o.get("batchSize")?, Field::u64)?,
        width: opt(o.get("width")?, dist)?,
        height: opt(o.get("height")?, dist)?,
        format: opt(o.get("format")?, |f| f.choice(&["png", "jpeg", "random"]))?,
        source: opt(o.get("source")?, Field::string)?,
        source_sampling: opt(o.get("sourceSampling")?, |f| {
            f.choice(&[
                "random-with-replacement",
                "shuffle-cycle",
                "sequential-cycle",
            ])
        })?,
    };
    o.finish()?;
    Ok(i)
}

fn audio(f: &Field) -> R<Audio> {
    let mut o = Obj::new(*f)?;
    let a = Audio {
        batch_size: opt(o.get("batchSize")?, Field::u64)?,
        length: opt(o.get("length")?, dist)?,
        format: opt(o.get("format")?, |f| f.choice(&["wav", "mp3"]))?,
        sample_rates: opt(o.get("sampleRates")?, |f| list_of(f, Field::f64))?,
        depths: opt(o.get("depths")?, |f| {
            list_of(f, |f| int_in(f, 1, u64::from(u16::MAX)))
        })?,
        channels: opt(o.get("channels")?, |f| int_in(f, 1, 2))?,
    };
    o.finish()?;
    Ok(a)
}

fn video(f: &Field) -> R<Video> {
    let mut o = Obj::new(*f)?;
    let v = Video {
        batch_size: opt(o.get("batchSize")?, Field::u64)?,
        duration: opt(o.get("duration")?, Field::f64)?,
        fps: opt(o.get("fps")?, |f| int_in(f, 1, u64::from(u32::MAX)))?,
        width: opt(o.get("width")?, |f| int_in(f, 1, u64::from(u32::MAX)))?,
        height: opt(o.get("height")?, |f| int_in(f, 1, u64::from(u32::MAX)))?,
        format: opt(o.get("format")?, |f| f.choice(&["webm", "mp4"]))?,
        codec: opt(o.get("codec")?, Field::string)?,
        synth_type: opt(o.get("synthType")?, |f| {
            f.choice(&["moving_shapes", "grid_clock", "noise"])
        })?,
        audio: opt(o.get("audio")?, video_audio)?,
    };
    o.finish()?;
    Ok(v)
}

fn video_audio(f: &Field) -> R<VideoAudio> {
    let mut o = Obj::new(*f)?;
    let a = VideoAudio {
        sample_rate: opt(o.get("sampleRate")?, Field::f64)?,
        channels: opt(o.get("channels")?, |f| int_in(f, 0, 2))?,
        codec: opt(o.get("codec")?, |f| {
            f.choice(&["aac", "libvorbis", "libopus"])
        })?,
        depth: opt(o.get("depth")?, |f| {
            let d = f.u64()?;
            if [8, 16, 24, 32].contains(&d) {
                Ok(d)
            } else {
                Err(Reported::at(
                    f.node.line,
                    format!("'{}' must be one of 8, 16, 24, 32, got {d}", f.key),
                ))
            }
        })?,
    };
    o.finish()?;
    Ok(a)
}

fn rankings(f: &Field) -> R<Rankings> {
    let mut o = Obj::new(*f)?;
    let r = Rankings {
        passages: opt(o.get("passages")?, whole_dist)?,
        passage_tokens: opt(o.get("passageTokens")?, whole_dist)?,
        query_tokens: opt(o.get("queryTokens")?, whole_dist)?,
    };
    o.finish()?;
    Ok(r)
}

fn synthesis(f: &Field) -> R<Synthesis> {
    let mut o = Obj::new(*f)?;
    let s = Synthesis {
        speedup_ratio: opt(o.get("speedupRatio")?, Field::f64)?,
        prefix_len_multiplier: opt(o.get("prefixLenMultiplier")?, Field::f64)?,
        prefix_root_multiplier: opt(o.get("prefixRootMultiplier")?, |f| {
            int_in(f, 1, u64::from(u32::MAX))
        })?,
        prompt_len_multiplier: opt(o.get("promptLenMultiplier")?, Field::f64)?,
        output_len_multiplier: opt(o.get("outputLenMultiplier")?, Field::f64)?,
        max_isl: opt(o.get("maxIsl")?, Field::u64)?,
        max_osl: opt(o.get("maxOsl")?, Field::u64)?,
        allow_dataset_wrap: opt(o.get("allowDatasetWrap")?, Field::bool)?,
    };
    o.finish()?;
    Ok(s)
}

/// `filters`: key to value, each becoming `--dataset-filter key=value`.
fn filters(f: &Field) -> R<IndexMap<String, String>> {
    let map = string_map(f, Field::string)?;
    for (k, v) in &map {
        if k.trim().is_empty() || k.contains('=') || v.trim().is_empty() {
            return Err(Reported::at(
                f.node.line,
                format!(
                    "'{}': '{k}: {v}' is not a filter (a non-empty key without '=' and a \
                     non-empty value)",
                    f.key
                ),
            ));
        }
    }
    Ok(map)
}

/// The key as written and its line, if `node` is a mapping holding `key`.
fn key_at(node: &Node, key: &str) -> Option<(String, u32)> {
    match &node.value {
        Value::Map(entries) => entries
            .iter()
            .find(|(k, _)| camel(&k.name) == key)
            .map(|(k, _)| (k.name.clone(), k.line)),
        _ => None,
    }
}

/// Dataset keys that AIPerf's schema allows on some dataset types only.
const SYNTHETIC_ONLY: &[&str] = &["images", "audio", "video", "rankings"];
const FILE_ONLY: &[&str] = &[
    "records",
    "blockSize",
    "promptBatchSize",
    "imageBatchSize",
    "audioBatchSize",
    "videoBatchSize",
    "traceSessionSampleRatio",
    "maxIdleGapCapSeconds",
    "replaySpeedup",
    "openLoopReplay",
    "openLoopStrict",
    "omitKvHints",
    "forceMinTokens",
];
const PUBLIC_ONLY: &[&str] = &["hfSubset", "filters", "hfWekaDataset"];
const TRACE_ONLY: &[&str] = &[
    "synthesis",
    "interTurnDelayCapSeconds",
    "ignoreTraceDelays",
    "useThinkTimeOnly",
    "maxContextLength",
    "cacheBust",
];
/// `prompts` keys of a synthetic dataset only (a file or public one takes just `corpus`).
const PROMPTS_SYNTHETIC_ONLY: &[&str] = &[
    "cacheBust",
    "sequenceDistribution",
    "randomRangeRatio",
    "randomCorpusStyle",
];

/// The first key of the dataset mapping `node` that its type does not allow.
fn check_keys_for_type(node: &Node, kind: DatasetType) -> R<()> {
    let (synthetic, file, public) = (
        kind == DatasetType::Synthetic,
        kind == DatasetType::File,
        kind == DatasetType::Public,
    );
    let rules: [(&[&str], bool, &str); 4] = [
        (SYNTHETIC_ONLY, synthetic, "needs 'type: synthetic'"),
        (FILE_ONLY, file, "needs 'type: file'"),
        (PUBLIC_ONLY, public, "needs 'type: public'"),
        (
            TRACE_ONLY,
            file || public,
            "needs 'type: file' or 'type: public'",
        ),
    ];
    for (keys, allowed, need) in rules {
        if allowed {
            continue;
        }
        if let Some((written, line)) = keys.iter().find_map(|k| key_at(node, k)) {
            let hint = if written == "cacheBust" || written == "cache_bust" {
                " (a synthetic dataset takes it under 'prompts')"
            } else {
                ""
            };
            return Err(Reported::at(line, format!("'{written}' {need}{hint}")));
        }
    }
    if !synthetic {
        let prompts = match &node.value {
            Value::Map(entries) => entries
                .iter()
                .find(|(k, _)| camel(&k.name) == "prompts")
                .map(|(_, v)| v),
            _ => None,
        };
        if let Some((written, line)) =
            prompts.and_then(|p| PROMPTS_SYNTHETIC_ONLY.iter().find_map(|k| key_at(p, k)))
        {
            let hint = if written == "cacheBust" || written == "cache_bust" {
                " (a file or public dataset takes 'cacheBust' beside 'prompts')"
            } else {
                ""
            };
            return Err(Reported::at(
                line,
                format!("'{written}' under 'prompts' needs 'type: synthetic'{hint}"),
            ));
        }
    }
    Ok(())
}

fn prefix_prompts(f: &Field) -> R<PrefixPrompts> {
    let mut o = Obj::new(*f)?;
    let p = PrefixPrompts {
        pool_size: opt(o.get("poolSize")?, Field::u64)?,
        length: opt(o.get("length")?, Field::u64)?,
        shared_system_length: opt(o.get("sharedSystemLength")?, Field::u64)?,
        user_context_length: opt(o.get("userContextLength")?, Field::u64)?,
    };
    o.finish()?;
    Ok(p)
}

fn dataset(f: &Field, name: Option<&str>) -> R<Dataset> {
    let mut o = Obj::new(*f)?;
    let (isl, isl_distribution) = length(o.get("isl")?)?;
    let (osl, osl_distribution) = length(o.get("osl")?)?;
    let mut d = Dataset {
        name: opt(o.get("name")?, Field::string)?,
        kind: opt(o.get("type")?, |f| {
            Ok(match f.choice(&["synthetic", "file", "public"])?.as_str() {
                "file" => DatasetType::File,
                "public" => DatasetType::Public,
                _ => DatasetType::Synthetic,
            })
        })?,
        entries: opt(o.get("entries")?, Field::u64)?,
        sampling: opt(o.get("sampling")?, |f| {
            f.choice(&["random", "sequential", "shuffle"])
        })?,
        prompts: opt(o.get("prompts")?, prompts)?,
        isl,
        osl,
        isl_distribution,
        osl_distribution,
        turns: opt(o.get("turns")?, dist)?,
        turn_delay: opt(o.get("turnDelay")?, dist)?,
        turn_delay_ratio: opt(o.get("turnDelayRatio")?, Field::f64)?,
        prefix_prompts: opt(o.get("prefixPrompts")?, prefix_prompts)?,
        system_prompt: opt(o.get("systemPrompt")?, Field::string)?,
        system_prompt_file: opt(o.get("systemPromptFile")?, Field::string)?,
        path: opt(o.get("path")?, Field::string)?,
        format: opt(o.get("format")?, Field::string)?,
        records: opt(o.get("records")?, inline_records)?,
        records_line: o.line_of("records"),
        dataset: opt(o.get("dataset")?, Field::string)?,
        images: opt(o.get("images")?, images)?,
        audio: opt(o.get("audio")?, audio)?,
        video: opt(o.get("video")?, video)?,
        rankings: opt(o.get("rankings")?, rankings)?,
        synthesis: opt(o.get("synthesis")?, synthesis)?,
        cache_bust: opt(o.get("cacheBust")?, cache_bust)?,
        block_size: opt(o.get("blockSize")?, Field::u64)?,
        prompt_batch_size: opt(o.get("promptBatchSize")?, Field::u64)?,
        image_batch_size: opt(o.get("imageBatchSize")?, Field::u64)?,
        audio_batch_size: opt(o.get("audioBatchSize")?, Field::u64)?,
        video_batch_size: opt(o.get("videoBatchSize")?, Field::u64)?,
        trace_session_sample_ratio: opt(o.get("traceSessionSampleRatio")?, Field::f64)?,
        inter_turn_delay_cap_seconds: opt(o.get("interTurnDelayCapSeconds")?, Field::f64)?,
        max_idle_gap_cap_seconds: opt(o.get("maxIdleGapCapSeconds")?, Field::f64)?,
        replay_speedup: opt(o.get("replaySpeedup")?, Field::f64)?,
        open_loop_replay: opt(o.get("openLoopReplay")?, Field::bool)?,
        open_loop_strict: opt(o.get("openLoopStrict")?, Field::bool)?,
        omit_kv_hints: opt(o.get("omitKvHints")?, Field::bool)?,
        force_min_tokens: opt(o.get("forceMinTokens")?, Field::bool)?,
        ignore_trace_delays: opt(o.get("ignoreTraceDelays")?, Field::bool)?,
        use_think_time_only: opt(o.get("useThinkTimeOnly")?, Field::bool)?,
        max_context_length: opt(o.get("maxContextLength")?, Field::u64)?,
        random_seed: opt(o.get("randomSeed")?, Field::u64)?,
        hf_subset: opt(o.get("hfSubset")?, Field::string)?,
        filters: opt(o.get("filters")?, filters)?,
        hf_weka_dataset: opt(o.get("hfWekaDataset")?, Field::string)?,
    };
    o.finish()?;
    if d.name.is_none() {
        d.name = name.map(str::to_string);
    }
    let prompts = d.prompts.clone().unwrap_or_default();
    if (d.isl.is_some() && prompts.isl.is_some()) || (d.osl.is_some() && prompts.osl.is_some()) {
        return Err(Reported::at(
            f.node.line,
            "give 'isl'/'osl' either directly or under 'prompts', not both",
        ));
    }
    let kind = d
        .kind
        .unwrap_or(if d.path.is_some() || d.records.is_some() {
            DatasetType::File
        } else if d.dataset.is_some() {
            DatasetType::Public
        } else {
            DatasetType::Synthetic
        });
    match kind {
        DatasetType::File if d.path.is_none() && d.records.is_none() => {
            return Err(Reported::at(
                f.node.line,
                "a 'file' dataset needs 'path' or 'records'",
            ))
        }
        DatasetType::File if d.path.is_some() && d.records.is_some() => {
            return Err(Reported::at(
                d.records_line,
                "give either 'path' (a file on disk) or 'records' (inline), not both",
            ))
        }
        DatasetType::Public if d.dataset.is_none() && d.name.is_none() => {
            return Err(Reported::at(
                f.node.line,
                "a 'public' dataset needs 'dataset' (e.g. sharegpt)",
            ))
        }
        DatasetType::Synthetic if d.path.is_some() || d.format.is_some() => {
            return Err(Reported::at(
                f.node.line,
                "'path' and 'format' need 'type: file'",
            ))
        }
        _ => {}
    }
    if kind != DatasetType::Public && d.dataset.is_some() {
        return Err(Reported::at(f.node.line, "'dataset' needs 'type: public'"));
    }
    check_keys_for_type(f.node, kind)?;
    check_pools_format(&d)?;
    let one_of = |a: bool, b: bool, what: &str| -> R<()> {
        if a && b {
            return Err(Reported::at(f.node.line, what.to_string()));
        }
        Ok(())
    };
    one_of(
        prompts.block_size.is_some(),
        d.block_size.is_some(),
        "give the block size either as 'blockSize' or under 'prompts', not both",
    )?;
    one_of(
        prompts.batch_size.is_some(),
        d.prompt_batch_size.is_some(),
        "give either 'promptBatchSize' or 'prompts.batchSize', not both",
    )?;
    // AIPerf's model checks.
    one_of(
        d.ignore_trace_delays == Some(true),
        d.use_think_time_only == Some(true),
        "'ignoreTraceDelays' and 'useThinkTimeOnly' are mutually exclusive",
    )?;
    one_of(
        d.open_loop_strict == Some(true),
        d.open_loop_replay == Some(false),
        "'openLoopStrict' needs open-loop replay (drop 'openLoopReplay: false')",
    )?;
    one_of(
        prompts.sequence_distribution.is_some(),
        prompts.random_range_ratio.is_some(),
        "'randomRangeRatio' cannot be combined with 'sequenceDistribution'",
    )?;
    if d.hf_weka_dataset.is_some() && d.dataset.as_deref() != Some("weka_hf") {
        return Err(Reported::at(
            f.node.line,
            "'hfWekaDataset' needs 'dataset: weka_hf'",
        ));
    }
    Ok(d)
}

/// `records:`: a non-empty list of mappings (one JSONL line each), or a non-empty mapping of
/// pool name to such a list (AIPerf's multi-pool form).
fn inline_records(f: &Field) -> R<InlineRecords> {
    match &f.node.value {
        Value::Seq(_) => Ok(InlineRecords::Rows(record_rows(f)?)),
        Value::Map(entries) if entries.is_empty() => Err(Reported::at(
            f.node.line,
            format!("'{}' must hold at least one pool", f.key),
        )),
        Value::Map(entries) => {
            let mut pools = IndexMap::new();
            for (k, v) in entries {
                let pool = Field {
                    key: &k.name,
                    line: k.line,
                    node: v,
                };
                pools.insert(k.name.clone(), record_rows(&pool)?);
            }
            Ok(InlineRecords::Pools(pools))
        }
        _ => Err(f.fail("a list of records or a mapping of pool name to records")),
    }
}

/// One list of inline records: at least one, each a mapping.
fn record_rows(f: &Field) -> R<Vec<serde_json::Value>> {
    let items = f.items()?;
    if items.is_empty() {
        return Err(Reported::at(
            f.node.line,
            format!("'{}' must hold at least one record", f.key),
        ));
    }
    items
        .iter()
        .map(|n| match n.value {
            Value::Map(_) => Ok(n.to_json()),
            _ => Err(Reported::at(
                n.line,
                format!(
                    "each record of '{}' must be a mapping, got {}",
                    f.key,
                    n.describe()
                ),
            )),
        })
        .collect()
}

/// Named pools are a directory of pool files, which only `random_pool` reads (AIPerf's rule).
fn check_pools_format(d: &Dataset) -> R<()> {
    let format = d.format.as_deref().unwrap_or("single_turn");
    match &d.records {
        Some(InlineRecords::Pools(_)) if format != "random_pool" => Err(Reported::at(
            d.records_line,
            format!("'records' as named pools needs 'format: random_pool', got format '{format}'"),
        )),
        _ => Ok(()),
    }
}

/// `phases:` as a list, a map `name: phase`, or one phase; each with its line.
fn phases(f: &Field) -> R<Vec<(Phase, u32)>> {
    match &f.node.value {
        Value::Seq(items) => items
            .iter()
            .map(|n| Ok((phase(&f.item(n), None)?, n.line)))
            .collect(),
        Value::Map(entries) => {
            let single = entries
                .iter()
                .any(|(k, _)| PHASE_KEYS.contains(&camel(&k.name).as_str()));
            if single {
                return Ok(vec![(phase(f, None)?, f.node.line)]);
            }
            entries
                .iter()
                .map(|(k, v)| {
                    let field = Field {
                        key: &k.name,
                        line: k.line,
                        node: v,
                    };
                    Ok((phase(&field, Some(&k.name))?, k.line))
                })
                .collect()
        }
        _ => Err(Reported::at(
            f.node.line,
            format!(
                "'{}' must be a list or a mapping, got {}",
                f.key,
                f.node.describe()
            ),
        )),
    }
}

const PHASE_KEYS: &[&str] = &[
    "name",
    "type",
    "excludeFromResults",
    "concurrency",
    "rate",
    "requests",
    "duration",
    "sessions",
    "users",
    "gracePeriod",
    "smoothness",
    "concurrencyRamp",
    "rateRamp",
    "prefillConcurrency",
    "prefillRamp",
    "rateSeries",
    "autoOffset",
    "startOffset",
    "endOffset",
    "cancellation",
];

fn phase(f: &Field, name: Option<&str>) -> R<Phase> {
    let mut o = Obj::new(*f)?;
    let mut p = Phase {
        name: opt(o.get("name")?, Field::string)?,
        kind: opt(o.get("type")?, |f| {
            let names: Vec<&str> = PhaseType::ALL.iter().map(|(n, _)| *n).collect();
            let s = f.choice(&names)?;
            Ok(PhaseType::ALL
                .iter()
                .find(|(n, _)| *n == s)
                .map_or(PhaseType::Concurrency, |(_, t)| *t))
        })?,
        exclude_from_results: opt(o.get("excludeFromResults")?, Field::bool)?,
        concurrency: opt(o.get("concurrency")?, Field::u64)?,
        rate: opt(o.get("rate")?, Field::f64)?,
        requests: opt(o.get("requests")?, Field::u64)?,
        duration: opt(o.get("duration")?, Field::duration)?,
        sessions: opt(o.get("sessions")?, Field::u64)?,
        users: opt(o.get("users")?, Field::u64)?,
        grace_period: opt(o.get("gracePeriod")?, Field::duration)?,
        smoothness: opt(o.get("smoothness")?, Field::f64)?,
        concurrency_ramp: opt(o.get("concurrencyRamp")?, Field::duration)?,
        rate_ramp: opt(o.get("rateRamp")?, Field::duration)?,
        prefill_concurrency: opt(o.get("prefillConcurrency")?, Field::u64)?,
        prefill_ramp: opt(o.get("prefillRamp")?, Field::duration)?,
        rate_series: opt(o.get("rateSeries")?, Field::string)?,
        auto_offset: opt(o.get("autoOffset")?, Field::bool)?,
        start_offset: opt(o.get("startOffset")?, Field::i64)?,
        end_offset: opt(o.get("endOffset")?, Field::i64)?,
        cancellation: opt(o.get("cancellation")?, cancellation)?,
    };
    let present: Vec<(String, u32)> = PHASE_KEYS
        .iter()
        .filter(|k| o.has(k))
        .map(|k| (k.to_string(), 0))
        .collect();
    let key_lines = o.entries_lines();
    o.finish()?;
    if p.name.is_none() {
        p.name = name.map(str::to_string);
    }
    if is_warmup(&p) {
        return Ok(p);
    }
    let kind = effective_type(&p);
    if p.rate.is_none()
        && p.rate_series.is_none()
        && kind != PhaseType::Concurrency
        && kind != PhaseType::FixedSchedule
    {
        return Err(Reported::at(
            f.node.line,
            format!("a {} phase needs 'rate'", kind.name()),
        ));
    }
    let allowed: &[&str] = match kind {
        PhaseType::Concurrency => &[],
        PhaseType::Poisson | PhaseType::Constant => &["rate", "rateRamp"],
        PhaseType::Gamma => &["rate", "rateRamp", "smoothness"],
        PhaseType::UserCentric => &["rate", "users"],
        PhaseType::FixedSchedule => &["autoOffset", "startOffset", "endOffset"],
    };
    const SPECIFIC: &[&str] = &[
        "rate",
        "rateRamp",
        "smoothness",
        "users",
        "autoOffset",
        "startOffset",
        "endOffset",
    ];
    for (key, _) in &present {
        if SPECIFIC.contains(&key.as_str()) && !allowed.contains(&key.as_str()) {
            let (written, line) = key_lines
                .iter()
                .find(|(k, _)| camel(k) == *key)
                .cloned()
                .unwrap_or((key.clone(), f.node.line));
            return Err(Reported::at(
                line,
                format!("'{written}' does not apply to a {} phase", kind.name()),
            ));
        }
    }
    Ok(p)
}

impl Obj<'_> {
    fn entries_lines(&self) -> Vec<(String, u32)> {
        self.entries
            .iter()
            .map(|(k, _)| (k.name.clone(), k.line))
            .collect()
    }
}

/// A profiling phase's type: as given, else guessed from its fields.
pub(crate) fn effective_type(p: &Phase) -> PhaseType {
    p.kind.unwrap_or(if p.users.is_some() {
        PhaseType::UserCentric
    } else if p.rate.is_some() {
        PhaseType::Poisson
    } else {
        PhaseType::Concurrency
    })
}

fn cancellation(f: &Field) -> R<Cancellation> {
    let mut o = Obj::new(*f)?;
    let c = Cancellation {
        rate: opt(o.get("rate")?, Field::f64)?,
        delay: opt(o.get("delay")?, Field::duration)?,
    };
    o.finish()?;
    Ok(c)
}
