//! Rendering: one module per output format. Each takes a [`Scope`] (the
//! combined feed or one district) and returns bytes; none reads the clock,
//! so the same articles always give the same bytes.

pub mod atom;
pub mod html;
pub mod json;
pub mod meta;
pub mod names;
pub mod opml;
pub mod rss;
pub mod sitemap;
pub mod text;

use std::sync::Arc;

use chrono::{DateTime, FixedOffset};

use crate::config::{Config, District};
use crate::content::{Article, Body};
use crate::library::{Library, ScopeKey, Topic};

/// A document the feed libraries could not write. Never replaced by an
/// empty body: it reaches the log, /metrics and the exit code.
#[derive(Debug, thiserror::Error)]
#[error("cannot render the {format} document: {message}")]
pub struct RenderError {
    pub format: &'static str,
    pub message: String,
}

/// The three feed formats, each served at a fixed name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedKind {
    Rss,
    Atom,
    Json,
}

impl FeedKind {
    pub const ALL: [FeedKind; 3] = [FeedKind::Rss, FeedKind::Atom, FeedKind::Json];

    pub fn file_name(self) -> &'static str {
        match self {
            FeedKind::Rss => "rss.xml",
            FeedKind::Atom => "atom.xml",
            FeedKind::Json => "feed.json",
        }
    }

    pub fn media_type(self) -> &'static str {
        match self {
            FeedKind::Rss => "application/rss+xml",
            FeedKind::Atom => "application/atom+xml",
            FeedKind::Json => "application/feed+json",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            FeedKind::Rss => "RSS",
            FeedKind::Atom => "Atom",
            FeedKind::Json => "JSON Feed",
        }
    }
}

/// What one set of feeds covers: the whole city, one district or one
/// topic.
pub struct Scope<'a> {
    pub config: &'a Config,
    pub district: Option<&'a District>,
    pub topic: Option<&'a Topic>,
    /// Newest first, at most `feed_limit`.
    pub articles: Vec<&'a Article>,
    /// The body of each of `articles`.
    pub bodies: Vec<Arc<Body>>,
    /// The summary of each of `articles`, where there are no bodies
    /// (archive documents).
    pub summaries: Vec<Arc<str>>,
    /// All articles of the scope, before the limit.
    pub total: usize,
}

impl<'a> Scope<'a> {
    /// The scope of `district` (`None`: the whole city) in `library`.
    pub fn new(library: &'a Library, district: Option<&'a District>) -> Self {
        let config = &library.config;
        let slug = district.map(|d| d.slug.as_str());
        let mut articles = Vec::new();
        let mut bodies = Vec::new();
        for a in library.newest(slug, config.feed_limit) {
            match library.body(a) {
                Ok(b) => {
                    articles.push(a);
                    bodies.push(b);
                }
                // Its file changed or broke since it was read: the
                // refresh that follows puts it right.
                Err(e) => {
                    tracing::error!("{}: {e}; left out of the feeds for now", a.source.display())
                }
            }
        }
        Scope {
            config,
            district,
            topic: None,
            articles,
            bodies,
            summaries: Vec::new(),
            total: library.count(slug),
        }
    }

    /// A topic's scope with its newest articles and their bodies (read
    /// by the caller: a topic's are mostly not in memory).
    pub fn of_topic(
        config: &'a Config,
        topic: &'a Topic,
        articles: Vec<&'a Article>,
        bodies: Vec<Arc<Body>>,
    ) -> Self {
        Scope {
            config,
            district: None,
            topic: Some(topic),
            articles,
            bodies,
            summaries: Vec::new(),
            total: topic.count,
        }
    }

    /// The scope with no articles: what an article's page needs of it.
    pub fn bare(config: &'a Config, district: Option<&'a District>) -> Self {
        Scope {
            config,
            district,
            topic: None,
            articles: Vec::new(),
            bodies: Vec::new(),
            summaries: Vec::new(),
            total: 0,
        }
    }

    /// The articles with their bodies.
    pub fn items(&self) -> impl Iterator<Item = (&'a Article, &Body)> {
        self.articles
            .iter()
            .copied()
            .zip(self.bodies.iter().map(|b| b.as_ref()))
    }

