//! Article bodies: Markdown to HTML, sanitised, with relative URLs made
//! absolute; and the plain text a summary is cut from.

use crate::config::not_in_xml as is_dropped;
use ammonia::{Builder, UrlRelative};
use pulldown_cmark::{CodeBlockKind, Event, HeadingLevel, Options, Parser, Tag, TagEnd, html};
use url::Url;

fn options() -> Options {
    Options::ENABLE_TABLES | Options::ENABLE_FOOTNOTES | Options::ENABLE_STRIKETHROUGH
}

/// Renders Markdown to HTML safe to put in a reader's view (no script,
/// iframe, object, form, event handlers or `javascript:` URLs; relative
/// URLs resolved against `base`, the article's own page, or dropped
/// without one), and returns it
/// with the start of the body's plain text (at least `text_chars`
/// characters of it, if it has that many), from one parse.
pub fn render(markdown: &str, base: Option<&Url>, text_chars: usize) -> (String, String) {
    let mut events: Vec<Event<'_>> = Parser::new_ext(markdown, options()).collect();
    nest_headings(&mut events);
    let mut text = PlainText::new(text_chars);
    let mut collecting = text_chars > 0;
    let mut plain = true;
    for event in &events {
        if collecting {
            collecting = text.push(event);
        }
        plain &= is_plain(event);
    }
    let mut raw = String::with_capacity(markdown.len() * 3 / 2);
    html::push_html(&mut raw, events.into_iter());
    // Markdown with no raw HTML, URL or attribute can only give the
    // elements below, with every text escaped by pulldown-cmark: nothing
    // for the sanitiser to remove, and it is most of the cost of a read.
    let html = if plain {
        raw
    } else {
        let relative = match base {
            Some(base) => UrlRelative::RewriteWithBase(base.clone()),
            None => UrlRelative::Deny,
        };
        Builder::default()
            .url_relative(relative)
            .clean(&raw)
            .to_string()
    };
    // A reference (`&#1;`, `&#xFFFF;`) makes a character XML cannot
    // carry, and a noncharacter may be in the file itself: dropped, or
    // every feed that carries the body would be malformed.
    let bytes = markdown.as_bytes();
    // U+FFFE and U+FFFF are EF BF BE and EF BF BF in UTF-8.
    let suspect = memchr::memchr_iter(b'&', bytes).any(|i| bytes.get(i + 1) == Some(&b'#'))
        || memchr::memmem::find_iter(bytes, b"\xEF\xBF")
            .any(|i| matches!(bytes.get(i + 2), Some(0xBE | 0xBF)));
    let html = if suspect && html.contains(is_dropped) {
        html.chars().filter(|c| !is_dropped(*c)).collect()
    } else {
        html
    };
    (html, text.finish())
}

