//! Keeps the counts in the database: every minute (and at shutdown) what
//! was counted is written and the figures read back for /metrics and
//! `/stats/`. A database that fails is logged once and tried again at the
//! next minute, the counts kept in memory until it answers.

use std::sync::Arc;
use std::time::Duration;

use super::{Readers, hub_counts, now, store};
use crate::database::Database;

pub struct Keeper {
    readers: Arc<Readers>,
    db: Database,
    /// With the built-in hub: the config its topics are URLs of.
    hub: Option<crate::config::Current>,
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
    pub fn new(readers: Arc<Readers>, db: Database, hub: Option<crate::config::Current>) -> Keeper {
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
        match self.write(now).await {
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

    /// The hub's subscriptions, what was counted (kept for the next try
    /// when it cannot be written), then the figures read back.
    async fn write(&self, now: i64) -> Result<super::Figures, sqlx::Error> {
        let hub = match &self.hub {
            Some(config) => {
                let by_topic = crate::hub::active(&self.db).await?;
                Some(hub_counts(by_topic, config.get().base_url.as_str()))
            }
            None => None,
        };
        let pending = self.readers.take();
        let written = store::write(&self.db, &pending, hub.as_ref(), &self.replica, now).await;
        if let Err(e) = written {
            self.readers.restore(pending);
            return Err(e);
        }
        store::read_figures(&self.db, now).await
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
    }
}
