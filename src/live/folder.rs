//! The output folder as `crier serve` keeps it: a sealed folder served
//! as it is at a start, and the background completion of a full build,
//! a step at a time, finished by the one full-build sequence.

use super::*;

/// A sealed output folder, ready to serve if the content still lists
/// as it did (see [`store::Seal`]).
pub(super) struct Sealed {
    record: store::Record,
    routes: Routes,
    /// Paths of its feeds, for the built-in hub.
    feeds: Vec<String>,
}

impl Sealed {
    /// Read while the content is listed: nothing here waits for that.
    pub(super) fn read(
        config: &Config,
        epoch: Option<Key>,
        content: &Path,
        out: &Path,
    ) -> Option<Sealed> {
        let record = store::Record::read(out, epoch?)?;
        let entries = store::load_entries(out, &record)?;
        let feeds = entries
            .select(Kind::is_feed)
            .into_iter()
            .map(|e| e.path)
            .collect();
        let routes = Routes::sealed(Arc::new(config.clone()), content, out, entries)?;
        Some(Sealed {
            record,
            routes,
            feeds,
        })
    }
}

/// The background completion of the output folder after a full build.
#[derive(Default)]
pub(super) struct Completion {
    /// Jobs not yet written, in order.
    pub(super) backlog: VecDeque<Job>,
    /// Every job of the full build, until the folder is listed.
    pub(super) all: Vec<Job>,
    /// Whether the folder has been listed for this completion.
    pub(super) listed: bool,
    pub(super) started: Option<Instant>,
    pub(super) report: Report,
    /// The manifest and index need saving (after live writes).
    pub(super) dirty: bool,
}

impl Live {
    /// At a start: if the output folder is sealed (see [`store::Seal`])
    /// with the very content listed now, serves it as it is, at once;
    /// the library is then read behind it, for live updates.
    pub(super) fn serve_sealed(&self, sealed: Sealed, listing: &Listing, started: Instant) {
        if listing.key() != Some(sealed.record.content) {
            return;
        }
        let config = sealed.routes.config().clone();
        self.state.routes.store(Some(Arc::new(sealed.routes)));
        if let Some(hub) = &self.hub {
            hub.set_topics(
                sealed
                    .feeds
                    .iter()
                    .map(|p| config.url(&crate::content::encode_path(p.trim_start_matches('/')))),
            );
        }
        tracing::info!(
            articles = sealed.record.articles,
            served_ms = format!("{:.1}", started.elapsed().as_secs_f64() * 1000.0),
            "serving {} as it was left; reading the articles for live updates",
            self.out.display()
        );
    }

    /// One step of the background completion: lists the folder first,
    /// then writes the next jobs; when none is left, removes stale files
    /// and saves the manifest and index.
    pub(super) fn complete_step(&mut self) {
        if !self.completion.listed
            && let Some(store) = self.store.as_mut()
            && store.needs_listing()
        {
            store.list();
        }
        let (Some(library), Some(store)) = (self.library.as_ref(), self.store.as_ref()) else {
            self.completion.backlog.clear();
            return;
        };
        if !self.completion.listed {
            self.completion.listed = true;
            // Files the manifest names but the listing lacks.
            let queued: std::collections::HashSet<PathBuf> =
                self.completion.backlog.iter().map(Job::file).collect();
            for job in std::mem::take(&mut self.completion.all) {
                if !queued.contains(&job.file()) && !store.is_current(&job) {
                    self.completion.backlog.push_back(job);
                }
            }
            self.state
                .metrics
                .pending_writes
                .set(self.completion.backlog.len() as i64);
            if self.completion.backlog.is_empty() {
                self.finish_output();
            }
            return;
        }
        let n = self.completion.backlog.len().min(STEP);
        let step: Vec<Job> = self
            .completion
            .backlog
            .drain(..n)
            // Superseded by a live update, which wrote its own.
            .filter(|j| j.work().is_current(library, &self.prints))
            .collect();
        let done = store.run_jobs(&step, &library.config, &self.content);
        for e in &done.errors {
            tracing::error!("{e}");
        }
        self.health.made_with_errors(done.errors.len());
        self.state
            .metrics
            .build_errors
            .inc_by(done.errors.len() as u64);
        if let Some(e) = &done.write_error {
            self.health.write_failed(e);
            // Stopped until the next change: retrying into a full disk
            // would only fill the log.
            self.completion.backlog.clear();
        }
        self.completion.report.add(&done.report);
        if let Some(routes) = self.state.routes.load_full() {
            let mut next = (*routes).clone();
            for i in &done.written {
                if let Some(job) = step.get(*i) {
                    next.insert_job(job, Some(store.path()));
                }
            }
            self.state.routes.store(Some(Arc::new(next)));
        }
        let left = self.completion.backlog.len();
        self.state.metrics.pending_writes.set(left as i64);
        if left == 0 && self.health.writing() {
            self.finish_output();
        }
    }

    /// Removes what the site no longer has and saves the manifest.
    pub(super) fn finish_output(&mut self) {
        let (Some(library), Some(store)) = (self.library.as_ref(), self.store.as_mut()) else {
            return;
        };
        let until = full::until(self.news_until.get());
        // The entries only when the seal is new: 100,000 of them are
        // memory the server need not hold at every save.
        let (routes, out) = (&self.state.routes, self.out.clone());
        let entries = || routes.load_full()?.entries(&out);
        let mut failure = None;
        let clean = self.health.clean();
        match full::finish(store, library, &self.prints, clean, until, entries) {
            Ok(removed) => self.completion.report.removed += removed,
            Err(e) => failure = Some(e.for_log()),
        }
        // Saved when something was read: an index that gave every file
        // is still right (a 100,000-article index is 36 MB to write).
        let stale_index = library.opened().0 > 0 || self.completion.dirty;
        let index_epoch = self.epoch.and(crate::index::epoch(&library.config));
        if let Some(epoch) = index_epoch.filter(|_| stale_index)
            && let Err(e) = library.save_index(&store.path().join(crate::index::FILE), epoch)
        {
            failure.get_or_insert(format!("the article index: {e}"));
        }
        if let Some(e) = failure {
            return self.health.write_failed(&e);
        }
        self.health.completed();
        self.completion.dirty = false;
        let r = &self.completion.report;
        tracing::info!(
            written = r.written,
            unchanged = r.unchanged,
            removed = r.removed,
            seconds = format!(
                "{:.1}",
                self.completion
                    .started
                    .map_or(0.0, |s| s.elapsed().as_secs_f64())
            ),
            mb = ?crate::logging::memory_mb(),
            "output folder complete: {}",
            self.out.display()
        );
    }
}
