//! Expected values are worked by hand from lighteval 0.13's patterns and priorities (and were
//! checked once against the Python package; nothing here runs Python).

use super::extract::{self, Extractor, Value};
use super::normalize::{extract_boxed_content, normalize_latex, Boxed};
use super::*;

/// An extraction as lighteval lists it: "M" for parsed math, "T:<text>" for a string.
fn shape(extractor: &Extractor, text: &str) -> Vec<String> {
    extractor
        .extract(text)
        .iter()
        .map(|v| match v {
            Value::Math(_) => "M".to_string(),
            Value::Text(t) => format!("T:{t}"),
        })
        .collect()
}

fn pred(text: &str) -> Vec<String> {
    shape(extract::math_prediction(), text)
}

fn expr_ok(response: &str, gold: &str) -> bool {
    Expr.grade(response, gold).correct
}

fn latex_ok(response: &str, gold: &str) -> bool {
    Latex.grade(response, gold).correct
}

fn gpqa_ok(response: &str, gold: &str) -> bool {
    Gpqa.grade(response, gold).correct
}

fn letter(text: &str) -> Vec<String> {
    shape(extract::letters(), text)
}

// ------------------------------------------------------------------------------------------
// Expr (AIME)

#[test]
fn expr_plain_answer_sentence() {
    assert!(expr_ok("The answer is 42", "42"));
    assert_eq!(pred("The answer is 42"), ["M", "T:42"]);
}

#[test]
fn expr_boxed_beats_final_answer_is() {
    // `\boxed{}` has priority 0, "final answer ... is" priority 50.
    let text = r"\boxed{42}. The final answer is 41";
    assert_eq!(pred(text), ["M", "T:42"]);
    assert!(expr_ok(text, "42"));
    assert!(!expr_ok(text, "41"));
    assert!(expr_ok(r"The final answer is 41. \boxed{42}", "42"));
}

#[test]
fn expr_final_answer_i_hope() {
    assert!(expr_ok(
        "The final answer is 41. I hope it is correct.",
        "41"
    ));
    assert!(expr_ok(
        "The final answer is $41$. I hope it is correct.",
        "41"
    ));
    assert!(expr_ok("final answer is: 55", "55"));
    assert!(expr_ok("The final answer is that we need 12 eggs", "12"));
}

#[test]
fn expr_last_of_several_boxed_wins() {
    let text = r"\boxed{12} and then \boxed{13}";
    assert_eq!(pred(text), ["M", "T:13"]);
    assert!(expr_ok(text, "13"));
    assert!(!expr_ok(text, "12"));
    assert!(expr_ok(r"$\boxed{12}$, so \boxed{13}", "13"));
    assert!(expr_ok(r"\boxed{25}\boxed{26}", "26"));
}

#[test]
fn expr_boxed_list_joined_by_comma_or_and_is_a_set() {
    assert_eq!(pred(r"\boxed{25}, \boxed{26}"), ["M", "T:25,26"]);
    assert!(!expr_ok(r"\boxed{25}, \boxed{26}", "26"));
    assert_eq!(pred(r"$\boxed{25}$ or $\boxed{26}$"), ["M", "T:25 and 26"]);
    assert!(!expr_ok(r"$\boxed{25}$ or $\boxed{26}$", "25"));
}

#[test]
fn expr_inline_and_display_math() {
    assert!(expr_ok("So the result is $33$.", "33"));
    assert_eq!(pred(r"\[ x = 204 \]"), ["M", "T:x = 204"]);
    assert!(expr_ok(r"\[ x = 204 \]", "204"));
    assert!(expr_ok(r"\[ 204 \]", "204"));
    assert!(expr_ok("I got $25$ then $26$", "26"));
}

#[test]
fn expr_leading_zeros() {
    assert!(expr_ok("033", "33"));
    assert!(expr_ok("The answer is 033", "33"));
    assert!(expr_ok("answer: 070", "70"));
    assert!(expr_ok("33", "033"));
    assert_eq!(pred(r"\boxed{042}"), ["M", "T:042"]);
    assert!(expr_ok(r"\boxed{042}", "42"));
    assert_eq!(pred("00"), ["M", "T:0"]);
}

