//! What the pipeline makes: outputs of a known [`Kind`]. Everything that
//! depends on what an output is (content type, compression effort,
//! caching, write order, whether it stays in memory, its route label,
//! whether hubs hear of it) is decided here, from the kind, once.

use std::path::{Path, PathBuf};

use bytes::Bytes;
use chrono::{DateTime, FixedOffset};

use crate::compress::{self, Effort};
use crate::metrics::Route;
use crate::render::{FeedKind, RenderError};

/// What an output is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A subscription feed: `/rss.xml`, `/xiaodian/atom.xml`, ...
    Feed(FeedKind),
    /// An archive document (RFC 5005). A closed one never changes while
    /// no old article is edited.
    Archive { feed: FeedKind, closed: bool },
    /// An HTML archive page: what the archive documents of its number
    /// hold, for readers on the web. A closed one never changes while no
    /// old article is edited.
    ArchivePage { closed: bool },
    /// `/`: every feed and the latest headlines.
    Index,
    /// `/<district>/`.
    District,
    /// An article's permalink page.
    Article,
    /// `/feeds.opml`.
    Opml,
    /// `/sitemap.xml` (the index) and `/sitemaps/pages.xml`.
    Sitemap,
    /// `/sitemaps/2023-01.xml`: one of the many monthly sitemaps.
    MonthSitemap,
    /// `/news-sitemap.xml`: the last 48 hours, for Google News.
    NewsSitemap,
    /// `/robots.txt`.
    Robots,
    /// `/logo.svg`: the site's logo, built in (JSON-LD's publisher logo,
    /// the pages' icon).
    Logo,
    /// A topic's feed: `/topics/劳模/rss.xml`. Hundreds of topics: served
    /// from its file, not from memory.
    TopicFeed(FeedKind),
    /// `/topics/劳模/`.
    TopicPage,
    /// `/topics/`: every topic.
    Topics,
    /// A photo, audio or video file beside the articles, published as it
    /// is (its own media type, no compressed forms).
    Media,
    /// A file of `static/` (its own media type, from its name), or the
    /// built-in icon.
    Static,
}

/// `Cache-Control` of closed archive documents.
pub const LONG_CACHE: &str = "public, max-age=86400";

impl Kind {
    pub fn content_type(self) -> &'static str {
        match self {
            Kind::Feed(f) | Kind::TopicFeed(f) | Kind::Archive { feed: f, .. } => match f {
                FeedKind::Rss => "application/rss+xml; charset=utf-8",
                FeedKind::Atom => "application/atom+xml; charset=utf-8",
                FeedKind::Json => "application/feed+json; charset=utf-8",
            },
            Kind::Index
            | Kind::District
            | Kind::Article
            | Kind::TopicPage
            | Kind::Topics
            | Kind::ArchivePage { .. } => "text/html; charset=utf-8",
            Kind::Opml => "text/x-opml; charset=utf-8",
            Kind::Sitemap | Kind::MonthSitemap | Kind::NewsSitemap => {
                "application/xml; charset=utf-8"
            }
            Kind::Robots => "text/plain; charset=utf-8",
            Kind::Logo => "image/svg+xml",
            // Each file says its own.
            Kind::Media | Kind::Static => "application/octet-stream",
        }
    }

    /// Feeds and index pages are fetched over and over: worth the effort.
    /// Article pages and archive documents are many, each fetched rarely.
    pub fn effort(self) -> Effort {
        match self {
            Kind::Article
            | Kind::Archive { .. }
            | Kind::ArchivePage { .. }
            | Kind::MonthSitemap
            | Kind::Static => Effort::Fast,
            _ => Effort::Best,
        }
    }

    /// A subscription feed: WebSub pings, hub deliveries, `Link` headers.
    pub fn is_feed(self) -> bool {
        matches!(self, Kind::Feed(_) | Kind::TopicFeed(_))
    }

    /// Index pages and the OPML link to everything else: written last, so
    /// a new link never points at a file that is not there yet.
    pub fn is_late(self) -> bool {
        matches!(
            self,
            Kind::Index
                | Kind::District
                | Kind::Opml
                | Kind::Sitemap
                | Kind::NewsSitemap
                | Kind::Topics
        )
    }

    /// Few and hot: served from memory. The others (as many as the
    /// articles) are served from their files once written.
    pub fn in_memory(self) -> bool {
        !matches!(
            self,
            Kind::Article
                | Kind::Archive { .. }
                | Kind::ArchivePage { .. }
                | Kind::MonthSitemap
                | Kind::TopicFeed(_)
                | Kind::TopicPage
                | Kind::Media
        )
    }

    /// `Cache-Control` other than the site's `max_age`.
    pub fn cache_control(self) -> Option<&'static str> {
        matches!(
            self,
            Kind::Archive { closed: true, .. } | Kind::ArchivePage { closed: true } | Kind::Media
        )
        .then_some(LONG_CACHE)
    }

    /// The label of its requests in /metrics.
    pub fn route(self) -> Route {
        match self {
            Kind::Feed(_) | Kind::TopicFeed(_) => Route::Feed,
            Kind::Archive { .. } => Route::Archive,
            Kind::Opml => Route::Opml,
            Kind::Index
            | Kind::District
            | Kind::Article
            | Kind::TopicPage
            | Kind::Topics
            | Kind::Logo
            | Kind::ArchivePage { .. } => Route::Page,
            Kind::Sitemap | Kind::MonthSitemap | Kind::NewsSitemap | Kind::Robots => Route::Sitemap,
            Kind::Media => Route::Media,
            Kind::Static => Route::Static,
        }
    }
}

