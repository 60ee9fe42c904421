//! Writing the site to the output folder. Each file is written whole to a
//! temp file in its own folder and renamed into place, so a reader (nginx,
//! a CDN sync) never sees a half-written file; files whose bytes did not
//! change are not touched, and files the site no longer has are removed.

use std::borrow::Cow;
// Paths of the output folder: see library.rs on the hash.
use foldhash::{HashMap, HashMapExt, HashSet, HashSetExt};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use rayon::prelude::*;
use sha2::{Digest, Sha256};

use crate::compress::{self, Effort};
use crate::config::Config;
use crate::content::{Article, Pending};
use crate::library::Library;
use crate::site::{self, Delta, Encoded, Output, Page, Site};

/// Marks a folder as crier's output, so crier never deletes files in a
/// folder it did not create.
pub const MARKER: &str = ".crier-output";

/// What each article page in the folder was made from, so that a rebuild
/// renders only the pages of changed files.
pub const MANIFEST: &str = ".crier-manifest";

type Key = [u8; 16];

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error(
        "{0}: refusing to write here: the folder has files and no {MARKER} marker, so it is not crier's output; pick an empty or new folder with --out"
    )]
    NotOurs(PathBuf),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> PublishError + '_ {
    move |source| PublishError::Io {
        path: path.to_path_buf(),
        source,
    }
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Report {
    pub written: usize,
    pub unchanged: usize,
    pub removed: usize,
}

/// Writes `site` into `out` and removes every file that is neither one of
/// its outputs nor the page of an article of `library` (those are written
/// by a [`PageWriter`] as the articles are read).
/// `known` is every file in the folder when the build started
/// ([`Pages::known`]).
pub fn publish(
    site: &Site,
    library: &Library,
    out: &Path,
    known: &HashSet<String>,
    also_keep: &[String],
) -> Result<Report, PublishError> {
    claim(out)?;
    let mut report = write_outputs(&site.outputs, out)?;
    let keep: HashSet<Cow<'_, str>> = site
        .outputs
        .iter()
        .map(|o| o.file.as_path())
        .chain(library.articles().map(|a| a.file.as_path()))
        .map(|f| f.to_string_lossy())
        .chain(also_keep.iter().map(|f| Cow::Borrowed(f.as_str())))
        .collect();
    report.removed = remove_stale(out, known, &keep)?;
    Ok(report)
}

/// What `crier build` does with the feeds and index pages: as [`publish`]
/// does with a built site, but a page whose bytes are in the folder
/// already, with its siblings, is not compressed again.
pub fn publish_pages(
    pages: Vec<Page>,
    library: &Library,
    out: &Path,
    known: &HashSet<String>,
    also_keep: &[String],
) -> Result<Report, PublishError> {
    claim(out)?;
    let files: Vec<String> = pages
        .iter()
        .map(|p| p.file().to_string_lossy().into_owned())
        .collect();
    type Pair<'a> = (Page, &'a String);
    let (late, early): (Vec<Pair<'_>>, Vec<Pair<'_>>) = pages
        .into_iter()
        .zip(&files)
        .partition(|(p, _)| p.is_late());
    let mut report = Report::default();
    for batch in [early, late] {
        let results: Vec<Result<Option<usize>, PublishError>> = batch
            .par_iter()
            .map(|(page, file)| {
                let complete = names(file).iter().all(|f| known.contains(f));
                write_page(&out.join(page.file()), page.body(), complete, page.effort())
            })
            .collect();
        for r in results {
            match r? {
                Some(n) => report.written += n,
                None => report.unchanged += 3,
            }
        }
    }
    let keep: HashSet<Cow<'_, str>> = files
        .iter()
        .chain(also_keep)
        .map(|f| Cow::Borrowed(f.as_str()))
        .chain(library.articles().map(|a| a.file.to_string_lossy()))
        .collect();
    report.removed = remove_stale(out, known, &keep)?;
    Ok(report)
}

