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
use crate::library::{Change, Library, ScopeKey, Topic, Which};
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
    Topic(Arc<TopicDoc>),
}

/// A topic's feed or page: one of thousands (a few hundred topics, each
/// with three feeds and a page), so rendered later, from the article
/// files, like archive documents.
#[derive(Debug)]
pub struct TopicDoc {
    pub topic: Topic,
    /// A feed; `None`: the topic's page.
    pub feed: Option<FeedKind>,
    /// The newest `feed_limit`, newest first (shared by the topic's four
    /// documents).
    pub items: Arc<[Arc<Article>]>,
    /// Its archive documents (RFC 5005), which the feeds link to.
    pub archives: usize,
    /// What it is made from (see [`Prints`]).
    print: u64,
    /// The items' bodies, read once for the three feeds of the topic and
    /// dropped after the third has used them.
    bodies: Arc<Shared<Arc<Body>>>,
}

/// What several outputs read from the same article files (a topic's
/// three feeds, the bodies; an archive's two documents, the summaries):
/// (outputs still to render, what was read).
#[derive(Debug, Default)]
pub struct Shared<T>(std::sync::Mutex<(usize, Option<Vec<T>>)>);

impl<T: Clone> Shared<T> {
    fn new(users: usize) -> Shared<T> {
        Shared(std::sync::Mutex::new((users, None)))
    }

    /// Gives it what its users would read, if they have not yet.
    fn offer(&self, read: Vec<T>) {
        let mut held = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if held.0 > 0 && held.1.is_none() {
            held.1 = Some(read);
        }
    }

    /// What `read` reads, if no user has yet; the last user leaves
    /// nothing behind (a later request reads again).
    fn take(&self, read: impl FnOnce() -> Result<Vec<T>, String>) -> Result<Vec<T>, String> {
        let mut held = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let bodies = match held.1.take() {
            Some(b) => b,
            None => read()?,
        };
        held.0 = held.0.saturating_sub(1);
        if held.0 > 0 {
            held.1 = Some(bodies.clone());
        }
        Ok(bodies)
    }
}

impl TopicDoc {
    /// Its file in the output folder: `topics/劳模/rss.xml`.
    pub fn file(&self) -> String {
        let name = self.feed.map_or("index.html", FeedKind::file_name);
        format!("topics/{}/{name}", self.topic.key)
    }

    /// Its URL path, percent-encoded.
    pub fn path(&self) -> String {
        let name = self.feed.map_or("", FeedKind::file_name);
        format!(
            "/topics/{}/{name}",
            crate::content::encode_segment(&self.topic.key)
        )
    }

    fn render(&self, config: &Config, content: &Path) -> Result<Page, BuildError> {
        let articles: Vec<&Article> = self.items.iter().map(|a| a.as_ref()).collect();
        let failed = |message: String| BuildError::Source {
            path: self.path(),
            message,
        };
        let body = match self.feed {
            None => {
                let scope = Scope::of_topic(config, &self.topic, articles, Vec::new());
                render::html::district(&scope)
            }
            Some(feed) => {
                let bodies = self
                    .bodies
                    .take(|| {
                        self.items
                            .iter()
                            .map(|a| crate::library::read_body(config, content, a).map(Arc::new))
                            .collect()
                    })
                    .map_err(failed)?;
                let mut scope = Scope::of_topic(config, &self.topic, articles, bodies);
                scope.total = self.topic.count;
                render_feed(&scope, feed, &self.path())?
            }
        };
        Ok(Page {
            path: self.path(),
            file: PathBuf::from(self.file()),
            kind: self.kind(),
            body,
            last_modified: newest(self.items.iter().map(|a| a.updated)),
        })
    }

    fn kind(&self) -> Kind {
        self.feed.map_or(Kind::TopicPage, Kind::TopicFeed)
    }
}

/// One archive document (RFC 5005): `feed_limit` articles of a scope.
#[derive(Debug)]
pub struct ArchiveDoc {
    pub scope: ScopeKey,
    /// The topic, when it is a topic's.
    pub topic: Option<Topic>,
    /// A feed format; `None`: the HTML page.
    pub feed: Option<FeedKind>,
    /// 1 is the oldest; `of` is the newest, still filling up.
    pub number: usize,
    pub of: usize,
    /// Newest first (shared by the documents of its number).
    pub items: Arc<[Arc<Article>]>,
    /// What it is made from (see [`Prints`]).
    print: u64,
    /// The items' summaries, read once for the RSS and Atom documents.
    summaries: Arc<Shared<Arc<str>>>,
}