/// Every kind, for naming them in saved files.
const KINDS: [(Kind, &str); 27] = [
    (Kind::Feed(FeedKind::Rss), "feed-rss"),
    (Kind::Feed(FeedKind::Atom), "feed-atom"),
    (Kind::Feed(FeedKind::Json), "feed-json"),
    (
        Kind::Archive {
            feed: FeedKind::Rss,
            closed: false,
        },
        "archive-rss",
    ),
    (
        Kind::Archive {
            feed: FeedKind::Atom,
            closed: false,
        },
        "archive-atom",
    ),
    (
        Kind::Archive {
            feed: FeedKind::Rss,
            closed: true,
        },
        "archive-rss-closed",
    ),
    (
        Kind::Archive {
            feed: FeedKind::Atom,
            closed: true,
        },
        "archive-atom-closed",
    ),
    (
        Kind::Archive {
            feed: FeedKind::Json,
            closed: false,
        },
        "archive-json",
    ),
    (
        Kind::Archive {
            feed: FeedKind::Json,
            closed: true,
        },
        "archive-json-closed",
    ),
    (Kind::ArchivePage { closed: false }, "archive-page"),
    (Kind::ArchivePage { closed: true }, "archive-page-closed"),
    (Kind::Index, "index"),
    (Kind::District, "district"),
    (Kind::Article, "article"),
    (Kind::Opml, "opml"),
    (Kind::Sitemap, "sitemap"),
    (Kind::MonthSitemap, "sitemap-month"),
    (Kind::NewsSitemap, "sitemap-news"),
    (Kind::Robots, "robots"),
    (Kind::TopicFeed(FeedKind::Rss), "topic-rss"),
    (Kind::TopicFeed(FeedKind::Atom), "topic-atom"),
    (Kind::TopicFeed(FeedKind::Json), "topic-json"),
    (Kind::TopicPage, "topic-page"),
    (Kind::Topics, "topics"),
    (Kind::Logo, "logo"),
    (Kind::Media, "media"),
    (Kind::Static, "static"),
];

impl Kind {
    /// The media type of an output of this kind at `file`: for static
    /// files, what its name says.
    pub fn content_type_of(self, file: &Path) -> &'static str {
        match self {
            Kind::Static => mime_guess::from_path(file)
                .first_raw()
                .unwrap_or("application/octet-stream"),
            _ => self.content_type(),
        }
    }
}

impl Kind {
    /// Its name in saved files.
    pub fn name(self) -> &'static str {
        KINDS
            .iter()
            .find(|(k, _)| *k == self)
            .map_or("unknown", |(_, n)| n)
    }

    pub fn from_name(name: &str) -> Option<Kind> {
        KINDS.iter().find(|(_, n)| *n == name).map(|(k, _)| *k)
    }
}

/// What the site serves at a path, without the bytes: enough to serve
/// the output's file from the output folder (see `store::save_entries`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// URL path, decoded: `/xiaodian/劳模.html`.
    pub path: String,
    /// File inside the output folder.
    pub file: PathBuf,
    pub kind: Kind,
    /// Whole seconds since the Unix epoch.
    pub last_modified: i64,
}

