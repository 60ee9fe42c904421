//! Who reads each feed, counted in memory as requests come: what the
//! aggregators report in their User-Agent (the latest count of each,
//! until it has not polled for 7 days) and direct readers (distinct
//! clients a day, each an address and User-Agent through a keyed hash
//! whose key is made afresh each day and never written anywhere: no
//! reader's address or User-Agent is kept).

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasher, Hasher};
use std::sync::Arc;

mod report;

use crate::metrics::{AggregatorReaders, FeedReaders, ReaderMetrics};

pub use report::{Aggregator, MAX_READERS, Report, Said, said};

/// How long a reported count holds after its aggregator last polled.
pub const REPORT_HOLDS: i64 = 7 * 86_400;

/// A reported count, and when it was last seen (seconds since the epoch).
#[derive(Debug, Clone, Copy)]
struct Seen {
    readers: u64,
    at: i64,
}

/// The direct readers of one day, by feed: their keyed hashes.
struct Day {
    /// Days since the epoch (UTC).
    number: i64,
    key: std::collections::hash_map::RandomState,
    seen: HashMap<Arc<str>, HashSet<u64>>,
}

impl Day {
    fn new(number: i64) -> Day {
        Day {
            number,
            // A fresh key: yesterday's hashes cannot be matched with today's.
            key: std::collections::hash_map::RandomState::new(),
            seen: HashMap::new(),
        }
    }

    fn counts(&self) -> HashMap<Arc<str>, u64> {
        self.seen
            .iter()
            .map(|(feed, set)| (feed.clone(), set.len() as u64))
            .collect()
    }
}

/// The counts of every feed. The caller gives the time, so that tests
/// can move it.
pub struct Counts {
    reported: HashMap<(Arc<str>, Aggregator, Option<String>), Seen>,
    today: Day,
    /// Yesterday's direct readers per feed, whole.
    yesterday: HashMap<Arc<str>, u64>,
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

fn day_of(now: i64) -> i64 {
    now.div_euclid(86_400)
}

impl Counts {
    pub fn new(now: i64) -> Counts {
        Counts {
            reported: HashMap::new(),
            today: Day::new(day_of(now)),
            yesterday: HashMap::new(),
        }
    }

