//! The built-in WebSub hub (W3C Recommendation, section 5 and 7), at
//! `/websub`: subscribers ask for a feed's updates; crier checks their
//! intent, then POSTs every new version of the feed to them, signed when
//! they gave a secret. Subscriptions and pending deliveries are kept in
//! crier's database (`store`), so that a delivery pending when crier
//! stops is made after it starts again, and replicas on one PostgreSQL
//! share the subscriptions and make each delivery once (`deliver`).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use arc_swap::ArcSwap;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Request, StatusCode};
use serde::{Deserialize, Serialize};
use tokio::sync::Notify;

use crate::database::Database;
use crate::metrics::Metrics;
use crate::websub::HttpClient;

pub mod deliver;
pub mod store;

pub use deliver::Limits;

/// Largest subscription request body read.
pub const MAX_BODY: usize = 8 * 1024;
/// Subscriptions held at most.
pub const MAX_SUBSCRIPTIONS: u64 = 1_000_000;
/// Leases a subscriber may ask for, and the one given when it asks none.
pub const MIN_LEASE: u64 = 60;
pub const MAX_LEASE: u64 = 30 * 24 * 3600;
pub const DEFAULT_LEASE: u64 = 10 * 24 * 3600;
const TIMEOUT: Duration = Duration::from_secs(10);

/// A subscription, as `websub.json` of earlier versions kept it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Subscription {
    pub topic: String,
    pub callback: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// Unix seconds.
    pub expires: u64,
}

pub struct Hub {
    db: Database,
    client: HttpClient,
    runtime: tokio::runtime::Handle,
    /// This hub's public URL, for the Link header of deliveries.
    url: String,
    /// Hosts callbacks may name; `*` allows any.
    allowed: Vec<String>,
    /// The public URLs of the site's feeds, which may be subscribed to.
    topics: ArcSwap<std::collections::HashSet<String>>,
    metrics: Arc<Metrics>,
    limits: Limits,
    /// Woken when deliveries come due.
    due: Arc<Notify>,
    /// Subscriptions held, as last counted.
    held: AtomicU64,
    /// Each topic's latest content as last read: a fan-out reads it once.
    contents: std::sync::Mutex<std::collections::HashMap<String, Arc<store::Content>>>,
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl Hub {
    /// A hub on `db`, which takes over the subscriptions an earlier
    /// crier kept in `state_file` (once: the file is renamed aside).
    pub async fn open(
        db: Database,
        state_file: &Path,
        url: String,
        allowed: Vec<String>,
        limits: Limits,
        metrics: Arc<Metrics>,
    ) -> Hub {
        import(&db, state_file).await;
        let held = store::count(&db).await.unwrap_or(0).max(0) as u64;
        Hub {
            db,
            client: crate::websub::client(),
            runtime: tokio::runtime::Handle::current(),
            url,
            allowed,
            topics: ArcSwap::default(),
            metrics,
            limits,
            due: Arc::new(Notify::new()),
            held: AtomicU64::new(held),
            contents: Default::default(),
        }
    }

    /// Makes the deliveries, and keeps the subscriptions' count and the
    /// pending deliveries' gauges current, until `stop`.
    pub fn run(
        self: &Arc<Self>,
        stop: tokio::sync::watch::Receiver<bool>,
    ) -> tokio::task::JoinHandle<()> {
        let hub = self.clone();
        let mut gauges_stop = stop.clone();
        self.runtime.spawn(async move {
            let h = hub.clone();
            let gauges = tokio::spawn(async move {
                loop {
                    h.refresh().await;
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_secs(2)) => {}
                        _ = gauges_stop.changed() => return,
                    }
                }
            });
            deliver::run(hub.clone(), hub.due.clone(), stop).await;
            let _ = gauges.await;
        })
    }

    /// Drops expired subscriptions; counts what is held and pending.
    async fn refresh(&self) {
        let now = now() as i64;
        let _ = store::expire(&self.db, now).await;
        if let Ok(n) = store::count(&self.db).await {
            self.held.store(n.max(0) as u64, Ordering::Relaxed);
        }
        if let Ok((pending, oldest)) = store::pending(&self.db).await {
            self.metrics.websub_pending.set(pending);
            self.metrics
                .websub_oldest_pending
                .set(oldest.map_or(0, |since| (now - since).max(0)));
        }
    }

    /// The feeds (absolute URLs) that may be subscribed to from now on.
    pub fn set_topics(&self, topics: impl IntoIterator<Item = String>) {
        self.topics.store(Arc::new(topics.into_iter().collect()));
    }
}

/// Active subscriptions by topic, from the hub's table (for the readers'
/// counts).
pub async fn active(db: &Database) -> Result<BTreeMap<String, u64>, sqlx::Error> {
    store::active(db, now() as i64).await
}

