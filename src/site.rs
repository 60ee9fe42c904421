//! The built site: every path of the URL space with its bytes. Immutable
//! once built; the same articles always give the same site.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use chrono::{DateTime, FixedOffset};
use rayon::prelude::*;
use sha2::{Digest, Sha256};

use crate::compress::Effort;
use crate::config::Config;
use crate::content::{Article, Body};
use crate::library::{Change, Library};
use crate::render::{self, FeedKind, Scope};

#[derive(Debug, Clone)]
pub struct Output {
    /// URL path as a client sends it, percent-encoded: `/xiaodian/rss.xml`.
    pub path: String,
    /// File inside the output folder: `xiaodian/rss.xml`.
    pub file: PathBuf,
    pub content_type: &'static str,
    /// The bytes, then gzip and brotli of them.
    pub body: Encoded,
    pub gzip: Encoded,
    pub br: Encoded,
    /// Newest change of what the bytes show (for Last-Modified).
    pub last_modified: DateTime<FixedOffset>,
}

/// One encoding of an output, with its strong ETag: a hash of exactly
/// these bytes, so every replica agrees and a new body gets a new tag.
#[derive(Debug, Clone)]
pub struct Encoded {
    pub bytes: Bytes,
    /// With the quotes: `"3f2a…"`.
    pub etag: String,
}

impl Output {
    /// Whether this is an article's page (not an index page or a feed).
    pub fn is_article_page(&self) -> bool {
        self.content_type == HTML && !self.path.ends_with('/')
    }
}

impl Encoded {
    pub fn new(bytes: Vec<u8>) -> Encoded {
        Encoded {
            etag: etag(&bytes),
            bytes: Bytes::from(bytes),
        }
    }
}

/// The strong ETag of exactly these bytes, quoted: the first 128 bits of
/// their SHA-256 in hex.
pub fn etag(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let mut tag = String::with_capacity(34);
    tag.push('"');
    for b in &digest[..16] {
        tag.push(char::from(HEX[usize::from(b >> 4)]));
        tag.push(char::from(HEX[usize::from(b & 15)]));
    }
    tag.push('"');
    tag
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// A rendered file before compression.
pub struct Page {
    path: String,
    file: PathBuf,
    content_type: &'static str,
    body: Vec<u8>,
    last_modified: DateTime<FixedOffset>,
}

impl Page {
    /// Feeds and index pages are fetched over and over: worth the effort.
    /// Article pages are many and each is read a few times.
    pub(crate) fn effort(&self) -> Effort {
        let article =
            self.file.extension().is_some_and(|e| e == "html") && !self.path.ends_with('/');
        // Archive documents are many at archive scale and rarely fetched.
        if article || self.file.starts_with("archive") || self.path.contains("/archive/") {
            Effort::Fast
        } else {
            Effort::Best
        }
    }

    pub(crate) fn file(&self) -> &std::path::Path {
        &self.file
    }

    pub(crate) fn body(&self) -> &[u8] {
        &self.body
    }

    /// Index pages and the OPML link to everything else: written last.
    pub(crate) fn is_late(&self) -> bool {
        is_late(&self.path)
    }

    pub(crate) fn finish(self) -> Output {
        let effort = self.effort();
        Output {
            gzip: Encoded::new(crate::compress::gzip(&self.body, effort)),
            br: Encoded::new(crate::compress::brotli(&self.body, effort)),
            body: Encoded::new(self.body),
            path: self.path,
            file: self.file,
            content_type: self.content_type,
            last_modified: self.last_modified,
        }
    }
}

/// What is rendered from the whole library: the feeds, the index and
/// district pages and the OPML. Article pages are rendered as their files
/// are read ([`article_page`]) and are not held here.
#[derive(Debug, Default)]
pub struct Site {
    /// Sorted by path.
    pub outputs: Vec<Output>,
}

fn content_type(kind: FeedKind) -> &'static str {
    match kind {
        FeedKind::Rss => "application/rss+xml; charset=utf-8",
        FeedKind::Atom => "application/atom+xml; charset=utf-8",
        FeedKind::Json => "application/feed+json; charset=utf-8",
    }
}

pub const HTML: &str = "text/html; charset=utf-8";
pub const OPML: &str = "text/x-opml; charset=utf-8";

