//! The built-in WebSub hub (W3C Recommendation, section 5 and 7), at
//! `/websub`: subscribers ask for a feed's updates; crier checks their
//! intent, then POSTs every new version of the feed to them, signed when
//! they gave a secret. Subscriptions are kept in a state file written
//! whole (temp file + rename), so they survive a restart.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use arc_swap::ArcSwap;
use bytes::Bytes;
use hmac::{Hmac, KeyInit, Mac};
use http_body_util::{BodyExt, Full};
use hyper::header::{CONTENT_TYPE, LINK};
use hyper::{Request, StatusCode};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::metrics::{Metrics, OutcomeLabels};
use crate::websub::{Attempt, HttpClient, Retry};

/// Largest subscription request body read.
pub const MAX_BODY: usize = 8 * 1024;
/// Subscriptions held at most.
pub const MAX_SUBSCRIPTIONS: usize = 10_000;
/// Leases a subscriber may ask for, and the one given when it asks none.
pub const MIN_LEASE: u64 = 60;
pub const MAX_LEASE: u64 = 30 * 24 * 3600;
pub const DEFAULT_LEASE: u64 = 10 * 24 * 3600;
const TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
struct Subscription {
    topic: String,
    callback: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    secret: Option<String>,
    /// Unix seconds.
    expires: u64,
}

pub struct Hub {
    state_file: PathBuf,
    /// By (topic, callback).
    subs: Mutex<BTreeMap<(String, String), Subscription>>,
    client: HttpClient,
    runtime: tokio::runtime::Handle,
    /// This hub's public URL, for the Link header of deliveries.
    url: String,
    /// Hosts callbacks may name; `*` allows any.
    allowed: Vec<String>,
    /// The public URLs of the site's feeds, which may be subscribed to.
    topics: ArcSwap<std::collections::HashSet<String>>,
    metrics: Arc<Metrics>,
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl Hub {
    /// A hub with the subscriptions saved in `state_file` (those not yet
    /// expired).
    pub fn new(
        state_file: &Path,
        url: String,
        allowed: Vec<String>,
        runtime: tokio::runtime::Handle,
        metrics: Arc<Metrics>,
    ) -> Hub {
        let saved: Vec<Subscription> = match std::fs::read(state_file) {
            Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|e| {
                tracing::error!(
                    "{}: cannot read WebSub subscriptions ({e}); starting with none",
                    state_file.display()
                );
                Vec::new()
            }),
            Err(_) => Vec::new(),
        };
        let now = now();
        let subs = saved
            .into_iter()
            .filter(|s| s.expires > now)
            .map(|s| ((s.topic.clone(), s.callback.clone()), s))
            .collect();
        Hub {
            state_file: state_file.to_path_buf(),
            subs: Mutex::new(subs),
            client: crate::websub::client(),
            runtime,
            url,
            allowed,
            topics: ArcSwap::default(),
            metrics,
        }
    }

