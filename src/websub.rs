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

/// Tries per ping; the wait between tries doubles from `FIRST_WAIT`.
const TRIES: u32 = 6;
const FIRST_WAIT: Duration = Duration::from_secs(1);
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
        let mut wait = FIRST_WAIT;
        for attempt in 1..=TRIES {
            let request = Request::post(hub)
                .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                .header(USER_AGENT, concat!("crier/", env!("CARGO_PKG_VERSION")))
                .body(Full::new(Bytes::from(body.clone())));
            let request = match request {
                Ok(r) => r,
                Err(e) => {
                    tracing::error!(hub, "cannot make a WebSub ping to this hub: {e}");
                    return;
                }
            };
            let answer = tokio::time::timeout(TIMEOUT, self.client.request(request)).await;
            let problem = match answer {
                Ok(Ok(r)) if r.status().is_success() => None,
                Ok(Ok(r)) => Some(format!("answered {}", r.status())),
                Ok(Err(e)) => Some(format!("unreachable: {e}")),
                Err(_) => Some(format!("no answer in {}s", TIMEOUT.as_secs())),
            };
            let outcome = match &problem {
                None => Outcome::Accepted,
                Some(_) if attempt < TRIES => Outcome::Retried,
                Some(_) => Outcome::Failed,
            };
            self.metrics
                .websub_pings
                .get_or_create(&PingLabels { outcome })
                .inc();
            match (outcome, problem) {
                (Outcome::Accepted, _) => {
                    tracing::debug!(hub, feed, "hub told of a change");
                    return;
                }
                (Outcome::Retried, Some(p)) => {
                    tracing::warn!(
                        hub,
                        feed,
                        "WebSub hub {p}; trying again in {}s",
                        wait.as_secs()
                    );
                }
                (_, p) => {
                    tracing::error!(
                        hub,
                        feed,
                        "WebSub hub {}; gave up after {TRIES} tries: its subscribers learn of this change at their next poll",
                        p.unwrap_or_default()
                    );
                    return;
                }
            }
            tokio::time::sleep(wait).await;
            wait *= 2;
        }
    }
}
