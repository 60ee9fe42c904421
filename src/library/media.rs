//! The media files beside the articles: what a listing found, and what a
//! watcher reports of them.

use super::*;

use crate::content::{MediaFacts, MediaFile, MediaListing};

/// The media files of the site, by their path in it.
pub(super) type Media = BTreeMap<String, Arc<MediaFile>>;

/// `a` with what is known of its image's file, when the image is one
/// of the site's media files; an image under `base_url` that is not
/// one is a warning among `diags`.
pub(super) fn with_image_file(
    config: &Config,
    media: &Media,
    a: Arc<Article>,
    diags: &mut Vec<Diagnostic>,
) -> Arc<Article> {
    let site_path = a.image_site_path(config);
    let facts: Option<Arc<MediaFacts>> = site_path
        .as_deref()
        .and_then(|p| media.get(p))
        .map(|m| m.facts.clone());
    if let (Some(p), None) = (&site_path, &facts) {
        diags.push(Diagnostic::warning(
            &a.source.to_string_lossy(),
            None,
            format!(
                "`image` names {}{p}, which is no photo, audio or video file of the content folder: readers would show a broken picture; add the file or fix the name",
                config.base_url
            ),
        ));
    }
    if a.image_file == facts {
        return a;
    }
    let mut with = (*a).clone();
    with.image_file = facts;
    Arc::new(with)
}

impl Library {
    /// Takes the media of a whole listing (what is new or changed, and
    /// what is gone, go to `change`) and the files of `static/`.
    /// An image's size comes from the library (a rescan) or `index` (a
    /// restart) when its file is as it was, else from its header.
    pub(super) fn take_media(&mut self, listed: MediaListing, index: &Index, change: &mut Change) {
        let known = |m: &MediaFile| {
            let old = self.media.get(&m.site_path).filter(|o| o.stamp == m.stamp);
            old.map(|o| o.facts.clone())
                .or_else(|| index.media(&m.site_path, &m.stamp))
        };
        let now: BTreeMap<String, Arc<MediaFile>> = listed
            .files
            .into_par_iter()
            .map(|m| {
                let facts = known(&m);
                (m.site_path.clone(), Arc::new(m.measured(facts)))
            })
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
        self.statics = listed.statics.into_iter().map(Arc::new).collect();
        let notes = listed.notes;
        change.diagnostics.extend(notes.iter().cloned());
        let touched: BTreeSet<String> = change
            .media
            .iter()
            .chain(&change.media_gone)
            .map(|m| m.site_path.clone())
            .collect();
        self.media = now;
        self.media_notes = notes;
        for site_path in touched {
            self.reread_images(&site_path, change);
        }
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
        let changed = match (found, was) {
            (Some(m), Some((_, old))) if old.stamp == m.stamp => None,
            (Some(m), _) => {
                let m = Arc::new(m);
                self.media.insert(m.site_path.clone(), m.clone());
                change.media.push(m.clone());
                Some(m.site_path.clone())
            }
            (None, Some((site_path, old))) => {
                self.media.remove(&site_path);
                change.media_gone.push(old);
                Some(site_path)
            }
            (None, None) => return content::media_type(&shown).is_some(),
        };
        if let Some(site_path) = changed {
            self.reread_images(&site_path, change);
        }
        true
    }

    /// Reads again the articles whose image is the media file at
    /// `site_path`: what their outputs say of it changed.
    fn reread_images(&mut self, site_path: &str, change: &mut Change) {
        let mut paths: Vec<PathBuf> = self
            .files
            .iter()
            .filter(|(_, s)| {
                s.article
                    .as_ref()
                    .and_then(|a| a.image_site_path(&self.config))
                    .is_some_and(|p| p == site_path)
            })
            .map(|(p, _)| p.to_path_buf())
            .collect();
        paths.sort();
        for path in paths {
            if let Some(c) = Candidate::at(&self.content, &path) {
                let read = content::read_article(&self.config, &c);
                change.files_read += 1;
                self.set(&path, stamp(&path), read, change);
            }
        }
    }

    /// The files of `static/`, in path order.
    pub fn statics(&self) -> &[Arc<content::StaticFile>] {
        &self.statics
    }

    /// Every media file, by its path in the site.
    pub fn media(&self) -> impl Iterator<Item = &Arc<MediaFile>> {
        self.media.values()
    }

    /// The media file at a path of the site (`xiaodian/photo.png`).
    pub fn media_file(&self, site_path: &str) -> Option<&Arc<MediaFile>> {
        self.media.get(site_path)
    }
}
