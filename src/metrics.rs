//! Prometheus metrics (text exposition via `prometheus-client`). A leaf:
//! every module may count into it, and it imports none of them.

use std::sync::atomic::AtomicU64;

use std::fmt::Write;

use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// What kind of path a request was for: a bounded label set, never the raw
/// path (which a client controls).
#[derive(Debug, Clone, Copy, Hash, PartialEq, Eq)]
pub enum Route {
    Feed,
    Archive,
    Page,
    Opml,
    /// Sitemaps and robots.txt.
    Sitemap,
    /// Photos, audio and video.
    Media,
    /// The files of `static/`.
    Static,
    Health,
    Metrics,
    /// `/stats/`: the readers' figures.
    Stats,
    WebSub,
    Redirect,
    Gone,
    NotFound,
    Other,
}

impl Route {
    pub fn as_str(self) -> &'static str {
        match self {
            Route::Feed => "feed",
            Route::Archive => "archive",
            Route::Page => "page",
            Route::Opml => "opml",
            Route::Sitemap => "sitemap",
            Route::Media => "media",
            Route::Static => "static",
            Route::Health => "healthz",
            Route::Metrics => "metrics",
            Route::Stats => "stats",
            Route::WebSub => "websub",
            Route::Redirect => "redirect",
            Route::Gone => "gone",
            Route::NotFound => "not_found",
            Route::Other => "other",
        }
    }
}

