//! The "Tokenizer" group. Nothing to check here: whether the tokenizer loads is known only when
//! the engine loads it (it may fall back to the built-in one).

use crate::cli::ProfileArgs;

#[derive(Debug, Clone, PartialEq)]
pub(super) struct Tokenizer {
    /// `--tokenizer`; `None` means "the model name if it resolves locally, else built-in".
    pub tokenizer: Option<String>,
    pub tokenizer_revision: String,
}

pub(super) fn resolve(args: &ProfileArgs) -> Tokenizer {
    Tokenizer {
        tokenizer: args.tokenizer.clone(),
        tokenizer_revision: args.tokenizer_revision.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::args;
    use super::*;

    #[test]
    fn defaults_and_values() {
        assert_eq!(
            resolve(&args(&[])),
            Tokenizer {
                tokenizer: None,
                tokenizer_revision: "main".into()
            }
        );
        let t = resolve(&args(&[
            "--tokenizer",
            "gpt2",
            "--tokenizer-revision",
            "v1",
        ]));
        assert_eq!(t.tokenizer.as_deref(), Some("gpt2"));
        assert_eq!(t.tokenizer_revision, "v1");
    }
}
