//! Keeping a served site current: the first full build, then one refresh
//! per batch of file changes, each swapped into the server in one step and
//! written to the output folder.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Instant, SystemTime};

use crate::config::{Config, Overrides};
use crate::content::{Diagnostic, Severity};
use crate::library::{Change, Library};
use crate::publish;
use crate::server::routes::Routes;
use crate::server::service::State;
use crate::site::{self, Delta, Site};
use crate::watch::Batch;
use crate::websub::Publisher;

pub struct Live {
    state: Arc<State>,
    config_path: PathBuf,
    overrides: Overrides,
    content: PathBuf,
    out: PathBuf,
    /// Absolute forms, to recognise watcher paths.
    content_abs: PathBuf,
    config_abs: PathBuf,
    library: Option<Library>,
    /// Fingerprints of each scope's archived articles as last written.
    archive_prints: std::cell::RefCell<std::collections::HashMap<Option<String>, u64>>,
    /// Tells WebSub hubs of changed feeds, when `hub` is set.
    publisher: Option<Publisher>,
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
        content: &Path,
        out: &Path,
    ) -> Live {
        Live {
            state,
            config_path: config_path.to_path_buf(),
            overrides,
            content: content.to_path_buf(),
            out: out.to_path_buf(),
            content_abs: absolute(content),
            config_abs: absolute(config_path),
            library: None,
            publisher: None,
            archive_prints: Default::default(),
        }
    }

    /// Sends WebSub pings with `publisher` after each change.
    pub fn with_publisher(mut self, publisher: Publisher) -> Live {
        self.publisher = Some(publisher);
        self
    }

    /// Tells the hubs that the feeds among `paths` (site paths) changed.
    fn announce<'a>(&self, library: &Library, paths: impl Iterator<Item = &'a str>) {
        let Some(publisher) = &self.publisher else {
            return;
        };
        let hubs = library.config.external_hubs();
        if hubs.is_empty() {
            return;
        }
        let feeds: Vec<String> = paths
            .filter(|p| p.ends_with(".xml") || p.ends_with(".json"))
            .map(|p| library.config.url(p.trim_start_matches('/')))
            .collect();
        publisher.changed(&hubs, &feeds);
    }

    pub fn content_abs(&self) -> &Path {
        &self.content_abs
    }

    pub fn config_abs(&self) -> &Path {
        &self.config_abs
    }

    /// Reads everything with `config` and replaces the whole site.
    pub fn build_all(&mut self, config: Config) {
        let started = Instant::now();
        // Article pages are written as their files are read, and served
        // from there; those that cannot be written are kept in memory.
        let out = match publish::claim(&self.out) {
            Ok(()) => Some(self.out.as_path()),
            Err(e) => {
                tracing::error!(
                    "cannot write {}: {e}; serving from memory",
                    self.out.display()
                );
                None
            }
        };
        let page_config = config.clone();
        let writer = publish::PageWriter::new(&page_config, out, true);
        let loaded = Library::load_with(config, &self.content, Some(&|a, b| writer.write(a, b)));
        let pages = writer.finish();
        if let Some(e) = &pages.error {
            tracing::error!(
                "cannot write {}: {e}; serving from memory",
                self.out.display()
            );
        }
        let library = match loaded {
            Ok(l) => l,
            Err(e) => {
                tracing::error!(
                    "{}: cannot read the content folder ({e}); keeping the current site",
                    self.content.display()
                );
                return;
            }
        };
        library.diagnostics().into_iter().for_each(log);
        let site = Site::build(&library);
        let mut routes = Routes::new(&library.config);
        if let Some(out) = out {
            routes.insert_pages(out, library.articles().map(|a| a.as_ref()));
        }
        routes.insert_outputs(&pages.unwritten);
        routes.insert_outputs(&site.outputs);
        // Archive documents are written first and served from their files
        // (from memory if they cannot be written).
        let scopes = site::all_scopes(&library.config);
        *self.archive_prints.borrow_mut() = scopes
            .iter()
            .map(|d| {
                let slug = d.map(|d| d.slug.clone());
                let print = library.archived_print(slug.as_deref());
                (slug, print)
            })
            .collect();
        let archives = site::archives(&library, &scopes);
        let archived = out.map(|out| {
            publish::write_archives(
                &archives,
                &library,
                out,
                Some(&pages.known),
                pages.keys.as_ref(),
            )
        });
        let archive_files = match &archived {
            Some(Ok((_, files))) => files.clone(),
            Some(Err(e)) => {
                tracing::error!(
                    "cannot write {}: {e}; archives served from memory",
                    self.out.display()
                );
                Vec::new()
            }
            None => Vec::new(),
        };
        let archive_out = matches!(archived, Some(Ok(_))).then_some(self.out.as_path());
        routes.set_archives(&archives, &library, archive_out);
        drop(archives);
        self.state.routes.store(Some(Arc::new(routes)));
        self.record(&library, started);
        // After a start or a new config every feed may have changed.
        self.announce(&library, site.outputs.iter().map(|o| o.path.as_str()));
        let served = started.elapsed();
        let report = match out {
            Some(_) => publish::publish(&site, &library, &self.out, &pages.known, &archive_files)
                .map(|r| {
                    let a = match &archived {
                        Some(Ok((a, _))) => a.clone(),
                        _ => publish::Report::default(),
                    };
                    publish::Report {
                        written: r.written + pages.report.written + a.written,
                        unchanged: r.unchanged + pages.report.unchanged + a.unchanged,
                        removed: r.removed,
                    }
                }),
            None => Ok(pages.report),
        };
        self.report(
            &library,
            started,
            served,
            library.count(None),
            site.outputs.len() + library.count(None),
            report,
        );
        self.library = Some(library);
    }

    /// Takes in one batch of changes.
    pub fn apply(&mut self, batch: Batch) {
        let config_changed = batch.paths.iter().any(|p| p == &self.config_abs);
        if config_changed {
            match Config::load(&self.config_path, &self.overrides) {
                Ok(config) => {
                    tracing::info!(
                        "{} changed: rebuilding everything",
                        self.config_path.display()
                    );
                    return self.build_all(config);
                }
                Err(e) => {
                    tracing::error!("{e}; the site built from the previous config is still served");
                    if batch.paths.iter().all(|p| p == &self.config_abs) {
                        return;
                    }
                }
            }
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
        let result = if batch.rescan {
            library.rescan(&mut change)
        } else {
            library.refresh(&touched, &mut change)
        };
        if let Err(e) = result {
            tracing::error!(
                "{}: cannot read the content folder ({e})",
                self.content.display()
            );
            return;
        }
        self.serve_change(change, started);
    }

    /// Renders what `change` touched, serves it, then writes it.
    fn serve_change(&mut self, change: Change, started: Instant) {
        let Some(library) = self.library.as_ref() else {
            return;
        };
        change.diagnostics.iter().for_each(log);
        if !change.any && change.files_read == 0 {
            return;
        }
        let delta = Delta::render(library, &change);
        // Served from memory at once; article pages are then read from
        // their files once written.
        if let Some(routes) = self.state.routes.load_full() {
            self.state
                .routes
                .store(Some(Arc::new(routes.apply(&delta, None))));
        }
        let Some(library) = self.library.as_ref() else {
            return;
        };
        self.record(library, started);
        let served = started.elapsed();
        self.announce(library, delta.outputs.iter().map(|o| o.path.as_str()));
        if let Some(hub) = &self.state.hub {
            for o in delta
                .outputs
                .iter()
                .filter(|o| o.path.ends_with(".xml") || o.path.ends_with(".json"))
            {
                let topic = library.config.url(o.path.trim_start_matches('/'));
                hub.distribute(&self.state, &topic, o.content_type, o.body.bytes.clone());
            }
        }
        let report = publish::apply(&delta, &self.out);
        if report.is_ok()
            && let Some(routes) = self.state.routes.load_full()
        {
            self.state
                .routes
                .store(Some(Arc::new(routes.apply(&delta, Some(&self.out)))));
        }
        self.update_archives(library, &change);
        let feeds = delta
            .outputs
            .iter()
            .filter(|o| o.path.ends_with(".xml") || o.path.ends_with(".json"))
            .count();
        self.report(library, started, served, change.files_read, feeds, report);
    }

    /// Writes and serves the archive documents of the scopes a change
    /// touched; only those whose bytes changed are written (in practice
    /// the newest, and the one before when a new one opens).
    fn update_archives(&self, library: &Library, change: &Change) {
        let config = &library.config;
        let mut scopes = Vec::new();
        if change.any {
            scopes.push(None);
        }
        scopes.extend(
            change
                .districts
                .iter()
                .filter_map(|d| config.district(d))
                .map(Some),
        );
        // Only scopes whose archived articles changed (a new article
        // pushes one out of the feed; an edit inside the feed does not).
        scopes.retain(|d| {
            let slug = d.map(|d| d.slug.clone());
            let print = library.archived_print(slug.as_deref());
            self.archive_prints.borrow_mut().insert(slug, print) != Some(print)
        });
        if scopes.is_empty() {
            return;
        }
        let archives = site::archives(library, &scopes);
        let written = publish::write_archives(&archives, library, &self.out, None, None);
        if let Err(e) = &written {
            tracing::error!(
                "cannot write {}: {e}; archives served from memory",
                self.out.display()
            );
        }
        let Some(routes) = self.state.routes.load_full() else {
            return;
        };
        let mut next = (*routes).clone();
        let out = written.is_ok().then_some(self.out.as_path());
        let gone = next.set_archives(&archives, library, out);
        self.state.routes.store(Some(Arc::new(next)));
        for file in gone {
            for ext in ["", ".gz", ".br"] {
                let mut name = self.out.join(&file).into_os_string();
                name.push(ext);
                let _ = std::fs::remove_file(name);
            }
        }
    }

    /// Metrics of a build that is now served.
    fn record(&self, library: &Library, started: Instant) {
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
        served: std::time::Duration,
        files_read: usize,
        rendered: usize,
        report: Result<publish::Report, publish::PublishError>,
    ) {
        let (written, removed) = match report {
            Ok(r) => (r.written, r.removed),
            Err(e) => {
                // Serving comes first: a failed write to the output folder is logged.
                tracing::error!("cannot write {}: {e}", self.out.display());
                (0, 0)
            }
        };
        tracing::info!(
            files_read,
            rendered,
            written,
            removed,
            articles = library.count(None),
            errors = library.errors(),
            served_ms = format!("{:.1}", served.as_secs_f64() * 1000.0),
            millis = format!("{:.1}", started.elapsed().as_secs_f64() * 1000.0),
            "site updated"
        );
    }

    /// Applies batches until the sender is gone, merging those that queued
    /// up while a refresh ran; publishes scheduled articles when their
    /// date comes.
    pub fn run(mut self, batches: Receiver<Batch>) {
        loop {
            let next = self.library.as_ref().and_then(Library::next_embargo);
            let received = match next {
                None => batches.recv().map_err(|_| RecvTimeoutError::Disconnected),
                Some(when) => {
                    // A millisecond late rather than early: the file is
                    // read again only once its date has passed.
                    let wait = (when.to_utc() - chrono::Utc::now())
                        .to_std()
                        .unwrap_or_default()
                        + std::time::Duration::from_millis(1);
                    batches.recv_timeout(wait)
                }
            };
            match received {
                Ok(mut batch) => {
                    while let Ok(more) = batches.try_recv() {
                        batch.rescan |= more.rescan;
                        batch.paths.extend(more.paths);
                    }
                    self.apply(batch);
                }
                Err(RecvTimeoutError::Timeout) => self.publish_due(),
                Err(RecvTimeoutError::Disconnected) => return,
            }
        }
    }

    /// Publishes the scheduled articles whose date has come.
    fn publish_due(&mut self) {
        let Some(library) = self.library.as_mut() else {
            return;
        };
        let started = Instant::now();
        let mut change = Change::default();
        library.publish_due(&mut change);
        if !change.pages.is_empty() {
            tracing::info!(
                articles = change.pages.len(),
                "scheduled articles published"
            );
        }
        self.serve_change(change, started);
    }
}
