//! Agent graphs (`dag_jsonl`, agentic traces), resolved before the run: [`DagPlan`] turns the
//! dataset's branches into conversation indices and lists the roots (only roots are sampled as
//! sessions; children start only when a parent's branch fires). How children run is
//! `session.rs`'s (`spawn_child`, `start_pre_session`); the phase waits for them through
//! `context::DagTasks`.

use std::collections::HashMap;

use aiperf_core::{BranchMode, Conversation};
use anyhow::anyhow;

/// The dataset's agent graph, resolved to conversation indices.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DagPlan {
    /// Conversations sessions may start with (the sampler's index space).
    pub roots: Vec<usize>,
    /// Per conversation, the branches its turns fire.
    pub branches: Vec<Vec<BranchPlan>>,
}

/// One branch of a conversation, children resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct BranchPlan {
    pub id: String,
    /// Fired once this turn answered; `None`: before the first turn.
    pub after_turn: Option<usize>,
    pub mode: BranchMode,
    pub children: Vec<usize>,
    pub background: bool,
    /// This turn is sent only once the children finished.
    pub join_before: Option<usize>,
}

impl DagPlan {
    /// The plan of `conversations`, or `None` when none takes part in a graph. Fails on a child
    /// that is not in the dataset, or a branch or join naming a turn the conversation lacks.
    pub fn build(conversations: &[Conversation]) -> anyhow::Result<Option<Self>> {
        if conversations.iter().all(|c| c.dag.is_none()) {
            return Ok(None);
        }
        let index: HashMap<&str, usize> = conversations
            .iter()
            .enumerate()
            .map(|(i, c)| (c.session_id.as_str(), i))
            .collect();
        let mut plan = DagPlan::default();
        for (i, c) in conversations.iter().enumerate() {
            let Some(dag) = &c.dag else {
                plan.roots.push(i);
                plan.branches.push(Vec::new());
                continue;
            };
            if dag.root {
                plan.roots.push(i);
            }
            let turns = c.turns.len();
            let mut branches = Vec::with_capacity(dag.branches.len());
            for b in &dag.branches {
                let bad_turn = |t: Option<usize>| t.is_some_and(|t| t >= turns);
                if bad_turn(b.after_turn) || bad_turn(b.join_before) {
                    return Err(anyhow!(
                        "dataset: branch '{}' of '{}' names a turn past its {turns} turn(s)",
                        b.id,
                        c.session_id
                    ));
                }
                if let (Some(join), after) = (b.join_before, b.after_turn) {
                    if after.is_some_and(|a| join <= a) {
                        return Err(anyhow!(
                            "dataset: branch '{}' of '{}' joins at turn {join}, not after the turn {} that fires it",
                            b.id,
                            c.session_id,
                            after.unwrap_or(0)
                        ));
                    }
                }
                let children = b
                    .children
                    .iter()
                    .map(|id| {
                        index.get(id.as_str()).copied().ok_or_else(|| {
                            anyhow!(
                                "dataset: branch '{}' of '{}' starts '{id}', which is not in the dataset",
                                b.id,
                                c.session_id
                            )
                        })
                    })
                    .collect::<anyhow::Result<Vec<_>>>()?;
                branches.push(BranchPlan {
                    id: b.id.clone(),
                    after_turn: b.after_turn,
                    mode: b.mode,
                    children,
                    background: b.background,
                    join_before: b.join_before,
                });
            }
            plan.branches.push(branches);
        }
        if plan.roots.is_empty() {
            return Err(anyhow!(
                "dataset: every conversation is a branch child; no root conversation to start"
            ));
        }
        Ok(Some(plan))
    }
}

