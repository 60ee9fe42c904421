//! The immutable map the server answers from: decoded path to resource,
//! with every header value prepared once per build, never per request.
//! It is made from the pipeline's typed outputs; the server never sees
//! the library. Feeds and index pages are held in memory; article pages
//! and archive documents are read from the files crier wrote for them,
//! or rendered on their first request while those files are not written
//! yet (the map names the file: no request path reaches the file system).

use std::borrow::Cow;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::SystemTime;

use bytes::Bytes;
use hyper::header::HeaderValue;

use super::negotiate::Coding;
use crate::config::Config;
use crate::content::encode_path;
use crate::metrics::Route;
use crate::output::{BuildError, Encoded, EntryLines, EntryTable, Kind, Output, Page};
use crate::site::Job;

mod map;

pub struct Variant {
    pub body: Bytes,
    pub etag: HeaderValue,
}

impl Variant {
    fn new(e: &Encoded) -> Variant {
        Variant {
            body: e.bytes.clone(),
            // Hex in quotes: always a valid header value.
            etag: HeaderValue::from_str(&crate::fingerprint::etag(&e.bytes))
                .unwrap_or(HeaderValue::from_static("\"\"")),
        }
    }
}

/// One servable path. Small: an archive has one per article, and every
/// header value but the link derives from the kind and the date.
pub struct Resource {
    pub kind: Kind,
    pub last_modified: SystemTime,
    /// WebSub discovery of a feed: its hubs and its own URL (boxed: few
    /// resources are feeds).
    pub link: Option<Box<HeaderValue>>,
    pub stored: Stored,
}

impl Resource {
    pub fn route(&self) -> Route {
        self.kind.route()
    }

    pub fn content_type(&self) -> HeaderValue {
        match &self.stored {
            Stored::File(f) => f.content_type.clone(),
            Stored::Memory(v) => v
                .content_type
                .clone()
                .unwrap_or_else(|| HeaderValue::from_static(self.kind.content_type())),
            _ => HeaderValue::from_static(self.kind.content_type()),
        }
    }

    /// `Cache-Control` other than the site's (closed archive documents).
    pub fn cache_control(&self) -> Option<HeaderValue> {
        self.kind.cache_control().map(HeaderValue::from_static)
    }

    /// Formatted per response: 30 bytes kept for each of 100,000 pages
    /// cost more than the formatting does.
    pub fn last_modified_header(&self) -> HeaderValue {
        HeaderValue::from_str(&httpdate::fmt_http_date(self.last_modified))
            .unwrap_or(HeaderValue::from_static("Thu, 01 Jan 1970 00:00:00 GMT"))
    }
}

/// Where a resource's bytes are.
pub enum Stored {
    Memory(Box<Variants>),
    /// The file of the identity encoding in the output folder, with its
    /// `.gz` and `.br` siblings beside it.
    Disk(Box<Path>),
    /// Not written yet: rendered on its first request, then kept until
    /// its file is written.
    Lazy(Box<Lazy>),
    /// A media file, served as it is, a range at a time.
    File(Box<MediaStored>),
}

/// A media file's place and the header values of its responses.
pub struct MediaStored {
    pub file: PathBuf,
    pub size: u64,
    /// From its size and modification time (which the copy in the output
    /// folder keeps): a changed file gets a new one, and it is the same
    /// whichever copy is served.
    pub etag: HeaderValue,
    pub content_type: HeaderValue,
}

impl MediaStored {
    pub fn new(file: PathBuf, media_type: &str, size: u64, mtime_ns: i64) -> MediaStored {
        let mut key = size.to_le_bytes().to_vec();
        key.extend_from_slice(&mtime_ns.to_le_bytes());
        MediaStored {
            file,
            size,
            etag: HeaderValue::from_str(&crate::fingerprint::etag(&key))
                .unwrap_or(HeaderValue::from_static("\"\"")),
            content_type: HeaderValue::from_str(media_type)
                .unwrap_or(HeaderValue::from_static("application/octet-stream")),
        }
    }

    /// The media file at `file` as it is now (a sealed folder's copy).
    fn at(file: PathBuf, media_type: &str) -> Option<MediaStored> {
        let stamp = crate::content::Stamp::at(&file)?;
        Some(MediaStored::new(file, media_type, stamp.size, stamp.mtime))
    }
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
    /// Its own media type, where the kind has none (a static file).
    content_type: Option<HeaderValue>,
}

