//! The persisted article index, in the manner of git's index: for each
//! article file that read cleanly, its stamp (size, mtime, ctime, inode)
//! and the article's metadata. A restart or a rebuild takes a file whose
//! stamp is unchanged from here instead of reading it.
//!
//! It is trusted only when whole and made by this program with this
//! config (its epoch); a garbled, truncated or foreign index is ignored
//! and rebuilt. A file changed within [`RACY`] of the moment its reading
//! began is read again, however its stamp looks (git's "racy" case: a
//! second write within the file system's timestamp granularity leaves the
//! same stamp).

use std::borrow::Cow;
use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, FixedOffset};
use foldhash::HashMap;
use rayon::prelude::*;
use sha2::{Digest, Sha256};

use crate::config::Config;
use crate::content::{Article, ImageText, MediaFacts, MediaFile, Stamp};
use crate::fingerprint::{self, Key};
use crate::table;

/// The index's file name, in the output folder.
pub const FILE: &str = ".crier-index";

const MAGIC: &str = "crier-index 2";

/// Files changed this close (in ns) to the start of the reading that
/// indexed them are read again: coarser than any file system's mtime.
pub const RACY: i64 = 2_000_000_000;

/// Everything the metadata depends on besides the file: this program
/// and the config. The program is known by its path and stamp, as git
/// knows a file: a new binary is a new file (a new inode, a new ctime),
/// and hashing 15 MB at every start would cost more than all the rest
/// of a no-change build. `None` if the program cannot be looked at.
pub fn epoch(config: &Config) -> Option<Key> {
    let exe = std::env::current_exe().ok()?;
    let s = Stamp::at(&exe)?;
    let mut h = Sha256::new();
    h.update(env!("CARGO_PKG_VERSION"));
    h.update(exe.as_os_str().as_encoded_bytes());
    h.update(format!("{s:?}"));
    h.update(format!("{config:?}").as_bytes());
    Some(fingerprint::finish(h))
}

/// One indexed file.
#[derive(Debug, Clone)]
pub struct Entry {
    pub stamp: Stamp,
    pub article: Arc<Article>,
}

/// A loaded index: the entries that may be trusted.
#[derive(Debug, Default)]
pub struct Index {
    /// By the article's source path, as the library names it.
    entries: HashMap<Arc<Path>, Entry>,
    /// What is known of each media file, by its path in the site: an
    /// image's size is read from its header once, not at every restart.
    media: HashMap<String, (Stamp, Arc<MediaFacts>)>,
}

/// The media index's file name, beside the article index.
pub const MEDIA_FILE: &str = ".crier-media";

const MEDIA_MAGIC: &str = "crier-media 1";

impl Index {
    /// The entry of `source` if its file still has `stamp`.
    pub fn get(&self, source: &Path, stamp: &Stamp) -> Option<&Arc<Article>> {
        self.entries
            .get(source)
            .filter(|e| e.stamp == *stamp)
            .map(|e| &e.article)
    }