/// Puts the body's headings under the page's own `<h1>` (the title), in
/// order, as screen readers navigate them: the first is an `<h2>`, and
/// none is more than one level below the one before.
fn nest_headings(events: &mut [Event<'_>]) {
    let mut previous = 1;
    let mut open = HeadingLevel::H2;
    for event in events {
        match event {
            Event::Start(Tag::Heading { level, .. }) => {
                let want = (*level as usize).clamp(2, previous + 1);
                open = HeadingLevel::try_from(want).unwrap_or(HeadingLevel::H6);
                *level = open;
                previous = want;
            }
            Event::End(TagEnd::Heading(level)) => *level = open,
            _ => {}
        }
    }
}

/// The start of a body's plain text, collected event by event: only a
/// summary is cut from it, so collecting stops once it is long enough.
struct PlainText {
    text: String,
    chars: usize,
    check_at: usize,
}

impl PlainText {
    fn new(chars: usize) -> PlainText {
        PlainText {
            text: String::new(),
            chars,
            check_at: 4 * (chars + 1),
        }
    }

    /// Takes one event; false once at least `chars` characters are in.
    fn push(&mut self, event: &Event<'_>) -> bool {
        match event {
            Event::Text(t) | Event::Code(t) => self.text.push_str(t),
            Event::SoftBreak
            | Event::HardBreak
            | Event::End(TagEnd::Paragraph | TagEnd::Heading(_)) => self.text.push(' '),
            _ => {}
        }
        if self.text.len() >= self.check_at {
            self.check_at = self.text.len() * 2;
            return normalise_space(&self.text).chars().count() <= self.chars;
        }
        true
    }

    fn finish(self) -> String {
        normalise_space(&self.text)
    }
}

/// The summary [`render`] gives way to (the start of the plain text cut
/// to `chars`), without rendering any HTML: Markdown is parsed only as
/// far as the summary reaches.
pub fn summary(markdown: &str, chars: usize) -> String {
    let mut text = PlainText::new(chars);
    for event in Parser::new_ext(markdown, options()) {
        if !text.push(&event) {
            break;
        }
    }
    cut_summary(&text.finish(), chars)
}

/// Whether an event renders to markup the sanitiser would keep as it is.
fn is_plain(event: &Event<'_>) -> bool {
    match event {
        Event::Text(_) | Event::Code(_) | Event::SoftBreak | Event::HardBreak | Event::Rule => true,
        Event::Start(tag) => match tag {
            Tag::Paragraph
            | Tag::Heading { .. }
            | Tag::BlockQuote(None)
            | Tag::List(_)
            | Tag::Item
            | Tag::Emphasis
            | Tag::Strong
            | Tag::Strikethrough => true,
            Tag::CodeBlock(CodeBlockKind::Indented) => true,
            Tag::CodeBlock(CodeBlockKind::Fenced(info)) => info.is_empty(),
            _ => false,
        },
        Event::End(_) => true,
        _ => false,
    }
}

#[cfg(test)]
fn to_html(markdown: &str, base: &Url) -> String {
    render(markdown, Some(base), 0).0
}

#[cfg(test)]
fn plain_text(markdown: &str) -> String {
    render(
        markdown,
        Some(&Url::parse("https://n.example/").unwrap()),
        usize::MAX / 8,
    )
    .1
}

/// Collapses runs of white space to one space and drops what XML 1.0
/// cannot carry: control characters (all but tab and line ends, which are
/// white space, as when a file's own bytes are read, so an escaped
/// `\u000B` in a title is dropped as a raw one is, and leaves no space
/// behind) and the noncharacters U+FFFE and U+FFFF.
pub fn normalise_space(s: &str) -> String {
    let kept: std::borrow::Cow<'_, str> = if s.contains(is_dropped) {
        s.chars()
            .filter(|c| !is_dropped(*c))
            .collect::<String>()
            .into()
    } else {
        s.into()
    };
    let mut out = String::with_capacity(kept.len());
    for word in kept.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// Cuts `text` to at most `max` characters (never inside a character),
/// preferring to end at a sentence or clause, and marks a cut with `…`.
pub fn cut_summary(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let head: String = text.chars().take(max).collect();
    // End at the last full sentence if one ends in the second half.
    let stops = ['。', '！', '？', '.', '!', '?'];
    if let Some((i, c)) = head.char_indices().rfind(|(_, c)| stops.contains(c))
        && head[..i].chars().count() >= max / 2
    {
        return head[..i + c.len_utf8()].to_string();
    }
    let mut cut = head
        .trim_end_matches(['，', '、', ',', ' ', '；', '：'])
        .to_string();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Url {
        Url::parse("https://n.example/xiaodian/a.html").unwrap()
    }

    #[test]
    fn sanitises_dangerous_markup() {
        let md = "hi <script>alert(1)</script>\n\n<img src=x onerror=\"alert(1)\">\n\n[x](javascript:alert(1))\n\n<iframe src=\"https://evil\"></iframe><form><input></form>";
        let h = to_html(md, &base());
        for bad in [
            "<script",
            "alert(1)",
            "onerror",
            "javascript:",
            "<iframe",
            "<form",
            "<input",
        ] {
            assert!(!h.contains(bad), "{bad} survived in {h}");
        }
        assert!(h.contains("hi"));
    }

    #[test]
    fn relative_urls_become_absolute() {
        let h = to_html("[a](other.html) ![p](/img/p.png)", &base());
        assert!(
            h.contains("href=\"https://n.example/xiaodian/other.html\""),
            "{h}"
        );
        assert!(h.contains("src=\"https://n.example/img/p.png\""), "{h}");
    }

    #[test]
    fn a_summary_from_part_of_the_text_is_the_summary_of_all_of_it() {
        let paragraph = "太原市召开会议，强调要贯彻落实重要讲话精神。 \n\n   \n".repeat(40);
        let spaced = format!("{}{paragraph}", " \n".repeat(300));
        for md in [paragraph.as_str(), spaced.as_str(), "短。", ""] {
            let whole = cut_summary(&plain_text(md), 120);
            let (_, start) = render(md, Some(&base()), 120);
            assert_eq!(cut_summary(&start, 120), whole);
        }
    }

    #[test]
    fn markdown_without_markup_skips_the_sanitiser_and_stays_the_same() {
        let md = "## 标题\n\n段落 *强调* **粗体** ~~删除~~ `代码` 1 < 2 & 3\n\n> 引用\n\n- 一\n- 二\n\n3. 三\n\n    缩进代码\n\n---\n";
        let mut raw = String::new();
        html::push_html(&mut raw, Parser::new_ext(md, options()));
        let cleaned = Builder::default().clean(&raw).to_string();
        // The one difference: pulldown-cmark closes void elements (`<hr />`).
        assert_eq!(to_html(md, &base()).replace(" />", ">"), cleaned);
        assert!(to_html("[x](javascript:alert(1))", &base()).contains("<a rel"));
    }

    #[test]
    fn plain_text_drops_markup() {
        assert_eq!(
            plain_text("# 标题\n\n**粗**体\n第二行\n\n段落"),
            "标题 粗体 第二行 段落"
        );
    }

    #[test]
    fn a_summary_alone_is_the_summary_of_the_rendered_body() {
        for md in [
            "短。",
            &"第一段很长的句子，有逗号。".repeat(30),
            &"# 标题\n\n正文*强调*`代码`。\n\n- 一\n- 二\n\n".repeat(20),
            "",
        ] {
            let whole = cut_summary(&render(md, None, 120).1, 120);
            assert_eq!(summary(md, 120), whole, "{md}");
        }
    }

    #[test]
    fn cjk_summary_never_splits_a_character() {
        let text = "小店区召开2022年劳动模范表彰大会，强调要贯彻落实重要讲话精神".repeat(5);
        for max in 1..60 {
            let s = cut_summary(&text, max);
            assert!(s.chars().count() <= max + 1, "{max}: {s}");
            assert!(text.starts_with(s.trim_end_matches('…')), "{max}: {s}");
        }
        let s = cut_summary("一二三四五六七八九十", 4);
        assert_eq!(s, "一二三四…");
        assert_eq!(cut_summary("短句。", 10), "短句。");
    }

    #[test]
    fn characters_xml_cannot_carry_are_dropped_from_bodies_and_texts() {
        let base = Url::parse("https://n.example/").unwrap();
        for md in [
            "x &#x1; y &#xFFFF; z \u{FFFE}",
            "<p>x &#1; y</p>",
            "`&#x1;` \u{FFFF}",
        ] {
            let html = to_html(md, &base);
            assert!(!html.contains(is_dropped), "{md}: {html:?}");
        }
        assert_eq!(normalise_space("a\u{FFFF}b \u{1}c\u{FFFE}"), "ab c");
    }

    #[test]
    fn body_headings_come_under_the_title_in_order() {
        let base = Url::parse("https://n.example/").unwrap();
        let html = to_html("# 一\n\n#### 二\n\n### 三\n\n###### 四\n\n## 五\n", &base);
        let levels: Vec<&str> = html
            .match_indices("<h")
            .map(|(i, _)| &html[i..i + 3])
            .collect();
        assert_eq!(levels, ["<h2", "<h3", "<h3", "<h4", "<h2"], "{html}");
        assert!(html.contains("<h3>二</h3>"), "{html}");
    }

    #[test]
    fn summary_prefers_sentence_end() {
        let s = cut_summary("第一句话在这里。第二句话很长很长很长很长很长很长", 12);
        assert_eq!(s, "第一句话在这里。");
    }
}
