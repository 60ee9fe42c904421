//! Who reads each feed, from the requests: the counts aggregators report
//! in their User-Agent and the distinct direct readers, kept in the
//! database (SQLite in the state folder, or a real PostgreSQL shared by
//! two replicas) and shown on /metrics, `/stats/` and by `crier stats`.

mod common;

use std::time::{Duration, Instant};

use common::Site;
use common::http::{Server, block_on, get};
use common::postgres::Postgres;

fn metric_line<'a>(text: &'a str, start: &str) -> Option<&'a str> {
    text.lines().find(|l| l.starts_with(start))
}

/// Counts are written every second in these tests (every minute by default).
const FLUSH: [&str; 2] = ["--reader-flush-seconds", "1"];

const TOKEN: &str = "s3cret-token-of-the-newsroom";

/// A feed fetched with a User-Agent: 200 (or 304) expected.
fn fetch(server: &Server, path: &str, agent: &str) {
    let r = block_on(get(server.addr, path, &[("user-agent", agent)])).unwrap();
    assert_eq!(r.status, 200, "{path}");
}

/// `crier stats --json` in `site` with `args`: the figures.
fn stats_json(site: &Site, args: &[&str]) -> serde_json::Value {
    let mut all = vec!["stats", "--json"];
    all.extend_from_slice(args);
    let run = site.run(&all);
    assert_eq!(run.code(), 0, "{}", run.stderr());
    serde_json::from_str(&run.stdout()).expect("stats --json is JSON")
}

/// A feed's figures in `crier stats --json`.
fn feed<'a>(figures: &'a serde_json::Value, path: &str) -> Option<&'a serde_json::Value> {
    figures["feeds"]
        .as_array()?
        .iter()
        .find(|f| f["feed"] == path)
}