/// What a refresh changes on the site: outputs to (re)place and paths to
/// remove.
#[derive(Debug, Default)]
pub struct Delta {
    pub outputs: Vec<Output>,
    /// (URL path, file in the output folder) of pages that are gone.
    pub removed: Vec<(String, PathBuf)>,
}

fn feed_page(scope: &Scope<'_>, kind: FeedKind) -> Page {
    let prefix = scope.prefix();
    let body = match kind {
        FeedKind::Rss => render::rss::render(scope),
        FeedKind::Atom => render::atom::render(scope),
        FeedKind::Json => render::json::render(scope),
    };
    Page {
        path: format!("/{prefix}{}", kind.file_name()),
        file: PathBuf::from(format!("{prefix}{}", kind.file_name())),
        content_type: content_type(kind),
        body,
        last_modified: scope.updated(),
    }
}

/// One archive document (RFC 5005) of a scope, before rendering.
pub struct Archive<'a> {
    pub district: Option<&'a crate::config::District>,
    pub kind: FeedKind,
    pub number: usize,
    pub of: usize,
    pub items: Vec<&'a Article>,
}

impl Archive<'_> {
    /// Closed documents never change (while no old article is edited,
    /// deleted or back-dated): only the newest grows.
    pub fn closed(&self) -> bool {
        self.number < self.of
    }

    /// Its file in the output folder: `xiaodian/archive/rss-3.xml`.
    pub fn file(&self) -> String {
        let prefix = self
            .district
            .map(|d| format!("{}/", d.slug))
            .unwrap_or_default();
        format!("{prefix}{}", render::archive_file(self.kind, self.number))
    }

    pub fn content_type(&self) -> &'static str {
        content_type(self.kind)
    }

    /// The newest change of its items.
    pub fn last_modified(&self) -> DateTime<FixedOffset> {
        self.items
            .iter()
            .map(|a| a.updated)
            .max()
            .unwrap_or_else(|| DateTime::UNIX_EPOCH.fixed_offset())
    }

    pub fn page(&self, library: &Library) -> Page {
        let mut scope = Scope::bare(&library.config, self.district);
        scope.articles = self.items.clone();
        scope.total = library.count(self.district.map(|d| d.slug.as_str()));
        let doc = render::Doc::Archive {
            number: self.number,
            of: self.of,
        };
        let body = match self.kind {
            FeedKind::Atom => render::atom::render_doc(&scope, doc),
            _ => render::rss::render_doc(&scope, doc),
        };
        let file = self.file();
        Page {
            path: format!("/{file}"),
            file: PathBuf::from(file),
            content_type: content_type(self.kind),
            body,
            last_modified: scope.updated(),
        }
    }
}

/// The archive documents of the scopes `districts` (`None`: the combined
/// feeds), RSS and Atom.
pub fn archives<'a>(
    library: &'a Library,
    scopes: &[Option<&'a crate::config::District>],
) -> Vec<Archive<'a>> {
    let mut out = Vec::new();
    for district in scopes {
        let pages = library.archived(district.map(|d| d.slug.as_str()));
        let of = pages.len();
        for (i, items) in pages.into_iter().enumerate() {
            for kind in [FeedKind::Rss, FeedKind::Atom] {
                out.push(Archive {
                    district: *district,
                    kind,
                    number: i + 1,
                    of,
                    items: items.clone(),
                });
            }
        }
    }
    out
}

/// Every scope: the combined feeds, then each district.
pub fn all_scopes(config: &Config) -> Vec<Option<&crate::config::District>> {
    std::iter::once(None)
        .chain(config.districts.iter().map(Some))
        .collect()
}

/// A scope's three feeds, and its page for a district.
fn scope_pages(scope: &Scope<'_>) -> Vec<Page> {
    let mut pages: Vec<Page> = FeedKind::ALL.iter().map(|k| feed_page(scope, *k)).collect();
    if scope.district.is_some() {
        let prefix = scope.prefix();
        pages.push(Page {
            path: format!("/{prefix}"),
            file: PathBuf::from(format!("{prefix}index.html")),
            content_type: HTML,
            body: render::html::district(scope),
            last_modified: scope.updated(),
        });
    }
    pages
}

