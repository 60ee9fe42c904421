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

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, FixedOffset};
use foldhash::HashMap;
use sha2::{Digest, Sha256};

use crate::config::Config;
use crate::content::{Article, Stamp};
use crate::fingerprint::{self, Key};

/// The index's file name, in the output folder.
pub const FILE: &str = ".crier-index";

const MAGIC: &str = "crier-index 1";

/// Files changed this close (in ns) to the start of the reading that
/// indexed them are read again: coarser than any file system's mtime.
pub const RACY: i128 = 2_000_000_000;

/// Everything the metadata depends on besides the file: this program
/// and the config. `None` if the program cannot be read.
pub fn epoch(config: &Config) -> Option<Key> {
    let exe = std::env::current_exe().and_then(std::fs::read).ok()?;
    let mut h = Sha256::new();
    h.update(env!("CARGO_PKG_VERSION"));
    h.update(&exe);
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
    entries: HashMap<String, Entry>,
}

impl Index {
    /// The entry of `source` if its file still has `stamp`.
    pub fn get(&self, source: &str, stamp: &Stamp) -> Option<&Arc<Article>> {
        self.entries
            .get(source)
            .filter(|e| e.stamp == *stamp)
            .map(|e| &e.article)
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
        match std::fs::read(path) {
            Ok(bytes) => parse(&bytes, epoch).unwrap_or_else(|| {
                tracing::info!(
                    "{}: not a usable article index (another crier, another config, or damaged); every file is read",
                    path.display()
                );
                Index::default()
            }),
            Err(_) => Index::default(),
        }
    }
}

/// Writes the index of `entries`: (stamp, when its reading began in ns
/// since the Unix epoch, article). Those changed within [`RACY`] of their
/// reading are left out, to be read again.
pub fn save<'a>(
    path: &Path,
    epoch: Key,
    entries: impl Iterator<Item = (&'a Stamp, i128, &'a Article)>,
) -> Result<usize, crate::atomic::WriteError> {
    let mut text = format!("{MAGIC}\t{}\n", fingerprint::hex(&epoch));
    let mut count = 0;
    for (stamp, read_at, a) in entries {
        if stamp.mtime.max(stamp.ctime) >= read_at.saturating_sub(RACY) {
            continue;
        }
        line(&mut text, stamp, a);
        count += 1;
    }
    let sum = checksum(text.as_bytes());
    text.push_str(&format!("end\t{count}\t{sum:016x}\n"));
    crate::atomic::write(path, text.as_bytes(), crate::atomic::Access::Public)?;
    Ok(count)
}

fn checksum(bytes: &[u8]) -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = foldhash::fast::FixedState::with_seed(0x1dea).build_hasher();
    h.write(bytes);
    h.finish()
}

/// Fields of a line, in order.
fn line(text: &mut String, s: &Stamp, a: &Article) {
    let fields: [&str; 9] = [
        &a.source,
        a.district.as_deref().unwrap_or(""),
        &a.path,
        &a.file.to_string_lossy(),
        &a.id,
        &a.title,
        a.author.as_deref().unwrap_or(""),
        a.link.as_deref().unwrap_or(""),
        a.image.as_deref().unwrap_or(""),
    ];
    for f in fields {
        escape(text, f);
        text.push('\t');
    }
    escape(text, &a.tags.join("\u{1f}"));
    text.push_str(&format!(
        "\t{}\t{}\t{}\t{}\t{}\t{}\t{}\n",
        s.size,
        s.mtime,
        s.ctime,
        s.inode,
        a.date.to_rfc3339(),
        a.updated.to_rfc3339(),
        fingerprint::hex(&a.source_key),
    ));
}

/// Tabs, line ends and backslashes escaped; everything else as is.
fn escape(out: &mut String, s: &str) {
    if !s.contains(['\\', '\t', '\n', '\r']) {
        out.push_str(s);
        return;
    }
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
}

fn unescape(s: &str) -> Option<String> {
    if !s.contains('\\') {
        return Some(s.to_string());
    }
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        out.push(match chars.next()? {
            '\\' => '\\',
            't' => '\t',
            'n' => '\n',
            'r' => '\r',
            _ => return None,
        });
    }
    Some(out)
}

fn parse(bytes: &[u8], epoch: Key) -> Option<Index> {
    let text = std::str::from_utf8(bytes).ok()?;
    let body_end = text.trim_end_matches('\n').rfind('\n')? + 1;
    let (body, trailer) = text.split_at(body_end);
    let mut t = trailer.trim_end_matches('\n').split('\t');
    let (end, count, sum) = (t.next()?, t.next()?, t.next()?);
    if end != "end" || u64::from_str_radix(sum, 16).ok()? != checksum(body.as_bytes()) {
        return None;
    }
    let mut lines = body.lines();
    let (magic, made_in) = lines.next()?.split_once('\t')?;
    if magic != MAGIC || fingerprint::parse_key(made_in)? != epoch {
        return None;
    }
    let mut entries = HashMap::default();
    for l in lines {
        let e = entry(l)?;
        entries.insert(e.article.source.clone(), e);
    }
    (entries.len() == count.parse::<usize>().ok()?).then_some(Index { entries })
}

fn entry(l: &str) -> Option<Entry> {
    let f: Vec<&str> = l.split('\t').collect();
    let [
        source,
        district,
        path,
        file,
        id,
        title,
        author,
        link,
        image,
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
        source: unescape(source)?,
        district: optional(district)?,
        path: unescape(path)?,
        file: PathBuf::from(unescape(file)?),
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
