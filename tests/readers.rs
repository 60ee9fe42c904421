//! Who reads each feed, from the requests: the counts aggregators report
//! in their User-Agent and the distinct direct readers, on /metrics.

mod common;

use common::Site;
use common::http::{Server, block_on, get};

fn metric_line<'a>(text: &'a str, start: &str) -> Option<&'a str> {
    text.lines().find(|l| l.starts_with(start))
}

#[test]
fn metrics_show_the_readers_of_each_feed_by_source_and_aggregator() {
    let server = Server::start(Site::sample(), &[]);
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

    let m = block_on(get(server.addr, "/metrics", &[])).unwrap();
    let text = String::from_utf8_lossy(&m.body).to_string();
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
