//! Topic pages and feeds from tags: one topic per tag up to case and
//! Unicode normalisation, bad tags warned about, feeds read by
//! feedparser (tests/interop/check_topics.py), live updates, and
//! `topics = false`.

mod common;

use common::Site;
use common::http::{Server, block_on, get};

fn tagged(title: &str, date: &str, tags: &[&str]) -> String {
    let tags: Vec<String> = tags.iter().map(|t| format!("\"{t}\"")).collect();
    format!(
        "+++\ntitle = \"{title}\"\ndate = {date}\ntags = [{}]\n+++\n\n{title}。\n",
        tags.join(", ")
    )
}

fn with_topics() -> Site {
    let site = Site::sample();
    site.write(
        "content/xiaodian/a.md",
        tagged("甲", "2023-01-16", &["COVID", "劳模", "Cafe\u{301}"]),
    );
    site.write(
        "content/gujiao/b.md",
        tagged("乙", "2023-01-17", &["covid", "Café"]),
    );
    site.write(
        "content/c.md",
        tagged("丙", "2023-01-18", &["劳模", "a/b", "..", "COVID", "covid"]),
    );
    site
}

#[test]
fn tags_make_one_topic_per_spelling_and_feedparser_reads_every_topic_feed() {
    let site = with_topics();
    let run = site.run(&["build"]);
    assert_eq!(run.code(), 0, "{}", run.stderr());
    let stderr = run.stderr();
    let warned: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("gets no topic"))
        .collect();
    assert_eq!(warned.len(), 2, "{}", run.stderr());
    assert!(warned.iter().all(|l| l.contains("c.md:4")), "{warned:?}");
    assert!(
        warned
            .iter()
            .any(|l| l.contains("`a/b`") && l.contains("slash")),
        "{warned:?}"
    );
    for dir in ["covid", "劳模", "café"] {
        assert!(
            site.feeds()
                .join("topics")
                .join(dir)
                .join("rss.xml")
                .exists(),
            "{dir}"
        );
    }
    assert!(!site.feeds().join("topics/a").exists());
    let covid = site.read("feeds/topics/covid/atom.xml");
    assert_eq!(common::count(&covid, "<entry>"), 3, "{covid}");
    // The spelling most articles use names the topic.
    assert!(covid.contains("<title>太原新闻 · COVID</title>"), "{covid}");
    let list = site.read("feeds/topics/index.html");
    assert!(
        list.contains("（3 篇）")
            && list.contains("http://127.0.0.1:8080/topics/%E5%8A%B3%E6%A8%A1/"),
        "{list}"
    );
    let opml = site.read("feeds/topics.opml");
    assert!(
        opml.contains("xmlUrl=\"http://127.0.0.1:8080/topics/caf%C3%A9/rss.xml\""),
        "{opml}"
    );
    assert!(
        !site.read("feeds/feeds.opml").contains("topics/"),
        "the main OPML lists districts"
    );
    assert!(
        site.read("feeds/index.html")
            .contains("/topics/\">话题</a>")
    );
    assert!(
        site.read("feeds/sitemaps/pages.xml")
            .contains("/topics/covid/</loc>")
    );
    let script = common::repo().join("tests/interop/check_topics.py");
    let out = common::stdout_of(common::python(&["feedparser"]).arg(&script).args([
        site.path().join("crier.toml"),
        site.content(),
        site.feeds(),
    ]));
    assert!(out.contains("topic feed parses OK"));
}

#[test]
fn topics_are_served_at_percent_encoded_urls_and_follow_live_edits() {
    let server = Server::start(with_topics(), &["--debounce-ms", "50"]);
    let r = block_on(get(server.addr, "/topics/%E5%8A%B3%E6%A8%A1/rss.xml", &[])).unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("content-type"),
        Some("application/rss+xml; charset=utf-8")
    );
    let page = block_on(get(server.addr, "/topics/%E5%8A%B3%E6%A8%A1/", &[])).unwrap();
    assert!(String::from_utf8_lossy(&page.body).contains("rel=\"alternate\""));
    // Without its slash, to the percent-encoded absolute URL.
    let moved = block_on(get(server.addr, "/topics/%E5%8A%B3%E6%A8%A1", &[])).unwrap();
    assert_eq!(
        (moved.status.as_u16(), moved.header("location")),
        (
            301,
            Some("http://127.0.0.1:8080/topics/%E5%8A%B3%E6%A8%A1/")
        )
    );
    // A new tag makes a topic; removing its one article removes it.
    server.site.write(
        "content/yingze/new.md",
        tagged("新", "2023-01-19", &["新话题"]),
    );
    let path = "/topics/%E6%96%B0%E8%AF%9D%E9%A2%98/atom.xml";
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while block_on(get(server.addr, path, &[])).unwrap().status != 200 {
        assert!(
            std::time::Instant::now() < deadline,
            "new topic never served"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    std::fs::remove_file(server.site.content().join("yingze/new.md")).unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while block_on(get(server.addr, path, &[])).unwrap().status != 404 {
        assert!(
            std::time::Instant::now() < deadline,
            "gone topic still served"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while server.site.feeds().join("topics/新话题/atom.xml").exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "gone topic's file left"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

#[test]
fn topics_false_turns_them_off_and_removes_their_files() {
    let site = with_topics();
    assert_eq!(site.run(&["build"]).code(), 0);
    assert!(site.feeds().join("topics/covid/rss.xml").exists());
    let run = site.run(&["build", "--topics", "false"]);
    assert_eq!(run.code(), 0, "{}", run.stderr());
    assert!(
        !run.stderr().contains("gets no topic"),
        "no topics, no warning"
    );
    assert!(!site.feeds().join("topics").join("covid").exists());
    assert!(!site.feeds().join("topics.opml").exists());
    assert!(!site.read("feeds/index.html").contains("/topics/"));
}
