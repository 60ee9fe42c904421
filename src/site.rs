//! The built site: every path of the URL space with its bytes. Immutable
//! once built; the same articles always give the same site.

use std::path::PathBuf;

use bytes::Bytes;
use chrono::{DateTime, FixedOffset};
use rayon::prelude::*;
use sha2::{Digest, Sha256};

use crate::compress::Effort;
use crate::config::Config;
use crate::content::Article;
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

impl Encoded {
    pub fn new(bytes: Vec<u8>) -> Encoded {
        let digest = Sha256::digest(&bytes);
        let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
        Encoded {
            bytes: Bytes::from(bytes),
            etag: format!("\"{hex}\""),
        }
    }
}

/// A rendered file before compression.
struct Page {
    path: String,
    file: PathBuf,
    content_type: &'static str,
    body: Vec<u8>,
    last_modified: DateTime<FixedOffset>,
}

impl Page {
    fn effort(&self) -> Effort {
        if self.path.ends_with(".html") {
            Effort::Fast
        } else {
            Effort::Max
        }
    }

    fn finish(self) -> Output {
        Output {
            gzip: Encoded::new(crate::compress::gzip(&self.body)),
            br: Encoded::new(crate::compress::brotli(&self.body, self.effort())),
            body: Encoded::new(self.body),
            path: self.path,
            file: self.file,
            content_type: self.content_type,
            last_modified: self.last_modified,
        }
    }
}

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

impl Site {
    pub fn build(config: &Config, articles: &[Article]) -> Site {
        let city = Scope::new(config, None, articles);
        let districts: Vec<Scope<'_>> = config
            .districts
            .iter()
            .map(|d| Scope::new(config, Some(d), articles))
            .collect();

        let mut pages: Vec<Page> = articles
            .par_iter()
            .map(|a| {
                let scope = a
                    .district
                    .as_deref()
                    .and_then(|slug| {
                        districts
                            .iter()
                            .find(|s| s.district.is_some_and(|d| d.slug == slug))
                    })
                    .unwrap_or(&city);
                Page {
                    path: format!("/{}", a.path),
                    file: a.file.clone(),
                    content_type: HTML,
                    body: render::html::article(scope, a),
                    last_modified: a.updated,
                }
            })
            .collect();

        for scope in std::iter::once(&city).chain(&districts) {
            let prefix = scope.prefix();
            let updated = scope.updated();
            for kind in FeedKind::ALL {
                let body = match kind {
                    FeedKind::Rss => render::rss::render(scope),
                    FeedKind::Atom => render::atom::render(scope),
                    FeedKind::Json => render::json::render(scope),
                };
                pages.push(Page {
                    path: format!("/{prefix}{}", kind.file_name()),
                    file: PathBuf::from(format!("{prefix}{}", kind.file_name())),
                    content_type: content_type(kind),
                    body,
                    last_modified: updated,
                });
            }
            let body = match scope.district {
                Some(_) => render::html::district(scope),
                None => render::html::index(&city, &districts),
            };
            pages.push(Page {
                path: format!("/{prefix}"),
                file: PathBuf::from(format!("{prefix}index.html")),
                content_type: HTML,
                body,
                last_modified: updated,
            });
        }

        let all: Vec<Scope<'_>> = std::iter::once(city).chain(districts).collect();
        pages.push(Page {
            path: "/feeds.opml".into(),
            file: PathBuf::from("feeds.opml"),
            content_type: OPML,
            body: render::opml::render(&all),
            last_modified: all
                .iter()
                .map(Scope::updated)
                .max()
                .unwrap_or(DateTime::UNIX_EPOCH.fixed_offset()),
        });
        let mut outputs: Vec<Output> = pages.into_par_iter().map(Page::finish).collect();
        outputs.sort_by(|a, b| a.path.cmp(&b.path));
        Site { outputs }
    }

    pub fn get(&self, path: &str) -> Option<&Output> {
        self.outputs
            .binary_search_by(|o| o.path.as_str().cmp(path))
            .ok()
            .map(|i| &self.outputs[i])
    }
}
