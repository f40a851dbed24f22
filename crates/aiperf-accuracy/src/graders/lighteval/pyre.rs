//! A small backtracking regex engine with Python `re` semantics.
//!
//! lighteval's extraction regexes and latex2sympy2's normalisation rely on look-ahead and
//! look-behind and on backtracking order (which match wins), none of which the `regex` crate
//! offers; porting the patterns verbatim onto an engine with the same semantics keeps the
//! behaviour faithful. Supported: literals, escapes (`\d \s \w \W \S \D \n \t`), classes,
//! `.`, `^`, `$` (end or before a final newline, as Python without MULTILINE), groups
//! (`(...)`, `(?:...)`, `(?P<name>...)`, `(?i:...)`), look-around (`(?=` `(?!` `(?<=` `(?<!`,
//! the latter fixed width), alternation and greedy or lazy quantifiers.
//!
//! Work is bounded: every search has a step budget, and a search that exhausts it reports no
//! (further) match instead of running for minutes as Python's engine would on adversarial text.
//! Positions are char indices into a `&[char]`, so arbitrary UTF-8 never splits.

use std::collections::HashMap;

/// Steps one search may take before it gives up.
const STEP_BUDGET: u64 = 3_000_000;

/// One compiled pattern.
#[derive(Debug)]
pub(crate) struct Regex {
    node: Node,
    first: FirstChars,
    groups: usize,
    names: HashMap<String, usize>,
    /// Group names in definition order (Python's `groupdict` order).
    ordered_names: Vec<(String, usize)>,
}

#[derive(Debug, Clone)]
enum Node {
    Empty,
    Char(CharClass),
    Seq(Vec<Node>),
    Alt(Vec<Node>),
    Group(Option<usize>, Box<Node>),
    Repeat {
        node: Box<Node>,
        min: usize,
        max: Option<usize>,
        greedy: bool,
    },
    Start,
    End,
    Look {
        ahead: bool,
        negative: bool,
        node: Box<Node>,
    },
}

#[derive(Debug, Clone)]
enum ClassItem {
    Ch(char),
    Range(char, char),
    Digit(bool),
    Space(bool),
    Word(bool),
    Any { dotall: bool },
}

#[derive(Debug, Clone)]
struct CharClass {
    items: Vec<ClassItem>,
    negated: bool,
    ignore_case: bool,
}

fn is_py_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

fn is_py_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

impl ClassItem {
    fn matches(&self, c: char) -> bool {
        match *self {
            ClassItem::Ch(x) => x == c,
            ClassItem::Range(a, b) => a <= c && c <= b,
            ClassItem::Digit(pos) => c.is_ascii_digit() == pos,
            ClassItem::Space(pos) => is_py_space(c) == pos,
            ClassItem::Word(pos) => is_py_word(c) == pos,
            ClassItem::Any { dotall } => dotall || c != '\n',
        }
    }
}

impl CharClass {
    fn matches(&self, c: char) -> bool {
        let hit = if self.ignore_case {
            case_variants(c).any(|v| self.items.iter().any(|i| i.matches(v)))
        } else {
            self.items.iter().any(|i| i.matches(c))
        };
        hit != self.negated
    }
}

fn case_variants(c: char) -> impl Iterator<Item = char> {
    let lower = c.to_lowercase().next().unwrap_or(c);
    let upper = c.to_uppercase().next().unwrap_or(c);
    [c, lower, upper].into_iter()
}

/// A pattern that is not in the supported subset (a bug in a pattern literal of this crate).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PatternError(pub String);