#[test]
fn expr_answer_with_equals() {
    assert!(expr_ok("Answer: 12 = 12", "12"));
    assert!(expr_ok("Answer: x = 5", "5"));
    assert!(expr_ok("Answer: 2 + 3 = 5", "5"));
    assert!(expr_ok("answer: x = 12 = 13", "13"));
}

#[test]
fn expr_negative_lookahead_backtracks_into_the_number() {
    // `(?!\s*=)` rejects "123" before " = x"; Python's engine backtracks to "12".
    assert_eq!(pred("Answer: 123 = x"), ["M", "T:12"]);
    assert!(expr_ok("Answer: 123 = x", "12"));
    assert!(!expr_ok("Answer: 123 = x", "123"));
}

#[test]
fn expr_number_formats() {
    assert_eq!(pred("the total is 1,234 apples"), ["M", "T:1234"]);
    assert!(expr_ok("the answer: 1 234 567 total", "1234567"));
    assert!(expr_ok("the answer is 3.14159", "3.14159"));
    assert_eq!(pred("x = 3.50"), ["M", "T:3.50"]);
    assert!(expr_ok("x = 3.50", "3.5"));
    assert_eq!(pred("1,5"), ["M", "T:1.5"]);
    assert!(expr_ok("The answer is -7.", "-7"));
    assert!(expr_ok("-0.0", "0"));
}

#[test]
fn expr_percent_and_currency() {
    assert!(expr_ok("we get 25%", "25"));
    assert!(expr_ok("answer is 50 percent", "50"));
    assert!(expr_ok("answer is 12pct", "12"));
    assert!(expr_ok("price €30", "30"));
    assert!(expr_ok("costs $100 total", "100"));
    assert!(expr_ok(r"The answer is $\$100$", "100"));
    // An escaped dollar alone is neither LaTeX nor an anchored number.
    assert!(pred(r"\$25").is_empty());
}

#[test]
fn expr_expressions() {
    assert_eq!(pred("We get 3/4 of it"), ["M", "T:3/4"]);
    assert!(expr_ok("We get 3/4 of it", "3/4"));
    assert_eq!(pred("final answer is 3 + 4"), ["M", "T:3 + 4"]);
    assert!(expr_ok("final answer is 3 + 4", "7"));
    assert!(expr_ok("answer is 2^3", "8"));
    assert!(expr_ok("So (2+3) and", "5"));
    // sympy cannot read `×`: the expression is only the fallback string, and the value is
    // the next match of the same level, the bare "2".
    assert_eq!(pred("Result 2×3"), ["M", "T:2×3"]);
    assert!(!expr_ok("Result 2×3", "6"));
}

#[test]
fn expr_latex_fraction_against_decimal_gold() {
    assert!(expr_ok(r"$$\frac{1}{2}$$", "0.5"));
    assert!(expr_ok(r"\boxed{\frac{3}{4}}", "3/4"));
    assert!(expr_ok(r"final answer is $\frac{1}{2}$", "0.5"));
}

#[test]
fn expr_last_number_without_anchor() {
    assert!(expr_ok("I think 5. Actually 6", "6"));
    assert!(expr_ok("7 8 9", "9"));
    assert!(expr_ok("7, 8, 9", "9"));
    assert!(expr_ok("héllo wörld 5 ünïcode", "5"));
    // "answer" (priority 200) outranks the later bare number (300).
    assert!(!expr_ok("answer is 10\n\nWait, actually 11", "11"));
    assert!(expr_ok("Answer: 2\n\nThe final answer is 3", "3"));
}

#[test]
fn expr_scientific_notation_is_not_read() {
    assert_eq!(pred("1.5e3"), ["M", "T:1.5"]);
    assert!(!expr_ok("1.5e3", "1500"));
}

#[test]
fn expr_nothing_to_extract() {
    assert!(pred("").is_empty());
    assert!(!expr_ok("", "42"));
    assert!(!expr_ok("no numbers here", "42"));
    assert!(!expr_ok(r"\boxed{8", "8"));
    assert!(!expr_ok(r"}}}{{{\boxed{{{", "8"));
}