/// Renders and writes archive documents, each dropped once written (an
/// archive of 100,000 articles has thousands); only those whose bytes
/// changed are compressed and written. Returns what was done and the
/// files, which the folder keeps.
/// A full build (`keys` and `known` given) skips documents made from the
/// same articles, and writes a new [`ARCHIVE_MANIFEST`]; a live update
/// (neither given) renders the documents of the scopes it touched and
/// removes the manifest, which no longer says what the files hold.
pub fn write_archives(
    archives: &[site::Archive<'_>],
    library: &Library,
    out: &Path,
    known: Option<&HashSet<String>>,
    keys: Option<&Keys>,
) -> Result<(Report, Vec<String>), PublishError> {
    claim(out)?;
    let made_from = match keys {
        Some(k) => read_manifest_named(out, ARCHIVE_MANIFEST, k.epoch),
        None => {
            match std::fs::remove_file(out.join(ARCHIVE_MANIFEST)) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(PublishError::Io {
                        path: out.join(ARCHIVE_MANIFEST),
                        source: e,
                    });
                }
                _ => {}
            }
            HashMap::new()
        }
    };
    type Done = (Option<usize>, String, Option<Key>);
    let results: Vec<Result<Done, PublishError>> = archives
        .par_iter()
        .map(|a| {
            let file = a.file();
            // Without a listing of the folder, ask it.
            let complete = names(&file).iter().all(|f| match known {
                Some(known) => known.contains(f),
                None => out.join(f).exists(),
            });
            let made = keys.and_then(|k| archive_key(k, a, &file));
            if complete && made.is_some() && made_from.get(&file) == made.as_ref() {
                return Ok((None, file, made));
            }
            let page = a.page(library);
            let written = write_page(&out.join(&file), page.body(), complete, page.effort())?;
            Ok((written, file, made))
        })
        .collect();
    let mut report = Report::default();
    let mut files = Vec::with_capacity(results.len());
    let mut made = Vec::with_capacity(results.len());
    for r in results {
        let (written, file, key) = r?;
        match written {
            Some(n) => report.written += n,
            None => report.unchanged += 3,
        }
        if let Some(key) = key {
            made.push((file.clone(), key));
        }
        files.push(file);
    }
    if let Some(k) = keys {
        made.sort_unstable();
        write_manifest(out, ARCHIVE_MANIFEST, k.epoch, &made)?;
    }
    Ok((report, files))
}

/// What a [`PageWriter`] did.
pub struct Pages {
    pub report: Report,
    /// Pages that could not be written, kept for serving from memory.
    pub unwritten: Vec<Output>,
    /// The first error.
    pub error: Option<PublishError>,
    /// Every file of the folder when the build started. (Files written
    /// since are current, so never stale.)
    pub known: HashSet<String>,
    /// What each article page was made from, if the program could be read.
    pub keys: Option<Keys>,
}

/// The keys of a build's article pages, under its epoch.
pub struct Keys {
    epoch: Key,
    /// Page file → key of what it was made from.
    pages: HashMap<String, Key>,
}

/// What each archive document in the folder was made from: its number,
/// how many there are, and the keys of its articles' pages. A rebuild
/// renders only documents whose key changed (at archive scale, thousands
/// of closed documents would otherwise be rendered and compared).
pub const ARCHIVE_MANIFEST: &str = ".crier-archives";

/// The key of an archive document, if every article of it has one.
fn archive_key(keys: &Keys, a: &site::Archive<'_>, file: &str) -> Option<Key> {
    let mut h = Sha256::new();
    h.update(keys.epoch);
    h.update(file.as_bytes());
    h.update([0]);
    h.update((a.number as u64).to_le_bytes());
    h.update((a.of as u64).to_le_bytes());
    for item in &a.items {
        h.update(keys.pages.get(item.file.to_str()?)?);
    }
    Some(key(h))
}

/// Renders and writes article pages as a full build reads them, so that
/// no more than a page per thread is in memory. A page made by this
/// program, with this config, from a file with the same bytes is not
/// rendered again (see [`MANIFEST`]); one whose bytes are already in the
/// folder is not compressed or written again.
pub struct PageWriter<'a> {
    config: &'a Config,
    /// `None` when the output folder is not usable: pages are then only
    /// kept in memory.
    out: Option<&'a Path>,
    /// Everything a page depends on besides its file: this program and
    /// the config. `None` if the program cannot be read.
    epoch: Option<Key>,
    /// Files in the folder when the build started.
    present: HashSet<String>,
    /// The previous build's manifest (page file to key), if made in the
    /// same epoch.
    made_from: HashMap<String, Key>,
    /// This build's.
    made: Mutex<Vec<(String, Key)>>,
    written: AtomicUsize,
    unchanged: AtomicUsize,
    /// Pages that could not be written, with the first error.
    unwritten: Mutex<(Vec<Output>, Option<PublishError>)>,
    /// Whether to keep unwritten pages (a server serves them from memory).
    keep_unwritten: bool,
}

