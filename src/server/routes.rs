//! The immutable map the server answers from: decoded path to resource,
//! with every header value prepared once per build, never per request.
//! Feeds and index pages are held in memory; an archive's article pages
//! are read from the files crier wrote for them (the map names the file:
//! no request path ever reaches the file system).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use chrono::{DateTime, FixedOffset};

use bytes::Bytes;
use hyper::header::HeaderValue;

use std::collections::HashMap;

use super::negotiate::Coding;
use crate::config::Config;
use crate::content::Article;
use crate::metrics::Route;
use crate::site::{self, Delta, Encoded, Output};

pub struct Variant {
    pub body: Bytes,
    pub etag: HeaderValue,
    pub length: HeaderValue,
}

impl Variant {
    fn new(e: &Encoded) -> Variant {
        Variant {
            body: e.bytes.clone(),
            etag: HeaderValue::from_str(&e.etag).unwrap_or(HeaderValue::from_static("\"\"")),
            length: HeaderValue::from(e.bytes.len()),
        }
    }
}

pub struct Resource {
    pub route: Route,
    pub content_type: HeaderValue,
    pub last_modified: SystemTime,
    pub last_modified_header: HeaderValue,
    /// WebSub discovery of a feed: its hubs and its own URL.
    pub link: Option<HeaderValue>,
    /// `Cache-Control` of a closed archive document, which never changes.
    pub cache_control: Option<HeaderValue>,
    pub stored: Stored,
}

/// Where a resource's bytes are.
pub enum Stored {
    Memory(Box<Variants>),
    /// The file of the identity encoding in the output folder, with its
    /// `.gz` and `.br` siblings beside it.
    Disk(PathBuf),
}

pub struct Variants {
    identity: Variant,
    gzip: Variant,
    br: Variant,
}

impl Stored {
    pub fn variant(&self, coding: Coding) -> Option<&Variant> {
        match self {
            Stored::Memory(v) => Some(match coding {
                Coding::Br => &v.br,
                Coding::Gzip => &v.gzip,
                Coding::Identity => &v.identity,
            }),
            Stored::Disk(_) => None,
        }
    }
}

/// A persistent map: a refresh clones it in O(1) and changes a few
/// entries, so it costs the same with 1,000 articles as with 100,000.
#[derive(Clone)]
pub struct Routes {
    map: imbl::HashMap<String, Arc<Resource>>,
    /// `Cache-Control` of every resource.
    pub cache_control: HeaderValue,
    /// Moved paths (decoded) and their `Location`.
    moved: Arc<HashMap<String, HeaderValue>>,
    /// For the retired districts.
    config: Arc<Config>,
}

