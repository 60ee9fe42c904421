//! WebSub (W3C Recommendation) publishing: after each change crier tells
//! every hub which feeds changed (`hub.mode=publish`, `hub.url=<feed>`),
//! in the background, so serving never waits for a hub.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::Request;
use hyper::header::{CONTENT_TYPE, USER_AGENT};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use crate::metrics::{Metrics, Outcome, PingLabels};

type Connector = hyper_rustls::HttpsConnector<HttpConnector>;

/// A hub that takes longer than this for one ping is retried.
const TIMEOUT: Duration = Duration::from_secs(10);

/// Sends publish pings on a tokio runtime.
#[derive(Clone)]
pub struct Publisher {
    client: Client<Connector, Full<Bytes>>,
    runtime: tokio::runtime::Handle,
    metrics: Arc<Metrics>,
}

/// An HTTP client for hubs and subscribers: http, and https with rustls.
pub fn client() -> Client<Connector, Full<Bytes>> {
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_webpki_roots()
        .https_or_http()
        .enable_http1()
        .build();
    Client::builder(TokioExecutor::new()).build(connector)
}

/// The type of [`client`].
pub type HttpClient = Client<Connector, Full<Bytes>>;

impl Publisher {
    pub fn new(runtime: tokio::runtime::Handle, metrics: Arc<Metrics>) -> Publisher {
        Publisher {
            client: client(),
            runtime,
            metrics,
        }
    }

    /// Tells each hub that each feed (absolute URL) changed.
    pub fn changed(&self, hubs: &[String], feeds: &[String]) {
        for hub in hubs {
            for feed in feeds {
                let this = self.clone();
                let (hub, feed) = (hub.clone(), feed.clone());
                self.runtime
                    .spawn(async move { this.ping(&hub, &feed).await });
            }
        }
    }

    async fn ping(&self, hub: &str, feed: &str) {
        let body: String = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("hub.mode", "publish")
            .append_pair("hub.url", feed)
            .finish();
        let request = || {
            Request::post(hub)
                .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                .header(USER_AGENT, concat!("crier/", env!("CARGO_PKG_VERSION")))
                .body(Full::new(Bytes::from(body.clone())))
        };
        let retry = Retry::PING;
        retry
            .post(&self.client, request, |attempt, wait| {
                let outcome = match attempt {
                    Attempt::Made => Outcome::Accepted,
                    Attempt::Again(_) => Outcome::Retried,
                    Attempt::GaveUp(_) => Outcome::Failed,
                };
                self.metrics
                    .websub_pings
                    .get_or_create(&PingLabels { outcome })
                    .inc();
                match attempt {
                    Attempt::Made => tracing::debug!(hub, feed, "hub told of a change"),
                    Attempt::Again(p) => tracing::warn!(
                        hub,
                        feed,
                        "WebSub hub {p}; trying again in {}s",
                        wait.as_secs()
                    ),
                    Attempt::GaveUp(p) => tracing::error!(
                        hub,
                        feed,
                        "WebSub hub {p}; gave up after {} tries: its subscribers learn of this change at their next poll",
                        retry.tries
                    ),
                }
            })
            .await;
    }
}

/// How one try of a POST to a hub or a subscriber went.
pub enum Attempt {
    /// Answered 2xx.
    Made,
    /// Refused or unreachable (why); tried again after the wait.
    Again(String),
    /// Refused or unreachable on the last try, or not even made: given up.
    GaveUp(String),
}

/// Why one POST did not go through.
pub enum Tried {
    /// Answered 410 Gone: the callback is no more.
    Gone,
    /// Refused otherwise, unreachable, or no answer in time (why).
    Failed(String),
}

/// One POST, given `TIMEOUT`: answered 2xx, or why not.
pub async fn post_once(
    client: &HttpClient,
    request: Result<Request<Full<Bytes>>, hyper::http::Error>,
) -> Result<(), Tried> {
    match request {
        Err(e) => Err(Tried::Failed(format!("cannot be asked: {e}"))),
        Ok(r) => match tokio::time::timeout(TIMEOUT, client.request(r)).await {
            Ok(Ok(r)) if r.status().is_success() => Ok(()),
            Ok(Ok(r)) if r.status() == hyper::StatusCode::GONE => Err(Tried::Gone),
            Ok(Ok(r)) => Err(Tried::Failed(format!("answered {}", r.status()))),
            Ok(Err(e)) => Err(Tried::Failed(format!("unreachable: {e}"))),
            Err(_) => Err(Tried::Failed(format!(
                "no answer in {}s",
                TIMEOUT.as_secs()
            ))),
        },
    }
}

/// The retry loop of publish pings (the hub's deliveries are retried
/// from the database, `hub::deliver`):
/// up to `tries` tries, the wait between them doubling from `first_wait`,
/// each given `TIMEOUT`.
pub struct Retry {
    pub tries: u32,
    pub first_wait: Duration,
}

impl Retry {
    /// Publish pings to a hub: 6 tries over about half a minute.
    pub const PING: Retry = Retry {
        tries: 6,
        first_wait: Duration::from_secs(1),
    };

    /// POSTs what `request` makes until a try is answered 2xx or `tries`
    /// are used; `seen` hears of each try (with the wait before the next).
    pub async fn post(
        &self,
        client: &HttpClient,
        request: impl Fn() -> Result<Request<Full<Bytes>>, hyper::http::Error>,
        mut seen: impl FnMut(&Attempt, Duration),
    ) -> bool {
        let mut wait = self.first_wait;
        for attempt in 1..=self.tries {
            let problem = match post_once(client, request()).await {
                Ok(()) => None,
                Err(Tried::Gone) => Some(format!("answered {}", hyper::StatusCode::GONE)),
                Err(Tried::Failed(p)) => Some(p),
            };
            let outcome = match problem {
                None => Attempt::Made,
                Some(p) if attempt < self.tries => Attempt::Again(p),
                Some(p) => Attempt::GaveUp(p),
            };
            seen(&outcome, wait);
            match outcome {
                Attempt::Made => return true,
                Attempt::GaveUp(_) => return false,
                Attempt::Again(_) => {
                    tokio::time::sleep(wait).await;
                    wait *= 2;
                }
            }
        }
        false
    }
}
