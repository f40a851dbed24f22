//! Rankings (rerank) APIs, never streamed: NVIDIA NIM, Hugging Face TEI and Cohere.
//!
//! A turn's query is its `query` text (dataset texts named `query`/`queries`), else its first
//! text; its passages are the texts named `passages`, else the remaining texts.

use aiperf_core::Turn;
use serde_json::{json, Map, Value};

use crate::parse::keep_usage;
use crate::{Endpoint, PayloadOptions, ResponseData};

/// The query and passages of a turn.
pub fn query_and_passages(turn: &Turn) -> (&str, Vec<&str>) {
    if let Some(q) = turn.query.as_deref() {
        return (q, turn.texts.iter().map(String::as_str).collect());
    }
    match turn.texts.split_first() {
        Some((q, rest)) => (q.as_str(), rest.iter().map(String::as_str).collect()),
        None => ("", Vec::new()),
    }
}

/// The query and passages of a turn, refusing a turn a rankings API cannot take: every
/// request would fail with 400.
fn checked(turn: &Turn) -> Result<(&str, Vec<&str>), String> {
    let (q, passages) = query_and_passages(turn);
    if q.trim().is_empty() {
        return Err(
            "a rankings request needs a query: give a text named 'query' (or a first text)".into(),
        );
    }
    if passages.is_empty() {
        return Err("a rankings request needs passages to rank: give texts named 'passages' (or more than one text) besides the query".into());
    }
    Ok((q, passages))
}

/// The scored passages of a rankings answer: NIM `rankings`, Cohere/TEI `results`, or TEI's
/// top-level list.
fn parse_rankings(json: &str) -> (Option<ResponseData>, Option<Value>) {
    let Ok(doc) = serde_json::from_str::<Value>(json) else {
        return (None, None);
    };
    let list = match &doc {
        Value::Array(items) => Some(items),
        Value::Object(o) => o
            .get("rankings")
            .or_else(|| o.get("results"))
            .and_then(Value::as_array),
        _ => None,
    };
    let scored = list.filter(|l| {
        !l.is_empty()
            && l.iter().all(|r| {
                r.get("index").is_some()
                    && ["logit", "score", "relevance_score"]
                        .iter()
                        .any(|k| r.get(*k).is_some_and(Value::is_number))
            })
    });
    (
        scored.map(|l| ResponseData::Rankings(l.len())),
        keep_usage(doc.get("usage").cloned()),
    )
}

/// `nim_rankings`: `{"model", "query": {"text"}, "passages": [{"text"}...]}`.
pub struct NimRankings;

impl Endpoint for NimRankings {
    fn payload(&self, turn: &Turn, opts: &PayloadOptions) -> Result<Map<String, Value>, String> {
        let (q, passages) = checked(turn)?;
        let mut body = Map::new();
        body.insert("model".into(), Value::String(opts.model.clone()));
        body.insert("query".into(), json!({"text": q}));
        body.insert(
            "passages".into(),
            Value::Array(passages.iter().map(|p| json!({"text": p})).collect()),
        );
        Ok(body)
    }

    fn input_texts<'t>(&self, turn: &'t Turn) -> Vec<&'t str> {
        let (q, mut p) = query_and_passages(turn);
        p.insert(0, q);
        p
    }

    fn parse_json(&self, json: &str) -> (Option<ResponseData>, Option<Value>) {
        parse_rankings(json)
    }

    fn ranks_passages(&self) -> bool {
        true
    }
}

/// `hf_tei_rankings`: `{"query", "texts": [...]}` (TEI takes no model).
pub struct HfTeiRankings;

impl Endpoint for HfTeiRankings {
    fn payload(&self, turn: &Turn, _opts: &PayloadOptions) -> Result<Map<String, Value>, String> {
        let (q, passages) = checked(turn)?;
        let mut body = Map::new();
        body.insert("query".into(), json!(q));
        body.insert("texts".into(), json!(passages));
        Ok(body)
    }

