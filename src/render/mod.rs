//! Rendering: one module per output format. Each takes a [`Scope`] (the
//! combined feed or one district) and returns bytes; none reads the clock,
//! so the same articles always give the same bytes.

pub mod atom;
pub mod html;
pub mod json;
pub mod opml;
pub mod rss;
pub mod sitemap;

use std::sync::Arc;

use chrono::{DateTime, FixedOffset};

use crate::config::{Config, District};
use crate::content::{Article, Body};
use crate::library::Library;

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

/// What one set of feeds covers: the whole city or one district.
pub struct Scope<'a> {
    pub config: &'a Config,
    pub district: Option<&'a District>,
    /// Newest first, at most `feed_limit`.
    pub articles: Vec<&'a Article>,
    /// The body of each of `articles`.
    pub bodies: Vec<Arc<Body>>,
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
            articles,
            bodies,
            total: library.count(slug),
        }
    }

    /// The scope with no articles: what an article's page needs of it.
    pub fn bare(config: &'a Config, district: Option<&'a District>) -> Self {
        Scope {
            config,
            district,
            articles: Vec::new(),
            bodies: Vec::new(),
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

    /// The articles with their bodies where the scope has them (an
    /// archive document holds no bodies).
    pub fn items_maybe(&self) -> impl Iterator<Item = (&'a Article, Option<&Body>)> {
        self.articles
            .iter()
            .copied()
            .enumerate()
            .map(|(i, a)| (a, self.bodies.get(i).map(|b| b.as_ref())))
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
            Doc::Archive { number, .. } => {
                self.config
                    .url(&format!("{}{}", self.prefix(), archive_file(kind, number)))
            }
        }
    }

    /// Path prefix of the scope: `` or `xiaodian/`.
    pub fn prefix(&self) -> String {
        self.district
            .map(|d| format!("{}/", d.slug))
            .unwrap_or_default()
    }

    pub fn title(&self) -> String {
        match self.district {
            Some(d) => format!("{} · {}", self.config.title, d.name),
            None => self.config.title.clone(),
        }
    }

    pub fn description(&self) -> String {
        let d = match self.district {
            Some(d) if !d.description.is_empty() => d.description.clone(),
            Some(d) => d.name.clone(),
            None => self.config.description.clone(),
        };
        if d.is_empty() { self.title() } else { d }
    }

    pub fn page_url(&self) -> String {
        self.config.url(&self.prefix())
    }

    pub fn feed_url(&self, kind: FeedKind) -> String {
        self.config
            .url(&format!("{}{}", self.prefix(), kind.file_name()))
    }

    /// The newest change of any item in the feed: never the build time, so
    /// an unchanged feed keeps its bytes. An empty feed says 1970.
    pub fn updated(&self) -> DateTime<FixedOffset> {
        self.articles
            .iter()
            .map(|a| a.updated)
            .max()
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

/// File of archive `number` inside a scope's folder: `archive/rss-3.xml`.
pub fn archive_file(kind: FeedKind, number: usize) -> String {
    let name = match kind {
        FeedKind::Rss => "rss",
        FeedKind::Atom => "atom",
        FeedKind::Json => "json",
    };
    format!("archive/{name}-{number}.xml")
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

/// The namespace of `fh:archive`.
pub const HISTORY_NS: &str = "http://purl.org/syndication/history/1.0";

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

/// Escapes text for HTML and XML content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}
