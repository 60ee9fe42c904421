//! Articles: finding the files in `content/`, reading their front matter
//! and bodies, and checking them. Every bad file becomes a [`Diagnostic`];
//! the good ones are returned whatever happens to the others.

pub mod body;
pub mod date;
pub mod front;
pub mod topic;

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
    pub date: DateTime<FixedOffset>,
    pub updated: DateTime<FixedOffset>,
    /// A hash of the file as read: what its page is made from.
    pub source_key: crate::fingerprint::Key,
}

impl Article {
    /// Absolute URL of the permalink page.
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
        Some(Candidate {
            path: path.to_path_buf(),
            district,
            stamp: Stamp::at(path),
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

/// Files crier never reads, in `content/` and in the drop folder of
/// printed pages alike: hidden files and what editors, downloads and
/// copies leave while they work (vim's swap files and `4913` probe,
/// emacs's `#x#` and `.#x`, `x~` backups, `.tmp`, `.bak`, `.part`,
/// `.crdownload`).
pub fn is_ignored(name: &str) -> bool {
    name.starts_with('.')
        || name.starts_with('#')
        || name.ends_with('~')
        || name == "4913"
        || [".swp", ".swx", ".tmp", ".bak", ".part", ".crdownload"]
            .iter()
            .any(|s| name.ends_with(s))
}

/// An entry of a content folder worth looking at.
struct Entry {
    path: PathBuf,
    name: String,
    is_dir: bool,
    /// Of an article file.
    stamp: Option<Stamp>,
}

/// The entries of `dir` sorted by name, without ignored files; names that
/// are not UTF-8 and broken links become errors.
fn entries(dir: &Path, stamped: bool, diags: &mut Vec<Diagnostic>) -> std::io::Result<Vec<Entry>> {
    let mut found: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    found.sort_by_key(|e| e.file_name());
    let mut out = Vec::with_capacity(found.len());
    for e in found {
        let path = e.path();
        let Some(name) = e.file_name().to_str().map(str::to_string) else {
            diags.push(Diagnostic::error(
                &path.to_string_lossy(),
                None,
                "file name is not UTF-8: rename it",
            ));
            continue;
        };
        if is_ignored(&name) {
            continue;
        }
        // The listing knows what an entry is; only a link needs a look at
        // its target. An article file is stamped here, relative to the
        // folder: cheaper than by its whole path later.
        let article = stamped && name.ends_with(".md");
        let kind = match e.file_type() {
            Ok(t) if t.is_dir() => Ok((t, None)),
            Ok(t) if !t.is_symlink() && !article => Ok((t, None)),
            Ok(t) if !t.is_symlink() => e.metadata().map(|m| (t, Some(m))),
            _ => std::fs::metadata(&path).map(|m| (m.file_type(), Some(m))),
        };
        match kind {
            Ok((kind, meta)) => out.push(Entry {
                is_dir: kind.is_dir(),
                stamp: meta.filter(|m| m.is_file()).map(|m| Stamp::of(&m)),
                path,
                name,
            }),
            Err(_) => diags.push(Diagnostic::error(
                &path.to_string_lossy(),
                None,
                "cannot be read (broken link?): fix or remove it",
            )),
        }
    }
    Ok(out)
}

fn candidate(e: Entry, district: Option<&Arc<str>>) -> Option<Candidate> {
    e.name.strip_suffix(".md")?;
    Some(Candidate {
        path: e.path,
        district: district.cloned(),
        stamp: e.stamp,
    })
}

/// Every candidate file under `dir`, in path order; problems with folders
/// (not a district, nested too deep, unreadable names) go to `diags`.
pub fn discover(
    config: &Config,
    dir: &Path,
    stamped: bool,
    diags: &mut Vec<Diagnostic>,
) -> std::io::Result<Vec<Candidate>> {
    // In path order: a file at the top, or the index of a district folder.
    let mut order: Vec<Result<Candidate, usize>> = Vec::new();
    let mut districts = Vec::new();
    for entry in entries(dir, stamped, diags)? {
        if !entry.is_dir {
            order.extend(candidate(entry, None).map(Ok));
            continue;
        }
        let name = entry.name.as_str();
        if config.district(name).is_none() {
            diags.push(Diagnostic::error(
                &entry.path.to_string_lossy(),
                None,
                format!(
                    "folder `{name}` is not a district of crier.toml, so its articles are not published: add [districts.{name}] to crier.toml or move the files"
                ),
            ));
            continue;
        }
        order.push(Err(districts.len()));
        districts.push(entry);
    }
    // District folders are listed in parallel: an archive's are large.
    let listed: Vec<std::io::Result<(Vec<Candidate>, Vec<Diagnostic>)>> = districts
        .par_iter()
        .map(|entry| {
            // One name shared by the folder's candidates and articles.
            let name: Arc<str> = Arc::from(entry.name.as_str());
            let mut found = Vec::new();
            let mut problems = Vec::new();
            for inner in entries(&entry.path, stamped, &mut problems)? {
                if inner.is_dir {
                    problems.push(Diagnostic::error(
                        &inner.path.to_string_lossy(),
                        None,
                        format!(
                            "sub-folders of a district are not read: move its articles into {}",
                            entry.path.display()
                        ),
                    ));
                } else {
                    found.extend(candidate(inner, Some(&name)));
                }
            }
            Ok((found, problems))
        })
        .collect();
    let mut listed = listed.into_iter().map(Some).collect::<Vec<_>>();
    let mut out = Vec::new();
    for item in order {
        match item {
            Ok(c) => out.push(c),
            Err(i) => {
                if let Some(result) = listed.get_mut(i).and_then(Option::take) {
                    let (found, problems) = result?;
                    out.extend(found);
                    diags.extend(problems);
                }
            }
        }
    }
    Ok(out)
}

/// One listing of the content folder: the candidate files in path order,
/// stamped, and the problems with folders.
#[derive(Debug, Default)]
pub struct Listing {
    pub found: Vec<Candidate>,
    pub problems: Vec<Diagnostic>,
}

impl Listing {
    /// Lists `dir` (see [`discover`]).
    pub fn of(config: &Config, dir: &Path) -> std::io::Result<Listing> {
        Listing::make(config, dir, true)
    }

    /// [`Listing::of`] without stamps: when there is no index or seal to
    /// compare them with (a first build), the files are stamped as they
    /// are read instead, and the listing is a third faster.
    pub fn unstamped(config: &Config, dir: &Path) -> std::io::Result<Listing> {
        Listing::make(config, dir, false)
    }

    fn make(config: &Config, dir: &Path, stamped: bool) -> std::io::Result<Listing> {
        let mut problems = Vec::new();
        let found = discover(config, dir, stamped, &mut problems)?;
        Ok(Listing { found, problems })
    }

    /// The key of what was listed (see [`listing_key`]); `None` when a
    /// folder has a problem or a file could not be stamped.
    pub fn key(&self) -> Option<crate::fingerprint::Key> {
        if !self.problems.is_empty() {
            return None;
        }
        let files: Option<Vec<(&Path, &Stamp)>> = self
            .found
            .iter()
            .map(|c| Some((c.path.as_path(), c.stamp.as_ref()?)))
            .collect();
        Some(listing_key(files?))
    }
}

/// The key of a set of files and their stamps, in any order: equal keys
/// mean the same files with the same stamps (so, short of a racy write,
/// the same bytes).
pub fn listing_key(mut files: Vec<(&Path, &Stamp)>) -> crate::fingerprint::Key {
    use sha2::Digest;
    files.sort_unstable_by(|a, b| a.0.as_os_str().cmp(b.0.as_os_str()));
    let mut h = sha2::Sha256::new();
    let mut line = Vec::with_capacity(256);
    for (path, s) in files {
        line.clear();
        line.extend_from_slice(path.as_os_str().as_encoded_bytes());
        line.push(0);
        line.extend_from_slice(&s.size.to_le_bytes());
        line.extend_from_slice(&s.mtime.to_le_bytes());
        line.extend_from_slice(&s.ctime.to_le_bytes());
        line.extend_from_slice(&s.inode.to_le_bytes());
        h.update(&line);
    }
    crate::fingerprint::finish(h)
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

/// A file no content can make an article of: in a folder that is not a
/// district, or named like an index page.
fn refuse(config: &Config, c: &Candidate) -> Option<FileRead> {
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

/// An article file's bytes as text: not empty, UTF-8 (else an error
/// naming the line and column), and without the control characters XML
/// cannot carry (removed, with a warning).
fn checked_text(
    bytes: Vec<u8>,
    file: &str,
    diags: &mut Vec<Diagnostic>,
) -> Result<String, Diagnostic> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(Diagnostic::error(
            file,
            None,
            String::from(
                "file is empty: add front matter with a title and a date, or delete the file",
            ),
        ));
    }
    let text = String::from_utf8(bytes).map_err(|e| {
        let bytes = e.as_bytes();
        let at = e.utf8_error().valid_up_to();
        let line = bytes[..at].iter().filter(|b| **b == b'\n').count() + 1;
        let col = at
            - bytes[..at]
                .iter()
                .rposition(|b| *b == b'\n')
                .map_or(0, |p| p + 1)
            + 1;
        Diagnostic::error(
            file,
            Some(line),
            format!(
                "not UTF-8 (bad byte at column {col}): save the file as UTF-8 (e.g. iconv -f GBK -t UTF-8)"
            ),
        )
    })?;
    // C0 controls and DEL are single bytes; C1 controls start with 0xC2.
    // Without an early exit per byte, the scan is vectorised.
    let suspect = text.as_bytes().chunks(256).any(|chunk| {
        chunk.iter().fold(false, |found, &b| {
            found
                | ((b < 0x20) & (b != b'\n') & (b != b'\r') & (b != b'\t'))
                | (b == 0x7f)
                | (b == 0xc2)
        })
    });
    let dropped = |ch: &char| ch.is_control() && !matches!(ch, '\n' | '\r' | '\t');
    let controls = if suspect {
        text.chars().filter(dropped).count()
    } else {
        0
    };
    if controls == 0 {
        return Ok(text);
    }
    diags.push(Diagnostic::warning(
        file,
        None,
        format!("removed {controls} control character(s) that XML cannot carry"),
    ));
    Ok(text.chars().filter(|ch| !dropped(ch)).collect())
}

fn parse_article(
    config: &Config,
    c: &Candidate,
    bytes: Vec<u8>,
    diags: &mut Vec<Diagnostic>,
) -> Result<Option<(Article, Pending)>, Diagnostic> {
    let display = c.path.to_string_lossy();
    let file: &str = &display;
    let err = |line: Option<usize>, msg: String| Diagnostic::error(file, line, msg);
    let owned = checked_text(bytes, file, diags)?;
    let text = owned.as_str();

    let split = front::split(text).map_err(|e| err(Some(e.line), e.message))?;
    let (fm, unknown) = front::parse(&split).map_err(|e| err(Some(e.line), e.message))?;
    diags.extend(unknown.iter().map(|key| {
        let known = front::KNOWN_FIELDS.join(", ");
        let line = front::key_line(&split, key);
        let message = format!("unknown field `{key}` is ignored (known: {known})");
        Diagnostic::warning(file, Some(line), message)
    }));
    if fm.draft {
        return Ok(None);
    }
    let title = fm
        .title
        .as_deref()
        .map(body::normalise_space)
        .unwrap_or_default();
    if title.is_empty() {
        return Err(err(
            Some(split.first_line - 1),
            "missing `title`: add title = \"…\" to the front matter".into(),
        ));
    }
    let (date, updated) = dates(config, &fm, &split, file, diags)?;

    let encoded = encode_segment(c.stem());
    let (path, id_path) = match &c.district {
        Some(d) => (format!("{d}/{encoded}.html"), format!("{d}/{encoded}")),
        None => (format!("{encoded}.html"), encoded.clone()),
    };
    let page_url = config.url(&path);

    let id = article_id(config, fm.id.as_deref(), date, &id_path, &split, file)?;

    let mut absolute = |key: &str, value: Option<String>| -> Option<String> {
        let v = value?;
        match Url::parse(&page_url).and_then(|base| base.join(v.trim())) {
            Ok(u) if matches!(u.scheme(), "http" | "https") => Some(u.to_string()),
            _ => {
                diags.push(Diagnostic::warning(
                    file,
                    Some(front::key_line(&split, key)),
                    format!("`{key}` `{v}` is not an http(s) URL; it is left out"),
                ));
                None
            }
        }
    };
    let link = absolute("link", fm.link).filter(|l| *l != page_url);
    let image = absolute("image", fm.image);

    let summary = fm
        .summary
        .as_deref()
        .map(body::normalise_space)
        .filter(|s| !s.is_empty());
    let body_start = text.len() - split.body.len();
    let author = fm
        .author
        .as_deref()
        .map(body::normalise_space)
        .filter(|a| !a.is_empty());
    let tags = clean_tags(&fm.tags.0);
    if config.topics {
        warn_of_tags(&tags, &split, file, diags);
    }

    let article = Article {
        source: Arc::from(c.path.as_path()),
        district: c.district.clone(),
        path,
        id: id.into(),
        title,
        author,
        tags,
        link,
        image,
        date,
        updated,
        source_key: crate::fingerprint::key_of(text.as_bytes()),
    };
    let pending = Pending {
        text: owned,
        body_start,
        page_url,
        summary,
    };
    Ok(Some((article, pending)))
}

/// `date` and `updated` (never before `date`), read in the site's
/// timezone when they name none.
fn dates(
    config: &Config,
    fm: &front::FrontMatter,
    split: &front::Split<'_>,
    file: &str,
    diags: &mut Vec<Diagnostic>,
) -> Result<(DateTime<FixedOffset>, DateTime<FixedOffset>), Diagnostic> {
    let err = |line: usize, msg: String| Diagnostic::error(file, Some(line), msg);
    let Some(date_text) = fm.date.as_deref() else {
        return Err(err(
            split.first_line - 1,
            "missing `date`: add date = 2023-01-10 (or a date-time) to the front matter".into(),
        ));
    };
    let date = date::parse(date_text, config.timezone)
        .map_err(|m| err(front::key_line(split, "date"), m))?;
    let Some(u) = fm.updated.as_deref() else {
        return Ok((date, date));
    };
    let line = front::key_line(split, "updated");
    let u = date::parse(u, config.timezone).map_err(|m| err(line, m))?;
    if u < date {
        diags.push(Diagnostic::warning(
            file,
            Some(line),
            "`updated` is before `date`; using `date`",
        ));
    }
    Ok((date, u.max(date)))
}

/// The article's id: front matter's `id` (ASCII, no spaces), else its tag
/// URI, `tag:<id_authority>,<date>:<district>/<slug>`.
fn article_id(
    config: &Config,
    written: Option<&str>,
    date: DateTime<FixedOffset>,
    id_path: &str,
    split: &front::Split<'_>,
    file: &str,
) -> Result<String, Diagnostic> {
    let Some(id) = written.map(str::trim) else {
        return Ok(format!(
            "tag:{},{:04}-{:02}-{:02}:{}",
            config.id_authority,
            date.year(),
            date.month(),
            date.day(),
            id_path
        ));
    };
    if id.is_empty() || !id.chars().all(|ch| ch.is_ascii_graphic()) {
        return Err(Diagnostic::error(
            file,
            Some(front::key_line(split, "id")),
            format!("`id` `{id}` must be ASCII without spaces (percent-encode other characters)"),
        ));
    }
    Ok(id.to_string())
}

/// Warns of each tag that cannot be a topic (it stays a category).
fn warn_of_tags(
    tags: &[String],
    split: &front::Split<'_>,
    file: &str,
    diags: &mut Vec<Diagnostic>,
) {
    for t in tags {
        if let Err(why) = topic::key(t) {
            diags.push(Diagnostic::warning(
                file,
                Some(front::key_line(split, "tags")),
                format!(
                    "tag `{}` {why}, so it gets no topic page or feeds; it stays a category",
                    t.escape_default()
                ),
            ));
        }
    }
}

/// Tags as text: white space normalised, empty ones dropped, and a tag
/// written twice one tag.
fn clean_tags(written: &[String]) -> Vec<String> {
    let mut tags: Vec<String> = Vec::with_capacity(written.len());
    for t in written.iter().map(|t| body::normalise_space(t)) {
        if !t.is_empty() && !tags.contains(&t) {
            tags.push(t);
        }
    }
    tags
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
