//! Sitemaps, the Google News sitemap and robots.txt, read as search
//! engines read them: ultimate-sitemap-parser (installed by .ci/run)
//! crawls a running server from its robots.txt.

mod common;

use std::time::{Duration, Instant};

use chrono::{SecondsFormat, Utc};
use common::Site;
use common::http::{Server, block_on, free_port, get};

fn article(title: &str, date: &str) -> String {
    format!("+++\ntitle = \"{title}\"\ndate = {date}\n+++\n\n{title}。正文。\n")
}

fn ago(secs: i64) -> String {
    (Utc::now() - chrono::Duration::seconds(secs))
        .with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).unwrap())
        .to_rfc3339_opts(SecondsFormat::Secs, false)
}

fn text(s: &Server, path: &str) -> (String, String) {
    let r = block_on(get(s.addr, path, &[])).unwrap();
    assert_eq!(r.status, 200, "{path}");
    let ct = r.header("content-type").unwrap_or_default().to_string();
    (ct, String::from_utf8(r.body.to_vec()).unwrap())
}

/// A search engine starting from robots.txt finds every article page once
/// (a Chinese file name, an edited article, a draft left out), the index
/// and district pages, and today's news in the Google News sitemap.
#[test]
fn a_crawl_from_robots_txt_finds_every_article_once() {
    let site = Site::sample();
    site.write(
        "content/xiaodian/劳模表彰.md",
        article("劳模 & '表彰'", "2023-01-16T08:30:00+08:00"),
    );
    site.write(
        "content/gujiao/edited.md",
        "+++\ntitle = \"改过\"\ndate = 2023-02-01T08:00:00+08:00\nupdated = 2023-02-03T10:00:00+08:00\n+++\nx\n",
    );
    site.write(
        "content/gujiao/draft.md",
        "+++\ntitle = \"草稿\"\ndate = 2023-02-01\ndraft = true\n+++\nx\n",
    );
    site.write(
        "content/yingze/today.md",
        article("今日 <新闻>", &ago(3600)),
    );
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let base = format!("http://{addr}/");
    let server = Server::start(site, &["--addr", &addr, "--base-url", &base]);
    let (ct, robots) = text(&server, "/robots.txt");
    assert_eq!(ct, "text/plain; charset=utf-8");
    assert!(
        robots.contains(&format!("Sitemap: {base}sitemap.xml\n")),
        "{robots}"
    );
    assert_eq!(
        text(&server, "/sitemap.xml").0,
        "application/xml; charset=utf-8"
    );
    let script = common::repo().join("tests/interop/check_sitemaps.py");
    let out = common::python(&["usp"])
        .arg(&script)
        .arg(&base)
        .arg(server.site.content())
        .arg("yingze/today.md")
        .output()
        .expect("python3 runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "check_sitemaps.py failed (pip install ultimate-sitemap-parser if missing):\n{stderr}"
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("16 articles listed once each; 1 in the news sitemap"),
        "{stdout}"
    );
    // The same files in feeds/, with the same bytes.
    server.wait_complete();
    for path in [
        "sitemap.xml",
        "sitemaps/2023-02.xml",
        "news-sitemap.xml",
        "robots.txt",
    ] {
        assert_eq!(
            server.site.read(&format!("feeds/{path}")),
            text(&server, &format!("/{path}")).1,
            "{path}"
        );
    }
}

/// An article leaves the Google News sitemap 48 hours after it was
/// published, by the clock alone: no file changes.
#[test]
fn the_news_sitemap_drops_an_article_when_its_48_hours_are_over() {
    let site = Site::sample();
    site.write(
        "content/yingze/leaving.md",
        article("将过期", &ago(48 * 3600 - 3)),
    );
    site.write("content/yingze/staying.md", article("留下", &ago(600)));
    let server = Server::start(site, &[]);
    let (_, news) = text(&server, "/news-sitemap.xml");
    assert!(
        news.contains("yingze/leaving.html") && news.contains("yingze/staying.html"),
        "{news}"
    );
    assert!(
        news.contains("<news:language>zh-cn</news:language>"),
        "{news}"
    );
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let (_, news) = text(&server, "/news-sitemap.xml");
        if !news.contains("leaving.html") {
            assert!(news.contains("yingze/staying.html"), "{news}");
            break;
        }
        assert!(Instant::now() < deadline, "still listed: {news}");
        std::thread::sleep(Duration::from_millis(100));
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while server
        .site
        .read("feeds/news-sitemap.xml")
        .contains("leaving.html")
    {
        assert!(
            Instant::now() < deadline,
            "feeds/news-sitemap.xml not rewritten"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// With nothing in the window the news sitemap is still a valid, empty
/// urlset; a new article leaves the months it is not in byte-identical
/// and unwritten.
#[test]
fn a_new_article_rewrites_only_its_months_sitemap() {
    let site = Site::sample();
    site.write(
        "content/gujiao/feb.md",
        article("二月", "2023-02-01T08:00:00+08:00"),
    );
    assert_eq!(site.run(&["build"]).code(), 0);
    let news = site.read("feeds/news-sitemap.xml");
    assert!(
        news.contains("<urlset") && !news.contains("<url>"),
        "{news}"
    );
    let jan = site.feeds().join("sitemaps/2023-01.xml");
    let (bytes, mtime) = (
        std::fs::read(&jan).unwrap(),
        std::fs::metadata(&jan).unwrap().modified().unwrap(),
    );
    let index = site.read("feeds/sitemap.xml");
    std::thread::sleep(Duration::from_millis(20));
    site.write(
        "content/gujiao/feb2.md",
        article("二月二", "2023-02-02T08:00:00+08:00"),
    );
    assert_eq!(site.run(&["build"]).code(), 0);
    assert_eq!(std::fs::read(&jan).unwrap(), bytes);
    assert_eq!(
        std::fs::metadata(&jan).unwrap().modified().unwrap(),
        mtime,
        "January rewritten"
    );
    assert!(
        site.read("feeds/sitemaps/2023-02.xml")
            .contains("gujiao/feb2.html")
    );
    assert_ne!(
        site.read("feeds/sitemap.xml"),
        index,
        "the index shows February's new lastmod"
    );
    // A month that empties loses its file and its line in the index.
    std::fs::remove_file(site.content().join("gujiao/feb.md")).unwrap();
    std::fs::remove_file(site.content().join("gujiao/feb2.md")).unwrap();
    assert_eq!(site.run(&["build"]).code(), 0);
    assert!(!site.feeds().join("sitemaps/2023-02.xml").exists());
    assert!(!site.read("feeds/sitemap.xml").contains("2023-02"));
}