struct Parser<'a> {
    chars: Vec<char>,
    pos: usize,
    groups: usize,
    ordered_names: Vec<(String, usize)>,
    dotall: bool,
    source: &'a str,
}

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn eat(&mut self, s: &str) -> bool {
        let want: Vec<char> = s.chars().collect();
        if self.chars[self.pos..].starts_with(&want) {
            self.pos += want.len();
            true
        } else {
            false
        }
    }

    fn err<T>(&self, what: &str) -> Result<T, PatternError> {
        Err(PatternError(format!(
            "{what} at {} in {:?}",
            self.pos, self.source
        )))
    }

    fn alternation(&mut self, ci: bool) -> Result<Node, PatternError> {
        let mut branches = vec![self.sequence(ci)?];
        while self.peek() == Some('|') {
            self.pos += 1;
            branches.push(self.sequence(ci)?);
        }
        Ok(if branches.len() == 1 {
            branches.pop().unwrap_or(Node::Empty)
        } else {
            Node::Alt(branches)
        })
    }

    fn sequence(&mut self, ci: bool) -> Result<Node, PatternError> {
        let mut items = Vec::new();
        while let Some(c) = self.peek() {
            if c == '|' || c == ')' {
                break;
            }
            let atom = self.atom(ci)?;
            items.push(self.quantified(atom)?);
        }
        Ok(Node::Seq(items))
    }

    /// Python reads `{` as a quantifier only when it is `{m}`, `{m,}`, `{,n}` or `{m,n}`.
    fn brace_quantifier(&mut self) -> Option<(usize, Option<usize>)> {
        let rest: String = self.chars[self.pos..].iter().take(24).collect();
        let close = rest.find('}')?;
        let body = rest.get(1..close)?;
        let (lo, hi) = match body.split_once(',') {
            Some((a, b)) => (a, Some(b)),
            None => (body, None),
        };
        let digits = |s: &str| s.chars().all(|c| c.is_ascii_digit());
        if !digits(lo) || !hi.is_none_or(digits) || (lo.is_empty() && hi.is_none()) {
            return None;
        }
        let min = if lo.is_empty() { 0 } else { lo.parse().ok()? };
        let max = match hi {
            None => Some(min),
            Some("") => None,
            Some(h) => Some(h.parse().ok()?),
        };
        self.pos += body.chars().count() + 2;
        Some((min, max))
    }

    fn quantified(&mut self, atom: Node) -> Result<Node, PatternError> {
        let (min, max) = match self.peek() {
            Some('*') => {
                self.pos += 1;
                (0, None)
            }
            Some('+') => {
                self.pos += 1;
                (1, None)
            }
            Some('?') => {
                self.pos += 1;
                (0, Some(1))
            }
            Some('{') => match self.brace_quantifier() {
                Some(q) => q,
                None => return Ok(atom),
            },
            _ => return Ok(atom),
        };
        let greedy = !self.eat("?");
        Ok(Node::Repeat {
            node: Box::new(atom),
            min,
            max,
            greedy,
        })
    }

    fn atom(&mut self, ci: bool) -> Result<Node, PatternError> {
        let Some(c) = self.peek() else {
            return self.err("unexpected end");
        };
        self.pos += 1;
        let class = |items: Vec<ClassItem>| {
            Node::Char(CharClass {
                items,
                negated: false,
                ignore_case: ci,
            })
        };
        Ok(match c {
            '(' => return self.group(ci),
            '[' => Node::Char(self.class(ci)?),
            '.' => class(vec![ClassItem::Any {
                dotall: self.dotall,
            }]),
            '^' => Node::Start,
            '$' => Node::End,
            '\\' => class(vec![self.escape()?]),
            c => class(vec![ClassItem::Ch(c)]),
        })
    }

    fn escape(&mut self) -> Result<ClassItem, PatternError> {
        let Some(c) = self.peek() else {
            return self.err("dangling backslash");
        };
        self.pos += 1;
        Ok(match c {
            'd' => ClassItem::Digit(true),
            'D' => ClassItem::Digit(false),
            's' => ClassItem::Space(true),
            'S' => ClassItem::Space(false),
            'w' => ClassItem::Word(true),
            'W' => ClassItem::Word(false),
            'n' => ClassItem::Ch('\n'),
            't' => ClassItem::Ch('\t'),
            c if c.is_ascii_alphanumeric() => return self.err("unsupported escape"),
            c => ClassItem::Ch(c),
        })
    }

    fn class(&mut self, ci: bool) -> Result<CharClass, PatternError> {
        let negated = self.eat("^");
        let mut items = Vec::new();
        let mut first = true;
        loop {
            let Some(c) = self.peek() else {
                return self.err("unterminated class");
            };
            self.pos += 1;
            if c == ']' && !first {
                break;
            }
            first = false;
            let item = if c == '\\' {
                self.escape()?
            } else {
                ClassItem::Ch(c)
            };
            match (item, self.peek(), self.chars.get(self.pos + 1)) {
                (ClassItem::Ch(lo), Some('-'), Some(&hi)) if hi != ']' => {
                    self.pos += 2;
                    let hi = if hi == '\\' {
                        match self.escape()? {
                            ClassItem::Ch(h) => h,
                            _ => return self.err("bad range"),
                        }
                    } else {
                        hi
                    };
                    items.push(ClassItem::Range(lo, hi));
                }
                (item, _, _) => items.push(item),
            }
        }
        Ok(CharClass {
            items,
            negated,
            ignore_case: ci,
        })
    }

    fn group(&mut self, ci: bool) -> Result<Node, PatternError> {
        let look = |ahead, negative, node| Node::Look {
            ahead,
            negative,
            node: Box::new(node),
        };
        let node = if self.eat("?:") {
            Node::Group(None, Box::new(self.alternation(ci)?))
        } else if self.eat("?i:") {
            Node::Group(None, Box::new(self.alternation(true)?))
        } else if self.eat("?=") {
            look(true, false, self.alternation(ci)?)
        } else if self.eat("?!") {
            look(true, true, self.alternation(ci)?)
        } else if self.eat("?<=") {
            look(false, false, self.alternation(ci)?)
        } else if self.eat("?<!") {
            look(false, true, self.alternation(ci)?)
        } else if self.eat("?P<") {
            let mut name = String::new();
            while let Some(c) = self.peek().filter(|&c| c != '>') {
                name.push(c);
                self.pos += 1;
            }
            if !self.eat(">") {
                return self.err("bad group name");
            }
            self.groups += 1;
            let index = self.groups;
            self.ordered_names.push((name, index));
            Node::Group(Some(index), Box::new(self.alternation(ci)?))
        } else if self.peek() == Some('?') {
            return self.err("unsupported group");
        } else {
            self.groups += 1;
            let index = self.groups;
            Node::Group(Some(index), Box::new(self.alternation(ci)?))
        };
        if !self.eat(")") {
            return self.err("unbalanced parenthesis");
        }
        Ok(node)
    }
}

