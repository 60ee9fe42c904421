//! Who reads each feed: what the aggregators report in their User-Agent
//! (the latest count of each, until it has not polled for 7 days), the
//! built-in hub's subscriptions, and direct readers (distinct clients a
//! day, each an address and User-Agent through a keyed hash whose key is
//! that day's, derived from a secret and never written anywhere: no
//! reader's address or User-Agent is kept). Counted in memory on the
//! request path (`Counts`), written to the database every minute
//! (`keeper`), read back from it as `Figures` for /metrics, `/stats/`
//! and `crier stats`.

use std::collections::{HashMap, HashSet};
use std::hash::Hasher;
use std::sync::Arc;

mod figures;
mod keeper;
mod page;
mod report;
mod secret;
mod store;

use crate::metrics::{AggregatorReaders, FeedReaders, ReaderMetrics};

pub use figures::{DayFigures, FeedFigures, Figures};
pub use keeper::Keeper;
pub use page::{html, json};
pub use report::{Aggregator, MAX_READERS, Report, Said, said};
pub use secret::Secret;
pub use store::read_figures;

/// How long a reported count holds after its aggregator last polled.
pub const REPORT_HOLDS: i64 = 7 * 86_400;

/// An aggregator's count of one feed's readers, and when it said so
/// (seconds since the epoch).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reported {
    pub feed: Arc<str>,
    pub aggregator: Aggregator,
    /// The aggregator's own id of the feed ('' when it sends none).
    pub feed_id: String,
    pub readers: u64,
    pub at: i64,
}

/// A direct reader of a feed on a day: its keyed hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Direct {
    /// Days since the epoch (UTC).
    pub day: i64,
    pub feed: Arc<str>,
    pub reader: u64,
}

/// What was counted since the counts were last written.
#[derive(Debug, Default)]
pub struct Pending {
    pub reports: Vec<Reported>,
    pub direct: Vec<Direct>,
}

impl Pending {
    pub fn is_empty(&self) -> bool {
        self.reports.is_empty() && self.direct.is_empty()
    }
}

/// The direct readers seen today, by feed: their keyed hashes.
struct Day {
    number: i64,
    key: (u64, u64),
    seen: HashMap<Arc<str>, HashSet<u64>>,
}

/// The counts of one process since they were last written, and the
/// day's readers already seen (so that each is written once).
pub struct Counts {
    secret: Secret,
    reports: HashMap<(Arc<str>, Aggregator, String), Reported>,
    today: Day,
    fresh: Vec<Direct>,
}

/// What a fetch was to the counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fetched {
    /// An aggregator's count of its readers.
    Report,
    /// A count that was not a number or claimed too many: ignored.
    Bad,
    /// A reader of its own.
    Direct,
}

/// Days since the epoch (UTC) at `now` (seconds since it).
pub fn day_of(now: i64) -> i64 {
    now.div_euclid(86_400)
}

impl Counts {
    pub fn new(secret: Secret, now: i64) -> Counts {
        let day = day_of(now);
        Counts {
            today: Day {
                number: day,
                key: secret.day_key(day),
                seen: HashMap::new(),
            },
            secret,
            reports: HashMap::new(),
            fresh: Vec::new(),
        }
    }

    /// A fetch of `feed` (its path, answered 200 or 304) by `client`
    /// (its address) with `agent`: what it was. A plain reader's costs
    /// no allocation once it has been seen that day.
    pub fn fetched(&mut self, feed: &str, client: &[u8], agent: &str, now: i64) -> Fetched {
        match said(agent) {
            Said::Report(r) => {
                let feed_id = r.feed_id.unwrap_or_default();
                let key: (Arc<str>, _, _) = (Arc::from(feed), r.aggregator, feed_id.clone());
                let reported = Reported {
                    feed: key.0.clone(),
                    aggregator: r.aggregator,
                    feed_id,
                    readers: r.readers,
                    at: now,
                };
                self.reports.insert(key, reported);
                Fetched::Report
            }
            Said::Bad => Fetched::Bad,
            Said::Nothing => {
                self.direct(feed, client, agent, now);
                Fetched::Direct
            }
        }
    }

    fn direct(&mut self, feed: &str, client: &[u8], agent: &str, now: i64) {
        self.roll(now);
        let (k0, k1) = self.today.key;
        let mut h = siphasher::sip::SipHasher13::new_with_keys(k0, k1);
        h.write(client);
        h.write_u8(0);
        h.write(agent.as_bytes());
        let reader = h.finish();
        let new = match self.today.seen.get_mut(feed) {
            Some(set) => set.insert(reader),
            None => {
                let set = HashSet::from([reader]);
                self.today.seen.insert(Arc::from(feed), set);
                true
            }
        };
        if new {
            let name = match self.today.seen.get_key_value(feed) {
                Some((name, _)) => name.clone(),
                None => Arc::from(feed),
            };
            self.fresh.push(Direct {
                day: self.today.number,
                feed: name,
                reader,
            });
        }
    }

