//! What the library answers: articles by month, scope, topic and
//! embargo, and its files' diagnostics. Read-only.

use std::sync::Arc;

use chrono::{DateTime, FixedOffset};

use super::*;

impl Library {
    /// The articles published in `month`, oldest first.
    pub fn month(&self, month: Month) -> Vec<&Arc<Article>> {
        let tz = self.config.timezone;
        let (Some(start), Some(end)) = (month.start(tz), month.next().start(tz)) else {
            return Vec::new();
        };
        // Newest first in the map: from just before the next month on.
        let from = (
            Reverse(end - chrono::Duration::nanoseconds(1)),
            Arc::from(""),
        );
        let mut items: Vec<&Arc<Article>> = self
            .all
            .range(from..)
            .take_while(|(k, _)| k.0.0 >= start)
            .map(|(_, a)| a)
            .collect();
        items.reverse();
        items
    }

    /// Every month with articles, each with its articles oldest first.
    pub fn months(&self) -> Vec<(Month, Vec<&Arc<Article>>)> {
        let tz = self.config.timezone;
        // Each article's month found in parallel (a time zone conversion
        // each), then grouped in order.
        let oldest_first: Vec<&Arc<Article>> = self.all.values().rev().collect();
        let of: Vec<Month> = oldest_first
            .par_iter()
            .map(|a| Month::of(a.date, tz))
            .collect();
        let mut months: Vec<(Month, Vec<&Arc<Article>>)> = Vec::new();
        for (a, m) in oldest_first.into_iter().zip(of) {
            match months.last_mut() {
                Some((last, items)) if *last == m => items.push(a),
                _ => months.push((m, vec![a])),
            }
        }
        months
    }

    /// The articles published after `since`, newest first, at most `max`
    /// (what a Google News sitemap lists).
    pub fn published_since(&self, since: DateTime<FixedOffset>, max: usize) -> Vec<&Arc<Article>> {
        self.all
            .values()
            .take_while(|a| a.date > since)
            .take(max)
            .collect()
    }

    /// Whether `a` is the current reading of its file.
    pub fn is_current(&self, a: &Arc<Article>) -> bool {
        self.all.get(&key(a)).is_some_and(|x| Arc::ptr_eq(x, a))
    }

    /// Whether some current article has its page at `path`.
    pub fn has_page(&self, path: &str) -> bool {
        self.pages.contains_key(path)
    }