#[test]
fn expr_grade_fields_match_aiperf() {
    let g = Expr.grade("  The answer is 42\n", " 42 ");
    assert_eq!(
        g,
        Grade {
            correct: true,
            unparsed: false,
            confidence: 1.0,
            reasoning: "lighteval LightevalExprGrader: score=1.0 (threshold 0.5)".to_string(),
            extracted: "The answer is 42".to_string(),
            ground_truth: "42".to_string(),
        }
    );
    let wrong = Expr.grade("7", "42");
    assert!(!wrong.correct && !wrong.unparsed);
    assert_eq!(wrong.confidence, 0.0);
    assert_eq!(
        wrong.reasoning,
        "lighteval LightevalExprGrader: score=0.0 (threshold 0.5)"
    );
    assert_eq!(Expr.extract("  x \n"), "x");
    assert_eq!(Expr.kind(), GraderKind::LightevalExpr);
}

#[test]
fn expr_gold_that_yields_nothing_is_compared_as_text() {
    // No number in the gold: it stays the raw string, which only a string can equal.
    assert!(!expr_ok("abc", "abc"));
    assert!(!expr_ok("42", "forty-two"));
}

// ------------------------------------------------------------------------------------------
// Latex (MATH-500)

#[test]
fn latex_gold_solution_with_nested_braces() {
    let gold = r"We compute ... so the answer is $\boxed{\frac{1}{2}}$.";
    assert_eq!(shape(extract::latex_gold(), gold), ["M", r"T:\frac{1}{2}"]);
    assert!(latex_ok(r"\boxed{\frac{1}{2}}", gold));
    assert!(latex_ok(r"\boxed{0.5}", gold));
    let sin = r"Therefore $\sin 60^\circ = \boxed{\frac{\sqrt{3}}{2}}$.";
    assert_eq!(
        shape(extract::latex_gold(), sin),
        ["M", r"T:\frac{\sqrt{3}}{2}"]
    );
    assert!(latex_ok(r"\boxed{\frac{\sqrt{3}}{2}}", sin));
}

#[test]
fn latex_gold_with_left_right() {
    let gold = r"We have $r = 3$ ... $\boxed{\left( 3, \frac{\pi}{2} \right)}.$";
    assert_eq!(
        shape(extract::latex_gold(), gold),
        ["M", r"T:( 3, \frac{\pi}{2} )"]
    );
    assert!(latex_ok(r"\boxed{\left( 3, \frac{\pi}{2} \right)}", gold));
    assert!(latex_ok(r"$(3, \frac{\pi}{2})$", gold));
}

#[test]
fn latex_answer_in_dollars_and_brackets() {
    let gold = r"$\boxed{5}$";
    assert!(latex_ok(
        r"The answer is $\frac{1}{2}$",
        r"$\boxed{\frac{1}{2}}$"
    ));
    assert!(latex_ok("$x = 5$", gold));
    assert!(latex_ok(r"\[ \boxed{5} \]", gold));
    assert!(latex_ok(r"\( 5 \)", gold));
    assert!(latex_ok("the answer is [ 7 ] ok", r"$\boxed{7}$"));
    assert!(latex_ok(r"so \( \frac{3}{4} \) done", r"$\boxed{\frac34}$"));
    assert!(latex_ok("$$\n\\boxed{12}\n$$", r"$\boxed{12}$"));
}

#[test]
fn latex_final_answer_forms() {
    let gold = r"The number is $\boxed{9}$.";
    assert!(latex_ok(r"\boxed{9}", gold));
    assert!(latex_ok(
        "The final answer is $9$. I hope it is correct.",
        gold
    ));
    assert!(latex_ok("final answer is 9", gold));
    assert!(latex_ok(
        r"solution: $\boxed{7}$ $x$",
        r"We find $\boxed{7}$."
    ));
}

#[test]
fn latex_several_boxed_form_a_set() {
    let gold = r"The number is $\boxed{9}$.";
    assert_eq!(pred(r"\boxed{10} or \boxed{9}"), ["M", "T:10,9"]);
    assert!(!latex_ok(r"\boxed{10} or \boxed{9}", gold));
    assert_eq!(pred(r"\boxed{3} and \boxed{4}"), ["M", "T:3,4"]);
    assert_eq!(
        shape(extract::latex_gold(), r"$\boxed{3}$ and $\boxed{4}$"),
        ["M", "T:3 and 4"]
    );
    assert!(latex_ok(
        r"\boxed{3} and \boxed{4}",
        r"$\boxed{3}$ and $\boxed{4}$"
    ));
    assert!(latex_ok(r"\boxed{1, 2}", r"Solutions are $\boxed{1, 2}$."));
}

