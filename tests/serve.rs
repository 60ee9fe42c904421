//! `crier serve`: the real binary on an ephemeral port, a real HTTP client.
//! One test per rule of PRODUCT.md's "HTTP behaviour".

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::Site;
use common::http::{Server, block_on, get, get_h2, request};

fn sample() -> Server {
    Server::start(Site::sample(), &[])
}

fn gunzip(b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(b)
        .read_to_end(&mut out)
        .unwrap();
    out
}

fn unbrotli(b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    brotli::BrotliDecompress(&mut &b[..], &mut out).unwrap();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_serves_the_built_bytes_with_cache_headers() {
    let s = sample();
    let r = get(s.addr, "/xiaodian/rss.xml", &[]).await.unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("content-type"),
        Some("application/rss+xml; charset=utf-8")
    );
    assert_eq!(r.header("cache-control"), Some("public, max-age=300"));
    assert_eq!(r.header("vary"), Some("accept-encoding"));
    assert_eq!(
        r.header("last-modified"),
        Some("Mon, 09 Jan 2023 16:00:00 GMT")
    );
    assert_eq!(r.header("content-encoding"), None);
    let etag = r.header("etag").unwrap();
    assert!(
        etag.starts_with('"') && etag.ends_with('"') && etag.len() > 20,
        "strong etag: {etag}"
    );
    assert_eq!(
        r.header("content-length").unwrap(),
        r.body.len().to_string()
    );
    // The same bytes as written to feeds/ (which serve also writes).
    s.wait_for_file("xiaodian/rss.xml");
    let disk = std::fs::read(s.site.feeds().join("xiaodian/rss.xml")).unwrap();
    assert_eq!(&r.body[..], &disk[..]);
    for (path, ct) in [
        ("/atom.xml", "application/atom+xml; charset=utf-8"),
        ("/feed.json", "application/feed+json; charset=utf-8"),
        ("/", "text/html; charset=utf-8"),
        ("/xiaodian/", "text/html; charset=utf-8"),
        ("/xiaodian/index.html", "text/html; charset=utf-8"),
        ("/xiaodian/2023-01-10.html", "text/html; charset=utf-8"),
        ("/feeds.opml", "text/x-opml; charset=utf-8"),
    ] {
        let r = get(s.addr, path, &[]).await.unwrap();
        assert_eq!(
            (r.status.as_u16(), r.header("content-type")),
            (200, Some(ct)),
            "{path}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gzip_and_brotli_have_their_own_etags() {
    let s = sample();
    let plain = get(s.addr, "/rss.xml", &[]).await.unwrap();
    let gz = get(s.addr, "/rss.xml", &[("accept-encoding", "gzip")])
        .await
        .unwrap();
    let br = get(
        s.addr,
        "/rss.xml",
        &[("accept-encoding", "gzip, deflate, br")],
    )
    .await
    .unwrap();
    assert_eq!(gz.header("content-encoding"), Some("gzip"));
    assert_eq!(br.header("content-encoding"), Some("br"));
    assert_eq!(gunzip(&gz.body), plain.body);
    assert_eq!(unbrotli(&br.body), plain.body);
    assert!(br.body.len() < gz.body.len() && gz.body.len() < plain.body.len());
    let tags = [plain.header("etag"), gz.header("etag"), br.header("etag")];
    assert!(
        tags[0] != tags[1] && tags[1] != tags[2] && tags[0] != tags[2],
        "{tags:?}"
    );
    // The .gz / .br siblings in feeds/ are the served bytes.
    s.wait_for_file("rss.xml.gz");
    s.wait_for_file("rss.xml.br");
    assert_eq!(
        std::fs::read(s.site.feeds().join("rss.xml.gz")).unwrap(),
        gz.body
    );
    assert_eq!(
        std::fs::read(s.site.feeds().join("rss.xml.br")).unwrap(),
        br.body
    );
    // Asking again gives the same tag: computed once per build.
    let again = get(s.addr, "/rss.xml", &[("accept-encoding", "gzip")])
        .await
        .unwrap();
    assert_eq!(again.header("etag"), gz.header("etag"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accept_encoding_q_values() {
    let s = sample();
    let cases = [
        ("br;q=0.5, gzip;q=0.8", 200, Some("gzip")),
        ("gzip;q=0, br;q=0", 200, None),
        ("identity;q=0, gzip", 200, Some("gzip")),
        ("*", 200, Some("br")),
        ("identity;q=0", 406, None),
        ("*;q=0", 406, None),
        ("compress, deflate", 200, None),
    ];
    for (accept, status, coding) in cases {
        let r = get(s.addr, "/atom.xml", &[("accept-encoding", accept)])
            .await
            .unwrap();
        assert_eq!(r.status.as_u16(), status, "{accept}");
        assert_eq!(r.header("content-encoding"), coding, "{accept}");
        assert_eq!(r.header("vary"), Some("accept-encoding"), "{accept}");
    }
}

/// The headers a 304 must repeat, and an empty body.
fn assert_304(r: &common::http::Reply, etag: &str, what: &str) {
    assert_eq!(r.status, 304, "{what}");
    assert_eq!(r.header("etag"), Some(etag), "{what}");
    assert_eq!(
        r.header("last-modified"),
        Some("Sat, 14 Jan 2023 16:00:00 GMT"),
        "{what}"
    );
    assert_eq!(
        r.header("cache-control"),
        Some("public, max-age=300"),
        "{what}"
    );
    assert_eq!(r.header("vary"), Some("accept-encoding"), "{what}");
    assert!(r.body.is_empty(), "{what}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn if_none_match_exact_list_weak_and_star() {
    let s = sample();
    let first = get(s.addr, "/rss.xml", &[]).await.unwrap();
    let etag = first.header("etag").unwrap().to_string();
    let weak = format!("W/{etag}");
    let list = format!("\"nope\", {etag}, \"other\"");
    for inm in [etag.as_str(), weak.as_str(), list.as_str(), "*"] {
        let r = get(s.addr, "/rss.xml", &[("if-none-match", inm)])
            .await
            .unwrap();
        assert_304(&r, &etag, inm);
    }
    for inm in ["\"nope\"", "W/\"nope\", \"x\"", "garbage"] {
        let r = get(s.addr, "/rss.xml", &[("if-none-match", inm)])
            .await
            .unwrap();
        assert_eq!(r.status, 200, "{inm}");
        assert_eq!(r.body, first.body);
    }
    // The identity tag does not validate the gzip representation.
    let r = get(
        s.addr,
        "/rss.xml",
        &[("if-none-match", &etag), ("accept-encoding", "gzip")],
    )
    .await
    .unwrap();
    assert_eq!(r.status, 200);
    let gz_tag = r.header("etag").unwrap().to_string();
    let r = get(
        s.addr,
        "/rss.xml",
        &[("if-none-match", &gz_tag), ("accept-encoding", "gzip")],
    )
    .await
    .unwrap();
    assert_304(&r, &gz_tag, "gzip tag");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn if_none_match_wins_over_if_modified_since() {
    let s = sample();
    let future = "Fri, 01 Jan 2100 00:00:00 GMT";
    let r = get(
        s.addr,
        "/rss.xml",
        &[
            ("if-none-match", "\"stale\""),
            ("if-modified-since", future),
        ],
    )
    .await
    .unwrap();
    assert_eq!(
        r.status, 200,
        "a non-matching If-None-Match means 200 whatever the date"
    );
    let etag = r.header("etag").unwrap().to_string();
    let past = "Mon, 01 Jan 2001 00:00:00 GMT";
    let r = get(
        s.addr,
        "/rss.xml",
        &[("if-none-match", &etag), ("if-modified-since", past)],
    )
    .await
    .unwrap();
    assert_304(&r, &etag, "matching tag, old date");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn if_modified_since_compares_dates() {
    let s = sample();
    let etag = get(s.addr, "/rss.xml", &[])
        .await
        .unwrap()
        .header("etag")
        .unwrap()
        .to_string();
    for (ims, status) in [
        ("Sat, 14 Jan 2023 16:00:00 GMT", 304),    // the same date
        ("Sat, 14 Jan 2023 16:00:01 GMT", 304),    // later
        ("Saturday, 14-Jan-23 16:00:00 GMT", 304), // same date, RFC 850 form
        ("Sat Jan 14 16:00:00 2023", 304),         // same date, asctime form
        ("Sat, 14 Jan 2023 15:59:59 GMT", 200),    // earlier
        ("not a date", 200),
    ] {
        let r = get(s.addr, "/rss.xml", &[("if-modified-since", ims)])
            .await
            .unwrap();
        assert_eq!(r.status.as_u16(), status, "{ims}");
        if status == 304 {
            assert_304(&r, &etag, ims);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn head_has_the_get_headers_and_no_body() {
    let s = sample();
    for enc in ["identity", "gzip", "br"] {
        let g = get(s.addr, "/atom.xml", &[("accept-encoding", enc)])
            .await
            .unwrap();
        let h = request(s.addr, "HEAD", "/atom.xml", &[("accept-encoding", enc)])
            .await
            .unwrap();
        assert_eq!(h.status, 200);
        assert!(h.body.is_empty());
        for name in [
            "etag",
            "last-modified",
            "cache-control",
            "vary",
            "content-type",
            "content-length",
            "content-encoding",
        ] {
            assert_eq!(h.header(name), g.header(name), "{enc} {name}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_methods_get_405_with_allow() {
    let s = sample();
    for m in ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"] {
        let r = request(s.addr, m, "/rss.xml", &[]).await.unwrap();
        assert_eq!(r.status, 405, "{m}");
        assert_eq!(r.header("allow"), Some("GET, HEAD"), "{m}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_paths_and_traversal_get_404() {
    let s = sample();
    for path in [
        "/nope.xml",
        "/../etc/passwd",
        "/%2e%2e/etc/passwd",
        "/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
        "/xiaodian/../rss.xml",
        "/rss.xml%00",
        "/%00",
        "/%ff%fe",
        "/crier.toml",
        "/content/xiaodian/2023-01-10.md",
        "/.crier-output",
        "/rss.xml.gz",
    ] {
        let r = get(s.addr, path, &[]).await.unwrap();
        assert_eq!(r.status, 404, "{path}");
        assert!(r.body.len() < 64, "short body: {path}");
    }
    // Percent-encoding in any case reaches the same resource.
    let r = get(s.addr, "/%72ss.xml", &[]).await.unwrap();
    assert_eq!(r.status, 200);
    // A folder without its slash is redirected to its absolute URL (the
    // sample's base_url), cacheable like every redirect.
    for (path, to) in [
        ("/xiaodian", "http://127.0.0.1:8080/xiaodian/"),
        ("/topics", "http://127.0.0.1:8080/topics/"),
    ] {
        let r = get(s.addr, path, &[]).await.unwrap();
        assert_eq!((r.status.as_u16(), r.header("location")), (301, Some(to)));
        assert_eq!(r.header("cache-control"), Some("public, max-age=300"));
    }
    // A query string (cache buster) is ignored.
    assert_eq!(get(s.addr, "/rss.xml?x=1", &[]).await.unwrap().status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chinese_file_names_are_served_percent_encoded() {
    let site = Site::sample();
    site.write(
        "content/xiaodian/劳模.md",
        "+++\ntitle = \"劳模\"\ndate = 2023-01-11\n+++\n正文\n",
    );
    let s = Server::start(site, &[]);
    for path in [
        "/xiaodian/%E5%8A%B3%E6%A8%A1.html",
        "/xiaodian/%e5%8a%b3%e6%a8%a1.html",
    ] {
        let r = get(s.addr, path, &[]).await.unwrap();
        assert_eq!(r.status, 200, "{path}");
        assert!(String::from_utf8_lossy(&r.body).contains("<h1>劳模</h1>"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http2_cleartext_is_detected() {
    let s = sample();
    let r = get_h2(s.addr, "/rss.xml").await.unwrap();
    assert_eq!(r.status, 200);
    let h1 = get(s.addr, "/rss.xml", &[]).await.unwrap();
    assert_eq!(r.body, h1.body);
    assert_eq!(r.header("etag"), h1.header("etag"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_metrics_and_access_log() {
    let s = sample();
    assert_eq!(get(s.addr, "/healthz", &[]).await.unwrap().status, 200);
    let etag = get(s.addr, "/rss.xml", &[])
        .await
        .unwrap()
        .header("etag")
        .unwrap()
        .to_string();
    get(s.addr, "/rss.xml", &[("if-none-match", &etag)])
        .await
        .unwrap();
    get(s.addr, "/missing", &[]).await.unwrap();
    let r = get(s.addr, "/metrics", &[]).await.unwrap();
    assert_eq!(r.status, 200);
    let text = String::from_utf8(r.body.to_vec()).unwrap();
    for needle in [
        "crier_http_requests_total{route=\"feed\",status=\"200\"} 1",
        "crier_http_requests_total{route=\"feed\",status=\"304\"} 1",
        "crier_http_requests_total{route=\"not_found\",status=\"404\"} 1",
        "crier_http_not_modified_total 1",
        "crier_http_response_body_bytes_total ",
        "crier_build_duration_seconds_count 1",
        "crier_builds_total 1",
        "crier_articles 13",
        "crier_content_errors 0",
        "crier_last_build_timestamp_seconds ",
    ] {
        assert!(text.contains(needle), "metrics lack `{needle}`:\n{text}");
    }
    // One access-log line per request: method, path, status, bytes, duration.
    let line = s.wait_for_log("path=/missing");
    for field in [
        "crier::access",
        "method=GET",
        "status=404",
        "bytes=10",
        "micros=",
    ] {
        assert!(line.contains(field), "{field} in {line}");
    }
}

#[test]
fn json_logs_for_log_shippers() {
    let s = Server::start(Site::sample(), &["--log-format", "json"]);
    block_on(get(s.addr, "/feed.json", &[])).unwrap();
    s.wait_for_log("\"/feed.json\"");
    let log = s.log_text();
    let access = log
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|v| v["fields"]["path"] == "/feed.json")
        .unwrap_or_else(|| panic!("no JSON access line in {log}"));
    assert_eq!(access["fields"]["status"], 200);
    assert_eq!(access["target"], "crier::access");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_age_sets_cache_control_and_ttl() {
    let s = Server::start(Site::sample(), &["--max-age", "120"]);
    let r = get(s.addr, "/rss.xml", &[]).await.unwrap();
    assert_eq!(r.header("cache-control"), Some("public, max-age=120"));
    assert!(String::from_utf8_lossy(&r.body).contains("<ttl>2</ttl>"));
}

#[test]
fn oversized_request_head_is_refused() {
    let s = sample();
    let big = "x".repeat(20_000);
    let r = block_on(get(s.addr, "/rss.xml", &[("x-big", &big)]));
    match r {
        Ok(r) => assert_eq!(r.status, 431),
        Err(e) => panic!("expected 431, got {e}"),
    }
    // The server is fine afterwards.
    assert_eq!(block_on(get(s.addr, "/rss.xml", &[])).unwrap().status, 200);
}

/// A new client gets `/rss.xml` within a second.
fn a_new_client_is_served_at_once(addr: std::net::SocketAddr) {
    let started = Instant::now();
    let r = block_on(get(addr, "/rss.xml", &[])).unwrap();
    let took = started.elapsed();
    assert_eq!(r.status, 200);
    assert!(
        took < Duration::from_secs(1),
        "a new client waited {took:?}"
    );
}

#[test]
fn stalled_clients_do_not_block_a_new_one() {
    let s = Server::start(Site::sample(), &["--header-timeout", "3"]);
    let mut stalled = Vec::new();
    for _ in 0..300 {
        let mut c = TcpStream::connect(s.addr).unwrap();
        c.write_all(b"GET /rss.xml HTTP/1.1\r\nHost: x\r\nUser-Agent: sl")
            .unwrap();
        stalled.push(c);
    }
    // A few that send nothing at all.
    for _ in 0..20 {
        stalled.push(TcpStream::connect(s.addr).unwrap());
    }
    a_new_client_is_served_at_once(s.addr);
    // The header timeout closes the stalled connections.
    std::thread::sleep(Duration::from_secs(4));
    let mut closed = 0;
    for c in &mut stalled {
        c.set_read_timeout(Some(Duration::from_millis(500)))
            .unwrap();
        let mut buf = [0u8; 256];
        // Either EOF or a 408 then EOF: both mean the server let go.
        match c.read(&mut buf) {
            Ok(0) => closed += 1,
            Ok(_) => closed += usize::from(c.read(&mut buf).map_or(true, |n| n == 0)),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => closed += 1,
            Err(_) => {}
        }
    }
    assert_eq!(
        closed,
        stalled.len(),
        "every stalled connection is closed by the header timeout"
    );
}

#[test]
fn idle_keep_alive_connections_are_closed() {
    let s = Server::start(Site::sample(), &["--header-timeout", "1"]);
    let mut c = TcpStream::connect(s.addr).unwrap();
    c.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut buf = vec![0u8; 4096];
    let n = c.read(&mut buf).unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    let idle_from = Instant::now();
    let n = c.read(&mut buf).unwrap_or(0);
    assert_eq!(n, 0, "the idle connection is closed, not answered");
    let idle = idle_from.elapsed();
    assert!(
        idle >= Duration::from_millis(900) && idle < Duration::from_secs(4),
        "closed after {idle:?}"
    );
}

#[test]
fn sigterm_finishes_in_flight_requests_and_exits_0() {
    // A large article so that the response is still being sent at SIGTERM.
    let site = Site::sample();
    let mut big = "+++\ntitle = \"长文\"\ndate = 2023-01-11\n+++\n".to_string();
    for i in 0..20_000 {
        big.push_str(&format!("第{i}段，内容很长很长。\n\n"));
    }
    site.write("content/xiaodian/long.md", &big);
    let mut s = Server::start(site, &[]);
    // A small receive buffer keeps most of the response in the server.
    let mut c = block_on(async {
        let sock = tokio::net::TcpSocket::new_v4().unwrap();
        sock.set_recv_buffer_size(4096).unwrap();
        sock.connect(s.addr).await.unwrap().into_std().unwrap()
    });
    c.set_nonblocking(false).unwrap();
    c.write_all(b"GET /xiaodian/long.html HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut head = [0u8; 512];
    let n = c.read(&mut head).unwrap();
    let head = String::from_utf8_lossy(&head[..n]).to_string();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length: "))
        .and_then(|v| v.trim().parse().ok())
        .expect("content-length");
    let body_start = head.find("\r\n\r\n").unwrap() + 4;
    assert!(
        length > 500_000,
        "the page must be big enough to be in flight: {length}"
    );

    s.signal("TERM");
    std::thread::sleep(Duration::from_millis(300));
    // No new connections are accepted...
    assert!(
        block_on(get(s.addr, "/healthz", &[])).is_err(),
        "accepting after SIGTERM"
    );
    // ...but the one in flight is finished.
    let mut rest = Vec::new();
    c.read_to_end(&mut rest).unwrap();
    assert_eq!(
        n - body_start + rest.len(),
        length,
        "the in-flight response is complete"
    );
    let status = s
        .wait_exit(Duration::from_secs(10))
        .expect("exits within the grace period");
    assert!(status.success(), "{status:?}");
}

#[test]
fn connections_that_sent_nothing_do_not_hold_the_shutdown() {
    // The default header timeout (10 s) is Docker's own stop limit.
    let mut s = sample();
    let silent: Vec<TcpStream> = (0..20)
        .map(|_| TcpStream::connect(s.addr).unwrap())
        .collect();
    // An idle keep-alive connection too.
    let mut idle = TcpStream::connect(s.addr).unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut buf = [0u8; 512];
    assert!(idle.read(&mut buf).unwrap() > 0);
    std::thread::sleep(Duration::from_millis(200));
    let asked = Instant::now();
    s.signal("TERM");
    let status = s
        .wait_exit(Duration::from_secs(8))
        .expect("exits before the header timeout");
    let took = asked.elapsed();
    assert!(status.success(), "{status:?}");
    assert!(took < Duration::from_secs(3), "SIGTERM took {took:?}");
    drop(silent);
}

/// VmRSS of a process, in KB.
fn rss_kb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

#[test]
fn five_thousand_keep_alive_connections_and_a_new_client_is_served_at_once() {
    const HELD: usize = 5000;
    // crier inherits this process's limit on open files.
    let limits = std::fs::read_to_string("/proc/self/limits").unwrap();
    let soft: usize = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .and_then(|l| l.split_whitespace().nth(3)?.parse().ok())
        .unwrap();
    assert!(
        soft > HELD + 100,
        "run the tests with more open files: ulimit -n 20000 (now {soft})"
    );
    let s = Server::start(Site::sample(), &["--header-timeout", "120"]);
    let before = rss_kb(s.child.id());
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/interop/hold_connections.py"
    );
    let mut holder = common::python(&[])
        .args([
            script,
            "127.0.0.1",
            &s.addr.port().to_string(),
            &HELD.to_string(),
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3 runs");
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(holder.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    let held: usize = line.trim().strip_prefix("held ").unwrap().parse().unwrap();
    assert_eq!(held, HELD, "every connection answered and held");
    a_new_client_is_served_at_once(s.addr);
    let after = rss_kb(s.child.id());
    eprintln!(
        "{HELD} idle keep-alive connections: {} KB more RSS, {:.1} KB each",
        after.saturating_sub(before),
        after.saturating_sub(before) as f64 / HELD as f64
    );
    drop(holder.stdin.take());
    let _ = holder.wait();
}

#[test]
fn sigint_exits_0() {
    let mut s = sample();
    s.signal("INT");
    let status = s.wait_exit(Duration::from_secs(10)).expect("exits");
    assert!(status.success(), "{status:?}");
}

#[test]
fn startup_errors_exit_2() {
    let site = Site::sample();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let run = site.run(&["serve", "--addr", &addr]);
    assert_eq!(run.code(), 2, "{}", run.stderr());
    assert!(run.stderr().contains("cannot listen"), "{}", run.stderr());
    let run = site.run(&[
        "serve",
        "--addr",
        "127.0.0.1:0",
        "--timezone",
        "Nowhere/City",
    ]);
    assert_eq!(run.code(), 2);
}

/// The issue's "done": a real feed reader subscribes and polls. newsboat
/// (installed by .ci/run) keys items by id, so an item in both the district
/// and the combined feed counts once, and it polls with validators.
#[test]
fn newsboat_subscribes_and_polls_conditionally() {
    let s = sample();
    let dir = tempfile::tempdir().unwrap();
    let urls = dir.path().join("urls");
    std::fs::write(
        &urls,
        format!("http://{0}/xiaodian/atom.xml\nhttp://{0}/rss.xml\n", s.addr),
    )
    .unwrap();
    let cache = dir.path().join("cache.db");
    common::need_command("newsboat");
    let newsboat = |cmds: &[&str]| {
        let mut c = std::process::Command::new("newsboat");
        c.arg("-u")
            .arg(&urls)
            .arg("-c")
            .arg(&cache)
            .env("HOME", dir.path());
        for cmd in cmds {
            c.args(["-x", cmd]);
        }
        let out = c
            .output()
            .expect("newsboat must be installed (apt-get install newsboat; see .ci/run)");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let printed = newsboat(&["reload", "print-unread"]);
    assert!(printed.contains("13 unread articles"), "{printed}");
    // newsboat keeps the validators from its second fetch of a new feed on.
    newsboat(&["reload"]);
    newsboat(&["reload"]);
    s.wait_for_log("path=/xiaodian/atom.xml status=304");
    s.wait_for_log("path=/rss.xml status=304");
}

/// What the site serves at `rel` (a file of feeds/) and what the file holds.
fn served_and_stored(s: &Server, rel: &std::path::Path) -> (Vec<u8>, Vec<u8>, Option<String>) {
    let rel_text = rel.to_string_lossy();
    let page = rel_text.strip_suffix("index.html").unwrap_or(&rel_text);
    let url = format!("/{}", crier::content::encode_path(page));
    let r = block_on(get(s.addr, &url, &[])).unwrap();
    assert_eq!(r.status, 200, "{url}");
    let file = std::fs::read(s.site.feeds().join(rel)).unwrap();
    (r.body.to_vec(), file, r.header("etag").map(str::to_string))
}

#[test]
fn a_restart_over_a_sealed_folder_serves_it_at_once_and_then_follows_edits() {
    let site = Site::sample();
    // Past the racy window of the copy (see `crier build`'s record).
    std::thread::sleep(Duration::from_millis(2100));
    assert_eq!(site.run(&["build"]).code(), 0);
    // Its lines in any order (the trailer's checksum follows the order).
    let entries = |text: String| {
        let mut lines: Vec<String> = text
            .lines()
            .filter(|l| !l.starts_with("end\t"))
            .map(str::to_string)
            .collect();
        lines.sort();
        lines
    };
    let sealed_by_build = entries(site.read("feeds/.crier-routes"));
    assert!(sealed_by_build.len() > 30, "{sealed_by_build:?}");
    // serve seals the folder the same way once it has completed it.
    std::fs::remove_file(site.feeds().join(".crier-built")).unwrap();
    std::fs::remove_file(site.feeds().join(".crier-routes")).unwrap();
    let s = Server::start(site, &["--debounce-ms", "50"]);
    s.wait_complete();
    assert_eq!(entries(s.site.read("feeds/.crier-routes")), sealed_by_build);
    let site = s.stop();

    let s = Server::start(site, &["--debounce-ms", "50"]);
    s.wait_for_log("as it was left");
    for rel in common::pages(&s.site.feeds()) {
        let (served, stored, etag) = served_and_stored(&s, &rel);
        assert_eq!(served, stored, "{rel:?}");
        assert_eq!(etag, Some(crier::fingerprint::etag(&stored)), "{rel:?}");
    }
    s.site.write(
        "content/xiaodian/new.md",
        "+++\ntitle = \"重启之后\"\ndate = 2023-02-01\n+++\n\n正文。\n",
    );
    let deadline = Instant::now() + Duration::from_secs(5);
    while !String::from_utf8_lossy(
        &block_on(get(s.addr, "/xiaodian/rss.xml", &[]))
            .unwrap()
            .body,
    )
    .contains("重启之后")
    {
        assert!(
            Instant::now() < deadline,
            "the edit after a restart was not served"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}
