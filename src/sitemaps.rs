//! Sitemaps in the pipeline: one per month of publication, split into
//! parts past the protocol's limits, each remembered by a print of what
//! it lists, so that a change makes again only its months' parts and a
//! month no article of which changed keeps its bytes. Also the sitemap
//! index, the sitemap of the index pages, the Google News sitemap (the
//! one output that depends on the clock) and robots.txt.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use chrono::{DateTime, FixedOffset};
use rayon::prelude::*;

use crate::config::Config;
use crate::content::Article;
use crate::content::date::Month;
use crate::library::{Change, Library};
use crate::output::{Kind, Page};
use crate::render::names;
use crate::render::sitemap as render;

/// How long an article stays in the Google News sitemap.
pub const NEWS_WINDOW: chrono::Duration = chrono::Duration::hours(48);
/// At most this many articles in it (Google's limit).
pub const NEWS_MAX: usize = 1000;

/// One part of a month's sitemap.
#[derive(Debug)]
pub struct SitemapDoc {
    pub month: Month,
    /// 1 for `2023-01.xml`, then `2023-01-2.xml`, ...
    pub part: usize,
    /// Oldest first: news added to a month changes only its last part.
    pub items: Vec<Arc<Article>>,
    print: u64,
}

fn part_file(month: Month, part: usize) -> String {
    names::month_sitemap(&month.name(), part)
}

impl SitemapDoc {
    /// Its file in the output folder: `sitemaps/2023-01.xml`.
    pub fn file(&self) -> String {
        part_file(self.month, self.part)
    }

    pub fn last_modified(&self) -> DateTime<FixedOffset> {
        newest(self.items.iter().map(|a| a.updated))
    }

    pub fn render(&self, config: &Config) -> Page {
        let entries: Vec<String> = self.items.iter().map(|a| entry(config, a)).collect();
        let file = self.file();
        Page {
            path: names::path_of(&file),
            file: PathBuf::from(file),
            kind: Kind::MonthSitemap,
            body: render::urlset(
                entries.iter().map(String::as_str),
                self.items.iter().any(|a| a.image.is_some()),
            ),
            last_modified: self.last_modified(),
        }
    }
}

fn newest(dates: impl Iterator<Item = DateTime<FixedOffset>>) -> DateTime<FixedOffset> {
    dates
        .max()
        .unwrap_or_else(|| DateTime::UNIX_EPOCH.fixed_offset())
}

fn entry(config: &Config, a: &Article) -> String {
    render::url_entry_with_image(&a.url(config), Some(a.updated), a.image.as_deref())
}

/// A part as last made: what it lists, and its newest change.
#[derive(Debug, Clone, PartialEq)]
struct Part {
    print: u64,
    lastmod: DateTime<FixedOffset>,
}

/// The parts of every month, as last made.
#[derive(Debug, Default)]
pub struct Months(BTreeMap<Month, Vec<Part>>);

/// Splits a month's articles into parts of at most [`render::MAX_URLS`]
/// URLs and [`render::MAX_BYTES`] bytes.
fn split<'a>(
    config: &Config,
    items: &[&'a Arc<Article>],
    max_urls: usize,
    max_bytes: usize,
) -> Vec<Vec<&'a Arc<Article>>> {
    let mut parts: Vec<Vec<&Arc<Article>>> = Vec::new();
    let mut bytes = 0;
    for a in items {
        let size = entry(config, a).len();
        match parts.last_mut() {
            Some(p) if p.len() < max_urls && bytes + size <= max_bytes => {
                p.push(a);
                bytes += size;
            }
            _ => {
                parts.push(vec![a]);
                bytes = render::FRAME_BYTES + size;
            }
        }
    }
    parts
}

fn print(part: usize, items: &[&Arc<Article>]) -> u64 {
    use std::hash::{BuildHasher, Hash, Hasher};
    let mut h = foldhash::fast::FixedState::with_seed(0).build_hasher();
    part.hash(&mut h);
    for a in items {
        a.path.hash(&mut h);
        a.image.hash(&mut h);
        h.write_i64(a.updated.timestamp());
        h.write_u32(a.updated.timestamp_subsec_nanos());
    }
    h.finish()
}

impl Months {
    /// Whether `doc` is still what its month's part shows.
    pub fn is_current(&self, doc: &SitemapDoc) -> bool {
        self.0
            .get(&doc.month)
            .and_then(|parts| parts.get(doc.part - 1))
            .is_some_and(|p| p.print == doc.print)
    }

    /// The parts of the months `change` touched (all of them for a full
    /// build) that changed, and the files of parts that are gone.
    pub fn update(
        &mut self,
        library: &Library,
        change: &Change,
        jobs: &mut Vec<Arc<SitemapDoc>>,
        removed: &mut Vec<(String, PathBuf)>,
    ) {
        let months: Vec<(Month, Vec<&Arc<Article>>)> = if change.full {
            library.months()
        } else {
            change
                .months
                .iter()
                .map(|m| (*m, library.month(*m)))
                .collect()
        };
        if change.full {
            for (m, parts) in std::mem::take(&mut self.0) {
                if !months.iter().any(|(n, _)| *n == m) {
                    gone(m, 0, parts.len(), removed);
                }
            }
        }
        // Each month split and printed in parallel (every article's entry
        // is written to measure a part), then taken in in order.
        let old = &self.0;
        let planned: Vec<(Month, Vec<Part>, Vec<Arc<SitemapDoc>>)> = months
            .into_par_iter()
            .map(|(month, items)| {
                let old = old.get(&month).map_or(&[][..], Vec::as_slice);
                let parts = split(&library.config, &items, render::MAX_URLS, render::MAX_BYTES);
                let mut now = Vec::with_capacity(parts.len());
                let mut made = Vec::new();
                for (i, items) in parts.into_iter().enumerate() {
                    let part = Part {
                        print: print(i + 1, &items),
                        lastmod: newest(items.iter().map(|a| a.updated)),
                    };
                    if old.get(i) != Some(&part) {
                        made.push(Arc::new(SitemapDoc {
                            month,
                            part: i + 1,
                            items: items.into_iter().cloned().collect(),
                            print: part.print,
                        }));
                    }
                    now.push(part);
                }
                (month, now, made)
            })
            .collect();
        for (month, now, made) in planned {
            jobs.extend(made);
            let old = self.0.remove(&month).unwrap_or_default();
            gone(month, now.len(), old.len(), removed);
            if !now.is_empty() {
                self.0.insert(month, now);
            }
        }
    }

