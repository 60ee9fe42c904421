//! Plain text in feeds: titles, summaries, names and tags are text that
//! an editor wrote, never markup, and every reader must show them as
//! written. RSS has no way to say "this is text": readers and the W3C
//! validator guess, and they guess HTML when the text looks like it. So
//! text that looks like markup is written as the HTML that shows it,
//! and the XML spells `&` and `<` as hexadecimal references, which the
//! validator (after the RSS Best Practices Profile) takes as "plain text,
//! written with care". docs/output.md gives the rules per format.

use std::borrow::Cow;

use super::escape;

/// Whether a reader that takes the text as HTML could read anything
/// but text in `s`: it holds a `<` that opens a tag, an end tag, a
/// comment or a declaration (`<` then an ASCII letter, `/`, `!` or `?`),
/// or an `&` that starts a character reference as HTML5 reads one
/// (`&#…`, `&amp;`, and `&copy` even without its `;`). Text without
/// either (`R&D`, `x < 5`, `太原 <新闻>`) is the same whether a reader
/// takes it as text or as HTML.
pub fn looks_like_markup(s: &str) -> bool {
    let b = s.as_bytes();
    b.iter().enumerate().any(|(i, &c)| match c {
        b'<' => matches!(b.get(i + 1), Some(n) if n.is_ascii_alphabetic() || b"/!?".contains(n)),
        b'&' => starts_reference(&s[i + 1..]),
        _ => false,
    })
}

/// Whether the text after an `&` starts a character reference: `#`, or
/// a name HTML5 knows (its table holds every prefix of each name too,
/// marked `(0, 0)`).
fn starts_reference(rest: &str) -> bool {
    if rest.starts_with('#') {
        return true;
    }
    let name = rest
        .bytes()
        .take_while(|c| c.is_ascii_alphanumeric())
        .count();
    let with_semicolon = name + usize::from(rest[name..].starts_with(';'));
    (1..=with_semicolon).any(|n| {
        markup5ever::data::NAMED_ENTITIES
            .get(&rest[..n])
            .is_some_and(|&found| found != (0, 0))
    })
}

/// What goes into an element that readers take as HTML when it looks
/// like HTML (an RSS title) or always (an OPML outline's text): the text
/// itself, or, when it looks like markup, the HTML that shows it.
pub fn as_html(s: &str) -> Cow<'_, str> {
    if looks_like_markup(s) {
        Cow::Owned(escape(s))
    } else {
        Cow::Borrowed(s)
    }
}

/// Whether a text has an HTML end tag (`</b>`) in it: where a format
/// has no way to mark a value as text (an RSS category, an Atom name),
/// validators warn that it holds HTML, and it goes in the Dublin Core
/// element, which is text by definition.
pub fn has_end_tag(s: &str) -> bool {
    s.match_indices("</").any(|(i, _)| {
        let rest = &s[i + 2..];
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
    const OPEN: &[u8] = b"<![CDATA[";
    const CLOSE: &[u8] = b"]]>";
    let mut out = Vec::with_capacity(xml.len() + xml.len() / 32);
    let mut i = 0;
    while i < xml.len() {
        let rest = &xml[i..];
        if rest.starts_with(OPEN) {
            let end = find(rest, CLOSE).map_or(rest.len(), |e| e + CLOSE.len());
            out.extend_from_slice(&rest[..end]);
            i += end;
        } else if rest.starts_with(b"&amp;") {
            out.extend_from_slice(b"&#x26;");
            i += 5;
        } else if rest.starts_with(b"&lt;") {
            out.extend_from_slice(b"&#x3C;");
            i += 4;
        } else {
            out.push(xml[i]);
            i += 1;
        }
    }
    out
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_is_what_an_html_parser_reads_as_markup() {
        let markup = [
            "a<b",
            "</x>",
            "<!-- c",
            "<?x",
            "&amp;",
            "&#x26;",
            "&#",
            "&copy 2023",
            "&notit;",
            "x&lt",
        ];
        for s in markup {
            assert!(looks_like_markup(s), "{s}");
        }
        let text = [
            "R&D",
            "AT&T",
            "&",
            "R & D",
            "&-",
            "a &",
            "&zz;",
            "a>b",
            "x < 5",
            "太原 <新闻>",
            "<",
            "\"q\" 'a'",
            "",
        ];
        for s in text {
            assert!(!looks_like_markup(s), "{s}");
        }
        assert_eq!(as_html("R&D"), "R&D");
        assert_eq!(as_html("a<b & c"), "a&lt;b &amp; c");
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
