//! Articles: finding the files in `content/`, reading their front matter
//! and bodies, and checking them. Every bad file becomes a [`Diagnostic`];
//! the good ones are returned whatever happens to the others.

pub mod body;
pub mod date;
pub mod front;
pub mod topic;

mod listing;
mod media;
mod parse;
mod statics;

pub use listing::*;
pub use media::*;
use parse::parse_article;
pub use statics::*;

use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, Datelike, FixedOffset};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use rayon::prelude::*;
use url::Url;

use crate::config::Config;

/// Largest article file crier reads; a bigger one is almost surely a mistake.
pub const MAX_FILE_BYTES: u64 = 1024 * 1024;
/// Length of a summary cut from the body, in characters.
pub const SUMMARY_CHARS: usize = 120;

/// Characters left as they are in a URL path segment (RFC 3986 unreserved).
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

pub fn encode_segment(s: &str) -> String {
    utf8_percent_encode(s, SEGMENT).to_string()
}

/// A decoded path percent-encoded again, segment by segment, as the
/// site's URLs are.
pub fn encode_path(path: &str) -> String {
    path.split('/')
        .map(encode_segment)
        .collect::<Vec<_>>()
        .join("/")
}

#[derive(Debug, Clone)]
pub struct Article {
    /// The file, as given on the command line (`content/xiaodian/a.md`);
    /// the library's maps share it.
    pub source: Arc<Path>,
    pub district: Option<Arc<str>>,
    /// URL path of the permalink page, percent-encoded, no leading slash.
    pub path: String,
    /// Shared with the library's indexes, which are keyed by it.
    pub id: Arc<str>,
    pub title: String,
    pub author: Option<String>,
    pub tags: Vec<String>,
    /// Front matter `link`, when it is not the page itself.
    pub link: Option<String>,
    pub image: Option<String>,
    /// What the front matter says of the image (boxed: most have none).
    pub image_text: Option<Box<ImageText>>,
    /// The image's file, when it is one of the site's media files: set
    /// by the library, which knows them (not read from the article).
    pub image_file: Option<Arc<MediaFacts>>,
    pub date: DateTime<FixedOffset>,
    pub updated: DateTime<FixedOffset>,
    /// A hash of the file as read.
    pub source_key: crate::fingerprint::Key,
}

/// Front matter `image_caption`, `image_credit` and `image_alt`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImageText {
    pub caption: Option<String>,
    pub credit: Option<String>,
    pub alt: Option<String>,
}

impl Article {
    /// Absolute URL of the permalink page.
    /// What its outputs are made from: the file as read and, when its
    /// image is one of the site's files, what is known of that file.
    pub fn made_key(&self) -> crate::fingerprint::Key {
        let Some(f) = &self.image_file else {
            return self.source_key;
        };
        use sha2::Digest;
        let mut h = sha2::Sha256::new();
        h.update(self.source_key);
        h.update(f.length.to_le_bytes());
        h.update(f.media_type.as_bytes());
        h.update([0]);
        h.update(f.width.unwrap_or(0).to_le_bytes());
        h.update(f.height.unwrap_or(0).to_le_bytes());
        crate::fingerprint::finish(h)
    }

    /// The path in the site (decoded: `xiaodian/photo.png`) of its image,
    /// when that is under `base_url`.
    pub fn image_site_path(&self, config: &Config) -> Option<String> {
        let rest = self
            .image
            .as_deref()?
            .strip_prefix(config.base_url.as_str())?;
        let rest = rest.split(['?', '#']).next().unwrap_or(rest);
        let decoded = percent_encoding::percent_decode_str(rest)
            .decode_utf8()
            .ok()?;
        Some(decoded.into_owned())
    }

    pub fn url(&self, config: &Config) -> String {
        config.url(&self.path)
    }

    /// File of the permalink page inside the output folder:
    /// `<district>/<name>.html` (derived, not kept: an archive holds
    /// 100,000 articles).
    pub fn file(&self) -> PathBuf {
        let stem = self
            .source
            .file_stem()
            .map(|s| s.to_string_lossy())
            .unwrap_or_default();
        let name = format!("{stem}.html");
        match self.district.as_deref() {
            Some(d) => Path::new(d).join(name),
            None => PathBuf::from(name),
        }
    }

    /// Where the item's link points: front matter `link`, else the page.
    pub fn link(&self, config: &Config) -> String {
        self.link.clone().unwrap_or_else(|| self.url(config))
    }
}

/// An article's body as read, rendered on demand: a build renders the
/// page of an unchanged file not at all.
#[derive(Debug)]
pub struct Pending {
    /// The whole file.
    text: String,
    body_start: usize,
    /// Parsed only when a page is rendered: most reads render nothing.
    page_url: String,
    /// From the front matter.
    summary: Option<String>,
}

impl Pending {
    /// The file as read, for keys that tell whether it changed.
    pub fn bytes(&self) -> &[u8] {
        self.text.as_bytes()
    }

