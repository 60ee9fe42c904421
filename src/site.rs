//! The pipeline: from the library and what changed to typed outputs.
//! A full build and a live update are the same code: a full build is the
//! change that touches everything ([`Change::everything`]).
//!
//! What is hot and few (feeds, index pages, OPML) is rendered here and
//! now; what is many (article pages of a full build, archive documents)
//! comes out as [`Job`]s, rendered on request or while the output folder
//! is completed, with the same bytes either way.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, FixedOffset};
use rayon::prelude::*;

use crate::config::{Config, District};
use crate::content::{Article, Body};
use crate::library::{Change, Library};
use crate::output::{BuildError, Kind, Output, Page};
use crate::render::{self, Doc, FeedKind, Scope};
use crate::sitemaps::{self, SitemapDoc};

/// What one pass of the pipeline made.
#[derive(Debug, Default)]
pub struct Built {
    /// Rendered and compressed, sorted by path.
    pub outputs: Vec<Output>,
    /// To render later.
    pub jobs: Vec<Job>,
    /// (URL path, file in the output folder) of outputs that are gone.
    pub removed: Vec<(String, PathBuf)>,
    /// Outputs that could not be made; the rest are good.
    pub errors: Vec<BuildError>,
}

/// An output rendered later: it needs the article files (an article's
/// body lives only in its file) or is one of thousands.
#[derive(Debug, Clone)]
pub enum Job {
    Article(Arc<Article>),
    Archive(Arc<ArchiveDoc>),
    Sitemap(Arc<SitemapDoc>),
}

/// One archive document (RFC 5005): `feed_limit` articles of a scope.
#[derive(Debug)]
pub struct ArchiveDoc {
    /// The district's slug; `None`: the combined feeds.
    pub district: Option<String>,
    pub feed: FeedKind,
    /// 1 is the oldest; `of` is the newest, still filling up.
    pub number: usize,
    pub of: usize,
    /// Newest first.
    pub items: Vec<Arc<Article>>,
    /// What it is made from (see [`ArchivePrints`]).
    print: u64,
}

impl ArchiveDoc {
    /// Its file in the output folder: `xiaodian/archive/rss-3.xml`.
    pub fn file(&self) -> String {
        archive_file(self.district.as_deref(), self.feed, self.number)
    }
}

fn archive_file(district: Option<&str>, feed: FeedKind, number: usize) -> String {
    let prefix = district.map(|d| format!("{d}/")).unwrap_or_default();
    format!("{prefix}{}", render::archive_file(feed, number))
}

impl Job {
    /// The URL path, percent-encoded as a client sends it.
    pub fn path(&self) -> String {
        match self {
            Job::Article(a) => format!("/{}", a.path),
            Job::Archive(d) => format!("/{}", d.file()),
            Job::Sitemap(d) => format!("/{}", d.file()),
        }
    }

    pub fn file(&self) -> PathBuf {
        match self {
            Job::Article(a) => a.file(),
            Job::Archive(d) => PathBuf::from(d.file()),
            Job::Sitemap(d) => PathBuf::from(d.file()),
        }
    }

    pub fn kind(&self) -> Kind {
        match self {
            Job::Article(_) => Kind::Article,
            Job::Archive(d) => Kind::Archive {
                feed: d.feed,
                closed: d.number < d.of,
            },
            Job::Sitemap(_) => Kind::MonthSitemap,
        }
    }

    pub fn entry(&self) -> crate::output::Entry {
        crate::output::Entry {
            path: crate::output::decode(&self.path()),
            file: self.file(),
            kind: self.kind(),
            last_modified: self.last_modified().timestamp(),
        }
    }

    /// The newest change of what it shows.
    pub fn last_modified(&self) -> DateTime<FixedOffset> {
        match self {
            Job::Article(a) => a.updated,
            Job::Archive(d) => newest(d.items.iter().map(|a| a.updated)),
            Job::Sitemap(d) => d.last_modified(),
        }
    }

    /// Renders it; an article's body is read from its file in `content`.
    pub fn render(&self, config: &Config, content: &Path) -> Result<Page, BuildError> {
        match self {
            Job::Article(a) => {
                let body = crate::library::read_body(config, content, a).map_err(|message| {
                    BuildError::Source {
                        path: self.path(),
                        message,
                    }
                })?;
                article_page(config, a, &body)
            }
            Job::Archive(d) => archive_page(config, d),
            Job::Sitemap(d) => Ok(d.render(config)),
        }
    }
}

fn newest(dates: impl Iterator<Item = DateTime<FixedOffset>>) -> DateTime<FixedOffset> {
    dates
        .max()
        .unwrap_or_else(|| DateTime::UNIX_EPOCH.fixed_offset())
}