#[test]
fn latex_boxed_beats_display_math() {
    assert_eq!(pred(r"I get $$3$$ and \boxed{4}"), ["M", "T:4"]);
    assert!(latex_ok(r"I get $$3$$ and \boxed{4}", r"$\boxed{4}$"));
}

#[test]
fn latex_normalised_forms_match() {
    assert!(latex_ok(r"\boxed{\dfrac{1}{2}}", r"$\boxed{\frac12}$"));
    assert!(latex_ok(r"\boxed{\tfrac{1}{4}}", r"$\boxed{\frac{1}{4}}$"));
    assert!(latex_ok(r"\boxed{\frac 1 2}", r"$\boxed{\frac{1}{2}}$"));
    assert!(latex_ok(r"\boxed{\frac{1}2}", r"$\boxed{\frac{1}{2}}$"));
    assert!(latex_ok(r"\boxed{\sqrt3}", r"$\boxed{\sqrt{3}}$"));
    assert!(latex_ok(r"\boxed{sqrt(3)}", r"$\boxed{\sqrt{3}}$"));
    assert!(latex_ok(r"\boxed{11\sqrt2}", r"$\boxed{11\sqrt2}$"));
    assert!(latex_ok(r"\boxed{3/4}", r"$\boxed{\frac34}$"));
    assert!(latex_ok(r"\boxed{\mathrm{5}}", r"$\boxed{5}$"));
    assert!(latex_ok(r"\boxed{\displaystyle 4}", r"$\boxed{4}$"));
    assert!(latex_ok(r"\boxed{-\frac{2}{3}}", r"$\boxed{-\frac23}$"));
    assert!(latex_ok(r"Answer: \(3\sqrt{2}\)", r"$\boxed{3\sqrt2}$"));
}

#[test]
fn latex_units_and_text_are_dropped() {
    assert!(latex_ok(r"\boxed{5 \text{ cm}}", r"$\boxed{5}$"));
    assert!(latex_ok(r"\boxed{5\text{ cm}^2}", r"$\boxed{5}$"));
    assert!(latex_ok(r"\boxed{6 \text{ inches}^2}", r"$\boxed{6}$"));
    assert!(latex_ok(r"\boxed{3 \mbox{ inches}}", r"$\boxed{3}$"));
    assert!(latex_ok(r"\boxed{\$5}", r"$\boxed{5}$"));
    assert!(latex_ok(r"\boxed{4 \text{}}", r"$\boxed{4}$"));
    assert!(latex_ok(r"\boxed{4\!}", r"$\boxed{4}$"));
}

#[test]
fn latex_equations_keep_the_right_side() {
    assert!(latex_ok(r"\boxed{x=4}", r"$\boxed{4}$"));
    assert!(latex_ok(r"\boxed{a=b=4}", r"$\boxed{4}$"));
    assert!(latex_ok(r"\boxed{x = y = 7}", r"$\boxed{7}$"));
    assert!(latex_ok(r"The answer: $y=2x+3$", r"$\boxed{2x+3}$"));
}

#[test]
fn latex_text_answers_compare_as_strings() {
    let gold = r"So the answer is $\boxed{\text{Evelyn}}.$";
    assert!(latex_ok(r"\boxed{\text{Evelyn}}", gold));
    assert!(!latex_ok("Evelyn", gold));
    assert!(latex_ok(r"$\boxed{\text{(C)}}$", r"$\boxed{\text{(C)}}$"));
}

#[test]
fn latex_percent_is_not_the_number() {
    assert_eq!(pred(r"\boxed{50\%}"), ["M", r"T:50\%"]);
    assert!(!latex_ok(r"\boxed{50\%}", r"$\boxed{50}$"));
}

#[test]
fn latex_intervals_and_sets() {
    assert!(latex_ok(r"\boxed{[1,2)}", r"$\boxed{[1,2)}$"));
    assert!(latex_ok(r"\boxed{\{1,2\}}", r"$\boxed{1,2}$"));
}