/// The file in the output folder of a decoded URL path: `/x/` is
/// `x/index.html`, anything else the path itself.
pub fn file_of(path: &str) -> PathBuf {
    let rel = path.trim_start_matches('/');
    if rel.is_empty() || rel.ends_with('/') {
        PathBuf::from(format!("{rel}index.html"))
    } else {
        PathBuf::from(rel)
    }
}

/// Entries as lines of one text (`kind \t seconds \t path`, the file
/// being [`file_of`] the path), sorted by path and looked up in place: a
/// restart over 100,000 outputs parses them in milliseconds and makes
/// nothing per entry until it is asked for.
#[derive(Debug, Default)]
pub struct EntryTable {
    text: String,
    rows: Vec<Row>,
}

#[derive(Debug)]
struct Row {
    /// The path's byte range in the text.
    start: u32,
    end: u32,
    kind: Kind,
    last_modified: i64,
}

/// The lines of an [`EntryTable`], written one entry at a time (in any
/// order: the table sorts them) without holding the entries.
#[derive(Debug, Default)]
pub struct EntryLines {
    text: String,
    count: usize,
    /// An entry could not be written: there is no table.
    bad: bool,
}

impl EntryLines {
    /// Adds an entry: a path that a table would escape (a tab, a line
    /// end, a `\`), or a file other than [`file_of`] its path, cannot be
    /// one (the table is read in place), and spoils the table.
    pub fn push(&mut self, path: &str, file: &Path, kind: Kind, last_modified: i64) {
        if !crate::table::plain(path) || file_of(path) != file {
            self.bad = true;
            return;
        }
        use std::fmt::Write;
        let _ = writeln!(self.text, "{}\t{last_modified}\t{path}", kind.name());
        self.count += 1;
    }

    pub fn push_entry(&mut self, e: &Entry) {
        self.push(&e.path, &e.file, e.kind, e.last_modified);
    }

    /// The text and the number of lines, in path order; `None` if an
    /// entry spoilt it.
    pub fn finish(self) -> Option<(String, usize)> {
        if self.bad {
            return None;
        }
        // The table is read at every start: lines in order need no
        // sorting there (124,000 at 100,000 articles).
        fn path(line: &str) -> &str {
            let line = line.strip_suffix('\n').unwrap_or(line);
            line.splitn(3, '\t').nth(2).unwrap_or(line)
        }
        let mut lines: Vec<&str> = self.text.split_inclusive('\n').collect();
        lines.sort_unstable_by(|a, b| path(a).cmp(path(b)));
        Some((lines.concat(), self.count))
    }
}

impl EntryTable {
    /// The line of an entry; `None` if it cannot be one.
    pub fn line(e: &Entry) -> Option<String> {
        let mut lines = EntryLines::default();
        lines.push_entry(e);
        lines.finish().map(|(text, _)| text)
    }

    /// Every entry, in path order.
    pub fn all(&self) -> Vec<Entry> {
        self.select(|_| true)
    }

    /// The table of the lines in `text[start..end]`; `None` if a line is
    /// not one or a path comes twice.
    pub fn parse(text: String, start: usize, end: usize) -> Option<EntryTable> {
        let mut rows = Vec::new();
        let mut at = start;
        for line in text.get(start..end)?.split_inclusive('\n') {
            let body = line.strip_suffix('\n')?;
            let mut f = body.splitn(3, '\t');
            let (kind, secs, path) = (f.next()?, f.next()?, f.next()?);
            let path_start = at + kind.len() + secs.len() + 2;
            rows.push(Row {
                start: u32::try_from(path_start).ok()?,
                end: u32::try_from(path_start + path.len()).ok()?,
                kind: Kind::from_name(kind)?,
                last_modified: secs.parse().ok()?,
            });
            at += line.len();
        }
        let mut table = EntryTable { text, rows };
        let text = &table.text;
        let path = |r: &Row| &text[r.start as usize..r.end as usize];
        table.rows.sort_unstable_by(|a, b| path(a).cmp(path(b)));
        if table.rows.windows(2).any(|w| path(&w[0]) == path(&w[1])) {
            return None;
        }
        Some(table)
    }

    fn path(&self, r: &Row) -> &str {
        &self.text[r.start as usize..r.end as usize]
    }

