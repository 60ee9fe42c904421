//! The output folder's health while `crier serve` writes it: one state,
//! kept apart from keeping the served site current. A write that fails
//! (a full disk, a read-only folder) is logged once and counted each
//! time; the site is served from memory meanwhile, and the next change
//! writes the whole folder again (a full pass), which logs only its
//! success.

use std::cell::Cell;
use std::path::PathBuf;
use std::sync::Arc;

use crate::metrics::Metrics;

/// Where the output folder stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Phase {
    /// What is served is all in the folder (or no folder is used).
    #[default]
    Complete,
    /// A full build is written in the background, a step at a time.
    Completing,
    /// A write failed: nothing more is written until the next change.
    Failing,
    /// A full pass after a failure is under way.
    Recovering,
}

pub struct Health {
    out: PathBuf,
    metrics: Arc<Metrics>,
    phase: Cell<Phase>,
    /// An output could not be made since the last full build: the folder
    /// is then not sealed (see `store::Record`).
    unclean: Cell<bool>,
}

impl Health {
    pub fn new(out: PathBuf, metrics: Arc<Metrics>) -> Health {
        Health {
            out,
            metrics,
            phase: Cell::default(),
            unclean: Cell::default(),
        }
    }

    #[cfg(test)]
    pub fn phase(&self) -> Phase {
        self.phase.get()
    }

    /// A full build begins: its background completion follows.
    pub fn full_build(&self) {
        self.unclean.set(false);
        if self.phase.get() != Phase::Recovering {
            self.phase.set(Phase::Completing);
        }
    }

    /// Outputs that could not be made (rendered or compressed).
    pub fn made_with_errors(&self, errors: usize) {
        if errors > 0 {
            self.unclean.set(true);
        }
    }

    /// Whether every output since the last full build was made.
    pub fn clean(&self) -> bool {
        !self.unclean.get()
    }

    /// A write to the folder failed: logged when it starts failing (not
    /// once per file, and not again during a recovery), counted always.
    pub fn write_failed(&self, e: &dyn std::fmt::Display) {
        self.metrics.output_write_errors.inc();
        let was = self.phase.replace(Phase::Failing);
        if !matches!(was, Phase::Failing | Phase::Recovering) {
            self.metrics.output_failing.set(1);
            tracing::error!(
                "cannot write {}: {e}; serving from memory, and writing it all again at the next change",
                self.out.display()
            );
        }
    }

    /// At a change: whether the folder failed, in which case the change
    /// is a full pass that writes it all again.
    pub fn recover(&self) -> bool {
        let failing = self.phase.get() == Phase::Failing;
        if failing {
            self.phase.set(Phase::Recovering);
        }
        failing
    }

    /// The folder holds everything served.
    pub fn completed(&self) {
        if self.phase.replace(Phase::Complete) == Phase::Recovering {
            self.metrics.output_failing.set(0);
            tracing::info!("{} is written again", self.out.display());
        }
    }

    /// Whether the background completion may go on writing.
    pub fn writing(&self) -> bool {
        self.phase.get() != Phase::Failing
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn health() -> (Health, Arc<Metrics>) {
        let metrics = Arc::new(Metrics::new());
        (Health::new("feeds".into(), metrics.clone()), metrics)
    }

    #[test]
    fn a_full_disk_is_failing_until_a_full_pass_writes_it_all() {
        let (h, m) = health();
        h.full_build();
        assert_eq!(h.phase(), Phase::Completing);
        h.write_failed(&"no space left on the device");
        h.write_failed(&"no space left on the device");
        assert_eq!(h.phase(), Phase::Failing);
        assert!(!h.writing());
        assert_eq!(m.output_write_errors.get(), 2);
        assert_eq!(m.output_failing.get(), 1);
        // The next change recovers with a full pass, which may fail again
        // without a new alarm.
        assert!(h.recover());
        h.full_build();
        assert_eq!(h.phase(), Phase::Recovering);
        assert!(h.writing());
        assert!(!h.recover(), "a recovery under way is not started again");
        h.completed();
        assert_eq!(h.phase(), Phase::Complete);
        assert_eq!(m.output_failing.get(), 0);
    }

    #[test]
    fn a_failed_output_unseals_until_the_next_full_build() {
        let (h, _) = health();
        h.full_build();
        assert!(h.clean());
        h.made_with_errors(0);
        assert!(h.clean());
        h.made_with_errors(2);
        assert!(!h.clean());
        h.full_build();
        assert!(h.clean());
    }
}