#[test]
fn latex_infinity_and_ellipsis() {
    assert_eq!(pred(r"\boxed{inf}"), ["M", r"T:\infty"]);
    assert_eq!(pred(r"\boxed{infinity}"), ["M", r"T:\infty"]);
    assert_eq!(pred(r"\boxed{1,\ldots,5}"), ["M", "T:1 ,5"]);
}

#[test]
fn latex_fbox_only_inside_normalisation() {
    // `\fbox` has no extraction pattern of its own, and the 7 follows `{`, not an anchor.
    assert_eq!(pred(r"\fbox{7}"), Vec::<String>::new());
    assert!(!latex_ok(r"\fbox{7}", r"$\boxed{7}$"));
}

#[test]
fn latex_symbolic_equivalence() {
    assert!(latex_ok(r"\boxed{1.5}", r"$\boxed{\frac{3}{2}}$"));
    assert!(latex_ok(r"\boxed{x^2+2x+1}", r"$\boxed{(x+1)^2}$"));
    assert!(latex_ok(
        r"\boxed{p - q}",
        r"Hence the sum is $\boxed{p - q}.$"
    ));
}

#[test]
fn latex_unbalanced_boxed() {
    // The bare `\boxed{.+}` match keeps the unclosed text from the brace on.
    assert_eq!(
        pred(r"\boxed{\frac{\sqrt{3}}{2}"),
        [r"T:{\frac{\sqrt{3}}{2}"]
    );
    assert!(!latex_ok(
        r"\boxed{\frac{\sqrt{3}}{2}",
        r"$\boxed{\frac{\sqrt{3}}{2}}$"
    ));
    assert_eq!(pred(r"a $ b $$ c \[ d"), ["M", "T:b"]);
}

#[test]
fn latex_bare_gold_without_latex_is_raw_text() {
    assert!(shape(extract::latex_gold(), "5").is_empty());
    assert!(latex_ok("5", "5"));
    assert!(!latex_ok("", r"$\boxed{5}$"));
}

#[test]
fn latex_grade_fields_match_aiperf() {
    let g = Latex.grade(r" \boxed{9} ", "The number is $\\boxed{9}$.\n");
    assert!(g.correct && !g.unparsed);
    assert_eq!(g.confidence, 1.0);
    assert_eq!(
        g.reasoning,
        "lighteval LightevalLatexGrader: score=1.0 (threshold 0.5)"
    );
    assert_eq!(g.extracted, r"\boxed{9}");
    assert_eq!(g.ground_truth, r"The number is $\boxed{9}$.");
    assert_eq!(Latex.kind(), GraderKind::LightevalLatex);
}

// ------------------------------------------------------------------------------------------
// Gpqa

#[test]
fn gpqa_answer_colon_letter() {
    assert!(gpqa_ok("Answer: C", "C"));
    assert!(gpqa_ok("ANSWER: D", "D"));
    assert!(gpqa_ok("Answer: (D)", "D"));
    assert!(gpqa_ok("**Answer: B**", "B"));
    assert!(gpqa_ok("**Answer:** B", "B"));
    assert!(gpqa_ok("Answer: **C**", "C"));
    assert!(!gpqa_ok("Answer: C", "D"));
}

#[test]
fn gpqa_parenthesised_and_bare_letters() {
    assert_eq!(letter("(C)"), ["T:C", "T:C"]);
    assert!(gpqa_ok("(C)", "C"));
    assert!(gpqa_ok("B", "B"));
    assert!(gpqa_ok("B.", "B"));
    assert!(gpqa_ok("\nC\n", "C"));
    assert!(gpqa_ok("D\n", "D"));
}

#[test]
fn gpqa_letter_then_parenthesis_is_not_read() {
    assert!(letter("C)").is_empty());
    assert!(!gpqa_ok("C)", "C"));
    assert!(!gpqa_ok("Answer: C)", "C"));
}

#[test]
fn gpqa_lowercase_is_not_read() {
    assert!(!gpqa_ok("answer: c", "C"));
    assert!(!gpqa_ok("the answer is b", "B"));
    // ... but a lowercase gold is upper-cased by AIPerf.
    assert!(gpqa_ok("Answer: C", " c "));
}