    fn entry(&self, r: &Row) -> Entry {
        let path = self.path(r);
        Entry {
            path: path.to_string(),
            file: file_of(path),
            kind: r.kind,
            last_modified: r.last_modified,
        }
    }

    /// The entry at a decoded path.
    pub fn get(&self, path: &str) -> Option<Entry> {
        let i = self
            .rows
            .binary_search_by(|r| self.path(r).cmp(path))
            .ok()?;
        Some(self.entry(&self.rows[i]))
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The entries of the kinds `keep` selects, in path order.
    pub fn select(&self, keep: impl Fn(Kind) -> bool) -> Vec<Entry> {
        self.rows
            .iter()
            .filter(|r| keep(r.kind))
            .map(|r| self.entry(r))
            .collect()
    }
}

/// An output that could not be made. It is logged, counted in /metrics
/// and turned into exit code 1; nothing is served or written in its place.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("{path}: {source}")]
    Render { path: String, source: RenderError },
    #[error("{path}: cannot compress: {source}")]
    Compress {
        path: String,
        source: compress::Error,
    },
    #[error("{path}: cannot read the article for its page: {message}")]
    Source { path: String, message: String },
    #[error("{file} would be served at {path}, which crier makes itself: rename or remove it")]
    Clash { file: String, path: String },
}

/// One encoding of an output, with its strong ETag: a hash of exactly
/// these bytes, so every replica agrees and a new body gets a new tag.
#[derive(Debug, Clone)]
pub struct Encoded {
    pub bytes: Bytes,
}

impl Encoded {
    /// Its ETag is the server's to make, from what it holds: most
    /// outputs go to files, which are served with the ETag of the bytes
    /// read back, and hashing them here was 5% of a build.
    pub fn new(bytes: Vec<u8>) -> Encoded {
        Encoded {
            bytes: Bytes::from(bytes),
        }
    }
}

/// A rendered output before compression.
#[derive(Debug)]
pub struct Page {
    /// URL path as a client sends it, percent-encoded: `/xiaodian/rss.xml`.
    pub path: String,
    /// File inside the output folder: `xiaodian/rss.xml`.
    pub file: PathBuf,
    pub kind: Kind,
    pub body: Vec<u8>,
    /// Newest change of what the bytes show (for Last-Modified).
    pub last_modified: DateTime<FixedOffset>,
}

/// An output with its three encodings.
#[derive(Debug, Clone)]
pub struct Output {
    pub path: String,
    pub file: PathBuf,
    pub kind: Kind,
    pub last_modified: DateTime<FixedOffset>,
    pub body: Encoded,
    pub gzip: Encoded,
    pub br: Encoded,
}

impl Page {
    /// Compresses the page at its kind's effort.
    pub fn finish(self) -> Result<Output, BuildError> {
        let effort = self.kind.effort();
        let failed = |source| BuildError::Compress {
            path: self.path.clone(),
            source,
        };
        let gzip = compress::gzip(&self.body, effort).map_err(failed)?;
        let br = compress::brotli(&self.body, effort).map_err(failed)?;
        Ok(self.with_encodings(gzip, br))
    }

    /// The page with compressed forms already at hand (the files of an
    /// earlier build that wrote the same bytes).
    pub fn with_encodings(self, gzip: Vec<u8>, br: Vec<u8>) -> Output {
        Output {
            gzip: Encoded::new(gzip),
            br: Encoded::new(br),
            body: Encoded::new(self.body),
            path: self.path,
            file: self.file,
            kind: self.kind,
            last_modified: self.last_modified,
        }
    }
}

impl Output {
    pub fn entry(&self) -> Entry {
        Entry {
            path: decode(&self.path),
            file: self.file.clone(),
            kind: self.kind,
            last_modified: self.last_modified.timestamp(),
        }
    }

    /// Its files in the output folder with their bytes, in write order.
    pub fn files(&self) -> [(PathBuf, &Encoded); 3] {
        let [gz, br, own] = siblings(&self.file);
        [(gz, &self.gzip), (br, &self.br), (own, &self.body)]
    }
}

/// A URL path percent-decoded (as is, if it is not UTF-8 once decoded).
pub fn decode(path: &str) -> String {
    percent_encoding::percent_decode_str(path)
        .decode_utf8()
        .map_or_else(|_| path.to_string(), |c| c.into_owned())
}

