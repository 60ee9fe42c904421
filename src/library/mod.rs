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

mod media;
mod queries;
mod read;
mod sorted;

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
    /// During a first reading, the articles not yet in `all`,
    /// `by_district` and `by_topic` (see `sorted`).
    unsorted: Option<sorted::Unsorted>,
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
    /// Media files by their path in the site (`xiaodian/photo.png`).
    media: media::Media,
    /// Why media and static files were left out.
    media_notes: Vec<Diagnostic>,
    /// The files of `static/`, read.
    statics: Vec<Arc<content::StaticFile>>,
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
    /// During a first reading, the articles not yet in `articles`.
    unsorted: Vec<Arc<Article>>,
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
    /// Media files new or changed, to publish.
    pub media: Vec<Arc<content::MediaFile>>,
    /// Media files gone, to remove.
    pub media_gone: Vec<Arc<content::MediaFile>>,
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
            unsorted: None,
            pages: HashMap::new(),
            by_district: HashMap::new(),
            by_topic: HashMap::new(),
            blocked: HashSet::new(),
            noted: HashSet::new(),
            released: Vec::new(),
            bodies: HashMap::new(),
            opened: (0, 0),
            media: BTreeMap::new(),
            media_notes: Vec::new(),
            statics: Vec::new(),
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
        crate::index::save_media(path, epoch, self.media.values().map(|m| m.as_ref()))?;
        crate::index::save(path, epoch, entries)
    }

    /// The files with a problem, a date to come, or a draft.
    fn noted(&self) -> impl Iterator<Item = (&Arc<Path>, &FileState)> {
        self.noted
            .iter()
            .filter_map(|p| self.files.get_key_value(p.as_path()))
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
        // As the listing's key has them: the media and static files too.
        files.extend(self.media.values().map(|m| (m.path.as_path(), &m.stamp)));
        files.extend(self.statics.iter().map(|f| (f.path.as_path(), &f.stamp)));
        Some(content::listing_key(files))
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
