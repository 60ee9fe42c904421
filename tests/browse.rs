//! The browsable archive: every article reachable by links from `/`,
//! through HTML archive pages numbered as the RFC 5005 documents are.
//! The real binary, real sockets, real files; the crawl uses Python's
//! own HTML parser.

mod common;

use std::time::Duration;

use common::Site;
use common::http::{Server, block_on, free_port, get};

fn article(title: &str, date: &str) -> String {
    format!("+++\ntitle = \"{title}\"\ndate = {date}\n+++\n\n{title}的正文。\n")
}

/// Hrefs of the `<a>` elements with `rel` in an HTML page, made relative
/// to the sample's base URL.
fn rel_links(page: &str, rel: &str) -> Vec<String> {
    let needle = format!("<a rel=\"{rel}\" href=\"");
    page.split(&needle)
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .map(|h| h.trim_start_matches("http://127.0.0.1:8080").to_string())
        .collect()
}

/// Item links (article pages) of an RSS document or an HTML page, in order.
fn article_links(doc: &str) -> Vec<String> {
    doc.split("http://127.0.0.1:8080/")
        .skip(1)
        .filter_map(|rest| rest.split(['<', '"']).next())
        .filter(|l| l.ends_with(".html") && !l.contains("archive/"))
        .map(String::from)
        .collect()
}

/// A reader starting at `/` and following only `<a href>` reaches every
/// one of 3,000 articles (and an old city-wide one, in the city's archive
/// only), through district, topic and city archive pages.
#[test]
fn a_crawl_from_the_index_reaches_every_article() {
    let site = Site::sample();
    let corpus = common::repo().join("bench/corpus.py");
    let made = common::python(&[])
        .arg(&corpus)
        .arg("3000")
        .arg(site.path())
        .status()
        .expect("python3 runs");
    assert!(made.success());
    site.write("content/旧闻.md", article("城市旧闻", "2014-06-01"));
    site.write(
        "content/xiaodian/draft.md",
        "+++\ntitle = \"草稿\"\ndate = 2016-01-01\ndraft = true\n+++\nx\n",
    );
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let base = format!("http://{addr}/");
    let server = Server::start(site, &["--addr", &addr, "--base-url", &base]);
    let script = common::repo().join("tests/interop/crawl.py");
    let out = common::python(&[])
        .arg(&script)
        .arg(&base)
        .arg(server.site.content())
        .output()
        .expect("python3 runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "crawl.py failed:\n{}{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("reached 3001 of 3001 articles"), "{stdout}");
}

/// HTML archive pages hold what the RSS documents of the same number
/// hold, link older and newer with rel="prev"/"next", and keep their
/// bytes (and their files) when news arrives; only the newest changes.
#[test]
fn archive_pages_follow_the_documents_and_closed_ones_never_change() {
    let site = Site::archived();
    assert_eq!(site.run(&["build"]).code(), 0);
    // Summaries from the pages the build rendered, not from the files.
    let atom = site.read("feeds/archive/atom-1.xml");
    // 20 articles: 17 archived in pages of 3, the newest (6) of 2.
    let index = site.read("feeds/index.html");
    assert_eq!(rel_links(&index, "prev"), ["/archive/page-6.html"]);
    let district = site.read("feeds/xiaodian/index.html");
    assert_eq!(
        rel_links(&district, "prev"),
        ["/xiaodian/archive/page-2.html"]
    );
    for number in 1..=6 {
        let page = site.read(&format!("feeds/archive/page-{number}.html"));
        let doc = site.read(&format!("feeds/archive/rss-{number}.xml"));
        assert_eq!(article_links(&page), article_links(&doc), "page {number}");
        let prev: Vec<String> = (number > 1)
            .then(|| format!("/archive/page-{}.html", number - 1))
            .into_iter()
            .collect();
        assert_eq!(rel_links(&page, "prev"), prev, "page {number}");
        let next = if number < 6 {
            format!("/archive/page-{}.html", number + 1)
        } else {
            "/".to_string()
        };
        assert_eq!(rel_links(&page, "next"), [next], "page {number}");
    }
    assert_eq!(
        rel_links(&site.read("feeds/xiaodian/archive/page-2.html"), "next"),
        ["/xiaodian/"]
    );

    let closed = site.feeds().join("archive/page-5.html");
    let (bytes, mtime) = (
        std::fs::read(&closed).unwrap(),
        closed.metadata().unwrap().modified().unwrap(),
    );
    let newest = site.read("feeds/archive/page-6.html");
    std::thread::sleep(Duration::from_millis(20));
    site.write("content/xiaodian/new.md", article("小店新闻", "2023-02-01"));
    assert_eq!(site.run(&["build"]).code(), 0);
    assert_eq!(std::fs::read(&closed).unwrap(), bytes);
    assert_eq!(closed.metadata().unwrap().modified().unwrap(), mtime);
    let grown = site.read("feeds/archive/page-6.html");
    assert_eq!(
        article_links(&grown).len(),
        article_links(&newest).len() + 1
    );

    // Served from a new output folder: closed pages cached a day, the
    // newest as long as the feeds; archive documents rendered from the
    // files have the bytes of the build's.
    let s = Server::start(site, &["--out", "served"]);
    let r = block_on(get(s.addr, "/archive/atom-1.xml", &[])).unwrap();
    assert_eq!(String::from_utf8_lossy(&r.body), atom);
    let r = block_on(get(s.addr, "/archive/page-5.html", &[])).unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("text/html; charset=utf-8"));
    assert_eq!(r.header("cache-control"), Some("public, max-age=86400"));
    assert_eq!(r.body.as_ref(), bytes.as_slice());
    let r = block_on(get(s.addr, "/archive/page-6.html", &[])).unwrap();
    assert_eq!(r.header("cache-control"), Some("public, max-age=300"));
    let r = block_on(get(s.addr, "/archive/page-7.html", &[])).unwrap();
    assert_eq!(r.status, 404);
}
