//! Every generated feed parsed by third-party parsers (Python's feedparser
//! and feedparser-rs, installed by .ci/run): no parse error, right counts,
//! ids, titles and dates. The checks live in tests/interop/check_feeds.py.

mod common;

use common::Site;

/// Runs a checker of tests/interop on the site's config, content and
/// output; its stdout if it passed.
fn run_checker(site: &Site, script: &str, needs: &[&str]) -> String {
    let script = common::repo().join("tests/interop").join(script);
    let out = common::python(needs)
        .arg(&script)
        .args([site.path().join("crier.toml"), site.content(), site.feeds()])
        .output()
        .expect("python3 runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{} failed:\n{stderr}",
        script.display()
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn parse_all(site: &Site) -> String {
    run_checker(site, "check_feeds.py", &["feedparser", "feedparser_rs"])
}

#[test]
fn third_party_parsers_read_every_feed() {
    let site = Site::sample();
    assert_eq!(site.run(&["build"]).code(), 0);
    assert!(parse_all(&site).contains("39 feed parses OK"));
}

/// Markup-like titles, CDATA terminators, images, external links, offsets
/// and Chinese file names survive every format.
#[test]
fn awkward_articles_parse_everywhere() {
    let site = Site::sample();
    site.write(
        "content/xiaodian/标记.md",
        "+++\ntitle = \"A & B <b>not bold</b> \\\"quoted\\\" 'x'\"\ndate = 2023-01-16T08:30:00+08:00\nimage = \"img/photo.png\"\nlink = \"https://example.org/原文?a=1&b=2\"\n+++\n\nText with ]]> inside, `]]>` in code, <script>x</script> and &nbsp; entity.\n",
    );
    site.write(
        "content/utc.md",
        "+++\ntitle = \"UTC time\"\ndate = 2023-01-16T01:00:00Z\nsummary = \"s\"\n+++\nbody\n",
    );
    let run = site.run(&["build"]);
    assert_eq!(run.code(), 0, "{}", run.stderr());
    assert!(parse_all(&site).contains("39 feed parses OK"));
    let rss = site.read("feeds/xiaodian/rss.xml");
    assert!(
        rss.contains("url=\"http://127.0.0.1:8080/xiaodian/img/photo.png\""),
        "{rss}"
    );
    assert!(
        rss.contains("<link>https://example.org/%E5%8E%9F%E6%96%87?a=1&#x26;b=2</link>"),
        "{rss}"
    );
    assert!(!rss.contains("<script>"));
}

fn check_meta(site: &Site) -> String {
    run_checker(site, "check_meta.py", &["extruct"])
}

/// extruct reads the OpenGraph properties and the JSON-LD `NewsArticle`
/// of every article page with the values of its file, hostile titles,
/// authors and tags included: nothing closes the script element or an
/// attribute early.
#[test]
fn extruct_reads_every_article_pages_metadata() {
    let site = Site::sample();
    site.write(
        "content/xiaodian/hostile.md",
        "+++\ntitle = \"</script><script>alert(1)</script> \\\"q\\\" 'a' & <!-- x\"\nauthor = \"A </script> B\"\ntags = [\"x\\\"y\", \"</script>\"]\ndate = 2023-01-16T08:30:00+08:00\nupdated = 2023-01-17T09:00:00+08:00\nimage = \"img/p&q.png\"\nsummary = \"</script> & \\\"s\\\"\"\n+++\n\nbody\n",
    );
    let run = site.run(&["build"]);
    assert_eq!(run.code(), 0, "{}", run.stderr());
    let out = check_meta(&site);
    assert!(out.contains("14 article pages' metadata OK"), "{out}");
    let page = site.read("feeds/xiaodian/hostile.html");
    assert_eq!(page.matches("<script").count(), 1, "{page}");
    assert_eq!(page.matches("</script>").count(), 1, "{page}");
}

/// Every title, summary, author, tag and name of the hostile corpus
/// (markup, references, `]]>`, `</script>`, controls, bidi marks, astral
/// characters) reads back exactly through feedparser (RSS and Atom, every
/// feed and archive document), the json module (JSON Feed) and an HTML
/// parser (every page's heading, title, meta tags, JSON-LD and links),
/// and none of it becomes an element or an attribute; the feeds follow
/// the validator's rules for text.
#[test]
fn hostile_text_reads_back_exactly_in_every_reader() {
    let site = Site::hostile();
    let run = site.run(&["build"]);
    assert_eq!(run.code(), 0, "{}", run.stderr());
    let out = run_checker(&site, "check_text.py", &["feedparser"]);
    assert!(
        out.contains("documents read back exactly (35 RSS, 35 Atom, 20 JSON,"),
        "{out}"
    );
    let out = run_checker(&site, "check_w3c.py", &["html5lib"]);
    assert!(
        out.contains("documents clean (35 RSS, 35 Atom, 2 OPML,"),
        "{out}"
    );
    let out = check_meta(&site);
    assert!(out.contains("25 article pages' metadata OK"), "{out}");
}

/// Every XML document of a site with archives, topics, a Chinese file
/// name and news of today follows the W3C Feed Validation Service's
/// rules (errors and warnings) and the sitemap rules; archive entries
/// carry the summary their article has in the feeds.
#[test]
fn every_xml_document_follows_the_validators_rules() {
    let site = Site::archived();
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    site.write(
        "content/yingze/今日.md",
        format!(
            "+++\ntitle = \"今日 & <要闻>\"\ndate = {now}\ntags = [\"民生\"]\n+++\n\n今日要闻。\n"
        ),
    );
    let run = site.run(&["build"]);
    assert_eq!(run.code(), 0, "{}", run.stderr());
    let out = run_checker(&site, "check_w3c.py", &["html5lib"]);
    assert!(
        out.contains("documents clean (26 RSS, 26 Atom, 2 OPML, 6 sitemaps)"),
        "{out}"
    );
    // The oldest Xiaodian article: in the district's newest three no more,
    // its summary in the archive is the one its feed entry had.
    let summary = |doc: &str, id: &str| -> Option<String> {
        let entry = doc.split("<entry>").find(|e| e.contains(id))?;
        Some(
            entry
                .split("<summary>")
                .nth(1)?
                .split("</summary>")
                .next()?
                .to_string(),
        )
    };
    let id = "xiaodian/old-1</id>";
    let archived = summary(&site.read("feeds/xiaodian/archive/atom-1.xml"), id);
    assert_eq!(archived.as_deref(), Some("小店旧闻1的正文。"));
    let toml = site
        .read("crier.toml")
        .replace("feed_limit = 3", "feed_limit = 50");
    site.write("crier.toml", toml);
    assert_eq!(site.run(&["build"]).code(), 0);
    assert_eq!(summary(&site.read("feeds/xiaodian/atom.xml"), id), archived);
}