    /// What is known of the media file at `site_path` if it still has
    /// `stamp`.
    pub fn media(&self, site_path: &str, stamp: &Stamp) -> Option<Arc<MediaFacts>> {
        let (known, facts) = self.media.get(site_path)?;
        (known == stamp).then(|| facts.clone())
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The index at `path` if it was made in `epoch` and is whole; empty
    /// otherwise (missing, garbled, truncated, foreign).
    pub fn load(path: &Path, epoch: Option<Key>) -> Index {
        let Some(epoch) = epoch else {
            return Index::default();
        };
        let mut index = match std::fs::read(path) {
            Ok(bytes) => parse(&bytes, epoch).unwrap_or_else(|| {
                tracing::info!(
                    "{}: not a usable article index (another crier, another config, or damaged); every file is read",
                    path.display()
                );
                Index::default()
            }),
            Err(_) => Index::default(),
        };
        let media = path.with_file_name(MEDIA_FILE);
        // Damaged or foreign: every image's header is read again.
        index.media = std::fs::read_to_string(media)
            .ok()
            .and_then(|text| parse_media(&text, epoch))
            .unwrap_or_default();
        index
    }
}

/// Writes the media index of `files` beside the article index at
/// `path`: those changed within [`RACY`] of now are left out.
pub fn save_media<'a>(
    path: &Path,
    epoch: Key,
    files: impl Iterator<Item = &'a MediaFile>,
) -> Result<usize, crate::atomic::WriteError> {
    let now = crate::content::now_ns();
    let mut count = 0;
    let path = path.with_file_name(MEDIA_FILE);
    crate::atomic::write_with(&path, crate::atomic::Access::Public, |out| {
        let out = std::io::BufWriter::with_capacity(1 << 16, out);
        let mut table = table::Writer::new(out, MEDIA_MAGIC, &[&fingerprint::hex(&epoch)])?;
        for m in files {
            let (s, f) = (&m.stamp, &m.facts);
            if s.mtime.max(s.ctime) >= now.saturating_sub(RACY) {
                continue;
            }
            let number = |n: Option<u32>| n.map_or_else(String::new, |n| n.to_string());
            let row = [
                m.site_path.clone(),
                s.size.to_string(),
                s.mtime.to_string(),
                s.ctime.to_string(),
                s.inode.to_string(),
                f.media_type.clone(),
                number(f.width),
                number(f.height),
            ];
            table.row(row.iter().map(String::as_str))?;
        }
        count = table.finish()?;
        Ok(())
    })?;
    Ok(count)
}

fn parse_media(text: &str, epoch: Key) -> Option<HashMap<String, (Stamp, Arc<MediaFacts>)>> {
    let checked = table::check(text, MEDIA_MAGIC)?;
    let [made_in] = checked.header.as_slice() else {
        return None;
    };
    if fingerprint::parse_key(made_in)? != epoch {
        return None;
    }
    let mut media = HashMap::default();
    for line in checked.lines(text) {
        let f: Vec<&str> = line.split('\t').collect();
        let [path, size, mtime, ctime, inode, media_type, width, height] = f.as_slice() else {
            return None;
        };
        let number = |s: &str| -> Option<Option<u32>> {
            if s.is_empty() {
                Some(None)
            } else {
                s.parse().ok().map(Some)
            }
        };
        let stamp = Stamp {
            size: size.parse().ok()?,
            mtime: mtime.parse().ok()?,
            ctime: ctime.parse().ok()?,
            inode: inode.parse().ok()?,
        };
        let facts = MediaFacts {
            length: stamp.size,
            media_type: unescape(media_type)?,
            width: number(width)?,
            height: number(height)?,
        };
        media.insert(unescape(path)?, (stamp, Arc::new(facts)));
    }
    (media.len() == checked.count).then_some(media)
}

/// Writes the index of `entries`: (stamp, when its reading began in ns
/// since the Unix epoch, article). Those changed within [`RACY`] of their
/// reading are left out, to be read again.
pub fn save<'a>(
    path: &Path,
    epoch: Key,
    entries: impl Iterator<Item = (&'a Stamp, i64, &'a Article)>,
) -> Result<usize, crate::atomic::WriteError> {
    // Written as it is made: an archive's index is tens of MB, which the
    // server should not hold twice.
    let mut count = 0;
    crate::atomic::write_with(path, crate::atomic::Access::Public, |out| {
        let out = std::io::BufWriter::with_capacity(1 << 16, out);
        let mut table = table::Writer::new(out, MAGIC, &[&fingerprint::hex(&epoch)])?;
        for (stamp, read_at, a) in entries {
            if stamp.mtime.max(stamp.ctime) >= read_at.saturating_sub(RACY) {
                continue;
            }
            table.row(row(stamp, a).iter().map(|f| f.as_ref()))?;
        }
        count = table.finish()?;
        Ok(())
    })?;
    Ok(count)
}

