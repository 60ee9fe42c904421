//! Writing the site to the output folder. Each file is written whole to a
//! temp file in its own folder and renamed into place, so a reader (nginx,
//! a CDN sync) never sees a half-written file; files whose bytes did not
//! change are not touched, and files the site no longer has are removed.

use std::collections::HashSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use rayon::prelude::*;

use crate::compress::{self, Effort};
use crate::config::Config;
use crate::content::{Article, Body};
use crate::library::Library;
use crate::site::{self, Delta, Encoded, Output, Site};

/// Marks a folder as crier's output, so crier never deletes files in a
/// folder it did not create.
pub const MARKER: &str = ".crier-output";

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

#[derive(Debug, Default, PartialEq, Eq)]
pub struct Report {
    pub written: usize,
    pub unchanged: usize,
    pub removed: usize,
}

/// Writes `site` into `out` and removes every file that is neither one of
/// its outputs nor the page of an article of `library` (those are written
/// by a [`PageWriter`] as the articles are read).
pub fn publish(site: &Site, library: &Library, out: &Path) -> Result<Report, PublishError> {
    claim(out)?;
    let mut report = write_outputs(&site.outputs, out)?;
    let pages = library
        .articles()
        .map(|a| a.file.clone())
        .collect::<Vec<_>>();
    let keep: HashSet<PathBuf> = site
        .outputs
        .iter()
        .map(|o| o.file.clone())
        .chain(pages)
        .flat_map(|f| siblings(&f).map(|s| out.join(s)))
        .collect();
    report.removed = remove_stale(out, &keep)?;
    Ok(report)
}

/// Renders and writes article pages as a full build reads them, so that
/// no more than a page per thread is in memory. A page whose bytes are
/// already in the folder is not compressed or written again.
pub struct PageWriter<'a> {
    config: &'a Config,
    /// `None` when the output folder is not usable: pages are then only
    /// kept in memory.
    out: Option<&'a Path>,
    written: AtomicUsize,
    unchanged: AtomicUsize,
    /// Pages that could not be written, with the first error.
    unwritten: Mutex<(Vec<Output>, Option<PublishError>)>,
    /// Whether to keep unwritten pages (a server serves them from memory).
    keep_unwritten: bool,
}

impl<'a> PageWriter<'a> {
    pub fn new(config: &'a Config, out: Option<&'a Path>, keep_unwritten: bool) -> Self {
        PageWriter {
            config,
            out,
            written: AtomicUsize::new(0),
            unchanged: AtomicUsize::new(0),
            unwritten: Mutex::new((Vec::new(), None)),
            keep_unwritten,
        }
    }

    pub fn write(&self, a: &Article, body: &Body) {
        let page = site::article_page(self.config, a, body);
        let result = match self.out {
            Some(out) => write_page(&out.join(&a.file), &page),
            None => Ok(None),
        };
        match result {
            Ok(Some(n)) => {
                self.written.fetch_add(n, Ordering::Relaxed);
            }
            Ok(None) if self.out.is_some() => {
                self.unchanged.fetch_add(3, Ordering::Relaxed);
            }
            Ok(None) | Err(_) => {
                let mut unwritten = self.unwritten.lock().unwrap_or_else(|e| e.into_inner());
                if let Err(e) = result {
                    unwritten.1.get_or_insert(e);
                }
                if self.keep_unwritten {
                    unwritten
                        .0
                        .push(site::article_output(self.config, a, body).finish());
                }
            }
        }
    }

    /// Files written and left unchanged, pages kept in memory, and the
    /// first error.
    pub fn finish(self) -> (Report, Vec<Output>, Option<PublishError>) {
        let (pages, error) = self
            .unwritten
            .into_inner()
            .unwrap_or_else(|e| e.into_inner());
        let report = Report {
            written: self.written.into_inner(),
            unchanged: self.unchanged.into_inner(),
            removed: 0,
        };
        (report, pages, error)
    }
}

/// Writes one article page and its compressed siblings, unless the page
/// on disk has these bytes and its siblings are there. The siblings go
/// first: a page on disk always has siblings made from it. Returns how
/// many files were written (`None`: none).
pub fn write_page(path: &Path, page: &[u8]) -> Result<Option<usize>, PublishError> {
    let sibling = |ext: &str| {
        let mut name = path.as_os_str().to_os_string();
        name.push(ext);
        PathBuf::from(name)
    };
    let (gz, br) = (sibling(".gz"), sibling(".br"));
    if std::fs::read(path).is_ok_and(|old| old == page) && gz.is_file() && br.is_file() {
        return Ok(None);
    }
    write_whole(&gz, &compress::gzip(page, Effort::Fast))?;
    write_whole(&br, &compress::brotli(page, Effort::Fast))?;
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

/// Writes `bytes` to `path` by temp file + rename.
fn write_whole(path: &Path, bytes: &[u8]) -> Result<(), PublishError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let mut builder = tempfile::Builder::new();
    builder.prefix(".tmp-");
    // Output is public: readable by a web server running as another user
    // (temp files are otherwise created 0600).
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o644));
    let mut tmp = builder.tempfile_in(dir).map_err(io(dir))?;
    tmp.write_all(bytes).map_err(io(path))?;
    tmp.persist(path).map_err(|e| PublishError::Io {
        path: path.to_path_buf(),
        source: e.error,
    })?;
    Ok(())
}

/// Removes files under `out` that the site no longer has (hidden files
/// aside), and folders left empty.
fn remove_stale(out: &Path, keep: &HashSet<PathBuf>) -> Result<usize, PublishError> {
    let mut removed = 0;
    for entry in std::fs::read_dir(out).map_err(io(out))? {
        let entry = entry.map_err(io(out))?;
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        // Temp files of a build that was killed are garbage; other hidden
        // files (the marker, a .gitkeep) are not ours to remove.
        if name.starts_with(".tmp-") {
            std::fs::remove_file(&path).map_err(io(&path))?;
            continue;
        }
        if name.starts_with('.') {
            continue;
        }
        let kind = entry.file_type().map_err(io(&path))?;
        if kind.is_dir() {
            removed += remove_stale(&path, keep)?;
            if std::fs::read_dir(&path)
                .map_err(io(&path))?
                .next()
                .is_none()
            {
                std::fs::remove_dir(&path).map_err(io(&path))?;
            }
        } else if !keep.contains(&path) {
            std::fs::remove_file(&path).map_err(io(&path))?;
            removed += 1;
        }
    }
    Ok(removed)
}
