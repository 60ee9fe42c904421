//! Writing the site to the output folder. Each file is written whole to a
//! temp file in its own folder and renamed into place, so a reader (nginx,
//! a CDN sync) never sees a half-written file; files whose bytes did not
//! change are not touched, and files the site no longer has are removed.

use std::collections::HashSet;
use std::io::Write;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::site::{Delta, Encoded, Output, Site};

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

/// Writes `site` into `out`, removing files the site no longer has.
pub fn publish(site: &Site, out: &Path) -> Result<Report, PublishError> {
    claim(out)?;
    let mut report = write_outputs(&site.outputs, out)?;
    let keep: HashSet<PathBuf> = site
        .outputs
        .iter()
        .flat_map(|o| files_of(o).map(|(f, _)| out.join(f)))
        .collect();
    report.removed = remove_stale(out, &keep)?;
    Ok(report)
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
            .flat_map_iter(|o| files_of(o).map(move |(file, enc)| (out.join(file), enc)))
            .map(|(path, enc)| write_if_changed(&path, &enc.bytes))
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

/// The files of one output: itself and its `.gz` and `.br` siblings, for
/// nginx `gzip_static` / `brotli_static` or a CDN serving the tree as is.
fn files_of(o: &Output) -> impl Iterator<Item = (PathBuf, &Encoded)> {
    let sibling = |ext: &str| {
        let mut name = o.file.clone().into_os_string();
        name.push(ext);
        PathBuf::from(name)
    };
    [
        (o.file.clone(), &o.body),
        (sibling(".gz"), &o.gzip),
        (sibling(".br"), &o.br),
    ]
    .into_iter()
}

/// Makes sure `out` is ours: new, empty (hidden placeholders aside), or
/// marked by an earlier build.
fn claim(out: &Path) -> Result<(), PublishError> {
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
    Ok(true)
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
