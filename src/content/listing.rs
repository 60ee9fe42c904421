//! Finding the article files: the folders of `content/` listed (with
//! each file's stamp when asked), what is ignored, and the key of a
//! listing that tells a build whether anything changed.

use super::*;

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
pub(super) struct Entry {
    path: PathBuf,
    name: String,
    is_dir: bool,
    /// Of an article file.
    stamp: Option<Stamp>,
    /// Where it really is, when a link takes it outside the folder.
    outside: Option<PathBuf>,
}

/// Where the link `path` really leads, when that is outside `root` (the
/// content folder, canonical) after every link and `..` on the way: what
/// is there is never published.
pub fn outside(root: &Path, path: &Path) -> Option<PathBuf> {
    let real = std::fs::canonicalize(path).ok()?;
    (!real.starts_with(root)).then_some(real)
}

/// Where the file `path` under `dir` (in a folder of `dir` when
/// `in_folder`) really is, when it or its folder is a link that leads
/// out of `dir`: one `lstat` (two in a folder) when neither is a link.
pub fn linked_out(dir: &Path, path: &Path, in_folder: bool) -> Option<PathBuf> {
    let linked = |p: &Path| std::fs::symlink_metadata(p).is_ok_and(|m| m.is_symlink());
    let folder_linked = in_folder && path.parent().is_some_and(linked);
    if !linked(path) && !folder_linked {
        return None;
    }
    outside(&std::fs::canonicalize(dir).ok()?, path)
}

/// The warning for a link out of the content folder.
pub(super) fn outside_message(real: &Path, is_dir: bool) -> String {
    let what = if is_dir {
        "nothing in it is"
    } else {
        "it is not"
    };
    format!(
        "links to {}, outside the content folder: {what} published; copy the files into the content folder instead",
        real.display()
    )
}

