//! Fault injection: what a misbehaving inference server does, on demand.
//!
//! A fault is `KIND[:PARAM]`, chosen per request by the `x-mock-fault` header or for every
//! `EVERY`-th request by `--fault KIND[:PARAM][@EVERY]` (counting the mock's generation
//! requests, so counts are exact whatever the client's concurrency).
//!
//! | kind | effect |
//! |---|---|
//! | `http:CODE` | answer with status CODE (`Retry-After: 1` on 429 and 503) |
//! | `reset` | close the connection before any response byte |
//! | `reset_mid_stream` | send half the body, then reset the connection |
//! | `stall:SECS` / `slow_first_byte:SECS` | wait SECS with the connection open before the head |
//! | `no_done` | end the stream without `data: [DONE]` |
//! | `malformed_sse` | insert a line that is not SSE |
//! | `invalid_json` | insert a `data:` event whose JSON is broken |
//! | `error_event` | after half the tokens, send `event: error` and end |
//! | `huge:BYTES` | pad the first token with BYTES bytes of text |

/// One injected misbehaviour.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Fault {
    Http(u16),
    Reset,
    ResetMidStream,
    Delay(f64),
    NoDone,
    MalformedSse,
    InvalidJson,
    ErrorEvent,
    Huge(usize),
}

impl Fault {
    pub fn parse(s: &str) -> Result<Fault, String> {
        let (kind, param) = match s.split_once(':') {
            Some((k, p)) => (k.trim(), Some(p.trim())),
            None => (s.trim(), None),
        };
        let num = |what: &str| -> Result<f64, String> {
            param
                .and_then(|p| p.parse::<f64>().ok())
                .filter(|v| *v >= 0.0)
                .ok_or_else(|| format!("fault '{s}': {kind} needs :{what}"))
        };
        Ok(match kind {
            "http" => {
                let code = num("CODE")? as u16;
                if !(400..600).contains(&code) {
                    return Err(format!("fault '{s}': status must be 400-599"));
                }
                Fault::Http(code)
            }
            "reset" => Fault::Reset,
            "reset_mid_stream" => Fault::ResetMidStream,
            "stall" | "slow_first_byte" => Fault::Delay(num("SECS")?),
            "no_done" => Fault::NoDone,
            "malformed_sse" => Fault::MalformedSse,
            "invalid_json" => Fault::InvalidJson,
            "error_event" => Fault::ErrorEvent,
            "huge" => Fault::Huge(num("BYTES")? as usize),
            other => return Err(format!("unknown fault '{other}'")),
        })
    }
}

/// `--fault KIND[:PARAM][@EVERY]`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FaultRule {
    pub fault: Fault,
    pub every: u64,
}

impl FaultRule {
    pub fn parse(s: &str) -> Result<FaultRule, String> {
        let (spec, every) = match s.rsplit_once('@') {
            Some((f, e)) => (
                f,
                e.parse::<u64>()
                    .ok()
                    .filter(|e| *e > 0)
                    .ok_or(format!("fault '{s}': @EVERY must be >= 1"))?,
            ),
            None => (s, 1),
        };
        Ok(FaultRule {
            fault: Fault::parse(spec)?,
            every,
        })
    }
}

/// The fault for generation request number `n` (0-based): the first rule whose `every` divides
/// `n + 1`.
pub fn pick(rules: &[FaultRule], n: u64) -> Option<Fault> {
    rules
        .iter()
        .find(|r| (n + 1).is_multiple_of(r.every))
        .map(|r| r.fault)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_rules() {
        assert_eq!(
            FaultRule::parse("http:503@4").unwrap(),
            FaultRule {
                fault: Fault::Http(503),
                every: 4
            }
        );
        assert_eq!(
            FaultRule::parse("stall:2.5").unwrap().fault,
            Fault::Delay(2.5)
        );
        assert_eq!(FaultRule::parse("reset_mid_stream").unwrap().every, 1);
        assert!(FaultRule::parse("http:200").is_err());
        assert!(FaultRule::parse("nope").is_err());
        assert!(FaultRule::parse("reset@0").is_err());
    }

    #[test]
    fn every_nth_request() {
        let rules = [
            FaultRule::parse("reset@3").unwrap(),
            FaultRule::parse("http:500@2").unwrap(),
        ];
        let got: Vec<Option<Fault>> = (0..6).map(|n| pick(&rules, n)).collect();
        assert_eq!(
            got,
            [
                None,
                Some(Fault::Http(500)),
                Some(Fault::Reset),
                Some(Fault::Http(500)),
                None,
                Some(Fault::Reset)
            ]
        );
    }
}
