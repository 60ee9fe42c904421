//! What an aggregator says of a feed's readers in its User-Agent: the
//! large ones poll once for all their users and say how many they are
//! (`Feedly/1.0 (+http://www.feedly.com/fetcher.html; 462 subscribers; )`).

/// The aggregators counted by name: a bounded label set for /metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Aggregator {
    Feedly,
    Inoreader,
    NewsBlur,
    Feedbin,
    TheOldReader,
    BazQux,
    Other,
}

impl Aggregator {
    pub const ALL: [Aggregator; 7] = [
        Aggregator::Feedly,
        Aggregator::Inoreader,
        Aggregator::NewsBlur,
        Aggregator::Feedbin,
        Aggregator::TheOldReader,
        Aggregator::BazQux,
        Aggregator::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Aggregator::Feedly => "feedly",
            Aggregator::Inoreader => "inoreader",
            Aggregator::NewsBlur => "newsblur",
            Aggregator::Feedbin => "feedbin",
            Aggregator::TheOldReader => "theoldreader",
            Aggregator::BazQux => "bazqux",
            Aggregator::Other => "other",
        }
    }

    /// The aggregator of a name `as_str` gives.
    pub fn named(name: &str) -> Option<Aggregator> {
        Aggregator::ALL.into_iter().find(|a| a.as_str() == name)
    }

    /// The aggregator a User-Agent names (its name anywhere in it, any
    /// case), else `Other`.
    fn of(agent: &str) -> Aggregator {
        let lower = agent.to_ascii_lowercase();
        Aggregator::ALL
            .into_iter()
            .find(|a| *a != Aggregator::Other && lower.contains(a.as_str()))
            .unwrap_or(Aggregator::Other)
    }
}

/// The most readers one report may claim: more is not believed.
pub const MAX_READERS: u64 = 10_000_000;

/// A count of readers an aggregator reported for a feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub aggregator: Aggregator,
    /// The aggregator's own id of the feed, when it sends one: two of its
    /// feeds (say, with and without `www.`) are counted apart.
    pub feed_id: Option<String>,
    pub readers: u64,
}

/// What a User-Agent says of readers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Said {
    /// Nothing: a plain reader, a browser, a crawler.
    Nothing,
    Report(Report),
    /// A count that is not a number, or more than [`MAX_READERS`]:
    /// ignored, and counted as a bad report.
    Bad,
}

/// Reads a User-Agent: `N subscriber(s)` or `N readers`, the number
/// just before the word, in ASCII digits. The first such count is the
/// report.
pub fn said(agent: &str) -> Said {
    // The common case, a plain reader, costs one scan and no allocation.
    let lower_has = |word: &str| {
        agent
            .as_bytes()
            .windows(word.len())
            .position(|w| w.eq_ignore_ascii_case(word.as_bytes()))
    };
    let at = [lower_has("subscriber"), lower_has("reader")]
        .into_iter()
        .flatten()
        .filter(|&i| is_counted_word(agent, i))
        .min();
    let Some(at) = at else {
        return Said::Nothing;
    };
    let before = agent[..at].trim_end();
    let digits = before.len() - before.trim_end_matches(|c: char| c.is_ascii_digit()).len();
    let number = &before[before.len() - digits..];
    match number.parse::<u64>() {
        Ok(readers) if digits > 0 && readers <= MAX_READERS => Said::Report(Report {
            aggregator: Aggregator::of(agent),
            feed_id: feed_id(agent),
            readers,
        }),
        _ => Said::Bad,
    }
}

/// Whether the word at `i` is a count's word, `subscriber(s)` or
/// `readers`, standing alone after a space or a digit (not
/// `inoreader.com`, nor the `RSS Reader` of a reader's own name).
fn is_counted_word(agent: &str, i: usize) -> bool {
    let prev = agent[..i].chars().next_back();
    let after_space_or_digit = prev.is_some_and(|c| c == ' ' || c.is_ascii_digit());
    let rest = &agent[i..];
    let word_len = rest
        .find(|c: char| !c.is_ascii_alphabetic())
        .unwrap_or(rest.len());
    let word = rest[..word_len].to_ascii_lowercase();
    after_space_or_digit && ["subscriber", "subscribers", "readers"].contains(&word.as_str())
}