    /// Every part's file, for the full list of the output folder.
    pub fn files(&self) -> impl Iterator<Item = String> + '_ {
        self.0
            .iter()
            .flat_map(|(m, parts)| (1..=parts.len()).map(|n| part_file(*m, n)))
    }

    /// The sitemap index: the pages' sitemap, then every month's parts.
    pub fn index(&self, config: &Config, pages: DateTime<FixedOffset>) -> Page {
        let mut list = vec![(config.url(names::PAGES_SITEMAP), Some(pages))];
        for (m, parts) in &self.0 {
            for (i, p) in parts.iter().enumerate() {
                list.push((config.url(&part_file(*m, i + 1)), Some(p.lastmod)));
            }
        }
        let newest = newest(list.iter().filter_map(|(_, d)| *d));
        page(names::SITEMAP, Kind::Sitemap, render::index(&list), newest)
    }
}

/// The files of parts `from + 1 ..= to` of a month.
fn gone(month: Month, from: usize, to: usize, removed: &mut Vec<(String, PathBuf)>) {
    for n in from + 1..=to {
        let file = part_file(month, n);
        removed.push((names::path_of(&file), PathBuf::from(file)));
    }
}

fn page(file: &str, kind: Kind, body: Vec<u8>, last_modified: DateTime<FixedOffset>) -> Page {
    Page {
        path: names::path_of(file),
        file: PathBuf::from(file),
        kind,
        body,
        last_modified,
    }
}

/// The sitemap of the pages that list articles: (URL, newest change).
pub fn pages_sitemap(pages: &[(String, DateTime<FixedOffset>)]) -> Page {
    let entries: Vec<String> = pages
        .iter()
        .map(|(loc, d)| render::url_entry(loc, Some(*d)))
        .collect();
    let updated = newest(pages.iter().map(|(_, d)| *d));
    page(
        names::PAGES_SITEMAP,
        Kind::Sitemap,
        render::urlset(entries.iter().map(String::as_str), false),
        updated,
    )
}

/// The articles of the Google News sitemap at `now`.
fn in_window(library: &Library, now: DateTime<FixedOffset>) -> Vec<&Arc<Article>> {
    library.published_since(now - NEWS_WINDOW, NEWS_MAX)
}

/// The Google News sitemap at `now`.
pub fn news_sitemap(library: &Library, now: DateTime<FixedOffset>) -> Page {
    let items = in_window(library, now);
    let articles: Vec<&Article> = items.iter().map(|a| a.as_ref()).collect();
    page(
        names::NEWS_SITEMAP,
        Kind::NewsSitemap,
        render::news(&library.config, &articles),
        newest(items.iter().map(|a| a.updated)),
    )
}

/// When the Google News sitemap next changes with no article changing:
/// when its oldest article leaves the window.
pub fn news_expiry(library: &Library, now: DateTime<FixedOffset>) -> Option<DateTime<FixedOffset>> {
    in_window(library, now).last().map(|a| a.date + NEWS_WINDOW)
}

pub fn robots(config: &Config) -> Page {
    page(
        names::ROBOTS,
        Kind::Robots,
        render::robots(config),
        DateTime::UNIX_EPOCH.fixed_offset(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn article(i: usize) -> Article {
        let date = DateTime::parse_from_rfc3339("2023-01-10T08:00:00+08:00").unwrap();
        Article {
            source: Arc::from(std::path::Path::new(&format!("content/a/{i}.md"))),
            district: Some("a".into()),
            path: format!("a/{i}.html"),
            id: format!("tag:n.example,2023-01-10:a/{i}").into(),
            title: "t".into(),
            author: None,
            tags: Vec::new(),
            link: None,
            image: None,
            date,
            updated: date,
            source_key: [3; 16],
            image_text: None,
            image_file: None,
        }
    }

    #[test]
    fn parts_split_at_the_url_and_byte_limits() {
        let text = "title = \"t\"\nbase_url = \"https://n.example/\"\nid_authority = \"n.example\"\n[districts.a]\nname = \"A\"\n";
        let config =
            Config::from_toml(text, "crier.toml", &crate::config::Overrides::default()).unwrap();
        let articles: Vec<Arc<Article>> = (0..7).map(|i| Arc::new(article(i))).collect();
        let refs: Vec<&Arc<Article>> = articles.iter().collect();
        let sizes = |parts: Vec<Vec<&Arc<Article>>>| parts.iter().map(Vec::len).collect::<Vec<_>>();
        assert_eq!(sizes(split(&config, &refs, 3, usize::MAX)), [3, 3, 1]);
        let one = entry(&config, &articles[0]).len();
        let two = render::FRAME_BYTES + 2 * one;
        assert_eq!(sizes(split(&config, &refs, 100, two)), [2, 2, 2, 1]);
        assert_eq!(sizes(split(&config, &refs, 100, usize::MAX)), [7]);
    }
}
