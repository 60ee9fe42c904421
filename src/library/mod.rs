//! The article index: every article file's last reading, keyed by path,
//! and the articles of each district in feed order. Built once in full;
//! afterwards refreshed from the paths a watcher reports, re-reading only
//! those (and whatever a re-listing of their folders shows to be new or
//! gone), so the work for one changed file does not grow with the archive.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet};

// Keys are paths from the content folder, not from the network: a fast
// hash without DoS resistance is fine, and hashing is a good part of a
// no-change rebuild.
use foldhash::{HashMap, HashMapExt, HashSet, HashSetExt};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, FixedOffset};
use rayon::prelude::*;

use crate::atomic::WriteError;
use crate::config::Config;
use crate::content::date::Month;
use crate::content::{
    self, Article, Body, Candidate, Diagnostic, FileRead, Listing, Pending, Severity, Stamp,
};
use crate::index::Index;

mod queries;

/// Feed order: newest first, ties by id.
type Key = (Reverse<DateTime<FixedOffset>>, Arc<str>);

fn key(a: &Article) -> Key {
    (Reverse(a.date), a.id.clone())
}

/// `path` as a shared key: the article's own if it is that file's.
fn shared_path(path: &Path, a: Option<&Article>) -> Arc<Path> {
    match a {
        Some(a) if *a.source == *path => a.source.clone(),
        _ => Arc::from(path),
    }
}

fn stamp(path: &Path) -> Option<Stamp> {
    Stamp::at(path)
}

#[derive(Debug, Default)]
struct FileState {
    stamp: Option<Stamp>,
    /// When its reading began (ns since the Unix epoch; `i64::MAX` when
    /// taken from the index, whose entries are never racy).
    read_at: i64,
    /// The article as last read without error (kept while the file is bad).
    article: Option<Arc<Article>>,
    draft: bool,
    /// Boxed: an archive has 100,000 files and few of them have notes.
    notes: Option<Box<Notes>>,
}

/// What few files have: problems, a date to come, a refused id.
#[derive(Debug, Default)]
struct Notes {
    /// Date and title of an article that waits for its date.
    scheduled: Option<(DateTime<FixedOffset>, String)>,
    diagnostics: Vec<Diagnostic>,
    /// The id this file was refused for, because another file has it.
    blocked_by: Option<Arc<str>>,
}

impl FileState {
    fn diagnostics(&self) -> &[Diagnostic] {
        self.notes.as_ref().map_or(&[], |n| &n.diagnostics)
    }

    fn scheduled(&self) -> Option<&(DateTime<FixedOffset>, String)> {
        self.notes.as_ref()?.scheduled.as_ref()
    }

    fn blocked_by(&self) -> Option<&Arc<str>> {
        self.notes.as_ref()?.blocked_by.as_ref()
    }
}

pub struct Library {
    pub config: Config,
    content: PathBuf,
    /// Keyed by the path its article (if any) holds: one allocation.
    files: HashMap<Arc<Path>, FileState>,
    /// The names of the indexed files of each folder, to compare with a
    /// new listing.
    by_folder: HashMap<PathBuf, HashSet<Arc<Path>>>,
    folder_problems: Vec<Diagnostic>,
    /// Which file owns each id.
    ids: HashMap<Arc<str>, Arc<Path>>,
    all: BTreeMap<Key, Arc<Article>>,
    /// Page path of each current article, with how many claim it.
    pages: HashMap<String, usize>,
    by_district: HashMap<String, BTreeMap<Key, Arc<Article>>>,
    /// The articles of each topic, by topic key (empty with `topics = false`).
    by_topic: HashMap<String, TopicIndex>,
    /// The files refused for an id another file has.
    blocked: HashSet<PathBuf>,
    /// The files with a problem, a date to come, or a draft: what the
    /// counts and the embargo timer look at, without going through an
    /// archive's every file at each update.
    noted: HashSet<PathBuf>,
    /// Ids freed since the last retry of the files refused for them.
    released: Vec<Arc<str>>,
    /// Bodies of the articles the feeds show, by page path; an archive's
    /// other bodies live only in their files.
    bodies: HashMap<String, Arc<Body>>,
    /// Files read, and taken from the index, when opened.
    opened: (usize, usize),
}

