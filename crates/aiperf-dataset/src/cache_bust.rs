//! `--cache-bust`: a marker put into each conversation so a server's prefix cache cannot serve
//! one conversation's opening tokens from another's.
//!
//! Two families, as in AIPerf 0.13:
//! - per-trajectory markers (`system_prefix`, `system_suffix`, `first_turn_prefix`,
//!   `first_turn_suffix`): `[rid:<12 hex>]` from SHA-256 of `"<run>:<pass>:<pass>:<trace id>"`,
//!   before the text with a blank line (`[rid:…]\n\n`) or after it (`\n\n[rid:…]`). System
//!   targets mark the system message, or the first user message when there is none.
//! - warm-up isolation (`warmup_isolation_system`, `warmup_isolation_first_turn`): the constant
//!   `[warmup]\n\n` in front of the system message or first user message, in the warm-up phase
//!   only, so profiling starts from a cache the warm-up could not fill with its own prompts.

use aiperf_core::Conversation;
use sha2::{Digest, Sha256};

use crate::tokenizer::TextTokenizer;

/// What warm-up requests carry under the warm-up isolation targets.
pub const WARMUP_MARKER: &str = "[warmup]\n\n";

/// Hex digits of the digest kept in a marker (48 bits: ample within one run).
const DIGEST_LEN: usize = 12;

/// `--cache-bust`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CacheBustTarget {
    #[default]
    None,
    SystemPrefix,
    SystemSuffix,
    FirstTurnPrefix,
    FirstTurnSuffix,
    WarmupIsolationSystem,
    WarmupIsolationFirstTurn,
}

impl CacheBustTarget {
    pub const ALL: [Self; 7] = [
        Self::None,
        Self::SystemPrefix,
        Self::SystemSuffix,
        Self::FirstTurnPrefix,
        Self::FirstTurnSuffix,
        Self::WarmupIsolationSystem,
        Self::WarmupIsolationFirstTurn,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::SystemPrefix => "system_prefix",
            Self::SystemSuffix => "system_suffix",
            Self::FirstTurnPrefix => "first_turn_prefix",
            Self::FirstTurnSuffix => "first_turn_suffix",
            Self::WarmupIsolationSystem => "warmup_isolation_system",
            Self::WarmupIsolationFirstTurn => "warmup_isolation_first_turn",
        }
    }

    /// The target named `s` (case-insensitive, as AIPerf's enums are).
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|t| t.as_str().eq_ignore_ascii_case(s.trim()))
    }

    /// A per-trajectory digest marker, the same in warm-up and profiling.
    pub fn is_per_trajectory(self) -> bool {
        matches!(
            self,
            Self::SystemPrefix | Self::SystemSuffix | Self::FirstTurnPrefix | Self::FirstTurnSuffix
        )
    }

    /// The constant `[warmup]` marker, sent in the warm-up phase only.
    pub fn is_warmup_isolation(self) -> bool {
        matches!(
            self,
            Self::WarmupIsolationSystem | Self::WarmupIsolationFirstTurn
        )
    }

    /// Whether the marker aims at the system message (falling back to the first user message).
    pub fn aims_at_system(self) -> bool {
        matches!(
            self,
            Self::SystemPrefix | Self::SystemSuffix | Self::WarmupIsolationSystem
        )
    }

    /// Whether the marker goes before the text (token 0) rather than after it.
    pub fn is_prefix(self) -> bool {
        !matches!(
            self,
            Self::SystemSuffix | Self::FirstTurnSuffix | Self::None
        )
    }
}

