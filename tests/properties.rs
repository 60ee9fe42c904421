//! Properties for what fuzzing cannot judge: for arbitrary titles,
//! summaries, authors, tags and bodies (markup, references, control
//! characters, `]]>`, `</script>`, bidi marks, astral characters,
//! 20,000-character lines) every output is well-formed and each text
//! reads back exactly through the rss, atom_syndication and serde_json
//! parsers, as a reader shows it (a value the format or the reader takes
//! as HTML: the text that HTML renders to, with no element in it); equal
//! bytes get equal ETags and different bytes different ones.

mod common;
#[path = "../fuzz/oracles.rs"]
mod oracles;

use std::path::PathBuf;
use std::sync::Arc;

use crier::config::{Config, Overrides};
use crier::content::{self, Candidate};
use crier::render::{self, Scope};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;

/// Pieces that break feeds, and ordinary text around them.
fn nasty() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("]]>".to_string()),
        Just("</script>".to_string()),
        Just("<![CDATA[".to_string()),
        Just("&amp;&lt;&#0;".to_string()),
        Just("\u{202e}\u{200f}\u{2066}".to_string()),
        Just("𝕏🦀𠀀".to_string()),
        Just("\"'\\".to_string()),
        Just(" \t ".to_string()),
        Just("\u{1}\u{8}\u{1b}\u{7f}\u{85}".to_string()),
        Just("太原".to_string()),
        Just("a<b R&D <b>粗体</b>".to_string()),
        Just("<img src=x onerror=alert(1)>".to_string()),
        Just("&copy &nbsp; &#x26; & <".to_string()),
        Just("<!-- x --><?php".to_string()),
        Just("\u{FFFF}\u{FFFE}&#x1;&#xFFFF;".to_string()),
        "[a-z ]{0,8}",
        any::<char>().prop_map(String::from),
    ];
    proptest::collection::vec(piece, 1..12).prop_map(|v| v.concat())
}

/// A body: paragraphs, one of them maybe a single 20,000-character line.
fn body() -> impl Strategy<Value = String> {
    (proptest::collection::vec(nasty(), 0..4), any::<bool>()).prop_map(|(paras, long)| {
        let mut b = paras.join("\n\n");
        if long {
            b.push_str("\n\n");
            b.push_str(&"长".repeat(20_000));
        }
        b
    })
}

/// What a title reads as: control characters but tab and line ends
/// dropped (U+0085 too), and U+FFFE and U+FFFF, white space runs one
/// space, ends trimmed.
fn as_shown(s: &str) -> String {
    let kept: String = s
        .chars()
        .filter(|c| !c.is_control() || matches!(c, '\t' | '\n' | '\r'))
        .filter(|c| !matches!(c, '\u{FFFE}' | '\u{FFFF}'))
        .collect();
    kept.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A text construct as a reader shows it: HTML as the text it renders to.
fn atom_text(t: &atom_syndication::Text) -> String {
    match t.r#type {
        atom_syndication::TextType::Html => {
            let (text, tags) = oracles::html_text(&t.value);
            assert_eq!(tags, 0, "markup in {:?}", t.value);
            text
        }
        _ => t.value.clone(),
    }
}

/// What every format must show of the other fields.
struct Want {
    summary: String,
    author: Option<String>,
    /// The tags and the district's name, each once, sorted.
    tags: Vec<String>,
}

impl Want {
    fn of(summary: &str, author: &str, tags: &[String], from_body: &str) -> Want {
        let summary = Some(as_shown(summary)).filter(|s| !s.is_empty());
        let author = Some(as_shown(author)).filter(|s| !s.is_empty());
        let mut tags: Vec<String> = tags
            .iter()
            .map(|t| as_shown(t))
            .filter(|t| !t.is_empty())
            .collect();
        tags.push("小店区".into());
        tags.sort();
        tags.dedup();
        Want {
            summary: summary.unwrap_or_else(|| from_body.to_string()),
            author,
            tags,
        }
    }
}

