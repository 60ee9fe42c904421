//! Reading files into the library and keeping it current: the first
//! scan (from the index where a file's stamp is unchanged), refreshes of
//! the paths a watcher reports, re-listings of folders, and the index of
//! each article in its scopes, topics and months.

use super::*;

impl Library {
    /// Lists every folder again and reads each file that is new or whose
    /// size or time changed; removes what is gone.
    pub fn rescan(&mut self, change: &mut Change) -> std::io::Result<()> {
        self.scan(change, None, &Index::default(), None)
    }

    pub(super) fn scan(
        &mut self,
        change: &mut Change,
        sink: Option<Sink<'_>>,
        index: &Index,
        listing: Option<Listing>,
    ) -> std::io::Result<()> {
        let t = std::time::Instant::now();
        let Listing {
            found,
            problems,
            media,
        } = match listing {
            Some(l) => l,
            None => Listing::of(&self.config, &self.content)?,
        };
        self.take_media(media, index, change);
        tracing::debug!(elapsed = ?t.elapsed(), files = found.len(), "content listed");
        change.diagnostics.extend(problems.iter().cloned());
        self.folder_problems = problems;
        if self.files.is_empty() {
            self.first_reading(&found);
        } else {
            let present: BTreeSet<&Path> = found.iter().map(|c| c.path.as_path()).collect();
            let gone: Vec<PathBuf> = self
                .files
                .keys()
                .filter(|p| !present.contains(&***p))
                .map(|p| p.to_path_buf())
                .collect();
            for path in gone {
                self.remove(&path, change);
            }
        }
        let stale: Vec<&Candidate> = found
            .iter()
            .filter(|c| {
                self.files
                    .get(c.path.as_path())
                    .is_none_or(|s| s.stamp.is_none() || s.stamp != c.stamp)
            })
            .collect();
        let stale = self.take_indexed(stale, index, change);
        tracing::debug!(elapsed = ?t.elapsed(), "taken from the index");
        // In chunks, so that an archive's readings are never all in memory
        // at once beside the index they go into; a chunk is indexed (in
        // path order) while the next is read.
        let config = self.config.clone();
        // The articles' images are known before their pages are made.
        let media = self.media.clone();
        let read_chunk = |chunk: &[&Candidate]| -> Vec<(Option<Stamp>, FileRead)> {
            chunk
                .par_iter()
                .map(|c| {
                    let mut read = content::read_article(&config, c);
                    read.article = read
                        .article
                        .take()
                        // Its warnings come when the library takes it.
                        .map(|a| media::with_image_file(&config, &media, a, &mut Vec::new()));
                    if let (Some(sink), Some(a)) = (sink, &read.article)
                        && let Some(body) = read.body.take()
                    {
                        sink(a, body);
                    }
                    (read.stamp.or_else(|| stamp(&c.path)), read)
                })
                .collect()
        };
        let mut chunks = stale.chunks(2048);
        let mut ready = chunks.next().map(&read_chunk);
        let mut done: &[&Candidate] = stale
            .get(..ready.as_ref().map_or(0, Vec::len))
            .unwrap_or_default();
        while let Some(reads) = ready.take() {
            let next = chunks.next();
            let (read_next, ()) = rayon::join(
                || next.map(&read_chunk),
                || {
                    for (c, (st, read)) in done.iter().zip(reads) {
                        change.files_read += 1;
                        self.set(&c.path, st, read, change);
                    }
                },
            );
            ready = read_next;
            done = next.unwrap_or_default();
        }
        self.sort_in();
        self.retry_blocked(change);
        tracing::debug!(elapsed = ?t.elapsed(), "read");
        self.prime();
        tracing::debug!(elapsed = ?t.elapsed(), "feed bodies read");
        Ok(())
    }