/// What the server answers for a path.
pub enum Answer<'a> {
    Resource(&'a Arc<Resource>),
    /// 301 to this location.
    Moved(&'a HeaderValue),
    /// 410: a retired district.
    Gone,
    /// 301 to the path with a slash (a district without its slash).
    Slash,
    NotFound,
}

impl Routes {
    pub fn new(config: &Config) -> Routes {
        let moved = config
            .redirects
            .iter()
            .filter_map(|(from, to)| Some((from.clone(), HeaderValue::from_str(to).ok()?)))
            .collect();
        Routes {
            map: imbl::HashMap::new(),
            cache_control: HeaderValue::from_str(&format!("public, max-age={}", config.max_age))
                .unwrap_or(HeaderValue::from_static("public")),
            moved: Arc::new(moved),
            config: Arc::new(config.clone()),
        }
    }

    /// The answer for a request path (percent-encoded, as sent). Redirects
    /// come first: an editor who moved a path means it.
    pub fn answer(&self, raw_path: &str) -> Answer<'_> {
        let decoded;
        let path = if raw_path.contains('%') {
            match decode(raw_path) {
                Some(p) => {
                    decoded = p;
                    decoded.as_str()
                }
                None => return Answer::NotFound,
            }
        } else {
            raw_path
        };
        if let Some(to) = self.moved.get(path) {
            return Answer::Moved(to);
        }
        if self.config.is_retired(path) {
            return Answer::Gone;
        }
        if let Some(r) = self.map.get(path) {
            return Answer::Resource(r);
        }
        if !path.ends_with('/') && self.map.contains_key(&format!("{path}/")) {
            return Answer::Slash;
        }
        Answer::NotFound
    }

    /// These routes with `delta` applied; its article pages are read from
    /// `out` if given (they have been written there).
    pub fn apply(&self, delta: &Delta, out: Option<&Path>) -> Routes {
        let mut next = self.clone();
        for (path, _) in &delta.removed {
            let path = decode(path).unwrap_or_else(|| path.clone());
            next.map.remove(&path);
        }
        let (pages, rest): (Vec<&Output>, Vec<&Output>) =
            delta.outputs.iter().partition(|o| o.is_article_page());
        match out {
            Some(out) => pages.iter().for_each(|o| {
                next.insert(
                    &o.path,
                    site::HTML,
                    o.last_modified,
                    Stored::Disk(out.join(&o.file)),
                )
            }),
            None => next.insert_outputs(pages),
        }
        next.insert_outputs(rest);
        next
    }

    /// Article pages, read from their files in `out`.
    pub fn insert_pages<'a>(&mut self, out: &Path, articles: impl Iterator<Item = &'a Article>) {
        for a in articles {
            let path = format!("/{}", a.path);
            self.insert(
                &path,
                site::HTML,
                a.updated,
                Stored::Disk(out.join(&a.file)),
            );
        }
    }

    /// Archive documents: read from their files in `out`, or held in
    /// memory without one. Closed ones may be cached for a day. Removes
    /// the documents of these scopes numbered beyond the new last one,
    /// and returns their files.
    pub fn set_archives(
        &mut self,
        archives: &[site::Archive<'_>],
        library: &crate::library::Library,
        out: Option<&Path>,
    ) -> Vec<PathBuf> {
        let mut gone = Vec::new();
        for a in archives.iter().filter(|a| a.number == a.of) {
            let prefix = a
                .district
                .map(|d| format!("{}/", d.slug))
                .unwrap_or_default();
            for number in a.of + 1.. {
                let file = format!("{prefix}{}", crate::render::archive_file(a.kind, number));
                if self.map.remove(&format!("/{file}")).is_none() {
                    break;
                }
                gone.push(PathBuf::from(file));
            }
        }
        for a in archives {
            let file = a.file();
            let stored = match out {
                Some(out) => Stored::Disk(out.join(&file)),
                None => {
                    let o = a.page(library).finish();
                    Stored::Memory(Box::new(Variants {
                        identity: Variant::new(&o.body),
                        gzip: Variant::new(&o.gzip),
                        br: Variant::new(&o.br),
                    }))
                }
            };
            let long = a
                .closed()
                .then(|| HeaderValue::from_static("public, max-age=86400"));
            self.insert_with(
                &format!("/{file}"),
                a.content_type(),
                a.last_modified(),
                stored,
                long,
            );
        }
        gone
    }

    /// Whether `url` is the public URL of a subscription feed here.
    pub fn is_feed_url(&self, url: &str) -> bool {
        let Some(path) = url.strip_prefix(self.config.base_url.as_str()) else {
            return false;
        };
        let path = format!("/{path}");
        !path.contains("/archive/")
            && matches!(self.answer(&path), Answer::Resource(r) if r.route == Route::Feed)
    }

    /// Outputs held in memory.
    pub fn insert_outputs<'a>(&mut self, outputs: impl IntoIterator<Item = &'a Output>) {
        for o in outputs {
            let stored = Stored::Memory(Box::new(Variants {
                identity: Variant::new(&o.body),
                gzip: Variant::new(&o.gzip),
                br: Variant::new(&o.br),
            }));
            self.insert(&o.path, o.content_type, o.last_modified, stored);
        }
    }

    fn insert(
        &mut self,
        path: &str,
        content_type: &'static str,
        last_modified: DateTime<FixedOffset>,
        stored: Stored,
    ) {
        self.insert_with(path, content_type, last_modified, stored, None);
    }

    fn insert_with(
        &mut self,
        path: &str,
        content_type: &'static str,
        last_modified: DateTime<FixedOffset>,
        stored: Stored,
        cache_control: Option<HeaderValue>,
    ) {
        // Whole seconds: HTTP dates have no fractions, and a client's
        // If-Modified-Since must compare equal to what it was sent.
        let secs = last_modified.timestamp().max(0) as u64;
        let last_modified = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(secs);
        let route = if path.ends_with(".xml") || path.ends_with(".json") {
            Route::Feed
        } else if path.ends_with(".opml") {
            Route::Opml
        } else {
            Route::Page
        };
        let link = (route == Route::Feed && !self.config.hubs.is_empty())
            .then(|| {
                let own = self.config.url(path.trim_start_matches('/'));
                let mut v: Vec<String> = self
                    .config
                    .hubs
                    .iter()
                    .map(|hub| format!("<{hub}>; rel=\"hub\""))
                    .collect();
                v.push(format!("<{own}>; rel=\"self\""));
                HeaderValue::from_str(&v.join(", ")).ok()
            })
            .flatten();
        let resource = Arc::new(Resource {
            route,
            link,
            cache_control,
            content_type: HeaderValue::from_static(content_type),
            last_modified,
            last_modified_header: HeaderValue::from_str(&httpdate::fmt_http_date(last_modified))
                .unwrap_or(HeaderValue::from_static("Thu, 01 Jan 1970 00:00:00 GMT")),
            stored,
        });
        let path = decode(path).unwrap_or_else(|| path.to_string());
        // `/x/` is also reachable as `/x/index.html`, its file in feeds/.
        if path.ends_with('/') {
            self.map
                .insert(format!("{path}index.html"), resource.clone());
        }
        self.map.insert(path, resource);
    }
}

/// Percent-decodes a path; `None` if the result is not UTF-8.
fn decode(path: &str) -> Option<String> {
    percent_encoding::percent_decode_str(path)
        .decode_utf8()
        .ok()
        .map(|c| c.into_owned())
}