/// Which articles: all of them, a district's (by slug) or a topic's (by
/// key).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Which<'a> {
    All,
    District(&'a str),
    Topic(&'a str),
}

impl<'a> From<Option<&'a str>> for Which<'a> {
    /// A district's slug, or `None` for all.
    fn from(district: Option<&'a str>) -> Which<'a> {
        district.map_or(Which::All, Which::District)
    }
}

/// What a scope of feeds covers, owned: the key of what is remembered of
/// its archive documents.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ScopeKey {
    All,
    District(String),
    Topic(String),
}

impl ScopeKey {
    pub fn which(&self) -> Which<'_> {
        match self {
            ScopeKey::All => Which::All,
            ScopeKey::District(d) => Which::District(d),
            ScopeKey::Topic(t) => Which::Topic(t),
        }
    }
}

/// A topic: a tag with at least one published article.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topic {
    /// Its folder in `feeds/` and (percent-encoded) its URL segment.
    pub key: String,
    /// The spelling most of its articles use (ties: the first in order).
    pub name: String,
    pub count: usize,
    /// The newest change of its articles.
    pub updated: DateTime<FixedOffset>,
}

/// A topic's articles in feed order, and how many use each spelling.
#[derive(Debug, Default)]
struct TopicIndex {
    articles: BTreeMap<Key, Arc<Article>>,
    spellings: BTreeMap<String, usize>,
}

impl TopicIndex {
    fn topic(&self, key: &str) -> Option<Topic> {
        let name = self
            .spellings
            .iter()
            .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))?
            .0
            .clone();
        let updated = self.articles.values().map(|a| a.updated).max()?;
        Some(Topic {
            key: key.to_string(),
            name,
            count: self.articles.len(),
            updated,
        })
    }
}

/// The distinct topics of an article's tags: (key, spelling).
fn topics_of(a: &Article) -> Vec<(String, String)> {
    let mut seen: Vec<(String, String)> = Vec::new();
    for t in &a.tags {
        if let Ok(k) = content::topic::key(t)
            && !seen.iter().any(|(s, _)| *s == k)
        {
            seen.push((k, content::topic::name(t)));
        }
    }
    seen
}

/// Takes each article's body as the files are read, in parallel (a full
/// build renders its pages there); the library then keeps no body but
/// those its feeds show.
pub type Sink<'a> = &'a (dyn Fn(&Article, Pending) + Sync);

/// What a refresh changed, for the renderer.
#[derive(Debug, Default)]
pub struct Change {
    /// Everything: a first build, or a new config.
    pub full: bool,
    pub files_read: usize,
    /// Districts whose feeds and page must be rendered again.
    pub districts: BTreeSet<String>,
    /// Months of publication whose sitemap must be made again.
    pub months: BTreeSet<Month>,
    /// Topics (by key) whose feeds and page must be made again.
    pub topics: BTreeSet<String>,
    /// Whether any article changed (combined feeds, index, OPML).
    pub any: bool,
    /// Time alone changed what is shown: an article left the Google News
    /// sitemap's window.
    pub clock: bool,
    /// Articles whose page must be rendered (new or changed), with their
    /// bodies.
    pub pages: Vec<(Arc<Article>, Arc<Body>)>,
    /// Articles gone from the site whose page must be removed.
    pub gone: Vec<Arc<Article>>,
    /// Problems found by this refresh (logged by the caller).
    pub diagnostics: Vec<Diagnostic>,
    /// The oldest date of an article added or removed (an edit is both):
    /// archive documents of older articles only are unchanged.
    pub oldest: Option<DateTime<FixedOffset>>,
}

impl Change {
    fn touch(&mut self, date: DateTime<FixedOffset>) {
        if self.oldest.is_none_or(|o| date < o) {
            self.oldest = Some(date);
        }
    }
}

impl Change {
    /// The change that touches everything: what a full build renders.
    pub fn everything() -> Change {
        Change {
            full: true,
            any: true,
            ..Change::default()
        }
    }
}

/// The body of `a`, read again from its file under `content`: an
/// archive keeps only the bodies its feeds show.
pub fn read_body(config: &Config, content: &Path, a: &Article) -> Result<Body, String> {
    read_again(config, content, a).map(|p| p.render())
}

/// The summary of `a`, read again from its file (an archive document
/// shows summaries only).
pub fn read_summary(config: &Config, content: &Path, a: &Article) -> Result<String, String> {
    read_again(config, content, a).map(|p| p.summary())
}