    /// Makes room for a first reading of `found`: the maps at their size,
    /// not grown (and rehashed) a dozen times, each folder's set too (the
    /// listing is in path order: a folder's files are one run), and the
    /// feed-ordered maps filled at once at the end (see `sorted`).
    fn first_reading(&mut self, found: &[Candidate]) {
        self.files.reserve(found.len());
        self.ids.reserve(found.len());
        self.pages.reserve(found.len());
        self.unsorted = Some(sorted::Unsorted::default());
        for run in found.chunk_by(|a, b| a.path.parent() == b.path.parent()) {
            if let Some(folder) = run[0].path.parent() {
                let known = self.by_folder.entry(folder.to_path_buf()).or_default();
                known.reserve(run.len());
            }
        }
    }

    /// Takes the candidates whose stamp `index` holds from it; returns the
    /// others, to be read.
    pub(super) fn take_indexed<'c>(
        &mut self,
        candidates: Vec<&'c Candidate>,
        index: &Index,
        change: &mut Change,
    ) -> Vec<&'c Candidate> {
        if index.is_empty() {
            return candidates;
        }
        let found: Vec<Option<(Stamp, Arc<Article>)>> = candidates
            .par_iter()
            .map(|c| {
                let st = c.stamp?;
                Some((st, index.get(&c.path, &st)?.clone()))
            })
            .collect();
        tracing::debug!("stamps compared");
        let mut unread = Vec::new();
        for (c, hit) in candidates.into_iter().zip(found) {
            match hit {
                Some((st, article)) => {
                    let read = FileRead {
                        article: Some(article),
                        stamp: Some(st),
                        read_at: i64::MAX,
                        ..FileRead::default()
                    };
                    self.set(&c.path, Some(st), read, change);
                }
                None => unread.push(c),
            }
        }
        unread
    }

    /// The articles the feeds show: the newest of each district and of all.
    pub(super) fn shown(&self) -> HashMap<&str, &Arc<Article>> {
        let limit = self.config.feed_limit;
        std::iter::once(&self.all)
            .chain(self.by_district.values())
            .flat_map(|m| m.values().take(limit))
            .map(|a| (a.path.as_str(), a))
            .collect()
    }

    /// Keeps the bodies of the articles the feeds show, reading those it
    /// lacks again from their files, and drops the others.
    pub(super) fn prime(&mut self) {
        let shown = self.shown();
        let missing: Vec<&Arc<Article>> = shown
            .iter()
            .filter(|(path, _)| !self.bodies.contains_key(**path))
            .map(|(_, a)| *a)
            .collect();
        let config = &self.config;
        let content = &self.content;
        let read: Vec<(String, Arc<Body>)> = missing
            .par_iter()
            .filter_map(|a| {
                let c = Candidate::at(content, &a.source)?;
                let body = content::read_article(config, &c).body?;
                Some((a.path.clone(), Arc::new(body.render())))
            })
            .collect();
        let keep: HashSet<String> = shown.keys().map(|p| p.to_string()).collect();
        self.bodies.extend(read);
        self.bodies.retain(|path, _| keep.contains(path));
    }

    /// The body of `a`: its own if the feeds show it, else read from its
    /// file.
    pub fn body(&self, a: &Article) -> Result<Arc<Body>, String> {
        if let Some(b) = self.bodies.get(&a.path) {
            return Ok(b.clone());
        }
        read_body(&self.config, &self.content, a).map(Arc::new)
    }

    /// The content folder.
    pub fn content(&self) -> &Path {
        &self.content
    }

    /// Takes in the paths a watcher reported (files or folders, existing
    /// or not). Their folders are listed again, since events get lost,
    /// merged and reordered (an editor's save is often a write to a temp
    /// file renamed over the article).
    pub fn refresh(&mut self, touched: &[PathBuf], change: &mut Change) -> std::io::Result<()> {
        let folders = self.refresh_reported(touched, change)?;
        self.relist(&folders, change);
        Ok(())
    }

    /// The first half of [`Library::refresh`]: reads the reported paths
    /// only (a folder that appeared is listed now), and returns the
    /// folders to list again for what the events missed, so that a live
    /// update serves what was reported before it lists thousands of
    /// names (see [`Library::relist`]).
    pub fn refresh_reported(
        &mut self,
        touched: &[PathBuf],
        change: &mut Change,
    ) -> std::io::Result<BTreeSet<PathBuf>> {
        let mut folders = BTreeSet::new();
        let mut listed_now = BTreeSet::new();
        let mut work = BTreeSet::new();
        for path in touched {
            let Ok(rel) = path.strip_prefix(&self.content) else {
                continue;
            };
            let depth = rel.components().count();
            let known_district =
                depth == 1 && self.config.district(&rel.to_string_lossy()).is_some();
            match depth {
                // The content folder itself, a folder that is not a district
                // (an error to report), or a district folder gone: list
                // everything again.
                0 | 1 if depth == 0 || path.is_dir() && !known_district => {
                    self.rescan(change)?;
                    return Ok(BTreeSet::new());
                }
                1 if known_district && !path.exists() => {
                    self.rescan(change)?;
                    return Ok(BTreeSet::new());
                }
                // A district folder: list it again now.
                1 if path.is_dir() => {
                    listed_now.insert(path.clone());
                }
                1 | 2 => {
                    if let Some(parent) = path.parent() {
                        folders.insert(parent.to_path_buf());
                    }
                    work.insert(path.clone());
                }
                _ => {}
            }
        }
        self.list_into(&listed_now, &mut work);
        folders.retain(|f| !listed_now.contains(f));
        self.read_work(work, change);
        Ok(folders)
    }

    /// The second half of [`Library::refresh`]: lists `folders` again
    /// and takes in the files the events missed.
    pub fn relist(&mut self, folders: &BTreeSet<PathBuf>, change: &mut Change) {
        if folders.is_empty() {
            return;
        }
        let mut work = BTreeSet::new();
        self.list_into(folders, &mut work);
        self.read_work(work, change);
    }

    /// Names new to the index, and indexed files no longer listed: only
    /// these (and the reported paths) are looked at, so a folder of
    /// thousands of unchanged files costs one listing, not thousands of
    /// reads.
    pub(super) fn list_into(&self, folders: &BTreeSet<PathBuf>, work: &mut BTreeSet<PathBuf>) {
        for folder in folders {
            let listed: HashSet<OsString> = match std::fs::read_dir(folder) {
                Ok(entries) => entries.flatten().map(|e| e.file_name()).collect(),
                Err(_) => HashSet::new(),
            };
            let known = self.by_folder.get(folder);
            work.extend(
                listed
                    .iter()
                    .map(|n| folder.join(n))
                    .filter(|p| known.is_none_or(|k| !k.contains(p.as_path()))),
            );
            if let Some(known) = known {
                work.extend(
                    known
                        .iter()
                        .filter(|p| p.file_name().is_none_or(|n| !listed.contains(n)))
                        .map(|p| p.to_path_buf()),
                );
            }
        }
    }

    /// Reads the files of `work` whose stamp changed; removes those gone.
    pub(super) fn read_work(&mut self, work: BTreeSet<PathBuf>, change: &mut Change) {
        for path in work {
            match Candidate::at(&self.content, &path) {
                Some(c) if path.is_file() => {
                    let st = stamp(&path);
                    // Listed but unchanged: nothing to read.
                    if st.is_some()
                        && self
                            .files
                            .get(path.as_path())
                            .is_some_and(|s| s.stamp == st)
                    {
                        continue;
                    }
                    let read = content::read_article(&self.config, &c);
                    change.files_read += 1;
                    self.set(&path, st, read, change);
                }
                _ if self.files.contains_key(path.as_path()) && !path.is_file() => {
                    self.remove(&path, change)
                }
                _ => {
                    self.refresh_media(&path, change);
                }
            }
        }
        self.retry_blocked(change);
        self.prime();
    }

    /// Reads again the files refused for an id that has since been freed
    /// (its owner deleted or changed), so the article comes back.
    pub(super) fn retry_blocked(&mut self, change: &mut Change) {
        while !self.released.is_empty() {
            let freed: HashSet<Arc<str>> = self.released.drain(..).collect();
            let mut waiting: Vec<PathBuf> = self
                .blocked
                .iter()
                .filter(|p| {
                    self.files
                        .get(p.as_path())
                        .and_then(|s| s.blocked_by())
                        .is_some_and(|id| freed.contains(id))
                })
                .cloned()
                .collect();
            waiting.sort();
            for path in waiting {
                if let Some(c) = Candidate::at(&self.content, &path) {
                    let read = content::read_article(&self.config, &c);
                    change.files_read += 1;
                    self.set(&path, stamp(&path), read, change);
                }
            }
        }
    }

    /// Records a new reading of `path`. A file that fails keeps its last
    /// good article; a draft has none.
    pub(super) fn set(
        &mut self,
        path: &Path,
        stamp: Option<Stamp>,
        read: FileRead,
        change: &mut Change,
    ) {
        let old = self.files.get(path).and_then(|s| s.article.clone());
        let mut diagnostics = read.diagnostics;
        let body = read.body;
        let mut blocked_by = None;
        let article = read
            .article
            .map(|a| media::with_image_file(&self.config, &self.media, a, &mut diagnostics));
        let new = match article {
            Some(a) => match self.ids.get(&a.id) {
                Some(owner) if **owner != *path => {
                    blocked_by = Some(a.id.clone());
                    diagnostics.push(Diagnostic::error(
                        &path.display().to_string(),
                        None,
                        format!(
                            "id `{}` is already used by {}; ids must be unique: give one of them its own `id` in the front matter",
                            a.id,
                            owner.display()
                        ),
                    ));
                    old.clone()
                }
                _ => Some(a),
            },
            // A draft, or an article whose date is to come, is not on the
            // site (an article moved into the future leaves it).
            None if read.draft || read.scheduled.is_some() => None,
            None => old.clone(),
        };
        change.diagnostics.extend(diagnostics.iter().cloned());
        let same = match (&old, &new) {
            (Some(o), Some(n)) => Arc::ptr_eq(o, n),
            (None, None) => true,
            _ => false,
        };
        if !same {
            if let Some(o) = &old {
                self.unindex(o, change);
                if new.as_ref().is_none_or(|n| n.path != o.path) {
                    change.gone.push(o.clone());
                }
            }
            if let Some(n) = &new {
                self.index(path, n, change);
                if let Some(b) = body {
                    let b = Arc::new(b.render());
                    self.bodies.insert(n.path.clone(), b.clone());
                    change.pages.push((n.clone(), b));
                }
            }
        }
        let key = shared_path(path, new.as_deref());
        if let Some(folder) = path.parent() {
            match self.by_folder.get_mut(folder) {
                Some(known) => known.insert(key.clone()),
                None => self
                    .by_folder
                    .entry(folder.to_path_buf())
                    .or_default()
                    .insert(key.clone()),
            };
        }
        if blocked_by.is_some() {
            self.blocked.insert(path.to_path_buf());
        } else if !self.blocked.is_empty() {
            self.blocked.remove(path);
        }
        if !diagnostics.is_empty() || read.scheduled.is_some() || read.draft {
            self.noted.insert(path.to_path_buf());
        } else if !self.noted.is_empty() {
            self.noted.remove(path);
        }
        let notes = (read.scheduled.is_some() || !diagnostics.is_empty() || blocked_by.is_some())
            .then(|| {
                Box::new(Notes {
                    scheduled: read.scheduled,
                    diagnostics,
                    blocked_by,
                })
            });
        self.files.insert(
            key,
            FileState {
                stamp,
                read_at: read.read_at,
                article: new,
                draft: read.draft,
                notes,
            },
        );
    }

    pub(super) fn remove(&mut self, path: &Path, change: &mut Change) {
        if let Some(known) = path.parent().and_then(|f| self.by_folder.get_mut(f)) {
            known.remove(path);
        }
        // Unindex while the file is still known: that frees its id.
        if let Some(a) = self.files.get(path).and_then(|s| s.article.clone()) {
            self.unindex(&a, change);
            change.gone.push(a);
        }
        self.files.remove(path);
        self.blocked.remove(path);
        self.noted.remove(path);
    }

    pub(super) fn index(&mut self, path: &Path, a: &Arc<Article>, change: &mut Change) {
        self.ids.insert(a.id.clone(), shared_path(path, Some(a)));
        match self.pages.get_mut(&a.path) {
            Some(n) => *n += 1,
            None => {
                self.pages.insert(a.path.clone(), 1);
            }
        }
        if let Some(d) = a.district.as_deref()
            && !change.districts.contains(d)
        {
            change.districts.insert(d.to_string());
        }
        if self.config.topics {
            for (k, spelling) in topics_of(a) {
                let t = match self.by_topic.get_mut(&k) {
                    Some(t) => t,
                    None => self.by_topic.entry(k.clone()).or_default(),
                };
                *t.spellings.entry(spelling).or_default() += 1;
                // During a first reading, sorted in at the end.
                match self.unsorted {
                    Some(_) => t.unsorted.push(a.clone()),
                    None => {
                        t.articles.insert(key(a), a.clone());
                    }
                }
                if !change.topics.contains(&k) {
                    change.topics.insert(k);
                }
            }
        }
        self.order(a);
        self.dated(a, change);
    }

    /// What an article coming or going changes besides its scopes: its
    /// month's sitemap, archives from its date on.
    pub(super) fn dated(&self, a: &Article, change: &mut Change) {
        change
            .months
            .insert(Month::of(a.date, self.config.timezone));
        change.touch(a.date);
        change.any = true;
    }

    pub(super) fn unindex(&mut self, a: &Arc<Article>, change: &mut Change) {
        if self.ids.get(&a.id).is_some_and(|p| {
            self.files
                .get(p)
                .and_then(|s| s.article.as_ref())
                .is_some_and(|x| Arc::ptr_eq(x, a))
        }) {
            self.ids.remove(&a.id);
            self.released.push(a.id.clone());
        }
        self.all.remove(&key(a));
        if let Some(n) = self.pages.get_mut(&a.path) {
            *n -= 1;
            if *n == 0 {
                self.pages.remove(&a.path);
            }
        }
        if let Some(d) = a.district.as_deref() {
            if let Some(m) = self.by_district.get_mut(d) {
                m.remove(&key(a));
            }
            if !change.districts.contains(d) {
                change.districts.insert(d.to_string());
            }
        }
        for (k, spelling) in topics_of(a) {
            if let Some(t) = self.by_topic.get_mut(&k) {
                t.articles.remove(&key(a));
                if let Some(n) = t.spellings.get_mut(&spelling) {
                    *n -= 1;
                    if *n == 0 {
                        t.spellings.remove(&spelling);
                    }
                }
                if t.articles.is_empty() {
                    self.by_topic.remove(&k);
                }
                change.topics.insert(k);
            }
        }
        self.dated(a, change);
    }

    /// Reads again every scheduled file whose date has come, so that its
    /// article is published now, without any file event.
    pub fn publish_due(&mut self, change: &mut Change) {
        let now = chrono::Utc::now();
        let mut due: Vec<PathBuf> = self
            .noted()
            .filter(|(_, s)| s.scheduled().is_some_and(|(when, _)| *when <= now))
            .map(|(p, _)| p.to_path_buf())
            .collect();
        due.sort();
        for path in due {
            match Candidate::at(&self.content, &path) {
                Some(c) if path.is_file() => {
                    let read = content::read_article(&self.config, &c);
                    change.files_read += 1;
                    self.set(&path, stamp(&path), read, change);
                }
                _ => self.remove(&path, change),
            }
        }
        self.retry_blocked(change);
        self.prime();
    }
}
