//! The hub's deliveries: a loop on the main runtime claims due ones from
//! the database (as many as may run at once, `concurrency`), POSTs each
//! topic's latest content to its callback with at most `per_host` at a
//! time to one host (a slow aggregator holds only its own), and records
//! how each went: done, tried again after a backoff (15 s doubling, up to
//! a day), unsubscribed on 410, dropped after 3 days of failures.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hmac::{Hmac, KeyInit, Mac};
use http_body_util::Full;
use hyper::Request;
use hyper::header::{CONTENT_TYPE, LINK};
use sha2::Sha256;
use tokio::sync::{Notify, Semaphore};

use super::store::{self, Claimed, Content, Failed};
use super::{Hub, now};
use crate::metrics::OutcomeLabels;
use crate::websub::Tried;

/// How deliveries run.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Deliveries in flight at once.
    pub concurrency: usize,
    /// Deliveries in flight to one host at once.
    pub per_host: usize,
    /// Seconds a claimed delivery is this server's: another takes it
    /// after that (this one died).
    pub claim: i64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            concurrency: 64,
            per_host: 8,
            claim: 120,
        }
    }
}

/// The `X-Hub-Signature` of `body` with `secret`.
pub fn signature(secret: &str, body: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes())
        .expect("HMAC takes a key of any length");
    mac.update(body);
    format!(
        "sha256={}",
        crate::fingerprint::hex(&mac.finalize().into_bytes())
    )
}

/// Deliveries claimed and not yet begun, by host: each begins when its
/// host has a free slot. A host whose queue holds `per_host * 8` is left
/// out of claims until it is down to half of that: a slow host holds its
/// own slots and queue, not the others'. A queued delivery waits at most
/// 8 rounds of its host's tries (80 s with 10 s timeouts), within its
/// claim.
struct Queue {
    waiting: HashMap<String, VecDeque<Claimed>>,
    /// Deliveries in flight, by host (ended by their own tasks).
    running: Arc<Mutex<HashMap<String, usize>>>,
    permits: Arc<Semaphore>,
    per_host: usize,
}

impl Queue {
    fn cap(&self) -> usize {
        self.per_host * 8
    }

    /// Hosts not to claim for now.
    fn busy(&self) -> Vec<String> {
        self.waiting
            .iter()
            .filter(|(_, q)| q.len() >= self.cap() / 2)
            .map(|(h, _)| h.clone())
            .collect()
    }

    /// Queues what was claimed; what finds its host's queue full is given back.
    fn add(&mut self, claimed: Vec<Claimed>) -> Vec<Claimed> {
        let cap = self.cap();
        let mut back = Vec::new();
        for d in claimed {
            let q = self.waiting.entry(d.host.clone()).or_default();
            if q.len() < cap {
                q.push_back(d);
            } else {
                back.push(d);
            }
        }
        back
    }

    /// Begins every queued delivery whose host has a free slot, while
    /// permits last.
    fn begin(&mut self, hub: &Arc<Hub>, due: &Arc<Notify>) {
        for (host, queue) in &mut self.waiting {
            while !queue.is_empty() {
                {
                    let mut running = self.running.lock().unwrap_or_else(|e| e.into_inner());
                    if running.get(host).copied().unwrap_or(0) >= self.per_host {
                        break;
                    }
                    let Ok(permit) = self.permits.clone().try_acquire_owned() else {
                        return;
                    };
                    *running.entry(host.clone()).or_default() += 1;
                    let Some(d) = queue.pop_front() else { break };
                    let (hub, due, running) = (hub.clone(), due.clone(), self.running.clone());
                    tokio::spawn(async move {
                        hub.deliver(&d).await;
                        let mut r = running.lock().unwrap_or_else(|e| e.into_inner());
                        if let Some(n) = r.get_mut(&d.host) {
                            *n = n.saturating_sub(1);
                        }
                        drop(r);
                        drop(permit);
                        due.notify_one();
                    });
                }
            }
        }
        self.waiting.retain(|_, q| !q.is_empty());
    }

    fn drain(&mut self) -> Vec<Claimed> {
        self.waiting.drain().flat_map(|(_, q)| q).collect()
    }
}

