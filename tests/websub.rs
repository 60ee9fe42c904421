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
use common::http::{Server, get};

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

    // At start every feed is announced (13 scopes × 3 formats), and the
    // ping the hub refused is tried again.
    let deadline = Instant::now() + Duration::from_secs(10);
    while pings.lock().unwrap().len() < 40 {
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
        text.contains("crier_websub_pings_total{outcome=\"accepted\"} 39"),
        "{text}"
    );

    // One article changes: its district's feeds and the combined ones.
    pings.lock().unwrap().clear();
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
