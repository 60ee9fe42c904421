//! The output folder, `feeds/`: every output written whole (see
//! [`atomic`]), files whose bytes did not change left alone, files the
//! site no longer has removed. A manifest says what each article page and
//! archive document was made from, so that a rebuild renders only those
//! whose input changed.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

// Paths of the output folder: see library.rs on the hash.
use foldhash::{HashMap, HashSet, HashSetExt};
use rayon::prelude::*;
use sha2::{Digest, Sha256};

/// The epoch of an output folder: what every output is made with (the
/// program, the config, the templates). Another epoch's files are made
/// again.
pub fn epoch(config: &crate::config::Config) -> Option<Key> {
    let mut h = Sha256::new();
    h.update(crate::index::epoch(config)?);
    h.update(config.templates.key());
    Some(fingerprint::finish(h))
}

use crate::atomic::{self, WriteError};
use crate::compress;
use crate::config::Config;
use crate::content::{Article, Pending};
use crate::fingerprint::{self, Key};
use crate::output::{self, BuildError, EntryLines, EntryTable, Output, Page};
use crate::site::{self, Job};
use crate::table;

mod folder;
mod media;
mod seal;

pub use folder::*;
pub use seal::*;

/// Marks a folder as crier's output, so crier never deletes files in a
/// folder it did not create.
pub const MARKER: &str = ".crier-output";

/// What each article page and archive document in the folder was made
/// from: a key per file, under the build's epoch.
pub const MANIFEST: &str = ".crier-manifest";

/// Present while a process writes the folder without a manifest that
/// says what the files hold (from its first write to its next manifest).
/// Found at the start, it means a run was killed: the manifest is not
/// trusted and the folder is listed, so nothing stale or half-done stays.
pub const WRITING: &str = ".crier-writing";

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "{0}: refusing to write here: the folder has files and no {MARKER} marker, so it is not crier's output; pick an empty or new folder with --out"
    )]
    NotOurs(PathBuf),
    #[error(transparent)]
    Write(#[from] WriteError),
}

impl StoreError {
    /// What to tell the user of `crier build`: for a full disk or a
    /// folder that cannot be written, the folder and what to do; else the
    /// file and the error.
    pub fn describe(&self, out: &Path) -> String {
        match self.cause() {
            Some(cause) => format!("{}: {cause}", out.display()),
            None => format!("cannot write the output: {self}"),
        }
    }

    /// For a full disk or a folder that cannot be written, what it is and
    /// what to do, for any command; `None` for a file's own error.
    pub fn cause(&self) -> Option<String> {
        use std::io::ErrorKind;
        let StoreError::Write(w) = self else {
            return None;
        };
        match w.source.kind() {
            ErrorKind::StorageFull => Some(
                "no space left on the device: free some space and run again (every file there is whole, and no temp file is left)".into(),
            ),
            ErrorKind::ReadOnlyFilesystem | ErrorKind::PermissionDenied => Some(format!(
                "cannot write there ({}): make the folder writable or point --out elsewhere",
                w.source
            )),
            _ => None,
        }
    }

    /// What `crier serve` logs: the folder's problem, or the file's.
    pub fn for_log(&self) -> String {
        self.cause().unwrap_or_else(|| self.to_string())
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    move |source| {
        StoreError::Write(WriteError {
            path: path.to_path_buf(),
            source,
        })
    }
}

/// Files written, left as they were, and removed.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Report {
    pub written: usize,
    pub unchanged: usize,
    pub removed: usize,
}

impl Report {
    /// Counts what each write did (true: wrote), or the first failure.
    pub fn tally<E>(results: impl IntoIterator<Item = Result<bool, E>>) -> Result<Report, E> {
        let mut report = Report::default();
        for r in results {
            if r? {
                report.written += 1;
            } else {
                report.unchanged += 1;
            }
        }
        Ok(report)
    }

    pub fn add(&mut self, other: &Report) {
        self.written += other.written;
        self.unchanged += other.unchanged;
        self.removed += other.removed;
    }
}

