//! What a finished build leaves beside its files: the record that seals
//! the folder, the routes it serves, and the manifest of what each
//! output was made from. All of them crier's persisted tables.

use super::*;

/// The record of a finished build whose folder is exactly what the
/// content it lists makes (see [`Record`]).
pub const RECORD: &str = ".crier-built";

pub(super) const RECORD_MAGIC: &str = "crier-built 3";

/// The [`compress::identity`] of the encoders that made every `.gz` and
/// `.br` in the folder: written when a run finishes, so a run killed
/// after a new binary began to write leaves the old one, and the next run
/// trusts no sibling it did not make.
pub const ENCODERS: &str = ".crier-encoders";

/// What a finished, settled build left: the folder holds exactly the
/// site of this program, config and content listing (see
/// [`crate::content::listing_key`]). A build that lists the same content
/// has nothing to do. Valid only while no run is writing the folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record {
    pub content: Key,
    pub articles: usize,
    pub drafts: usize,
    /// Outputs, and files with their `.gz` and `.br`.
    pub outputs: usize,
    pub files: usize,
    /// Seconds since the Unix epoch when the folder goes stale with no
    /// file changing (an article leaves the news sitemap); 0: never.
    pub until: i64,
}

impl Record {
    /// The record in `out`, if it is whole, of `epoch`, and no run has
    /// written the folder since it was made.
    pub fn read(out: &Path, epoch: Key) -> Option<Record> {
        if out.join(WRITING).exists() || !out.join(MARKER).exists() {
            return None;
        }
        let text = std::fs::read_to_string(out.join(RECORD)).ok()?;
        let checked = table::check(&text, RECORD_MAGIC)?;
        let [made_in, content, articles, drafts, outputs, files, until] = checked.header.as_slice()
        else {
            return None;
        };
        if fingerprint::parse_key(made_in)? != epoch {
            return None;
        }
        let until: i64 = until.parse().ok()?;
        if until != 0 && chrono::Utc::now().timestamp() >= until {
            return None;
        }
        Some(Record {
            content: fingerprint::parse_key(content)?,
            articles: articles.parse().ok()?,
            drafts: drafts.parse().ok()?,
            outputs: outputs.parse().ok()?,
            files: files.parse().ok()?,
            until,
        })
    }

    /// Writes the record (a table of its header alone).
    pub(super) fn write(&self, path: &Path, epoch: Key) -> Result<(), WriteError> {
        let header = [
            fingerprint::hex(&epoch),
            fingerprint::hex(&self.content),
            self.articles.to_string(),
            self.drafts.to_string(),
            self.outputs.to_string(),
            self.files.to_string(),
            self.until.to_string(),
        ];
        let header: Vec<&str> = header.iter().map(String::as_str).collect();
        atomic::write_with(path, atomic::Access::Public, |out| {
            table::Writer::new(out, RECORD_MAGIC, &header)?
                .finish()
                .map(drop)
        })
    }
}

/// The list of what the sealed site serves (see [`Seal`]).
pub const ROUTES: &str = ".crier-routes";

pub(super) const ROUTES_MAGIC: &str = "crier-routes 2";

/// What a settled build seals the folder with: its record and every
/// output it serves, so that a restart over the same content serves the
/// folder as it is before the library is even read.
#[derive(Debug)]
pub struct Seal {
    pub record: Record,
    /// `None` when the folder is sealed with this record already, or
    /// when the entries cannot be written (then a restart reads the
    /// library first).
    pub entries: Option<EntryLines>,
}

/// Writes the entry lines of `content`; `false` (and nothing written)
/// if there are none.
pub(super) fn save_entries(
    path: &Path,
    content: Key,
    lines: Option<EntryLines>,
) -> Result<bool, WriteError> {
    let Some((lines, _)) = lines.and_then(EntryLines::finish) else {
        return Ok(false);
    };
    atomic::write_with(path, atomic::Access::Public, |out| {
        let out = std::io::BufWriter::with_capacity(1 << 16, out);
        let mut table = table::Writer::new(out, ROUTES_MAGIC, &[&fingerprint::hex(&content)])?;
        for line in lines.lines() {
            table.row(line.split('\t'))?;
        }
        table.finish().map(drop)
    })?;
    Ok(true)
}

/// The entries `record` was sealed with, if their list is whole.
pub fn load_entries(out: &Path, record: &Record) -> Option<EntryTable> {
    let text = std::fs::read_to_string(out.join(ROUTES)).ok()?;
    let checked = table::check(&text, ROUTES_MAGIC)?;
    if checked.header.len() != 1 || fingerprint::parse_key(&checked.header[0])? != record.content {
        return None;
    }
    let (rows, count) = (checked.rows.clone(), checked.count);
    drop(checked);
    EntryTable::parse(text, rows.start, rows.end).filter(|t| t.len() == count)
}

pub(super) const MANIFEST_MAGIC: &str = "crier-manifest 2";

/// Writes a manifest: a row (key, file) per output made in `epoch`.
pub(super) fn write_manifest(
    path: &Path,
    epoch: Key,
    made: &[(&String, &Key)],
) -> Result<(), WriteError> {
    atomic::write_with(path, atomic::Access::Public, |out| {
        let out = std::io::BufWriter::with_capacity(1 << 16, out);
        let mut table = table::Writer::new(out, MANIFEST_MAGIC, &[&fingerprint::hex(&epoch)])?;
        for (file, key) in made {
            table.row([fingerprint::hex(*key).as_str(), file.as_str()])?;
        }
        table.finish().map(drop)
    })
}

/// A manifest's entries, if it is whole and was made in `epoch`; `None`
/// if it is missing, garbled, cut short or from another epoch.
pub(super) fn read_manifest(path: &Path, epoch: Key) -> Option<HashMap<String, Key>> {
    let text = std::fs::read_to_string(path).ok()?;
    let checked = table::check(&text, MANIFEST_MAGIC)?;
    if checked.header.len() != 1 || fingerprint::parse_key(&checked.header[0]) != Some(epoch) {
        return None;
    }
    checked
        .lines(&text)
        .map(|l| {
            let (k, file) = l.split_once('\t')?;
            Some((
                table::unescape(file)?.into_owned(),
                fingerprint::parse_key(k)?,
            ))
        })
        .collect()
}
