//! What the site is made with beside its content: `crier.toml`, and the
//! `templates/` and `static/` folders beside it. A change to any is a
//! full build with what they now say; a broken one leaves the site as
//! it was.

use super::*;
use crate::config::{STATIC_DIR, TEMPLATES_DIR};

impl Live {
    /// Takes in what `batch` changed of the config, the templates and the
    /// static files: whether that was all it changed.
    pub(super) fn settings_changed(&mut self, batch: &Batch) -> bool {
        let config_changed = batch.paths.iter().any(|p| p == &self.config_abs);
        let look_changed = batch.paths.iter().any(|p| self.in_site_folder(p));
        if !config_changed && !look_changed {
            return false;
        }
        self.watch_site_folders(batch);
        match Config::load(&self.config_path, &self.overrides) {
            Ok(config) => {
                let old = self.library.as_ref().map(|l| &l.config);
                let same = old.is_some_and(|o| format!("{o:?}") == format!("{config:?}"));
                let same_look = old.is_some_and(|o| o.templates.key() == config.templates.key());
                // Saved again as it was (or touched): nothing to
                // rebuild. Static files are read by a full build.
                let statics = batch.paths.iter().any(|p| self.in_static(p));
                if !same || !same_look || statics {
                    tracing::info!("{}: rebuilding everything", self.what_changed(batch));
                    self.rebuild(config, !same);
                    return true;
                }
            }
            Err(e) => {
                tracing::error!("{e}; the site built from the previous config is still served");
                return batch
                    .paths
                    .iter()
                    .all(|p| p == &self.config_abs || self.in_site_folder(p));
            }
        }
        false
    }

    /// Whether `p` is in `templates/` or `static/` beside `crier.toml`,
    /// or is one of them (a new one is watched from now on).
    fn in_site_folder(&self, p: &Path) -> bool {
        self.in_folder(p, TEMPLATES_DIR) || self.in_folder(p, STATIC_DIR)
    }

    fn in_static(&self, p: &Path) -> bool {
        self.in_folder(p, STATIC_DIR)
    }

    /// Whether `p` is the folder `name` beside `crier.toml` or in it.
    fn in_folder(&self, p: &Path, name: &str) -> bool {
        let dir = self.config_abs.parent();
        dir.is_some_and(|d| p.starts_with(d.join(name)))
    }

    /// Watches a `templates/` or `static/` folder that has just appeared.
    fn watch_site_folders(&mut self, batch: &Batch) {
        let (Some(watch), Some(dir)) = (self.watch.as_mut(), self.config_abs.parent()) else {
            return;
        };
        for p in batch.paths.iter().filter(|p| p.parent() == Some(dir)) {
            if let Err(e) = watch.site_folders(dir, Some(p)) {
                tracing::error!(
                    "cannot watch {} ({e}): changes there may be missed; try --poll",
                    p.display()
                );
            }
        }
    }

    /// What a batch changed of the files beside the content, for the log.
    fn what_changed(&self, batch: &Batch) -> String {
        let mut shown: Vec<String> = batch
            .paths
            .iter()
            .filter(|p| **p == self.config_abs || self.in_site_folder(p))
            .map(|p| p.display().to_string())
            .collect();
        shown.dedup();
        shown.join(", ")
    }
}