/// The loop that makes the deliveries, woken by `due` (a new content, a
/// delivery ended) or every second (retries come due), until `stop`.
pub async fn run(hub: Arc<Hub>, due: Arc<Notify>, mut stop: tokio::sync::watch::Receiver<bool>) {
    let limits = hub.limits;
    let mut queue = Queue {
        waiting: HashMap::new(),
        running: Arc::default(),
        permits: Arc::new(Semaphore::new(limits.concurrency.max(1))),
        per_host: limits.per_host.max(1),
    };
    let mut quiet_failure = false;
    while !*stop.borrow() {
        queue.begin(&hub, &due);
        let free = queue.permits.available_permits();
        let mut more = false;
        if free > 0 {
            let now = now() as i64;
            match store::claim(&hub.db, now, now + limits.claim, free, &queue.busy()).await {
                Ok(claimed) => {
                    quiet_failure = false;
                    more = claimed.len() == free;
                    let back = queue.add(claimed);
                    if !back.is_empty() {
                        more = false;
                        let _ = store::release(&hub.db, &back, now + 1).await;
                    }
                }
                Err(e) if !quiet_failure => {
                    tracing::error!("the hub cannot read its deliveries ({e}): trying again");
                    quiet_failure = true;
                }
                Err(_) => {}
            }
            queue.begin(&hub, &due);
        }
        if more {
            continue;
        }
        tokio::select! {
            _ = due.notified() => {}
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            _ = stop.changed() => break,
        }
    }
    // What was claimed and not begun is due again at once, for whichever
    // server comes next.
    let _ = store::release(&hub.db, &queue.drain(), now() as i64).await;
}

impl Hub {
    /// The latest content of a claimed delivery's topic: the one read
    /// before, unless the delivery is of a newer version.
    async fn content(&self, d: &Claimed) -> Result<Option<Arc<Content>>, sqlx::Error> {
        let cached = {
            let contents = self.contents.lock().unwrap_or_else(|e| e.into_inner());
            contents.get(&d.topic).cloned()
        };
        if let Some(c) = cached.filter(|c| c.version >= d.version) {
            return Ok(Some(c));
        }
        let Some(c) = store::content(&self.db, &d.topic).await? else {
            return Ok(None);
        };
        let c = Arc::new(c);
        let mut contents = self.contents.lock().unwrap_or_else(|e| e.into_inner());
        contents.insert(d.topic.clone(), c.clone());
        Ok(Some(c))
    }

    /// Makes one claimed delivery and records how it went.
    async fn deliver(&self, d: &Claimed) {
        let db = &self.db;
        let (secret, content) = match (
            store::secret(db, &d.topic, &d.callback).await,
            self.content(d).await,
        ) {
            (Ok(Some(secret)), Ok(Some(content))) => (secret, content),
            (Ok(None), _) | (_, Ok(None)) => {
                // Unsubscribed meanwhile (or no content: none to send).
                let _ = store::delivered(db, d, d.version).await;
                return;
            }
            (Err(e), _) | (_, Err(e)) => {
                tracing::error!("the hub cannot read a delivery ({e}): trying again");
                let _ = store::release(db, std::slice::from_ref(d), now() as i64 + 1).await;
                return;
            }
        };
        let body = content.body.clone();
        let link = format!("<{}>; rel=\"hub\", <{}>; rel=\"self\"", self.url, d.topic);
        let mut request = Request::post(&d.callback)
            .header(CONTENT_TYPE, content.content_type.as_str())
            .header(LINK, link.as_str());
        if let Some(secret) = &secret {
            request = request.header("x-hub-signature", signature(secret, &body));
        }
        let tried = crate::websub::post_once(&self.client, request.body(Full::new(body))).await;
        let now = now() as i64;
        let outcome = match tried {
            Ok(()) => match store::delivered(db, d, content.version).await {
                Ok(()) => "delivered",
                Err(e) => {
                    tracing::error!(
                        callback = d.callback,
                        "a delivery was made but cannot be recorded ({e}): it may be made again"
                    );
                    "delivered"
                }
            },
            Err(Tried::Gone) => {
                tracing::info!(
                    callback = d.callback,
                    topic = d.topic,
                    "the callback answered 410 Gone: unsubscribed"
                );
                let _ = store::unsubscribe(db, &d.topic, &d.callback).await;
                "gone"
            }
            Err(Tried::Failed(problem)) => match store::failed(db, d, now).await {
                Ok(Failed::Retry(at)) => {
                    tracing::warn!(
                        callback = d.callback,
                        "WebSub delivery {problem}; trying again in {}s",
                        at - now
                    );
                    "retried"
                }
                Ok(Failed::Dropped) => {
                    tracing::error!(
                        callback = d.callback,
                        topic = d.topic,
                        "WebSub delivery {problem}; failing for 3 days: subscription dropped"
                    );
                    "dropped"
                }
                Err(e) => {
                    tracing::error!("the hub cannot record a failed delivery ({e})");
                    "retried"
                }
            },
        };
        self.metrics
            .websub_deliveries
            .get_or_create(&OutcomeLabels { outcome })
            .inc();
    }
}