impl ArchiveDoc {
    /// Its file in the output folder: `xiaodian/archive/rss-3.xml`.
    pub fn file(&self) -> String {
        archive_file(&self.scope, self.feed, self.number)
    }

    fn kind(&self) -> Kind {
        let closed = self.number < self.of;
        match self.feed {
            Some(feed) => Kind::Archive { feed, closed },
            None => Kind::ArchivePage { closed },
        }
    }
}

/// Summaries of articles whose pages were just rendered, by file: a full
/// build renders every page as it reads the files, and its archive
/// documents then need no file read again (100,000 articles are in
/// about 400,000 archive entries).
#[derive(Debug, Default)]
pub struct Summaries(std::sync::Mutex<HashMap<Arc<Path>, Arc<str>>>);

impl Summaries {
    pub fn keep(&self, a: &Article, body: &Body) {
        let mut held = self.0.lock().unwrap_or_else(|e| e.into_inner());
        held.insert(a.source.clone(), Arc::from(body.summary.as_str()));
    }
}

/// Gives each archive document among `jobs` the summaries of its items,
/// when `summaries` has all of them; the others read their files.
pub fn offer_summaries(jobs: &[Job], summaries: Summaries) {
    let held = summaries.0.into_inner().unwrap_or_else(|e| e.into_inner());
    if held.is_empty() {
        return;
    }
    for job in jobs {
        if let Job::Archive(d) = job
            && d.feed == Some(FeedKind::Rss)
            && let Some(found) = d
                .items
                .iter()
                .map(|a| held.get(&a.source).cloned())
                .collect()
        {
            d.summaries.offer(found);
        }
    }
}

/// A scope's folder in the output: ``, `xiaodian/`, `topics/劳模/`.
fn scope_dir(scope: &ScopeKey) -> String {
    match scope {
        ScopeKey::All => String::new(),
        ScopeKey::District(d) => format!("{d}/"),
        ScopeKey::Topic(t) => format!("topics/{t}/"),
    }
}

fn archive_file(scope: &ScopeKey, feed: Option<FeedKind>, number: usize) -> String {
    format!(
        "{}{}",
        scope_dir(scope),
        render::archive_doc_file(feed, number)
    )
}

/// The files of a topic's feeds and page.
fn topic_files(key: &str) -> impl Iterator<Item = String> + '_ {
    ["index.html", "rss.xml", "atom.xml", "feed.json"]
        .into_iter()
        .map(move |f| format!("topics/{key}/{f}"))
}

impl Job {
    /// The URL path, percent-encoded as a client sends it.
    pub fn path(&self) -> String {
        match self {
            Job::Article(a) => format!("/{}", a.path),
            Job::Archive(d) => format!("/{}", crate::content::encode_path(&d.file())),
            Job::Sitemap(d) => format!("/{}", d.file()),
            Job::Topic(d) => d.path(),
        }
    }

    pub fn file(&self) -> PathBuf {
        match self {
            Job::Article(a) => a.file(),
            Job::Archive(d) => PathBuf::from(d.file()),
            Job::Sitemap(d) => PathBuf::from(d.file()),
            Job::Topic(d) => PathBuf::from(d.file()),
        }
    }

