//! `crier serve --import-dir DIR`: printed pages dropped into a folder are
//! imported once each. A page is taken once its size and time have stood
//! still for the settle time (a slow copy is not read half-written; a page
//! renamed in is complete at once but waits the same), imported into the
//! content folder (which the live watcher then serves), and moved to
//! `DIR/done/`; a page that cannot be imported moves to `DIR/failed/` with
//! a `.err` file beside it naming the line and the reason. Pages are never
//! deleted. A restart finds the pages still at the top of DIR; one
//! imported just before a crash is imported again to the same bytes, so it
//! changes nothing.
//!
//! The folder is scanned rather than watched: the settle time needs a
//! timer anyway, and a scan also works on the network mounts where drop
//! folders usually live.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use crate::config::{Config, Current};

/// Where pages come from and go to.
pub struct Intake {
    pub dir: PathBuf,
    pub content: PathBuf,
    /// The site's config as the build thread last read it.
    pub config: Current,
    /// How long a page must stand still before it is read.
    pub settle: Duration,
}

/// A page's size and modification time, and when it may be taken: the
/// settle time after they last changed, or a while after a failed try.
struct Seen {
    size: u64,
    modified: Option<SystemTime>,
    due: Instant,
}

/// How long a page that could not be imported for a reason of crier's
/// own (a full disk, a folder it cannot write) waits before the next try.
const RETRY: Duration = Duration::from_secs(10);

impl Intake {
    /// Scans DIR every tenth of the settle time, for ever.
    pub fn run(self) {
        for sub in ["done", "failed"] {
            if let Err(e) = std::fs::create_dir_all(self.dir.join(sub)) {
                tracing::error!(
                    "cannot create {}: {e}; pages dropped there are not imported",
                    self.dir.join(sub).display()
                );
                return;
            }
        }
        tracing::info!(dir = %self.dir.display(), "importing printed pages dropped here");
        let mut seen: HashMap<PathBuf, Seen> = HashMap::new();
        let tick = (self.settle / 10).max(Duration::from_millis(20));
        loop {
            self.scan(&mut seen);
            std::thread::sleep(tick);
        }
    }

    fn scan(&self, seen: &mut HashMap<PathBuf, Seen>) {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(e) => e,
            Err(e) => {
                tracing::warn!(dir = %self.dir.display(), "cannot list the import folder: {e}");
                return;
            }
        };
        let mut present = Vec::new();
        for entry in entries.flatten() {
            let path = entry.path();
            let Ok(meta) = entry.metadata() else { continue };
            if !meta.is_file() || !is_page(&path) {
                continue;
            }
            present.push(path.clone());
            let (size, modified) = (meta.len(), meta.modified().ok());
            let now = Instant::now();
            let s = seen.entry(path.clone()).or_insert(Seen {
                size,
                modified,
                due: now + self.settle,
            });
            if s.size != size || s.modified != modified {
                *s = Seen {
                    size,
                    modified,
                    due: now + self.settle,
                };
            } else if now >= s.due && !self.take(&path) {
                s.due = now + RETRY;
            }
        }
        seen.retain(|p, _| present.contains(p));
    }

    /// Imports one page and moves it to `done/` or `failed/`: true. A
    /// disk problem leaves it in place, to be tried again: false.
    fn take(&self, page: &Path) -> bool {
        match import(&self.config.get(), page, &self.content) {
            Ok(imported) => self.import_done(page, imported),
            Err(Failure::Page(reason)) => self.import_failed(page, &reason),
            Err(Failure::Retry(reason)) => {
                tracing::error!(page = %page.display(), "not imported yet, tried again in {}s: {reason}", RETRY.as_secs());
                return false;
            }
        }
        true
    }

    fn import_done(&self, page: &Path, imported: Imported) {
        let name = page.display();
        for (line, w) in &imported.warnings {
            tracing::warn!("{name}:{line}: {w}");
        }
        let moved = move_into(page, &self.dir.join("done"));
        tracing::info!(
            page = %name,
            articles = imported.articles,
            written = imported.written,
            "imported ({}) into {}, page moved to {}",
            imported.read,
            self.content.display(),
            moved.as_deref().map_or_else(|| "nowhere (see the error)".into(), |p| p.display().to_string())
        );
    }

    fn import_failed(&self, page: &Path, reason: &str) {
        let failed = self.dir.join("failed");
        match move_into(page, &failed) {
            Some(to) => {
                let mut err = to.clone().into_os_string();
                err.push(".err");
                if let Err(e) = std::fs::write(&err, format!("{reason}\n")) {
                    tracing::error!("cannot write {}: {e}", PathBuf::from(&err).display());
                }
                tracing::error!(page = %page.display(), "not imported: {reason}; moved to {}", to.display());
            }
            None => tracing::error!(page = %page.display(), "not imported: {reason}"),
        }
    }
}

