//! The immutable map the server answers from: decoded path to resource,
//! with every header value prepared once per build, never per request.
//! It is made from the pipeline's typed outputs; the server never sees
//! the library. Feeds and index pages are held in memory; article pages
//! and archive documents are read from the files crier wrote for them,
//! or rendered on their first request while those files are not written
//! yet (the map names the file: no request path reaches the file system).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::SystemTime;

use bytes::Bytes;
use chrono::{DateTime, FixedOffset};
use hyper::header::HeaderValue;

use super::negotiate::Coding;
use crate::config::Config;
use crate::metrics::Route;
use crate::output::{BuildError, Encoded, Kind, Output, Page};
use crate::site::Job;

pub struct Variant {
    pub body: Bytes,
    pub etag: HeaderValue,
}

impl Variant {
    fn new(e: &Encoded) -> Variant {
        Variant {
            body: e.bytes.clone(),
            // Hex in quotes: always a valid header value.
            etag: HeaderValue::from_str(&e.etag).unwrap_or(HeaderValue::from_static("\"\"")),
        }
    }
}

pub struct Resource {
    pub kind: Kind,
    pub route: Route,
    pub content_type: HeaderValue,
    pub last_modified: SystemTime,
    pub last_modified_header: HeaderValue,
    /// WebSub discovery of a feed: its hubs and its own URL.
    pub link: Option<HeaderValue>,
    /// `Cache-Control` other than the site's (closed archive documents).
    pub cache_control: Option<HeaderValue>,
    pub stored: Stored,
}

/// Where a resource's bytes are.
pub enum Stored {
    Memory(Box<Variants>),
    /// The file of the identity encoding in the output folder, with its
    /// `.gz` and `.br` siblings beside it.
    Disk(PathBuf),
    /// Not written yet: rendered on its first request, then kept until
    /// its file is written.
    Lazy(Box<Lazy>),
}

pub struct Lazy {
    job: Job,
    /// Boxed: most lazy resources are never requested before their file
    /// is written, and 100,000 empty slots should cost little.
    rendered: OnceLock<Box<Variants>>,
}

pub struct Variants {
    identity: Variant,
    gzip: Variant,
    br: Variant,
}

impl Variants {
    fn new(o: &Output) -> Variants {
        Variants {
            identity: Variant::new(&o.body),
            gzip: Variant::new(&o.gzip),
            br: Variant::new(&o.br),
        }
    }

    pub fn get(&self, coding: Coding) -> &Variant {
        match coding {
            Coding::Br => &self.br,
            Coding::Gzip => &self.gzip,
            Coding::Identity => &self.identity,
        }
    }
}

/// What renders lazy resources: the config and where the articles are.
struct Source {
    config: Arc<Config>,
    content: PathBuf,
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
    source: Arc<Source>,
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
    /// No routes yet, for `config`, whose lazy resources read articles
    /// from `content`.
    pub fn new(config: Arc<Config>, content: &Path) -> Routes {
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
            source: Arc::new(Source {
                config,
                content: content.to_path_buf(),
            }),
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
        if self.source.config.is_retired(path) {
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

    /// The bytes of a lazy resource, rendered now if they are not yet.
    pub fn render<'a>(&self, lazy: &'a Lazy) -> Result<&'a Variants, BuildError> {
        if let Some(v) = lazy.rendered.get() {
            return Ok(v);
        }
        let source = &self.source;
        let output = lazy
            .job
            .render(&source.config, &source.content)
            .and_then(Page::finish)?;
        Ok(lazy
            .rendered
            .get_or_init(|| Box::new(Variants::new(&output))))
    }

    /// Removes the resources of these (URL path, file) pairs.
    pub fn remove(&mut self, removed: &[(String, PathBuf)]) {
        for (path, _) in removed {
            let path = decode(path).unwrap_or_else(|| path.clone());
            if path.ends_with('/') {
                self.map.remove(&format!("{path}index.html"));
            }
            self.map.remove(&path);
        }
    }

    /// Adds an output: in memory, or from its file in `out` if its kind
    /// is served from disk and it has been written there.
    pub fn insert_output(&mut self, o: &Output, out: Option<&Path>) {
        let stored = match out {
            Some(out) if !o.kind.in_memory() => Stored::Disk(out.join(&o.file)),
            _ => Stored::Memory(Box::new(Variants::new(o))),
        };
        self.insert(&o.path, o.kind, o.last_modified, stored);
    }

    /// Adds a job's output: from its file in `out` if it is written
    /// there, else rendered on request.
    pub fn insert_job(&mut self, job: &Job, out: Option<&Path>) {
        let stored = match out {
            Some(out) => Stored::Disk(out.join(job.file())),
            None => Stored::Lazy(Box::new(Lazy {
                job: job.clone(),
                rendered: OnceLock::new(),
            })),
        };
        self.insert(&job.path(), job.kind(), job.last_modified(), stored);
    }

    /// Whether `url` is the public URL of a subscription feed here.
    pub fn is_feed_url(&self, url: &str) -> bool {
        let Some(path) = url.strip_prefix(self.source.config.base_url.as_str()) else {
            return false;
        };
        let path = format!("/{path}");
        matches!(self.answer(&path), Answer::Resource(r) if r.kind.is_feed())
    }

    fn insert(
        &mut self,
        path: &str,
        kind: Kind,
        last_modified: DateTime<FixedOffset>,
        stored: Stored,
    ) {
        // Whole seconds: HTTP dates have no fractions, and a client's
        // If-Modified-Since must compare equal to what it was sent.
        let secs = last_modified.timestamp().max(0) as u64;
        let last_modified = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(secs);
        let config = &self.source.config;
        let link = (kind.is_feed() && !config.hubs.is_empty())
            .then(|| {
                let own = config.url(path.trim_start_matches('/'));
                let mut v: Vec<String> = config
                    .hubs
                    .iter()
                    .map(|hub| format!("<{hub}>; rel=\"hub\""))
                    .collect();
                v.push(format!("<{own}>; rel=\"self\""));
                HeaderValue::from_str(&v.join(", ")).ok()
            })
            .flatten();
        let resource = Arc::new(Resource {
            kind,
            route: kind.route(),
            link,
            cache_control: kind.cache_control().map(HeaderValue::from_static),
            content_type: HeaderValue::from_static(kind.content_type()),
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
