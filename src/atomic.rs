//! Writing a file whole: to a temp file in the same folder, then renamed
//! over the old one, so a reader (nginx, a CDN sync, a restart) never
//! sees half a file. The one writer every module uses.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// A failed write, naming the file.
#[derive(Debug, thiserror::Error)]
#[error("{}: {source}", path.display())]
pub struct WriteError {
    pub path: PathBuf,
    pub source: std::io::Error,
}

/// Who may read the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Output: readable by a web server running as another user.
    Public,
    /// State that holds secrets: its owner only.
    Private,
}

/// Numbers temp files: with the process id, a name no other writer uses.
static TEMP: AtomicUsize = AtomicUsize::new(0);

/// The process id, asked once: a build names 300,000 temp files.
static PID: std::sync::LazyLock<u32> = std::sync::LazyLock::new(std::process::id);

/// The prefix of temp files, which a listing of the output skips.
pub const TEMP_PREFIX: &str = ".tmp-";

/// Writes `bytes` to `path` by temp file + rename, creating the folder if
/// it is missing. Four system calls when the folder exists: a build
/// makes 300,000 of these.
pub fn write(path: &Path, bytes: &[u8], access: Access) -> Result<(), WriteError> {
    write_with(path, access, |f| f.write_all(bytes))
}

/// Like [`write`], the bytes given by `fill` piece by piece (through a
/// buffer), so a large file need not be held whole in memory.
pub fn write_with(
    path: &Path,
    access: Access,
    fill: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<(), WriteError> {
    let tmp = stage(path, access, fill)?;
    std::fs::rename(&tmp, path).map_err(|source| {
        let _ = std::fs::remove_file(&tmp);
        WriteError {
            path: path.to_path_buf(),
            source,
        }
    })
}

/// Writes several files whole, renaming them only once all are written,
/// in the order given: a process killed while writing leaves the old
/// files, and one killed while renaming has a few microseconds to do it.
pub fn write_together(files: &[(&Path, &[u8])], access: Access) -> Result<(), WriteError> {
    let mut temps: Vec<(PathBuf, &Path)> = Vec::with_capacity(files.len());
    let discard = |temps: &[(PathBuf, &Path)]| {
        for (t, _) in temps {
            let _ = std::fs::remove_file(t);
        }
    };
    for (path, bytes) in files {
        match stage(path, access, |f| f.write_all(bytes)) {
            Ok(tmp) => temps.push((tmp, path)),
            Err(e) => {
                discard(&temps);
                return Err(e);
            }
        }
    }
    for (i, (tmp, path)) in temps.iter().enumerate() {
        if let Err(source) = std::fs::rename(tmp, path) {
            discard(&temps[i..]);
            return Err(WriteError {
                path: path.to_path_buf(),
                source,
            });
        }
    }
    Ok(())
}

/// The temp file beside `path`, filled: to be renamed over it.
fn stage(
    path: &Path,
    access: Access,
    fill: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<PathBuf, WriteError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let n = TEMP.fetch_add(1, Ordering::Relaxed);
    let tmp = dir.join(format!("{TEMP_PREFIX}{}-{n}", *PID));
    let failed = |p: &Path| {
        let p = p.to_path_buf();
        move |source| WriteError { path: p, source }
    };
    let create = || {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(
            &mut options,
            match access {
                Access::Public => 0o644,
                Access::Private => 0o600,
            },
        );
        options.open(&tmp)
    };
    let file = match create() {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir_all(dir).map_err(failed(dir))?;
            create()
        }
        // Left by a killed process that had the same id.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            let _ = std::fs::remove_file(&tmp);
            create()
        }
        other => other,
    }
    .map_err(failed(dir))?;
    let mut buffered = std::io::BufWriter::with_capacity(8 << 10, file);
    let written = fill(&mut buffered).and_then(|()| buffered.flush());
    drop(buffered);
    match written {
        Ok(()) => Ok(tmp),
        Err(source) => {
            let _ = std::fs::remove_file(&tmp);
            Err(WriteError {
                path: path.to_path_buf(),
                source,
            })
        }
    }
}

/// Writes `bytes` to `path` (public) unless the file already holds
/// exactly these bytes. Returns whether it wrote.
pub fn write_if_changed(path: &Path, bytes: &[u8]) -> Result<bool, WriteError> {
    if std::fs::read(path).is_ok_and(|old| old == bytes) {
        return Ok(false);
    }
    write(path, bytes, Access::Public)?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_whole_files_and_leaves_no_temp_behind() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("new/folder/x.txt");
        write(&path, b"one", Access::Public).unwrap();
        assert!(write_if_changed(&path, b"two").unwrap());
        assert!(!write_if_changed(&path, b"two").unwrap());
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        let names: Vec<_> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["x.txt"]);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let secret = tmp.path().join("s");
            write(&secret, b"k", Access::Private).unwrap();
            let mode = std::fs::metadata(&secret).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let err = write(Path::new("/proc/no/such"), b"x", Access::Public).unwrap_err();
        assert!(err.to_string().starts_with("/proc/no"), "{err}");
    }
}
