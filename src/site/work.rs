//! What each kind of job does, one implementation per kind: its path,
//! file, kind, date, rendering, what it is made from and whether it is
//! still current. [`Job::work`] is the one match over the kinds.

use super::*;

use sha2::{Digest, Sha256};

/// What a kind of job does. Each kind implements it once, here; [`Job::work`] registers it: a new kind of output touches
/// its own implementation and that one match.
pub trait Work {
    /// The URL path, percent-encoded as a client sends it.
    fn path(&self) -> String;
    /// Its file in the output folder.
    fn file(&self) -> PathBuf;
    fn kind(&self) -> Kind;
    /// The newest change of what it shows.
    fn last_modified(&self) -> DateTime<FixedOffset>;
    /// Renders it; article bodies are read from their files in `content`.
    fn render(&self, config: &Config, content: &Path) -> Result<Page, BuildError>;
    /// Feeds `h` what the output is made from (the manifest's key): equal
    /// keys, equal bytes.
    fn made_from(&self, h: &mut Sha256);
    /// Whether it is still what the site shows: a live update may have
    /// made a newer one since it was queued.
    fn is_current(&self, library: &Library, prints: &Prints) -> bool;
}

impl Work for Arc<Article> {
    fn path(&self) -> String {
        format!("/{}", self.path)
    }
    fn file(&self) -> PathBuf {
        Article::file(self)
    }
    fn kind(&self) -> Kind {
        Kind::Article
    }
    fn last_modified(&self) -> DateTime<FixedOffset> {
        self.updated
    }
    fn render(&self, config: &Config, content: &Path) -> Result<Page, BuildError> {
        let body = crate::library::read_body(config, content, self).map_err(|message| {
            BuildError::Source {
                path: Work::path(self),
                message,
            }
        })?;
        article_page(config, self, &body)
    }
    fn made_from(&self, h: &mut Sha256) {
        h.update(self.made_key());
    }
    fn is_current(&self, library: &Library, _: &Prints) -> bool {
        library.is_current(self)
    }
}

impl Work for ArchiveDoc {
    fn path(&self) -> String {
        names::path_of(&ArchiveDoc::file(self))
    }
    fn file(&self) -> PathBuf {
        PathBuf::from(ArchiveDoc::file(self))
    }
    fn kind(&self) -> Kind {
        ArchiveDoc::kind(self)
    }
    fn last_modified(&self) -> DateTime<FixedOffset> {
        newest(self.items.iter().map(|a| a.updated))
    }
    fn render(&self, config: &Config, content: &Path) -> Result<Page, BuildError> {
        archive_page(config, content, self)
    }
    fn made_from(&self, h: &mut Sha256) {
        // Whether it is the last, not how many there are: a closed
        // document's bytes do not depend on that.
        h.update((self.number as u64).to_le_bytes());
        h.update([u8::from(self.number == self.of)]);
        for a in self.items.iter() {
            h.update(a.file().as_os_str().as_encoded_bytes());
            h.update([0]);
            h.update(a.made_key());
        }
    }
    fn is_current(&self, _: &Library, prints: &Prints) -> bool {
        prints.is_current(self)
    }
}

impl Work for TopicDoc {
    fn path(&self) -> String {
        TopicDoc::path(self)
    }
    fn file(&self) -> PathBuf {
        PathBuf::from(TopicDoc::file(self))
    }
    fn kind(&self) -> Kind {
        TopicDoc::kind(self)
    }
    fn last_modified(&self) -> DateTime<FixedOffset> {
        newest(self.items.iter().map(|a| a.updated))
    }
    fn render(&self, config: &Config, content: &Path) -> Result<Page, BuildError> {
        TopicDoc::render(self, config, content)
    }
    fn made_from(&self, h: &mut Sha256) {
        h.update(self.topic.name.as_bytes());
        h.update([0]);
        h.update((self.topic.count as u64).to_le_bytes());
        h.update((self.archives as u64).to_le_bytes());
        for a in self.items.iter() {
            h.update(a.file().as_os_str().as_encoded_bytes());
            h.update([0]);
            h.update(a.made_key());
        }
    }
    fn is_current(&self, _: &Library, prints: &Prints) -> bool {
        prints.topic_is_current(self)
    }
}

impl Work for SitemapDoc {
    fn path(&self) -> String {
        names::path_of(&SitemapDoc::file(self))
    }
    fn file(&self) -> PathBuf {
        PathBuf::from(SitemapDoc::file(self))
    }
    fn kind(&self) -> Kind {
        Kind::MonthSitemap
    }
    fn last_modified(&self) -> DateTime<FixedOffset> {
        SitemapDoc::last_modified(self)
    }
    fn render(&self, config: &Config, _: &Path) -> Result<Page, BuildError> {
        Ok(SitemapDoc::render(self, config))
    }
    fn made_from(&self, h: &mut Sha256) {
        for a in self.items.iter() {
            h.update(a.path.as_bytes());
            h.update([0]);
            h.update(a.updated.to_rfc3339().as_bytes());
            h.update(a.image.as_deref().unwrap_or_default().as_bytes());
            h.update([0]);
        }
    }
    fn is_current(&self, _: &Library, prints: &Prints) -> bool {
        prints.months.is_current(self)
    }
}

impl Job {
    /// What this kind of job does: the one match over the kinds.
    pub fn work(&self) -> &dyn Work {
        match self {
            Job::Article(a) => a,
            Job::Archive(d) => &**d,
            Job::Sitemap(d) => &**d,
            Job::Topic(d) => &**d,
        }
    }

    pub fn path(&self) -> String {
        self.work().path()
    }

    pub fn file(&self) -> PathBuf {
        self.work().file()
    }

    pub fn kind(&self) -> Kind {
        self.work().kind()
    }

    pub fn entry(&self) -> crate::output::Entry {
        crate::output::Entry {
            path: crate::output::decode(&self.path()),
            file: self.file(),
            kind: self.kind(),
            last_modified: self.last_modified().timestamp(),
        }
    }

    pub fn last_modified(&self) -> DateTime<FixedOffset> {
        self.work().last_modified()
    }

    pub fn render(&self, config: &Config, content: &Path) -> Result<Page, BuildError> {
        self.work().render(config, content)
    }
}