/// The index page and the OPML, which list every scope.
fn directory_pages(city: &Scope<'_>, districts: &[Scope<'_>]) -> Vec<Page> {
    let updated = districts
        .iter()
        .map(Scope::updated)
        .fold(city.updated(), |a, b| a.max(b));
    let all: Vec<&Scope<'_>> = std::iter::once(city).chain(districts).collect();
    vec![
        Page {
            path: "/".into(),
            file: PathBuf::from("index.html"),
            content_type: HTML,
            body: render::html::index(city, districts),
            last_modified: city.updated(),
        },
        Page {
            path: "/feeds.opml".into(),
            file: PathBuf::from("feeds.opml"),
            content_type: OPML,
            body: render::opml::render(&all),
            last_modified: updated,
        },
    ]
}

/// The bytes of an article's page.
pub fn article_page(config: &Config, a: &Article, body: &Body) -> Vec<u8> {
    let district = a.district.as_deref().and_then(|d| config.district(d));
    render::html::article(&Scope::bare(config, district), a, body)
}

pub(crate) fn article_output(config: &Config, a: &Article, body: &Body) -> Page {
    Page {
        path: format!("/{}", a.path),
        file: a.file.clone(),
        content_type: HTML,
        body: article_page(config, a, body),
        last_modified: a.updated,
    }
}

fn finish(pages: Vec<Page>) -> Vec<Output> {
    let mut outputs: Vec<Output> = pages.into_par_iter().map(Page::finish).collect();
    outputs.sort_by(|a, b| a.path.cmp(&b.path));
    outputs
}

/// Whether a path is written after the others (see [`Page::is_late`]).
pub(crate) fn is_late(path: &str) -> bool {
    path.ends_with('/') || path == "/feeds.opml"
}

impl Site {
    /// The feeds and index pages of the library.
    pub fn build(library: &Library) -> Site {
        Site {
            outputs: finish(Site::pages(library)),
        }
    }

    /// The same, not yet compressed: `crier build` compresses only what
    /// changed.
    pub fn pages(library: &Library) -> Vec<Page> {
        let config = &library.config;
        let city = Scope::new(library, None);
        let districts: Vec<Scope<'_>> = config
            .districts
            .iter()
            .map(|d| Scope::new(library, Some(d)))
            .collect();
        let mut pages = scope_pages(&city);
        for d in &districts {
            pages.extend(scope_pages(d));
        }
        pages.extend(directory_pages(&city, &districts));
        pages
    }
}

impl Delta {
    /// Only what `change` touches: the pages of changed articles, the feeds
    /// and pages of their districts, and the combined feeds, index and
    /// OPML. Everything else keeps its bytes and its ETag.
    pub fn render(library: &Library, change: &Change) -> Delta {
        let config = &library.config;
        let city = Scope::new(library, None);
        // Every district's scope (cheap: its newest items and a count); the
        // index lists them all. Only the changed ones are rendered.
        let districts: Vec<Scope<'_>> = config
            .districts
            .iter()
            .map(|d| Scope::new(library, Some(d)))
            .collect();
        // The latest reading of each changed page that is still current.
        let mut latest: BTreeMap<&str, &(Arc<Article>, Arc<Body>)> = BTreeMap::new();
        for page in &change.pages {
            if library.is_current(&page.0) {
                latest.insert(page.0.path.as_str(), page);
            }
        }
        let mut pages: Vec<Page> = latest
            .values()
            .map(|(a, body)| article_output(config, a, body))
            .collect();
        for d in districts.iter().filter(|s| {
            s.district
                .is_some_and(|d| change.districts.contains(&d.slug))
        }) {
            pages.extend(scope_pages(d));
        }
        if change.any {
            pages.extend(scope_pages(&city));
            pages.extend(directory_pages(&city, &districts));
        }
        let mut removed: Vec<(String, PathBuf)> = change
            .gone
            .iter()
            .filter(|a| !library.has_page(&a.path))
            .map(|a| (format!("/{}", a.path), a.file.clone()))
            .collect();
        removed.sort();
        removed.dedup();
        Delta {
            outputs: finish(pages),
            removed,
        }
    }
}