    /// The articles with what the scope has of their text: (article,
    /// HTML, summary). An archive document has summaries only. An
    /// article with no text at all has its title for a summary: an
    /// archive's entry must have some (Atom's "textual content").
    pub fn items_maybe(&self) -> impl Iterator<Item = Text<'a, '_>> {
        self.articles.iter().copied().enumerate().map(|(i, a)| {
            let body = self.bodies.get(i);
            let summary = body
                .map(|b| b.summary.as_str())
                .or(self.summaries.get(i).map(|s| &**s));
            Text {
                article: a,
                html: body.map(|b| b.html.as_str()),
                summary: summary.map(|s| if s.is_empty() { a.title.as_str() } else { s }),
            }
        })
    }

    /// How many archive documents (RFC 5005) hold the articles beyond the
    /// newest `feed_limit`, oldest first, `feed_limit` to a document.
    pub fn archive_count(&self) -> usize {
        archive_count(self.total, self.config.feed_limit)
    }

    /// URL of a document of this scope: the feed, or archive `n`.
    pub fn doc_url(&self, kind: FeedKind, doc: Doc) -> String {
        match doc {
            Doc::Current => self.feed_url(kind),
            Doc::Archive { number, .. } => self.config.url(&format!(
                "{}{}",
                self.prefix(),
                names::archive_in_scope(Some(kind), number)
            )),
        }
    }

    /// URL path prefix of the scope, percent-encoded: ``, `xiaodian/`,
    /// `topics/%E5%8A%B3%E6%A8%A1/`.
    pub fn prefix(&self) -> String {
        crate::content::encode_path(&names::scope_dir(&self.key()))
    }

    /// Which scope it is.
    pub fn key(&self) -> ScopeKey {
        match (self.topic, self.district) {
            (Some(t), _) => ScopeKey::Topic(t.key.clone()),
            (None, Some(d)) => ScopeKey::District(d.slug.clone()),
            (None, None) => ScopeKey::All,
        }
    }

    /// The name of what it covers: the district's or the topic's.
    pub fn name(&self) -> Option<&'a str> {
        self.topic
            .map(|t| t.name.as_str())
            .or(self.district.map(|d| d.name.as_str()))
    }

    pub fn title(&self) -> String {
        match self.name() {
            Some(n) => format!("{} · {n}", self.config.title),
            None => self.config.title.clone(),
        }
    }

    pub fn description(&self) -> String {
        let d = match (self.topic, self.district) {
            (Some(t), _) => format!("{}：{}", self.config.title, t.name),
            (None, Some(d)) if !d.description.is_empty() => d.description.clone(),
            (None, Some(d)) => d.name.clone(),
            (None, None) => self.config.description.clone(),
        };
        if d.is_empty() { self.title() } else { d }
    }

    pub fn page_url(&self) -> String {
        self.config.url(&self.prefix())
    }

    /// URL of HTML archive page `number`.
    pub fn archive_page_url(&self, number: usize) -> String {
        self.config.url(&format!(
            "{}{}",
            self.prefix(),
            names::archive_in_scope(None, number)
        ))
    }

    pub fn feed_url(&self, kind: FeedKind) -> String {
        self.config
            .url(&format!("{}{}", self.prefix(), kind.file_name()))
    }

    /// The newest change of any item in the feed: never the build time, so
    /// an unchanged feed keeps its bytes. An empty feed says 1970.
    /// A topic listed without its articles: the newest change of any.
    pub fn updated(&self) -> DateTime<FixedOffset> {
        let listed = self.topic.filter(|_| self.articles.is_empty());
        self.articles
            .iter()
            .map(|a| a.updated)
            .max()
            .or(listed.map(|t| t.updated))
            .unwrap_or_else(|| DateTime::UNIX_EPOCH.fixed_offset())
    }

    /// Name of an article's district, used as an extra category.
    pub fn district_name(&self, a: &Article) -> Option<&'a str> {
        a.district
            .as_deref()
            .and_then(|s| self.config.district(s))
            .map(|d| d.name.as_str())
    }

    /// The article's categories: its tags, then its district's name.
    pub fn categories(&self, a: &Article) -> Vec<String> {
        let mut c = a.tags.clone();
        if let Some(n) = self.district_name(a)
            && !c.iter().any(|t| t == n)
        {
            c.push(n.to_string());
        }
        c
    }
}

