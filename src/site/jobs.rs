//! The many outputs, rendered later as jobs: article pages, archive
//! documents and pages, topic feeds and pages, monthly sitemaps: their
//! documents and how each is rendered.

use super::*;

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
    pub(super) print: u64,
    /// The items' bodies, read once for the three feeds of the topic and
    /// dropped after the third has used them.
    pub(super) bodies: Arc<Shared<Arc<Body>>>,
}

/// What several outputs read from the same article files (a topic's
/// three feeds, the bodies; an archive's two documents, the summaries):
/// (outputs still to render, what was read).
#[derive(Debug, Default)]
pub struct Shared<T>(std::sync::Mutex<(usize, Option<Vec<T>>)>);

impl<T: Clone> Shared<T> {
    pub(super) fn new(users: usize) -> Shared<T> {
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
        names::scope_file(&ScopeKey::Topic(self.topic.key.clone()), self.feed)
    }

    /// Its URL path, percent-encoded.
    pub fn path(&self) -> String {
        names::path_of(&self.file())
    }

    pub(super) fn render(&self, config: &Config, content: &Path) -> Result<Page, BuildError> {
        let articles: Vec<&Article> = self.items.iter().map(|a| a.as_ref()).collect();
        let failed = |message: String| BuildError::Source {
            path: self.path(),
            message,
        };
        let body = match self.feed {
            None => {
                let scope = Scope::of_topic(config, &self.topic, articles, Vec::new());
                render::html::district(&scope).map_err(|source| BuildError::Render {
                    path: self.path(),
                    source,
                })?
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

    pub(super) fn kind(&self) -> Kind {
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
    pub(super) print: u64,
    /// The items' summaries, read once for the RSS and Atom documents.
    pub(super) summaries: Arc<Shared<Arc<str>>>,
}

impl ArchiveDoc {
    /// Its file in the output folder: `xiaodian/archive/rss-3.xml`.
    pub fn file(&self) -> String {
        names::archive(&self.scope, self.feed, self.number)
    }

    pub(super) fn kind(&self) -> Kind {
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

pub(super) fn newest(dates: impl Iterator<Item = DateTime<FixedOffset>>) -> DateTime<FixedOffset> {
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

pub(super) fn archive_page(
    config: &Config,
    content: &Path,
    d: &ArchiveDoc,
) -> Result<Page, BuildError> {
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
                path: names::path_of(&d.file()),
                message,
            })?;
    }
    let doc = Doc::Archive {
        number: d.number,
        of: d.of,
    };
    let file = d.file();
    let path = names::path_of(&file);
    let body = match d.feed {
        Some(FeedKind::Atom) => render::atom::render_doc(&scope, doc),
        Some(_) => render::rss::render_doc(&scope, doc),
        None => render::html::archive(&scope, d.number, d.of),
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