/// An output folder claimed by crier.
pub struct Store {
    out: PathBuf,
    epoch: Option<Key>,
    /// The previous build's manifest (if made in the same epoch), then
    /// what this process wrote since.
    made: Mutex<HashMap<String, Key>>,
    /// Every file of the folder (relative), once listed.
    known: Option<HashSet<String>>,
    /// Whether the manifest read was whole, of this epoch, and left by a
    /// run that finished: then the folder holds what it says, and need
    /// not be listed.
    trusted: bool,
    /// Whether the folder changed since the manifest was read or saved
    /// (and [`WRITING`] is there).
    changed: Mutex<bool>,
    /// Whether the siblings in the folder were made by these encoders.
    same_encoders: bool,
}

impl Store {
    /// Claims `out` and reads its manifest; lists nothing yet.
    pub fn open(out: &Path, epoch: Option<Key>) -> Result<Store, StoreError> {
        claim(out)?;
        let killed = out.join(WRITING).exists();
        let made_from = match epoch {
            Some(e) if !killed => read_manifest(&out.join(MANIFEST), e),
            _ => None,
        };
        Ok(Store {
            out: out.to_path_buf(),
            epoch,
            trusted: made_from.is_some(),
            made: Mutex::new(made_from.unwrap_or_default()),
            known: None,
            changed: Default::default(),
            same_encoders: compress::identity().is_some_and(|id| {
                std::fs::read(out.join(ENCODERS)).ok().as_deref() == Some(id.as_bytes())
            }),
        })
    }

    pub fn path(&self) -> &Path {
        &self.out
    }

    /// Whether siblings found beside a page must be decoded to be
    /// trusted: the folder was not left whole by a run of these encoders.
    fn check_siblings(&self) -> bool {
        !self.trusted || !self.same_encoders
    }

    /// Whether the folder must be listed: its manifest is missing, of
    /// another program or config, damaged, or left by a killed run.
    pub fn needs_listing(&self) -> bool {
        !self.trusted
    }

    /// Lists the folder: a file the manifest names is then trusted only
    /// if it and its siblings are there, and files the site does not
    /// have are removed at the end.
    pub fn list(&mut self) {
        self.known = Some(list(&self.out));
    }

    /// Marks the folder as being written (see [`WRITING`]), once.
    /// No file changes before the flag is there: writers wait for it.
    pub fn mark_writing(&self) -> Result<(), StoreError> {
        let mut changed = self.changed.lock().unwrap_or_else(|e| e.into_inner());
        if *changed {
            return Ok(());
        }
        let flag = self.out.join(WRITING);
        std::fs::write(&flag, "").map_err(io(&flag))?;
        *changed = true;
        Ok(())
    }

    /// The key of what a job's output is made from.
    pub fn key(&self, job: &Job) -> Option<Key> {
        let epoch = self.epoch?;
        let mut h = Sha256::new();
        h.update(epoch);
        h.update(job.file().as_os_str().as_encoded_bytes());
        h.update([0]);
        job.work().made_from(&mut h);
        Some(fingerprint::finish(h))
    }

    /// Whether the job's file in the folder was made from what it would
    /// be made from now (by an earlier build or by this process).
    pub fn is_current(&self, job: &Job) -> bool {
        // The lookup first (and none in an empty folder): the key is a
        // hash of everything the job is made from.
        if self.lock_made().is_empty() {
            return false;
        }
        let file = job.file();
        let name = file.to_string_lossy();
        let Some(made) = self.lock_made().get(name.as_ref()).copied() else {
            return false;
        };
        self.key(job) == Some(made) && self.complete(&file)
    }

    /// Whether the file and its siblings were there when listed (`true`
    /// before a listing).
    fn complete(&self, file: &Path) -> bool {
        let Some(known) = &self.known else {
            return true;
        };
        output::siblings(file)
            .iter()
            .all(|f| known.contains(f.to_string_lossy().as_ref()))
    }