impl<'a> PageWriter<'a> {
    pub fn new(config: &'a Config, out: Option<&'a Path>, keep_unwritten: bool) -> Self {
        let epoch = std::env::current_exe()
            .and_then(std::fs::read)
            .ok()
            .map(|exe| {
                let mut h = Sha256::new();
                h.update(&exe);
                h.update(format!("{config:?}").as_bytes());
                key(h)
            });
        let (present, made_from) = match out {
            Some(out) => (
                list(out),
                epoch.map(|e| read_manifest(out, e)).unwrap_or_default(),
            ),
            None => Default::default(),
        };
        PageWriter {
            config,
            out,
            epoch,
            present,
            made_from,
            made: Mutex::new(Vec::new()),
            written: AtomicUsize::new(0),
            unchanged: AtomicUsize::new(0),
            unwritten: Mutex::new((Vec::new(), None)),
            keep_unwritten,
        }
    }

    pub fn write(&self, a: &Article, pending: Pending) {
        let made_from = self.epoch.map(|epoch| {
            let mut h = Sha256::new();
            h.update(epoch);
            h.update(a.file.as_os_str().as_encoded_bytes());
            h.update([0]);
            h.update(pending.bytes());
            key(h)
        });
        let file = a.file.to_string_lossy();
        let complete = self.complete(&file);
        if let (Some(key), Some(_)) = (made_from, self.out)
            && complete
            && self.made_from.get(file.as_ref()) == Some(&key)
        {
            self.unchanged.fetch_add(3, Ordering::Relaxed);
            self.lock_made().push((file.into_owned(), key));
            return;
        }
        let body = pending.render();
        let page = site::article_page(self.config, a, &body);
        let result = match self.out {
            Some(out) => write_page(&out.join(&a.file), &page, complete, Effort::Fast),
            None => Ok(None),
        };
        match result {
            Ok(written) if self.out.is_some() => {
                match written {
                    Some(n) => self.written.fetch_add(n, Ordering::Relaxed),
                    None => self.unchanged.fetch_add(3, Ordering::Relaxed),
                };
                if let Some(key) = made_from {
                    self.lock_made().push((file.into_owned(), key));
                }
            }
            result => {
                let mut unwritten = self.unwritten.lock().unwrap_or_else(|e| e.into_inner());
                if let Err(e) = result {
                    unwritten.1.get_or_insert(e);
                }
                if self.keep_unwritten {
                    unwritten
                        .0
                        .push(site::article_output(self.config, a, &body).finish());
                }
            }
        }
    }

    /// Whether the page and both its siblings were in the folder.
    fn complete(&self, file: &str) -> bool {
        let mut name = String::with_capacity(file.len() + 3);
        name.push_str(file);
        self.present.contains(&name)
            && [".gz", ".br"].iter().all(|ext| {
                name.truncate(file.len());
                name.push_str(ext);
                self.present.contains(&name)
            })
    }

    fn lock_made(&self) -> std::sync::MutexGuard<'_, Vec<(String, Key)>> {
        self.made.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// What was done. Writes this build's manifest.
    pub fn finish(self) -> Pages {
        let (unwritten, mut error) = self
            .unwritten
            .into_inner()
            .unwrap_or_else(|e| e.into_inner());
        let mut made = self.made.into_inner().unwrap_or_else(|e| e.into_inner());
        if let (Some(out), Some(epoch)) = (self.out, self.epoch) {
            made.par_sort_unstable();
            if let Err(e) = write_manifest(out, MANIFEST, epoch, &made) {
                error.get_or_insert(e);
            }
        }
        let report = Report {
            written: self.written.into_inner(),
            unchanged: self.unchanged.into_inner(),
            removed: 0,
        };
        Pages {
            report,
            unwritten,
            error,
            known: self.present,
            keys: self.epoch.map(|epoch| Keys {
                epoch,
                pages: made.into_iter().collect(),
            }),
        }
    }
}

fn key(h: Sha256) -> Key {
    let mut k = [0; 16];
    k.copy_from_slice(&h.finalize()[..16]);
    k
}

fn hex(k: &Key) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    k.iter()
        .flat_map(|b| [DIGITS[usize::from(b >> 4)], DIGITS[usize::from(b & 15)]])
        .map(char::from)
        .collect()
}

/// Writes a manifest: `epoch`, then a key and a file per line.
fn write_manifest(
    out: &Path,
    name: &str,
    epoch: Key,
    made: &[(String, Key)],
) -> Result<(), PublishError> {
    let mut text = hex(&epoch);
    text.push('\n');
    for (file, key) in made {
        text.push_str(&hex(key));
        text.push('\t');
        text.push_str(file);
        text.push('\n');
    }
    write_whole(&out.join(name), text.as_bytes())
}