/// An article's page.
pub fn article_page(config: &Config, a: &Article, body: &Body) -> Result<Page, BuildError> {
    let district = a.district.as_deref().and_then(|d| config.district(d));
    let path = format!("/{}", a.path);
    let html =
        render::html::article(&Scope::bare(config, district), a, body).map_err(|source| {
            BuildError::Render {
                path: path.clone(),
                source,
            }
        })?;
    Ok(Page {
        path,
        file: a.file(),
        kind: Kind::Article,
        body: html,
        last_modified: a.updated,
    })
}

fn archive_page(config: &Config, d: &ArchiveDoc) -> Result<Page, BuildError> {
    let district = d.district.as_deref().and_then(|s| config.district(s));
    let mut scope = Scope::bare(config, district);
    scope.articles = d.items.iter().map(|a| a.as_ref()).collect();
    let doc = Doc::Archive {
        number: d.number,
        of: d.of,
    };
    let file = d.file();
    let body = match d.feed {
        FeedKind::Atom => render::atom::render_doc(&scope, doc),
        _ => render::rss::render_doc(&scope, doc),
    }
    .map_err(|source| BuildError::Render {
        path: format!("/{file}"),
        source,
    })?;
    Ok(Page {
        path: format!("/{file}"),
        file: PathBuf::from(file),
        kind: Kind::Archive {
            feed: d.feed,
            closed: d.number < d.of,
        },
        body,
        last_modified: scope.updated(),
    })
}

fn feed_page(scope: &Scope<'_>, feed: FeedKind) -> Result<Page, BuildError> {
    let path = format!("/{}{}", scope.prefix(), feed.file_name());
    let body = match feed {
        FeedKind::Rss => render::rss::render(scope),
        FeedKind::Atom => render::atom::render(scope),
        FeedKind::Json => render::json::render(scope),
    }
    .map_err(|source| BuildError::Render {
        path: path.clone(),
        source,
    })?;
    Ok(Page {
        file: PathBuf::from(&path[1..]),
        path,
        kind: Kind::Feed(feed),
        body,
        last_modified: scope.updated(),
    })
}

/// A scope's three feeds, and its page for a district.
fn scope_pages(scope: &Scope<'_>, pages: &mut Vec<Result<Page, BuildError>>) {
    pages.extend(FeedKind::ALL.iter().map(|k| feed_page(scope, *k)));
    if scope.district.is_some() {
        let prefix = scope.prefix();
        pages.push(Ok(Page {
            path: format!("/{prefix}"),
            file: PathBuf::from(format!("{prefix}index.html")),
            kind: Kind::District,
            body: render::html::district(scope),
            last_modified: scope.updated(),
        }));
    }
}