/// The marker text of trajectory `pass` on trace `trace_id` in run `run`: AIPerf's digest and
/// placement (a prefix ends with a blank line, a suffix starts with one). `None` for `none`;
/// the constant warm-up marker for the warm-up isolation targets.
pub fn marker(run: &str, pass: u64, trace_id: &str, target: CacheBustTarget) -> Option<String> {
    if target == CacheBustTarget::None {
        return None;
    }
    if target.is_warmup_isolation() {
        return Some(WARMUP_MARKER.to_string());
    }
    let digest = Sha256::digest(format!("{run}:{pass}:{pass}:{trace_id}").as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    let rid = format!("[rid:{}]", &hex[..DIGEST_LEN]);
    Some(if target.is_prefix() {
        format!("{rid}\n\n")
    } else {
        format!("\n\n{rid}")
    })
}

/// Average token count of `target`'s marker (eight sample markers, rounded), as AIPerf
/// estimates it to keep the marked prompt at `--isl`. 0 for `none` and for the warm-up
/// isolation targets (profiling requests carry no marker).
pub fn marker_cost(target: CacheBustTarget, tokenizer: &TextTokenizer) -> usize {
    if !target.is_per_trajectory() {
        return 0;
    }
    let total: usize = (0..8u64)
        .filter_map(|i| marker("estimator", i, &format!("estimator-{i}"), target))
        .map(|m| tokenizer.count(&m))
        .sum();
    (total as f64 / 8.0).round() as usize
}

/// Whether the marker of `target` lands in the first user message (a first-turn target, or a
/// system target when the conversations have no system message).
pub fn lands_on_first_turn(target: CacheBustTarget, has_system: bool) -> bool {
    target != CacheBustTarget::None && !(target.aims_at_system() && has_system)
}

/// Tokens to take off each conversation's first prompt so that, with the marker in it, it
/// keeps its drawn ISL: the marker's cost when it lands there, else 0.
pub fn first_turn_reduction(
    target: CacheBustTarget,
    has_system: bool,
    tokenizer: &TextTokenizer,
) -> usize {
    if lands_on_first_turn(target, has_system) {
        marker_cost(target, tokenizer)
    } else {
        0
    }
}

/// Puts `marker` at the edge of a text: before it for prefix targets, after it otherwise.
fn at_edge(text: &str, marker: &str, target: CacheBustTarget) -> String {
    if target.is_prefix() {
        format!("{marker}{text}")
    } else {
        format!("{text}{marker}")
    }
}

/// Marks the first user text of `c` (a turn's first text; a marker-only text if it has none).
fn mark_first_user_text(c: &mut Conversation, marker: &str, target: CacheBustTarget) {
    let Some(turn) = c.turns.first_mut() else {
        return;
    };
    match turn.texts.first_mut() {
        Some(t) => *t = at_edge(t, marker, target),
        None => turn.texts.push(marker.to_string()),
    }
}

/// Marks every conversation with its own per-trajectory marker (trajectory `i` for the i-th
/// conversation, keyed by `run` and its session id), where `target` puts it. `has_system` says
/// whether the conversations will carry a system message: a system target then marks it
/// (`c.system` is set to what [`join_system`] combines with the system prompt added later),
/// otherwise the first user message, as AIPerf falls back. Other targets do nothing here.
pub fn mark_trajectories(
    conversations: &mut [Conversation],
    target: CacheBustTarget,
    run: &str,
    has_system: bool,
) {
    if !target.is_per_trajectory() {
        return;
    }
    for (i, c) in conversations.iter_mut().enumerate() {
        let Some(m) = marker(run, i as u64, &c.session_id, target) else {
            continue;
        };
        if target.aims_at_system() && has_system {
            c.system = Some(match c.system.take() {
                Some(own) => at_edge(&own, &m, target),
                // A suffix joined by `join_system`'s blank line is exactly `\n\n[rid:…]`.
                None => m.trim_start().to_string(),
            });
        } else {
            mark_first_user_text(c, &m, target);
        }
    }
}

/// The system message of a conversation whose own system text is `own`, with the run-wide
/// system prompt `shared` added: `shared`, a blank line, `own`; except that a conversation
/// marked by [`mark_trajectories`] with a prefix marker keeps it at token 0.
pub fn join_system(shared: &str, own: &str) -> String {
    if is_prefix_marker(own) {
        format!("{own}{shared}")
    } else {
        format!("{shared}\n\n{own}")
    }
}

/// Whether `own` is exactly a per-trajectory prefix marker (`[rid:<12 hex>]\n\n`).
pub fn is_prefix_marker(own: &str) -> bool {
    own.strip_prefix("[rid:")
        .and_then(|r| r.strip_suffix("]\n\n"))
        .is_some_and(|hex| hex.len() == DIGEST_LEN && hex.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Whether `own` is exactly what [`mark_trajectories`] leaves for a system marker (either
/// placement), so the system prompt added later can make room for it.
pub fn is_system_marker(own: &str) -> bool {
    is_prefix_marker(own)
        || own
            .strip_prefix("[rid:")
            .and_then(|r| r.strip_suffix(']'))
            .is_some_and(|hex| {
                hex.len() == DIGEST_LEN && hex.bytes().all(|b| b.is_ascii_hexdigit())
            })
}

/// The first digest of `text` (`[rid:<12 hex>]`), by its byte range.
fn find_digest(text: &[u8]) -> Option<std::ops::Range<usize>> {
    let open = b"[rid:";
    (0..text.len().saturating_sub(open.len() + DIGEST_LEN)).find_map(|i| {
        let start = i + open.len();
        let end = start + DIGEST_LEN;
        (text[i..].starts_with(open)
            && text.get(end) == Some(&b']')
            && text[start..end].iter().all(u8::is_ascii_hexdigit))
        .then_some(start..end)
    })
}

/// A conversation's rendered first body with its marker's digest replaced by the one of
/// session `pass` (`None` when the body has no marker). AIPerf mints a marker per session, so
/// a conversation sent again gets a new one; the digest is ASCII hex of a fixed length, so the
/// body stays valid JSON of the same size. The prepared bodies carry the digests of passes
/// 0, 1, ... for conversations 0, 1, ..., which sequential sessions reproduce exactly.
pub fn restamp(body: &[u8], run: &str, pass: u64, trace_id: &str) -> Option<Vec<u8>> {
    let range = find_digest(body)?;
    let fresh = marker(run, pass, trace_id, CacheBustTarget::FirstTurnPrefix)?;
    let digest = &fresh.as_bytes()[5..5 + DIGEST_LEN];
    let mut out = body.to_vec();
    out[range].copy_from_slice(digest);
    Some(out)
}

/// A warm-up copy of `c` under a warm-up isolation target: `[warmup]\n\n` in front of its
/// system message (`warmup_isolation_system`, when it has one) or its first user message.
/// For the engine to send in the warm-up phase in place of the conversation's first turn.
pub fn warmup_copy(c: &Conversation, target: CacheBustTarget) -> Option<Conversation> {
    if !target.is_warmup_isolation() {
        return None;
    }
    let mut copy = c.clone();
    match copy.system.as_mut() {
        Some(s) if target.aims_at_system() => *s = format!("{WARMUP_MARKER}{s}"),
        _ => mark_first_user_text(&mut copy, WARMUP_MARKER, target),
    }
    Some(copy)
}

#[cfg(test)]
mod tests {
    use super::*;
    use aiperf_core::Turn;

    fn conv(id: &str, text: &str) -> Conversation {
        Conversation::single(
            id.to_string(),
            Turn {
                texts: vec![text.to_string()],
                ..Default::default()
            },
        )
    }

    #[test]
    fn names_round_trip() {
        for t in CacheBustTarget::ALL {
            assert_eq!(CacheBustTarget::parse(t.as_str()), Some(t));
        }
        assert_eq!(
            CacheBustTarget::parse("First_Turn_Prefix"),
            Some(CacheBustTarget::FirstTurnPrefix)
        );
        assert_eq!(CacheBustTarget::parse("first_turn"), None);
    }

    /// The digest is SHA-256 of "run:pass:pass:trace", first 12 hex digits (worked out with
    /// `printf 'r:0:0:session_000000' | sha256sum`).
    #[test]
    fn markers_follow_aiperfs_digest_and_placement() {
        let p = marker("r", 0, "session_000000", CacheBustTarget::SystemPrefix).unwrap();
        let hex = {
            let d = Sha256::digest(b"r:0:0:session_000000");
            d.iter().map(|b| format!("{b:02x}")).collect::<String>()
        };
        assert_eq!(p, format!("[rid:{}]\n\n", &hex[..12]));
        let s = marker("r", 0, "session_000000", CacheBustTarget::FirstTurnSuffix).unwrap();
        assert_eq!(s, format!("\n\n[rid:{}]", &hex[..12]));
        assert_ne!(
            marker("r", 1, "session_000000", CacheBustTarget::SystemPrefix),
            Some(p.clone())
        );
        assert_eq!(
            marker("r", 9, "x", CacheBustTarget::WarmupIsolationSystem).as_deref(),
            Some(WARMUP_MARKER)
        );
        assert_eq!(marker("r", 9, "x", CacheBustTarget::None), None);
        assert!(is_prefix_marker(&p) && is_system_marker(&p));
        assert!(is_system_marker(s.trim_start()));
        assert!(!is_prefix_marker("[rid:xyz]\n\n") && !is_system_marker("own text"));
    }

    #[test]
    fn first_turn_and_fallback_marks() {
        let mut convs = vec![conv("a", "hello"), conv("b", "world")];
        mark_trajectories(&mut convs, CacheBustTarget::FirstTurnPrefix, "r", false);
        let m0 = marker("r", 0, "a", CacheBustTarget::FirstTurnPrefix).unwrap();
        assert_eq!(convs[0].turns[0].texts[0], format!("{m0}hello"));
        assert!(convs[1].turns[0].texts[0].ends_with("]\n\nworld"));
        assert_ne!(
            convs[0].turns[0].texts[0][..18],
            convs[1].turns[0].texts[0][..18]
        );

        // A system target without a system message falls back to the first user message.
        let mut convs = vec![conv("a", "hello")];
        mark_trajectories(&mut convs, CacheBustTarget::SystemSuffix, "r", false);
        let m = marker("r", 0, "a", CacheBustTarget::SystemSuffix).unwrap();
        assert_eq!(convs[0].turns[0].texts[0], format!("hello{m}"));
        assert_eq!(convs[0].system, None);

        // Warm-up isolation marks nothing up front.
        let mut convs = vec![conv("a", "hello")];
        mark_trajectories(
            &mut convs,
            CacheBustTarget::WarmupIsolationFirstTurn,
            "r",
            false,
        );
        assert_eq!(convs[0].turns[0].texts[0], "hello");
    }

    /// System markers end up at the edges of the system prompt added later.
    #[test]
    fn system_marks_combine_with_the_system_prompt() {
        type Want = fn(&str) -> String;
        let cases: [(CacheBustTarget, Want); 2] = [
            (CacheBustTarget::SystemPrefix, |m| format!("{m}Be brief.")),
            (CacheBustTarget::SystemSuffix, |m| format!("Be brief.{m}")),
        ];
        for (target, want) in cases {
            let mut convs = vec![conv("a", "hi")];
            mark_trajectories(&mut convs, target, "r", true);
            let own = convs[0].system.clone().unwrap();
            assert!(is_system_marker(&own));
            let m = marker("r", 0, "a", target).unwrap();
            assert_eq!(join_system("Be brief.", &own), want(&m));
            assert_eq!(
                convs[0].turns[0].texts[0], "hi",
                "the user text is untouched"
            );
        }
        assert_eq!(join_system("S", "own"), "S\n\nown");
    }

    #[test]
    fn restamping_replaces_only_the_digest() {
        let old = marker("7", 0, "session_000000", CacheBustTarget::SystemPrefix).unwrap();
        let body = serde_json::json!({"messages": [
            {"role": "system", "content": format!("{old}Be brief.")},
            {"role": "user", "content": "hi [rid:short] there"}
        ]})
        .to_string();
        let again = restamp(body.as_bytes(), "7", 0, "session_000000").unwrap();
        assert_eq!(again, body.as_bytes(), "pass 0 is what was prepared");
        let next = restamp(body.as_bytes(), "7", 5, "session_000000").unwrap();
        let want = marker("7", 5, "session_000000", CacheBustTarget::SystemPrefix).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&next).unwrap();
        assert_eq!(v["messages"][0]["content"], format!("{want}Be brief."));
        assert_eq!(v["messages"][1]["content"], "hi [rid:short] there");
        assert_eq!(restamp(b"{\"x\": \"[rid:short]\"}", "7", 1, "s"), None);
    }

    #[test]
    fn warmup_copies() {
        let mut c = conv("a", "hi");
        assert_eq!(
            warmup_copy(&c, CacheBustTarget::WarmupIsolationFirstTurn)
                .unwrap()
                .turns[0]
                .texts[0],
            "[warmup]\n\nhi"
        );
        c.system = Some("sys".into());
        let w = warmup_copy(&c, CacheBustTarget::WarmupIsolationSystem).unwrap();
        assert_eq!(w.system.as_deref(), Some("[warmup]\n\nsys"));
        assert_eq!(w.turns[0].texts[0], "hi");
        assert!(warmup_copy(&c, CacheBustTarget::SystemPrefix).is_none());
    }

    #[test]
    fn marker_costs() {
        let t = TextTokenizer::builtin().unwrap();
        let cost = marker_cost(CacheBustTarget::FirstTurnPrefix, &t);
        assert!((5..=14).contains(&cost), "{cost}");
        assert_eq!(marker_cost(CacheBustTarget::WarmupIsolationSystem, &t), 0);
        assert!(lands_on_first_turn(CacheBustTarget::SystemPrefix, false));
        assert!(!lands_on_first_turn(CacheBustTarget::SystemPrefix, true));
        assert!(lands_on_first_turn(CacheBustTarget::FirstTurnSuffix, true));
        assert!(!lands_on_first_turn(CacheBustTarget::None, false));
    }
}