fn config() -> Config {
    let text = "title = \"t\"\nbase_url = \"https://news.example.cn/\"\nid_authority = \"news.example.cn\"\n[districts.xiaodian]\nname = \"小店区\"\n";
    Config::from_toml(text, "crier.toml", &Overrides::default()).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn any_text_in_any_field_reads_back_exactly_in_every_format(
        title in nasty(),
        summary in nasty(),
        author in nasty(),
        tags in proptest::collection::vec(nasty(), 0..4),
        body in body(),
    ) {
        let shown = as_shown(&title);
        prop_assume!(!shown.is_empty());
        let mut front = toml::Table::new();
        front.insert("title".into(), title.clone().into());
        front.insert("date".into(), "2023-01-10T08:00:00+08:00".into());
        front.insert("summary".into(), summary.clone().into());
        front.insert("author".into(), author.clone().into());
        front.insert("tags".into(), tags.clone().into());
        let file = format!("+++\n{}+++\n\n{body}\n", toml::to_string(&front).unwrap());
        let config = config();
        let c = Candidate {
            path: PathBuf::from("content/xiaodian/a.md"),
            district: Some("xiaodian".into()),
            stamp: None,
            outside: None,
        };
        let read = content::parse(&config, &c, file.into_bytes());
        let a = read.article.unwrap_or_else(|| panic!("not read: {:?}", read.diagnostics));
        let body = Arc::new(read.body.unwrap().render());
        let mut scope = Scope::bare(&config, config.district("xiaodian"));
        scope.articles = vec![&a];
        scope.bodies = vec![body.clone()];
        scope.total = 1;
        let want = Want::of(&summary, &author, &tags, &body.summary);
        // An article with no text has its title for a summary in the feeds.
        let feed_summary = if want.summary.is_empty() { shown.clone() } else { want.summary.clone() };

        let rss = render::rss::render(&scope).unwrap();
        oracles::well_formed_xml("RSS", &rss);
        let channel = rss::Channel::read_from(&rss[..]).unwrap();
        let item = &channel.items[0];
        let rss_title = item.title.as_deref().unwrap_or_default();
        // A reader that takes it as text (newsboat), and one that guesses
        // (feedparser): the same text, and no tag in it.
        prop_assert_eq!(oracles::guessed_text(rss_title), (shown.clone(), 0));
        if !oracles::looks_like_html(&shown) {
            prop_assert_eq!(rss_title, shown.as_str());
        }
        // The description is HTML to every reader.
        let description = item.description.as_deref().unwrap_or_default();
        prop_assert_eq!(oracles::html_text(description), (feed_summary.clone(), 0));
        let dc = item.dublin_core_ext.clone().unwrap_or_default();
        prop_assert_eq!(dc.creators.clone(), want.author.iter().cloned().collect::<Vec<_>>());
        let mut rss_tags: Vec<String> = item.categories.iter().map(|c| c.name.clone()).chain(dc.subjects.clone()).collect();
        rss_tags.sort();
        prop_assert_eq!(&rss_tags, &want.tags);

        let atom = render::atom::render(&scope).unwrap();
        oracles::well_formed_xml("Atom", &atom);
        let feed = atom_syndication::Feed::read_from(&atom[..]).unwrap();
        let entry = &feed.entries[0];
        prop_assert_eq!(atom_text(&entry.title), shown.as_str());
        prop_assert_eq!(entry.summary.as_ref().map(atom_text), Some(feed_summary));
        let names: Vec<String> = entry.authors.iter().map(|p| p.name.clone()).chain(
            entry.extensions.get("dc").and_then(|dc| dc.get("creator")).into_iter().flatten().filter_map(|e| e.value.clone()),
        ).collect();
        prop_assert_eq!(names, want.author.iter().cloned().collect::<Vec<_>>());
        let mut atom_tags: Vec<String> = entry.categories.iter().map(|c| c.term.clone()).collect();
        atom_tags.sort();
        prop_assert_eq!(&atom_tags, &want.tags);

        let json: serde_json::Value = serde_json::from_slice(&render::json::render(&scope).unwrap()).unwrap();
        let item = &json["items"][0];
        prop_assert_eq!(item["title"].as_str(), Some(shown.as_str()));
        prop_assert_eq!(item["summary"].as_str(), Some(want.summary.as_str()));
        let authors: Vec<&str> = item["authors"].as_array().into_iter().flatten().filter_map(|a| a["name"].as_str()).collect();
        prop_assert_eq!(authors, want.author.iter().map(String::as_str).collect::<Vec<_>>());
        let mut json_tags: Vec<String> = item["tags"].as_array().into_iter().flatten().filter_map(|t| t.as_str().map(String::from)).collect();
        json_tags.sort();
        prop_assert_eq!(&json_tags, &want.tags);

        let page = String::from_utf8(render::html::article(&scope, &a, &body).unwrap()).unwrap();
        prop_assert!(page.trim_end().ends_with("</html>"));
        oracles::assert_safe_html(&body.html);
    }

    #[test]
    fn etags_are_equal_exactly_for_equal_bytes(a in proptest::collection::vec(any::<u8>(), 0..300), b in proptest::collection::vec(any::<u8>(), 0..300)) {
        let (ea, eb) = (crier::fingerprint::etag(&a), crier::fingerprint::etag(&b));
        prop_assert_eq!(ea == eb, a == b);
        prop_assert_eq!(ea.clone(), crier::fingerprint::etag(&a.clone()));
        prop_assert!(ea.starts_with('"') && ea.ends_with('"'));
    }
}

