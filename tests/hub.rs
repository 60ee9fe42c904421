//! The built-in hub on the database: a fan-out killed with SIGKILL is
//! finished after a restart (each subscriber gets the newest version,
//! twice at most for the deliveries in flight at the kill, with the same
//! bytes); a callback that answers 410 is unsubscribed; the checks of
//! websub.rocks' hub tests; two replicas on one real PostgreSQL deliver
//! each change once per subscriber.

mod common;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;

use common::Site;
use common::http::{Server, post};
use common::postgres::Postgres;

const TOPIC: &str = "http://127.0.0.1:8080/xiaodian/rss.xml";
const FILE: &str = "xiaodian/2023-01-10.md";

/// What the callbacks saw, by callback path.
#[derive(Default)]
struct Seen {
    /// (hub.mode, hub.lease_seconds) of each verification.
    verified: BTreeMap<String, Vec<(String, String)>>,
    /// The bodies delivered.
    delivered: BTreeMap<String, Vec<Bytes>>,
    /// The content type of the last delivery.
    types: BTreeMap<String, String>,
}

type Shared = Arc<Mutex<Seen>>;

/// Callbacks at `/cb/<name>` on one listener: each verification is
/// confirmed; each delivery is answered after `delay`, 410 when the
/// name starts with `gone`.
async fn callbacks(delay: Duration) -> (SocketAddr, Shared) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen: Shared = Arc::default();
    let shared = seen.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let seen = shared.clone();
            tokio::spawn(async move {
                let service = service_fn(move |req: Request<hyper::body::Incoming>| {
                    let seen = seen.clone();
                    async move { Ok::<_, std::convert::Infallible>(answer(req, &seen, delay).await) }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    (addr, seen)
}

async fn answer(
    req: Request<hyper::body::Incoming>,
    seen: &Shared,
    delay: Duration,
) -> Response<Full<Bytes>> {
    let path = req.uri().path().to_string();
    let reply = |status: u16, body: Bytes| {
        Response::builder()
            .status(status)
            .body(Full::new(body))
            .unwrap()
    };
    if req.method() == "GET" {
        let q: BTreeMap<String, String> =
            url::form_urlencoded::parse(req.uri().query().unwrap_or("").as_bytes())
                .into_owned()
                .collect();
        let field = |k: &str| q.get(k).cloned().unwrap_or_default();
        seen.lock()
            .unwrap()
            .verified
            .entry(path)
            .or_default()
            .push((field("hub.mode"), field("hub.lease_seconds")));
        return reply(200, Bytes::from(field("hub.challenge")));
    }
    let kind = req
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let body = req.into_body().collect().await.unwrap().to_bytes();
    tokio::time::sleep(delay).await;
    let gone = path.starts_with("/cb/gone");
    let mut seen = seen.lock().unwrap();
    seen.types.insert(path.clone(), kind);
    seen.delivered.entry(path).or_default().push(body);
    reply(if gone { 410 } else { 204 }, Bytes::new())
}

fn edit(site: &Site, extra: &str) {
    let file = site.content().join(FILE);
    let mut text = std::fs::read_to_string(&file).unwrap();
    text.push_str(extra);
    std::fs::write(&file, text).unwrap();
}

async fn subscribe(server: &Server, callback: &str, extra: &[(&str, &str)]) -> u16 {
    subscribe_to(server, TOPIC, callback, extra).await
}

async fn subscribe_to(server: &Server, topic: &str, callback: &str, extra: &[(&str, &str)]) -> u16 {
    let mut form = url::form_urlencoded::Serializer::new(String::new());
    form.append_pair("hub.mode", "subscribe")
        .append_pair("hub.topic", topic)
        .append_pair("hub.callback", callback);
    for (k, v) in extra {
        form.append_pair(k, v);
    }
    let body = form.finish().into_bytes();
    post(
        server.addr,
        "/websub",
        "application/x-www-form-urlencoded",
        body,
    )
    .await
    .unwrap()
    .status
    .as_u16()
}

/// Subscribes `/cb/0` … `/cb/{n-1}` and waits until each is verified.
async fn subscribe_many(server: &Server, addr: SocketAddr, seen: &Shared, n: usize) {
    for i in 0..n {
        let status = subscribe(server, &format!("http://{addr}/cb/{i}"), &[]).await;
        assert_eq!(status, 202);
    }
    wait("every subscription verified", 20, || {
        seen.lock().unwrap().verified.len() >= n
    })
    .await;
    // Verified, then stored: a moment later.
    tokio::time::sleep(Duration::from_millis(300)).await;
}

async fn wait(what: &str, secs: u64, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !done() {
        assert!(Instant::now() < deadline, "never: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Deliveries containing `mark`, by callback.
fn with(seen: &Shared, mark: &str) -> BTreeMap<String, usize> {
    seen.lock()
        .unwrap()
        .delivered
        .iter()
        .map(|(path, bodies)| {
            let n = bodies
                .iter()
                .filter(|b| String::from_utf8_lossy(b).contains(mark))
                .count();
            (path.clone(), n)
        })
        .filter(|(_, n)| *n > 0)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fan_out_killed_midway_is_finished_after_a_restart() {
    let (addr, seen) = callbacks(Duration::from_millis(100)).await;
    let args = [
        "--hub-concurrency",
        "8",
        "--hub-per-host",
        "8",
        "--hub-claim-seconds",
        "2",
    ];
    let mut server = Server::start(Site::with_builtin_hub(), &args);
    let n = 120;
    subscribe_many(&server, addr, &seen, n).await;
    edit(&server.site, "\n中途停机。\n");
    wait("the fan-out begun", 20, || {
        with(&seen, "中途停机").len() >= 10
    })
    .await;
    server.signal("KILL");
    server.wait_exit(Duration::from_secs(10)).expect("killed");
    let at_kill = with(&seen, "中途停机").len();
    assert!(at_kill < n, "the kill came before the end: {at_kill}");
    let site = std::mem::replace(&mut server.site, Site::sample());
    let _server = Server::start(site, &args);
    wait("every subscriber served after the restart", 30, || {
        with(&seen, "中途停机").len() == n
    })
    .await;
    // Late copies would come within a claim's lapse.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let got = with(&seen, "中途停机");
    let twice: Vec<_> = got.iter().filter(|(_, n)| **n > 1).collect();
    eprintln!("{at_kill} of {n} served at the kill; {} twice", twice.len());
    assert!(got.values().all(|n| *n <= 2), "{got:?}");
    assert!(
        twice.len() <= 8,
        "twice only for the deliveries in flight at the kill: {twice:?}"
    );
    let seen = seen.lock().unwrap();
    for bodies in seen.delivered.values() {
        let last = bodies.last().unwrap();
        let copies: Vec<_> = bodies.iter().filter(|b| *b == last).collect();
        assert!(copies.len() <= 2);
        assert!(
            String::from_utf8_lossy(last).contains("中途停机"),
            "the newest"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_callback_gone_is_unsubscribed_and_a_resubscription_renews_its_lease() {
    let (addr, seen) = callbacks(Duration::ZERO).await;
    let server = Server::start(Site::with_builtin_hub(), &[]);
    // websub.rocks 102: extra parameters are ignored.
    let gone = format!("http://{addr}/cb/gone");
    let fine = format!("http://{addr}/cb/fine");
    assert_eq!(subscribe(&server, &gone, &[("hub.foo", "bar")]).await, 202);
    assert_eq!(
        subscribe(&server, &fine, &[("hub.lease_seconds", "600")]).await,
        202
    );
    // websub.rocks 106: JSON content, delivered as it is served.
    let json = format!("http://{addr}/cb/json");
    let json_topic = "http://127.0.0.1:8080/xiaodian/feed.json";
    assert_eq!(subscribe_to(&server, json_topic, &json, &[]).await, 202);
    wait("verified", 10, || seen.lock().unwrap().verified.len() == 3).await;
    // websub.rocks 104: a resubscription is verified again with its lease.
    assert_eq!(
        subscribe(&server, &fine, &[("hub.lease_seconds", "7200")]).await,
        202
    );
    wait("verified again", 10, || {
        seen.lock().unwrap().verified["/cb/fine"].len() == 2
    })
    .await;
    assert_eq!(
        seen.lock().unwrap().verified["/cb/fine"],
        [
            ("subscribe".to_string(), "600".to_string()),
            ("subscribe".to_string(), "7200".to_string())
        ]
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    edit(&server.site, "\n第一次。\n");
    wait("all delivered", 10, || with(&seen, "第一次").len() == 3).await;
    let served = common::http::get(server.addr, "/xiaodian/feed.json", &[])
        .await
        .unwrap();
    {
        let seen = seen.lock().unwrap();
        assert_eq!(
            seen.types["/cb/json"],
            served.header("content-type").unwrap()
        );
        assert_eq!(seen.delivered["/cb/json"].last().unwrap(), &served.body);
        assert!(seen.types["/cb/fine"].starts_with("application/rss+xml"));
    }
    server.wait_for_log("answered 410 Gone: unsubscribed");
    edit(&server.site, "\n第二次。\n");
    wait("the second change delivered", 10, || {
        with(&seen, "第二次").contains_key("/cb/fine")
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        !with(&seen, "第二次").contains_key("/cb/gone"),
        "nothing more to a callback that is gone"
    );
    let metrics = common::http::get(server.addr, "/metrics", &[])
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&metrics.body);
    assert!(
        text.contains("crier_websub_deliveries_total{outcome=\"gone\"} 1"),
        "{text}"
    );
    assert!(text.contains("crier_websub_pending_deliveries "), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_on_one_postgres_deliver_each_change_once() {
    let pg = Postgres::start();
    let url = pg.url();
    let args = ["--database-url", url.as_str(), "--readers-secret", "shared"];
    let a = Server::start(Site::with_builtin_hub(), &args);
    let b = Server::start(Site::with_builtin_hub(), &args);
    let (addr, seen) = callbacks(Duration::from_millis(20)).await;
    let n = 40;
    // Subscribed at one replica, known to both.
    subscribe_many(&a, addr, &seen, n).await;
    // The same change reaches both (their content is one in production).
    edit(&a.site, "\n两台服务器。\n");
    edit(&b.site, "\n两台服务器。\n");
    wait("every subscriber served", 30, || {
        with(&seen, "两台服务器").len() == n
    })
    .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let got = with(&seen, "两台服务器");
    assert!(got.values().all(|n| *n == 1), "once each: {got:?}");
    // A second change, made at B only first, then at A.
    edit(&b.site, "\n再一次。\n");
    tokio::time::sleep(Duration::from_millis(500)).await;
    edit(&a.site, "\n再一次。\n");
    wait("the second change", 30, || with(&seen, "再一次").len() == n).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let got = with(&seen, "再一次");
    assert!(got.values().all(|n| *n == 1), "once each: {got:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_host_does_not_hold_the_others() {
    let (slow_addr, slow) = callbacks(Duration::from_millis(1500)).await;
    let (fast_addr, fast) = callbacks(Duration::ZERO).await;
    let site = Site::with_builtin_hub_calling(&["127.0.0.1", "localhost"]);
    let args = ["--hub-concurrency", "8", "--hub-per-host", "2"];
    let server = Server::start(site, &args);
    let n = 12;
    for i in 0..n {
        let s = format!("http://{slow_addr}/cb/{i}");
        let f = format!("http://localhost:{}/cb/{i}", fast_addr.port());
        assert_eq!(subscribe(&server, &s, &[]).await, 202);
        assert_eq!(subscribe(&server, &f, &[]).await, 202);
    }
    wait("verified", 20, || {
        slow.lock().unwrap().verified.len() == n && fast.lock().unwrap().verified.len() == n
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    edit(&server.site, "\n慢与快。\n");
    wait("the fast host served", 10, || {
        with(&fast, "慢与快").len() == n
    })
    .await;
    let slow_done = with(&slow, "慢与快").len();
    assert!(
        slow_done <= 4,
        "the slow host takes 2 at a time: {slow_done} done when the fast one had all"
    );
    wait("the slow host served", 30, || {
        with(&slow, "慢与快").len() == n
    })
    .await;
}