/// Waits up to 20 s for a log line with `needle`.
fn wait_log(server: &Server, needle: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !server.log_text().contains(needle) {
        assert!(
            Instant::now() < deadline,
            "no {needle}: {}",
            server.log_text()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Waits until `check` holds of the figures (`crier stats`), up to 20 s.
fn wait_figures(
    site: &Site,
    args: &[&str],
    what: &str,
    check: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let figures = stats_json(site, args);
        if check(&figures) {
            return figures;
        }
        assert!(Instant::now() < deadline, "never {what}: {figures:#}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn metrics_show_the_readers_of_each_feed_by_source_and_aggregator() {
    let server = Server::start(Site::sample(), &FLUSH);
    let fetch = |path: &str, agent: &str| {
        let r = block_on(get(server.addr, path, &[("user-agent", agent)])).unwrap();
        assert_eq!(r.status, 200, "{path}");
        r
    };
    let feedly = "Feedly/1.0 (+http://www.feedly.com/fetcher.html; 462 subscribers; )";
    fetch("/xiaodian/rss.xml", feedly);
    fetch("/xiaodian/rss.xml", "Feedly/1.0 (poller; 131 subscribers;)");
    fetch(
        "/xiaodian/rss.xml",
        "Mozilla/5.0 (compatible; inoreader.com; 114 subscribers)",
    );
    fetch("/atom.xml", "Feedbin feed-id:1373711 - 4 subscribers");
    fetch("/atom.xml", "Feedly/1.0 (999999999 subscribers)");
    // Direct readers: an address and a User-Agent each; a 304 counts.
    let first = fetch("/xiaodian/rss.xml", "newsboat/2.36");
    let etag = first.header("etag").unwrap().to_string();
    let again = block_on(get(
        server.addr,
        "/xiaodian/rss.xml",
        &[("user-agent", "newsboat/2.36"), ("if-none-match", &etag)],
    ))
    .unwrap();
    assert_eq!(again.status, 304);
    fetch(
        "/xiaodian/rss.xml",
        "NetNewsWire (RSS Reader; https://netnewswire.com/)",
    );
    // Pages are not feeds.
    fetch("/xiaodian/", "Mozilla/5.0 Firefox/120.0");

    // /metrics shows the figures as last written to the database.
    let deadline = Instant::now() + Duration::from_secs(20);
    let text = loop {
        let m = block_on(get(server.addr, "/metrics", &[])).unwrap();
        let text = String::from_utf8_lossy(&m.body).to_string();
        if text.contains("aggregator=\"feedbin\"} 4") && text.contains("source=\"direct\"} 2") {
            break text;
        }
        assert!(Instant::now() < deadline, "never written:\n{text}");
        std::thread::sleep(Duration::from_millis(100));
    };
    let expect = [
        (
            "crier_feed_subscribers{feed=\"/xiaodian/rss.xml\",source=\"reported\"}",
            "245",
        ),
        (
            "crier_feed_subscribers{feed=\"/xiaodian/rss.xml\",source=\"direct\"}",
            "2",
        ),
        (
            "crier_feed_subscribers{feed=\"/atom.xml\",source=\"reported\"}",
            "4",
        ),
        ("crier_aggregator_subscribers{aggregator=\"feedly\"}", "131"),
        (
            "crier_aggregator_subscribers{aggregator=\"inoreader\"}",
            "114",
        ),
        ("crier_aggregator_subscribers{aggregator=\"feedbin\"}", "4"),
        ("crier_bad_reader_reports_total", "1"),
    ];
    for (start, value) in expect {
        let line = metric_line(&text, start).unwrap_or_else(|| panic!("{start} missing:\n{text}"));
        assert_eq!(line.rsplit(' ').next(), Some(value), "{line}");
    }
    assert!(
        !text.contains("feed=\"/xiaodian/\""),
        "a page is not a feed"
    );
    assert!(
        !text.contains("127.0.0.1") && !text.contains("newsboat"),
        "no reader is named"
    );
}

#[test]
fn no_reader_counts_counts_nothing() {
    let server = Server::start(Site::sample(), &["--no-reader-counts"]);
    let feedly = [("user-agent", "Feedly/1.0 (poller; 131 subscribers;)")];
    let r = block_on(get(server.addr, "/rss.xml", &feedly)).unwrap();
    assert_eq!(r.status, 200);
    let m = block_on(get(server.addr, "/metrics", &[])).unwrap();
    let text = String::from_utf8_lossy(&m.body).to_string();
    assert!(
        metric_line(&text, "crier_feed_subscribers{").is_none(),
        "{text}"
    );
    assert!(
        metric_line(&text, "crier_aggregator_subscribers{").is_none(),
        "{text}"
    );
}

#[test]
fn the_stats_page_needs_the_token() {
    let server = Server::start(Site::sample(), &FLUSH);
    let r = block_on(get(server.addr, "/stats/", &[])).unwrap();
    assert_eq!(r.status, 404, "no token set: no stats page");
    drop(server);

    let server = Server::start(
        Site::sample(),
        &[&FLUSH[..], &["--stats-token", TOKEN]].concat(),
    );
    fetch(&server, "/rss.xml", "newsboat/2.36");
    fetch(&server, "/rss.xml", "Feedly/1.0 (poller; 131 subscribers;)");
    let bearer = format!("Bearer {TOKEN}");
    for (path, auth) in [
        ("/stats/", None),
        ("/stats/", Some("Bearer wrong")),
        (
            "/stats/subscribers.json",
            Some("s3cret-token-of-the-newsroom"),
        ),
    ] {
        let headers: Vec<(&str, &str)> = auth.map(|a| ("authorization", a)).into_iter().collect();
        let r = block_on(get(server.addr, path, &headers)).unwrap();
        assert_eq!(r.status, 401, "{path} {auth:?}");
        assert_eq!(
            r.header("www-authenticate"),
            Some("Bearer realm=\"crier stats\"")
        );
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    let json: serde_json::Value = loop {
        let r = block_on(get(
            server.addr,
            "/stats/subscribers.json",
            &[("authorization", &bearer)],
        ))
        .unwrap();
        assert_eq!(r.status, 200);
        assert_eq!(r.header("content-type"), Some("application/json"));
        assert_eq!(r.header("cache-control"), Some("no-store"));
        let json: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        if feed(&json, "/rss.xml").is_some_and(|f| f["total"] == 132) {
            break json;
        }
        assert!(Instant::now() < deadline, "never counted: {json:#}");
        std::thread::sleep(Duration::from_millis(100));
    };
    let rss = feed(&json, "/rss.xml").unwrap();
    assert_eq!(rss["reported"]["feedly"], 131);
    assert_eq!(rss["direct"], 1);
    assert_eq!(rss["daily"].as_array().unwrap().len(), 1);
    let page = block_on(get(server.addr, "/stats/", &[("authorization", &bearer)])).unwrap();
    assert_eq!(page.status, 200);
    let html = String::from_utf8_lossy(&page.body);
    assert!(
        html.contains("<td><a href=\"/rss.xml\">/rss.xml</a></td>"),
        "{html}"
    );
    assert!(html.contains("feedly 131"), "{html}");
    assert!(
        html.contains("<svg") && html.contains("<polyline points="),
        "a chart: {html}"
    );
    assert!(!html.contains("<script"), "no script needed");
}

#[test]
fn counts_are_written_at_shutdown_and_survive_a_restart() {
    // The default flush is a minute: what is written here, SIGTERM wrote.
    let server = Server::start(Site::sample(), &[]);
    fetch(&server, "/rss.xml", "newsboat/2.36");
    fetch(
        &server,
        "/rss.xml",
        "NetNewsWire (RSS Reader; https://netnewswire.com/)",
    );
    fetch(
        &server,
        "/xiaodian/atom.xml",
        "Mozilla/5.0 (compatible; inoreader.com; 114 subscribers)",
    );
    let site = server.stop();
    let table = site.run(&["stats"]);
    assert_eq!(table.code(), 0, "{}", table.stderr());
    let out = table.stdout();
    let header = out.lines().next().unwrap();
    assert_eq!(
        header.split_whitespace().collect::<Vec<_>>(),
        [
            "feed", "reported", "hub", "direct", "total", "7", "days", "30", "days"
        ]
    );
    let row = |feed: &str| {
        out.lines()
            .find(|l| l.split_whitespace().next() == Some(feed))
            .unwrap_or_else(|| panic!("{feed} missing:\n{out}"))
            .split_whitespace()
            .collect::<Vec<_>>()
    };
    assert_eq!(
        row("/xiaodian/atom.xml"),
        [
            "/xiaodian/atom.xml",
            "inoreader",
            "114",
            "0",
            "0",
            "114",
            "-",
            "-"
        ]
    );
    assert_eq!(row("/rss.xml"), ["/rss.xml", "-", "0", "2", "2", "-", "-"]);
    assert!(out.contains("1 server(s) counting now"), "{out}");

    // Again: the same reader is still one (the day's key is the same),
    // a new one is added.
    let server = Server::start(site, &[]);
    fetch(&server, "/rss.xml", "newsboat/2.36");
    fetch(&server, "/rss.xml", "Lire/4");
    let site = server.stop();
    let figures = stats_json(&site, &[]);
    assert_eq!(
        feed(&figures, "/rss.xml").unwrap()["direct"],
        3,
        "{figures:#}"
    );
    assert_eq!(feed(&figures, "/xiaodian/atom.xml").unwrap()["total"], 114);
    let db = std::fs::read(site.path().join(".crier-state/crier.db")).unwrap();
    let hay = String::from_utf8_lossy(&db);
    assert!(
        !hay.contains("newsboat") && !hay.contains("127.0.0.1"),
        "no reader is stored"
    );
}

#[test]
fn a_database_that_cannot_be_reached_is_bad_config() {
    let site = Site::sample();
    let url = "postgres://crier:hunter2@127.0.0.1:1/crier";
    for args in [
        vec!["stats", "--database-url", url],
        vec!["serve", "--addr", "127.0.0.1:0", "--database-url", url],
    ] {
        let run = site.run(&args);
        assert_eq!(run.code(), 2, "{args:?}: {}", run.stderr());
        let err = run.stderr();
        assert!(
            err.contains("cannot open the database postgres://crier:***@127.0.0.1:1/crier"),
            "{err}"
        );
        assert!(!err.contains("hunter2"), "the password is not shown: {err}");
    }
    let run = site.run(&["stats", "--database-url", "mysql://x/y"]);
    assert_eq!(run.code(), 2);
    assert!(run.stderr().contains("database_url"), "{}", run.stderr());
    let run = site.run(&["serve", "--addr", "127.0.0.1:0", "--stats-token", "short"]);
    assert_eq!(run.code(), 2);
    assert!(run.stderr().contains("stats_token"), "{}", run.stderr());
}

#[test]
fn a_database_of_the_first_schema_is_upgraded_with_its_rows() {
    use crier::database::{Database, Location};
    let site = Site::sample();
    let file = site.path().join(".crier-state/crier.db");
    let today = chrono::Utc::now().timestamp().div_euclid(86_400);
    block_on(async {
        let db = Database::open_at(&Location::Sqlite(file.clone()), Some(1))
            .await
            .unwrap();
        for (day, n) in [(today - 7, 40), (today, 52)] {
            sqlx::query("INSERT INTO reader_days (day, feed, source, aggregator, readers) VALUES ($1, '/rss.xml', 'reported', 'feedly', $2)")
                .bind(day)
                .bind(n)
                .execute(db.pool())
                .await
                .unwrap();
        }
        let tables = sqlx::query("SELECT name FROM sqlite_master WHERE name = 'reader_flushes'")
            .fetch_all(db.pool())
            .await
            .unwrap();
        assert!(tables.is_empty(), "version 1 has no reader_flushes");
        db.close().await;
    });
    let figures = stats_json(&site, &[]);
    let rss = feed(&figures, "/rss.xml").expect("the rows of version 1");
    assert_eq!(rss["total"], 52);
    assert_eq!(rss["change_7_days"], 12);
    // And a server runs on it, adding its own.
    let server = Server::start(site, &[]);
    fetch(&server, "/rss.xml", "newsboat/2.36");
    let site = server.stop();
    let figures = stats_json(&site, &[]);
    assert_eq!(feed(&figures, "/rss.xml").unwrap()["direct"], 1);
    assert_eq!(
        figures["replicas"], 1,
        "the server's last write is recorded"
    );
}

#[test]
fn two_replicas_on_one_postgres_count_as_one_server() {
    let pg = Postgres::start();
    let url = pg.url();
    let args = [
        &FLUSH[..],
        &[
            "--database-url",
            &url,
            "--readers-secret",
            "shared by the replicas",
        ],
    ]
    .concat();
    let a = Server::start(Site::sample(), &args);
    let b = Server::start(Site::sample(), &args);
    // Ten direct readers, each polling both replicas; Feedly polling both,
    // Inoreader only one; a bad report counted nowhere.
    for i in 0..10 {
        let agent = format!("newsboat/{i}");
        fetch(&a, "/rss.xml", &agent);
        fetch(&b, "/rss.xml", &agent);
    }
    fetch(&a, "/rss.xml", "Feedly/1.0 (poller; 131 subscribers;)");
    fetch(&b, "/rss.xml", "Feedly/1.0 (poller; 131 subscribers;)");
    fetch(
        &b,
        "/rss.xml",
        "Mozilla/5.0 (compatible; inoreader.com; 114 subscribers)",
    );
    let db = ["--database-url", url.as_str()];
    let figures = wait_figures(&a.site, &db, "counted together", |f| {
        feed(f, "/rss.xml").is_some_and(|r| r["total"] == 10 + 131 + 114) && f["replicas"] == 2
    });
    let rss = feed(&figures, "/rss.xml").unwrap();
    assert_eq!(rss["direct"], 10, "a reader of both replicas is one");
    assert_eq!(rss["reported"]["feedly"], 131, "one report, not two");
    // A replica killed loses at most what it counted since its last write.
    for i in 10..15 {
        fetch(&a, "/rss.xml", &format!("newsboat/{i}"));
    }
    wait_figures(&a.site, &db, "written by A", |f| {
        feed(f, "/rss.xml").is_some_and(|r| r["direct"] == 15)
    });
    for i in 15..18 {
        fetch(&a, "/rss.xml", &format!("newsboat/{i}"));
    }
    let mut a = a;
    a.signal("KILL");
    a.wait_exit(Duration::from_secs(10)).expect("killed");
    fetch(&b, "/rss.xml", "newsboat/99");
    let figures = wait_figures(&b.site, &db, "written by B", |f| {
        feed(f, "/rss.xml").is_some_and(|r| r["direct"].as_u64().unwrap_or(0) >= 16)
    });
    let direct = feed(&figures, "/rss.xml").unwrap()["direct"]
        .as_u64()
        .unwrap();
    assert!((16..=19).contains(&direct), "what A wrote stays: {direct}");
    // B's /metrics shows the figures of both.
    let m = block_on(get(b.addr, "/metrics", &[])).unwrap();
    let text = String::from_utf8_lossy(&m.body);
    let line = metric_line(
        &text,
        "crier_feed_subscribers{feed=\"/rss.xml\",source=\"reported\"}",
    )
    .unwrap();
    assert!(line.ends_with(" 245"), "{line}");
}

#[test]
fn a_database_lost_while_serving_gets_the_counts_when_it_is_back() {
    let pg = Postgres::start();
    let url = pg.url();
    let args = [&FLUSH[..], &["--database-url", &url]].concat();
    let server = Server::start(Site::sample(), &args);
    let db = ["--database-url", url.as_str()];
    fetch(&server, "/rss.xml", "newsboat/1");
    wait_figures(&server.site, &db, "written", |f| {
        feed(f, "/rss.xml").is_some_and(|r| r["direct"] == 1)
    });
    pg.down();
    // A write waits up to 5 s for a connection before it fails.
    wait_log(&server, "cannot write the readers' counts");
    // Serving goes on; what is counted meanwhile is kept.
    fetch(&server, "/rss.xml", "newsboat/2");
    fetch(&server, "/rss.xml", "Feedly/1.0 (poller; 131 subscribers;)");
    std::thread::sleep(Duration::from_secs(8));
    let failures = server
        .log_text()
        .matches("cannot write the readers' counts")
        .count();
    assert_eq!(failures, 1, "logged once: {}", server.log_text());
    pg.up();
    wait_log(&server, "the database answers again");
    let figures = wait_figures(&server.site, &db, "written when back", |f| {
        feed(f, "/rss.xml").is_some_and(|r| r["total"] == 133)
    });
    assert_eq!(feed(&figures, "/rss.xml").unwrap()["direct"], 2);
}