impl DagPlan {
    /// Requests each conversation causes when sent once: its own turns plus, through its
    /// branches that fire after a turn, its children's (recursively); and, per conversation,
    /// the requests of its pre-session children (started once per phase). Fixed-schedule
    /// replay counts a phase's requests with them. A cycle (loaders refuse them) counts once.
    pub fn requests(&self, turns: &[usize]) -> (Vec<u64>, Vec<u64>) {
        fn total(plan: &DagPlan, turns: &[usize], memo: &mut [Option<u64>], c: usize) -> u64 {
            if let Some(n) = memo[c] {
                return n;
            }
            memo[c] = Some(turns[c] as u64); // a cycle stops here
            let mut n = turns[c] as u64;
            for b in plan.branches[c].iter().filter(|b| b.after_turn.is_some()) {
                for &child in &b.children {
                    n = n.saturating_add(total(plan, turns, memo, child));
                }
            }
            memo[c] = Some(n);
            n
        }
        let mut memo = vec![None; turns.len()];
        let own: Vec<u64> = (0..turns.len())
            .map(|c| total(self, turns, &mut memo, c))
            .collect();
        let pre = (0..turns.len())
            .map(|c| {
                self.branches[c]
                    .iter()
                    .filter(|b| b.after_turn.is_none())
                    .flat_map(|b| &b.children)
                    .map(|&child| own[child])
                    .fold(0u64, u64::saturating_add)
            })
            .collect();
        (own, pre)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aiperf_core::{Branch, Dag, Turn};

    fn conv(id: &str, turns: usize, dag: Option<Dag>) -> Conversation {
        Conversation {
            session_id: id.into(),
            turns: vec![Turn::default(); turns],
            dag: dag.map(Box::new),
            ..Default::default()
        }
    }

    fn branch(children: &[&str], after: Option<usize>, join: Option<usize>) -> Branch {
        Branch {
            id: "b".into(),
            after_turn: after,
            mode: BranchMode::Spawn,
            children: children.iter().map(|s| s.to_string()).collect(),
            background: false,
            join_before: join,
        }
    }

    #[test]
    fn a_plan_lists_roots_and_resolves_children() {
        let parent = Dag {
            root: true,
            branches: vec![branch(&["c1", "c2"], Some(0), Some(1))],
        };
        let child = || Some(Dag::default());
        let convs = [
            conv("c1", 1, child()),
            conv("p", 2, Some(parent)),
            conv("plain", 1, None),
            conv("c2", 2, child()),
        ];
        let plan = DagPlan::build(&convs).unwrap().unwrap();
        assert_eq!(plan.roots, vec![1, 2]);
        assert_eq!(plan.branches[1][0].children, vec![0, 3]);
        assert_eq!(plan.branches[1][0].join_before, Some(1));
        assert!(plan.branches[0].is_empty());
        assert_eq!(DagPlan::build(&[conv("x", 1, None)]).unwrap(), None);
    }

    #[test]
    fn requests_count_every_descendant_and_pre_session_children_apart() {
        let root = Dag {
            root: true,
            branches: vec![
                branch(&["c1", "c2"], Some(0), Some(1)),
                branch(&["pre"], None, None),
            ],
        };
        let c1 = Dag {
            root: false,
            branches: vec![branch(&["g"], Some(0), None)],
        };
        let convs = [
            conv("p", 2, Some(root)),
            conv("c1", 1, Some(c1)),
            conv("c2", 3, Some(Dag::default())),
            conv("g", 2, Some(Dag::default())),
            conv("pre", 4, Some(Dag::default())),
        ];
        let plan = DagPlan::build(&convs).unwrap().unwrap();
        let (own, pre) = plan.requests(&[2, 1, 3, 2, 4]);
        // p: 2 + c1 (1 + g 2) + c2 3 = 8; its pre-session child 4 apart.
        assert_eq!(own, [8, 3, 3, 2, 4]);
        assert_eq!(pre, [4, 0, 0, 0, 0]);
    }

    #[test]
    fn a_plan_refuses_unknown_children_bad_turns_and_no_roots() {
        let with = |b: Branch| {
            vec![
                conv(
                    "p",
                    2,
                    Some(Dag {
                        root: true,
                        branches: vec![b],
                    }),
                ),
                conv("c", 1, Some(Dag::default())),
            ]
        };
        let e = DagPlan::build(&with(branch(&["nope"], Some(0), None))).unwrap_err();
        assert!(
            e.to_string()
                .contains("starts 'nope', which is not in the dataset"),
            "{e}"
        );
        let e = DagPlan::build(&with(branch(&["c"], Some(2), None))).unwrap_err();
        assert!(e.to_string().contains("past its 2 turn(s)"), "{e}");
        let e = DagPlan::build(&with(branch(&["c"], Some(1), Some(1)))).unwrap_err();
        assert!(e.to_string().contains("joins at turn 1"), "{e}");
        let e = DagPlan::build(&[conv("c", 1, Some(Dag::default()))]).unwrap_err();
        assert!(e.to_string().contains("no root"), "{e}");
    }
}