/// The media type of a static file, from its name.
fn own_type(kind: Kind, file: &Path) -> Option<HeaderValue> {
    (kind == Kind::Static).then(|| HeaderValue::from_static(kind.content_type_of(file)))
}

impl Variants {
    /// The encodings from a file and its siblings in the output folder.
    fn from_files(file: &Path, kind: Kind) -> Option<Variants> {
        let read = |f: PathBuf| -> Option<Variant> {
            let bytes = std::fs::read(f).ok()?;
            let etag = crate::fingerprint::etag(&bytes);
            Some(Variant {
                etag: HeaderValue::from_str(&etag).ok()?,
                body: Bytes::from(bytes),
            })
        };
        let [gz, br, own] = crate::output::siblings(file);
        Some(Variants {
            identity: read(own)?,
            gzip: read(gz)?,
            br: read(br)?,
            content_type: own_type(kind, file),
        })
    }

    fn new(o: &Output) -> Variants {
        Variants {
            identity: Variant::new(&o.body),
            gzip: Variant::new(&o.gzip),
            br: Variant::new(&o.br),
            content_type: own_type(o.kind, &o.file),
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
    map: map::Map<Arc<Resource>>,
    /// A sealed output folder served as it is (see `store::Seal`): what
    /// the map lacks is looked up here, until the library is read.
    sealed: Option<Arc<Sealed>>,
    /// `Cache-Control` of every resource.
    pub cache_control: HeaderValue,
    /// Moved paths (decoded) and their `Location`.
    moved: Arc<HashMap<String, HeaderValue>>,
    source: Arc<Source>,
}

struct Sealed {
    table: EntryTable,
    out: PathBuf,
}

/// What the server answers for a path.
pub enum Answer<'a> {
    /// Borrowed from the map, or made for this request from a sealed
    /// folder's table.
    Resource(Cow<'a, Arc<Resource>>),
    /// 301 to this location.
    Moved(&'a HeaderValue),
    /// 410: a retired district.
    Gone,
    /// 301 to the path with a slash (a district without its slash): this
    /// absolute location, under `base_url`.
    Slash(HeaderValue),
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
            map: map::Map::new(),
            sealed: None,
            cache_control: HeaderValue::from_str(&format!("public, max-age={}", config.max_age))
                .unwrap_or(HeaderValue::from_static("public")),
            moved: Arc::new(moved),
            source: Arc::new(Source {
                config,
                content: content.to_path_buf(),
            }),
        }
    }

    pub fn config(&self) -> &Arc<Config> {
        &self.source.config
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
            return Answer::Resource(Cow::Borrowed(r));
        }
        if let Some(r) = self.sealed_resource(path) {
            return Answer::Resource(Cow::Owned(r));
        }
        if !path.ends_with('/') {
            let dir = format!("{path}/");
            let sealed = self
                .sealed
                .as_ref()
                .is_some_and(|s| s.table.get(&dir).is_some());
            if sealed || self.map.contains_key(&dir) {
                let base = self.source.config.base_url.as_str();
                let to = format!("{base}{}/", encode_path(path.trim_start_matches('/')));
                if let Ok(to) = HeaderValue::from_str(&to) {
                    return Answer::Slash(to);
                }
            }
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

    /// The compressed forms of a page served from memory with the same
    /// bytes: a live update then compresses only what changed.
    pub fn encodings_of(&self, page: &Page) -> Option<(Vec<u8>, Vec<u8>)> {
        let Stored::Memory(v) = &self.map.get(&page.path)?.stored else {
            return None;
        };
        (v.identity.body == page.body).then(|| (v.gzip.body.to_vec(), v.br.body.to_vec()))
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
            Some(out) if !o.kind.in_memory() => Stored::Disk(out.join(&o.file).into()),
            _ => Stored::Memory(Box::new(Variants::new(o))),
        };
        let key = decode(&o.path).unwrap_or_else(|| o.path.clone());
        self.insert(key, o.kind, o.last_modified.timestamp(), stored);
    }

    /// The routes of a sealed output folder `out`, from its entries
    /// (see `store::Seal`): feeds, index pages and OPML read into memory
    /// now, the rest served from their files as they are asked for.
    /// `None` if a file is missing.
    pub fn sealed(
        config: Arc<Config>,
        content: &Path,
        out: &Path,
        table: EntryTable,
    ) -> Option<Routes> {
        let mut routes = Routes::new(config, content);
        for e in table.select(Kind::in_memory) {
            let variants = Variants::from_files(&out.join(&e.file), e.kind)?;
            routes.insert(
                e.path,
                e.kind,
                e.last_modified,
                Stored::Memory(Box::new(variants)),
            );
        }
        routes.sealed = Some(Arc::new(Sealed {
            table,
            out: out.to_path_buf(),
        }));
        Some(routes)
    }

    /// The resource of a sealed folder's file at `path`, made now.
    fn sealed_resource(&self, path: &str) -> Option<Arc<Resource>> {
        let sealed = self.sealed.as_ref()?;
        let e = sealed.table.get(path)?;
        let file = sealed.out.join(&e.file);
        let stored = match e.kind {
            Kind::Media => {
                let media_type = mime_guess::from_path(&e.file).first_or_octet_stream();
                Stored::File(Box::new(MediaStored::at(file, media_type.essence_str())?))
            }
            _ => Stored::Disk(file.into()),
        };
        Some(self.resource(&e.path, e.kind, e.last_modified, stored))
    }

    /// What is served, as entries to seal `out` with; `None` while
    /// something is not written there yet.
    pub fn entries(&self, out: &Path) -> Option<EntryLines> {
        if self.sealed.is_some() {
            return None;
        }
        let mut lines = EntryLines::default();
        for (path, r) in self.map.iter() {
            // `/x/index.html` is `/x/` again.
            if let Some(dir) = path.strip_suffix("index.html")
                && self.map.get(dir).is_some_and(|d| Arc::ptr_eq(d, r))
            {
                continue;
            }
            let secs = r
                .last_modified
                .duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs() as i64);
            match &r.stored {
                Stored::Disk(f) => lines.push(path, f.strip_prefix(out).ok()?, r.kind, secs),
                Stored::Memory(_) | Stored::File(_) => {
                    lines.push(path, &crate::output::file_of(path), r.kind, secs)
                }
                Stored::Lazy(_) => return None,
            }
        }
        Some(lines)
    }