/// The fixed width of `node` in chars when it has one and holds no capture group (so any
/// successful match of it is interchangeable).
fn fixed_width(node: &Node) -> Option<usize> {
    match node {
        Node::Empty | Node::Start | Node::End | Node::Look { .. } => Some(0),
        Node::Char(_) => Some(1),
        Node::Seq(items) => items
            .iter()
            .try_fold(0, |acc, n| Some(acc + fixed_width(n)?)),
        Node::Alt(branches) => {
            let first = fixed_width(branches.first()?)?;
            branches
                .iter()
                .all(|b| fixed_width(b) == Some(first))
                .then_some(first)
        }
        Node::Group(None, inner) => fixed_width(inner),
        Node::Group(Some(_), _) => None,
        Node::Repeat { node, min, max, .. } => {
            let w = fixed_width(node)?;
            (Some(*min) == *max).then_some(w * min)
        }
    }
}

/// `(could a match of node start with c, can node match empty)`, conservatively.
fn can_start(node: &Node, c: char) -> (bool, bool) {
    match node {
        Node::Empty | Node::Start | Node::End | Node::Look { .. } => (false, true),
        Node::Char(class) => (class.matches(c), false),
        Node::Seq(items) => {
            for item in items {
                match can_start(item, c) {
                    (true, _) => return (true, false),
                    (false, false) => return (false, false),
                    (false, true) => {}
                }
            }
            (false, true)
        }
        Node::Alt(branches) => branches.iter().fold((false, false), |(s, e), b| {
            let (bs, be) = can_start(b, c);
            (s || bs, e || be)
        }),
        Node::Group(_, inner) => can_start(inner, c),
        Node::Repeat { node, min, .. } => {
            let (s, e) = can_start(node, c);
            (s, e || *min == 0)
        }
    }
}

/// Which chars can begin a match, so a search skips hopeless positions cheaply.
#[derive(Debug)]
struct FirstChars {
    /// The pattern can match the empty string: every position is possible.
    nullable: bool,
    ascii: [bool; 128],
}