    fn input_texts<'t>(&self, turn: &'t Turn) -> Vec<&'t str> {
        NimRankings.input_texts(turn)
    }

    fn parse_json(&self, json: &str) -> (Option<ResponseData>, Option<Value>) {
        parse_rankings(json)
    }

    fn ranks_passages(&self) -> bool {
        true
    }
}

/// `cohere_rankings`: `{"model", "query", "documents": [...]}`.
pub struct CohereRankings;

impl Endpoint for CohereRankings {
    fn payload(&self, turn: &Turn, opts: &PayloadOptions) -> Result<Map<String, Value>, String> {
        let (q, passages) = checked(turn)?;
        let mut body = Map::new();
        body.insert("model".into(), Value::String(opts.model.clone()));
        body.insert("query".into(), json!(q));
        body.insert("documents".into(), json!(passages));
        Ok(body)
    }

    fn input_texts<'t>(&self, turn: &'t Turn) -> Vec<&'t str> {
        NimRankings.input_texts(turn)
    }

    fn parse_json(&self, json: &str) -> (Option<ResponseData>, Option<Value>) {
        parse_rankings(json)
    }

    fn ranks_passages(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn turn() -> Turn {
        Turn {
            texts: vec!["q".into(), "p1".into(), "p2".into()],
            ..Default::default()
        }
    }

    #[test]
    fn payload_golden() {
        let o = PayloadOptions {
            model: "r".into(),
            ..Default::default()
        };
        let s = |e: &dyn Endpoint| serde_json::to_string(&e.payload(&turn(), &o).unwrap()).unwrap();
        assert_eq!(
            s(&NimRankings),
            r#"{"model":"r","query":{"text":"q"},"passages":[{"text":"p1"},{"text":"p2"}]}"#
        );
        assert_eq!(s(&HfTeiRankings), r#"{"query":"q","texts":["p1","p2"]}"#);
        assert_eq!(
            s(&CohereRankings),
            r#"{"model":"r","query":"q","documents":["p1","p2"]}"#
        );
        let named = Turn {
            query: Some("Q".into()),
            texts: vec!["a".into()],
            ..Default::default()
        };
        assert_eq!(
            serde_json::to_string(&HfTeiRankings.payload(&named, &o).unwrap()).unwrap(),
            r#"{"query":"Q","texts":["a"]}"#
        );
        assert_eq!(NimRankings.input_texts(&named), vec!["Q", "a"]);
    }

    /// A turn without passages (or without a query) is refused when bodies are rendered, not
    /// sent to fail with 400.
    #[test]
    fn a_turn_without_passages_is_refused() {
        let o = PayloadOptions::default();
        let lone = Turn {
            texts: vec!["only a query".into()],
            ..Default::default()
        };
        let empty = Turn::default();
        for e in [
            &NimRankings as &dyn Endpoint,
            &HfTeiRankings,
            &CohereRankings,
        ] {
            assert!(e.ranks_passages());
            assert!(e
                .payload(&lone, &o)
                .unwrap_err()
                .starts_with("a rankings request needs passages"));
            assert!(e
                .payload(&empty, &o)
                .unwrap_err()
                .starts_with("a rankings request needs a query"));
        }
    }

    #[test]
    fn parses_each_shape() {
        let nim = r#"{"rankings":[{"index":1,"logit":0.5},{"index":0,"logit":-1.0}]}"#;
        assert_eq!(parse_rankings(nim).0, Some(ResponseData::Rankings(2)));
        let cohere = r#"{"results":[{"index":0,"relevance_score":0.9}],"meta":{}}"#;
        assert_eq!(parse_rankings(cohere).0, Some(ResponseData::Rankings(1)));
        let tei = r#"[{"index":0,"score":0.1},{"index":1,"score":0.2}]"#;
        assert_eq!(parse_rankings(tei).0, Some(ResponseData::Rankings(2)));
        assert_eq!(parse_rankings(r#"{"results":[]}"#).0, None);
        assert_eq!(parse_rankings(r#"{"results":[{"index":0}]}"#).0, None);
    }
}