fn read_again(config: &Config, content: &Path, a: &Article) -> Result<Pending, String> {
    let Some(c) = Candidate::at(content, &a.source) else {
        return Err("not an article file".into());
    };
    let read = content::read_article(config, &c);
    match (read.article, read.body) {
        (Some(now), Some(body)) if now.source_key == a.source_key => Ok(body),
        (Some(_), Some(_)) => {
            Err("the file changed since it was read; its new page follows".into())
        }
        _ => Err(read
            .diagnostics
            .first()
            .map_or_else(|| "the file no longer reads".into(), |d| d.message.clone())),
    }
}

impl Library {
    /// Reads every article under `content` (in parallel).
    pub fn load(config: Config, content: &Path) -> std::io::Result<Library> {
        Library::open(config, content, &Index::default(), &|_, _| {})
    }

    /// Every article under `content`: from `index` where a file's stamp
    /// is the one indexed, else read, giving every body read to `sink`.
    pub fn open(
        config: Config,
        content: &Path,
        index: &Index,
        sink: Sink<'_>,
    ) -> std::io::Result<Library> {
        Library::open_listed(config, content, index, sink, None)
    }

    /// [`Library::open`] from a listing of `content` already made (by a
    /// check that found something changed).
    pub fn open_listed(
        config: Config,
        content: &Path,
        index: &Index,
        sink: Sink<'_>,
        listing: Option<Listing>,
    ) -> std::io::Result<Library> {
        let mut lib = Library {
            config,
            content: content.to_path_buf(),
            files: HashMap::new(),
            by_folder: HashMap::new(),
            folder_problems: Vec::new(),
            ids: HashMap::new(),
            all: BTreeMap::new(),
            pages: HashMap::new(),
            by_district: HashMap::new(),
            by_topic: HashMap::new(),
            blocked: HashSet::new(),
            noted: HashSet::new(),
            released: Vec::new(),
            bodies: HashMap::new(),
            opened: (0, 0),
        };
        let mut change = Change::default();
        lib.scan(&mut change, Some(sink), index, listing)?;
        lib.opened = (change.files_read, lib.files.len() - change.files_read);
        Ok(lib)
    }

    /// Files read, and files taken from the index, when opened: an index
    /// that gave every file needs no saving.
    pub fn opened(&self) -> (usize, usize) {
        self.opened
    }

    /// Saves the index of the files read cleanly (see [`crate::index`]).
    pub fn save_index(
        &self,
        path: &Path,
        epoch: crate::fingerprint::Key,
    ) -> Result<usize, WriteError> {
        let entries = self.files.values().filter_map(|s| {
            let a = s.article.as_ref()?;
            let clean = s.notes.is_none();
            clean.then_some((s.stamp.as_ref()?, s.read_at, a.as_ref()))
        });
        crate::index::save(path, epoch, entries)
    }

    /// The key of the files read (see [`content::listing_key`]) if the
    /// site is settled: every file read cleanly and long enough after its
    /// last change (not racy), no folder problem, nothing scheduled. Then
    /// the same listing later means the same site, and a build that finds
    /// it need do nothing.
    pub fn settled(&self) -> Option<crate::fingerprint::Key> {
        if !self.folder_problems.is_empty() {
            return None;
        }
        let mut files = Vec::with_capacity(self.files.len());
        for (path, s) in &self.files {
            let st = s.stamp.as_ref()?;
            let racy = st.mtime.max(st.ctime) >= s.read_at.saturating_sub(crate::index::RACY);
            if s.notes.is_some() || racy {
                return None;
            }
            files.push((&**path, st));
        }
        Some(content::listing_key(files))
    }

    /// Lists every folder again and reads each file that is new or whose
    /// size or time changed; removes what is gone.
    pub fn rescan(&mut self, change: &mut Change) -> std::io::Result<()> {
        self.scan(change, None, &Index::default(), None)
    }