/// The subscriptions of `websub.json` (crier before the database) into
/// the database, then the file renamed aside.
async fn import(db: &Database, state_file: &Path) {
    let Ok(bytes) = std::fs::read(state_file) else {
        return;
    };
    let shown = state_file.display();
    let subs: Vec<Subscription> = match serde_json::from_slice(&bytes) {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(
                "{shown}: cannot read WebSub subscriptions ({e}); left where it is, nothing imported"
            );
            return;
        }
    };
    let now = now();
    let mut imported = 0;
    for sub in subs.iter().filter(|s| s.expires > now) {
        if let Err(e) = store::subscribe(db, sub).await {
            tracing::error!(
                "{shown}: cannot import a subscription ({e}); the file is kept, to import at the next start"
            );
            return;
        }
        imported += 1;
    }
    let aside = state_file.with_extension("json.imported");
    match std::fs::rename(state_file, &aside) {
        Ok(()) => tracing::info!(
            imported,
            "WebSub subscriptions taken over from {shown} into the database; the file is now {}",
            aside.display()
        ),
        Err(e) => tracing::error!("{shown}: imported, but cannot be renamed aside ({e})"),
    }
}

impl Hub {
    fn host_allowed(&self, host: &str) -> bool {
        self.allowed.iter().any(|a| {
            a == "*"
                || a.eq_ignore_ascii_case(host)
                || a.strip_prefix("*.").is_some_and(|d| {
                    // `x.` then the domain, compared without slicing into
                    // a character.
                    let cut = host.len().saturating_sub(d.len() + 1);
                    cut > 0
                        && host
                            .get(cut..)
                            .and_then(|tail| tail.strip_prefix('.'))
                            .is_some_and(|tail| tail.eq_ignore_ascii_case(d))
                })
        })
    }

    /// Answers a subscription request (`POST /websub`), given its
    /// content type and body; verification of intent follows in the
    /// background.
    pub fn request(
        self: &Arc<Self>,
        content_type: Option<&str>,
        body: &[u8],
    ) -> (StatusCode, &'static str) {
        let form = content_type.is_some_and(|t| t.starts_with("application/x-www-form-urlencoded"));
        if !form {
            return (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "send application/x-www-form-urlencoded",
            );
        }
        let fields: BTreeMap<String, String> =
            url::form_urlencoded::parse(body).into_owned().collect();
        let field = |k: &str| fields.get(k).map(String::as_str);
        let mode = match field("hub.mode") {
            Some(m @ ("subscribe" | "unsubscribe")) => m.to_string(),
            _ => {
                return (
                    StatusCode::BAD_REQUEST,
                    "hub.mode must be subscribe or unsubscribe",
                );
            }
        };
        let Some(topic) = field("hub.topic") else {
            return (StatusCode::BAD_REQUEST, "hub.topic is missing");
        };
        if !self.topics.load().contains(topic) {
            return (
                StatusCode::NOT_FOUND,
                "hub.topic is not a feed of this site: use its URL as in the feed's rel=\"self\" link",
            );
        }
        let callback = match field("hub.callback").map(url::Url::parse) {
            Some(Ok(u)) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => u,
            _ => {
                return (
                    StatusCode::BAD_REQUEST,
                    "hub.callback must be an absolute http(s) URL",
                );
            }
        };
        if !self.host_allowed(callback.host_str().unwrap_or_default()) {
            return (
                StatusCode::FORBIDDEN,
                "this hub does not call back that host (see hub_callbacks in crier.toml)",
            );
        }
        let lease = match field("hub.lease_seconds").map(str::parse::<u64>) {
            None => DEFAULT_LEASE,
            Some(Ok(l)) if (MIN_LEASE..=MAX_LEASE).contains(&l) => l,
            Some(_) => {
                return (
                    StatusCode::BAD_REQUEST,
                    "hub.lease_seconds must be a number from 60 to 2592000",
                );
            }
        };
        let secret = field("hub.secret").map(str::to_string);
        if secret.as_ref().is_some_and(|s| s.len() >= 200) {
            return (
                StatusCode::BAD_REQUEST,
                "hub.secret must be shorter than 200 bytes",
            );
        }
        let key = (topic.to_string(), callback.to_string());
        if mode == "subscribe" && self.held.load(Ordering::Relaxed) >= MAX_SUBSCRIPTIONS {
            return (
                StatusCode::TOO_MANY_REQUESTS,
                "this hub holds as many subscriptions as it can",
            );
        }
        let hub = self.clone();
        let sub = Subscription {
            topic: key.0,
            callback: key.1,
            secret,
            expires: now() + lease,
        };
        self.runtime
            .spawn(async move { hub.verify(mode, sub, lease).await });
        (
            StatusCode::ACCEPTED,
            "accepted: the callback is asked to confirm",
        )
    }