    /// The feeds (absolute URLs) that may be subscribed to from now on.
    pub fn set_topics(&self, topics: impl IntoIterator<Item = String>) {
        self.topics.store(Arc::new(topics.into_iter().collect()));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<(String, String), Subscription>> {
        self.subs.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Active subscriptions.
    pub fn count(&self) -> usize {
        let now = now();
        self.lock().values().filter(|s| s.expires > now).count()
    }
}

impl crate::readers::Subscriptions for Hub {
    fn by_topic(&self) -> BTreeMap<String, u64> {
        let now = now();
        let mut out = BTreeMap::new();
        for s in self.lock().values().filter(|s| s.expires > now) {
            *out.entry(s.topic.clone()).or_default() += 1;
        }
        out
    }
}

impl Hub {
    /// Writes the subscriptions whole; the file holds secrets, so only
    /// its owner may read it.
    fn save(&self) {
        let subs: Vec<Subscription> = self.lock().values().cloned().collect();
        let written = serde_json::to_vec_pretty(&subs)
            .map_err(|e| e.to_string())
            .and_then(|bytes| {
                crate::atomic::write(&self.state_file, &bytes, crate::atomic::Access::Private)
                    .map_err(|e| e.to_string())
            });
        if let Err(e) = written {
            tracing::error!("cannot save WebSub subscriptions: {e}");
        }
    }

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
        // One lock at a time: a guard kept in the condition would still
        // be held when `count` locks.
        let known = self.lock().contains_key(&key);
        if mode == "subscribe" && !known && self.count() >= MAX_SUBSCRIPTIONS {
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
        let key = (sub.topic.clone(), sub.callback.clone());
        if mode == "subscribe" {
            tracing::info!(
                callback = sub.callback,
                topic = sub.topic,
                lease,
                "WebSub subscription active"
            );
            self.lock().insert(key, sub);
        } else {
            tracing::info!(
                callback = sub.callback,
                topic = sub.topic,
                "WebSub subscription ended"
            );
            self.lock().remove(&key);
        }
        self.save();
    }

    /// Content distribution (section 7): POSTs the new body of `topic`
    /// to each of its subscribers, in the background.
    pub fn distribute(self: &Arc<Self>, topic: &str, content_type: &str, body: Bytes) {
        let now = now();
        let (live, expired): (Vec<Subscription>, Vec<Subscription>) = self
            .lock()
            .values()
            .filter(|s| s.topic == topic)
            .cloned()
            .partition(|s| s.expires > now);
        if !expired.is_empty() {
            let mut subs = self.lock();
            for s in &expired {
                subs.remove(&(s.topic.clone(), s.callback.clone()));
            }
            drop(subs);
            self.save();
        }
        for sub in live {
            let hub = self.clone();
            let body = body.clone();
            let content_type = content_type.to_string();
            self.runtime
                .spawn(async move { hub.deliver(sub, &content_type, body).await });
        }
    }

    async fn deliver(&self, sub: Subscription, content_type: &str, body: Bytes) {
        let link = format!("<{}>; rel=\"hub\", <{}>; rel=\"self\"", self.url, sub.topic);
        let signature = sub.secret.as_ref().and_then(|secret| {
            // HMAC takes a key of any length: this cannot fail.
            let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes()).ok()?;
            mac.update(&body);
            Some(format!(
                "sha256={}",
                crate::fingerprint::hex(&mac.finalize().into_bytes())
            ))
        });
        let request = || {
            let mut request = Request::post(&sub.callback)
                .header(CONTENT_TYPE, content_type)
                .header(LINK, link.as_str());
            if let Some(sig) = &signature {
                request = request.header("x-hub-signature", sig.as_str());
            }
            request.body(Full::new(body.clone()))
        };
        let retry = Retry::DELIVERY;
        retry
            .post(&self.client, request, |attempt, wait| {
                let outcome = match attempt {
                    Attempt::Made => "delivered",
                    Attempt::Again(_) => "retried",
                    Attempt::GaveUp(_) => "failed",
                };
                self.metrics
                    .websub_deliveries
                    .get_or_create(&OutcomeLabels { outcome })
                    .inc();
                match attempt {
                    Attempt::Made => {}
                    Attempt::Again(p) => tracing::warn!(
                        callback = sub.callback,
                        "WebSub delivery {p}; trying again in {}s",
                        wait.as_secs()
                    ),
                    Attempt::GaveUp(p) => tracing::error!(
                        callback = sub.callback,
                        topic = sub.topic,
                        "WebSub delivery {p}; failed {} times: given up",
                        retry.tries
                    ),
                }
            })
            .await;
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

    fn hub(state: &Path, allowed: &[&str]) -> Hub {
        Hub::new(
            state,
            "https://n.example/websub".into(),
            allowed.iter().map(|a| a.to_string()).collect(),
            tokio::runtime::Handle::current(),
            Arc::default(),
        )
    }

    #[tokio::test]
    async fn expired_leases_are_dropped_and_live_ones_kept() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("subs.json");
        let sub = |callback: &str, expires: u64| Subscription {
            topic: "https://n.example/rss.xml".into(),
            callback: callback.into(),
            secret: None,
            expires,
        };
        let saved = vec![
            sub("http://a/old", now() - 1),
            sub("http://a/new", now() + 600),
        ];
        std::fs::write(&state, serde_json::to_vec(&saved).unwrap()).unwrap();
        let h = hub(&state, &["a"]);
        assert_eq!(h.count(), 1);
        assert_eq!(h.lock().values().next().unwrap().callback, "http://a/new");
        // A lease that runs out while crier runs stops counting at once.
        h.lock().values_mut().for_each(|s| s.expires = now() - 1);
        assert_eq!(h.count(), 0);
        // A garbled state file: no subscriptions, no crash.
        std::fs::write(&state, b"{not json").unwrap();
        assert_eq!(hub(&state, &["a"]).count(), 0);
    }

    #[tokio::test]
    async fn callback_hosts_follow_the_allow_list() {
        let dir = tempfile::tempdir().unwrap();
        let h = hub(
            &dir.path().join("s.json"),
            &["news.example", "*.readers.example"],
        );
        assert!(h.host_allowed("news.example"));
        assert!(h.host_allowed("NEWS.example"));
        assert!(h.host_allowed("a.readers.example"));
        assert!(!h.host_allowed("readers.example"));
        assert!(!h.host_allowed("evilreaders.example"));
        assert!(!h.host_allowed("127.0.0.1"));
        assert!(hub(&dir.path().join("s.json"), &["*"]).host_allowed("10.0.0.1"));
        assert!(!hub(&dir.path().join("s.json"), &[]).host_allowed("news.example"));
    }
}