/// The aggregator's id of the feed: `feed-id:1373711` (Feedbin),
/// `feed-id=5f3c…` (The Old Reader), `/site/1234/` (NewsBlur).
fn feed_id(agent: &str) -> Option<String> {
    let after = |marker: &str| {
        let i = agent.find(marker)? + marker.len();
        let rest = &agent[i..];
        let end = rest
            .find(|c: char| !c.is_ascii_alphanumeric() && c != '-' && c != '_')
            .unwrap_or(rest.len());
        (end > 0).then(|| rest[..end].to_string())
    };
    after("feed-id:")
        .or_else(|| after("feed-id="))
        .or_else(|| after("/site/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    type Seen = (Aggregator, Option<&'static str>, u64);

    fn report(agent: &str) -> Seen {
        match said(agent) {
            Said::Report(r) => (r.aggregator, r.feed_id.map(|s| &*s.leak()), r.readers),
            other => panic!("{agent}: {other:?}"),
        }
    }

    #[test]
    fn the_aggregators_own_formats() {
        use Aggregator::*;
        let cases: &[(&str, Seen)] = &[
            (
                "Feedly/1.0 (+http://www.feedly.com/fetcher.html; 462 subscribers; )",
                (Feedly, None, 462),
            ),
            ("Feedly/1.0 (poller; 131 subscribers;)", (Feedly, None, 131)),
            (
                "Feedly/1.0 (+http://www.feedly.com/fetcher.html; 1 subscriber; )",
                (Feedly, None, 1),
            ),
            (
                "Mozilla/5.0 (compatible; inoreader.com; 114 subscribers)",
                (Inoreader, None, 114),
            ),
            (
                "NewsBlur Feed Fetcher - 12 subscribers - https://www.newsblur.com/site/1234/name (Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36)",
                (NewsBlur, Some("1234"), 12),
            ),
            (
                "NewsBlur Feed Fetcher - 1 subscriber - https://www.newsblur.com/site/77/x",
                (NewsBlur, Some("77"), 1),
            ),
            (
                "Feedbin feed-id:1373711 - 4 subscribers",
                (Feedbin, Some("1373711"), 4),
            ),
            (
                "Mozilla/5.0 (compatible; theoldreader.com; 1 subscribers; feed-id=5f3c9a0b1c2d)",
                (TheOldReader, Some("5f3c9a0b1c2d"), 1),
            ),
            (
                "Mozilla/5.0 (compatible; BazQux/2.4; +https://bazqux.com/fetcher; 1 subscribers)",
                (BazQux, None, 1),
            ),
            (
                "Dreamwidth Studios (http://www.dreamwidth.org/; 2 readers)",
                (Other, None, 2),
            ),
        ];
        for (agent, want) in cases {
            assert_eq!(report(agent), *want, "{agent}");
        }
    }

    #[test]
    fn plain_readers_say_nothing_and_odd_counts_are_bad() {
        for agent in [
            "",
            "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0",
            "newsboat/2.36",
            "Mozilla/5.0 (compatible; inoreader.com)",
            "NetNewsWire (RSS Reader; https://netnewswire.com/)",
            "Thunderbird feed reader",
        ] {
            assert_eq!(said(agent), Said::Nothing, "{agent}");
        }
        for agent in [
            "Feedly/1.0 (many subscribers)",
            "Feedly/1.0 (99999999999 subscribers)",
            "Feedly/1.0 (10000001 subscribers)",
            "Feedly/1.0 (99999999999999999999999 subscribers)",
            "Feedly/1.0 (１２ subscribers)",
            "Feedly/1.0 (; subscribers)",
        ] {
            assert_eq!(said(agent), Said::Bad, "{agent}");
        }
        assert_eq!(report("Feedly/1.0 (10000000 subscribers)").2, MAX_READERS);
        // Two numbers: the first count is the report.
        assert_eq!(report("Feedly/1.0 (3 subscribers; 5 subscribers)").2, 3);
        assert_eq!(report("Fetcher 2.0; 7 SUBSCRIBERS").2, 7);
        assert_eq!(report("Lecteur «flux» – 8 readers ✓").0, Aggregator::Other);
    }
}