    /// A new day: a new key, and no reader seen yet (what yesterday's
    /// were is in the database).
    fn roll(&mut self, now: i64) {
        let day = day_of(now);
        if day != self.today.number {
            self.today = Day {
                number: day,
                key: self.secret.day_key(day),
                seen: HashMap::new(),
            };
        }
    }

    /// What was counted since the last call, to be written.
    pub fn take(&mut self) -> Pending {
        Pending {
            reports: self.reports.drain().map(|(_, r)| r).collect(),
            direct: std::mem::take(&mut self.fresh),
        }
    }

    /// Counts that could not be written, kept for the next try (a report
    /// made since stands over an older one of the same feed).
    pub fn restore(&mut self, pending: Pending) {
        for r in pending.reports {
            let key = (r.feed.clone(), r.aggregator, r.feed_id.clone());
            self.reports.entry(key).or_insert(r);
        }
        let mut direct = pending.direct;
        direct.append(&mut self.fresh);
        self.fresh = direct;
    }
}

/// The counts of a running server: taken on the request path under a
/// lock held for a hash and an insert (never across an await); and the
/// figures last read from the database, for /metrics.
pub struct Readers {
    counts: std::sync::Mutex<Counts>,
    /// False with `--no-reader-counts`: nothing is counted.
    on: bool,
    figures: std::sync::Mutex<Arc<Figures>>,
}

impl Default for Readers {
    fn default() -> Self {
        Readers::new(false, Secret::from_setting(""))
    }
}

pub(crate) fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn locked<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Counting cannot leave the counts half-changed.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Readers {
    /// Counts that count (with day keys from `secret`), or (`on` false)
    /// count nothing.
    pub fn new(on: bool, secret: Secret) -> Readers {
        Readers {
            counts: std::sync::Mutex::new(Counts::new(secret, now())),
            on,
            figures: std::sync::Mutex::new(Arc::new(Figures::default())),
        }
    }

    pub fn is_on(&self) -> bool {
        self.on
    }

    /// A feed at `feed` (its path) answered 200 or 304 to `client`.
    pub fn fetched(
        &self,
        feed: &str,
        client: std::net::IpAddr,
        agent: &str,
        metrics: &ReaderMetrics,
    ) {
        if !self.on {
            return;
        }
        let address = match client {
            std::net::IpAddr::V4(a) => a.to_ipv6_mapped().octets(),
            std::net::IpAddr::V6(a) => a.octets(),
        };
        if locked(&self.counts).fetched(feed, &address, agent, now()) == Fetched::Bad {
            metrics.bad_reports.inc();
        }
    }

    /// What was counted since the last call.
    pub fn take(&self) -> Pending {
        locked(&self.counts).take()
    }

    /// Counts that could not be written, back for the next try.
    pub fn restore(&self, pending: Pending) {
        locked(&self.counts).restore(pending);
    }

    /// The figures last read from the database.
    pub fn figures(&self) -> Arc<Figures> {
        locked(&self.figures).clone()
    }

    pub fn set_figures(&self, figures: Figures) {
        *locked(&self.figures) = Arc::new(figures);
    }

    /// Sets the readers' gauges to the figures last read from the
    /// database (a feed or aggregator whose readers are gone shows none).
    pub fn publish(&self, metrics: &ReaderMetrics) {
        let figures = self.figures();
        metrics.feed.clear();
        metrics.aggregator.clear();
        let mut aggregators: HashMap<Aggregator, u64> = HashMap::new();
        for f in &figures.feeds {
            let reported = f.reported.values().sum::<u64>();
            for (source, n) in [("reported", reported), ("hub", f.hub), ("direct", f.direct)] {
                if n > 0 {
                    let labels = FeedReaders {
                        feed: f.feed.clone(),
                        source,
                    };
                    metrics.feed.get_or_create(&labels).set(n as i64);
                }
            }
            for (name, n) in &f.reported {
                if let Some(a) = Aggregator::named(name) {
                    *aggregators.entry(a).or_default() += n;
                }
            }
        }
        for (aggregator, n) in aggregators {
            let labels = AggregatorReaders {
                aggregator: aggregator.as_str(),
            };
            metrics.aggregator.get_or_create(&labels).set(n as i64);
        }
    }
}