    /// The summary alone, as [`Pending::render`] gives it, parsing no
    /// more of the body than it needs.
    pub fn summary(&self) -> String {
        if let Some(s) = &self.summary {
            return s.clone();
        }
        body::summary(
            self.text.get(self.body_start..).unwrap_or_default(),
            SUMMARY_CHARS,
        )
    }

    pub fn render(&self) -> Body {
        let markdown = self.text.get(self.body_start..).unwrap_or_default();
        let text_chars = if self.summary.is_some() {
            0
        } else {
            SUMMARY_CHARS
        };
        let base = Url::parse(&self.page_url).ok();
        let (html, text) = body::render(markdown, base.as_ref(), text_chars);
        let summary = match &self.summary {
            Some(s) => s.clone(),
            None => body::cut_summary(&text, SUMMARY_CHARS),
        };
        Body { html, summary }
    }
}

/// What an article says, kept apart from [`Article`]: an archive holds
/// every article's metadata, but only the bodies its feeds show.
#[derive(Debug, Clone, Default)]
pub struct Body {
    /// Sanitised HTML.
    pub html: String,
    /// Plain text.
    pub summary: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Error,
    Warning,
}

/// One problem with one file: where it is and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    pub file: String,
    pub line: Option<usize>,
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        match self.line {
            Some(l) => write!(f, "{}:{}: {}: {}", self.file, l, kind, self.message),
            None => write!(f, "{}: {}: {}", self.file, kind, self.message),
        }
    }
}

impl Diagnostic {
    pub fn error(file: &str, line: Option<usize>, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            file: file.to_string(),
            line,
            message: message.into(),
        }
    }
    pub fn warning(file: &str, line: Option<usize>, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            file: file.to_string(),
            line,
            message: message.into(),
        }
    }
}

/// A file that may be an article.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub path: PathBuf,
    pub district: Option<Arc<str>>,
    /// Its stamp when listed (`None` if it could not be taken).
    pub stamp: Option<Stamp>,
    /// Where it really is, when a link takes it outside the content
    /// folder: refused.
    pub outside: Option<PathBuf>,
}

impl Candidate {
    /// The path as messages and the library name it. (Derived, not kept:
    /// an archive lists 100,000 candidates.)
    pub fn display(&self) -> String {
        self.path.to_string_lossy().into_owned()
    }

    /// The file name without `.md`.
    pub fn stem(&self) -> &str {
        self.path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(".md"))
            .unwrap_or_default()
    }

    /// The candidate at `path` (as it would be found under `dir`), if it is
    /// one: `<dir>/<slug>.md` or `<dir>/<district>/<slug>.md`, not ignored.
    /// The district need not exist: reading it reports that.
    pub fn at(dir: &Path, path: &Path) -> Option<Candidate> {
        let rel = path.strip_prefix(dir).ok()?;
        let parts: Vec<&str> = rel.iter().map(|p| p.to_str()).collect::<Option<_>>()?;
        let (district, name) = match parts.as_slice() {
            [name] => (None, *name),
            [district, name] if !is_ignored(district) => (Some(Arc::from(*district)), *name),
            _ => return None,
        };
        if is_ignored(name) {
            return None;
        }
        name.strip_suffix(".md")?;
        let outside = listing::linked_out(dir, path, district.is_some());
        Some(Candidate {
            path: path.to_path_buf(),
            district,
            stamp: Stamp::at(path).filter(|_| outside.is_none()),
            outside,
        })
    }
}

/// What a file's metadata says about its content, as git's index keeps
/// it: size, modification and change times, inode. A file whose stamp is
/// unchanged is not read again. (A file replaced by another of the same
/// size and mtime still has a new inode and ctime.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Stamp {
    pub size: u64,
    /// Nanoseconds since the Unix epoch (saturated: i64 reaches 2262).
    pub mtime: i64,
    pub ctime: i64,
    pub inode: u64,
}

impl Stamp {
    pub fn of(m: &std::fs::Metadata) -> Stamp {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            let ns = |s: i64, n: i64| s.saturating_mul(1_000_000_000).saturating_add(n);
            Stamp {
                size: m.size(),
                mtime: ns(m.mtime(), m.mtime_nsec()),
                ctime: ns(m.ctime(), m.ctime_nsec()),
                inode: m.ino(),
            }
        }
        #[cfg(not(unix))]
        {
            let ns = |t: std::io::Result<std::time::SystemTime>| {
                t.ok()
                    .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                    .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
            };
            Stamp {
                size: m.len(),
                mtime: ns(m.modified()),
                ctime: ns(m.created()),
                inode: 0,
            }
        }
    }

    /// The stamp of the file at `path`, if it is a file.
    pub fn at(path: &Path) -> Option<Stamp> {
        let m = std::fs::metadata(path).ok()?;
        m.is_file().then(|| Stamp::of(&m))
    }
}

