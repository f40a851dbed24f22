//! The sampling distributions of AIPerf 0.13's run files (`config/distributions.py`), for
//! synthetic prompt and output lengths: a number (fixed), `{mean, stddev}` (normal, truncated
//! at 0), `{mean, median}` (log-normal), `{peaks: [...]}` (a weighted mixture) and
//! `{points: [{value, weight}]}` (empirical), each with optional `min`/`max` clamps. Given on
//! the command line as the same JSON (`--isl-distribution`, `--osl-distribution`).

use std::fmt;

use serde_json::{Map, Value};

use crate::rng::Rng;

/// One distribution.
#[derive(Debug, Clone, PartialEq)]
pub struct LengthDist {
    shape: Shape,
    min: Option<f64>,
    max: Option<f64>,
}

#[derive(Debug, Clone, PartialEq)]
enum Shape {
    Fixed(f64),
    Normal {
        mean: f64,
        stddev: f64,
    },
    LogNormal {
        mean: f64,
        median: f64,
    },
    /// (weight, distribution), two or more.
    Mixture(Vec<(f64, LengthDist)>),
    /// (value, weight), one or more.
    Empirical(Vec<(f64, f64)>),
}

const FORMS: &str = "a number, {mean, stddev}, {mean, median}, {peaks: [{..., weight}, ...]} or {points: [{value, weight}, ...]}";

impl LengthDist {
    /// Reads AIPerf's forms, telling them apart as AIPerf does (`type`, else `peaks`,
    /// `points`, `median`, `stddev`, `value`, `mean`); the error is one line.
    pub fn parse(v: &Value) -> Result<LengthDist, String> {
        if let Some(x) = v.as_f64() {
            return Ok(LengthDist {
                shape: Shape::Fixed(finite("value", x)?),
                min: None,
                max: None,
            });
        }
        let Some(o) = v.as_object() else {
            return Err(format!("expected {FORMS}, got {v}"));
        };
        let kind = match o.get("type").and_then(Value::as_str) {
            Some(t) => t,
            None if o.contains_key("peaks") => "multimodal",
            None if o.contains_key("points") => "empirical",
            None if o.contains_key("median") => "lognormal",
            None if o.contains_key("stddev") => "normal",
            None if o.contains_key("value") => "fixed",
            None if o.contains_key("mean") => "normal",
            None => {
                return Err(format!(
                    "cannot tell the distribution from its keys; expected {FORMS}"
                ))
            }
        };
        let shape = match kind {
            "fixed" => Shape::Fixed(finite("value", number(o, "value")?)?),
            "normal" => normal(o)?,
            "lognormal" => lognormal(o)?,
            "multimodal" => mixture(o)?,
            "empirical" => empirical(o)?,
            other => {
                return Err(format!(
                    "unknown distribution type '{other}' (fixed, normal, lognormal, multimodal, empirical)"
                ))
            }
        };
        let allowed: &[&str] = match kind {
            "fixed" => &["value"],
            "normal" => &["mean", "stddev"],
            "lognormal" => &["mean", "median"],
            "multimodal" => &["peaks"],
            _ => &["points"],
        };
        if let Some(k) = o.keys().find(|k| {
            !allowed.contains(&k.as_str())
                && !["type", "min", "max", "weight"].contains(&k.as_str())
        }) {
            return Err(format!("unknown key '{k}' in a {kind} distribution"));
        }
        let bound = |name: &str| -> Result<Option<f64>, String> {
            o.get(name)
                .map(|_| number(o, name).and_then(|x| finite(name, x)))
                .transpose()
        };
        let (min, max) = (bound("min")?, bound("max")?);
        if let (Some(lo), Some(hi)) = (min, max) {
            if lo > hi {
                return Err(format!(
                    "Distribution bounds invalid: min={lo} > max={hi}; swap them or remove one."
                ));
            }
        }
        Ok(LengthDist { shape, min, max })
    }

    /// The same distribution, never drawing above `ceiling` (a client limit on top of any
    /// `max` the user gave).
    pub fn capped(mut self, ceiling: f64) -> LengthDist {
        self.max = Some(self.max.map_or(ceiling, |m| m.min(ceiling)));
        self
    }