/// The previous build's manifest, if it was made in `epoch`.
fn read_manifest(out: &Path, epoch: Key) -> HashMap<String, Key> {
    read_manifest_named(out, MANIFEST, epoch)
}

fn read_manifest_named(out: &Path, name: &str, epoch: Key) -> HashMap<String, Key> {
    let Ok(text) = std::fs::read_to_string(out.join(name)) else {
        return HashMap::new();
    };
    let mut lines = text.lines();
    if lines.next() != Some(hex(&epoch).as_str()) {
        return HashMap::new();
    }
    let parse = |h: &str| -> Option<Key> {
        let mut k = [0; 16];
        for (i, b) in k.iter_mut().enumerate() {
            *b = u8::from_str_radix(h.get(2 * i..2 * i + 2)?, 16).ok()?;
        }
        Some(k)
    };
    lines
        .filter_map(|l| {
            let (k, file) = l.split_once('\t')?;
            Some((file.to_string(), parse(k)?))
        })
        .collect()
}

/// Every file under `out` (relative), hidden ones aside except temp files
/// of a build that was killed. Folders are listed in parallel.
fn list(out: &Path) -> HashSet<String> {
    fn walk(dir: &Path, rel: &str) -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return Vec::new();
        };
        let mut files = Vec::new();
        let mut dirs = Vec::new();
        for e in entries.flatten() {
            let name = e.file_name();
            let text = name.to_string_lossy();
            if text.starts_with('.') && !text.starts_with(".tmp-") {
                continue;
            }
            let rel = format!("{rel}{text}");
            match e.file_type() {
                Ok(t) if t.is_dir() => dirs.push((e.path(), rel + "/")),
                Ok(_) => files.push(rel),
                Err(_) => {}
            }
        }
        let inner: Vec<Vec<String>> = dirs.par_iter().map(|(d, r)| walk(d, r)).collect();
        files.extend(inner.into_iter().flatten());
        files
    }
    walk(out, "").into_iter().collect()
}

/// Writes one article page and its compressed siblings, unless the page
/// on disk has these bytes and its siblings are there (`complete`). The
/// siblings go first: a page on disk always has siblings made from it.
/// Returns how many files were written (`None`: none).
fn write_page(
    path: &Path,
    page: &[u8],
    complete: bool,
    effort: Effort,
) -> Result<Option<usize>, PublishError> {
    let sibling = |ext: &str| {
        let mut name = path.as_os_str().to_os_string();
        name.push(ext);
        PathBuf::from(name)
    };
    let (gz, br) = (sibling(".gz"), sibling(".br"));
    if complete && std::fs::read(path).is_ok_and(|old| old == page) {
        return Ok(None);
    }
    write_whole(&gz, &compress::gzip(page, effort))?;
    write_whole(&br, &compress::brotli(page, effort))?;
    write_whole(path, page)?;
    Ok(Some(3))
}

/// Writes what a refresh changed: its outputs, then removes its gone pages.
pub fn apply(delta: &Delta, out: &Path) -> Result<Report, PublishError> {
    claim(out)?;
    let mut report = write_outputs(&delta.outputs, out)?;
    for (_, file) in &delta.removed {
        for ext in ["", ".gz", ".br"] {
            let mut name = out.join(file).into_os_string();
            name.push(ext);
            match std::fs::remove_file(&name) {
                Ok(()) => report.removed += 1,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    return Err(PublishError::Io {
                        path: name.into(),
                        source: e,
                    });
                }
            }
        }
    }
    Ok(report)
}

/// Writes outputs whose bytes changed: pages first, index pages and OPML
/// last, so a new link never points at a file that is not there yet.
fn write_outputs(outputs: &[Output], out: &Path) -> Result<Report, PublishError> {
    let (late, early): (Vec<_>, Vec<_>) = outputs
        .iter()
        .partition(|o| o.path.ends_with('/') || o.path == "/feeds.opml");
    let mut report = Report::default();
    for batch in [early, late] {
        let results: Vec<Result<bool, PublishError>> = batch
            .par_iter()
            .flat_map_iter(|o| {
                files_of(o).map(move |(file, enc)| write_if_changed(&out.join(file), &enc.bytes))
            })
            .collect();
        for r in results {
            if r? {
                report.written += 1;
            } else {
                report.unchanged += 1;
            }
        }
    }
    Ok(report)
}

/// The files of one output: its `.gz` and `.br` siblings (for nginx
/// `gzip_static` / `brotli_static` or a CDN serving the tree as is), then
/// itself, in the order they are written.
fn files_of(o: &Output) -> impl Iterator<Item = (PathBuf, &Encoded)> {
    siblings(&o.file).zip([&o.gzip, &o.br, &o.body])
}

