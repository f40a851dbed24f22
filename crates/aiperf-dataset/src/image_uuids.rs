//! `--uuid-and-strip`: within one conversation, an image whose cache id an earlier turn already
//! sent with its content goes out as a bare reference (empty content, same `uuid`), so vLLM's
//! multimodal processor cache serves it. As AIPerf 0.13 (`_dedup_repeated_images_inplace`):
//! images repeated within one turn keep their content (the server fills its cache only after
//! the request), and ids a row gave without content pass through untouched.

use std::collections::HashSet;

use aiperf_core::Conversation;

/// Strips the content of images whose id an earlier turn of `conversation` sent with content.
pub fn strip_repeated_images(conversation: &mut Conversation) {
    let mut seen: HashSet<String> = HashSet::new();
    for turn in &mut conversation.turns {
        let mut new_ids = Vec::new();
        for (i, id) in turn.image_uuids.iter().enumerate() {
            let Some(content) = turn.images.get_mut(i) else {
                continue;
            };
            if seen.contains(id) {
                content.clear();
            } else if !content.is_empty() {
                new_ids.push(id.clone());
            }
        }
        seen.extend(new_ids);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aiperf_core::Turn;

    fn turn(images: &[&str], ids: &[&str]) -> Turn {
        Turn {
            images: images.iter().map(|s| s.to_string()).collect(),
            image_uuids: ids.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        }
    }

    #[test]
    fn later_turns_send_seen_images_as_references() {
        let mut c = Conversation {
            turns: vec![
                // The same id twice in one turn keeps both contents.
                turn(&["A", "A"], &["a", "a"]),
                // A reference without content does not count as seen content.
                turn(&["B", ""], &["b", "c"]),
                turn(&["A", "B", "C"], &["a", "b", "c"]),
            ],
            ..Default::default()
        };
        strip_repeated_images(&mut c);
        let images: Vec<Vec<&str>> = c
            .turns
            .iter()
            .map(|t| t.images.iter().map(String::as_str).collect())
            .collect();
        assert_eq!(
            images,
            [vec!["A", "A"], vec!["B", ""], vec!["", "", "C"]],
            "a and b were sent with content before turn 3; c was not"
        );
        assert_eq!(c.turns[2].image_uuids, ["a", "b", "c"], "ids are kept");
    }

    #[test]
    fn images_without_ids_are_untouched() {
        let mut c = Conversation {
            turns: vec![turn(&["A"], &[]), turn(&["A"], &[])],
            ..Default::default()
        };
        strip_repeated_images(&mut c);
        assert_eq!(c.turns[1].images, ["A"]);
    }
}