    /// One draw, clamped into `[min, max]`.
    pub fn sample(&self, rng: &mut Rng) -> f64 {
        let v = match &self.shape {
            Shape::Fixed(x) => *x,
            Shape::Normal { mean, stddev } if *stddev <= 0.0 => *mean,
            Shape::Normal { mean, stddev } => positive_normal(rng, *mean, *stddev),
            Shape::LogNormal { mean, median } => match lognormal_sigma(*mean, *median) {
                0.0 => *mean,
                sigma => (median.ln() + sigma * rng.standard_normal()).exp(),
            },
            Shape::Mixture(peaks) => {
                let total: f64 = peaks.iter().map(|(w, _)| w).sum();
                let r = rng.uniform() * total;
                let mut cumulative = 0.0;
                let mut pick = &peaks[peaks.len() - 1].1;
                for (w, d) in peaks {
                    cumulative += w;
                    if r < cumulative {
                        pick = d;
                        break;
                    }
                }
                pick.sample(rng)
            }
            Shape::Empirical(points) => {
                let total: f64 = points.iter().map(|(_, w)| w).sum();
                let r = rng.uniform() * total;
                let mut cumulative = 0.0;
                let mut pick = points[points.len() - 1].0;
                for (value, w) in points {
                    cumulative += w;
                    if r < cumulative {
                        pick = *value;
                        break;
                    }
                }
                pick
            }
        };
        v.max(self.min.unwrap_or(f64::MIN))
            .min(self.max.unwrap_or(f64::MAX))
    }

    /// A whole length of at least 1 (AIPerf's `sample_int`: the ceiling).
    pub fn sample_int(&self, rng: &mut Rng) -> u32 {
        self.sample(rng).ceil().clamp(1.0, u32::MAX as f64) as u32
    }

    /// The analytic mean, before clamping (what the report's configured ISL/OSL shows).
    pub fn expected_value(&self) -> f64 {
        match &self.shape {
            Shape::Fixed(x) => *x,
            Shape::Normal { mean, .. } | Shape::LogNormal { mean, .. } => *mean,
            Shape::Mixture(peaks) => {
                let total: f64 = peaks.iter().map(|(w, _)| w).sum();
                peaks
                    .iter()
                    .map(|(w, d)| w / total * d.expected_value())
                    .sum()
            }
            Shape::Empirical(points) => {
                let total: f64 = points.iter().map(|(_, w)| w).sum();
                points.iter().map(|(v, w)| w / total * v).sum()
            }
        }
    }
}

/// AIPerf's `repr`: `normal(mean=512, stddev=50)`, `lognormal(mean=512, median=400)`, ...
impl fmt::Display for LengthDist {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.shape {
            Shape::Fixed(x) => write!(f, "fixed({x})"),
            Shape::Normal { mean, stddev } if *stddev <= 0.0 => write!(f, "normal({mean})"),
            Shape::Normal { mean, stddev } => write!(f, "normal(mean={mean}, stddev={stddev})"),
            Shape::LogNormal { mean, median } if median >= mean => write!(f, "lognormal({mean})"),
            Shape::LogNormal { mean, median } => {
                write!(f, "lognormal(mean={mean}, median={median})")
            }
            Shape::Mixture(peaks) => {
                let total: f64 = peaks.iter().map(|(w, _)| w).sum();
                let parts: Vec<String> = peaks
                    .iter()
                    .map(|(w, d)| format!("{d} @ {:.0}%", w / total * 100.0))
                    .collect();
                write!(f, "multimodal({})", parts.join(", "))
            }
            Shape::Empirical(points) => {
                let total: f64 = points.iter().map(|(_, w)| w).sum();
                let parts: Vec<String> = points
                    .iter()
                    .map(|(v, w)| format!("{v} @ {:.0}%", w / total * 100.0))
                    .collect();
                write!(f, "empirical({})", parts.join(", "))
            }
        }
    }
}

/// Log-normal with the given mean and median: sigma = sqrt(2 ln(mean / median)).
fn lognormal_sigma(mean: f64, median: f64) -> f64 {
    if median >= mean {
        0.0
    } else {
        (2.0 * (mean / median).ln()).sqrt()
    }
}

/// A normal draw redrawn while negative (AIPerf's `sample_positive_normal`).
fn positive_normal(rng: &mut Rng, mean: f64, stddev: f64) -> f64 {
    let mut x = mean;
    for _ in 0..10_000 {
        x = mean + stddev * rng.standard_normal();
        if x >= 0.0 {
            return x;
        }
    }
    x.max(0.0)
}