    fn scan(
        &mut self,
        change: &mut Change,
        sink: Option<Sink<'_>>,
        index: &Index,
        listing: Option<Listing>,
    ) -> std::io::Result<()> {
        let t = std::time::Instant::now();
        let Listing { found, problems } = match listing {
            Some(l) => l,
            None => Listing::of(&self.config, &self.content)?,
        };
        tracing::debug!(elapsed = ?t.elapsed(), files = found.len(), "content listed");
        change.diagnostics.extend(problems.iter().cloned());
        self.folder_problems = problems;
        if self.files.is_empty() {
            // A first reading: the maps are made at their size, not grown
            // (and rehashed) a dozen times.
            self.files.reserve(found.len());
            self.ids.reserve(found.len());
            self.pages.reserve(found.len());
        }
        let present: BTreeSet<&Path> = found.iter().map(|c| c.path.as_path()).collect();
        let gone: Vec<PathBuf> = self
            .files
            .keys()
            .filter(|p| !present.contains(&***p))
            .map(|p| p.to_path_buf())
            .collect();
        for path in gone {
            self.remove(&path, change);
        }
        let stale: Vec<&Candidate> = found
            .iter()
            .filter(|c| {
                self.files
                    .get(c.path.as_path())
                    .is_none_or(|s| s.stamp.is_none() || s.stamp != c.stamp)
            })
            .collect();
        let stale = self.take_indexed(stale, index, change);
        tracing::debug!(elapsed = ?t.elapsed(), "taken from the index");
        // In chunks, so that an archive's readings are never all in memory
        // at once beside the index they go into; a chunk is indexed (in
        // path order) while the next is read.
        let config = self.config.clone();
        let read_chunk = |chunk: &[&Candidate]| -> Vec<(Option<Stamp>, FileRead)> {
            chunk
                .par_iter()
                .map(|c| {
                    let mut read = content::read_article(&config, c);
                    if let (Some(sink), Some(a)) = (sink, &read.article)
                        && let Some(body) = read.body.take()
                    {
                        sink(a, body);
                    }
                    (read.stamp.or_else(|| stamp(&c.path)), read)
                })
                .collect()
        };
        let mut chunks = stale.chunks(2048);
        let mut ready = chunks.next().map(&read_chunk);
        let mut done: &[&Candidate] = stale
            .get(..ready.as_ref().map_or(0, Vec::len))
            .unwrap_or_default();
        while let Some(reads) = ready.take() {
            let next = chunks.next();
            let (read_next, ()) = rayon::join(
                || next.map(&read_chunk),
                || {
                    for (c, (st, read)) in done.iter().zip(reads) {
                        change.files_read += 1;
                        self.set(&c.path, st, read, change);
                    }
                },
            );
            ready = read_next;
            done = next.unwrap_or_default();
        }
        self.retry_blocked(change);
        tracing::debug!(elapsed = ?t.elapsed(), "read");
        self.prime();
        tracing::debug!(elapsed = ?t.elapsed(), "feed bodies read");
        Ok(())
    }