    fn lock_made(&self) -> std::sync::MutexGuard<'_, HashMap<String, Key>> {
        self.made.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The compressed forms of `page` from the folder, if its file there
    /// has these very bytes and its siblings decompress to them: a
    /// rebuild then need not compress it again.
    pub fn prior(&self, page: &Page) -> Option<(Vec<u8>, Vec<u8>)> {
        if !self.same_encoders {
            return None;
        }
        let [gz, br, own] = output::siblings(&self.out.join(&page.file));
        if std::fs::read(own).ok()? != page.body {
            return None;
        }
        let (gz, br) = (std::fs::read(gz).ok()?, std::fs::read(br).ok()?);
        compress::both_decode_to(&gz, &br, &page.body).then_some((gz, br))
    }

    /// Whether the folder is sealed with `record` and unchanged since:
    /// [`Store::finish`] then keeps the seal as it is.
    pub fn sealed_with(&self, record: &Record) -> bool {
        let changed = *self.changed.lock().unwrap_or_else(|e| e.into_inner());
        !changed
            && self
                .epoch
                .is_some_and(|e| Record::read(&self.out, e) == Some(*record))
    }

    /// Writes outputs whose bytes changed: pages first, index pages and
    /// OPML last, so a new link never points at a file not there yet.
    pub fn write_outputs(&self, outputs: &[Output]) -> Result<Report, StoreError> {
        let (late, early): (Vec<&Output>, Vec<&Output>) =
            outputs.iter().partition(|o| o.kind.is_late());
        let mut report = Report::default();
        for batch in [early, late] {
            let results: Vec<Result<bool, WriteError>> = batch
                .par_iter()
                .flat_map_iter(|o| {
                    o.files()
                        .into_iter()
                        .map(|(file, enc)| self.write_if_changed(&file, &enc.bytes))
                })
                .collect();
            report.add(&Report::tally(results)?);
        }
        Ok(report)
    }

    /// Writes `bytes` to `file` unless it holds them: whether it wrote.
    fn write_if_changed(&self, file: &Path, bytes: &[u8]) -> Result<bool, WriteError> {
        let path = self.out.join(file);
        if std::fs::read(&path).is_ok_and(|old| old == bytes) {
            return Ok(false);
        }
        self.mark_writing().map_err(|e| match e {
            StoreError::Write(w) => w,
            StoreError::NotOurs(p) => WriteError {
                path: p,
                source: std::io::Error::other("not crier's folder"),
            },
        })?;
        atomic::write(&path, bytes, atomic::Access::Public)?;
        Ok(true)
    }

    /// Writes one rendered job output (article page or archive document)
    /// and records what it was made from.
    pub fn write_output(&self, job: &Job, o: &Output) -> Result<Report, StoreError> {
        self.mark_writing()?;
        let written = write_page(&self.out.join(&o.file), o, self.check_siblings())?;
        if let Some(key) = self.key(job) {
            self.lock_made()
                .insert(o.file.to_string_lossy().into_owned(), key);
        }
        Ok(written)
    }

    /// Writes an output made without a job (a page a live update
    /// rendered from the body at hand); the manifest forgets its file, so
    /// a later build makes it again rather than trust it.
    pub fn write_untracked(&self, o: &Output) -> Result<Report, StoreError> {
        self.mark_writing()?;
        let written = write_page(&self.out.join(&o.file), o, self.check_siblings())?;
        self.lock_made().remove(o.file.to_string_lossy().as_ref());
        Ok(written)
    }

    /// Renders and writes the jobs that are not current, in parallel,
    /// each dropped once written. Returns the outputs written (for the
    /// route table to read from disk), what was done, and what failed.
    pub fn run_jobs(&self, jobs: &[Job], config: &Config, content: &Path) -> JobsDone {
        let results: Vec<(usize, Result<Report, StoreError>, Option<BuildError>)> = jobs
            .par_iter()
            .enumerate()
            .map(|(i, job)| {
                if self.is_current(job) {
                    return (i, Ok(unchanged()), None);
                }
                match job.render(config, content).and_then(Page::finish) {
                    Ok(o) => (i, self.write_output(job, &o), None),
                    Err(e) => (i, Ok(Report::default()), Some(e)),
                }
            })
            .collect();
        let mut done = JobsDone::default();
        for (i, r, e) in results {
            match (r, e) {
                (_, Some(e)) => done.errors.push(e),
                (Ok(r), None) => {
                    done.report.add(&r);
                    done.written.push(i);
                }
                (Err(e), None) => {
                    done.write_error.get_or_insert(e);
                }
            }
        }
        done
    }