impl FirstChars {
    fn of(node: &Node) -> Self {
        let mut ascii = [false; 128];
        for (b, slot) in (0u8..128).zip(ascii.iter_mut()) {
            *slot = can_start(node, char::from(b)).0;
        }
        FirstChars {
            nullable: can_start(node, '\0').1,
            ascii,
        }
    }

    /// For ASCII (or no) char at `pos`; other chars are checked against the pattern.
    fn may_start(&self, text: &[char], pos: usize) -> bool {
        if self.nullable {
            return true;
        }
        match text.get(pos) {
            None => false,
            Some(&c) => c.is_ascii() && self.ascii[c as usize],
        }
    }
}

type Slots = Vec<Option<(usize, usize)>>;

struct State<'t> {
    text: &'t [char],
    slots: Slots,
    steps: u64,
}

impl State<'_> {
    /// Counts one step; false once the budget is spent.
    fn tick(&mut self) -> bool {
        self.steps += 1;
        self.steps <= STEP_BUDGET
    }
}

type Cont<'k> = &'k mut dyn FnMut(usize, &mut State) -> bool;

fn match_node(node: &Node, pos: usize, st: &mut State, k: Cont) -> bool {
    if !st.tick() {
        return false;
    }
    match node {
        Node::Empty => k(pos, st),
        Node::Char(class) => match st.text.get(pos) {
            Some(&c) if class.matches(c) => k(pos + 1, st),
            _ => false,
        },
        Node::Seq(items) => match_seq(items, pos, st, k),
        Node::Alt(branches) => branches.iter().any(|b| match_node(b, pos, st, &mut *k)),
        Node::Group(None, inner) => match_node(inner, pos, st, k),
        Node::Group(Some(index), inner) => {
            let index = *index;
            match_node(inner, pos, st, &mut |end, st: &mut State| {
                let saved = st.slots[index];
                st.slots[index] = Some((pos, end));
                if k(end, st) {
                    return true;
                }
                st.slots[index] = saved;
                false
            })
        }
        Node::Start => pos == 0 && k(pos, st),
        Node::End => {
            let n = st.text.len();
            (pos == n || (pos + 1 == n && st.text[pos] == '\n')) && k(pos, st)
        }
        Node::Look {
            ahead,
            negative,
            node,
        } => {
            let found = look_matches(node, *ahead, pos, st);
            found != *negative && k(pos, st)
        }
        Node::Repeat {
            node,
            min,
            max,
            greedy,
        } => match fixed_width(node) {
            Some(w) if w > 0 => match_fixed_repeat(node, w, *min, *max, *greedy, pos, st, k),
            _ if !has_captures(node) => {
                match_variable_repeat(node, *min, *max, *greedy, pos, st, k)
            }
            _ => match_repeat(node, *min, *max, *greedy, 0, pos, usize::MAX, st, k),
        },
    }
}

fn look_matches(node: &Node, ahead: bool, pos: usize, st: &mut State) -> bool {
    let saved = st.slots.clone();
    let found = if ahead {
        match_node(node, pos, st, &mut |_, _| true)
    } else {
        match fixed_width(node) {
            Some(w) if w <= pos => match_node(node, pos - w, st, &mut |end, _| end == pos),
            _ => false,
        }
    };
    st.slots = saved;
    found
}

fn match_seq(items: &[Node], pos: usize, st: &mut State, k: Cont) -> bool {
    match items.split_first() {
        None => k(pos, st),
        Some((first, rest)) => match_node(first, pos, st, &mut |p, st: &mut State| {
            match_seq(rest, p, st, &mut *k)
        }),
    }
}

/// Repetition of a capture-free fixed-width node, iteratively (no recursion per iteration,
/// so `.+` over a long text cannot overflow the stack).
#[allow(clippy::too_many_arguments)]
fn match_fixed_repeat(
    node: &Node,
    width: usize,
    min: usize,
    max: Option<usize>,
    greedy: bool,
    pos: usize,
    st: &mut State,
    k: Cont,
) -> bool {
    let max = max.unwrap_or(usize::MAX);
    let one_more = |count: usize, st: &mut State| {
        let at = pos + count * width;
        at + width <= st.text.len() && match_node(node, at, st, &mut |_, _| true)
    };
    let mut count = 0;
    while count < min {
        if !one_more(count, st) {
            return false;
        }
        count += 1;
    }
    if greedy {
        while count < max && st.steps <= STEP_BUDGET && one_more(count, st) {
            count += 1;
        }
        loop {
            if k(pos + count * width, st) {
                return true;
            }
            if count == min || st.steps > STEP_BUDGET {
                return false;
            }
            count -= 1;
        }
    } else {
        loop {
            if k(pos + count * width, st) {
                return true;
            }
            if count >= max || st.steps > STEP_BUDGET || !one_more(count, st) {
                return false;
            }
            count += 1;
        }
    }
}

