//! The figures an editor reads, made from the daily rows: each feed's
//! readers now by source (reported by aggregator, hub, direct), its
//! total, the change over 7 and 30 days, and its 90 days. Pure: the
//! rows come from the database (`store`), the figures go to /metrics,
//! `/stats/` and `crier stats`.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

/// One row of `reader_days`.
#[derive(Debug, Clone)]
pub struct DayRow {
    pub day: i64,
    pub feed: String,
    pub source: String,
    pub aggregator: String,
    pub readers: i64,
}

/// Days a chart shows.
pub const CHART_DAYS: i64 = 90;

/// A replica that wrote its counts this recently counts now.
const REPLICA_FRESH: i64 = 180;

#[derive(Debug, Default, Serialize)]
pub struct Figures {
    /// The latest day with figures (days since 1970-01-01).
    #[serde(skip)]
    pub day: Option<i64>,
    /// The latest day with figures (YYYY-MM-DD, UTC).
    pub date: Option<String>,
    /// When counts were last written (RFC 3339).
    pub written_at: Option<String>,
    /// The servers that wrote counts in the last 3 minutes.
    pub replicas: usize,
    /// Most read first.
    pub feeds: Vec<FeedFigures>,
}

#[derive(Debug, Clone, Serialize)]
pub struct FeedFigures {
    pub feed: String,
    /// By aggregator.
    pub reported: BTreeMap<String, u64>,
    pub hub: u64,
    /// Distinct clients today so far or yesterday, whichever are more.
    pub direct: u64,
    pub total: u64,
    /// The total now less the total 7 (30) days before, when there are
    /// figures of that day.
    pub change_7_days: Option<i64>,
    pub change_30_days: Option<i64>,
    /// The days with figures of the last 90, oldest first.
    pub daily: Vec<DayFigures>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DayFigures {
    #[serde(skip)]
    pub day: i64,
    pub date: String,
    pub reported: u64,
    pub hub: u64,
    pub direct: u64,
    pub total: u64,
}

/// One feed's figures of one day.
#[derive(Debug, Default, Clone)]
struct Tally {
    reported: BTreeMap<String, u64>,
    hub: u64,
    direct: u64,
}

impl Tally {
    fn total(&self) -> u64 {
        self.reported.values().sum::<u64>() + self.hub + self.direct
    }
}

/// A day number (since 1970-01-01) as YYYY-MM-DD.
pub fn date(day: i64) -> String {
    let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default();
    epoch
        .checked_add_signed(chrono::TimeDelta::days(day))
        .map_or_else(|| day.to_string(), |d| d.to_string())
}

impl Figures {
    pub fn from_rows(rows: Vec<DayRow>, flushed: &[i64], now: i64) -> Figures {
        let mut feeds: HashMap<String, BTreeMap<i64, Tally>> = HashMap::new();
        let mut latest = None;
        for row in rows {
            latest = latest.max(Some(row.day));
            let tally = feeds
                .entry(row.feed)
                .or_default()
                .entry(row.day)
                .or_default();
            let n = row.readers.max(0) as u64;
            match row.source.as_str() {
                "reported" => *tally.reported.entry(row.aggregator).or_default() += n,
                "hub" => tally.hub += n,
                "direct" => tally.direct += n,
                _ => {}
            }
        }
        let written = flushed.iter().max().copied();
        // Now is the day of the last write (a day with none counted has
        // no rows), or the last day with figures.
        let latest = latest.max(written.map(super::day_of));
        let mut figures = Figures {
            day: latest,
            date: latest.map(date),
            written_at: written
                .and_then(|t| chrono::DateTime::from_timestamp(t, 0).map(|t| t.to_rfc3339())),
            replicas: flushed.iter().filter(|t| now - **t < REPLICA_FRESH).count(),
            feeds: Vec::new(),
        };
        let Some(day) = latest else {
            return figures;
        };
        for (feed, days) in feeds {
            figures.feeds.push(feed_figures(feed, &days, day));
        }
        figures
            .feeds
            .sort_by(|a, b| b.total.cmp(&a.total).then_with(|| a.feed.cmp(&b.feed)));
        figures
    }

