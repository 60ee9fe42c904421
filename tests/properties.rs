//! Properties for what fuzzing cannot judge: for arbitrary titles,
//! authors, tags and bodies (control characters, `]]>`, `</script>`, bidi
//! marks, astral characters, 20,000-character lines) every output is
//! well-formed and the title reads back unchanged through the rss,
//! atom_syndication and serde_json parsers; equal bytes get equal ETags
//! and different bytes different ones.

#[path = "../fuzz/oracles.rs"]
mod oracles;

use std::path::PathBuf;
use std::sync::Arc;

use crier::config::{Config, Overrides};
use crier::content::{self, Candidate};
use crier::render::{self, Scope};
use proptest::prelude::*;

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
/// dropped (U+0085 too), white space runs one space, ends trimmed.
fn as_shown(s: &str) -> String {
    let kept: String = s
        .chars()
        .filter(|c| !c.is_control() || matches!(c, '\t' | '\n' | '\r'))
        .collect();
    kept.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn config() -> Config {
    let text = "title = \"t\"\nbase_url = \"https://news.example.cn/\"\nid_authority = \"news.example.cn\"\n[districts.xiaodian]\nname = \"小店区\"\n";
    Config::from_toml(text, "crier.toml", &Overrides::default()).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn any_title_author_tags_and_body_give_well_formed_feeds_with_the_title(
        title in nasty(),
        author in nasty(),
        tags in proptest::collection::vec(nasty(), 0..4),
        body in body(),
    ) {
        let shown = as_shown(&title);
        prop_assume!(!shown.is_empty());
        let mut front = toml::Table::new();
        front.insert("title".into(), title.clone().into());
        front.insert("date".into(), "2023-01-10T08:00:00+08:00".into());
        front.insert("author".into(), author.into());
        front.insert("tags".into(), tags.into());
        let file = format!("+++\n{}+++\n\n{body}\n", toml::to_string(&front).unwrap());
        let config = config();
        let c = Candidate {
            path: PathBuf::from("content/xiaodian/a.md"),
            district: Some("xiaodian".into()),
            stamp: None,
        };
        let read = content::parse(&config, &c, file.into_bytes());
        let a = read.article.unwrap_or_else(|| panic!("not read: {:?}", read.diagnostics));
        let body = Arc::new(read.body.unwrap().render());
        let mut scope = Scope::bare(&config, config.district("xiaodian"));
        scope.articles = vec![&a];
        scope.bodies = vec![body.clone()];
        scope.total = 1;

        let rss = render::rss::render(&scope).unwrap();
        oracles::well_formed_xml("RSS", &rss);
        let channel = rss::Channel::read_from(&rss[..]).unwrap();
        prop_assert_eq!(channel.items[0].title.as_deref(), Some(shown.as_str()));

        let atom = render::atom::render(&scope).unwrap();
        oracles::well_formed_xml("Atom", &atom);
        let feed = atom_syndication::Feed::read_from(&atom[..]).unwrap();
        prop_assert_eq!(feed.entries[0].title.value.as_str(), shown.as_str());

        let json: serde_json::Value = serde_json::from_slice(&render::json::render(&scope).unwrap()).unwrap();
        prop_assert_eq!(json["items"][0]["title"].as_str(), Some(shown.as_str()));

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
