//! WebSub publishing: a hub written here, on a real socket, is told of
//! every changed feed; a hub that fails is tried again.

mod common;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;

use common::Site;
use common::http::{Server, get, post};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// Pings received: content type and decoded `hub.url`.
type Pings = Arc<Mutex<Vec<(String, String, String)>>>;

/// A hub that records each ping and refuses the very first one (503).
async fn start_hub() -> (SocketAddr, Pings) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let pings: Pings = Arc::default();
    let seen = pings.clone();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let seen = seen.clone();
            tokio::spawn(async move {
                let service = service_fn(move |req: Request<hyper::body::Incoming>| {
                    let seen = seen.clone();
                    async move {
                        let kind = req
                            .headers()
                            .get("content-type")
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or_default()
                            .to_string();
                        let body = req.into_body().collect().await.unwrap().to_bytes();
                        let fields: Vec<(String, String)> =
                            url::form_urlencoded::parse(&body).into_owned().collect();
                        let field = |k: &str| {
                            fields
                                .iter()
                                .find(|(n, _)| n == k)
                                .map(|(_, v)| v.clone())
                                .unwrap_or_default()
                        };
                        let mut seen = seen.lock().unwrap();
                        let first = seen.is_empty();
                        seen.push((kind, field("hub.mode"), field("hub.url")));
                        let status = if first { 503 } else { 204 };
                        Ok::<_, std::convert::Infallible>(
                            Response::builder()
                                .status(status)
                                .body(Full::new(Bytes::new()))
                                .unwrap(),
                        )
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    (addr, pings)
}

fn urls(pings: &Pings) -> Vec<String> {
    pings
        .lock()
        .unwrap()
        .iter()
        .map(|(_, _, u)| u.clone())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hubs_are_announced_and_told_of_every_changed_feed() {
    let (hub_addr, pings) = start_hub().await;
    let hub = format!("http://{hub_addr}/hub");
    let s = Server::start(Site::sample(), &["--hub", &hub]);
    let base = "http://127.0.0.1:8080";

    // Discovery: Link headers and hub links in all three formats.
    let r = get(s.addr, "/xiaodian/rss.xml", &[]).await.unwrap();
    assert_eq!(
        r.header("link"),
        Some(format!("<{hub}>; rel=\"hub\", <{base}/xiaodian/rss.xml>; rel=\"self\"").as_str())
    );
    let rss = String::from_utf8_lossy(&r.body).into_owned();
    assert!(
        rss.contains(&format!("<atom:link href=\"{hub}\" rel=\"hub\"/>")),
        "{rss}"
    );
    let r = get(s.addr, "/atom.xml", &[]).await.unwrap();
    assert!(
        r.header("link")
            .is_some_and(|l| l.contains(&format!("<{base}/atom.xml>; rel=\"self\"")))
    );
    assert!(
        String::from_utf8_lossy(&r.body).contains(&format!("<link href=\"{hub}\" rel=\"hub\"/>"))
    );
    let r = get(s.addr, "/gujiao/feed.json", &[]).await.unwrap();
    let json: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(json["hubs"][0]["type"], "WebSub");
    assert_eq!(json["hubs"][0]["url"], hub.as_str());
    // Pages are not topics: no Link header.
    let r = get(s.addr, "/xiaodian/", &[]).await.unwrap();
    assert_eq!(r.header("link"), None);

    // At start every feed is announced (13 scopes and the sample's one
    // topic, × 3 formats), and the ping the hub refused is tried again.
    let deadline = Instant::now() + Duration::from_secs(10);
    while pings.lock().unwrap().len() < 14 * 3 + 1 {
        assert!(
            Instant::now() < deadline,
            "pings at start: {:?}",
            urls(&pings)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let first = pings.lock().unwrap()[0].clone();
    assert_eq!(first.0, "application/x-www-form-urlencoded");
    assert_eq!(first.1, "publish");
    assert_eq!(urls(&pings).iter().filter(|u| **u == first.2).count(), 2);
    let metrics = get(s.addr, "/metrics", &[]).await.unwrap();
    let text = String::from_utf8_lossy(&metrics.body).into_owned();
    assert!(
        text.contains("crier_websub_pings_total{outcome=\"retried\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("crier_websub_pings_total{outcome=\"accepted\"} 42"),
        "{text}"
    );

    // One article changes: its district's feeds, the combined ones and
    // its topic's.
    pings.lock().unwrap().clear();
    let topic = crier::content::encode_segment("贯彻落实“四个走在前列”要求 全方位推动高质量发展");
    let file = s.site.content().join("xiaodian/2023-01-10.md");
    let mut text = std::fs::read_to_string(&file).unwrap();
    text.push_str("\n补充报道。\n");
    std::fs::write(&file, text).unwrap();
    let want: Vec<String> = [
        "/xiaodian/rss.xml",
        "/xiaodian/atom.xml",
        "/xiaodian/feed.json",
        "/rss.xml",
        "/atom.xml",
        "/feed.json",
    ]
    .iter()
    .map(|p| format!("{base}{p}"))
    .chain(["rss.xml", "atom.xml", "feed.json"].map(|f| format!("{base}/topics/{topic}/{f}")))
    .collect();
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let mut got = urls(&pings);
        got.sort();
        let mut expected = want.clone();
        expected.sort();
        if got == expected {
            break;
        }
        assert!(
            Instant::now() < deadline && got.len() <= expected.len(),
            "pings after one change: {got:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// What a subscriber written here saw.
#[derive(Default)]
struct Seen {
    /// Verification requests: mode, topic, lease.
    verifications: Vec<(String, String, String)>,
    /// Deliveries: content type, signature, Link header, body.
    deliveries: Vec<(String, String, String, Bytes)>,
    /// Deliveries still to refuse (500).
    refuse: usize,
}

/// A WebSub subscriber on a real socket: confirms every verification by
/// echoing the challenge and records deliveries.
async fn start_subscriber(refuse: usize) -> (SocketAddr, Arc<Mutex<Seen>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(Mutex::new(Seen {
        refuse,
        ..Seen::default()
    }));
    let shared = seen.clone();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let seen = shared.clone();
            tokio::spawn(async move {
                let service = service_fn(move |req: Request<hyper::body::Incoming>| {
                    let seen = seen.clone();
                    async move {
                        let header = |n: &str| {
                            req.headers()
                                .get(n)
                                .and_then(|v| v.to_str().ok())
                                .unwrap_or_default()
                                .to_string()
                        };
                        let (status, reply) = if req.method() == "GET" {
                            let q: Vec<(String, String)> = url::form_urlencoded::parse(
                                req.uri().query().unwrap_or("").as_bytes(),
                            )
                            .into_owned()
                            .collect();
                            let get = |k: &str| {
                                q.iter()
                                    .find(|(n, _)| n == k)
                                    .map(|(_, v)| v.clone())
                                    .unwrap_or_default()
                            };
                            seen.lock().unwrap().verifications.push((
                                get("hub.mode"),
                                get("hub.topic"),
                                get("hub.lease_seconds"),
                            ));
                            (200, Bytes::from(get("hub.challenge")))
                        } else {
                            let (kind, sig, link) = (
                                header("content-type"),
                                header("x-hub-signature"),
                                header("link"),
                            );
                            let body = req.into_body().collect().await.unwrap().to_bytes();
                            let mut seen = seen.lock().unwrap();
                            seen.deliveries.push((kind, sig, link, body));
                            if seen.refuse > 0 {
                                seen.refuse -= 1;
                                (500, Bytes::new())
                            } else {
                                (204, Bytes::new())
                            }
                        };
                        Ok::<_, std::convert::Infallible>(
                            Response::builder()
                                .status(status)
                                .body(Full::new(reply))
                                .unwrap(),
                        )
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    (addr, seen)
}

async fn form(s: &Server, fields: &[(&str, &str)]) -> common::http::Reply {
    let body: String = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish();
    post(
        s.addr,
        "/websub",
        "application/x-www-form-urlencoded",
        body.into_bytes(),
    )
    .await
    .unwrap()
}

async fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(Instant::now() < deadline, "{what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn edit(s: &Server, rel: &str, extra: &str) {
    let file = s.site.content().join(rel);
    let mut text = std::fs::read_to_string(&file).unwrap();
    text.push_str(extra);
    std::fs::write(&file, text).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_builtin_hub_verifies_delivers_signed_retries_and_remembers() {
    let (sub_addr, seen) = start_subscriber(1).await;
    let callback = format!("http://{sub_addr}/cb?feed=xiaodian");
    let topic = "http://127.0.0.1:8080/xiaodian/rss.xml";
    // The readers' figures are written (and read back) every second.
    let mut s = Server::start(Site::with_builtin_hub(), &["--reader-flush-seconds", "1"]);

    // Discovery names crier itself.
    let r = get(s.addr, "/xiaodian/rss.xml", &[]).await.unwrap();
    assert!(
        r.header("link")
            .unwrap()
            .starts_with("<http://127.0.0.1:8080/websub>; rel=\"hub\"")
    );

    // Requests the spec refuses.
    let bad: [(&[(&str, &str)], u16); 6] = [
        (
            &[
                ("hub.mode", "subscribe"),
                ("hub.topic", "http://127.0.0.1:8080/nope.xml"),
                ("hub.callback", &callback),
            ],
            404,
        ),
        (
            &[
                ("hub.mode", "subscribe"),
                ("hub.topic", topic),
                ("hub.callback", "ftp://x/y"),
            ],
            400,
        ),
        (
            &[
                ("hub.mode", "subscribe"),
                ("hub.topic", topic),
                ("hub.callback", "http://10.1.2.3/cb"),
            ],
            403,
        ),
        (
            &[
                ("hub.mode", "subscribe"),
                ("hub.topic", topic),
                ("hub.callback", &callback),
                ("hub.lease_seconds", "5"),
            ],
            400,
        ),
        (
            &[
                ("hub.mode", "publish"),
                ("hub.topic", topic),
                ("hub.callback", &callback),
            ],
            400,
        ),
        (
            &[("hub.mode", "subscribe"), ("hub.callback", &callback)],
            400,
        ),
    ];
    for (fields, status) in bad {
        assert_eq!(form(&s, fields).await.status, status, "{fields:?}");
    }
    let huge = vec![b'a'; 20_000];
    let r = post(s.addr, "/websub", "application/x-www-form-urlencoded", huge)
        .await
        .unwrap();
    assert_eq!(r.status, 413);
    let r = post(
        s.addr,
        "/websub",
        "text/plain",
        b"hub.mode=subscribe".to_vec(),
    )
    .await
    .unwrap();
    assert_eq!(r.status, 415);
    assert!(seen.lock().unwrap().verifications.is_empty());

    // Subscribe: 202, then the callback is asked to confirm.
    let secret = "s3cret-key";
    let r = form(
        &s,
        &[
            ("hub.mode", "subscribe"),
            ("hub.topic", topic),
            ("hub.callback", &callback),
            ("hub.secret", secret),
            ("hub.lease_seconds", "3600"),
        ],
    )
    .await;
    assert_eq!(r.status, 202);
    wait_until("verification", || {
        !seen.lock().unwrap().verifications.is_empty()
    })
    .await;
    assert_eq!(
        seen.lock().unwrap().verifications[0],
        ("subscribe".into(), topic.into(), "3600".into())
    );
    s.wait_for_log("WebSub subscription active");
    // The feed's readers count the hub's subscriber.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let metrics = get(s.addr, "/metrics", &[]).await.unwrap();
        let text = String::from_utf8_lossy(&metrics.body).into_owned();
        if text.contains("crier_feed_subscribers{feed=\"/xiaodian/rss.xml\",source=\"hub\"} 1") {
            break;
        }
        assert!(Instant::now() < deadline, "no hub readers: {text}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // A change arrives signed within a second; the first try is refused
    // and tried again 15 s later.
    let changed = Instant::now();
    edit(&s, "xiaodian/2023-01-10.md", "\n补充一。\n");
    wait_until("first delivery", || {
        !seen.lock().unwrap().deliveries.is_empty()
    })
    .await;
    assert!(
        changed.elapsed() < Duration::from_secs(1),
        "{:?}",
        changed.elapsed()
    );
    let refused = Instant::now();
    let deadline = refused + Duration::from_secs(30);
    while seen.lock().unwrap().deliveries.len() < 2 {
        assert!(Instant::now() < deadline, "retried delivery");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        refused.elapsed() >= Duration::from_secs(13),
        "the first retry waits 15 s: {:?}",
        refused.elapsed()
    );
    let served = get(s.addr, "/xiaodian/rss.xml", &[]).await.unwrap();
    {
        let seen = seen.lock().unwrap();
        let (kind, sig, link, body) = &seen.deliveries[1];
        assert_eq!(kind, "application/rss+xml; charset=utf-8");
        assert_eq!(body, &served.body);
        assert!(String::from_utf8_lossy(body).contains("补充一"));
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(body);
        let want: String = mac
            .finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(sig, &format!("sha256={want}"));
        assert!(link.contains(&format!("<{topic}>; rel=\"self\"")), "{link}");
    }
    // The subscriber has the body before crier has its answer: the
    // delivery is counted a moment later.
    let deadline = Instant::now() + Duration::from_secs(10);
    let text = loop {
        let metrics = get(s.addr, "/metrics", &[]).await.unwrap();
        let text = String::from_utf8_lossy(&metrics.body).into_owned();
        if text.contains("crier_websub_deliveries_total{outcome=\"delivered\"} 1")
            || Instant::now() > deadline
        {
            break text;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(
        text.contains("crier_websub_deliveries_total{outcome=\"retried\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("crier_websub_deliveries_total{outcome=\"delivered\"} 1"),
        "{text}"
    );
    // Subscription requests go through the request pipeline like any
    // other: counted by route kind and status, and in the access log.
    for status in ["202", "413", "415"] {
        assert!(
            text.contains(&format!(
                "crier_http_requests_total{{route=\"websub\",status=\"{status}\"}}"
            )),
            "{status}: {text}"
        );
    }
    s.wait_for_log("path=/websub status=413");

    // A restart keeps the subscription: it is in the database.
    let state = s.site.path().join(".crier-state");
    let stored: Vec<u8> = ["crier.db", "crier.db-wal"]
        .iter()
        .filter_map(|f| std::fs::read(state.join(f)).ok())
        .flatten()
        .collect();
    assert!(String::from_utf8_lossy(&stored).contains(&callback));
    s.signal("TERM");
    assert!(
        s.wait_exit(Duration::from_secs(10))
            .is_some_and(|st| st.success())
    );
    // A change made while crier was stopped reaches the subscriber when
    // it starts again: the feed differs from the one the folder holds.
    edit(&s, "xiaodian/2023-01-10.md", "\n停机时补充。\n");
    let site = std::mem::replace(&mut s.site, Site::sample());
    let s = Server::start(site, &[]);
    wait_until("delivery of a change made while stopped", || {
        seen.lock()
            .unwrap()
            .deliveries
            .iter()
            .any(|d| String::from_utf8_lossy(&d.3).contains("停机时补充"))
    })
    .await;
    edit(&s, "xiaodian/2023-01-10.md", "\n补充二。\n");
    wait_until("delivery after restart", || {
        seen.lock()
            .unwrap()
            .deliveries
            .iter()
            .any(|d| String::from_utf8_lossy(&d.3).contains("补充二"))
    })
    .await;

    // Unsubscribe: confirmed, then nothing more arrives.
    let r = form(
        &s,
        &[
            ("hub.mode", "unsubscribe"),
            ("hub.topic", topic),
            ("hub.callback", &callback),
        ],
    )
    .await;
    assert_eq!(r.status, 202);
    s.wait_for_log("WebSub subscription ended");
    assert_eq!(
        seen.lock().unwrap().verifications.last().unwrap().0,
        "unsubscribe"
    );
    let before = seen.lock().unwrap().deliveries.len();
    edit(&s, "xiaodian/2023-01-10.md", "\n补充三。\n");
    s.wait_for_log("files_read=1");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(seen.lock().unwrap().deliveries.len(), before);
}