    /// A sink for the library's full read (`crier build`): renders and
    /// writes the page of each article read whose page is not current,
    /// from the body at hand, so that each file is read once.
    pub fn page_sink<'a>(
        &'a self,
        config: &'a Config,
        tally: &'a Tally,
    ) -> impl Fn(&Article, Pending) + Sync + 'a {
        move |a, pending| {
            let job = Job::Article(std::sync::Arc::new(a.clone()));
            let handled = || {
                let mut handled = tally.handled.lock().unwrap_or_else(|e| e.into_inner());
                handled.insert(a.file());
            };
            if self.is_current(&job) {
                handled();
                tally.unchanged.fetch_add(3, Ordering::Relaxed);
                return;
            }
            let body = pending.render();
            tally.summaries.keep(a, &body);
            // A page its template fails on is left to the jobs, which
            // report it among the build's errors and go on.
            let Ok(page) = site::article_page(config, a, &body) else {
                return;
            };
            handled();
            let result = page.finish().map_err(|e| e.to_string()).and_then(|o| {
                self.write_output(&job, &o)
                    .map_err(|e| e.describe(&self.out))
            });
            match result {
                Ok(r) => {
                    tally.written.fetch_add(r.written, Ordering::Relaxed);
                    tally.unchanged.fetch_add(r.unchanged, Ordering::Relaxed);
                }
                Err(e) => {
                    let mut first = tally.error.lock().unwrap_or_else(|e| e.into_inner());
                    first.get_or_insert(e);
                }
            }
        }
    }

    /// Removes the files of outputs that are gone. Returns how many.
    pub fn remove(&self, removed: &[(String, PathBuf)]) -> Result<usize, StoreError> {
        if removed.is_empty() {
            return Ok(0);
        }
        self.mark_writing()?;
        let mut count = 0;
        let mut made = self.lock_made();
        for (_, file) in removed {
            made.remove(file.to_string_lossy().as_ref());
            for f in output::siblings(&self.out.join(file)) {
                match std::fs::remove_file(&f) {
                    Ok(()) => count += 1,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(io(&f)(e)),
                }
            }
        }
        Ok(count)
    }

    /// Removes every listed file that is neither in `keep` nor a sibling
    /// of one (temp files of a killed build among them), and folders left
    /// empty; then writes the manifest of what is kept.
    /// With a listing, the files it found that are neither in `keep`
    /// nor a sibling of one (temp files of a killed run among them), and
    /// folders left empty; without, the files the manifest names that are
    /// not kept. Then saves the manifest of what is kept, if anything
    /// changed, and clears [`WRITING`]. Returns how many were removed.
    /// With a record (a settled build), the folder is sealed: a build
    /// that lists the same content has nothing to do.
    pub fn finish(
        &mut self,
        keep: &std::collections::HashSet<String>,
        seal: Option<Seal>,
    ) -> Result<usize, StoreError> {
        let removed = match &self.known {
            Some(known) => remove_stale(&self.out, known, keep)?,
            None => {
                let gone: Vec<(String, PathBuf)> = self
                    .lock_made()
                    .keys()
                    .filter(|f| !keep.contains(f.as_str()))
                    .map(|f| (String::new(), PathBuf::from(f)))
                    .collect();
                self.remove(&gone)?
            }
        };
        let changed = *self.changed.get_mut().unwrap_or_else(|e| e.into_inner());
        if let Some(epoch) = self.epoch
            && (removed > 0 || !self.trusted || changed)
        {
            let all = self.lock_made();
            let mut made: Vec<(&String, &Key)> = all
                .iter()
                .filter(|(f, _)| keep.contains(f.as_str()))
                .collect();
            made.par_sort_unstable();
            write_manifest(&self.out.join(MANIFEST), epoch, &made)?;
        }
        // The record is made or removed before the flag goes: a run killed
        // in between leaves the flag, and no record is trusted with it.
        let sealed = self.out.join(RECORD);
        match (self.epoch, seal) {
            (Some(epoch), Some(s))
                if changed || Record::read(&self.out, epoch) != Some(s.record) =>
            {
                let routes = self.out.join(ROUTES);
                if !save_entries(&routes, s.record.content, s.entries)? {
                    remove_if_there(&routes)?;
                }
                s.record.write(&sealed, epoch)?
            }
            (Some(_), Some(_)) => {}
            _ => remove_if_there(&sealed)?,
        }
        if let (false, Some(id)) = (self.same_encoders, compress::identity()) {
            let path = self.out.join(ENCODERS);
            atomic::write(&path, id.as_bytes(), atomic::Access::Public)?;
            self.same_encoders = true;
        }
        remove_if_there(&self.out.join(WRITING))?;
        self.trusted = self.epoch.is_some();
        self.known = None;
        *self.changed.get_mut().unwrap_or_else(|e| e.into_inner()) = false;
        Ok(removed)
    }
}