    /// Adds a job's output: from its file in `out` if it is written
    /// there, else rendered on request.
    pub fn insert_job(&mut self, job: &Job, out: Option<&Path>) {
        let (key, resource) = self.job_resource(job, out);
        self.put(key, resource);
    }

    /// [`Routes::insert_job`] for many jobs: their resources are made in
    /// parallel (a first build has one per article), then put in the map.
    pub fn insert_jobs(&mut self, jobs: &[(&Job, Option<&Path>)]) {
        use rayon::prelude::*;
        let made: Vec<(String, Arc<Resource>)> = jobs
            .par_iter()
            .map(|(job, out)| self.job_resource(job, *out))
            .flat_map_iter(|(key, resource)| {
                // `/x/` is also reachable as `/x/index.html` (see `put`).
                let index = key
                    .ends_with('/')
                    .then(|| (format!("{key}index.html"), resource.clone()));
                index.into_iter().chain([(key, resource)])
            })
            .collect();
        self.map.extend(made);
    }

    fn job_resource(&self, job: &Job, out: Option<&Path>) -> (String, Arc<Resource>) {
        let stored = match out {
            Some(out) => Stored::Disk(out.join(job.file()).into()),
            None => Stored::Lazy(Box::new(Lazy {
                job: job.clone(),
                rendered: OnceLock::new(),
            })),
        };
        let path = job.path();
        let key = decode(&path).unwrap_or(path);
        let resource = self.resource(&key, job.kind(), job.last_modified().timestamp(), stored);
        (key, resource)
    }

    /// Adds a media file, served from its file in `content`.
    pub fn insert_media(&mut self, m: &crate::content::MediaFile) {
        let stored = MediaStored::new(
            m.path.clone(),
            &m.facts.media_type,
            m.stamp.size,
            m.stamp.mtime,
        );
        let secs = m.stamp.mtime.div_euclid(1_000_000_000);
        let path = format!("/{}", m.site_path);
        self.insert(path, Kind::Media, secs, Stored::File(Box::new(stored)));
    }

    /// Whether `url` is the public URL of a subscription feed here.
    pub fn is_feed_url(&self, url: &str) -> bool {
        let Some(path) = url.strip_prefix(self.source.config.base_url.as_str()) else {
            return false;
        };
        let path = format!("/{path}");
        matches!(self.answer(&path), Answer::Resource(r) if r.kind.is_feed())
    }

