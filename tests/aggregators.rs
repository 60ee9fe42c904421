//! Aggregator-grade publishing: moved and retired feeds, embargoes,
//! complete archives. The real binary, real sockets, real files.

mod common;

use common::Site;
use common::http::{Server, get, request};

/// The sample with `extra_top` added before the first table and
/// `extra_tables` at the end of crier.toml.
fn sample_with(extra_top: &str, extra_tables: &str) -> Site {
    let site = Site::sample();
    let toml = site.read("crier.toml");
    let (top, tables) = toml.split_once("\n[").expect("a table in crier.toml");
    site.write(
        "crier.toml",
        format!("{top}\n{extra_top}\n[{tables}\n{extra_tables}\n"),
    );
    site
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moved_paths_answer_301_and_retired_districts_410() {
    let site = sample_with(
        r#"retired = ["beicheng"]"#,
        r#"[redirects]
"/old/rss.xml" = "/xiaodian/rss.xml"
"/旧闻.xml" = "https://elsewhere.example/feed.xml""#,
    );
    let s = Server::start(site, &[]);

    let r = get(s.addr, "/old/rss.xml", &[]).await.unwrap();
    assert_eq!(r.status, 301);
    assert_eq!(
        r.header("location"),
        Some("http://127.0.0.1:8080/xiaodian/rss.xml")
    );
    assert_eq!(r.header("cache-control"), Some("public, max-age=300"));
    // The same path percent-encoded, as a client sends it.
    let r = get(s.addr, "/%E6%97%A7%E9%97%BB.xml", &[]).await.unwrap();
    assert_eq!(r.status, 301);
    assert_eq!(
        r.header("location"),
        Some("https://elsewhere.example/feed.xml")
    );
    // The target itself is served.
    let r = get(s.addr, "/xiaodian/rss.xml", &[]).await.unwrap();
    assert_eq!(r.status, 200);

    for path in [
        "/beicheng/rss.xml",
        "/beicheng/atom.xml",
        "/beicheng/feed.json",
        "/beicheng/",
        "/beicheng",
        "/beicheng/some-article.html",
    ] {
        let r = get(s.addr, path, &[]).await.unwrap();
        assert_eq!(r.status, 410, "{path}");
        assert_eq!(r.header("cache-control"), Some("public, max-age=300"));
        let r = request(s.addr, "HEAD", path, &[]).await.unwrap();
        assert_eq!(r.status, 410, "HEAD {path}");
        assert!(r.body.is_empty());
    }
    // Other districts and unknown paths are as before.
    assert_eq!(
        get(s.addr, "/gujiao/rss.xml", &[]).await.unwrap().status,
        200
    );
    assert_eq!(get(s.addr, "/nowhere.xml", &[]).await.unwrap().status, 404);
    let metrics = get(s.addr, "/metrics", &[]).await.unwrap();
    let text = String::from_utf8_lossy(&metrics.body);
    assert!(
        text.lines()
            .any(|l| l.contains("route=\"gone\"") && l.contains("status=\"410\"")),
        "{text}"
    );
}

#[test]
fn conflicting_or_bad_redirects_and_retired_slugs_are_config_errors() {
    let cases = [
        (r#"retired = ["xiaodian"]"#, "", "retired"),
        (r#"retired = ["Bad Slug"]"#, "", "retired"),
        (
            "",
            "[redirects]\n\"old.xml\" = \"/xiaodian/rss.xml\"",
            "start with /",
        ),
        ("", "[redirects]\n\"/old.xml\" = \"ftp://x/y\"", "http(s)"),
        ("", "[redirects]\n\"/a.xml\" = \"/a.xml\"", "itself"),
        ("", "[redirects]\n\"/metrics\" = \"/rss.xml\"", "own path"),
    ];
    for (top, tables, says) in cases {
        let site = sample_with(top, tables);
        let run = site.run(&["check"]);
        assert_eq!(run.code(), 2, "{top} {tables}: {}", run.stderr());
        assert!(run.stderr().contains(says), "{says}: {}", run.stderr());
    }
}

fn article(title: &str, date: &str) -> String {
    format!("+++\ntitle = \"{title}\"\ndate = {date}\n+++\n\n{title}的正文。\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn future_articles_are_published_on_time_and_not_before() {
    let site = Site::sample();
    let due = chrono::Utc::now() + chrono::Duration::seconds(4);
    let due_text = due.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    site.write(
        "content/xiaodian/soon.md",
        article("即将发布的新闻", &due_text),
    );
    site.write(
        "content/gujiao/later.md",
        article("很久以后的新闻", "2099-01-01T08:00:00+08:00"),
    );

    let check = site.run(&["check"]);
    assert_eq!(check.code(), 0, "{}", check.stderr());
    let out = check.stdout();
    let soon = out
        .lines()
        .position(|l| l.starts_with("scheduled: ") && l.contains("soon.md"));
    let later = out
        .lines()
        .position(|l| l.starts_with("scheduled: ") && l.contains("later.md"));
    assert!(soon.is_some() && later.is_some() && soon < later, "{out}");
    assert!(out.contains("2099-01-01T08:00:00+08:00"), "{out}");
    assert!(
        out.contains("13 articles, 0 drafts skipped, 2 scheduled"),
        "{out}"
    );

    let build = site.run(&["build"]);
    assert_eq!(build.code(), 0, "{}", build.stderr());
    assert!(!site.feeds().join("xiaodian/soon.html").exists());
    assert!(
        !site
            .read("feeds/xiaodian/rss.xml")
            .contains("即将发布的新闻")
    );

    let s = Server::start(site, &[]);
    let feed = |s: &Server| {
        let addr = s.addr;
        async move {
            let r = get(addr, "/xiaodian/atom.xml", &[]).await.unwrap();
            String::from_utf8_lossy(&r.body).into_owned()
        }
    };
    assert!(!feed(&s).await.contains("即将发布的新闻"));
    assert_eq!(
        get(s.addr, "/xiaodian/soon.html", &[])
            .await
            .unwrap()
            .status,
        404
    );
    // No file changes from here on: the server publishes by itself.
    loop {
        let shown = feed(&s).await.contains("即将发布的新闻");
        let now = chrono::Utc::now();
        if shown {
            assert!(now >= due, "published early: {now} < {due}");
            break;
        }
        assert!(
            now < due + chrono::Duration::milliseconds(1500),
            "not published a second after its date"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(
        get(s.addr, "/xiaodian/soon.html", &[])
            .await
            .unwrap()
            .status,
        200
    );
    let combined = get(s.addr, "/rss.xml", &[]).await.unwrap();
    assert!(String::from_utf8_lossy(&combined.body).contains("即将发布的新闻"));
    assert!(!String::from_utf8_lossy(&combined.body).contains("很久以后的新闻"));
    s.wait_for_file("xiaodian/soon.html");
}

/// The `href` of the link with `rel` in a feed document, as a site path.
fn link_path(doc: &str, rel: &str) -> Option<String> {
    let needle = format!("rel=\"{rel}\"");
    let at = doc.find(&needle)?;
    let start = doc[..at].rfind('<')?;
    let end = at + doc[at..].find('>')?;
    let tag = &doc[start..end];
    let href = tag.split("href=\"").nth(1)?.split('"').next()?;
    Some(href.trim_start_matches("http://127.0.0.1:8080").to_string())
}

/// Item ids of an RSS or Atom document.
fn ids(doc: &str) -> Vec<String> {
    doc.split("tag:taiyuan.example.cn,")
        .skip(1)
        .map(|rest| rest.split('<').next().unwrap_or_default().to_string())
        .collect()
}

/// Follows `prev-archive` from the feed at `path` in `feeds/`: every id
/// seen, and the archive documents visited (newest first).
fn walk(site: &Site, path: &str) -> (Vec<String>, Vec<String>) {
    let current = site.read(&format!("feeds{path}"));
    assert!(!current.contains("fh:archive"), "{path} is no archive");
    let mut seen = ids(&current);
    let mut docs = Vec::new();
    let mut next = link_path(&current, "prev-archive");
    while let Some(p) = next {
        let doc = site.read(&format!("feeds{p}"));
        assert!(doc.contains("fh:archive"), "{p}");
        assert!(doc.contains(super_ns()), "{p}");
        assert_eq!(link_path(&doc, "current").as_deref(), Some(path), "{p}");
        assert_eq!(link_path(&doc, "self").as_deref(), Some(p.as_str()), "{p}");
        assert!(
            !doc.contains("content:encoded") && !doc.contains("<content"),
            "{p}"
        );
        seen.extend(ids(&doc));
        next = link_path(&doc, "prev-archive");
        docs.push(p);
    }
    (seen, docs)
}

fn super_ns() -> &'static str {
    "http://purl.org/syndication/history/1.0"
}

#[test]
fn archives_give_every_article_exactly_once_and_closed_ones_never_change() {
    let site = Site::archived();
    let build = site.run(&["build"]);
    assert_eq!(build.code(), 0, "{}", build.stderr());
    assert!(
        site.read("feeds/.crier-manifest")
            .contains("archive/rss-1.xml")
    );
    let again = site.run(&["build"]);
    assert!(again.stdout().contains(": 0 written"), "{}", again.stdout());

    for (path, total, docs) in [
        ("/rss.xml", 20, 6),
        ("/atom.xml", 20, 6),
        ("/xiaodian/rss.xml", 8, 2),
        ("/xiaodian/atom.xml", 8, 2),
    ] {
        let (mut seen, visited) = walk(&site, path);
        assert_eq!(visited.len(), docs, "{path}: {visited:?}");
        let count = seen.len();
        seen.sort();
        seen.dedup();
        assert_eq!((count, seen.len()), (total, total), "{path}: each id once");
    }
    // The oldest archive is full and closed; it has no prev-archive.
    let first = site.read("feeds/xiaodian/archive/rss-1.xml");
    assert_eq!(ids(&first).len(), 3);
    assert_eq!(link_path(&first, "prev-archive"), None);
    assert_eq!(
        link_path(&first, "next-archive").as_deref(),
        Some("/xiaodian/archive/rss-2.xml")
    );
    assert!(site.feeds().join("xiaodian/archive/atom-2.xml.br").exists());
    assert!(!site.feeds().join("gujiao/archive").exists());

    // A new article: closed documents keep their bytes, the newest grows.
    let closed = std::fs::read(site.feeds().join("archive/rss-1.xml")).unwrap();
    let newest_before = site.read("feeds/archive/rss-6.xml");
    site.write("content/xiaodian/new.md", article("小店新闻", "2023-02-01"));
    let build = site.run(&["build"]);
    assert_eq!(build.code(), 0);
    assert_eq!(
        std::fs::read(site.feeds().join("archive/rss-1.xml")).unwrap(),
        closed
    );
    let newest_after = site.read("feeds/archive/rss-6.xml");
    assert_eq!(ids(&newest_before).len() + 1, ids(&newest_after).len());
    let (seen, _) = walk(&site, "/rss.xml");
    assert_eq!(seen.len(), 21);

    // Fewer articles: the archive shrinks and its old last document goes.
    let toml = site
        .read("crier.toml")
        .replace("feed_limit = 3", "feed_limit = 10");
    site.write("crier.toml", toml);
    assert_eq!(site.run(&["build"]).code(), 0);
    assert!(site.feeds().join("archive/rss-2.xml").exists());
    assert!(!site.feeds().join("archive/rss-3.xml").exists());
    assert!(!site.feeds().join("archive/rss-3.xml.gz").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn served_archives_cache_closed_documents_long_and_follow_changes() {
    let site = Site::sample();
    let toml = site
        .read("crier.toml")
        .replace("feed_limit = 50", "feed_limit = 3");
    site.write("crier.toml", toml);
    let s = Server::start(site, &[]);
    // 13 articles: 10 archived in documents of 3, 3, 3 and 1.
    let r = get(s.addr, "/archive/atom-1.xml", &[]).await.unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("content-type"),
        Some("application/atom+xml; charset=utf-8")
    );
    assert_eq!(r.header("cache-control"), Some("public, max-age=86400"));
    let closed_tag = r.header("etag").unwrap().to_string();
    let r = get(s.addr, "/archive/rss-4.xml", &[]).await.unwrap();
    assert_eq!(r.header("cache-control"), Some("public, max-age=300"));
    assert_eq!(ids(&String::from_utf8_lossy(&r.body)).len(), 1);
    assert_eq!(
        get(s.addr, "/archive/rss-5.xml", &[]).await.unwrap().status,
        404
    );
    let feed = get(s.addr, "/rss.xml", &[]).await.unwrap();
    assert_eq!(
        link_path(&String::from_utf8_lossy(&feed.body), "prev-archive").as_deref(),
        Some("/archive/rss-4.xml")
    );

    // Three new articles: document 4 fills up and 5 opens.
    for day in 1..=3 {
        s.site.write(
            &format!("content/gujiao/new-{day}.md"),
            article(&format!("古交新闻{day}"), &format!("2023-02-0{day}")),
        );
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let r = get(s.addr, "/archive/rss-5.xml", &[]).await.unwrap();
        if r.status == 200 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "archive 5 never came");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let r = get(s.addr, "/archive/atom-1.xml", &[]).await.unwrap();
    assert_eq!(r.header("etag"), Some(closed_tag.as_str()));
    let r = get(s.addr, "/archive/rss-4.xml", &[]).await.unwrap();
    assert_eq!(ids(&String::from_utf8_lossy(&r.body)).len(), 3);
    assert_eq!(r.header("cache-control"), Some("public, max-age=86400"));
    s.wait_for_file("archive/rss-5.xml.br");

    // An archived article edited in place: its archive document follows.
    let oldest = |title: &'static str| {
        let addr = s.addr;
        async move {
            let r = get(addr, "/archive/rss-1.xml", &[]).await.unwrap();
            String::from_utf8_lossy(&r.body).contains(title)
        }
    };
    s.site.write(
        "content/gujiao/ancient.md",
        article("古交旧闻", "2020-01-01"),
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !oldest("古交旧闻").await {
        assert!(
            std::time::Instant::now() < deadline,
            "old article never archived"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    s.site.write(
        "content/gujiao/ancient.md",
        article("古交旧闻（更正）", "2020-01-01"),
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !oldest("古交旧闻（更正）").await {
        assert!(
            std::time::Instant::now() < deadline,
            "archived edit never shown"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}