/// The entries of `dir` sorted by name, without ignored files; names that
/// are not UTF-8 and broken links become errors, links to folders outside
/// `root` (the content folder, canonical) warnings.
pub(super) fn entries(
    root: &Path,
    dir: &Path,
    stamped: bool,
    diags: &mut Vec<Diagnostic>,
) -> std::io::Result<Vec<Entry>> {
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
        // A media file's size is always wanted: it is in the feeds.
        let media = !name.ends_with(".md") && super::media::media_type(&name).is_some();
        let kind = match e.file_type() {
            Ok(t) if t.is_dir() => Ok((t, None)),
            Ok(t) if !t.is_symlink() && !article && !media => Ok((t, None)),
            Ok(t) if !t.is_symlink() => e.metadata().map(|m| (t, Some(m))),
            _ => std::fs::metadata(&path).map(|m| (m.file_type(), Some(m))),
        };
        let linked = e.file_type().is_ok_and(|t| t.is_symlink());
        let outside = linked.then(|| outside(root, &path)).flatten();
        if let (Some(real), Ok((kind, _))) = (&outside, &kind)
            && kind.is_dir()
        {
            let message = outside_message(real, true);
            diags.push(Diagnostic::warning(&path.to_string_lossy(), None, message));
            continue;
        }
        match kind {
            Ok((kind, meta)) => out.push(Entry {
                is_dir: kind.is_dir(),
                // Never from the index: read, and refused.
                stamp: meta
                    .filter(|m| m.is_file() && outside.is_none())
                    .map(|m| Stamp::of(&m)),
                path,
                name,
                outside,
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

/// Takes `e` into `media` when it is named like a media file (a file too
/// large or linked out is a warning among its notes): true.
fn take_media(
    config: &Config,
    e: &Entry,
    district: Option<&str>,
    media: &mut MediaListing,
) -> bool {
    if e.is_dir || e.name.ends_with(".md") || super::media::media_type(&e.name).is_none() {
        return false;
    }
    let site_path = match district {
        Some(d) => format!("{d}/{}", e.name),
        None => e.name.clone(),
    };
    let (outside, stamp) = (e.outside.as_deref(), e.stamp);
    let notes = &mut media.notes;
    let found = super::media::media_file(config, &e.path, site_path, stamp, outside, notes);
    media.files.extend(found);
    true
}

pub(super) fn candidate(e: Entry, district: Option<&Arc<str>>) -> Option<Candidate> {
    e.name.strip_suffix(".md")?;
    Some(Candidate {
        path: e.path,
        district: district.cloned(),
        stamp: e.stamp,
        outside: e.outside,
    })
}

/// Every candidate file under `dir`, in path order; problems with folders
/// (not a district, nested too deep, unreadable names) go to `diags`.
pub fn discover(
    config: &Config,
    dir: &Path,
    stamped: bool,
    media: &mut MediaListing,
    diags: &mut Vec<Diagnostic>,
) -> std::io::Result<Vec<Candidate>> {
    // In path order: a file at the top, or the index of a district folder.
    let mut order: Vec<Result<Candidate, usize>> = Vec::new();
    let mut districts = Vec::new();
    let root = std::fs::canonicalize(dir)?;
    for entry in entries(&root, dir, stamped, diags)? {
        if take_media(config, &entry, None, media) {
            continue;
        }
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
    type Listed = (Vec<Candidate>, Vec<Diagnostic>, MediaListing);
    let listed: Vec<std::io::Result<Listed>> = districts
        .par_iter()
        .map(|entry| {
            // One name shared by the folder's candidates and articles.
            let name: Arc<str> = Arc::from(entry.name.as_str());
            let mut found = Vec::new();
            let mut problems = Vec::new();
            let mut media = MediaListing::default();
            for inner in entries(&root, &entry.path, stamped, &mut problems)? {
                if take_media(config, &inner, Some(&name), &mut media) {
                    continue;
                }
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
            Ok((found, problems, media))
        })
        .collect();
    let mut listed = listed.into_iter().map(Some).collect::<Vec<_>>();
    let listed_len: usize = listed
        .iter()
        .flatten()
        .map(|r| r.as_ref().map_or(0, |l| l.0.len()))
        .sum();
    let mut out = Vec::with_capacity(order.len() + listed_len);
    for item in order {
        match item {
            Ok(c) => out.push(c),
            Err(i) => {
                if let Some(result) = listed.get_mut(i).and_then(Option::take) {
                    let (found, problems, more) = result?;
                    out.extend(found);
                    diags.extend(problems);
                    media.files.extend(more.files);
                    media.notes.extend(more.notes);
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
    pub media: MediaListing,
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
        let mut media = MediaListing::default();
        let found = discover(config, dir, stamped, &mut media, &mut problems)?;
        let (statics, notes) = read_statics(config);
        media.statics = statics;
        media.notes.extend(notes);
        Ok(Listing {
            found,
            problems,
            media,
        })
    }

    /// The key of what was listed (see [`listing_key`]); `None` when a
    /// folder has a problem or a file could not be stamped.
    pub fn key(&self) -> Option<crate::fingerprint::Key> {
        if !self.problems.is_empty() {
            return None;
        }
        let media = (self
            .media
            .files
            .iter()
            .map(|m| (m.path.as_path(), &m.stamp)))
        .chain(
            self.media
                .statics
                .iter()
                .map(|f| (f.path.as_path(), &f.stamp)),
        )
        .map(Some);
        let files: Option<Vec<(&Path, &Stamp)>> = self
            .found
            .iter()
            .map(|c| Some((c.path.as_path(), c.stamp.as_ref()?)))
            .chain(media)
            .collect();
        Some(listing_key(files?))
    }
}

/// The key of a set of files and their stamps, in any order: equal keys
/// mean the same files with the same stamps (so, short of a racy write,
/// the same bytes).
pub fn listing_key(mut files: Vec<(&Path, &Stamp)>) -> crate::fingerprint::Key {
    files.sort_unstable_by(|a, b| a.0.as_os_str().cmp(b.0.as_os_str()));
    // XXH3: a restart waits for this key before it serves (100,000
    // lines); no one gains by making two listings collide.
    let mut h = xxhash_rust::xxh3::Xxh3::new();
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
    h.digest128().to_le_bytes()
}