fn has_captures(node: &Node) -> bool {
    match node {
        Node::Group(Some(_), _) => true,
        Node::Group(None, inner)
        | Node::Repeat { node: inner, .. }
        | Node::Look { node: inner, .. } => has_captures(inner),
        Node::Seq(items) | Node::Alt(items) => items.iter().any(has_captures),
        Node::Empty | Node::Char(_) | Node::Start | Node::End => false,
    }
}

/// Where one match of a capture-free `node` at `pos` can end, in the engine's preference
/// order (duplicates dropped: without captures they are interchangeable).
fn ends_of(node: &Node, pos: usize, st: &mut State) -> Vec<usize> {
    let mut ends = Vec::new();
    match_node(node, pos, st, &mut |end, _| {
        if !ends.contains(&end) {
            ends.push(end);
        }
        false
    });
    ends
}

/// One level of [`match_variable_repeat`]'s explicit backtracking stack.
struct Frame {
    pos: usize,
    count: usize,
    ends: Option<Vec<usize>>,
    next: usize,
    tried_rest: bool,
}

/// Repetition of a capture-free node of varying width, with an explicit stack so a long run
/// (e.g. inline `$...$` content over a huge line) cannot overflow the call stack.
#[allow(clippy::too_many_arguments)]
fn match_variable_repeat(
    node: &Node,
    min: usize,
    max: Option<usize>,
    greedy: bool,
    pos: usize,
    st: &mut State,
    k: Cont,
) -> bool {
    let max = max.unwrap_or(usize::MAX);
    let frame = |pos, count| Frame {
        pos,
        count,
        ends: None,
        next: 0,
        tried_rest: false,
    };
    let mut stack = vec![frame(pos, 0)];
    while let Some(top) = stack.last_mut() {
        if st.steps > STEP_BUDGET {
            return false;
        }
        let rest_allowed = top.count >= min && !top.tried_rest;
        if !greedy && rest_allowed {
            top.tried_rest = true;
            if k(top.pos, st) {
                return true;
            }
            continue;
        }
        if top.ends.is_none() {
            let ends = if top.count < max {
                ends_of(node, top.pos, st)
            } else {
                Vec::new()
            };
            top.ends = Some(ends);
        }
        let next_end = top.ends.as_ref().and_then(|e| e.get(top.next)).copied();
        if let Some(end) = next_end {
            top.next += 1;
            // An iteration that consumes nothing ends the loop (as Python does).
            if end != top.pos {
                let count = top.count + 1;
                stack.push(frame(end, count));
            }
            continue;
        }
        if greedy && rest_allowed {
            top.tried_rest = true;
            if k(top.pos, st) {
                return true;
            }
            continue;
        }
        stack.pop();
    }
    false
}

/// General repetition; an iteration that consumes nothing ends the loop (as Python does).
#[allow(clippy::too_many_arguments)]
fn match_repeat(
    node: &Node,
    min: usize,
    max: Option<usize>,
    greedy: bool,
    count: usize,
    pos: usize,
    last: usize,
    st: &mut State,
    k: Cont,
) -> bool {
    let can_more = max.is_none_or(|m| count < m) && pos != last;
    let more = |st: &mut State, k: Cont| {
        match_node(node, pos, st, &mut |p, st: &mut State| {
            match_repeat(node, min, max, greedy, count + 1, p, pos, st, &mut *k)
        })
    };
    if count < min {
        return more(st, k);
    }
    if greedy {
        (can_more && more(st, &mut *k)) || k(pos, st)
    } else {
        k(pos, st) || (can_more && more(st, k))
    }
}