    /// A fetch of `feed` (its path, answered 200 or 304) by `client`
    /// (its address) with `agent`: what it was. A plain reader's costs
    /// no allocation once its feed has been seen that day.
    pub fn fetched(&mut self, feed: &str, client: &[u8], agent: &str, now: i64) -> Fetched {
        match said(agent) {
            Said::Report(r) => {
                let seen = Seen {
                    readers: r.readers,
                    at: now,
                };
                self.reported
                    .insert((Arc::from(feed), r.aggregator, r.feed_id), seen);
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
        let mut h = self.today.key.build_hasher();
        h.write(client);
        h.write_u8(0);
        h.write(agent.as_bytes());
        let reader = h.finish();
        match self.today.seen.get_mut(feed) {
            Some(set) => {
                set.insert(reader);
            }
            None => {
                self.today
                    .seen
                    .insert(Arc::from(feed), HashSet::from([reader]));
            }
        }
    }

    /// A new day: yesterday's readers are kept as a count, the key that
    /// hashed them is dropped.
    fn roll(&mut self, now: i64) {
        let day = day_of(now);
        if day == self.today.number {
            return;
        }
        let old = std::mem::replace(&mut self.today, Day::new(day));
        self.yesterday = if old.number == day - 1 {
            old.counts()
        } else {
            HashMap::new()
        };
    }

    /// Reported readers per feed: the latest count of each aggregator
    /// (and its feed id) that polled in the last 7 days, summed.
    pub fn reported(&self, now: i64) -> HashMap<Arc<str>, u64> {
        let mut out = HashMap::new();
        for ((feed, _, _), seen) in self.live_reports(now) {
            *out.entry(feed.clone()).or_default() += seen.readers;
        }
        out
    }

    /// Reported readers per aggregator, over every feed.
    pub fn by_aggregator(&self, now: i64) -> HashMap<Aggregator, u64> {
        let mut out = HashMap::new();
        for ((_, aggregator, _), seen) in self.live_reports(now) {
            *out.entry(*aggregator).or_default() += seen.readers;
        }
        out
    }

    fn live_reports(
        &self,
        now: i64,
    ) -> impl Iterator<Item = (&(Arc<str>, Aggregator, Option<String>), &Seen)> {
        self.reported
            .iter()
            .filter(move |(_, s)| now - s.at < REPORT_HOLDS)
    }

    /// Direct readers per feed: the distinct clients of today so far or of
    /// yesterday, whichever are more (a day's key hashes only that day's
    /// readers, so the two days cannot be joined).
    pub fn direct_readers(&mut self, now: i64) -> HashMap<Arc<str>, u64> {
        self.roll(now);
        let mut out = self.yesterday.clone();
        for (feed, n) in self.today.counts() {
            let e = out.entry(feed).or_default();
            *e = (*e).max(n);
        }
        out
    }

    /// Drops reports older than 7 days (they no longer count).
    pub fn expire(&mut self, now: i64) {
        self.reported.retain(|_, s| now - s.at < REPORT_HOLDS);
    }
}

/// What the built-in hub tells of its subscribers: its active
/// subscriptions by topic (a feed's public URL).
pub trait Subscriptions: Send + Sync {
    fn by_topic(&self) -> std::collections::BTreeMap<String, u64>;
}

/// The counts of a running server: taken on the request path under a
/// lock held for a hash and an insert (never across an await), and
/// published to /metrics when it is read.
pub struct Readers {
    counts: std::sync::Mutex<Counts>,
    /// False with `--no-reader-counts`: nothing is counted.
    on: bool,
}

impl Default for Readers {
    fn default() -> Self {
        Readers::new(true)
    }
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

impl Readers {
    /// Counts that count, or (`on` false) count nothing.
    pub fn new(on: bool) -> Readers {
        Readers {
            counts: std::sync::Mutex::new(Counts::new(now())),
            on,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Counts> {
        // Counting cannot leave the counts half-changed.
        self.counts.lock().unwrap_or_else(|e| e.into_inner())
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
        if self.lock().fetched(feed, &address, agent, now()) == Fetched::Bad {
            metrics.bad_reports.inc();
        }
    }

    /// Sets the readers' gauges to the counts now (a feed or aggregator
    /// whose readers are gone shows none), with the subscriptions of the
    /// built-in hub (`hub`, topics under `base_url`).
    pub fn publish(&self, metrics: &ReaderMetrics, hub: Option<(&dyn Subscriptions, &str)>) {
        let now = now();
        let mut counts = self.lock();
        counts.expire(now);
        let (reported, direct) = (counts.reported(now), counts.direct_readers(now));
        let aggregators = counts.by_aggregator(now);
        drop(counts);
        let subscribed: HashMap<Arc<str>, u64> = hub
            .map(|(hub, base_url)| hub_counts(hub, base_url))
            .unwrap_or_default();
        metrics.feed.clear();
        let sources = [
            ("reported", reported),
            ("hub", subscribed),
            ("direct", direct),
        ];
        for (source, figures) in sources {
            for (feed, n) in figures {
                let labels = FeedReaders {
                    feed: feed.to_string(),
                    source,
                };
                metrics.feed.get_or_create(&labels).set(n as i64);
            }
        }
        metrics.aggregator.clear();
        for (aggregator, n) in aggregators {
            let labels = AggregatorReaders {
                aggregator: aggregator.as_str(),
            };
            metrics.aggregator.get_or_create(&labels).set(n as i64);
        }
    }
}

/// The hub's subscriptions by feed path (decoded, as the other counts
/// name feeds): a topic is the feed's public URL.
fn hub_counts(hub: &dyn Subscriptions, base_url: &str) -> HashMap<Arc<str>, u64> {
    let mut out = HashMap::new();
    for (topic, n) in hub.by_topic() {
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

    #[test]
    fn a_report_holds_until_its_aggregator_has_not_polled_for_a_week() {
        let feed = "/xiaodian/rss.xml";
        let t0 = 100 * DAY + 3_600;
        let mut c = Counts::new(t0);
        c.fetched(feed, b"1.2.3.4", FEEDLY, t0);
        c.fetched(
            feed,
            b"1.2.3.5",
            "Feedly/1.0 (poller; 131 subscribers;)",
            t0 + 10,
        );
        assert_eq!(c.reported(t0 + 20)[feed], 131, "the latest count of Feedly");
        c.fetched(feed, b"9.9.9.9", "Feedbin feed-id:1 - 4 subscribers", t0);
        c.fetched(feed, b"9.9.9.9", "Feedbin feed-id:2 - 6 subscribers", t0);
        assert_eq!(
            c.reported(t0 + 20)[feed],
            141,
            "Feedbin's two feed ids apart"
        );
        assert_eq!(c.by_aggregator(t0 + 20)[&Aggregator::Feedbin], 10);
        assert!(
            c.direct_readers(t0 + 20).is_empty(),
            "aggregators are not direct readers"
        );
        assert_eq!(c.reported(t0 + 10 + REPORT_HOLDS - 1)[feed], 131);
        assert!(c.reported(t0 + 10 + REPORT_HOLDS).is_empty());
        let bad = c.fetched(feed, b"1.2.3.4", "Feedly/1.0 (lots of subscribers)", t0);
        assert_eq!(bad, Fetched::Bad);
        assert_eq!(
            c.reported(t0 + 20)[feed],
            141,
            "a bad report changes nothing"
        );
    }

    #[test]
    fn direct_readers_are_distinct_clients_of_a_day() {
        let (feed, other) = ("/rss.xml", "/yingze/atom.xml");
        let t0 = 200 * DAY + 60;
        let mut c = Counts::new(t0);
        for i in 0..50u32 {
            c.fetched(feed, &i.to_be_bytes(), "newsboat/2.36", t0 + i64::from(i));
            c.fetched(feed, &i.to_be_bytes(), "newsboat/2.36", t0 + 1_000);
        }
        c.fetched(feed, &1u32.to_be_bytes(), "NetNewsWire", t0);
        c.fetched(other, &1u32.to_be_bytes(), "NetNewsWire", t0);
        let now = c.direct_readers(t0 + 2_000);
        assert_eq!(now[feed], 51, "an address with two readers is two");
        assert_eq!(now[other], 1);
        // The next day: yesterday's 51 stand until today's are more.
        let t1 = t0 + DAY;
        c.fetched(feed, &7u32.to_be_bytes(), "newsboat/2.36", t1);
        assert_eq!(c.direct_readers(t1)[feed], 51);
        // Two days on, nothing is left of them.
        assert!(c.direct_readers(t1 + 2 * DAY).is_empty());
    }
}
