//! The README and the pages in docs/: every relative link points at a file
//! that exists and, with a `#fragment`, at a heading of that file (GitHub's
//! anchors).

use pulldown_cmark::{Event, Parser, Tag, TagEnd};
use std::collections::HashSet;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The Markdown files checked: README.md and everything in docs/.
fn pages() -> Vec<PathBuf> {
    let mut pages = vec![root().join("README.md")];
    let docs = std::fs::read_dir(root().join("docs")).expect("docs/ exists");
    for entry in docs {
        let path = entry.expect("docs/ lists").path();
        if path.extension().is_some_and(|e| e == "md") {
            pages.push(path);
        }
    }
    pages.sort();
    pages
}

/// GitHub's anchor for a heading: lower case, spaces to `-`, everything but
/// letters, digits, `-` and `_` dropped; repeats get `-1`, `-2`.
fn anchors(markdown: &str) -> HashSet<String> {
    let mut seen = HashSet::new();
    let mut heading: Option<String> = None;
    for event in Parser::new(markdown) {
        match event {
            Event::Start(Tag::Heading { .. }) => heading = Some(String::new()),
            Event::Text(t) | Event::Code(t) => {
                if let Some(h) = heading.as_mut() {
                    h.push_str(&t);
                }
            }
            Event::End(TagEnd::Heading(_)) => {
                let text = heading.take().unwrap_or_default();
                let base: String = text
                    .to_lowercase()
                    .chars()
                    .filter_map(|c| match c {
                        ' ' => Some('-'),
                        c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
                        _ => None,
                    })
                    .collect();
                let mut anchor = base.clone();
                let mut n = 0;
                while seen.contains(&anchor) {
                    n += 1;
                    anchor = format!("{base}-{n}");
                }
                seen.insert(anchor);
            }
            _ => {}
        }
    }
    seen
}

fn links(markdown: &str) -> Vec<String> {
    Parser::new(markdown)
        .filter_map(|event| match event {
            Event::Start(Tag::Link { dest_url, .. })
            | Event::Start(Tag::Image { dest_url, .. }) => Some(dest_url.to_string()),
            _ => None,
        })
        .collect()
}

fn is_relative(link: &str) -> bool {
    !(link.contains("://") || link.starts_with("mailto:") || link.starts_with('/'))
}

fn broken_links(page: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(page).expect("page reads");
    let mut broken = Vec::new();
    for link in links(&text).into_iter().filter(|l| is_relative(l)) {
        let (file, fragment) = match link.split_once('#') {
            Some((f, frag)) => (f, Some(frag)),
            None => (link.as_str(), None),
        };
        let target = if file.is_empty() {
            page.to_path_buf()
        } else {
            page.parent().expect("page has a folder").join(file)
        };
        if !target.exists() {
            broken.push(format!("{}: {link}: no such file", page.display()));
            continue;
        }
        if let Some(fragment) = fragment {
            let body = std::fs::read_to_string(&target).unwrap_or_default();
            if !anchors(&body).contains(fragment) {
                broken.push(format!("{}: {link}: no such heading", page.display()));
            }
        }
    }
    broken
}

#[test]
fn every_relative_link_reaches_a_file_and_heading() {
    let pages = pages();
    assert!(pages.len() > 5, "README.md and the docs/ pages: {pages:?}");
    let broken: Vec<String> = pages.iter().flat_map(|p| broken_links(p)).collect();
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
}

#[test]
fn every_docs_page_is_linked_from_the_readme() {
    let readme = std::fs::read_to_string(root().join("README.md")).expect("README reads");
    let linked: HashSet<String> = links(&readme).into_iter().collect();
    for page in pages()
        .iter()
        .filter(|p| p.parent() == Some(&root().join("docs")))
    {
        let name = page.file_name().expect("name").to_string_lossy();
        let link = format!("docs/{name}");
        assert!(linked.contains(&link), "README.md does not link {link}");
    }
}

#[test]
fn the_link_check_finds_what_is_broken() {
    let text = "# Top\n\n## How `feeds/` is written\n\n[ok](#how-feeds-is-written) [bad](#nope)\n";
    let a = anchors(text);
    assert!(
        a.contains("top") && a.contains("how-feeds-is-written"),
        "{a:?}"
    );
    assert!(!a.contains("nope"));
    let dir = std::env::temp_dir().join(format!("crier-docs-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp folder");
    let page = dir.join("page.md");
    std::fs::write(&page, format!("{text}[gone](missing.md)\n")).expect("write");
    let broken = broken_links(&page);
    std::fs::remove_dir_all(&dir).ok();
    assert_eq!(broken.len(), 2, "{broken:?}");
    assert!(
        broken[0].contains("#nope") && broken[1].contains("missing.md"),
        "{broken:?}"
    );
}
