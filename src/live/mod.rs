//! Keeping a served site current. The first build (and a new config)
//! serves the feeds and index pages as soon as they are rendered from the
//! library; article pages and archive documents are rendered on request
//! until the output folder is completed, in the background, between
//! batches of file changes. Each batch is one pass of the same pipeline,
//! swapped into the server in one step and written to the output folder.

use rayon::prelude::*;
use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant, SystemTime};

use chrono::{DateTime, FixedOffset};

use crate::config::{Config, Current, Overrides};
use crate::content::{Diagnostic, Listing, Severity};
use crate::fingerprint::Key;
use crate::full;
use crate::hub::Hub;
use crate::library::{Change, Library};
use crate::output::{BuildError, Kind, Output};
use crate::server::routes::Routes;
use crate::server::service::State;
use crate::site::{self, Built, Job, Prints};
use crate::store::{self, Report, Store};
use crate::watch::Batch;
use crate::websub::Publisher;

/// Jobs written per step of the background completion: small enough
/// that a file change waits little for the step in progress.
const STEP: usize = 256;

mod folder;
mod health;
mod run;
mod settings;

use folder::{Completion, Sealed};

use health::Health;

/// Quiet time after which the manifest and index are saved.
const SAVE_AFTER: Duration = Duration::from_secs(1);

pub struct Live {
    state: Arc<State>,
    hub: Option<Arc<Hub>>,
    /// Tells WebSub hubs of changed feeds, when `hub` is set.
    publisher: Option<Publisher>,
    config_path: PathBuf,
    overrides: Overrides,
    /// The config of the site served, for the drop folder.
    current: Current,
    content: PathBuf,
    out: PathBuf,
    /// Absolute forms, to recognise watcher paths.
    content_abs: PathBuf,
    config_abs: PathBuf,
    library: Option<Library>,
    prints: Prints,
    /// `None` when the output folder cannot be used: everything is then
    /// served from memory.
    store: Option<Store>,
    /// Of the program and config, for the index.
    epoch: Option<Key>,
    completion: Completion,
    /// The output folder's state: completing, complete, failing,
    /// recovering.
    health: Health,
    /// The file watcher, to watch new folders of `content`.
    watch: Option<crate::watch::Watch>,
    /// When the news sitemap served loses its oldest article.
    news_until: std::cell::Cell<Option<DateTime<FixedOffset>>>,
}

fn log(d: &Diagnostic) {
    match d.severity {
        Severity::Error => tracing::error!("{d}"),
        Severity::Warning => tracing::warn!("{d}"),
    }
}

fn absolute(p: &Path) -> PathBuf {
    std::fs::canonicalize(p)
        .unwrap_or_else(|_| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf()))
}

impl Live {
    pub fn new(
        state: Arc<State>,
        config_path: &Path,
        overrides: Overrides,
        current: Current,
        content: &Path,
        out: &Path,
    ) -> Live {
        Live {
            health: Health::new(out.to_path_buf(), state.metrics.clone()),
            state,
            hub: None,
            publisher: None,
            config_path: config_path.to_path_buf(),
            overrides,
            current,
            content: content.to_path_buf(),
            out: out.to_path_buf(),
            content_abs: absolute(content),
            config_abs: absolute(config_path),
            library: None,
            prints: Prints::default(),
            store: None,
            epoch: None,
            completion: Completion::default(),
            watch: None,
            news_until: Default::default(),
        }
    }

    /// Sends WebSub pings with `publisher` after each change.
    pub fn with_publisher(mut self, publisher: Publisher) -> Live {
        self.publisher = Some(publisher);
        self
    }