/// An item of a feed with what its document shows of its text.
pub struct Text<'a, 's> {
    pub article: &'a Article,
    pub html: Option<&'s str>,
    pub summary: Option<&'s str>,
}

/// Which document of a feed: the subscription feed, or an archive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Doc {
    Current,
    /// Archive `number` of `of` (1 is the oldest).
    Archive {
        number: usize,
        of: usize,
    },
}

/// Archive documents for `total` articles with `limit` per feed.
pub fn archive_count(total: usize, limit: usize) -> usize {
    total.saturating_sub(limit).div_ceil(limit.max(1))
}

/// The archive links (RFC 5005) of a document: (rel, URL).
pub fn archive_links(scope: &Scope<'_>, kind: FeedKind, doc: Doc) -> Vec<(&'static str, String)> {
    match doc {
        Doc::Current => {
            let of = scope.archive_count();
            if of == 0 {
                Vec::new()
            } else {
                vec![(
                    "prev-archive",
                    scope.doc_url(kind, Doc::Archive { number: of, of }),
                )]
            }
        }
        Doc::Archive { number, of } => {
            let mut links = vec![("current", scope.feed_url(kind))];
            if number > 1 {
                links.push((
                    "prev-archive",
                    scope.doc_url(
                        kind,
                        Doc::Archive {
                            number: number - 1,
                            of,
                        },
                    ),
                ));
            }
            if number < of {
                links.push((
                    "next-archive",
                    scope.doc_url(
                        kind,
                        Doc::Archive {
                            number: number + 1,
                            of,
                        },
                    ),
                ));
            }
            links
        }
    }
}

/// The built-in logo: the publisher's logo in JSON-LD and the pages'
/// icon, at `/logo.svg`.
pub const LOGO: &[u8] = include_bytes!("logo.svg");
/// The built-in icon browsers ask for at `/favicon.ico` (a 16 × 16
/// square of the logo's red), until `static/favicon.ico` replaces it.
pub const FAVICON: &[u8] = include_bytes!("favicon.ico");
/// The logo's size in pixels (its `width` and `height`).
pub const LOGO_SIZE: u32 = 512;

/// The namespace of `fh:archive`.
pub const HISTORY_NS: &str = "http://purl.org/syndication/history/1.0";

/// Media RSS, which Google News, Flipboard, MSN and SmartNews read.
pub const MEDIA_NS: &str = "http://search.yahoo.com/mrss/";

/// An article's image as the feeds carry it: its URL, its type and
/// length (the file's, when it is one of the site's; else the type its
/// name says and no length) and, for a file of the site, what else is
/// known of it.
pub struct ImageOf<'a> {
    pub url: &'a str,
    pub media_type: &'a str,
    pub length: Option<u64>,
    pub file: Option<&'a crate::content::MediaFacts>,
    pub text: Option<&'a crate::content::ImageText>,
}

pub fn image_of(a: &Article) -> Option<ImageOf<'_>> {
    let url = a.image.as_deref()?;
    let file = a.image_file.as_deref();
    Some(ImageOf {
        url,
        media_type: file.map_or_else(|| image_type(url), |f| f.media_type.as_str()),
        length: file.map(|f| f.length),
        file,
        text: a.image_text.as_deref(),
    })
}

/// Media type of an image URL, from its extension.
pub fn image_type(url: &str) -> &'static str {
    let path = url
        .split(['?', '#'])
        .next()
        .unwrap_or(url)
        .to_ascii_lowercase();
    match path.rsplit('.').next() {
        Some("png") => "image/png",
        Some("gif") => "image/gif",
        Some("webp") => "image/webp",
        Some("svg") => "image/svg+xml",
        Some("avif") => "image/avif",
        _ => "image/jpeg",
    }
}

/// Escapes text for HTML and XML (one rule for templates and feeds).
pub use crate::templates::escape;
