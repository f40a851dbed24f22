//! The synthetic workload shaping group (`cli/shaping.rs`): checked and typed.

use super::ConfigError;
use crate::ProfileArgs;

/// How synthetic prompt lengths and texts are drawn.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ShapingOptions {}

pub(super) fn resolve(
    _args: &ProfileArgs,
    _warnings: &mut Vec<String>,
) -> Result<ShapingOptions, ConfigError> {
    Ok(ShapingOptions::default())
}