/// The index page and the OPML, which list every scope.
fn directory_pages(
    city: &Scope<'_>,
    districts: &[Scope<'_>],
    pages: &mut Vec<Result<Page, BuildError>>,
) {
    let updated = newest(districts.iter().map(Scope::updated).chain([city.updated()]));
    let all: Vec<&Scope<'_>> = std::iter::once(city).chain(districts).collect();
    pages.push(Ok(Page {
        path: "/".into(),
        file: PathBuf::from("index.html"),
        kind: Kind::Index,
        body: render::html::index(city, districts),
        last_modified: city.updated(),
    }));
    pages.push(Ok(Page {
        path: "/feeds.opml".into(),
        file: PathBuf::from("feeds.opml"),
        kind: Kind::Opml,
        body: render::opml::render(&all),
        last_modified: updated,
    }));
}

/// What the many outputs were last made from, so that a change makes
/// again only those whose articles changed: the monthly sitemaps, and
/// each scope's archive documents, one print per document (re-rendered
/// from the first changed position on when an old article is deleted or
/// back-dated; just its own when one is edited).
#[derive(Debug, Default)]
pub struct Prints {
    archives: HashMap<Option<String>, ScopePrints>,
    pub months: crate::sitemaps::Months,
}

/// A scope's prints, and how many articles its documents held.
#[derive(Debug, Default, Clone)]
struct ScopePrints {
    archived: usize,
    docs: Vec<u64>,
}

/// The print of one archive document: its place and its articles as read.
fn doc_print(number: usize, last: bool, items: &[&Arc<Article>]) -> u64 {
    use std::hash::{BuildHasher, Hash, Hasher};
    // A fixed seed: prints are compared within one process only.
    let mut h = foldhash::fast::FixedState::with_seed(0).build_hasher();
    (number, last).hash(&mut h);
    for a in items {
        // The pointer tells a new reading of a file from the old one; the
        // id's pointer and the date guard against a reused address.
        // Integers only: a live update prints every archived article.
        h.write_usize(Arc::as_ptr(a) as usize);
        h.write_usize(a.id.as_ptr() as usize);
        h.write_i64(a.updated.timestamp());
        h.write_u32(a.updated.timestamp_subsec_nanos());
    }
    h.finish()
}

impl Prints {
    /// Whether `doc` is still what its scope's document shows (a later
    /// change may have made a new one).
    pub fn is_current(&self, doc: &ArchiveDoc) -> bool {
        self.archives.get(&doc.district).is_some_and(|p| {
            p.docs.len() == doc.of && p.docs.get(doc.number - 1) == Some(&doc.print)
        })
    }

    /// The first document of a scope that may have changed: none before
    /// the position of the oldest article touched (documents are filled
    /// oldest first), and never after the last one, then or now (whose
    /// "last" mark may change).
    fn first_changed(
        library: &Library,
        slug: Option<&str>,
        from: Option<DateTime<FixedOffset>>,
        old: &ScopePrints,
        archived: usize,
    ) -> usize {
        let limit = library.config.feed_limit.max(1);
        let Some(from) = from else {
            return 0;
        };
        let total = library.count(slug);
        let position = total
            .saturating_sub(library.count_since(slug, from))
            .min(archived)
            .min(old.archived);
        let of = archived.div_ceil(limit);
        (position / limit)
            .min(of.saturating_sub(1))
            .min(old.docs.len().saturating_sub(1))
    }

    /// The jobs for the documents of `district`'s scope that changed, and
    /// the paths of those that are gone. With `from` (the oldest date a
    /// change touched), documents of older articles only are not looked
    /// at: an edit of recent news prints one document, not thousands.
    fn update(
        &mut self,
        library: &Library,
        district: Option<&District>,
        from: Option<DateTime<FixedOffset>>,
        jobs: &mut Vec<Job>,
        removed: &mut Vec<(String, PathBuf)>,
    ) {
        let limit = library.config.feed_limit.max(1);
        let slug = district.map(|d| d.slug.clone());
        let archived = library.count(slug.as_deref()).saturating_sub(limit);
        let old = self.archives.get(&slug).cloned().unwrap_or_default();
        let first = Self::first_changed(library, slug.as_deref(), from, &old, archived);
        let mut tail = library.archived_newest(slug.as_deref(), archived - first * limit);
        tail.reverse();
        let docs: Vec<&[&Arc<Article>]> = tail.chunks(limit).collect();
        let of = first + docs.len();
        // Printed oldest first within a document: the same order every
        // time, which is all a print needs.
        let mut prints: Vec<u64> = old.docs.get(..first).unwrap_or_default().to_vec();
        prints.extend(
            docs.iter()
                .enumerate()
                .map(|(i, items)| doc_print(first + i + 1, first + i + 1 == of, items)),
        );
        self.archives.insert(
            slug.clone(),
            ScopePrints {
                archived,
                docs: prints.clone(),
            },
        );
        for (i, items) in docs.into_iter().enumerate() {
            let number = first + i + 1;
            if old.docs.get(number - 1) == prints.get(number - 1) {
                continue;
            }
            for feed in [FeedKind::Rss, FeedKind::Atom] {
                jobs.push(Job::Archive(Arc::new(ArchiveDoc {
                    district: slug.clone(),
                    feed,
                    number,
                    of,
                    // Newest first, as documents list them.
                    items: items.iter().rev().map(|a| Arc::clone(a)).collect(),
                    print: prints[number - 1],
                })));
            }
        }
        for number in of + 1..=old.docs.len() {
            for feed in [FeedKind::Rss, FeedKind::Atom] {
                let file = archive_file(slug.as_deref(), feed, number);
                removed.push((format!("/{file}"), PathBuf::from(file)));
            }
        }
    }
}

/// The monthly sitemaps that changed (as jobs), the sitemap of the index
/// pages and the sitemap index.
fn sitemap_pages(
    library: &Library,
    change: &Change,
    prints: &mut Prints,
    city: &Scope<'_>,
    districts: &[Scope<'_>],
    built: &mut Built,
    pages: &mut Vec<Result<Page, BuildError>>,
) {
    let mut jobs = Vec::new();
    prints
        .months
        .update(library, change, &mut jobs, &mut built.removed);
    built.jobs.extend(jobs.into_iter().map(Job::Sitemap));
    let listed: Vec<(String, DateTime<FixedOffset>)> = std::iter::once(city)
        .chain(districts)
        .map(|s| (s.page_url(), s.updated()))
        .collect();
    let list = sitemaps::pages_sitemap(&listed);
    pages.push(Ok(prints.months.index(&library.config, list.last_modified)));
    pages.push(Ok(list));
}

/// The compressed forms of a page an earlier build wrote with the same
/// bytes, if at hand: a restart then compresses nothing.
pub type Reuse<'a> = Option<&'a (dyn Fn(&Page) -> Option<(Vec<u8>, Vec<u8>)> + Sync)>;

/// Runs the pipeline for `change`: the feeds and pages of the scopes it
/// touched, the pages of its articles, the archive documents whose
/// articles changed, and what is gone. Everything else keeps its bytes
/// and its ETag.
pub fn build(library: &Library, change: &Change, prints: &mut Prints, reuse: Reuse<'_>) -> Built {
    let config = &library.config;
    let city = Scope::new(library, None);
    // Every district's scope (cheap: its newest items and a count); the
    // index lists them all. Only the touched ones are rendered.
    let districts: Vec<Scope<'_>> = config
        .districts
        .iter()
        .map(|d| Scope::new(library, Some(d)))
        .collect();
    let mut built = Built::default();
    let mut pages = Vec::new();
    if change.full {
        built
            .jobs
            .extend(library.articles().map(|a| Job::Article(a.clone())));
    } else {
        // The latest reading of each changed page that is still current.
        let mut latest: HashMap<&str, &(Arc<Article>, Arc<Body>)> = HashMap::new();
        for page in change.pages.iter().filter(|p| library.is_current(&p.0)) {
            latest.insert(page.0.path.as_str(), page);
        }
        pages.extend(
            latest
                .values()
                .map(|(a, body)| article_page(config, a, body)),
        );
    }
    let touched = |d: &District| change.full || change.districts.contains(&d.slug);
    let from = change.oldest.filter(|_| !change.full);
    for scope in &districts {
        if scope.district.is_some_and(touched) {
            scope_pages(scope, &mut pages);
            prints.update(
                library,
                scope.district,
                from,
                &mut built.jobs,
                &mut built.removed,
            );
        }
    }
    if change.full || change.any {
        scope_pages(&city, &mut pages);
        directory_pages(&city, &districts, &mut pages);
        prints.update(library, None, from, &mut built.jobs, &mut built.removed);
        sitemap_pages(
            library, change, prints, &city, &districts, &mut built, &mut pages,
        );
    }
    if change.full || change.any || change.clock {
        let now = chrono::Utc::now().fixed_offset();
        pages.push(Ok(sitemaps::news_sitemap(library, now)));
    }
    if change.full {
        pages.push(Ok(sitemaps::robots(config)));
    }
    built.removed.extend(
        change
            .gone
            .iter()
            .filter(|a| !library.has_page(&a.path))
            .map(|a| (format!("/{}", a.path), a.file())),
    );
    built.removed.sort();
    built.removed.dedup();
    let finish = |p: Page| match reuse.and_then(|r| r(&p)) {
        Some((gzip, br)) => Ok(p.with_encodings(gzip, br)),
        None => p.finish(),
    };
    let finished: Vec<Result<Output, BuildError>> =
        pages.into_par_iter().map(|p| p.and_then(finish)).collect();
    for r in finished {
        match r {
            Ok(o) => built.outputs.push(o),
            Err(e) => built.errors.push(e),
        }
    }
    built.outputs.sort_by(|a, b| a.path.cmp(&b.path));
    built
}

/// Renders jobs now (a live update has few), in parallel.
pub fn render_jobs(
    jobs: &[Job],
    config: &Config,
    content: &Path,
) -> Vec<Result<Output, BuildError>> {
    jobs.par_iter()
        .map(|j| j.render(config, content).and_then(Page::finish))
        .collect()
}

/// Every file of the output folder the library's site has (without
/// siblings): what a full write keeps.
pub fn all_files(library: &Library, prints: &Prints) -> std::collections::HashSet<String> {
    let config = &library.config;
    let mut files = std::collections::HashSet::new();
    files.extend(
        [
            "index.html",
            "feeds.opml",
            "sitemap.xml",
            sitemaps::PAGES_FILE,
            "news-sitemap.xml",
            "robots.txt",
        ]
        .map(String::from),
    );
    let scopes =
        std::iter::once(None).chain(config.districts.iter().map(|d| Some(d.slug.as_str())));
    for slug in scopes {
        let prefix = slug.map(|d| format!("{d}/")).unwrap_or_default();
        files.extend(
            FeedKind::ALL
                .iter()
                .map(|k| format!("{prefix}{}", k.file_name())),
        );
        if slug.is_some() {
            files.insert(format!("{prefix}index.html"));
        }
        let docs = render::archive_count(library.count(slug), config.feed_limit);
        for number in 1..=docs {
            for feed in [FeedKind::Rss, FeedKind::Atom] {
                files.insert(archive_file(slug, feed, number));
            }
        }
    }
    files.extend(prints.months.files());
    files.extend(
        library
            .articles()
            .map(|a| a.file().to_string_lossy().into_owned()),
    );
    files
}