fn number(o: &Map<String, Value>, key: &str) -> Result<f64, String> {
    match o.get(key) {
        Some(v) => v
            .as_f64()
            .ok_or_else(|| format!("'{key}' must be a number, got {v}")),
        None => Err(format!("'{key}' is required")),
    }
}

fn finite(name: &str, x: f64) -> Result<f64, String> {
    if x.is_finite() {
        Ok(x)
    } else {
        Err(format!("'{name}' must be finite, got {x}"))
    }
}

fn normal(o: &Map<String, Value>) -> Result<Shape, String> {
    let mean = finite("mean", number(o, "mean")?)?;
    let stddev = match o.get("stddev") {
        Some(_) => finite("stddev", number(o, "stddev")?)?,
        None => 0.0,
    };
    if mean < 0.0 || stddev < 0.0 {
        return Err(format!("a normal distribution needs mean >= 0 and stddev >= 0, got mean {mean}, stddev {stddev}"));
    }
    Ok(Shape::Normal { mean, stddev })
}

fn lognormal(o: &Map<String, Value>) -> Result<Shape, String> {
    let mean = finite("mean", number(o, "mean")?)?;
    let median = finite("median", number(o, "median")?)?;
    if mean <= 0.0 || median <= 0.0 {
        return Err(format!(
            "a log-normal distribution needs mean > 0 and median > 0, got {mean} and {median}"
        ));
    }
    if median > mean {
        return Err(format!(
            "Log-normal median ({median}) must be <= mean ({mean})."
        ));
    }
    Ok(Shape::LogNormal { mean, median })
}

fn weight(o: &Map<String, Value>, positive: bool) -> Result<f64, String> {
    let w = match o.get("weight") {
        Some(_) => finite("weight", number(o, "weight")?)?,
        None => 1.0,
    };
    if w < 0.0 || (positive && w == 0.0) {
        return Err(format!(
            "'weight' must be {}, got {w}",
            if positive { "> 0" } else { ">= 0" }
        ));
    }
    Ok(w)
}

fn mixture(o: &Map<String, Value>) -> Result<Shape, String> {
    let peaks = o
        .get("peaks")
        .and_then(Value::as_array)
        .ok_or("'peaks' must be a list")?;
    if peaks.len() < 2 {
        return Err("peaks requires at least 2 entries".into());
    }
    let mut out = Vec::with_capacity(peaks.len());
    for (i, p) in peaks.iter().enumerate() {
        let fields = p
            .as_object()
            .ok_or_else(|| format!("peak {i}: expected a mapping, got {p}"))?;
        // `{distribution: {...}, weight}` (AIPerf's canonical form) or the inline form.
        let w = weight(fields, false).map_err(|e| format!("peak {i}: {e}"))?;
        let inner = match fields.get("distribution") {
            Some(d) => d.clone(),
            None => Value::Object(
                fields
                    .iter()
                    .filter(|(k, _)| k.as_str() != "weight")
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
            ),
        };
        out.push((
            w,
            LengthDist::parse(&inner).map_err(|e| format!("peak {i}: {e}"))?,
        ));
    }
    if out.iter().all(|(w, _)| *w == 0.0) {
        return Err("the peaks' weights are all 0".into());
    }
    Ok(Shape::Mixture(out))
}

