//! The output folder itself: whether it is crier's, listing it, and
//! removing what the site no longer has.

use super::*;

/// Whether `out` holds what a content listing's stamps are compared
/// with (a build's seal, the article index): if not, the listing need
/// not stamp its files (see [`crate::content::Listing::unstamped`]).
pub fn compares_stamps(out: &Path) -> bool {
    out.join(RECORD).exists() || out.join(crate::index::FILE).exists()
}

/// Makes sure `out` is ours: new, empty (hidden placeholders aside), or
/// marked by an earlier build.
pub fn claim(out: &Path) -> Result<(), StoreError> {
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
        return Err(StoreError::NotOurs(out.to_path_buf()));
    }
    std::fs::write(
        &marker,
        "This folder is written by crier build; files here are replaced and removed.\n",
    )
    .map_err(io(&marker))
}

/// Every file under `out` (relative), hidden ones aside except temp files
/// of a build that was killed. Folders are listed in parallel.
pub(super) fn list(out: &Path) -> HashSet<String> {
    fn walk(dir: &Path, rel: &str) -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return Vec::new();
        };
        let mut files = Vec::new();
        let mut dirs = Vec::new();
        for e in entries.flatten() {
            let name = e.file_name();
            let text = name.to_string_lossy();
            if text.starts_with('.') && !text.starts_with(atomic::TEMP_PREFIX) {
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
    let mut set = HashSet::new();
    set.extend(walk(out, ""));
    set
}

/// Removes the `known` files that are neither in `keep` nor a sibling of
/// one, and folders left empty. Other hidden files (the marker, a
/// .gitkeep) are not ours to remove, and are not in `known`.
pub(super) fn remove_stale(
    out: &Path,
    known: &HashSet<String>,
    keep: &std::collections::HashSet<String>,
) -> Result<usize, StoreError> {
    let stale: Vec<&String> = known
        .par_iter()
        .filter(|f| !keep.contains(output::sibling_of(f)))
        .collect();
    let mut folders = std::collections::BTreeSet::new();
    for file in &stale {
        let path = out.join(file);
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io(&path)(e)),
        }
        folders.extend(file.rsplit_once('/').map(|(folder, _)| folder));
    }
    for folder in folders.iter().rev() {
        // Fails, as it should, unless the folder is now empty.
        let _ = std::fs::remove_dir(out.join(folder));
    }
    Ok(stale
        .iter()
        .filter(|f| !f.contains(atomic::TEMP_PREFIX))
        .count())
}
