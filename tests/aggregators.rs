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