fn remove_if_there(path: &Path) -> Result<(), StoreError> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io(path)(e)),
        _ => Ok(()),
    }
}

fn unchanged() -> Report {
    Report {
        unchanged: 3,
        ..Report::default()
    }
}

/// What [`Store::run_jobs`] did.
#[derive(Debug, Default)]
pub struct JobsDone {
    pub report: Report,
    /// Indexes of the jobs whose files are now current.
    pub written: Vec<usize>,
    pub errors: Vec<BuildError>,
    pub write_error: Option<StoreError>,
}

/// What a page sink did.
#[derive(Debug, Default)]
pub struct Tally {
    /// The page files it took care of.
    pub handled: Mutex<std::collections::HashSet<PathBuf>>,
    pub written: AtomicUsize,
    pub unchanged: AtomicUsize,
    pub error: Mutex<Option<String>>,
    /// The summaries of the pages it rendered, for the archive documents
    /// rendered after it (see [`site::offer_summaries`]).
    pub summaries: site::Summaries,
}

/// Writes a page and its siblings unless the file has these bytes and
/// both siblings are there.
/// Writes a page and its siblings unless the page there has these bytes
/// and its siblings are its own: trusted by their presence in a folder a
/// finished run left, decoded and compared otherwise (a run killed
/// between a page's `.gz` and the page itself leaves a new `.gz` beside
/// the old page, which a later run with the old content would keep).
fn write_page(path: &Path, o: &Output, check_siblings: bool) -> Result<Report, StoreError> {
    let [gz, br, own] = output::siblings(path);
    let same = std::fs::read(path).is_ok_and(|old| old == o.body.bytes);
    let siblings_ok = || {
        if check_siblings {
            match (std::fs::read(&gz), std::fs::read(&br)) {
                (Ok(g), Ok(b)) => compress::both_decode_to(&g, &b, &o.body.bytes),
                _ => false,
            }
        } else {
            gz.exists() && br.exists()
        }
    };
    if same && siblings_ok() {
        return Ok(unchanged());
    }
    // The page last: a reader who finds it finds its siblings.
    atomic::write_together(
        &[
            (&gz, &o.gzip.bytes),
            (&br, &o.br.bytes),
            (&own, &o.body.bytes),
        ],
        atomic::Access::Public,
    )?;
    Ok(Report {
        written: 3,
        ..Report::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rss_entry() -> crate::output::Entry {
        crate::output::Entry {
            path: "/rss.xml".into(),
            file: "rss.xml".into(),
            kind: crate::output::Kind::Feed(crate::render::FeedKind::Rss),
            last_modified: 5,
        }
    }

    fn rss() -> EntryLines {
        let mut lines = EntryLines::default();
        lines.push_entry(&rss_entry());
        lines
    }

    fn seal(content: u8) -> Seal {
        Seal {
            record: Record {
                content: [content; 16],
                articles: 1,
                drafts: 0,
                outputs: 1,
                files: 3,
                until: 0,
            },
            entries: Some(rss()),
        }
    }

    #[test]
    fn siblings_on_disk_are_reused_only_from_a_folder_these_encoders_finished() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("feeds");
        let page = Page {
            path: "/rss.xml".into(),
            file: "rss.xml".into(),
            kind: rss_entry().kind,
            body: "<rss>太原</rss>".repeat(50).into_bytes(),
            last_modified: chrono::DateTime::UNIX_EPOCH.fixed_offset(),
        };
        let gz = compress::gzip(&page.body, compress::Effort::Best).unwrap();
        let br = compress::brotli(&page.body, compress::Effort::Best).unwrap();
        let write = |name: &str, bytes: &[u8]| std::fs::write(out.join(name), bytes).unwrap();
        let mut store = Store::open(&out, Some([9; 16])).unwrap();
        write("rss.xml", &page.body);
        write("rss.xml.gz", &gz);
        write("rss.xml.br", &br);
        // Siblings that decode to the page, but not known to be made by
        // these encoders (another crier, a killed run): compressed again.
        assert_eq!(store.prior(&page), None);
        store.finish(&Default::default(), None).unwrap();
        assert_eq!(store.prior(&page), Some((gz.clone(), br.clone())));
        let store = Store::open(&out, Some([9; 16])).unwrap();
        assert_eq!(store.prior(&page), Some((gz.clone(), br.clone())));
        // Another encoder's key in the folder: not trusted.
        write(ENCODERS, b"0123");
        let store = Store::open(&out, Some([9; 16])).unwrap();
        assert_eq!(store.prior(&page), None);
        // Siblings of other bytes: not trusted.
        let mut store = store;
        store.finish(&Default::default(), None).unwrap();
        write(
            "rss.xml.gz",
            &compress::gzip(b"<rss/>", compress::Effort::Best).unwrap(),
        );
        assert_eq!(store.prior(&page), None);
    }

    #[test]
    fn a_seal_holds_until_the_folder_is_written_again() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("feeds");
        let epoch = [9; 16];
        let mut store = Store::open(&out, Some(epoch)).unwrap();
        store.finish(&Default::default(), Some(seal(1))).unwrap();
        let record = Record::read(&out, epoch).expect("sealed");
        assert_eq!(record, seal(1).record);
        assert_eq!(Record::read(&out, [8; 16]), None, "another epoch");
        let table = load_entries(&out, &record).expect("entries");
        assert_eq!(table.all(), [rss_entry()]);
        assert!(
            load_entries(&out, &seal(2).record).is_none(),
            "another content"
        );

        // Writing begins: no record holds until the next finish.
        let store = Store::open(&out, Some(epoch)).unwrap();
        store.mark_writing().unwrap();
        assert_eq!(Record::read(&out, epoch), None);
        let mut store = store;
        store.finish(&Default::default(), Some(seal(2))).unwrap();
        assert_eq!(Record::read(&out, epoch), Some(seal(2).record));
        // A finish without a seal (something unsettled) removes it.
        let mut store = Store::open(&out, Some(epoch)).unwrap();
        store.finish(&Default::default(), None).unwrap();
        assert_eq!(Record::read(&out, epoch), None);
        // A damaged entry list is not trusted.
        let mut store = Store::open(&out, Some(epoch)).unwrap();
        store.finish(&Default::default(), Some(seal(3))).unwrap();
        let routes = out.join(ROUTES);
        let text = std::fs::read_to_string(&routes).unwrap();
        std::fs::write(&routes, text.replace("/rss.xml", "/rss.xmL")).unwrap();
        assert!(load_entries(&out, &seal(3).record).is_none());
        // A seal that goes stale with the clock (the news sitemap) holds
        // until then, not after.
        let now = chrono::Utc::now().timestamp();
        for (until, holds) in [(now + 60, true), (now - 1, false)] {
            let mut sealed = seal(4);
            sealed.record.until = until;
            let record = sealed.record;
            let mut store = Store::open(&out, Some(epoch)).unwrap();
            store.finish(&Default::default(), Some(sealed)).unwrap();
            assert_eq!(Record::read(&out, epoch).is_some(), holds, "{until}");
            if holds {
                assert_eq!(Record::read(&out, epoch), Some(record));
            }
        }
    }
}