/// The same pieces in 40 articles of a real site, built by the binary and
/// read back through feedparser (RSS and Atom: feeds, topic feeds,
/// archives), the json module and an HTML parser, every text exactly
/// (tests/interop/check_text.py), and clean under the validator's text
/// rules (check_w3c.py). Different pieces at every run, as proptest's.
#[test]
fn any_text_reads_back_exactly_through_feedparser_and_the_validators_rules() {
    let site = common::Site::sample();
    let toml = site
        .read("crier.toml")
        .replace("feed_limit = 50", "feed_limit = 10");
    site.write("crier.toml", toml);
    let mut runner = TestRunner::default();
    let fields = (
        nasty(),
        nasty(),
        nasty(),
        proptest::collection::vec(nasty(), 0..4),
        body(),
    );
    let quote = |s: &str| toml::Value::from(s).to_string();
    let mut written = 0;
    while written < 40 {
        let (title, summary, author, tags, body) = fields.new_tree(&mut runner).unwrap().current();
        if as_shown(&title).is_empty() {
            continue;
        }
        let tags: Vec<String> = tags.iter().map(|t| quote(t)).collect();
        let file = format!(
            "+++\ntitle = {}\ndate = 2023-02-{:02}T08:00:00+08:00\nsummary = {}\nauthor = {}\ntags = [{}]\n+++\n\n{body}\n",
            quote(&title),
            1 + written % 28,
            quote(&summary),
            quote(&author),
            tags.join(", ")
        );
        site.write(&format!("content/xiaodian/p{written}.md"), &file);
        written += 1;
    }
    let run = site.run(&["build"]);
    assert_eq!(run.code(), 0, "{}", run.stderr());
    for (script, module) in [
        ("check_text.py", "feedparser"),
        ("check_w3c.py", "html5lib"),
    ] {
        let out = common::python(&[module])
            .arg(common::repo().join("tests/interop").join(script))
            .args([site.path().join("crier.toml"), site.content(), site.feeds()])
            .output()
            .expect("python3 runs");
        assert!(
            out.status.success(),
            "{script}: {}\n(the articles are in {}: keep them with a breakpoint here)",
            String::from_utf8_lossy(&out.stderr),
            site.content().display()
        );
    }
}
