//! Plain text in feeds: titles, summaries, names and tags are text that
//! an editor wrote, never markup, and every reader must show them as
//! written. RSS has no way to say "this is text". Most readers take an
//! RSS title as text (newsboat, the `reader` library, rss-parser), but
//! feedparser, and the W3C validator, take one for HTML when it looks
//! like HTML: then, and only then, it is written as the HTML that shows
//! it. The XML spells `&` and `<` as hexadecimal references, which the
//! validator (after the RSS Best Practices Profile) takes as "plain text,
//! written with care". docs/output.md gives the rules per format.

use std::borrow::Cow;

use super::escape;

/// Whether a reader that guesses (feedparser's `lookslikehtml`) or the
/// validator would take `s` for HTML: it holds an end tag (`</b>`) or a
/// character reference (`&amp;`, `&#38;`). Anything else (`a<b`, `R&D`,
/// `&copy 2023`, `太原 <新闻>`) they take as text, as it is.
pub fn looks_like_html(s: &str) -> bool {
    has_end_tag(s) || has_reference(s)
}

/// `&`, maybe `#`, a word, `;`.
fn has_reference(s: &str) -> bool {
    memchr::memchr_iter(b'&', s.as_bytes()).any(|i| {
        let rest = &s[i + 1..];
        let rest = rest.strip_prefix('#').unwrap_or(rest);
        let name = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .count();
        name > 0 && rest.chars().nth(name) == Some(';')
    })
}

/// What goes into an element that readers may take as HTML when it looks
/// like HTML (an RSS title): the text itself, or, when it looks like
/// HTML, the HTML that shows it.
pub fn as_html(s: &str) -> Cow<'_, str> {
    if looks_like_html(s) {
        Cow::Owned(escape(s))
    } else {
        Cow::Borrowed(s)
    }
}

/// Whether a text has an HTML end tag (`</b>`) in it: validators call it
/// HTML wherever a format cannot mark it as text (an RSS category, an
/// Atom name) and in Atom's `type="text"`.
pub fn has_end_tag(s: &str) -> bool {
    memchr::memchr_iter(b'<', s.as_bytes()).any(|i| {
        let Some(rest) = s[i + 1..].strip_prefix('/') else {
            return false;
        };
        let name = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .count();
        name > 0 && rest.chars().nth(name) == Some('>')
    })
}

/// The same XML with every `&amp;` and `&lt;` outside CDATA sections
/// written as `&#x26;` and `&#x3C;`: the same document to any XML
/// parser, and the spelling the validator looks for before it calls an
/// escaped `&` or `<` in a title HTML.
pub fn hex_references(xml: Vec<u8>) -> Vec<u8> {
    let mut out = Vec::with_capacity(xml.len() + 64);
    let mut rest = &xml[..];
    while let Some(i) = memchr::memchr2(b'&', b'<', rest) {
        out.extend_from_slice(&rest[..i]);
        let tail = &rest[i..];
        let (written, used): (&[u8], usize) = if tail.starts_with(b"<![CDATA[") {
            let end = memchr::memmem::find(tail, b"]]>").map_or(tail.len(), |e| e + 3);
            (&tail[..end], end)
        } else if tail.starts_with(b"&amp;") {
            (b"&#x26;", 5)
        } else if tail.starts_with(b"&lt;") {
            (b"&#x3C;", 4)
        } else {
            (&tail[..1], 1)
        };
        out.extend_from_slice(written);
        rest = &tail[used..];
    }
    out.extend_from_slice(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_is_what_a_guessing_reader_takes_for_html() {
        let html = [
            "</x>",
            "a<b R&D <b>粗体</b>",
            "&amp;",
            "&#x26;",
            "&#38;",
            "&nbsp;",
            "&zz;",
            "&中文;",
        ];
        for s in html {
            assert!(looks_like_html(s), "{s}");
        }
        let text = [
            "a<b",
            "<b>粗体",
            "R&D",
            "AT&T",
            "&copy 2023",
            "&",
            "&#;",
            "& b;",
            "a>b",
            "x < 5",
            "太原 <新闻>",
            "\"q\" 'a'",
            "",
        ];
        for s in text {
            assert!(!looks_like_html(s), "{s}");
        }
        assert_eq!(as_html("a<b R&D"), "a<b R&D");
        assert_eq!(as_html("a<b & c</b>"), "a&lt;b &amp; c&lt;/b&gt;");
    }

    #[test]
    fn end_tags_need_a_name_and_a_close() {
        assert!(has_end_tag("A </script> B"));
        assert!(has_end_tag("<b>粗体</b>"));
        assert!(has_end_tag("</标签>"));
        assert!(!has_end_tag("a </ b> c"));
        assert!(!has_end_tag("</>"));
        assert!(!has_end_tag("</x"));
    }

    #[test]
    fn hex_references_leave_cdata_alone() {
        let xml =
            b"<t a=\"&amp;\">R&amp;D &lt;b&gt;</t><d><![CDATA[&amp; &lt;]]></d>&amp;".to_vec();
        assert_eq!(
            String::from_utf8(hex_references(xml)).unwrap(),
            "<t a=\"&#x26;\">R&#x26;D &#x3C;b&gt;</t><d><![CDATA[&amp; &lt;]]></d>&#x26;"
        );
        let open = b"<![CDATA[&amp;".to_vec();
        assert_eq!(hex_references(open.clone()), open);
    }
}
