//! The immutable map the server answers from: decoded path to resource,
//! with every header value prepared once per build, never per request.

use std::sync::Arc;
use std::time::SystemTime;

use bytes::Bytes;
use hyper::header::HeaderValue;

use super::negotiate::Coding;
use crate::metrics::Route;
use crate::site::{Delta, Encoded, Output, Site};

pub struct Variant {
    pub body: Bytes,
    pub etag: HeaderValue,
    pub etag_text: String,
    pub length: HeaderValue,
}

impl Variant {
    fn new(e: &Encoded) -> Variant {
        Variant {
            body: e.bytes.clone(),
            etag: HeaderValue::from_str(&e.etag).unwrap_or(HeaderValue::from_static("\"\"")),
            etag_text: e.etag.clone(),
            length: HeaderValue::from(e.bytes.len()),
        }
    }
}

pub struct Resource {
    pub route: Route,
    pub content_type: HeaderValue,
    pub last_modified: SystemTime,
    pub last_modified_header: HeaderValue,
    pub cache_control: HeaderValue,
    identity: Variant,
    gzip: Variant,
    br: Variant,
}

impl Resource {
    pub fn variant(&self, coding: Coding) -> &Variant {
        match coding {
            Coding::Br => &self.br,
            Coding::Gzip => &self.gzip,
            Coding::Identity => &self.identity,
        }
    }
}

/// A persistent map: a refresh clones it in O(1) and changes a few
/// entries, so it costs the same with 1,000 articles as with 100,000.
#[derive(Default, Clone)]
pub struct Routes {
    map: imbl::HashMap<String, Arc<Resource>>,
    max_age: u64,
}

impl Routes {
    pub fn new(site: &Site, max_age: u64) -> Routes {
        let mut routes = Routes {
            map: imbl::HashMap::new(),
            max_age,
        };
        routes.insert_all(&site.outputs);
        routes
    }

    /// These routes with `delta` applied.
    pub fn apply(&self, delta: &Delta) -> Routes {
        let mut next = self.clone();
        for (path, _) in &delta.removed {
            let path = decode(path).unwrap_or_else(|| path.clone());
            next.map.remove(&path);
        }
        next.insert_all(&delta.outputs);
        next
    }

    fn insert_all(&mut self, outputs: &[Output]) {
        let max_age = self.max_age;
        let cache_control = HeaderValue::from_str(&format!("public, max-age={max_age}"))
            .unwrap_or(HeaderValue::from_static("public"));
        let map = &mut self.map;
        for o in outputs {
            // Whole seconds: HTTP dates have no fractions, and a client's
            // If-Modified-Since must compare equal to what it was sent.
            let secs = o.last_modified.timestamp().max(0) as u64;
            let last_modified = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(secs);
            let route = if o.path.ends_with(".xml") || o.path.ends_with(".json") {
                Route::Feed
            } else if o.path.ends_with(".opml") {
                Route::Opml
            } else {
                Route::Page
            };
            let resource = Arc::new(Resource {
                route,
                content_type: HeaderValue::from_static(o.content_type),
                last_modified,
                last_modified_header: HeaderValue::from_str(&httpdate::fmt_http_date(
                    last_modified,
                ))
                .unwrap_or(HeaderValue::from_static("Thu, 01 Jan 1970 00:00:00 GMT")),
                cache_control: cache_control.clone(),
                identity: Variant::new(&o.body),
                gzip: Variant::new(&o.gzip),
                br: Variant::new(&o.br),
            });
            let path = decode(&o.path).unwrap_or_else(|| o.path.clone());
            // `/x/` is also reachable as `/x/index.html`, its file in feeds/.
            if path.ends_with('/') {
                map.insert(format!("{path}index.html"), resource.clone());
            }
            map.insert(path, resource);
        }
    }

    /// The resource at a request path (percent-encoded, as sent).
    pub fn get(&self, raw_path: &str) -> Option<&Arc<Resource>> {
        if !raw_path.contains('%') {
            return self.map.get(raw_path);
        }
        self.map.get(decode(raw_path)?.as_str())
    }

    /// Whether `raw_path` + `/` is a resource (a district without its slash).
    pub fn has_dir(&self, raw_path: &str) -> bool {
        decode(raw_path)
            .is_some_and(|p| !p.ends_with('/') && self.map.contains_key(&format!("{p}/")))
    }
}

/// Percent-decodes a path; `None` if the result is not UTF-8.
fn decode(path: &str) -> Option<String> {
    percent_encoding::percent_decode_str(path)
        .decode_utf8()
        .ok()
        .map(|c| c.into_owned())
}