/// One match: its span and its groups, as char positions.
#[derive(Debug, Clone)]
pub(crate) struct Match<'r> {
    regex: &'r Regex,
    text: &'r [char],
    slots: Slots,
}

impl Match<'_> {
    pub(crate) fn start(&self) -> usize {
        self.slots[0].map_or(0, |s| s.0)
    }
    pub(crate) fn end(&self) -> usize {
        self.slots[0].map_or(0, |s| s.1)
    }
    fn slot_text(&self, index: usize) -> Option<String> {
        let (a, b) = self.slots.get(index).copied().flatten()?;
        Some(self.text[a..b].iter().collect())
    }
    /// Text of group `index` (0: the whole match), `None` when it did not take part.
    pub(crate) fn group(&self, index: usize) -> Option<String> {
        self.slot_text(index)
    }
    /// Text of the named group.
    pub(crate) fn named(&self, name: &str) -> Option<String> {
        self.slot_text(*self.regex.names.get(name)?)
    }
    /// `(name, text)` of every named group, in definition order (`groupdict`).
    pub(crate) fn named_groups(&self) -> impl Iterator<Item = (&str, Option<String>)> + '_ {
        self.regex
            .ordered_names
            .iter()
            .map(|(n, i)| (n.as_str(), self.slot_text(*i)))
    }
}

impl Regex {
    pub(crate) fn new(pattern: &str) -> Result<Self, PatternError> {
        Self::build(pattern, false)
    }

    /// With Python's `re.DOTALL`.
    pub(crate) fn dotall(pattern: &str) -> Result<Self, PatternError> {
        Self::build(pattern, true)
    }

    fn build(pattern: &str, dotall: bool) -> Result<Self, PatternError> {
        let mut p = Parser {
            chars: pattern.chars().collect(),
            pos: 0,
            groups: 0,
            ordered_names: Vec::new(),
            dotall,
            source: pattern,
        };
        let node = p.alternation(false)?;
        if p.pos != p.chars.len() {
            return p.err("unbalanced parenthesis");
        }
        let names = p.ordered_names.iter().cloned().collect();
        Ok(Regex {
            first: FirstChars::of(&node),
            node,
            groups: p.groups,
            names,
            ordered_names: p.ordered_names,
        })
    }

    /// A match starting exactly at `start`. `st.slots` are all `None` before and after
    /// (a failed attempt undoes its captures).
    fn match_at<'r>(&'r self, st: &mut State<'r>, start: usize) -> Option<Match<'r>> {
        let mut end = None;
        let found = match_node(&self.node, start, st, &mut |p, _| {
            end = Some(p);
            true
        });
        let end = end.filter(|_| found)?;
        let mut slots = std::mem::replace(&mut st.slots, vec![None; self.groups + 1]);
        slots[0] = Some((start, end));
        Some(Match {
            regex: self,
            text: st.text,
            slots,
        })
    }

    /// All non-overlapping matches, left to right (`finditer`).
    pub(crate) fn find_iter<'r>(&'r self, text: &'r [char]) -> Vec<Match<'r>> {
        let mut st = State {
            text,
            slots: vec![None; self.groups + 1],
            steps: 0,
        };
        let mut non_ascii: HashMap<char, bool> = HashMap::new();
        let mut out = Vec::new();
        let mut pos = 0;
        while pos <= text.len() && st.steps <= STEP_BUDGET {
            let hopeful = match text.get(pos) {
                Some(&c) if !c.is_ascii() && !self.first.nullable => *non_ascii
                    .entry(c)
                    .or_insert_with(|| can_start(&self.node, c).0),
                _ => self.first.may_start(text, pos),
            };
            match hopeful.then(|| self.match_at(&mut st, pos)).flatten() {
                Some(m) => {
                    // After an empty match the search moves on by one (close to Python, which
                    // would still allow a non-empty match at the same place).
                    pos = if m.end() == m.start() {
                        m.end() + 1
                    } else {
                        m.end()
                    };
                    out.push(m);
                }
                None => pos += 1,
            }
        }
        out
    }