impl EncodeLabelValue for Route {
    fn encode(&self, encoder: &mut LabelValueEncoder<'_>) -> Result<(), std::fmt::Error> {
        encoder.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub route: Route,
    pub status: u16,
}

pub struct Metrics {
    registry: Registry,
    pub requests: Family<RequestLabels, Counter>,
    pub bytes_sent: Counter,
    pub not_modified: Counter,
    pub build_seconds: Histogram,
    pub builds: Counter,
    pub articles: Gauge,
    pub content_errors: Gauge,
    pub last_build: Gauge<f64, AtomicU64>,
    pub websub_pings: Family<PingLabels, Counter>,
    pub websub_deliveries: Family<OutcomeLabels, Counter>,
    /// The built-in hub's deliveries not yet made (every server's).
    pub websub_pending: Gauge,
    /// Seconds since the oldest of them became due.
    pub websub_oldest_pending: Gauge,
    /// Outputs that could not be rendered or compressed.
    pub build_errors: Counter,
    /// Article pages and archive documents not yet written to `feeds/`.
    pub pending_writes: Gauge,
    /// Writes to `feeds/` that failed (a full disk, a read-only folder).
    pub output_write_errors: Counter,
    /// 1 while `feeds/` cannot be written (the site is served from memory).
    pub output_failing: Gauge,
    pub readers: ReaderMetrics,
}

/// Each feed's readers (docs/readers.md): label sets bounded by the
/// site's feeds and the aggregators crier names.
pub struct ReaderMetrics {
    pub feed: Family<FeedReaders, Gauge>,
    pub aggregator: Family<AggregatorReaders, Gauge>,
    /// User-Agents whose count was not a number or too large.
    pub bad_reports: Counter,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct FeedReaders {
    /// The feed's path, as the site serves it.
    pub feed: String,
    /// `reported`, `hub` or `direct`.
    pub source: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct AggregatorReaders {
    pub aggregator: &'static str,
}

impl ReaderMetrics {
    fn new(r: &mut Registry) -> ReaderMetrics {
        ReaderMetrics {
            feed: add(
                r,
                "feed_subscribers",
                "Readers of each feed by source: reported by aggregators, the built-in hub's subscriptions, direct readers a day",
                Family::default(),
            ),
            aggregator: add(
                r,
                "aggregator_subscribers",
                "Readers the aggregators report, over every feed",
                Family::default(),
            ),
            bad_reports: add(
                r,
                "bad_reader_reports",
                "User-Agents whose reader count was not a number or over 10,000,000: ignored",
                Counter::default(),
            ),
        }
    }
}

/// What became of one try of a WebSub publish ping.
#[derive(Debug, Clone, Copy, Hash, PartialEq, Eq)]
pub enum Outcome {
    /// The hub accepted it (2xx).
    Accepted,
    /// Refused or unreachable; tried again later.
    Retried,
    /// Refused or unreachable on the last try: given up.
    Failed,
}

impl EncodeLabelValue for Outcome {
    fn encode(&self, encoder: &mut LabelValueEncoder<'_>) -> Result<(), std::fmt::Error> {
        encoder.write_str(match self {
            Outcome::Accepted => "accepted",
            Outcome::Retried => "retried",
            Outcome::Failed => "failed",
        })
    }
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PingLabels {
    pub outcome: Outcome,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabels {
    pub outcome: &'static str,
}

/// Registers `metric` under `name` and gives it back.
fn add<M: prometheus_client::registry::Metric + Clone>(
    registry: &mut Registry,
    name: &str,
    help: &str,
    metric: M,
) -> M {
    registry.register(name, help, metric.clone());
    metric
}

/// The WebSub counters, every outcome exported from the start, at 0, so
/// that a rule on `increase(...{outcome="failed"})` sees the first one.
fn websub_families(
    r: &mut Registry,
) -> (Family<PingLabels, Counter>, Family<OutcomeLabels, Counter>) {
    let websub_pings = add(
        r,
        "websub_pings",
        "Tries of WebSub publish pings to hubs, by outcome",
        Family::<PingLabels, Counter>::default(),
    );
    let websub_deliveries = add(
        r,
        "websub_deliveries",
        "Tries of the built-in hub's deliveries to subscribers, by outcome: delivered, retried (after a backoff), gone (410: unsubscribed), dropped (failing for 3 days)",
        Family::<OutcomeLabels, Counter>::default(),
    );
    for outcome in [Outcome::Accepted, Outcome::Retried, Outcome::Failed] {
        let _ = websub_pings.get_or_create(&PingLabels { outcome });
    }
    for outcome in ["delivered", "retried", "gone", "dropped"] {
        let _ = websub_deliveries.get_or_create(&OutcomeLabels { outcome });
    }
    (websub_pings, websub_deliveries)
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("crier");
        let r = &mut registry;
        let (websub_pings, websub_deliveries) = websub_families(r);
        Metrics {
            requests: add(
                r,
                "http_requests",
                "HTTP requests by route kind and status",
                Family::default(),
            ),
            bytes_sent: add(
                r,
                "http_response_body_bytes",
                "Response body bytes sent",
                Counter::default(),
            ),
            not_modified: add(
                r,
                "http_not_modified",
                "304 Not Modified responses",
                Counter::default(),
            ),
            build_seconds: add(
                r,
                "build_duration_seconds",
                "Time to read content and render the site",
                Histogram::new(exponential_buckets(0.001, 4.0, 10)),
            ),
            builds: add(r, "builds", "Site builds completed", Counter::default()),
            articles: add(
                r,
                "articles",
                "Articles in the served site",
                Gauge::default(),
            ),
            content_errors: add(
                r,
                "content_errors",
                "Article files with errors in the last build",
                Gauge::default(),
            ),
            last_build: add(
                r,
                "last_build_timestamp_seconds",
                "Unix time of the last good build",
                Gauge::<f64, AtomicU64>::default(),
            ),
            build_errors: add(
                r,
                "build_errors",
                "Outputs that could not be rendered or compressed (see the log)",
                Counter::default(),
            ),
            pending_writes: add(
                r,
                "pending_writes",
                "Article pages and archive documents not yet written to the output folder",
                Gauge::default(),
            ),
            output_write_errors: add(
                r,
                "output_write_errors",
                "Writes to the output folder that failed: a full disk or a folder that cannot be written (see the log)",
                Counter::default(),
            ),
            output_failing: add(
                r,
                "output_failing",
                "1 while the output folder cannot be written: the site is served from memory and the folder completed at the next change",
                Gauge::default(),
            ),
            websub_pings,
            websub_deliveries,
            websub_pending: add(
                r,
                "websub_pending_deliveries",
                "The built-in hub's deliveries not yet made",
                Gauge::default(),
            ),
            websub_oldest_pending: add(
                r,
                "websub_oldest_pending_seconds",
                "Seconds since the built-in hub's oldest pending delivery became due",
                Gauge::default(),
            ),
            readers: ReaderMetrics::new(r),
            registry,
        }
    }

    /// The OpenMetrics text exposition, which Prometheus reads.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}
