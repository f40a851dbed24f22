//! vLLM's context-window check (`--max-model-len`): a prompt longer than the window, or one
//! whose requested output no longer fits beside it, is refused with HTTP 400 before anything
//! is generated, in vLLM's words.

use http::StatusCode;
use serde_json::json;

use crate::server::{json_response, MockBody};

/// vLLM's message for a request that does not fit a `max_model_len`-token window, if it
/// does not: first the prompt alone, then the prompt plus `max_tokens`.
pub fn overflow(max_model_len: u64, prompt_tokens: u64, max_tokens: Option<u64>) -> Option<String> {
    if prompt_tokens > max_model_len {
        return Some(format!(
            "This model's maximum context length is {max_model_len} tokens. However, your \
             request has {prompt_tokens} input tokens. Please reduce the length of the input \
             messages."
        ));
    }
    let m = max_tokens?;
    (prompt_tokens.saturating_add(m) > max_model_len).then(|| {
        format!(
            "'max_tokens' or 'max_completion_tokens' is too large: {m}. This model's maximum \
             context length is {max_model_len} tokens and your request has {prompt_tokens} \
             input tokens ({m} > {max_model_len} - {prompt_tokens})."
        )
    })
}

/// vLLM's error response for `message`: HTTP 400, `BadRequestError`.
pub(crate) fn response(message: &str) -> http::Response<MockBody> {
    json_response(
        StatusCode::BAD_REQUEST,
        &json!({"error": {"message": message, "type": "BadRequestError", "param": null,
            "code": 400}}),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vllm_refuses_what_does_not_fit() {
        assert_eq!(
            overflow(10, 11, None).as_deref(),
            Some(
                "This model's maximum context length is 10 tokens. However, your request has \
                 11 input tokens. Please reduce the length of the input messages."
            )
        );
        assert_eq!(overflow(10, 10, None), None, "a prompt may fill the window");
        assert_eq!(
            overflow(10, 6, Some(5)).as_deref(),
            Some(
                "'max_tokens' or 'max_completion_tokens' is too large: 5. This model's maximum \
                 context length is 10 tokens and your request has 6 input tokens (5 > 10 - 6)."
            )
        );
        assert_eq!(overflow(10, 6, Some(4)), None);
        assert!(overflow(10, 1, Some(u64::MAX)).is_some());
    }
}