/// What reading one file gave.
#[derive(Debug, Default)]
pub struct FileRead {
    pub article: Option<Arc<Article>>,
    pub body: Option<Pending>,
    pub draft: bool,
    /// A good article whose date is still to come: its date and title.
    /// It is published at that moment, not before.
    pub scheduled: Option<(DateTime<FixedOffset>, String)>,
    pub diagnostics: Vec<Diagnostic>,
    /// The file's stamp as read, if it was opened.
    pub stamp: Option<Stamp>,
    /// When the reading began (ns since the Unix epoch), for the index's
    /// racy check.
    pub read_at: i64,
}

/// Reads one file: the article (if good), whether it is a draft, and its
/// diagnostics.
pub fn read_article(config: &Config, c: &Candidate) -> FileRead {
    let read_at = now_ns();
    let mut read = read_file(config, c);
    read.read_at = read_at;
    read
}

/// Now, in ns since the Unix epoch.
pub fn now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

fn read_file(config: &Config, c: &Candidate) -> FileRead {
    if let Some(refused) = refuse(config, c) {
        return refused;
    }
    match read_bytes(c) {
        Ok((bytes, stamp)) => {
            let mut read = parse(config, c, bytes);
            read.stamp = Some(stamp);
            read
        }
        Err(e) => FileRead {
            diagnostics: vec![e],
            stamp: Stamp::at(&c.path),
            ..Default::default()
        },
    }
}

/// A file no content can make an article of: a link out of the content
/// folder, in a folder that is not a district, or named like an index
/// page.
fn refuse(config: &Config, c: &Candidate) -> Option<FileRead> {
    if let Some(real) = &c.outside {
        let message = listing::outside_message(real, false);
        return Some(FileRead {
            diagnostics: vec![Diagnostic::warning(&c.display(), None, message)],
            ..Default::default()
        });
    }
    let message = match c.district.as_deref() {
        Some(d) if config.district(d).is_none() => {
            format!("`{d}` is not a district of crier.toml: add [districts.{d}] or move the file")
        }
        _ if c.stem().is_empty() || c.stem().eq_ignore_ascii_case("index") => format!(
            "`{}.md` would overwrite the index page: rename the file",
            c.stem()
        ),
        _ => return None,
    };
    Some(FileRead {
        diagnostics: vec![Diagnostic::error(&c.display(), None, message)],
        ..Default::default()
    })
}

/// An article file's bytes as they are now (up to the size limit), and
/// its stamp.
fn read_bytes(c: &Candidate) -> Result<(Vec<u8>, Stamp), Diagnostic> {
    let display = c.path.to_string_lossy();
    let err = |msg: String| Diagnostic::error(&display, None, msg);
    let cannot_read = |e: std::io::Error| err(format!("cannot read: {e}"));
    let mut handle = std::fs::File::open(&c.path).map_err(cannot_read)?;
    let meta = handle.metadata().map_err(cannot_read)?;
    let size = meta.len();
    let stamp = Stamp::of(&meta);
    if size > MAX_FILE_BYTES {
        return Err(err(format!(
            "file is {size} bytes, over the {MAX_FILE_BYTES}-byte limit for an article: split it or shorten it"
        )));
    }
    let mut bytes = Vec::with_capacity(size as usize + 1);
    // Through `take`, reading skips File's own size lookup (a second stat
    // and a seek per file); the limit also holds if the file grows.
    (&mut handle)
        .take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(cannot_read)?;
    Ok((bytes, stamp))
}

/// What an article file's bytes make: pure (no file system), so that
/// a fuzzer and tests can feed it anything. `c` names the file.
pub fn parse(config: &Config, c: &Candidate, bytes: Vec<u8>) -> FileRead {
    if let Some(refused) = refuse(config, c) {
        return refused;
    }
    let mut diagnostics = Vec::new();
    match parse_article(config, c, bytes, &mut diagnostics) {
        Ok(Some((a, _))) if a.date > chrono::Utc::now() => FileRead {
            scheduled: Some((a.date, a.title)),
            diagnostics,
            ..Default::default()
        },
        Ok(Some((a, b))) => FileRead {
            article: Some(Arc::new(a)),
            body: Some(b),
            diagnostics,
            ..Default::default()
        },
        Ok(None) => FileRead {
            draft: true,
            diagnostics,
            ..Default::default()
        },
        Err(e) => {
            diagnostics.push(e);
            FileRead {
                diagnostics,
                ..Default::default()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chinese_file_names_become_ascii_ids_and_urls() {
        assert_eq!(encode_segment("劳模"), "%E5%8A%B3%E6%A8%A1");
        assert_eq!(encode_segment("a b?c"), "a%20b%3Fc");
        assert_eq!(encode_segment("2023-01-10_x.y~"), "2023-01-10_x.y~");
    }

    #[test]
    fn editor_temporaries_are_ignored() {
        for name in [
            ".hidden.md",
            "a.md~",
            ".a.md.swp",
            "4913",
            "#a.md#",
            ".#a.md",
            "x.tmp",
            "page.txt.part",
            "page.txt.crdownload",
        ] {
            assert!(is_ignored(name), "{name}");
        }
        assert!(!is_ignored("2023-01-10.md"));
    }
}
