//! The media files beside the articles: what a listing found, and what a
//! watcher reports of them.

use super::*;

use crate::content::{MediaFile, MediaListing};

impl Library {
    /// Takes the media of a whole listing: what is new or changed, and
    /// what is gone, go to `change`.
    pub(super) fn take_media(&mut self, listed: MediaListing, change: &mut Change) {
        let now: BTreeMap<String, Arc<MediaFile>> = listed
            .files
            .into_iter()
            .map(|m| (m.site_path.clone(), Arc::new(m)))
            .collect();
        for (path, old) in &self.media {
            if !now.contains_key(path) {
                change.media_gone.push(old.clone());
            }
        }
        for (path, m) in &now {
            if self.media.get(path).is_none_or(|old| old.stamp != m.stamp) {
                change.media.push(m.clone());
            }
        }
        change.diagnostics.extend(listed.notes.iter().cloned());
        self.media = now;
        self.media_notes = listed.notes;
    }

    /// Takes a path a watcher reported that is, or was, a media file:
    /// false when it is neither.
    pub(super) fn refresh_media(&mut self, path: &Path, change: &mut Change) -> bool {
        let shown = path.to_string_lossy();
        self.media_notes.retain(|d| d.file != shown);
        let mut notes = Vec::new();
        let found = content::media_at(&self.config, &self.content, path, &mut notes);
        change.diagnostics.extend(notes.iter().cloned());
        self.media_notes.extend(notes);
        let site_path = path.strip_prefix(&self.content).ok().and_then(|rel| {
            let parts: Option<Vec<&str>> = rel.iter().map(|p| p.to_str()).collect();
            Some(parts?.join("/"))
        });
        let was = site_path
            .and_then(|p| self.media.get_key_value(&p))
            .map(|(p, m)| (p.clone(), m.clone()));
        match (found, was) {
            (Some(m), Some((_, old))) if old.stamp == m.stamp => {}
            (Some(m), _) => {
                let m = Arc::new(m);
                self.media.insert(m.site_path.clone(), m.clone());
                change.media.push(m);
            }
            (None, Some((site_path, old))) => {
                self.media.remove(&site_path);
                change.media_gone.push(old);
            }
            (None, None) => return content::media_type(&shown).is_some(),
        }
        true
    }

    /// Every media file, by its path in the site.
    pub fn media(&self) -> impl Iterator<Item = &Arc<MediaFile>> {
        self.media.values()
    }

    /// The media file at a path of the site (`xiaodian/photo.png`).
    pub fn media_at(&self, site_path: &str) -> Option<&Arc<MediaFile>> {
        self.media.get(site_path)
    }
}