    /// Verification of intent (section 5.3): the callback must echo the
    /// challenge for the (un)subscription to take effect.
    async fn verify(self: Arc<Self>, mode: String, sub: Subscription, lease: u64) {
        let challenge = challenge();
        let mut url = match url::Url::parse(&sub.callback) {
            Ok(u) => u,
            Err(_) => return,
        };
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("hub.mode", &mode)
                .append_pair("hub.topic", &sub.topic)
                .append_pair("hub.challenge", &challenge);
            if mode == "subscribe" {
                q.append_pair("hub.lease_seconds", &lease.to_string());
            }
        }
        let request = match Request::get(url.as_str()).body(Full::new(Bytes::new())) {
            Ok(r) => r,
            Err(_) => return,
        };
        let confirmed = match tokio::time::timeout(TIMEOUT, self.client.request(request)).await {
            Ok(Ok(r)) if r.status().is_success() => r
                .into_body()
                .collect()
                .await
                .is_ok_and(|b| b.to_bytes().as_ref() == challenge.as_bytes()),
            _ => false,
        };
        if !confirmed {
            tracing::warn!(
                callback = sub.callback,
                topic = sub.topic,
                "WebSub {mode} not confirmed by the callback: nothing changed"
            );
            return;
        }
        let done = if mode == "subscribe" {
            store::subscribe(&self.db, &sub).await
        } else {
            store::unsubscribe(&self.db, &sub.topic, &sub.callback).await
        };
        match done {
            Ok(()) if mode == "subscribe" => {
                self.held.fetch_add(1, Ordering::Relaxed);
                tracing::info!(
                    callback = sub.callback,
                    topic = sub.topic,
                    lease,
                    "WebSub subscription active"
                );
            }
            Ok(()) => tracing::info!(
                callback = sub.callback,
                topic = sub.topic,
                "WebSub subscription ended"
            ),
            Err(e) => tracing::error!(
                callback = sub.callback,
                "cannot keep the WebSub {mode} ({e}): nothing changed; the subscriber may ask again"
            ),
        }
    }

    /// Content distribution (section 7): the new body of `topic` is due
    /// to each of its subscribers; the deliveries follow in the
    /// background, and survive a restart.
    pub fn distribute(self: &Arc<Self>, topic: &str, content_type: &str, body: Bytes) {
        let Ok(body) = String::from_utf8(body.to_vec()) else {
            tracing::error!(topic, "a feed that is not UTF-8 cannot be delivered");
            return;
        };
        let (hub, topic, content_type) =
            (self.clone(), topic.to_string(), content_type.to_string());
        self.runtime.spawn(async move {
            match store::publish(&hub.db, &topic, &content_type, &body, now() as i64).await {
                Ok(Some(_)) => hub.due.notify_one(),
                Ok(None) => {}
                Err(e) => tracing::error!(
                    topic,
                    "the hub cannot queue the new feed for its subscribers ({e}): they learn of it at their next poll"
                ),
            }
        });
    }
}

fn challenge() -> String {
    use std::hash::{BuildHasher, Hasher};
    // Unpredictable enough for a challenge: two random-keyed hashes.
    let mut out = String::new();
    for _ in 0..2 {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u64(now());
        out.push_str(&format!("{:016x}", h.finish()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::database::Location;

    async fn hub(dir: &Path, allowed: &[&str]) -> Hub {
        let db = Database::open(&Location::of(None, dir)).await.unwrap();
        Hub::open(
            db,
            &dir.join("subs.json"),
            "https://n.example/websub".into(),
            allowed.iter().map(|a| a.to_string()).collect(),
            Limits::default(),
            Arc::default(),
        )
        .await
    }

    #[tokio::test]
    async fn websub_json_is_imported_once_without_expired_leases() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("subs.json");
        let sub = |callback: &str, expires: u64| Subscription {
            topic: "https://n.example/rss.xml".into(),
            callback: callback.into(),
            secret: Some("k".into()),
            expires,
        };
        let saved = vec![
            sub("http://a/old", now() - 1),
            sub("http://a/new", now() + 600),
        ];
        std::fs::write(&state, serde_json::to_vec(&saved).unwrap()).unwrap();
        let h = hub(dir.path(), &["a"]).await;
        assert_eq!(h.held.load(Ordering::Relaxed), 1);
        let active = active(&h.db).await.unwrap();
        assert_eq!(active["https://n.example/rss.xml"], 1);
        assert_eq!(
            store::secret(&h.db, "https://n.example/rss.xml", "http://a/new")
                .await
                .unwrap(),
            Some(Some("k".into()))
        );
        assert!(!state.exists(), "renamed aside");
        assert!(dir.path().join("subs.json.imported").exists());
        // A garbled file: nothing imported, the file left for a person.
        std::fs::write(&state, b"{not json").unwrap();
        let h = hub(dir.path(), &["a"]).await;
        assert_eq!(h.held.load(Ordering::Relaxed), 1);
        assert!(state.exists());
    }

    #[tokio::test]
    async fn callback_hosts_follow_the_allow_list() {
        let dir = tempfile::tempdir().unwrap();
        let h = hub(dir.path(), &["news.example", "*.readers.example"]).await;
        assert!(h.host_allowed("news.example"));
        assert!(h.host_allowed("NEWS.example"));
        assert!(h.host_allowed("a.readers.example"));
        assert!(!h.host_allowed("readers.example"));
        assert!(!h.host_allowed("evilreaders.example"));
        assert!(!h.host_allowed("127.0.0.1"));
        assert!(hub(dir.path(), &["*"]).await.host_allowed("10.0.0.1"));
        assert!(!hub(dir.path(), &[]).await.host_allowed("news.example"));
    }
}