    /// Match anchored at the start (`match`).
    pub(crate) fn is_prefix_match(&self, text: &str) -> bool {
        let chars: Vec<char> = text.chars().collect();
        let mut st = State {
            text: &chars,
            slots: vec![None; self.groups + 1],
            steps: 0,
        };
        self.match_at(&mut st, 0).is_some()
    }

    /// Replaces every match with `replace(match)` (`re.sub` with a function).
    pub(crate) fn replace_all(
        &self,
        text: &str,
        mut replace: impl FnMut(&Match) -> String,
    ) -> String {
        let chars: Vec<char> = text.chars().collect();
        let mut out = String::new();
        let mut last = 0;
        for m in self.find_iter(&chars) {
            out.extend(&chars[last..m.start()]);
            out.push_str(&replace(&m));
            last = m.end();
        }
        out.extend(&chars[last..]);
        out
    }

    /// Splits around matches (`re.split`, no groups in the pattern).
    pub(crate) fn split(&self, text: &str) -> Vec<String> {
        let chars: Vec<char> = text.chars().collect();
        let mut out = Vec::new();
        let mut last = 0;
        for m in self.find_iter(&chars) {
            out.push(chars[last..m.start()].iter().collect());
            last = m.end();
        }
        out.push(chars[last..].iter().collect());
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn find_all(p: &str, t: &str) -> Vec<String> {
        let re = Regex::new(p).unwrap();
        let chars: Vec<char> = t.chars().collect();
        re.find_iter(&chars)
            .iter()
            .map(|m| m.group(0).unwrap())
            .collect()
    }

    #[test]
    fn greedy_and_lazy() {
        assert_eq!(find_all(r"a.*b", "xaxbxb"), ["axbxb"]);
        assert_eq!(find_all(r"a.*?b", "xaxbxb"), ["axb"]);
        assert_eq!(find_all(r"\d{1,3}", "12345"), ["123", "45"]);
        assert_eq!(find_all(r"x{2}", "x{2}xx"), ["xx"]);
        assert_eq!(find_all(r"\\boxed{.+}", r"\boxed{1}"), [r"\boxed{1}"]);
    }

    #[test]
    fn lookaround() {
        assert_eq!(find_all(r"(?<!\\)\$", r"\$ $"), ["$"]);
        assert_eq!(find_all(r"\d+(?!\s*=)", "12 = 3"), ["1", "3"]);
        assert_eq!(
            find_all(r"(?<!\w)(?:and|or)(?!\w)", "band and or"),
            ["and", "or"]
        );
        assert_eq!(find_all(r"(?=\s)x", " x"), Vec::<String>::new());
    }

    #[test]
    fn anchors_and_case() {
        assert_eq!(
            find_all(r"(?i:answer)", "ANSWER answer"),
            ["ANSWER", "answer"]
        );
        assert_eq!(find_all(r"a$", "a\n"), ["a"]);
        assert_eq!(find_all(r"^a", "aa"), ["a"]);
    }

    #[test]
    fn groups_in_order() {
        let re = Regex::new(r"(?P<x>a)|(?P<y>b)").unwrap();
        let chars: Vec<char> = "b".chars().collect();
        let m = re.find_iter(&chars).remove(0);
        assert_eq!(m.named("y").as_deref(), Some("b"));
        assert_eq!(m.named("x"), None);
    }

    #[test]
    fn variable_width_repeat_over_a_long_line() {
        let text = format!("$ {}", "a".repeat(200_000));
        let re = Regex::new(r"\$(?:\\[$]|[^\n$])+?\$").unwrap();
        let chars: Vec<char> = text.chars().collect();
        assert!(re.find_iter(&chars).is_empty());
        assert_eq!(
            find_all(r"\$(?:\\[$]|[^\n$])+?\$", r"a $x\$y$ b"),
            [r"$x\$y$"]
        );
        assert_eq!(find_all(r"(?:ab|a)*c", "aabac"), ["aabac"]);
        assert_eq!(find_all(r"(?:ab|a)*?b", "aab"), ["aab"]);
    }

    #[test]
    fn long_text_is_bounded() {
        let text = "1 ".repeat(50_000);
        let re = Regex::new(r"\d[\d\s]*[+]\d").unwrap();
        let chars: Vec<char> = text.chars().collect();
        assert!(re.find_iter(&chars).is_empty());
    }
}