    /// Watches the folders of `content` when one may be new: a folder
    /// created in it, or a rescan (events were lost). Its files are then
    /// listed by the refresh that follows, so nothing written into it
    /// before its watch began is missed.
    fn watch_new_folders(&mut self, batch: &Batch) {
        let Some(watch) = self.watch.as_mut() else {
            return;
        };
        let new_folder = batch
            .paths
            .iter()
            .any(|p| p.parent() == Some(self.content_abs.as_path()) && p.is_dir());
        if (batch.rescan || new_folder)
            && let Err(e) = watch.folders(&self.content_abs)
        {
            tracing::error!(
                "cannot watch the folders of {} ({e}): changes there may be missed; try --poll",
                self.content.display()
            );
        }
    }

    /// Takes the watcher once it watches. It began after the first
    /// listing (so as not to delay serving), so everything is looked at
    /// again once: what changed in between is not missed.
    pub fn watching(&mut self, watch: Option<crate::watch::Watch>) {
        self.watch = watch;
        self.apply(Batch {
            paths: vec![self.config_abs.clone()],
            rescan: true,
        });
    }

    /// Delivers changed feeds to the subscribers of the built-in hub.
    pub fn with_hub(mut self, hub: Option<Arc<Hub>>) -> Live {
        self.hub = hub;
        self
    }

    pub fn content_abs(&self) -> &Path {
        &self.content_abs
    }

    pub fn config_abs(&self) -> &Path {
        &self.config_abs
    }

    /// Tells the hubs of the feeds among `outputs` (after a change).
    /// Pings external hubs for the feeds at `urls`, and gives the built-in
    /// hub the new bytes of those in `deliver`.
    fn announce(&self, config: &Config, urls: &[String], deliver: &[&Output]) {
        if let Some(publisher) = &self.publisher {
            let hubs = config.external_hubs();
            if !hubs.is_empty() && !urls.is_empty() {
                publisher.changed(&hubs, urls);
            }
        }
        if let Some(hub) = &self.hub {
            for o in deliver {
                let url = config.url(o.path.trim_start_matches('/'));
                hub.distribute(&url, o.kind.content_type(), o.body.bytes.clone());
            }
        }
    }

    fn log_errors(&self, errors: &[BuildError]) {
        self.health.made_with_errors(errors.len());
        for e in errors {
            tracing::error!("{e}; the last good version is still served");
        }
        self.state.metrics.build_errors.inc_by(errors.len() as u64);
    }

    /// Reads everything with `config`, serves the feeds and index pages
    /// at once, and queues the rest for the output folder.
    pub fn build_all(&mut self, config: Config) {
        self.rebuild(config, true);
    }