#[test]
fn gpqa_letter_in_prose() {
    let text = "A good question... the answer is B";
    assert_eq!(letter(text), ["T:B", "T:B"]);
    assert!(gpqa_ok(text, "B"));
    assert!(!gpqa_ok(text, "A"));
    assert!(gpqa_ok("The answer is A.", "A"));
    assert!(gpqa_ok("answer is C and not D", "C"));
    assert!(gpqa_ok("Answer: The correct choice is B", "B"));
    assert!(gpqa_ok("I'd answer: B, since", "B"));
    // No anchor before the letter: nothing is read.
    assert!(!gpqa_ok("The correct option is (A).", "A"));
    assert!(!gpqa_ok("I think\nA\nis right", "A"));
}

#[test]
fn gpqa_final_answer_forms() {
    assert!(gpqa_ok("The final answer is C. I hope it is correct.", "C"));
    assert!(gpqa_ok("The final answer is D", "D"));
    assert!(gpqa_ok("Final Answer: A", "A"));
    assert!(gpqa_ok("final answer: B", "B"));
}

#[test]
fn gpqa_which_letter_wins() {
    // Rightmost match of the best priority level.
    assert!(gpqa_ok("Answer: C\nAnswer: D", "D"));
    assert!(gpqa_ok("(A) is wrong; answer: (D)", "D"));
    assert!(gpqa_ok("Answer: A, B", "A"));
    assert!(gpqa_ok("Answer: C or D", "C"));
    assert!(gpqa_ok("Answer: C. Because D is wrong", "C"));
    assert!(gpqa_ok("Answer - C", "C"));
    assert!(gpqa_ok("Answer:\n\nB", "B"));
}

#[test]
fn gpqa_letter_needs_a_separator() {
    assert!(!gpqa_ok("Answer:B", "B"));
    assert!(!gpqa_ok("answer:A.", "A"));
    assert!(!gpqa_ok("Answer: AB", "A"));
    assert!(!gpqa_ok(r"Answer: \boxed{C}", "C"));
    assert!(!gpqa_ok(r"Answer: $\boxed{C}$", "C"));
}

#[test]
fn gpqa_only_four_choices() {
    assert!(letter("Answer: E").is_empty());
    assert!(!gpqa_ok("Answer: E", "D"));
}

#[test]
fn gpqa_no_letter_or_empty() {
    assert!(!gpqa_ok("no letter at all", "D"));
    assert!(!gpqa_ok("", "A"));
    let g = Gpqa.grade("", "A");
    assert!(!g.unparsed);
    assert_eq!(
        g.reasoning,
        "lighteval LightevalGPQAGrader: score=0.0 (threshold 0.5)"
    );
}

#[test]
fn gpqa_gold_extraction() {
    for gold in ["A", "B", "C", "D"] {
        let want = format!("T:{gold}");
        assert_eq!(letter(gold), [want.clone(), want]);
    }
    assert!(gpqa_ok("Answer: D", "D"));
    assert!(gpqa_ok("Answer: D", " D"));
}

#[test]
fn gpqa_invalid_gold_is_unparsed() {
    for gold in ["E", "", "AB", "1"] {
        let g = Gpqa.grade("Answer: A", gold);
        assert!(!g.correct && g.unparsed, "{gold:?}");
        assert_eq!(g.confidence, 0.0);
        assert_eq!(
            g.reasoning,
            "lighteval LightevalGPQAGrader: score=None (threshold 0.5) (raised exception)"
        );
    }
}

#[test]
fn gpqa_grade_fields_match_aiperf() {
    let g = Gpqa.grade("  Answer: B\n", " B");
    assert_eq!(
        g,
        Grade {
            correct: true,
            unparsed: false,
            confidence: 1.0,
            reasoning: "lighteval LightevalGPQAGrader: score=1.0 (threshold 0.5)".to_string(),
            extracted: "Answer: B".to_string(),
            ground_truth: "B".to_string(),
        }
    );
    assert_eq!(Gpqa.kind(), GraderKind::LightevalGpqa);
}

// ------------------------------------------------------------------------------------------
// Robustness

