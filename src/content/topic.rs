//! Tags as topics: the key two spellings of one tag share (NFC, lower
//! case), and the tags that cannot name a folder and a URL segment.

use std::borrow::Cow;

use unicode_normalization::{IsNormalized, UnicodeNormalization, is_nfc_quick};

/// `s` in NFC; most tags are already, and are not copied.
fn nfc(s: &str) -> Cow<'_, str> {
    if is_nfc_quick(s.chars()) == IsNormalized::Yes {
        Cow::Borrowed(s)
    } else {
        Cow::Owned(s.nfc().collect())
    }
}

/// A tag's topic key, which names its folder in `feeds/` and (percent-
/// encoded) its URL: `COVID` and `covid`, or `é` written as one code
/// point and as two, are one topic. `Err` says why a tag gets no topic.
pub fn key(tag: &str) -> Result<String, String> {
    let lower = nfc(tag).to_lowercase();
    let key = match nfc(&lower) {
        Cow::Borrowed(_) => lower,
        Cow::Owned(k) => k,
    };
    if key.chars().count() > 100 {
        return Err("is longer than 100 characters".into());
    }
    if key.contains(['/', '\\']) {
        return Err("contains a slash".into());
    }
    if key == "." || key == ".." || key.starts_with('.') {
        return Err("starts with a dot".into());
    }
    if key.chars().any(char::is_control) {
        return Err("contains a control character".into());
    }
    Ok(key)
}

/// The spelling shown for a topic: its tag in NFC.
pub fn name(tag: &str) -> String {
    nfc(tag).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_and_normalisation_make_one_topic() {
        assert_eq!(key("COVID"), key("covid"));
        assert_eq!(key("Caf\u{e9}"), key("Cafe\u{301}"));
        assert_eq!(key("劳模").unwrap(), "劳模");
        assert_eq!(name("Cafe\u{301}"), "Caf\u{e9}");
    }

    #[test]
    fn tags_that_make_bad_path_segments_get_no_topic() {
        for bad in ["a/b", "..", ".hidden", "a\\b", "x\u{7}y", &"长".repeat(101)] {
            assert!(key(bad).is_err(), "{bad:?}");
        }
        assert!(key(&"长".repeat(100)).is_ok());
        assert!(key("a..b").is_ok());
    }
}