    /// [`Live::build_all`]; the hubs hear of every feed if `announce`
    /// (not after a change of templates or static files alone, which
    /// make no feed).
    fn rebuild(&mut self, config: Config, announce: bool) {
        let started = Instant::now();
        self.health.full_build();
        let epoch = store::epoch(&config);
        // At a start, the sealed folder is read beside the listing.
        let first = self.library.is_none();
        let (content, out) = (&self.content, &self.out);
        let (listing, sealed) = std::thread::scope(|s| {
            let sealed = first.then(|| s.spawn(|| Sealed::read(&config, epoch, content, out)));
            let listing = full::list(&config, content, out);
            (listing, sealed.and_then(|h| h.join().ok()).flatten())
        });
        let listing = match listing {
            Ok(l) => l,
            Err(e) => return self.unreadable(&e),
        };
        tracing::debug!(elapsed = ?started.elapsed(), mb = ?crate::logging::memory_mb(), "content listed");
        if let Some(sealed) = sealed {
            self.serve_sealed(sealed, &listing, started);
        }
        self.store = match Store::open(&self.out, epoch) {
            Ok(s) => Some(s),
            Err(e) => {
                tracing::error!(
                    "cannot write {}: {e}; serving from memory",
                    self.out.display()
                );
                None
            }
        };
        let read = full::read(config, &self.content, &self.out, listing, &|_, _| {});
        let library = match read {
            Ok((l, _)) => l,
            Err(e) => return self.unreadable(&e),
        };
        tracing::debug!(elapsed = ?started.elapsed(), mb = ?crate::logging::memory_mb(), "library read");
        library.diagnostics().into_iter().for_each(log);
        self.epoch = epoch;
        let (built, prints) = full::render(&library, self.store.as_ref());
        self.prints = prints;
        self.log_errors(&built.errors);
        tracing::debug!(elapsed = ?started.elapsed(), mb = ?crate::logging::memory_mb(), "feeds rendered");
        let config = Arc::new(library.config.clone());
        self.current.set(config.clone());
        let (routes, backlog) = self.routes_of(&config, &built);
        self.state.routes.store(Some(Arc::new(routes)));
        tracing::debug!(elapsed = ?started.elapsed(), mb = ?crate::logging::memory_mb(), "routes served");
        if let Some(hub) = &self.hub {
            hub.set_topics(feed_urls(&config, &built));
        }
        self.record(&library, started);
        let served = started.elapsed();
        // After a start or a new config every feed may have changed.
        if announce {
            let deliver = self.changed_feeds(&built);
            self.announce(&config, &feed_urls(&config, &built), &deliver);
        }
        let written = match &self.store {
            Some(s) => s
                .write_outputs(&built.outputs)
                .and_then(|mut r| {
                    r.add(&s.write_media(&built.media)?);
                    Ok(r)
                })
                .map_err(|e| e.for_log()),
            None => Ok(Report::default()),
        };
        self.completion = Completion {
            backlog,
            all: built.jobs.clone(),
            started: Some(started),
            report: written.clone().unwrap_or_default(),
            ..Completion::default()
        };
        self.state
            .metrics
            .pending_writes
            .set(self.completion.backlog.len() as i64);
        self.report(
            &library,
            started,
            served,
            library.opened().0,
            &built,
            written,
        );
        self.library = Some(library);
    }

