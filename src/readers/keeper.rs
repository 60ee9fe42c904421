//! Keeps the counts in the database: every minute (and at shutdown) what
//! was counted is written and the figures read back for /metrics and
//! `/stats/`. A database that fails is logged once and tried again at the
//! next minute, the counts kept in memory until it answers.

use std::sync::Arc;
use std::time::Duration;

use super::{Readers, Subscriptions, hub_counts, now, store};
use crate::database::Database;

pub struct Keeper {
    readers: Arc<Readers>,
    db: Database,
    /// The built-in hub, and the config its topics are URLs of.
    hub: Option<(Arc<dyn Subscriptions>, crate::config::Current)>,
    /// This server among replicas: its host and process.
    replica: String,
    failing: bool,
}

/// This machine's name, as replicas are told apart.
fn host() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "crier".into())
}

impl Keeper {
    pub fn new(
        readers: Arc<Readers>,
        db: Database,
        hub: Option<(Arc<dyn Subscriptions>, crate::config::Current)>,
    ) -> Keeper {
        Keeper {
            readers,
            db,
            hub,
            replica: format!("{}:{}", host(), std::process::id()),
            failing: false,
        }
    }

    /// Writes what was counted and reads the figures back; on failure the
    /// counts stay in memory for the next try.
    pub async fn flush(&mut self) {
        let now = now();
        let pending = self.readers.take();
        let hub = self.hub.as_ref().map(|(hub, config)| {
            let base_url = config.get().base_url.to_string();
            hub_counts(hub.as_ref(), &base_url)
        });
        let written = store::write(&self.db, &pending, hub.as_ref(), &self.replica, now).await;
        let result = match written {
            Ok(()) => store::read_figures(&self.db, now).await,
            Err(e) => {
                self.readers.restore(pending);
                Err(e)
            }
        };
        match result {
            Ok(figures) => {
                if self.failing {
                    tracing::info!(database = %self.db.shown(), "the database answers again: readers' counts written");
                    self.failing = false;
                }
                self.readers.set_figures(figures);
            }
            Err(e) if !self.failing => {
                tracing::error!(
                    database = %self.db.shown(),
                    "cannot write the readers' counts ({e}): they are kept in memory and written when the database answers; serving goes on"
                );
                self.failing = true;
            }
            Err(_) => {}
        }
    }

    /// Flushes every `every` until `stop` says so, then once more.
    pub async fn run(mut self, every: Duration, mut stop: tokio::sync::watch::Receiver<bool>) {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => self.flush().await,
                _ = stop.changed() => break,
            }
        }
        self.flush().await;
        self.db.close().await;
    }
}