    /// The newest `limit` articles of a scope.
    pub fn newest<'w>(&self, which: impl Into<Which<'w>>, limit: usize) -> Vec<&Article> {
        self.scope(which.into())
            .map(|m| m.values().take(limit).map(|a| a.as_ref()).collect())
            .unwrap_or_default()
    }

    /// [`Library::newest`], shared: for outputs rendered later.
    pub fn newest_shared<'w>(
        &self,
        which: impl Into<Which<'w>>,
        limit: usize,
    ) -> Vec<&Arc<Article>> {
        self.scope(which.into())
            .map(|m| m.values().take(limit).collect())
            .unwrap_or_default()
    }

    /// The archive documents' articles of a scope (RFC 5005): every
    /// article beyond the newest `feed_limit`, oldest first, in pages of
    /// `feed_limit` (only the last one partly filled, so that adding news
    /// changes no other); newest first within a page.
    pub fn archived<'w>(&self, which: impl Into<Which<'w>>) -> Vec<Vec<&Arc<Article>>> {
        let limit = self.config.feed_limit.max(1);
        self.archived_oldest_first(which)
            .chunks(limit)
            .map(|page| page.iter().rev().copied().collect())
            .collect()
    }

    /// The same articles in one list, oldest first (documents are its
    /// chunks of `feed_limit`, each reversed).
    pub fn archived_oldest_first<'w>(&self, which: impl Into<Which<'w>>) -> Vec<&Arc<Article>> {
        let limit = self.config.feed_limit.max(1);
        let Some(map) = self.scope(which.into()) else {
            return Vec::new();
        };
        map.values()
            .rev()
            .take(map.len().saturating_sub(limit))
            .collect()
    }

    fn scope(&self, which: Which<'_>) -> Option<&BTreeMap<Key, Arc<Article>>> {
        match which {
            Which::All => Some(&self.all),
            Which::District(d) => self.by_district.get(d),
            Which::Topic(t) => self.by_topic.get(t).map(|t| &t.articles),
        }
    }

    /// How many articles of a scope are dated `since` or later (counted
    /// from the newest: few, for a change to recent news).
    pub fn count_since<'w>(
        &self,
        which: impl Into<Which<'w>>,
        since: DateTime<FixedOffset>,
    ) -> usize {
        self.scope(which.into())
            .map_or(0, |m| m.values().take_while(|a| a.date >= since).count())
    }

    /// The newest `n` archived articles of a scope (beyond the newest
    /// `feed_limit`), newest first.
    pub fn archived_newest<'w>(&self, which: impl Into<Which<'w>>, n: usize) -> Vec<&Arc<Article>> {
        let limit = self.config.feed_limit.max(1);
        self.scope(which.into())
            .map(|m| m.values().skip(limit).take(n).collect())
            .unwrap_or_default()
    }

    pub fn count<'w>(&self, which: impl Into<Which<'w>>) -> usize {
        self.scope(which.into()).map_or(0, BTreeMap::len)
    }

    /// Every topic with an article, by key.
    pub fn topics(&self) -> Vec<Topic> {
        let mut topics: Vec<Topic> = self
            .by_topic
            .par_iter()
            .filter_map(|(key, t)| t.topic(key))
            .collect();
        topics.sort_by(|a, b| a.key.cmp(&b.key));
        topics
    }

    /// The topic of `key`, if it has an article.
    pub fn topic(&self, key: &str) -> Option<Topic> {
        self.by_topic.get(key)?.topic(key)
    }

    /// Every article, newest first.
    pub fn articles(&self) -> impl Iterator<Item = &Arc<Article>> {
        self.all.values()
    }

    /// Every current problem: folders first, then files in path order.
    pub fn diagnostics(&self) -> Vec<&Diagnostic> {
        let mut files: Vec<(&Arc<Path>, &FileState)> = self
            .noted()
            .filter(|(_, s)| !s.diagnostics().is_empty())
            .collect();
        files.sort_by(|a, b| a.0.cmp(b.0));
        self.folder_problems
            .iter()
            .chain(&self.media_notes)
            .chain(files.into_iter().flat_map(|(_, s)| s.diagnostics()))
            .collect()
    }

    fn count_of(&self, severity: Severity) -> usize {
        let all = self
            .folder_problems
            .iter()
            .chain(&self.media_notes)
            .chain(self.noted().flat_map(|(_, s)| s.diagnostics()));
        all.filter(|d| d.severity == severity).count()
    }

    pub fn errors(&self) -> usize {
        self.count_of(Severity::Error)
    }

    pub fn warnings(&self) -> usize {
        self.count_of(Severity::Warning)
    }

    pub fn drafts(&self) -> usize {
        self.noted().filter(|(_, s)| s.draft).count()
    }

    /// Articles waiting for their date, soonest first: when, file, title.
    pub fn scheduled(&self) -> Vec<(DateTime<FixedOffset>, &Path, &str)> {
        let mut list: Vec<_> = self
            .noted()
            .filter_map(|(p, s)| {
                let (when, title) = s.scheduled()?;
                Some((*when, &**p, title.as_str()))
            })
            .collect();
        list.sort();
        list
    }

    /// When the next scheduled article is due.
    pub fn next_embargo(&self) -> Option<DateTime<FixedOffset>> {
        self.noted()
            .filter_map(|(_, s)| s.scheduled().map(|(when, _)| *when))
            .min()
    }
}