    /// Takes the candidates whose stamp `index` holds from it; returns the
    /// others, to be read.
    fn take_indexed<'c>(
        &mut self,
        candidates: Vec<&'c Candidate>,
        index: &Index,
        change: &mut Change,
    ) -> Vec<&'c Candidate> {
        if index.is_empty() {
            return candidates;
        }
        let found: Vec<Option<(Stamp, Arc<Article>)>> = candidates
            .par_iter()
            .map(|c| {
                let st = c.stamp?;
                Some((st, index.get(&c.path, &st)?.clone()))
            })
            .collect();
        tracing::debug!("stamps compared");
        let mut unread = Vec::new();
        for (c, hit) in candidates.into_iter().zip(found) {
            match hit {
                Some((st, article)) => {
                    let read = FileRead {
                        article: Some(article),
                        stamp: Some(st),
                        read_at: i64::MAX,
                        ..FileRead::default()
                    };
                    self.set(&c.path, Some(st), read, change);
                }
                None => unread.push(c),
            }
        }
        unread
    }

    /// The articles the feeds show: the newest of each district and of all.
    fn shown(&self) -> HashMap<&str, &Arc<Article>> {
        let limit = self.config.feed_limit;
        std::iter::once(&self.all)
            .chain(self.by_district.values())
            .flat_map(|m| m.values().take(limit))
            .map(|a| (a.path.as_str(), a))
            .collect()
    }

    /// Keeps the bodies of the articles the feeds show, reading those it
    /// lacks again from their files, and drops the others.
    fn prime(&mut self) {
        let shown = self.shown();
        let missing: Vec<&Arc<Article>> = shown
            .iter()
            .filter(|(path, _)| !self.bodies.contains_key(**path))
            .map(|(_, a)| *a)
            .collect();
        let config = &self.config;
        let content = &self.content;
        let read: Vec<(String, Arc<Body>)> = missing
            .par_iter()
            .filter_map(|a| {
                let c = Candidate::at(content, &a.source)?;
                let body = content::read_article(config, &c).body?;
                Some((a.path.clone(), Arc::new(body.render())))
            })
            .collect();
        let keep: HashSet<String> = shown.keys().map(|p| p.to_string()).collect();
        self.bodies.extend(read);
        self.bodies.retain(|path, _| keep.contains(path));
    }

    /// The body of `a`: its own if the feeds show it, else read from its
    /// file.
    pub fn body(&self, a: &Article) -> Result<Arc<Body>, String> {
        if let Some(b) = self.bodies.get(&a.path) {
            return Ok(b.clone());
        }
        read_body(&self.config, &self.content, a).map(Arc::new)
    }

    /// The content folder.
    pub fn content(&self) -> &Path {
        &self.content
    }

    /// Takes in the paths a watcher reported (files or folders, existing
    /// or not). Their folders are listed again, since events get lost,
    /// merged and reordered (an editor's save is often a write to a temp
    /// file renamed over the article).
    pub fn refresh(&mut self, touched: &[PathBuf], change: &mut Change) -> std::io::Result<()> {
        let folders = self.refresh_reported(touched, change)?;
        self.relist(&folders, change);
        Ok(())
    }

    /// The first half of [`Library::refresh`]: reads the reported paths
    /// only (a folder that appeared is listed now), and returns the
    /// folders to list again for what the events missed, so that a live
    /// update serves what was reported before it lists thousands of
    /// names (see [`Library::relist`]).
    pub fn refresh_reported(
        &mut self,
        touched: &[PathBuf],
        change: &mut Change,
    ) -> std::io::Result<BTreeSet<PathBuf>> {
        let mut folders = BTreeSet::new();
        let mut listed_now = BTreeSet::new();
        let mut work = BTreeSet::new();
        for path in touched {
            let Ok(rel) = path.strip_prefix(&self.content) else {
                continue;
            };
            let depth = rel.components().count();
            let known_district =
                depth == 1 && self.config.district(&rel.to_string_lossy()).is_some();
            match depth {
                // The content folder itself, a folder that is not a district
                // (an error to report), or a district folder gone: list
                // everything again.
                0 | 1 if depth == 0 || path.is_dir() && !known_district => {
                    self.rescan(change)?;
                    return Ok(BTreeSet::new());
                }
                1 if known_district && !path.exists() => {
                    self.rescan(change)?;
                    return Ok(BTreeSet::new());
                }
                // A district folder: list it again now.
                1 if path.is_dir() => {
                    listed_now.insert(path.clone());
                }
                1 | 2 => {
                    if let Some(parent) = path.parent() {
                        folders.insert(parent.to_path_buf());
                    }
                    work.insert(path.clone());
                }
                _ => {}
            }
        }
        self.list_into(&listed_now, &mut work);
        folders.retain(|f| !listed_now.contains(f));
        self.read_work(work, change);
        Ok(folders)
    }

    /// The second half of [`Library::refresh`]: lists `folders` again
    /// and takes in the files the events missed.
    pub fn relist(&mut self, folders: &BTreeSet<PathBuf>, change: &mut Change) {
        if folders.is_empty() {
            return;
        }
        let mut work = BTreeSet::new();
        self.list_into(folders, &mut work);
        self.read_work(work, change);
    }

    /// Names new to the index, and indexed files no longer listed: only
    /// these (and the reported paths) are looked at, so a folder of
    /// thousands of unchanged files costs one listing, not thousands of
    /// reads.
    fn list_into(&self, folders: &BTreeSet<PathBuf>, work: &mut BTreeSet<PathBuf>) {
        for folder in folders {
            let listed: HashSet<OsString> = match std::fs::read_dir(folder) {
                Ok(entries) => entries.flatten().map(|e| e.file_name()).collect(),
                Err(_) => HashSet::new(),
            };
            let known = self.by_folder.get(folder);
            work.extend(
                listed
                    .iter()
                    .map(|n| folder.join(n))
                    .filter(|p| known.is_none_or(|k| !k.contains(p.as_path()))),
            );
            if let Some(known) = known {
                work.extend(
                    known
                        .iter()
                        .filter(|p| p.file_name().is_none_or(|n| !listed.contains(n)))
                        .map(|p| p.to_path_buf()),
                );
            }
        }
    }

    /// Reads the files of `work` whose stamp changed; removes those gone.
    fn read_work(&mut self, work: BTreeSet<PathBuf>, change: &mut Change) {
        for path in work {
            match Candidate::at(&self.content, &path) {
                Some(c) if path.is_file() => {
                    let st = stamp(&path);
                    // Listed but unchanged: nothing to read.
                    if st.is_some()
                        && self
                            .files
                            .get(path.as_path())
                            .is_some_and(|s| s.stamp == st)
                    {
                        continue;
                    }
                    let read = content::read_article(&self.config, &c);
                    change.files_read += 1;
                    self.set(&path, st, read, change);
                }
                _ if self.files.contains_key(path.as_path()) && !path.is_file() => {
                    self.remove(&path, change)
                }
                _ => {}
            }
        }
        self.retry_blocked(change);
        self.prime();
    }

    /// Reads again the files refused for an id that has since been freed
    /// (its owner deleted or changed), so the article comes back.
    fn retry_blocked(&mut self, change: &mut Change) {
        while !self.released.is_empty() {
            let freed: HashSet<Arc<str>> = self.released.drain(..).collect();
            let mut waiting: Vec<PathBuf> = self
                .blocked
                .iter()
                .filter(|p| {
                    self.files
                        .get(p.as_path())
                        .and_then(|s| s.blocked_by())
                        .is_some_and(|id| freed.contains(id))
                })
                .cloned()
                .collect();
            waiting.sort();
            for path in waiting {
                if let Some(c) = Candidate::at(&self.content, &path) {
                    let read = content::read_article(&self.config, &c);
                    change.files_read += 1;
                    self.set(&path, stamp(&path), read, change);
                }
            }
        }
    }

    /// Records a new reading of `path`. A file that fails keeps its last
    /// good article; a draft has none.
    fn set(&mut self, path: &Path, stamp: Option<Stamp>, read: FileRead, change: &mut Change) {
        let old = self.files.get(path).and_then(|s| s.article.clone());
        let mut diagnostics = read.diagnostics;
        let body = read.body;
        let mut blocked_by = None;
        let new = match read.article {
            Some(a) => match self.ids.get(&a.id) {
                Some(owner) if **owner != *path => {
                    blocked_by = Some(a.id.clone());
                    diagnostics.push(Diagnostic::error(
                        &path.display().to_string(),
                        None,
                        format!(
                            "id `{}` is already used by {}; ids must be unique: give one of them its own `id` in the front matter",
                            a.id,
                            owner.display()
                        ),
                    ));
                    old.clone()
                }
                _ => Some(a),
            },
            // A draft, or an article whose date is to come, is not on the
            // site (an article moved into the future leaves it).
            None if read.draft || read.scheduled.is_some() => None,
            None => old.clone(),
        };
        change.diagnostics.extend(diagnostics.iter().cloned());
        let same = match (&old, &new) {
            (Some(o), Some(n)) => Arc::ptr_eq(o, n),
            (None, None) => true,
            _ => false,
        };
        if !same {
            if let Some(o) = &old {
                self.unindex(o, change);
                if new.as_ref().is_none_or(|n| n.path != o.path) {
                    change.gone.push(o.clone());
                }
            }
            if let Some(n) = &new {
                self.index(path, n, change);
                if let Some(b) = body {
                    let b = Arc::new(b.render());
                    self.bodies.insert(n.path.clone(), b.clone());
                    change.pages.push((n.clone(), b));
                }
            }
        }
        let key = shared_path(path, new.as_deref());
        if let Some(folder) = path.parent() {
            match self.by_folder.get_mut(folder) {
                Some(known) => known.insert(key.clone()),
                None => self
                    .by_folder
                    .entry(folder.to_path_buf())
                    .or_default()
                    .insert(key.clone()),
            };
        }
        if blocked_by.is_some() {
            self.blocked.insert(path.to_path_buf());
        } else if !self.blocked.is_empty() {
            self.blocked.remove(path);
        }
        if !diagnostics.is_empty() || read.scheduled.is_some() || read.draft {
            self.noted.insert(path.to_path_buf());
        } else if !self.noted.is_empty() {
            self.noted.remove(path);
        }
        let notes = (read.scheduled.is_some() || !diagnostics.is_empty() || blocked_by.is_some())
            .then(|| {
                Box::new(Notes {
                    scheduled: read.scheduled,
                    diagnostics,
                    blocked_by,
                })
            });
        self.files.insert(
            key,
            FileState {
                stamp,
                read_at: read.read_at,
                article: new,
                draft: read.draft,
                notes,
            },
        );
    }

    fn remove(&mut self, path: &Path, change: &mut Change) {
        if let Some(known) = path.parent().and_then(|f| self.by_folder.get_mut(f)) {
            known.remove(path);
        }
        // Unindex while the file is still known: that frees its id.
        if let Some(a) = self.files.get(path).and_then(|s| s.article.clone()) {
            self.unindex(&a, change);
            change.gone.push(a);
        }
        self.files.remove(path);
        self.blocked.remove(path);
        self.noted.remove(path);
    }

    fn index(&mut self, path: &Path, a: &Arc<Article>, change: &mut Change) {
        self.ids.insert(a.id.clone(), shared_path(path, Some(a)));
        self.all.insert(key(a), a.clone());
        match self.pages.get_mut(&a.path) {
            Some(n) => *n += 1,
            None => {
                self.pages.insert(a.path.clone(), 1);
            }
        }
        if let Some(d) = a.district.as_deref() {
            match self.by_district.get_mut(d) {
                Some(m) => m.insert(key(a), a.clone()),
                None => self
                    .by_district
                    .entry(d.to_string())
                    .or_default()
                    .insert(key(a), a.clone()),
            };
            if !change.districts.contains(d) {
                change.districts.insert(d.to_string());
            }
        }
        if self.config.topics {
            for (k, spelling) in topics_of(a) {
                let t = self.by_topic.entry(k.clone()).or_default();
                t.articles.insert(key(a), a.clone());
                *t.spellings.entry(spelling).or_default() += 1;
                change.topics.insert(k);
            }
        }
        self.dated(a, change);
    }

    /// What an article coming or going changes besides its scopes: its
    /// month's sitemap, archives from its date on.
    fn dated(&self, a: &Article, change: &mut Change) {
        change
            .months
            .insert(Month::of(a.date, self.config.timezone));
        change.touch(a.date);
        change.any = true;
    }

    fn unindex(&mut self, a: &Arc<Article>, change: &mut Change) {
        if self.ids.get(&a.id).is_some_and(|p| {
            self.files
                .get(p)
                .and_then(|s| s.article.as_ref())
                .is_some_and(|x| Arc::ptr_eq(x, a))
        }) {
            self.ids.remove(&a.id);
            self.released.push(a.id.clone());
        }
        self.all.remove(&key(a));
        if let Some(n) = self.pages.get_mut(&a.path) {
            *n -= 1;
            if *n == 0 {
                self.pages.remove(&a.path);
            }
        }
        if let Some(d) = a.district.as_deref() {
            if let Some(m) = self.by_district.get_mut(d) {
                m.remove(&key(a));
            }
            if !change.districts.contains(d) {
                change.districts.insert(d.to_string());
            }
        }
        for (k, spelling) in topics_of(a) {
            if let Some(t) = self.by_topic.get_mut(&k) {
                t.articles.remove(&key(a));
                if let Some(n) = t.spellings.get_mut(&spelling) {
                    *n -= 1;
                    if *n == 0 {
                        t.spellings.remove(&spelling);
                    }
                }
                if t.articles.is_empty() {
                    self.by_topic.remove(&k);
                }
                change.topics.insert(k);
            }
        }
        self.dated(a, change);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Overrides;

    fn config() -> Config {
        let text = "title = \"t\"\nbase_url = \"https://n.example/\"\nid_authority = \"n.example\"\n[districts.a]\nname = \"A\"\n";
        Config::from_toml(text, "crier.toml", &Overrides::default()).unwrap()
    }

    fn write(dir: &Path, rel: &str, title: &str) {
        std::fs::write(
            dir.join(rel),
            format!("+++\ntitle = \"{title}\"\ndate = 2023-01-10\n+++\nbody\n"),
        )
        .unwrap();
    }

    #[test]
    fn refresh_reads_the_touched_file_and_finds_what_events_missed() {
        let tmp = tempfile::tempdir().unwrap();
        let content = tmp.path().join("content");
        std::fs::create_dir_all(content.join("a")).unwrap();
        for i in 0..20 {
            write(&content, &format!("a/{i:02}.md"), &format!("t{i}"));
        }
        let mut lib = Library::load(config(), &content).unwrap();
        assert_eq!(lib.count(Some("a")), 20);

        // One reported edit; one new file and one deletion nobody reported.
        write(&content, "a/05.md", "edited");
        write(&content, "a/new.md", "unreported");
        std::fs::remove_file(content.join("a/07.md")).unwrap();
        let mut change = Change::default();
        lib.refresh(&[content.join("a/05.md")], &mut change)
            .unwrap();
        assert_eq!(
            change.files_read, 2,
            "the edited file and the new one, not the other 18"
        );
        assert_eq!(lib.count(Some("a")), 20);
        let titles: Vec<&str> = lib.articles().map(|a| a.title.as_str()).collect();
        assert!(
            titles.contains(&"edited") && titles.contains(&"unreported") && !titles.contains(&"t7")
        );
        assert_eq!(change.gone.len(), 1);
        assert!(change.districts.contains("a") && change.any);
    }

    #[test]
    fn only_feed_articles_keep_their_bodies_and_one_entering_a_feed_brings_its_own() {
        let text = "title = \"t\"\nbase_url = \"https://n.example/\"\nid_authority = \"n.example\"\nfeed_limit = 2\n[districts.a]\nname = \"A\"\n";
        let config = Config::from_toml(text, "crier.toml", &Overrides::default()).unwrap();
        let tmp = tempfile::tempdir().unwrap();
        let content = tmp.path().join("content");
        std::fs::create_dir_all(content.join("a")).unwrap();
        for day in 10..13 {
            std::fs::write(
                content.join(format!("a/{day}.md")),
                format!("+++\ntitle = \"t{day}\"\ndate = 2023-01-{day}\n+++\n正文{day}\n"),
            )
            .unwrap();
        }
        let mut lib = Library::load(config, &content).unwrap();
        assert_eq!(lib.bodies.len(), 2, "the two newest, shown by both feeds");
        let shown = |lib: &Library| -> Vec<String> {
            let scope = crate::render::Scope::new(lib, Some(&lib.config.districts[0]));
            scope.items().map(|(_, b)| b.html.clone()).collect()
        };
        assert_eq!(shown(&lib), ["<p>正文12</p>\n", "<p>正文11</p>\n"]);

        std::fs::remove_file(content.join("a/12.md")).unwrap();
        lib.refresh(&[content.join("a/12.md")], &mut Change::default())
            .unwrap();
        assert_eq!(shown(&lib), ["<p>正文11</p>\n", "<p>正文10</p>\n"]);
        assert_eq!(lib.bodies.len(), 2);
    }

    #[test]
    fn a_broken_file_keeps_its_last_good_article() {
        let tmp = tempfile::tempdir().unwrap();
        let content = tmp.path().join("content");
        std::fs::create_dir_all(content.join("a")).unwrap();
        write(&content, "a/x.md", "good");
        let mut lib = Library::load(config(), &content).unwrap();
        std::fs::write(content.join("a/x.md"), "no front matter").unwrap();
        let mut change = Change::default();
        lib.refresh(&[content.join("a/x.md")], &mut change).unwrap();
        assert_eq!(lib.errors(), 1);
        assert_eq!(
            lib.articles().next().map(|a| a.title.as_str()),
            Some("good")
        );
        write(&content, "a/x.md", "fixed");
        lib.refresh(&[content.join("a/x.md")], &mut Change::default())
            .unwrap();
        assert_eq!(lib.errors(), 0);
        assert_eq!(
            lib.articles().next().map(|a| a.title.as_str()),
            Some("fixed")
        );
    }

    #[test]
    fn a_file_refused_for_a_duplicate_id_comes_back_when_the_id_is_freed() {
        let tmp = tempfile::tempdir().unwrap();
        let content = tmp.path().join("content");
        std::fs::create_dir_all(content.join("a")).unwrap();
        let with_id = |title: &str| {
            format!(
                "+++\ntitle = \"{title}\"\ndate = 2023-01-10\nid = \"tag:x,2023:same\"\n+++\nbody\n"
            )
        };
        std::fs::write(content.join("a/first.md"), with_id("first")).unwrap();
        std::fs::write(content.join("a/second.md"), with_id("second")).unwrap();
        let mut lib = Library::load(config(), &content).unwrap();
        assert_eq!((lib.count(None), lib.errors()), (1, 1));
        std::fs::remove_file(content.join("a/first.md")).unwrap();
        lib.refresh(&[content.join("a/first.md")], &mut Change::default())
            .unwrap();
        assert_eq!((lib.count(None), lib.errors()), (1, 0));
        assert_eq!(
            lib.articles().next().map(|a| a.title.as_str()),
            Some("second")
        );
    }
}