    pub fn kind(&self) -> Kind {
        match self {
            Job::Article(_) => Kind::Article,
            Job::Archive(d) => d.kind(),
            Job::Sitemap(_) => Kind::MonthSitemap,
            Job::Topic(d) => d.kind(),
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
            Job::Topic(d) => newest(d.items.iter().map(|a| a.updated)),
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
            Job::Archive(d) => archive_page(config, content, d),
            Job::Sitemap(d) => Ok(d.render(config)),
            Job::Topic(d) => d.render(config, content),
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

fn archive_page(config: &Config, content: &Path, d: &ArchiveDoc) -> Result<Page, BuildError> {
    let district = match &d.scope {
        ScopeKey::District(s) => config.district(s),
        _ => None,
    };
    let mut scope = Scope::bare(config, district);
    scope.topic = d.topic.as_ref();
    scope.articles = d.items.iter().map(|a| a.as_ref()).collect();
    if d.feed.is_some() {
        scope.summaries = d
            .summaries
            .take(|| {
                d.items
                    .iter()
                    .map(|a| crate::library::read_summary(config, content, a).map(Arc::from))
                    .collect()
            })
            .map_err(|message| BuildError::Source {
                path: format!("/{}", crate::content::encode_path(&d.file())),
                message,
            })?;
    }
    let doc = Doc::Archive {
        number: d.number,
        of: d.of,
    };
    let file = d.file();
    let path = format!("/{}", crate::content::encode_path(&file));
    let body = match d.feed {
        Some(FeedKind::Atom) => render::atom::render_doc(&scope, doc),
        Some(_) => render::rss::render_doc(&scope, doc),
        None => Ok(render::html::archive(&scope, d.number, d.of)),
    }
    .map_err(|source| BuildError::Render {
        path: path.clone(),
        source,
    })?;
    Ok(Page {
        path,
        file: PathBuf::from(file),
        kind: d.kind(),
        body,
        last_modified: scope.updated(),
    })
}

/// A scope's subscription feed in one format.
fn render_feed(scope: &Scope<'_>, feed: FeedKind, path: &str) -> Result<Vec<u8>, BuildError> {
    match feed {
        FeedKind::Rss => render::rss::render(scope),
        FeedKind::Atom => render::atom::render(scope),
        FeedKind::Json => render::json::render(scope),
    }
    .map_err(|source| BuildError::Render {
        path: path.to_string(),
        source,
    })
}

fn feed_page(scope: &Scope<'_>, feed: FeedKind) -> Result<Page, BuildError> {
    let path = format!("/{}{}", scope.prefix(), feed.file_name());
    let body = render_feed(scope, feed, &path)?;
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
    topics: &[Scope<'_>],
    pages: &mut Vec<Result<Page, BuildError>>,
) {
    let updated = newest(districts.iter().map(Scope::updated).chain([city.updated()]));
    let all: Vec<&Scope<'_>> = std::iter::once(city).chain(districts).collect();
    pages.push(Ok(Page {
        path: "/".into(),
        file: PathBuf::from("index.html"),
        kind: Kind::Index,
        body: render::html::index(city, districts, topics.len()),
        last_modified: city.updated(),
    }));
    pages.push(Ok(Page {
        path: "/feeds.opml".into(),
        file: PathBuf::from("feeds.opml"),
        kind: Kind::Opml,
        body: render::opml::render(&all),
        last_modified: updated,
    }));
    if city.config.topics {
        let updated = newest(topics.iter().map(Scope::updated));
        pages.push(Ok(Page {
            path: "/topics/".into(),
            file: PathBuf::from("topics/index.html"),
            kind: Kind::Topics,
            body: render::html::topics(city.config, topics),
            last_modified: updated,
        }));
        let mut listed: Vec<&Scope<'_>> = vec![city];
        listed.extend(topics);
        pages.push(Ok(Page {
            path: "/topics.opml".into(),
            file: PathBuf::from("topics.opml"),
            kind: Kind::Opml,
            body: render::opml::render(&listed),
            last_modified: updated,
        }));
    }
}

/// What the many outputs were last made from, so that a change makes
/// again only those whose articles changed: the monthly sitemaps, and
/// each scope's archive documents, one print per document (re-rendered
/// from the first changed position on when an old article is deleted or
/// back-dated; just its own when one is edited).
#[derive(Debug, Default)]
pub struct Prints {
    archives: HashMap<ScopeKey, ScopePrints>,
    pub months: crate::sitemaps::Months,
    /// Of each topic's feeds and page, by key.
    topics: HashMap<String, u64>,
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
        self.archives.get(&doc.scope).is_some_and(|p| {
            p.docs.len() == doc.of && p.docs.get(doc.number - 1) == Some(&doc.print)
        })
    }

    /// The first document of a scope that may have changed: none before
    /// the position of the oldest article touched (documents are filled
    /// oldest first), and never after the last one, then or now (whose
    /// "last" mark may change).
    fn first_changed(
        library: &Library,
        slug: Which<'_>,
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
        slug: ScopeKey,
        topic: Option<&Topic>,
        from: Option<DateTime<FixedOffset>>,
        jobs: &mut Vec<Job>,
        removed: &mut Vec<(String, PathBuf)>,
    ) {
        let limit = library.config.feed_limit.max(1);
        let archived = library.count(slug.which()).saturating_sub(limit);
        let old = self.archives.get(&slug).cloned().unwrap_or_default();
        let first = Self::first_changed(library, slug.which(), from, &old, archived);
        let mut tail = library.archived_newest(slug.which(), archived - first * limit);
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
            let summaries = Arc::new(Shared::new(2));
            // Newest first, as documents list them.
            let items: Arc<[Arc<Article>]> = items.iter().rev().map(|a| Arc::clone(a)).collect();
            for feed in render::ARCHIVE_FORMATS {
                jobs.push(Job::Archive(Arc::new(ArchiveDoc {
                    scope: slug.clone(),
                    topic: topic.cloned(),
                    feed,
                    number,
                    of,
                    items: items.clone(),
                    print: prints[number - 1],
                    summaries: summaries.clone(),
                })));
            }
        }
        for number in of + 1..=old.docs.len() {
            for feed in render::ARCHIVE_FORMATS {
                let file = archive_file(&slug, feed, number);
                removed.push((
                    format!("/{}", crate::content::encode_path(&file)),
                    PathBuf::from(file),
                ));
            }
        }
    }
}

/// The feeds, page and archive documents of every topic `change`
/// touched (all of them for a full build), as jobs; the files of the
/// topics that are gone.
fn topic_jobs(
    library: &Library,
    change: &Change,
    topics: &[Topic],
    prints: &mut Prints,
    from: Option<DateTime<FixedOffset>>,
    built: &mut Built,
) {
    let config = &library.config;
    let touched: Vec<&str> = if change.full {
        prints.topics.clear();
        topics.iter().map(|t| t.key.as_str()).collect()
    } else if config.topics {
        change.topics.iter().map(String::as_str).collect()
    } else {
        Vec::new()
    };
    for key in touched {
        let topic = topics
            .binary_search_by(|t| t.key.as_str().cmp(key))
            .ok()
            .map(|i| &topics[i]);
        prints.update(
            library,
            ScopeKey::Topic(key.to_string()),
            topic,
            from,
            &mut built.jobs,
            &mut built.removed,
        );
        let Some(topic) = topic else {
            prints.topics.remove(key);
            built.removed.extend(topic_files(key).map(|f| {
                let path = format!("/{}", crate::content::encode_path(&f));
                (
                    path.strip_suffix("index.html").unwrap_or(&path).to_string(),
                    PathBuf::from(f),
                )
            }));
            continue;
        };
        let items: Arc<[Arc<Article>]> = library
            .newest_shared(Which::Topic(key), config.feed_limit)
            .into_iter()
            .cloned()
            .collect();
        let archives = render::archive_count(topic.count, config.feed_limit);
        let print = topic_print(topic, &items, archives);
        if prints.topics.get(key) == Some(&print) {
            continue;
        }
        prints.topics.insert(key.to_string(), print);
        let bodies = Arc::new(Shared::new(FeedKind::ALL.len()));
        for feed in [
            None,
            Some(FeedKind::Rss),
            Some(FeedKind::Atom),
            Some(FeedKind::Json),
        ] {
            built.jobs.push(Job::Topic(Arc::new(TopicDoc {
                topic: topic.clone(),
                feed,
                items: items.clone(),
                archives,
                print,
                bodies: bodies.clone(),
            })));
        }
    }
}

fn topic_print(topic: &Topic, items: &[Arc<Article>], archives: usize) -> u64 {
    use std::hash::{BuildHasher, Hash, Hasher};
    let mut h = foldhash::fast::FixedState::with_seed(0).build_hasher();
    (&topic.name, topic.count, archives).hash(&mut h);
    for a in items {
        a.path.hash(&mut h);
        a.source_key.hash(&mut h);
    }
    h.finish()
}

impl Prints {
    /// Whether a topic's feed or page is still what the topic shows.
    pub fn topic_is_current(&self, doc: &TopicDoc) -> bool {
        self.topics.get(&doc.topic.key) == Some(&doc.print)
    }
}

/// The monthly sitemaps that changed (as jobs), the sitemap of the index
/// pages and the sitemap index.
fn sitemap_pages(
    library: &Library,
    change: &Change,
    prints: &mut Prints,
    lists: &[&Scope<'_>],
    built: &mut Built,
    pages: &mut Vec<Result<Page, BuildError>>,
) {
    let mut jobs = Vec::new();
    prints
        .months
        .update(library, change, &mut jobs, &mut built.removed);
    built.jobs.extend(jobs.into_iter().map(Job::Sitemap));
    let mut listed: Vec<(String, DateTime<FixedOffset>)> =
        lists.iter().map(|s| (s.page_url(), s.updated())).collect();
    if library.config.topics {
        let topics = newest(
            lists
                .iter()
                .filter(|s| s.topic.is_some())
                .map(|s| s.updated()),
        );
        listed.push((library.config.url("topics/"), topics));
    }
    let list = sitemaps::pages_sitemap(&listed);
    pages.push(Ok(prints.months.index(&library.config, list.last_modified)));
    pages.push(Ok(list));
}

/// The compressed forms of a page an earlier build wrote with the same
/// bytes, if at hand: a restart then compresses nothing.
pub type Reuse<'a> = Option<&'a (dyn Fn(&Page) -> Option<(Vec<u8>, Vec<u8>)> + Sync)>;

/// The article pages of `change`: jobs for all in a full build, else
/// the latest reading of each changed page that is still current.
fn article_pages(
    library: &Library,
    change: &Change,
    jobs: &mut Vec<Job>,
    pages: &mut Vec<Result<Page, BuildError>>,
) {
    if change.full {
        jobs.extend(library.articles().map(|a| Job::Article(a.clone())));
        return;
    }
    let mut latest: HashMap<&str, &(Arc<Article>, Arc<Body>)> = HashMap::new();
    for page in change.pages.iter().filter(|p| library.is_current(&p.0)) {
        latest.insert(page.0.path.as_str(), page);
    }
    pages.extend(
        latest
            .values()
            .map(|(a, body)| article_page(&library.config, a, body)),
    );
}

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
    article_pages(library, change, &mut built.jobs, &mut pages);
    let touched = |d: &District| change.full || change.districts.contains(&d.slug);
    let from = change.oldest.filter(|_| !change.full);
    for scope in &districts {
        if scope.district.is_some_and(touched) {
            scope_pages(scope, &mut pages);
            let key = scope
                .district
                .map_or(ScopeKey::All, |d| ScopeKey::District(d.slug.clone()));
            prints.update(
                library,
                key,
                None,
                from,
                &mut built.jobs,
                &mut built.removed,
            );
        }
    }
    let topics = if config.topics {
        library.topics()
    } else {
        Vec::new()
    };
    topic_jobs(library, change, &topics, prints, from, &mut built);
    if change.full || change.any {
        let listed: Vec<Scope<'_>> = topics
            .iter()
            .map(|t| Scope::of_topic(config, t, Vec::new(), Vec::new()))
            .collect();
        scope_pages(&city, &mut pages);
        directory_pages(&city, &districts, &listed, &mut pages);
        prints.update(
            library,
            ScopeKey::All,
            None,
            from,
            &mut built.jobs,
            &mut built.removed,
        );
        let lists: Vec<&Scope<'_>> = std::iter::once(&city)
            .chain(&districts)
            .chain(&listed)
            .collect();
        sitemap_pages(library, change, prints, &lists, &mut built, &mut pages);
    }
    if change.full || change.any || change.clock {
        let now = chrono::Utc::now().fixed_offset();
        pages.push(Ok(sitemaps::news_sitemap(library, now)));
    }
    if change.full {
        pages.extend([Ok(sitemaps::robots(config)), Ok(logo())]);
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

/// `/logo.svg`, the built-in logo: the same bytes in every build.
fn logo() -> Page {
    Page {
        path: format!("/{}", render::html::LOGO_FILE),
        file: render::html::LOGO_FILE.into(),
        kind: Kind::Logo,
        body: render::html::LOGO.to_vec(),
        last_modified: DateTime::UNIX_EPOCH.fixed_offset(),
    }
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
            render::html::LOGO_FILE,
        ]
        .map(String::from),
    );
    let mut scopes = vec![ScopeKey::All];
    scopes.extend(
        config
            .districts
            .iter()
            .map(|d| ScopeKey::District(d.slug.clone())),
    );
    if config.topics {
        files.extend(["topics/index.html".to_string(), "topics.opml".to_string()]);
        scopes.extend(library.topics().into_iter().map(|t| ScopeKey::Topic(t.key)));
    }
    for scope in scopes {
        let prefix = scope_dir(&scope);
        files.extend(
            FeedKind::ALL
                .iter()
                .map(|k| format!("{prefix}{}", k.file_name())),
        );
        if scope != ScopeKey::All {
            files.insert(format!("{prefix}index.html"));
        }
        let docs = render::archive_count(library.count(scope.which()), config.feed_limit);
        for number in 1..=docs {
            for feed in render::ARCHIVE_FORMATS {
                files.insert(archive_file(&scope, feed, number));
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
