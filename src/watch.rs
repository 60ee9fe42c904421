//! Watching `content/`, `crier.toml`, `templates/` and `static/` with notify, debounced by
//! notify-debouncer-full: each batch of changes arrives as one message.
//! The watcher belongs to the live thread, which adds new folders.

use std::path::{Path, PathBuf};
use std::sync::mpsc::Sender;
use std::time::Duration;

use crate::config::{STATIC_DIR, TEMPLATES_DIR};

use notify::{EventKind, PollWatcher, RecommendedWatcher, RecursiveMode};
use notify_debouncer_full::{
    DebounceEventResult, Debouncer, FileIdMap, RecommendedCache, new_debouncer_opt,
};

/// One debounced batch of changes.
#[derive(Debug, Default)]
pub struct Batch {
    /// Paths that changed, absolute.
    pub paths: Vec<PathBuf>,
    /// The watcher lost track (queue overflow, errors): list everything again.
    pub rescan: bool,
}

/// Keeps the watcher alive; dropping it stops watching.
pub enum Watch {
    Native(Debouncer<RecommendedWatcher, RecommendedCache>),
    Poll(Debouncer<PollWatcher, FileIdMap>),
}

fn handler(tx: Sender<Batch>) -> impl FnMut(DebounceEventResult) + Send + 'static {
    move |result: DebounceEventResult| {
        let batch = match result {
            Ok(events) => {
                // Reads (crier's own included: every file it reads and
                // folder it lists) change nothing.
                let events: Vec<_> = events
                    .into_iter()
                    .filter(|e| !matches!(e.kind, EventKind::Access(_)))
                    .collect();
                if events.is_empty() {
                    return;
                }
                Batch {
                    rescan: events.iter().any(|e| e.need_rescan()),
                    paths: events.into_iter().flat_map(|e| e.event.paths).collect(),
                }
            }
            Err(errors) => {
                for e in errors {
                    tracing::warn!("file watcher: {e}");
                }
                Batch {
                    paths: Vec::new(),
                    rescan: true,
                }
            }
        };
        let _ = tx.send(batch);
    }
}

/// How often the debouncer looks for batches that are due: a twentieth
/// of the window (at least 2 ms), so a batch comes at most that late (the
/// default, a quarter, adds 25 ms to a 100 ms window). Each look is a
/// glance at the queue: 200 a second cost nothing measurable.
fn tick(debounce: Duration) -> Duration {
    (debounce / 20).max(Duration::from_millis(2))
}

/// Watches `content` (recursively) and the folder of `config` (for the
/// file itself: editors replace it by renaming). With `poll: Some(every)`,
/// scans at that interval instead of relying on change events, for network
/// mounts and volumes that give none.
pub fn start(
    content: &Path,
    config: &Path,
    poll: Option<Duration>,
    debounce: Duration,
    tx: Sender<Batch>,
) -> notify::Result<Watch> {
    let config_dir = config
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if let Some(every) = poll {
        let cfg = notify::Config::default().with_poll_interval(every);
        let mut d = new_debouncer_opt::<_, PollWatcher, FileIdMap>(
            debounce,
            Some(tick(debounce)),
            handler(tx),
            FileIdMap::new(),
            cfg,
        )?;
        d.watch(content, RecursiveMode::Recursive)?;
        d.watch(config_dir, RecursiveMode::NonRecursive)?;
        let mut w = Watch::Poll(d);
        w.site_folders(config_dir, None)?;
        Ok(w)
    } else {
        let mut d = new_debouncer_opt::<_, RecommendedWatcher, RecommendedCache>(
            debounce,
            Some(tick(debounce)),
            handler(tx),
            RecommendedCache::new(),
            notify::Config::default(),
        )?;
        // Not recursive: a recursive watch stats every file under
        // `content` (100,000 of them in an archive) before it starts. The
        // content folder is two levels deep, so its folders are watched
        // one by one, and new ones as they appear (see [`Watch::folders`]).
        d.watch(config_dir, RecursiveMode::NonRecursive)?;
        d.watch(content, RecursiveMode::NonRecursive)?;
        let mut w = Watch::Native(d);
        w.folders(content)?;
        w.site_folders(config_dir, None)?;
        Ok(w)
    }
}

impl Watch {
    /// Watches `templates/` and `static/` beside `crier.toml` (in
    /// `config_dir`) with what is in them, those that exist; with `only`,
    /// just that one (it has just appeared).
    pub fn site_folders(&mut self, config_dir: &Path, only: Option<&Path>) -> notify::Result<()> {
        for name in [TEMPLATES_DIR, STATIC_DIR] {
            let dir = config_dir.join(name);
            if !dir.is_dir() || only.is_some_and(|o| o != dir) {
                continue;
            }
            match self {
                Watch::Native(d) => d.watch(&dir, RecursiveMode::Recursive)?,
                Watch::Poll(d) => d.watch(&dir, RecursiveMode::Recursive)?,
            }
        }
        Ok(())
    }

    /// Watches every folder in `content` (again: watching a watched
    /// folder changes nothing). Called at the start and whenever a
    /// folder may have appeared; a poll watcher sees them by itself.
    pub fn folders(&mut self, content: &Path) -> notify::Result<()> {
        let Watch::Native(d) = self else {
            return Ok(());
        };
        let Ok(entries) = std::fs::read_dir(content) else {
            return Ok(());
        };
        for e in entries.flatten() {
            let path = e.path();
            if path.is_dir() {
                d.watch(&path, RecursiveMode::NonRecursive)?;
            }
        }
        Ok(())
    }
}