fn empirical(o: &Map<String, Value>) -> Result<Shape, String> {
    let points = o
        .get("points")
        .and_then(Value::as_array)
        .ok_or("'points' must be a list")?;
    if points.is_empty() {
        return Err("Empirical distribution requires at least 1 point".into());
    }
    let mut out = Vec::with_capacity(points.len());
    for (i, p) in points.iter().enumerate() {
        let fields = p
            .as_object()
            .ok_or_else(|| format!("point {i}: expected {{value, weight}}, got {p}"))?;
        let value = number(fields, "value")
            .and_then(|v| finite("value", v))
            .map_err(|e| format!("point {i}: {e}"))?;
        out.push((
            value,
            weight(fields, true).map_err(|e| format!("point {i}: {e}"))?,
        ));
    }
    Ok(Shape::Empirical(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn dist(v: Value) -> LengthDist {
        LengthDist::parse(&v).unwrap()
    }

    fn mean_of(d: &LengthDist, n: usize) -> f64 {
        let mut rng = Rng::derive(7, "test");
        (0..n).map(|_| d.sample(&mut rng)).sum::<f64>() / n as f64
    }

    #[test]
    fn aiperfs_forms_are_told_apart_by_their_keys() {
        assert_eq!(dist(json!(512)).to_string(), "fixed(512)");
        assert_eq!(dist(json!({"mean": 512})).to_string(), "normal(512)");
        assert_eq!(
            dist(json!({"mean": 512, "stddev": 50})).to_string(),
            "normal(mean=512, stddev=50)"
        );
        assert_eq!(
            dist(json!({"mean": 512, "median": 400})).to_string(),
            "lognormal(mean=512, median=400)"
        );
        assert_eq!(
            dist(json!({"peaks": [{"mean": 256, "median": 214, "weight": 70}, {"mean": 2048, "weight": 30}]}))
                .to_string(),
            "multimodal(lognormal(mean=256, median=214) @ 70%, normal(2048) @ 30%)"
        );
        assert_eq!(
            dist(json!({"points": [{"value": 128, "weight": 3}, {"value": 512}]})).to_string(),
            "empirical(128 @ 75%, 512 @ 25%)"
        );
        assert_eq!(
            dist(json!({"type": "fixed", "value": 9})).to_string(),
            "fixed(9)"
        );
    }

    #[test]
    fn expected_values_are_worked_out_by_hand() {
        // 0.7 * 256 + 0.3 * 2048 = 179.2 + 614.4 = 793.6
        let m = dist(
            json!({"peaks": [{"mean": 256, "median": 214, "weight": 70}, {"mean": 2048, "median": 1891, "weight": 30}]}),
        );
        assert!((m.expected_value() - 793.6).abs() < 1e-9);
        // (128 * 3 + 512 * 1) / 4 = 224
        let e = dist(json!({"points": [{"value": 128, "weight": 3}, {"value": 512}]}));
        assert_eq!(e.expected_value(), 224.0);
    }

    #[test]
    fn samples_follow_the_distribution() {
        // Log-normal with mean 512 and median 400: the sample mean comes near 512 and half
        // the draws fall under 400.
        let d = dist(json!({"mean": 512, "median": 400}));
        let m = mean_of(&d, 200_000);
        assert!((m - 512.0).abs() < 512.0 * 0.02, "mean {m}");
        let mut rng = Rng::derive(3, "median");
        let below = (0..100_000).filter(|_| d.sample(&mut rng) < 400.0).count();
        assert!((below as f64 / 100_000.0 - 0.5).abs() < 0.01, "{below}");
        // Empirical: exactly the listed values, at their weights.
        let e = dist(json!({"points": [{"value": 128, "weight": 3}, {"value": 512}]}));
        let mut rng = Rng::derive(4, "points");
        let draws: Vec<f64> = (0..40_000).map(|_| e.sample(&mut rng)).collect();
        assert!(draws.iter().all(|v| *v == 128.0 || *v == 512.0));
        let share = draws.iter().filter(|v| **v == 128.0).count() as f64 / 40_000.0;
        assert!((share - 0.75).abs() < 0.01, "{share}");
        // Clamps apply to every shape; lengths are whole and at least 1.
        let c = dist(json!({"mean": 100, "stddev": 80, "min": 50, "max": 120}));
        let mut rng = Rng::derive(5, "clamp");
        assert!((0..10_000).all(|_| (50.0..=120.0).contains(&c.sample(&mut rng))));
        assert_eq!(dist(json!(0.2)).sample_int(&mut rng), 1);
        assert_eq!(dist(json!(7.2)).sample_int(&mut rng), 8);
    }

    #[test]
    fn mistakes_are_named() {
        let err = |v: Value| LengthDist::parse(&v).unwrap_err();
        assert_eq!(
            err(json!({"mean": 100, "median": 200})),
            "Log-normal median (200) must be <= mean (100)."
        );
        assert_eq!(
            err(json!({"peaks": [{"mean": 1}]})),
            "peaks requires at least 2 entries"
        );
        assert_eq!(
            err(json!({"points": []})),
            "Empirical distribution requires at least 1 point"
        );
        assert_eq!(
            err(json!({"mean": 10, "min": 5, "max": 1})),
            "Distribution bounds invalid: min=5 > max=1; swap them or remove one."
        );
        assert_eq!(
            err(json!({"mean": 10, "stdev": 1})),
            "unknown key 'stdev' in a normal distribution"
        );
        assert!(err(json!({"foo": 1})).starts_with("cannot tell the distribution from its keys"));
        assert!(err(json!({"peaks": [{"mean": 1}, {"median": 2}]})).starts_with("peak 1: "));
    }
}
