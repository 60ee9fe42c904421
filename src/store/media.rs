//! Media files copied into the output folder as they are (no compressed
//! forms), keeping their modification time: the copy's ETag is the
//! original's.

use super::*;

use crate::content::MediaFile;
use std::sync::Arc;

impl Store {
    /// Copies each media file whose copy in the folder was not made from
    /// the file as it is now.
    pub fn write_media(&self, media: &[Arc<MediaFile>]) -> Result<Report, StoreError> {
        let results: Vec<Result<bool, StoreError>> =
            media.par_iter().map(|m| self.copy_media(m)).collect();
        Report::tally(results)
    }

    /// What a copy is made from: the file's path in the site and stamp.
    fn media_key(&self, m: &MediaFile) -> Option<Key> {
        let mut h = Sha256::new();
        h.update(self.epoch?);
        h.update(m.site_path.as_bytes());
        h.update([0]);
        h.update(m.stamp.size.to_le_bytes());
        h.update(m.stamp.mtime.to_le_bytes());
        h.update(m.stamp.inode.to_le_bytes());
        Some(fingerprint::finish(h))
    }

    fn copy_media(&self, m: &MediaFile) -> Result<bool, StoreError> {
        let key = self.media_key(m);
        let there = self.known.as_ref().is_none_or(|k| k.contains(&m.site_path));
        if key.is_some() && there && self.lock_made().get(&m.site_path) == key.as_ref() {
            return Ok(false);
        }
        self.mark_writing()?;
        let target = self.out.join(&m.site_path);
        let failed = |source| WriteError {
            path: m.path.clone(),
            source,
        };
        let mut from = std::fs::File::open(&m.path).map_err(failed)?;
        let modified = from.metadata().and_then(|d| d.modified()).map_err(failed)?;
        atomic::write_with(&target, atomic::Access::Public, |to| {
            std::io::copy(&mut from, to).map(|_| ())
        })?;
        let copy = std::fs::File::options().write(true).open(&target);
        copy.and_then(|f| f.set_modified(modified))
            .map_err(|source| WriteError {
                path: target.clone(),
                source,
            })?;
        match key {
            Some(key) => self.lock_made().insert(m.site_path.clone(), key),
            None => self.lock_made().remove(&m.site_path),
        };
        Ok(true)
    }
}
