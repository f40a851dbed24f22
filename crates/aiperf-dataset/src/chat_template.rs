//! `--apply-chat-template`: the tokenizer's own chat template (seam; not built yet).

/// A tokenizer's chat template, ready to render message lists.
#[derive(Debug)]
pub struct ChatTemplate {}
