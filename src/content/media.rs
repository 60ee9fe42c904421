//! Media files beside the articles: photos, audio and video, published
//! at their own path as they are.

use super::*;

/// A media file of the content folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaFile {
    /// The file, as listed (`content/xiaodian/photo.png`).
    pub path: PathBuf,
    /// Its path in the site, not encoded: `xiaodian/photo.png`.
    pub site_path: String,
    pub stamp: Stamp,
    /// What the feeds and pages say of it.
    pub facts: Arc<MediaFacts>,
}

/// What feeds and pages say of a media file: its length and type, and
/// an image's size in pixels (read from its header; nothing decoded).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MediaFacts {
    pub length: u64,
    /// From its name: `image/png`.
    pub media_type: String,
    pub width: Option<u32>,
    pub height: Option<u32>,
}

impl MediaFacts {
    /// `image`, `audio` or `video` (Media RSS's `medium`).
    pub fn medium(&self) -> &str {
        self.media_type.split('/').next().unwrap_or("image")
    }
}

/// An image's size in pixels, from its header; `None` for other media
/// and for a header that cannot be read.
fn pixels(path: &Path, media_type: &str) -> Option<(u32, u32)> {
    if !media_type.starts_with("image/") {
        return None;
    }
    let size = imagesize::size(path).ok()?;
    Some((
        u32::try_from(size.width).ok()?,
        u32::try_from(size.height).ok()?,
    ))
}

/// The media files of a listing, in path order, the files of `static/`,
/// and the warnings about those left out (which, unlike a folder's
/// problems, do not keep the output folder from being sealed).
#[derive(Debug, Default)]
pub struct MediaListing {
    pub files: Vec<MediaFile>,
    pub statics: Vec<StaticFile>,
    pub notes: Vec<Diagnostic>,
}

/// The media type of a file name, when it is an image, audio or video.
pub fn media_type(name: &str) -> Option<mime_guess::Mime> {
    use mime_guess::mime;
    let found = mime_guess::from_path(name).first()?;
    [mime::IMAGE, mime::AUDIO, mime::VIDEO]
        .contains(&found.type_())
        .then_some(found)
}

/// The media file at `path` (`<content>/<name>` or
/// `<content>/<district>/<name>`) with its metadata, if it is one crier
/// publishes; a file too large or linked out of the folder is a warning.
pub(super) fn media_file(
    config: &Config,
    path: &Path,
    site_path: String,
    stamp: Option<Stamp>,
    outside: Option<&Path>,
    diags: &mut Vec<Diagnostic>,
) -> Option<MediaFile> {
    let media_type = media_type(&site_path)?;
    let shown = path.to_string_lossy();
    if let Some(real) = outside {
        let message = listing::outside_message(real, false);
        diags.push(Diagnostic::warning(&shown, None, message));
        return None;
    }
    let stamp = stamp?;
    if stamp.size > config.media_max_bytes {
        diags.push(Diagnostic::warning(
            &shown,
            None,
            format!(
                "is {} bytes, over media_max_bytes ({}): not published; make it smaller or raise media_max_bytes in crier.toml",
                stamp.size,
                config.media_max_bytes
            ),
        ));
        return None;
    }
    // An image's size is read later (`MediaFile::measured`): a restart
    // takes it from the index instead.
    Some(MediaFile {
        path: path.to_path_buf(),
        site_path,
        stamp,
        facts: Arc::new(MediaFacts {
            length: stamp.size,
            media_type: media_type.essence_str().to_string(),
            width: None,
            height: None,
        }),
    })
}

impl MediaFile {
    /// The file with an image's size: `known` (what an index or an
    /// earlier listing read of the file as it is now), else read from
    /// its header.
    pub fn measured(self, known: Option<Arc<MediaFacts>>) -> MediaFile {
        let facts = known.unwrap_or_else(|| {
            let size = pixels(&self.path, &self.facts.media_type);
            Arc::new(MediaFacts {
                width: size.map(|s| s.0),
                height: size.map(|s| s.1),
                ..(*self.facts).clone()
            })
        });
        MediaFile { facts, ..self }
    }
}

/// The media file at `path` under `dir` as a live update sees it: `None`
/// when it is not (or no longer) one, with the reason among `diags`.
pub fn media_at(
    config: &Config,
    dir: &Path,
    path: &Path,
    diags: &mut Vec<Diagnostic>,
) -> Option<MediaFile> {
    let rel = path.strip_prefix(dir).ok()?;
    let parts: Vec<&str> = rel.iter().map(|p| p.to_str()).collect::<Option<_>>()?;
    if parts.len() > 2 || parts.iter().any(|p| is_ignored(p)) {
        return None;
    }
    if let [district, _] = parts.as_slice()
        && config.district(district).is_none()
    {
        return None;
    }
    let outside = listing::linked_out(dir, path, parts.len() == 2);
    let stamp = Stamp::at(path).filter(|_| outside.is_none());
    let site_path = parts.join("/");
    media_file(config, path, site_path, stamp, outside.as_deref(), diags).map(|m| m.measured(None))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_audio_and_video_are_media() {
        assert_eq!(media_type("a.PNG").unwrap().essence_str(), "image/png");
        assert_eq!(media_type("a.jpeg").unwrap().essence_str(), "image/jpeg");
        assert_eq!(media_type("a.mp3").unwrap().essence_str(), "audio/mpeg");
        assert_eq!(media_type("a.mp4").unwrap().essence_str(), "video/mp4");
        assert!(media_type("a.md").is_none());
        assert!(media_type("a.html").is_none());
        assert!(media_type("a.pdf").is_none());
        assert!(media_type("noext").is_none());
    }
}