/// `x.gz`, `x.br` and `x`.
fn siblings(file: &Path) -> impl Iterator<Item = PathBuf> + use<> {
    let file = file.to_path_buf();
    ["gz", "br", ""].into_iter().map(move |ext| {
        if ext.is_empty() {
            return file.clone();
        }
        let mut name = file.clone().into_os_string();
        name.push(".");
        name.push(ext);
        PathBuf::from(name)
    })
}

/// Makes sure `out` is ours: new, empty (hidden placeholders aside), or
/// marked by an earlier build.
pub fn claim(out: &Path) -> Result<(), PublishError> {
    std::fs::create_dir_all(out).map_err(io(out))?;
    let marker = out.join(MARKER);
    if marker.exists() {
        return Ok(());
    }
    let foreign = std::fs::read_dir(out)
        .map_err(io(out))?
        .filter_map(Result::ok)
        .any(|e| !e.file_name().to_string_lossy().starts_with('.'));
    if foreign {
        return Err(PublishError::NotOurs(out.to_path_buf()));
    }
    std::fs::write(
        &marker,
        "This folder is written by crier build; files here are replaced and removed.\n",
    )
    .map_err(io(&marker))
}

/// Writes `bytes` to `path` by temp file + rename unless the file already
/// holds exactly these bytes. Returns whether it wrote.
pub fn write_if_changed(path: &Path, bytes: &[u8]) -> Result<bool, PublishError> {
    if std::fs::read(path).is_ok_and(|old| old == bytes) {
        return Ok(false);
    }
    write_whole(path, bytes)?;
    Ok(true)
}

/// Writes a file only its owner may read, whole (temp file + rename).
pub fn write_private(path: &Path, bytes: &[u8]) -> Result<(), PublishError> {
    let n = TEMP.fetch_add(1, Ordering::Relaxed);
    let mut tmp = path.as_os_str().to_os_string();
    tmp.push(format!(".tmp-{}-{n}", std::process::id()));
    let tmp = PathBuf::from(tmp);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let written = options
        .open(&tmp)
        .and_then(|mut f| f.write_all(bytes))
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(io(path));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

/// Numbers temp files: with the process id, a name no other writer uses.
static TEMP: AtomicUsize = AtomicUsize::new(0);

/// Writes `bytes` to `path` by temp file + rename. Four system calls when
/// the folder exists: a build makes 300,000 of these.
fn write_whole(path: &Path, bytes: &[u8]) -> Result<(), PublishError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let n = TEMP.fetch_add(1, Ordering::Relaxed);
    let tmp = dir.join(format!(".tmp-{}-{n}", std::process::id()));
    let create = || {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        // Output is public: readable by a web server running as another
        // user.
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o644);
        options.open(&tmp)
    };
    let mut file = match create() {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir_all(dir).map_err(io(dir))?;
            create()
        }
        // Left by a killed process that had the same id.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            let _ = std::fs::remove_file(&tmp);
            create()
        }
        other => other,
    }
    .map_err(io(dir))?;
    let written = file
        .write_all(bytes)
        .and_then(|()| {
            drop(file);
            std::fs::rename(&tmp, path)
        })
        .map_err(io(path));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

/// Removes the `known` files that are neither in `keep` nor a `.gz` or
/// `.br` of one (temp files of a build that was killed among them), and
/// folders left empty. Other hidden files (the marker, a .gitkeep) are
/// not ours to remove, and are not in `known`.
fn remove_stale(
    out: &Path,
    known: &HashSet<String>,
    keep: &HashSet<Cow<'_, str>>,
) -> Result<usize, PublishError> {
    let is_kept = |name: &str| {
        let base = name
            .strip_suffix(".gz")
            .or_else(|| name.strip_suffix(".br"))
            .unwrap_or(name);
        keep.contains(base)
    };
    let stale: Vec<&String> = known.par_iter().filter(|f| !is_kept(f)).collect();
    let mut folders = HashSet::new();
    for file in &stale {
        let path = out.join(file);
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(PublishError::Io { path, source: e }),
        }
        folders.extend(file.rsplit_once('/').map(|(folder, _)| folder));
    }
    for folder in folders {
        // Fails, as it should, unless the folder is now empty.
        let _ = std::fs::remove_dir(out.join(folder));
    }
    Ok(stale.iter().filter(|f| !f.contains(".tmp-")).count())
}

/// `x.gz`, `x.br` and `x`.
fn names(file: &str) -> [String; 3] {
    [format!("{file}.gz"), format!("{file}.br"), file.to_string()]
}