    /// The figures as a table for a terminal.
    pub fn table(&self) -> String {
        let Some(date) = &self.date else {
            return "no figures yet: `crier serve` writes them every minute\n".into();
        };
        let mut rows = vec![[
            "feed".to_string(),
            "reported".into(),
            "hub".into(),
            "direct".into(),
            "total".into(),
            "7 days".into(),
            "30 days".into(),
        ]];
        for f in &self.feeds {
            rows.push([
                f.feed.clone(),
                reported_text(&f.reported),
                f.hub.to_string(),
                f.direct.to_string(),
                f.total.to_string(),
                change_text(f.change_7_days),
                change_text(f.change_30_days),
            ]);
        }
        let widths: Vec<usize> = (0..7)
            .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
            .collect();
        let mut out = String::new();
        for row in &rows {
            let cells: Vec<String> = row
                .iter()
                .zip(&widths)
                .enumerate()
                .map(|(c, (cell, w))| {
                    let pad = " ".repeat(w - cell.chars().count());
                    if c < 2 {
                        format!("{cell}{pad}")
                    } else {
                        format!("{pad}{cell}")
                    }
                })
                .collect();
            out.push_str(cells.join("  ").trim_end());
            out.push('\n');
        }
        out.push_str(&format!(
            "\nas of {date} (UTC); last written {}; {} server(s) counting now\n",
            self.written_at.as_deref().unwrap_or("never"),
            self.replicas
        ));
        out
    }
}

fn feed_figures(feed: String, days: &BTreeMap<i64, Tally>, day: i64) -> FeedFigures {
    let at = |d: i64| days.get(&d).cloned();
    // Now: the latest day's, direct readers the more of it and the day before.
    let mut now = at(day).unwrap_or_default();
    now.direct = now.direct.max(at(day - 1).map_or(0, |t| t.direct));
    let total = now.total();
    let change = |back: i64| at(day - back).map(|t| total as i64 - t.total() as i64);
    let daily = days
        .range(day - CHART_DAYS + 1..=day)
        .map(|(d, t)| {
            let t = if *d == day { &now } else { t };
            DayFigures {
                day: *d,
                date: date(*d),
                reported: t.reported.values().sum(),
                hub: t.hub,
                direct: t.direct,
                total: t.total(),
            }
        })
        .collect();
    FeedFigures {
        feed,
        hub: now.hub,
        direct: now.direct,
        total,
        change_7_days: change(7),
        change_30_days: change(30),
        reported: now.reported,
        daily,
    }
}

/// `feedly 462, inoreader 114`, or `-`.
pub fn reported_text(reported: &BTreeMap<String, u64>) -> String {
    let parts: Vec<String> = reported
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(a, n)| format!("{a} {n}"))
        .collect();
    if parts.is_empty() {
        "-".into()
    } else {
        parts.join(", ")
    }
}

/// `+12`, `-3`, `0`, or `-` when there is nothing to compare with.
pub fn change_text(change: Option<i64>) -> String {
    match change {
        Some(n) if n > 0 => format!("+{n}"),
        Some(n) => n.to_string(),
        None => "-".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(day: i64, feed: &str, source: &str, aggregator: &str, readers: i64) -> DayRow {
        DayRow {
            day,
            feed: feed.into(),
            source: source.into(),
            aggregator: aggregator.into(),
            readers,
        }
    }

    #[test]
    fn a_feed_now_and_its_change() {
        let d = 20_000;
        let rows = vec![
            row(d, "/rss.xml", "reported", "feedly", 462),
            row(d, "/rss.xml", "reported", "inoreader", 114),
            row(d, "/rss.xml", "hub", "", 2),
            row(d, "/rss.xml", "direct", "", 3),
            row(d - 1, "/rss.xml", "direct", "", 51),
            row(d - 7, "/rss.xml", "reported", "feedly", 400),
            row(d - 7, "/rss.xml", "direct", "", 10),
            row(d, "/a/atom.xml", "direct", "", 1),
            row(d - 200, "/old.xml", "direct", "", 9),
        ];
        let f = Figures::from_rows(rows, &[d * 86_400 - 30, d * 86_400 - 900], d * 86_400);
        assert_eq!(f.date.as_deref(), Some("2024-10-04"));
        assert_eq!(f.replicas, 1);
        let rss = &f.feeds[0];
        assert_eq!(rss.feed, "/rss.xml");
        assert_eq!(
            rss.direct, 51,
            "yesterday's readers stand until today's are more"
        );
        assert_eq!(rss.total, 462 + 114 + 2 + 51);
        assert_eq!(rss.change_7_days, Some(629 - 410));
        assert_eq!(rss.change_30_days, None);
        assert_eq!(rss.daily.len(), 3);
        assert_eq!(rss.daily[2].total, 629);
        assert_eq!(
            f.feeds
                .iter()
                .find(|f| f.feed == "/old.xml")
                .unwrap()
                .daily
                .len(),
            0
        );
        let table = f.table();
        assert!(table.contains("feedly 462, inoreader 114"), "{table}");
        assert!(table.contains("+219"), "{table}");
    }

    #[test]
    fn no_rows_no_figures() {
        let f = Figures::from_rows(Vec::new(), &[], 0);
        assert!(f.feeds.is_empty());
        assert!(f.table().starts_with("no figures yet"));
        assert_eq!(date(0), "1970-01-01");
    }
}