    /// The feeds of a full build whose bytes differ from those the
    /// output folder holds (written before them): what the built-in
    /// hub's subscribers have not had, a change made while crier was
    /// stopped or before its watcher began. A feed the folder lacks is
    /// not known to have changed.
    fn changed_feeds<'a>(&self, built: &'a Built) -> Vec<&'a Output> {
        if self.hub.is_none() {
            return Vec::new();
        }
        built
            .outputs
            .iter()
            .filter(|o| o.kind.is_feed())
            .filter(|o| {
                std::fs::read(self.out.join(&o.file)).is_ok_and(|old| old != o.body.bytes[..])
            })
            .collect()
    }

    /// After the output folder failed, a change is a full pass that
    /// writes it all again: whether this one was.
    fn recovered(&mut self) -> bool {
        let Some(config) = self.library.as_ref().map(|l| l.config.clone()) else {
            return false;
        };
        if !self.health.recover() {
            return false;
        }
        self.build_all(config);
        true
    }

    /// The routes of a full build, and the jobs still to write: those
    /// whose file in the output folder is not current.
    fn routes_of(&self, config: &Arc<Config>, built: &Built) -> (Routes, VecDeque<Job>) {
        let store = self.store.as_ref();
        let mut routes = Routes::new(config.clone(), &self.content);
        for o in &built.outputs {
            routes.insert_output(o, None);
        }
        for m in &built.media {
            routes.insert_media(m);
        }
        let placed: Vec<(&Job, Option<&Path>)> = built
            .jobs
            .par_iter()
            .map(|job| {
                let on_disk = store.filter(|s| s.is_current(job));
                (job, on_disk.map(Store::path))
            })
            .collect();
        routes.insert_jobs(&placed);
        let backlog: VecDeque<Job> = match store {
            Some(_) => placed
                .iter()
                .filter(|(_, on_disk)| on_disk.is_none())
                .map(|(job, _)| (*job).clone())
                .collect(),
            None => VecDeque::new(),
        };
        (routes, backlog)
    }

    fn unreadable(&self, e: &std::io::Error) {
        tracing::error!(
            "{}: cannot read the content folder ({e}); keeping the current site",
            self.content.display()
        );
    }

    /// Takes in one batch of changes.
    pub fn apply(&mut self, batch: Batch) {
        tracing::debug!(paths = ?batch.paths, rescan = batch.rescan, "batch");
        self.watch_new_folders(&batch);
        if self.settings_changed(&batch) {
            return;
        }
        if self.recovered() {
            return;
        }
        let Some(library) = self.library.as_mut() else {
            return;
        };
        let started = Instant::now();
        let mut change = Change::default();
        let touched: Vec<PathBuf> = batch
            .paths
            .iter()
            .filter_map(|p| p.strip_prefix(&self.content_abs).ok())
            .map(|rel| self.content.join(rel))
            .collect();
        // Only other files beside crier.toml changed.
        if touched.is_empty() && !batch.rescan {
            return;
        }
        let result = if batch.rescan {
            library.rescan(&mut change).map(|()| Default::default())
        } else {
            library.refresh_reported(&touched, &mut change)
        };
        let folders = match result {
            Ok(folders) => folders,
            Err(e) => {
                tracing::error!(
                    "{}: cannot read the content folder ({e})",
                    self.content.display()
                );
                return;
            }
        };
        self.serve_change(change, started);
        // What the events reported is served; now what they may have
        // missed in the same folders.
        if let Some(library) = self.library.as_mut() {
            let started = Instant::now();
            let mut missed = Change::default();
            library.relist(&folders, &mut missed);
            self.serve_change(missed, started);
        }
    }

    /// Runs the pipeline for `change`, serves the result, then writes it.
    fn serve_change(&mut self, change: Change, started: Instant) {
        let Some(library) = self.library.as_ref() else {
            return;
        };
        change.diagnostics.iter().for_each(log);
        let media = !change.media.is_empty() || !change.media_gone.is_empty();
        if !change.any && change.files_read == 0 && !change.clock && !media {
            return;
        }
        tracing::debug!(elapsed = ?started.elapsed(), "refreshed");
        let routes = self.state.routes.load_full();
        let reuse = |p: &crate::output::Page| routes.as_ref()?.encodings_of(p);
        let mut built = site::build(library, &change, &mut self.prints, Some(&reuse));
        drop(routes);
        tracing::debug!(elapsed = ?started.elapsed(), "rendered");
        // A live update has few archive documents to make: made now. A
        // topic's feeds read their articles' bodies from the files: they
        // are served rendered on request at first, and made after.
        let (later, jobs): (Vec<Job>, Vec<Job>) = std::mem::take(&mut built.jobs)
            .into_iter()
            .partition(|j| matches!(j, Job::Topic(_)));
        let mut made = Vec::new();
        let render = |jobs: &[Job], made: &mut Vec<(Job, Output)>, errors: &mut Vec<_>| {
            for (job, r) in jobs
                .iter()
                .zip(site::render_jobs(jobs, &library.config, &self.content))
            {
                match r {
                    Ok(o) => made.push((job.clone(), o)),
                    Err(e) => errors.push(e),
                }
            }
        };
        render(&jobs, &mut made, &mut built.errors);
        let Some(routes) = self.state.routes.load_full() else {
            return;
        };
        let mut next = (*routes).clone();
        next.remove(&built.removed);
        for o in built.outputs.iter().chain(made.iter().map(|(_, o)| o)) {
            next.insert_output(o, None);
        }
        for job in &later {
            next.insert_job(job, None);
        }
        for m in &built.media {
            next.insert_media(m);
        }
        self.state.routes.store(Some(Arc::new(next.clone())));
        self.record(library, started);
        let served = started.elapsed();
        render(&later, &mut made, &mut built.errors);
        self.log_errors(&built.errors);
        for (_, o) in made.iter().filter(|(j, _)| matches!(j, Job::Topic(_))) {
            next.insert_output(o, None);
        }
        let feeds: Vec<&Output> = built
            .outputs
            .iter()
            .chain(made.iter().map(|(_, o)| o))
            .filter(|o| o.kind.is_feed())
            .collect();
        let urls: Vec<String> = feeds
            .iter()
            .map(|o| library.config.url(o.path.trim_start_matches('/')))
            .collect();
        self.announce(&library.config, &urls, &feeds);
        let written = match &self.store {
            Some(store) => self.write(store, &built, &made, &mut next),
            None => Ok(Report::default()),
        };
        if written.is_ok() {
            self.state.routes.store(Some(Arc::new(next)));
        }
        self.report(library, started, served, change.files_read, &built, written);
    }

    /// Writes what a live update made; its pages and archive documents
    /// are then read from their files.
    fn write(
        &self,
        store: &Store,
        built: &Built,
        made: &[(Job, Output)],
        routes: &mut Routes,
    ) -> Result<Report, String> {
        let failed = |e: store::StoreError| e.for_log();
        let (memory, pages): (Vec<&Output>, Vec<&Output>) =
            built.outputs.iter().partition(|o| o.kind.in_memory());
        let memory: Vec<Output> = memory.into_iter().cloned().collect();
        let mut report = store.write_outputs(&memory).map_err(failed)?;
        for o in pages {
            report.add(&store.write_untracked(o).map_err(failed)?);
            routes.insert_output(o, Some(store.path()));
        }
        for (job, o) in made {
            report.add(&store.write_output(job, o).map_err(failed)?);
            routes.insert_output(o, Some(store.path()));
        }
        report.add(&store.write_media(&built.media).map_err(failed)?);
        report.removed += store.remove(&built.removed).map_err(failed)?;
        Ok(report)
    }

    /// Metrics of a build that is now served.
    fn record(&self, library: &Library, started: Instant) {
        let now = chrono::Utc::now().fixed_offset();
        self.news_until
            .set(crate::sitemaps::news_expiry(library, now));
        let m = &self.state.metrics;
        m.build_seconds.observe(started.elapsed().as_secs_f64());
        m.builds.inc();
        m.articles.set(library.count(None) as i64);
        m.content_errors.set(library.errors() as i64);
        let now = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default();
        m.last_build.set(now.as_secs_f64());
    }

    /// The one log line of a rebuild.
    fn report(
        &self,
        library: &Library,
        started: Instant,
        served: Duration,
        files_read: usize,
        built: &Built,
        report: Result<Report, String>,
    ) {
        let (written, removed) = match report {
            Ok(r) => (r.written, r.removed),
            Err(e) => {
                // Serving comes first: a failed write to the output folder is logged.
                self.health.write_failed(&e);
                (0, 0)
            }
        };
        tracing::info!(
            files_read,
            rendered = built.outputs.len(),
            errors = built.errors.len(),
            written,
            removed,
            pending = self.completion.backlog.len(),
            articles = library.count(None),
            content_errors = library.errors(),
            served_ms = format!("{:.1}", served.as_secs_f64() * 1000.0),
            millis = format!("{:.1}", started.elapsed().as_secs_f64() * 1000.0),
            "site updated"
        );
    }
}

/// How long until `when`: a millisecond late rather than early, so that
/// what waits for it is done once its time has passed.
fn until(when: DateTime<FixedOffset>) -> Duration {
    (when.to_utc() - chrono::Utc::now())
        .to_std()
        .unwrap_or_default()
        + Duration::from_millis(1)
}

/// The public URLs of the subscription feeds a build made or will make.
fn feed_urls(config: &Config, built: &Built) -> Vec<String> {
    let outputs = built.outputs.iter().map(|o| (o.kind, o.path.clone()));
    let jobs = built.jobs.iter().map(|j| (j.kind(), j.path()));
    outputs
        .chain(jobs)
        .filter(|(kind, _)| kind.is_feed())
        .map(|(_, path)| config.url(path.trim_start_matches('/')))
        .collect()
}