/// Fields of a row, in order.
fn row<'a>(s: &Stamp, a: &'a Article) -> [Cow<'a, str>; 19] {
    let text = a.image_text.as_deref();
    let image_text = |f: fn(&'a ImageText) -> &'a Option<String>| {
        Cow::Borrowed(text.and_then(|t| f(t).as_deref()).unwrap_or(""))
    };
    [
        a.source.to_string_lossy(),
        Cow::Borrowed(a.district.as_deref().unwrap_or("")),
        Cow::Borrowed(&a.path),
        Cow::Borrowed(&a.id),
        Cow::Borrowed(&a.title),
        Cow::Borrowed(a.author.as_deref().unwrap_or("")),
        Cow::Borrowed(a.link.as_deref().unwrap_or("")),
        Cow::Borrowed(a.image.as_deref().unwrap_or("")),
        image_text(|t| &t.caption),
        image_text(|t| &t.credit),
        image_text(|t| &t.alt),
        Cow::Owned(a.tags.join("\u{1f}")),
        Cow::Owned(s.size.to_string()),
        Cow::Owned(s.mtime.to_string()),
        Cow::Owned(s.ctime.to_string()),
        Cow::Owned(s.inode.to_string()),
        Cow::Owned(a.date.to_rfc3339()),
        Cow::Owned(a.updated.to_rfc3339()),
        Cow::Owned(fingerprint::hex(&a.source_key)),
    ]
}

fn unescape(s: &str) -> Option<String> {
    table::unescape(s).map(Cow::into_owned)
}

fn parse(bytes: &[u8], epoch: Key) -> Option<Index> {
    let text = std::str::from_utf8(bytes).ok()?;
    let checked = table::check(text, MAGIC)?;
    let [made_in] = checked.header.as_slice() else {
        return None;
    };
    if fingerprint::parse_key(made_in)? != epoch {
        return None;
    }
    // In parallel: an archive's index is tens of MB.
    let lines: Vec<&str> = checked.lines(text).collect();
    let parsed: Option<Vec<Entry>> = lines
        .par_chunks(4096)
        .map(|c| c.iter().map(|l| entry(l)).collect::<Option<Vec<Entry>>>())
        .collect::<Option<Vec<Vec<Entry>>>>()
        .map(|v| v.into_iter().flatten().collect());
    let mut entries = HashMap::default();
    entries.reserve(lines.len());
    for e in parsed? {
        entries.insert(e.article.source.clone(), e);
    }
    (entries.len() == checked.count).then_some(Index {
        entries,
        media: HashMap::default(),
    })
}

fn entry(l: &str) -> Option<Entry> {
    let f: Vec<&str> = l.split('\t').collect();
    let [
        source,
        district,
        path,
        id,
        title,
        author,
        link,
        image,
        caption,
        credit,
        alt,
        tags,
        size,
        mtime,
        ctime,
        inode,
        published,
        changed,
        key,
    ] = f.as_slice()
    else {
        return None;
    };
    let optional = |s: &str| -> Option<Option<String>> {
        if s.is_empty() {
            Some(None)
        } else {
            unescape(s).map(Some)
        }
    };
    let date = |s: &str| DateTime::<FixedOffset>::parse_from_rfc3339(s).ok();
    let tags = unescape(tags)?;
    let article = Article {
        source: Arc::from(Path::new(&unescape(source)?)),
        district: optional(district)?.map(Arc::from),
        path: unescape(path)?,
        id: unescape(id)?.into(),
        title: unescape(title)?,
        author: optional(author)?,
        tags: if tags.is_empty() {
            Vec::new()
        } else {
            tags.split('\u{1f}').map(str::to_string).collect()
        },
        link: optional(link)?,
        image: optional(image)?,
        image_text: {
            let text = ImageText {
                caption: optional(caption)?,
                credit: optional(credit)?,
                alt: optional(alt)?,
            };
            (text != ImageText::default()).then(|| Box::new(text))
        },
        image_file: None,
        date: date(published)?,
        updated: date(changed)?,
        source_key: fingerprint::parse_key(key)?,
    };
    Some(Entry {
        stamp: Stamp {
            size: size.parse().ok()?,
            mtime: mtime.parse().ok()?,
            ctime: ctime.parse().ok()?,
            inode: inode.parse().ok()?,
        },
        article: Arc::new(article),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Config, Overrides};
    use crate::library::Library;

    const EPOCH: Key = [7; 16];

    fn article(source: &str, title: &str) -> Article {
        let date = DateTime::parse_from_rfc3339("2023-01-10T08:00:00+08:00").unwrap();
        Article {
            source: Arc::from(Path::new(source)),
            district: Some("a".into()),
            path: "a/x.html".into(),
            id: "tag:n.example,2023-01-10:a/x".into(),
            title: title.into(),
            author: None,
            tags: vec!["劳模".into(), "tab\there".into()],
            link: Some("https://elsewhere.example/a".into()),
            image: None,
            image_text: None,
            image_file: None,
            date,
            updated: date,
            source_key: [3; 16],
        }
    }

    fn stamp(mtime_s: i64) -> Stamp {
        Stamp {
            size: 10,
            mtime: mtime_s * 1_000_000_000,
            ctime: mtime_s * 1_000_000_000,
            inode: 42,
        }
    }

    #[test]
    fn entries_round_trip_and_racy_ones_are_left_out() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE);
        let (old, fresh) = (stamp(1000), stamp(2000));
        let a = article("content/a/x.md", "小店\\新闻\n");
        let b = article("content/a/y.md", "racy");
        // y was changed a second before its reading began: racy.
        let entries = [
            (&old, 1005 * 1_000_000_000, &a),
            (&fresh, 2001 * 1_000_000_000, &b),
        ];
        assert_eq!(save(&path, EPOCH, entries.into_iter()).unwrap(), 1);
        let index = Index::load(&path, Some(EPOCH));
        assert_eq!(index.len(), 1);
        let back = index
            .get(Path::new("content/a/x.md"), &old)
            .expect("indexed");
        assert_eq!(format!("{back:?}"), format!("{a:?}"));
        assert!(
            index.get(Path::new("content/a/x.md"), &fresh).is_none(),
            "another stamp"
        );
        assert!(
            index.get(Path::new("content/a/y.md"), &fresh).is_none(),
            "racy"
        );
    }

    #[test]
    fn garbled_truncated_or_foreign_indexes_are_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE);
        let s = stamp(1000);
        let a = article("content/a/x.md", "t");
        save(&path, EPOCH, [(&s, i64::MAX, &a)].into_iter()).unwrap();
        let good = std::fs::read(&path).unwrap();
        assert_eq!(Index::load(&path, Some(EPOCH)).len(), 1);
        // Another program or config.
        assert!(Index::load(&path, Some([8; 16])).is_empty());
        assert!(Index::load(&path, None).is_empty());
        // Cut short, or a byte changed.
        std::fs::write(&path, &good[..good.len() - 5]).unwrap();
        assert!(Index::load(&path, Some(EPOCH)).is_empty());
        let mut flipped = good.clone();
        flipped[good.len() / 2] ^= 1;
        std::fs::write(&path, &flipped).unwrap();
        assert!(Index::load(&path, Some(EPOCH)).is_empty());
        std::fs::write(&path, [0xff, 0xfe, b'\n']).unwrap();
        assert!(Index::load(&path, Some(EPOCH)).is_empty());
    }

    #[test]
    fn an_images_size_is_kept_beside_the_index_while_its_file_is_unchanged() {
        let text = "title = \"t\"\nbase_url = \"https://n.example/\"\nid_authority = \"n.example\"\n[districts.a]\nname = \"A\"\n";
        let config = || Config::from_toml(text, "crier.toml", &Overrides::default()).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let content = dir.path().join("content");
        std::fs::create_dir_all(content.join("a")).unwrap();
        // A PNG's header: 640 x 480.
        let mut png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR".to_vec();
        png.extend(640u32.to_be_bytes());
        png.extend(480u32.to_be_bytes());
        png.extend([8, 2, 0, 0, 0, 0, 0, 0, 0]);
        png.extend([0; 64]);
        std::fs::write(content.join("a/photo.png"), &png).unwrap();
        write(&content.join("a/one.md"), "one");
        std::thread::sleep(std::time::Duration::from_millis(2100));
        let index_file = dir.path().join(FILE);
        let lib = Library::load(config(), &content).unwrap();
        lib.save_index(&index_file, EPOCH).unwrap();

        let index = Index::load(&index_file, Some(EPOCH));
        let stamp = Stamp::at(&content.join("a/photo.png")).unwrap();
        let facts = index.media("a/photo.png", &stamp).expect("kept");
        assert_eq!((facts.width, facts.height), (Some(640), Some(480)));
        assert_eq!(facts.media_type, "image/png");
        let other = Stamp {
            inode: stamp.inode + 1,
            ..stamp
        };
        assert!(index.media("a/photo.png", &other).is_none(), "another file");
        assert!(
            Index::load(&index_file, Some([8; 16]))
                .media("a/photo.png", &stamp)
                .is_none()
        );
        let lib = Library::open(config(), &content, &index, &|_, _| {}).unwrap();
        let m = lib.media_file("a/photo.png").expect("listed");
        assert_eq!(m.facts, facts, "the size as the index gave it");
    }

    fn write(path: &Path, title: &str) {
        std::fs::write(
            path,
            format!("+++\ntitle = \"{title}\"\ndate = 2023-01-10\n+++\nbody\n"),
        )
        .unwrap();
    }

    #[test]
    fn a_restart_takes_unchanged_files_from_the_index_and_reads_the_others() {
        let text = "title = \"t\"\nbase_url = \"https://n.example/\"\nid_authority = \"n.example\"\n[districts.a]\nname = \"A\"\n";
        let config = || Config::from_toml(text, "crier.toml", &Overrides::default()).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let content = dir.path().join("content");
        std::fs::create_dir_all(content.join("a")).unwrap();
        for name in ["one", "two", "six"] {
            write(&content.join(format!("a/{name}.md")), name);
        }
        // Past the racy window of these writes.
        std::thread::sleep(std::time::Duration::from_millis(2100));
        let index_file = dir.path().join(FILE);
        let lib = Library::load(config(), &content).unwrap();
        assert_eq!(lib.save_index(&index_file, EPOCH).unwrap(), 3);

        // A file written now is racy: it is saved in no index.
        write(&content.join("a/new.md"), "new");
        let index = Index::load(&index_file, Some(EPOCH));
        let lib = Library::open(config(), &content, &index, &|_, _| {}).unwrap();
        assert_eq!(lib.opened(), (1, 3), "only the new file is read");
        assert_eq!(
            lib.save_index(&index_file, EPOCH).unwrap(),
            3,
            "not the racy one"
        );

        // Replaced by a file of the same size and mtime: a new inode.
        let old = content.join("a/two.md");
        let mtime = std::fs::metadata(&old).unwrap().modified().unwrap();
        let tmp = content.join("a/.two.tmp");
        write(&tmp, "TWO");
        std::fs::File::options()
            .write(true)
            .open(&tmp)
            .unwrap()
            .set_modified(mtime)
            .unwrap();
        std::fs::rename(&tmp, &old).unwrap();
        let index = Index::load(&index_file, Some(EPOCH));
        let lib = Library::open(config(), &content, &index, &|_, _| {}).unwrap();
        assert_eq!(lib.opened(), (2, 2), "two.md and new.md are read");
        let titles: Vec<&str> = lib.articles().map(|a| a.title.as_str()).collect();
        assert!(
            titles.contains(&"TWO") && titles.contains(&"six"),
            "{titles:?}"
        );
        // A different program or config: nothing is taken from it.
        let foreign = Index::load(&index_file, Some([1; 16]));
        let lib = Library::open(config(), &content, &foreign, &|_, _| {}).unwrap();
        assert_eq!(lib.opened(), (4, 0));
    }
}