/// A page file: not hidden, not an editor's or a copier's temporary.
fn is_page(path: &Path) -> bool {
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return false;
    };
    !(crate::content::is_ignored(name) || name.ends_with(".err"))
}

/// What an import did, for the log.
struct Imported {
    articles: usize,
    written: usize,
    read: String,
    warnings: Vec<(usize, String)>,
}

enum Failure {
    /// The page itself: it goes to `failed/`.
    Page(String),
    /// Not the page's fault (reading it, writing the articles): try again.
    Retry(String),
}

fn import(config: &Config, page: &Path, content: &Path) -> Result<Imported, Failure> {
    let bytes = std::fs::read(page).map_err(|e| Failure::Retry(format!("cannot read it: {e}")))?;
    let located = |e: crate::import::ImportError| {
        let at = e.line.map(|l| format!("line {l}: ")).unwrap_or_default();
        Failure::Page(format!("{at}{}", e.message))
    };
    let (text, encoding) = crate::import::decode(&bytes, None).map_err(located)?;
    let mut warnings = Vec::new();
    let today = today(config);
    let (date, whence) = page_date(config, page, &text).unwrap_or_else(|| {
        warnings.push((
            1,
            "no date in the file name (YYYY-MM-DD) nor in the lead's dateline: dated today".into(),
        ));
        (today, "today")
    });
    let plan = crate::import::plan_text(config, &text, date).map_err(located)?;
    warnings.extend(plan.warnings.iter().cloned());
    let (written, _) = crate::import::write(&plan, content)
        .map_err(|e| Failure::Retry(format!("cannot write the articles: {e}")))?;
    Ok(Imported {
        articles: plan.files.len(),
        written,
        read: format!("read as {encoding}, dated {date} {whence}"),
        warnings,
    })
}

/// Moves `page` into `folder`, under a new name if one is taken there
/// (`page.txt`, `page.1.txt`, ...): a page is never overwritten.
fn move_into(page: &Path, folder: &Path) -> Option<PathBuf> {
    let name = page.file_name()?;
    let stem = page
        .file_stem()
        .map_or_else(Default::default, |s| s.to_string_lossy());
    let ext = page
        .extension()
        .map(|e| format!(".{}", e.to_string_lossy()))
        .unwrap_or_default();
    let mut to = folder.join(name);
    let mut n = 1;
    while to.exists() {
        to = folder.join(format!("{stem}.{n}{ext}"));
        n += 1;
    }
    match std::fs::rename(page, &to) {
        Ok(()) => Some(to),
        Err(e) => {
            tracing::error!(page = %page.display(), "cannot move the page to {}: {e}", folder.display());
            None
        }
    }
}

/// Today in the site's time zone.
fn today(config: &Config) -> chrono::NaiveDate {
    chrono::Utc::now()
        .with_timezone(&config.timezone)
        .date_naive()
}

/// A page's date when none is given: from its file name, else its
/// dateline in this year (`import::page_date`).
pub fn page_date(
    config: &Config,
    page: &Path,
    text: &str,
) -> Option<(chrono::NaiveDate, &'static str)> {
    let name = page
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    crate::import::page_date(&name, text, today(config))
}