#[test]
fn long_garbage_returns_quickly() {
    let inputs = [
        "1 ".repeat(20_000),
        "$".repeat(40_000),
        "\\boxed{".repeat(10_000),
        "{".repeat(50_000),
        "answer: ".repeat(10_000),
        "final answer ".repeat(5_000),
        "é🎉".repeat(30_000),
        format!("$ {}", "x".repeat(100_000)),
        format!("\\( {}", "x".repeat(100_000)),
        format!("\\boxed{{{}", "{x".repeat(50_000)),
    ];
    let start = std::time::Instant::now();
    for text in &inputs {
        let _ = Expr.grade(text, "1");
        let _ = Latex.grade(text, r"$\boxed{1}$");
        let _ = Gpqa.grade(text, "A");
    }
    // Generous for unoptimised test builds; Python's engine takes far longer on some.
    assert!(start.elapsed().as_secs() < 60);
    let tail = format!("{}Answer: B", "x".repeat(50_000));
    assert!(gpqa_ok(&tail, "B"));
    assert!(expr_ok(
        &format!("{} \\boxed{{7}}", "a".repeat(100_000)),
        "7"
    ));
}

#[test]
fn odd_text_never_panics() {
    let inputs = [
        "",
        " ",
        "\\",
        "$",
        "$$",
        "\\[",
        "\\(",
        "\\boxed",
        "\\boxed{",
        "}",
        "{}",
        "\\frac",
        "\\sqrt",
        "ünï $é$ \\boxed{é}",
        "\u{0}",
        "Answer:",
        "final answer is",
    ];
    for text in inputs {
        let _ = Expr.grade(text, text);
        let _ = Latex.grade(text, text);
        let _ = Gpqa.grade(text, text);
    }
}

// ------------------------------------------------------------------------------------------
// Normalisation (latex2sympy2_extended 1.0.6)

#[test]
fn boxed_content_extraction() {
    assert_eq!(
        extract_boxed_content(r"a \boxed{1} b \boxed{2}", Boxed::All),
        "1,2"
    );
    assert_eq!(
        extract_boxed_content(r"a \boxed{1} b \boxed{2}", Boxed::Last),
        "2"
    );
    assert_eq!(
        extract_boxed_content(r"\boxed{1} or \boxed{2}", Boxed::Last),
        "1,2"
    );
    assert_eq!(
        extract_boxed_content(r"\boxed{\frac{1}{2}}", Boxed::Last),
        r"\frac{1}{2}"
    );
    assert_eq!(extract_boxed_content(r"\boxed 5", Boxed::All), "5");
    assert_eq!(extract_boxed_content(r"\boxed{5", Boxed::All), "{5");
    assert_eq!(extract_boxed_content(r"\fbox{ 7 }", Boxed::All), "7");
    assert_eq!(extract_boxed_content("plain", Boxed::All), "plain");
}

#[test]
fn normalisation_steps() {
    assert_eq!(normalize_latex(r"\frac12", Boxed::All), r"\frac{1}{2}");
    assert_eq!(normalize_latex("0.5", Boxed::All), r"\frac{1}{2}");
    assert_eq!(normalize_latex(".5", Boxed::All), r"\frac{1}{2}");
    assert_eq!(normalize_latex("2/3", Boxed::All), r"\frac{2}{3}");
    assert_eq!(normalize_latex(r"\sqrt3", Boxed::All), r"\sqrt{3}");
    assert_eq!(normalize_latex("2^(3)", Boxed::All), "2^{3}");
    assert_eq!(
        normalize_latex(r"\left( 1, 2 \right)", Boxed::All),
        "( 1, 2 )"
    );
    assert_eq!(normalize_latex("a=b=4", Boxed::All), "4");
    assert_eq!(normalize_latex("a=1,b=2", Boxed::All), "a=1,b=2");
    assert_eq!(normalize_latex(r"5\text{ cm}^2", Boxed::All), "5");
    assert_eq!(normalize_latex("1 and 2", Boxed::All), "1 ; 2");
    assert_eq!(normalize_latex("50 percent", Boxed::All), r"50\\%");
    assert_eq!(normalize_latex(r"\log_2 8", Boxed::All), r"\log_{2}{8}");
    assert_eq!(
        normalize_latex("(n)_{k}", Boxed::All),
        r"\frac{(n)!}{((n)-(k))!}"
    );
    assert_eq!(normalize_latex("5 m east", Boxed::All), "5");
}