/// The hub's subscriptions (by topic, a feed's public URL) by feed path
/// (decoded, as the other counts name feeds).
pub fn hub_counts(
    by_topic: std::collections::BTreeMap<String, u64>,
    base_url: &str,
) -> HashMap<Arc<str>, u64> {
    let mut out = HashMap::new();
    for (topic, n) in by_topic {
        let Some(rest) = topic.strip_prefix(base_url) else {
            continue;
        };
        let path = format!(
            "/{}",
            percent_encoding::percent_decode_str(rest).decode_utf8_lossy()
        );
        *out.entry(Arc::from(path)).or_default() += n;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400;
    const FEEDLY: &str = "Feedly/1.0 (+http://www.feedly.com/fetcher.html; 462 subscribers; )";

    fn counts(now: i64) -> Counts {
        Counts::new(Secret::from_setting("test"), now)
    }

    #[test]
    fn the_latest_report_of_each_aggregator_and_feed_id_is_kept() {
        let feed = "/xiaodian/rss.xml";
        let t0 = 100 * DAY + 3_600;
        let mut c = counts(t0);
        c.fetched(feed, b"1.2.3.4", FEEDLY, t0);
        c.fetched(
            feed,
            b"1.2.3.5",
            "Feedly/1.0 (poller; 131 subscribers;)",
            t0 + 10,
        );
        c.fetched(feed, b"9.9.9.9", "Feedbin feed-id:1 - 4 subscribers", t0);
        c.fetched(feed, b"9.9.9.9", "Feedbin feed-id:2 - 6 subscribers", t0);
        let bad = c.fetched(feed, b"1.2.3.4", "Feedly/1.0 (lots of subscribers)", t0);
        assert_eq!(bad, Fetched::Bad);
        let mut p = c.take();
        p.reports
            .sort_by_key(|r| (r.aggregator.as_str(), r.feed_id.clone()));
        let got: Vec<_> = p
            .reports
            .iter()
            .map(|r| (r.aggregator.as_str(), r.feed_id.as_str(), r.readers))
            .collect();
        assert_eq!(
            got,
            [
                ("feedbin", "1", 4),
                ("feedbin", "2", 6),
                ("feedly", "", 131)
            ]
        );
        assert!(p.direct.is_empty(), "aggregators are not direct readers");
        assert!(c.take().is_empty(), "taken once");
    }

    #[test]
    fn a_direct_reader_is_written_once_a_day() {
        let (feed, other) = ("/rss.xml", "/yingze/atom.xml");
        let t0 = 200 * DAY + 60;
        let mut c = counts(t0);
        for i in 0..50u32 {
            c.fetched(feed, &i.to_be_bytes(), "newsboat/2.36", t0 + i64::from(i));
            c.fetched(feed, &i.to_be_bytes(), "newsboat/2.36", t0 + 1_000);
        }
        c.fetched(feed, &1u32.to_be_bytes(), "NetNewsWire", t0);
        c.fetched(other, &1u32.to_be_bytes(), "NetNewsWire", t0);
        let p = c.take();
        assert_eq!(p.direct.iter().filter(|d| &*d.feed == feed).count(), 51);
        assert_eq!(p.direct.len(), 52);
        c.fetched(feed, &7u32.to_be_bytes(), "newsboat/2.36", t0 + 2_000);
        assert!(c.take().is_empty(), "seen today already");
        // The next day the same reader is new again, under another key.
        c.fetched(feed, &7u32.to_be_bytes(), "newsboat/2.36", t0 + DAY);
        let next = c.take();
        assert_eq!(next.direct.len(), 1);
        assert_eq!(next.direct[0].day, 201);
        let same_day: Vec<_> = p.direct.iter().map(|d| d.reader).collect();
        assert!(!same_day.contains(&next.direct[0].reader));
    }

    #[test]
    fn two_processes_with_one_secret_hash_a_reader_alike() {
        let t0 = 300 * DAY;
        let (mut a, mut b) = (counts(t0), counts(t0 + 500));
        a.fetched("/rss.xml", b"10.0.0.1", "newsboat", t0);
        b.fetched("/rss.xml", b"10.0.0.1", "newsboat", t0 + 500);
        assert_eq!(a.take().direct, b.take().direct);
        let mut c = Counts::new(Secret::from_setting("another"), t0);
        c.fetched("/rss.xml", b"10.0.0.1", "newsboat", t0);
        let mut a2 = counts(t0);
        a2.fetched("/rss.xml", b"10.0.0.1", "newsboat", t0);
        assert_ne!(c.take().direct, a2.take().direct);
    }

    #[test]
    fn counts_not_written_are_kept_for_the_next_try() {
        let t0 = 400 * DAY;
        let mut c = counts(t0);
        c.fetched("/rss.xml", b"1", "newsboat", t0);
        c.fetched("/rss.xml", b"2", "Feedbin feed-id:1 - 4 subscribers", t0);
        let failed = c.take();
        c.fetched("/rss.xml", b"3", "newsboat", t0 + 60);
        c.fetched(
            "/rss.xml",
            b"2",
            "Feedbin feed-id:1 - 5 subscribers",
            t0 + 60,
        );
        c.restore(failed);
        let p = c.take();
        assert_eq!(p.direct.len(), 2);
        assert_eq!(p.reports.len(), 1);
        assert_eq!(p.reports[0].readers, 5, "the newer report stands");
    }
}