    /// Adds a resource at `path` (decoded), last modified `secs` after
    /// the Unix epoch.
    fn insert(&mut self, path: String, kind: Kind, secs: i64, stored: Stored) {
        let resource = self.resource(&path, kind, secs, stored);
        self.put(path, resource);
    }

    fn put(&mut self, path: String, resource: Arc<Resource>) {
        // `/x/` is also reachable as `/x/index.html`, its file in feeds/.
        if path.ends_with('/') {
            self.map
                .insert(format!("{path}index.html"), resource.clone());
        }
        self.map.insert(path, resource);
    }

    /// The resource at `path` (decoded), with its header values.
    fn resource(&self, path: &str, kind: Kind, secs: i64, stored: Stored) -> Arc<Resource> {
        // Whole seconds: HTTP dates have no fractions, and a client's
        // If-Modified-Since must compare equal to what it was sent.
        let secs = secs.max(0) as u64;
        let last_modified = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(secs);
        let config = &self.source.config;
        let link = (kind.is_feed() && !config.hubs.is_empty())
            .then(|| {
                let own = config.url(&crate::content::encode_path(path.trim_start_matches('/')));
                let mut v: Vec<String> = config
                    .hubs
                    .iter()
                    .map(|hub| format!("<{hub}>; rel=\"hub\""))
                    .collect();
                v.push(format!("<{own}>; rel=\"self\""));
                HeaderValue::from_str(&v.join(", ")).ok().map(Box::new)
            })
            .flatten();
        Arc::new(Resource {
            kind,
            link,
            last_modified,
            stored,
        })
    }
}

/// Percent-decodes a path; `None` if the result is not UTF-8.
fn decode(path: &str) -> Option<String> {
    percent_encoding::percent_decode_str(path)
        .decode_utf8()
        .ok()
        .map(|c| c.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Overrides;
    use crate::output::Entry;

    fn entry(path: &str, kind: Kind) -> Entry {
        Entry {
            path: path.into(),
            file: crate::output::file_of(path),
            kind,
            last_modified: 1_700_000_000,
        }
    }

    #[test]
    fn a_sealed_folder_is_served_from_its_table() {
        let text = "title = \"t\"\nbase_url = \"https://n.example/\"\nid_authority = \"n.example\"\n[districts.a]\nname = \"A\"\n";
        let config =
            Arc::new(Config::from_toml(text, "crier.toml", &Overrides::default()).unwrap());
        let out = tempfile::tempdir().unwrap();
        let entries = [
            entry("/a/", Kind::District),
            entry("/a/劳模.html", Kind::Article),
        ];
        std::fs::create_dir_all(out.path().join("a")).unwrap();
        for name in ["index.html", "index.html.gz", "index.html.br"] {
            std::fs::write(out.path().join("a").join(name), name).unwrap();
        }
        let mut lines = String::new();
        for e in &entries {
            lines.push_str(&EntryTable::line(e).unwrap());
        }
        let len = lines.len();
        let table = EntryTable::parse(lines, 0, len).unwrap();
        let routes = Routes::sealed(config.clone(), out.path(), out.path(), table).unwrap();
        // The district page is in memory, with its alias.
        for path in ["/a/", "/a/index.html"] {
            let Answer::Resource(r) = routes.answer(path) else {
                panic!("{path}")
            };
            let Stored::Memory(v) = &r.stored else {
                panic!("{path} in memory")
            };
            assert_eq!(&v.get(Coding::Identity).body[..], b"index.html");
        }
        // The article, from its file, asked for as a client sends it.
        let Answer::Resource(r) = routes.answer("/a/%E5%8A%B3%E6%A8%A1.html") else {
            panic!("article")
        };
        assert!(matches!(&r.stored, Stored::Disk(f) if **f == out.path().join("a/劳模.html")));
        assert_eq!(r.kind, Kind::Article);
        match routes.answer("/a") {
            Answer::Slash(to) => assert_eq!(to, "https://n.example/a/"),
            _ => panic!("/a is /a/ moved"),
        }
        assert!(matches!(routes.answer("/a/none.html"), Answer::NotFound));
        // A sealed folder whose page file is missing is not served.
        std::fs::remove_file(out.path().join("a/index.html.br")).unwrap();
        let mut lines = String::new();
        lines.push_str(&EntryTable::line(&entries[0]).unwrap());
        let len = lines.len();
        let table = EntryTable::parse(lines, 0, len).unwrap();
        assert!(Routes::sealed(config, out.path(), out.path(), table).is_none());
    }
}