/// `x.gz`, `x.br` and `x`: the compressed siblings (for nginx
/// `gzip_static` / `brotli_static`, or a CDN serving the tree as is) come
/// first, so a file on disk always has siblings made from it.
pub fn siblings(file: &Path) -> [PathBuf; 3] {
    let with = |ext: &str| {
        let mut name = file.as_os_str().to_os_string();
        name.push(ext);
        PathBuf::from(name)
    };
    [with(".gz"), with(".br"), file.to_path_buf()]
}

/// The sibling of `file` for a `Content-Encoding`, or the file itself.
pub fn sibling_for(file: &Path, coding: Option<&str>) -> PathBuf {
    let [gz, br, own] = siblings(file);
    match coding {
        Some("gzip") => gz,
        Some("br") => br,
        _ => own,
    }
}

/// The file a sibling name belongs to: `x.html.gz` → `x.html`.
pub fn sibling_of(name: &str) -> &str {
    name.strip_suffix(".gz")
        .or_else(|| name.strip_suffix(".br"))
        .unwrap_or(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sibling_names_round_trip() {
        let [gz, br, own] = siblings(Path::new("xiaodian/劳模.html"));
        assert_eq!(gz, Path::new("xiaodian/劳模.html.gz"));
        assert_eq!(br, Path::new("xiaodian/劳模.html.br"));
        assert_eq!(own, Path::new("xiaodian/劳模.html"));
        for f in [&gz, &br, &own] {
            assert_eq!(sibling_of(&f.to_string_lossy()), "xiaodian/劳模.html");
        }
        assert_eq!(sibling_for(&own, Some("br")), br);
        assert_eq!(sibling_for(&own, None), own);
    }

    #[test]
    fn an_entry_table_finds_what_its_lines_say() {
        let entries = [
            Entry {
                path: "/xiaodian/劳模.html".into(),
                file: "xiaodian/劳模.html".into(),
                kind: Kind::Article,
                last_modified: 1_700_000_000,
            },
            Entry {
                path: "/".into(),
                file: "index.html".into(),
                kind: Kind::Index,
                last_modified: -5,
            },
        ];
        let mut text = String::from("header\n");
        let start = text.len();
        for e in &entries {
            text.push_str(&EntryTable::line(e).unwrap());
        }
        let end = text.len();
        text.push_str("trailer\n");
        let table = EntryTable::parse(text, start, end).unwrap();
        assert_eq!(table.len(), 2);
        for e in &entries {
            assert_eq!(table.get(&e.path).as_ref(), Some(e));
        }
        assert_eq!(table.get("/xiaodian/"), None);
        assert_eq!(table.select(Kind::in_memory), [entries[1].clone()]);
        // A file that is not where its path says, a tab, a bad line.
        let moved = Entry {
            file: "elsewhere.html".into(),
            ..entries[0].clone()
        };
        assert_eq!(EntryTable::line(&moved), None);
        let tab = Entry {
            path: "/a\tb".into(),
            file: "a\tb".into(),
            ..entries[0].clone()
        };
        assert_eq!(EntryTable::line(&tab), None);
        assert!(EntryTable::parse("article\tx\t/a\n".into(), 0, 14).is_none());
        let twice = "index\t1\t/\nindex\t2\t/\n".to_string();
        assert!(EntryTable::parse(twice.clone(), 0, twice.len()).is_none());
    }

    #[test]
    fn every_kind_has_a_name_that_reads_back() {
        for (kind, name) in KINDS {
            assert_eq!(kind.name(), name);
            assert_eq!(Kind::from_name(name), Some(kind));
        }
        assert_eq!(Kind::from_name("feed"), None);
    }

    #[test]
    fn kinds_decide_how_an_output_is_treated() {
        let closed = Kind::Archive {
            feed: FeedKind::Atom,
            closed: true,
        };
        assert_eq!(closed.cache_control(), Some(LONG_CACHE));
        assert!(!closed.is_feed() && !closed.in_memory());
        assert_eq!(closed.content_type(), "application/atom+xml; charset=utf-8");
        assert!(Kind::Feed(FeedKind::Json).is_feed());
        assert!(Kind::Index.is_late() && !Kind::Article.is_late());
        assert_eq!(Kind::Article.effort(), Effort::Fast);
        assert_eq!(Kind::Feed(FeedKind::Rss).route(), Route::Feed);
    }
}
