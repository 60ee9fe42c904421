//! The live thread's loop: batches of file changes as they come, the
//! timers of embargoes and the news sitemap, and the background
//! completion of the output folder in between.

use super::*;

impl Live {
    /// How long to wait for the next batch: not at all while the output
    /// folder is being completed, else until the next embargo or save.
    pub(super) fn wait(&self) -> Option<Duration> {
        if !self.completion.backlog.is_empty() || self.store.is_some() && !self.completion.listed {
            return Some(Duration::ZERO);
        }
        let embargo = self
            .library
            .as_ref()
            .and_then(Library::next_embargo)
            .map(until);
        let news = self.news_until.get().map(until);
        let save = self.completion.dirty.then_some(SAVE_AFTER);
        [embargo, news, save].into_iter().flatten().min()
    }

    /// Applies batches until the sender is gone, merging those that queued
    /// up while a refresh ran; completes the output folder in between;
    /// publishes scheduled articles when their date comes.
    pub fn run(mut self, batches: Receiver<Batch>) {
        loop {
            let received = match self.wait() {
                None => batches.recv().map_err(|_| RecvTimeoutError::Disconnected),
                Some(wait) => batches.recv_timeout(wait),
            };
            match received {
                Ok(mut batch) => {
                    while let Ok(more) = batches.try_recv() {
                        batch.rescan |= more.rescan;
                        batch.paths.extend(more.paths);
                    }
                    self.apply(batch);
                    if self.store.is_some() && self.completion.backlog.is_empty() {
                        self.completion.dirty = true;
                    }
                }
                Err(RecvTimeoutError::Timeout) => {
                    if !self.completion.backlog.is_empty()
                        || self.store.is_some() && !self.completion.listed
                    {
                        self.complete_step();
                    } else {
                        self.publish_due();
                        if self.completion.dirty {
                            self.finish_output();
                        }
                    }
                }
                Err(RecvTimeoutError::Disconnected) => return,
            }
        }
    }

    /// Publishes the scheduled articles whose date has come, and makes
    /// the news sitemap again when an article has left its window.
    pub(super) fn publish_due(&mut self) {
        if self.recovered() {
            return;
        }
        let Some(library) = self.library.as_mut() else {
            return;
        };
        let started = Instant::now();
        let mut change = Change::default();
        library.publish_due(&mut change);
        change.clock = self
            .news_until
            .get()
            .is_some_and(|t| t <= chrono::Utc::now().fixed_offset());
        if !change.pages.is_empty() {
            tracing::info!(
                articles = change.pages.len(),
                "scheduled articles published"
            );
        }
        self.serve_change(change, started);
    }
}
