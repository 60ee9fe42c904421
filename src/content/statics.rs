//! The site's own files: `static/` beside `crier.toml` (CSS, a logo,
//! `favicon.ico`, a `robots.txt` of its own), published at `/` as they
//! are.

use super::*;

/// A file of `static/`, read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaticFile {
    /// The file (`static/css/site.css`).
    pub path: PathBuf,
    /// Its path in the site, not encoded: `css/site.css`.
    pub site_path: String,
    pub bytes: Arc<[u8]>,
    /// Its modification time (Last-Modified).
    pub modified: DateTime<FixedOffset>,
    /// Its stamp when read: part of the listing's key.
    pub stamp: Stamp,
}

/// Every file of `config.static_dir` (none when there is no such folder),
/// in path order, and why files were left out: a file a link takes out
/// of the folder, one over `media_max_bytes`, a name that is not UTF-8.
pub fn read_statics(config: &Config) -> (Vec<StaticFile>, Vec<Diagnostic>) {
    let mut found = Vec::new();
    let mut notes = Vec::new();
    let Some(dir) = config.static_dir.as_deref() else {
        return (found, notes);
    };
    let Ok(root) = std::fs::canonicalize(dir) else {
        return (found, notes);
    };
    let mut folders = vec![(dir.to_path_buf(), String::new())];
    while let Some((folder, prefix)) = folders.pop() {
        let Ok(entries) = std::fs::read_dir(&folder) else {
            let message = "cannot be listed: its files are not published";
            notes.push(Diagnostic::warning(
                &folder.to_string_lossy(),
                None,
                message,
            ));
            continue;
        };
        for e in entries.flatten() {
            let path = e.path();
            let shown = path.to_string_lossy().into_owned();
            let Some(name) = e.file_name().to_str().map(str::to_string) else {
                notes.push(Diagnostic::warning(
                    &shown,
                    None,
                    "file name is not UTF-8: rename it",
                ));
                continue;
            };
            if is_ignored(&name) {
                continue;
            }
            let linked = e.file_type().is_ok_and(|t| t.is_symlink());
            if let Some(real) = linked.then(|| listing::outside(&root, &path)).flatten() {
                let message = listing::outside_message(&real, path.is_dir());
                notes.push(Diagnostic::warning(&shown, None, message));
                continue;
            }
            let site_path = format!("{prefix}{name}");
            if path.is_dir() {
                folders.push((path, format!("{site_path}/")));
                continue;
            }
            match read_static(config, &path, site_path) {
                Ok(Some(f)) => found.push(f),
                Ok(None) => {}
                Err(message) => notes.push(Diagnostic::warning(&shown, None, message)),
            }
        }
    }
    found.sort_by(|a, b| a.site_path.cmp(&b.site_path));
    (found, notes)
}

fn read_static(
    config: &Config,
    path: &Path,
    site_path: String,
) -> Result<Option<StaticFile>, String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("cannot be read: {e}"))?;
    if !meta.is_file() {
        return Ok(None);
    }
    if meta.len() > config.media_max_bytes {
        return Err(format!(
            "is {} bytes, over media_max_bytes ({}): not published",
            meta.len(),
            config.media_max_bytes
        ));
    }
    let bytes = std::fs::read(path).map_err(|e| format!("cannot be read: {e}"))?;
    let modified = meta
        .modified()
        .map(|t| chrono::DateTime::<chrono::Utc>::from(t).fixed_offset())
        .unwrap_or_else(|_| DateTime::UNIX_EPOCH.fixed_offset());
    Ok(Some(StaticFile {
        path: path.to_path_buf(),
        site_path,
        bytes: Arc::from(bytes),
        modified,
        stamp: Stamp::of(&meta),
    }))
}
