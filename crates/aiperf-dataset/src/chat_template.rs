//! `--apply-chat-template`: the tokenizer's own chat template (not built yet; seam).
