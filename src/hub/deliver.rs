//! The hub's deliveries: a loop on the main runtime claims due ones from
//! the database (as many as may run at once, `concurrency`), POSTs each
//! topic's latest content to its callback with at most `per_host` at a
//! time to one host (a slow aggregator holds only its own), and records
//! how each went: done, tried again after a backoff (15 s doubling, up to
//! a day), unsubscribed on 410, dropped after 3 days of failures.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use hmac::{Hmac, KeyInit, Mac};
use http_body_util::Full;
use hyper::Request;
use hyper::header::{CONTENT_TYPE, LINK};
use sha2::Sha256;
use tokio::sync::{Notify, Semaphore};

use super::store::{self, Claimed, Failed};
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

/// The loop that makes the deliveries, woken by `due` (a new content) or
/// every second (retries come due), until `stop`.
pub async fn run(hub: Arc<Hub>, due: Arc<Notify>, mut stop: tokio::sync::watch::Receiver<bool>) {
    let limits = hub.limits;
    let permits = Arc::new(Semaphore::new(limits.concurrency.max(1)));
    let hosts: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
    let mut quiet_failure = false;
    while !*stop.borrow() {
        let free = permits.available_permits();
        let mut claimed = Vec::new();
        if free > 0 {
            let now = now() as i64;
            match store::claim(&hub.db, now, now + limits.claim, free).await {
                Ok(c) => {
                    quiet_failure = false;
                    claimed = c;
                }
                Err(e) if !quiet_failure => {
                    tracing::error!("the hub cannot read its deliveries ({e}): trying again");
                    quiet_failure = true;
                }
                Err(_) => {}
            }
        }
        let full = !claimed.is_empty() && claimed.len() == free;
        for d in claimed {
            let host = url::Url::parse(&d.callback)
                .ok()
                .and_then(|u| u.host_str().map(str::to_string))
                .unwrap_or_default();
            let busy = {
                let mut hosts = hosts.lock().unwrap_or_else(|e| e.into_inner());
                let n = hosts.entry(host.clone()).or_default();
                if *n >= limits.per_host {
                    true
                } else {
                    *n += 1;
                    false
                }
            };
            if busy {
                // Given back: due again in a second.
                let _ = store::release(&hub.db, &d, now() as i64 + 1).await;
                continue;
            }
            let Ok(permit) = permits.clone().try_acquire_owned() else {
                let _ = store::release(&hub.db, &d, now() as i64).await;
                continue;
            };
            let (hub, hosts, due) = (hub.clone(), hosts.clone(), due.clone());
            tokio::spawn(async move {
                hub.deliver(&d).await;
                let mut hosts = hosts.lock().unwrap_or_else(|e| e.into_inner());
                if let Some(n) = hosts.get_mut(&host) {
                    *n = n.saturating_sub(1);
                }
                drop(hosts);
                drop(permit);
                due.notify_one();
            });
        }
        if full {
            continue;
        }
        tokio::select! {
            _ = due.notified() => {}
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            _ = stop.changed() => return,
        }
    }
}

impl Hub {
    /// Makes one claimed delivery and records how it went.
    async fn deliver(&self, d: &Claimed) {
        let db = &self.db;
        let (secret, content) = match (
            store::secret(db, &d.topic, &d.callback).await,
            store::content(db, &d.topic).await,
        ) {
            (Ok(Some(secret)), Ok(Some(content))) => (secret, content),
            (Ok(None), _) | (_, Ok(None)) => {
                // Unsubscribed meanwhile (or no content: none to send).
                let _ = store::delivered(db, d, d.version).await;
                return;
            }
            (Err(e), _) | (_, Err(e)) => {
                tracing::error!("the hub cannot read a delivery ({e}): trying again");
                let _ = store::release(db, d, now() as i64 + 1).await;
                return;
            }
        };
        let body = Bytes::from(content.body);
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
