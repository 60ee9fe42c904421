//! What the many outputs were last made from, so that a change makes
//! again only those whose articles changed.

use super::*;

/// What the many outputs were last made from, so that a change makes
/// again only those whose articles changed: the monthly sitemaps, and
/// each scope's archive documents, one print per document (re-rendered
/// from the first changed position on when an old article is deleted or
/// back-dated; just its own when one is edited).
#[derive(Debug, Default)]
pub struct Prints {
    archives: HashMap<ScopeKey, ScopePrints>,
    pub months: crate::sitemaps::Months,
    /// Of each topic's feeds and page, by key.
    topics: HashMap<String, u64>,
}

/// A scope's prints, and how many articles its documents held.
#[derive(Debug, Default, Clone)]
pub(super) struct ScopePrints {
    archived: usize,
    docs: Vec<u64>,
}

/// The print of one archive document: its place and its articles as read.
pub(super) fn doc_print(number: usize, last: bool, items: &[&Arc<Article>]) -> u64 {
    use std::hash::{BuildHasher, Hash, Hasher};
    // A fixed seed: prints are compared within one process only.
    let mut h = foldhash::fast::FixedState::with_seed(0).build_hasher();
    (number, last).hash(&mut h);
    for a in items {
        // The pointer tells a new reading of a file from the old one; the
        // id's pointer and the date guard against a reused address.
        // Integers only: a live update prints every archived article.
        h.write_usize(Arc::as_ptr(a) as usize);
        h.write_usize(a.id.as_ptr() as usize);
        h.write_i64(a.updated.timestamp());
        h.write_u32(a.updated.timestamp_subsec_nanos());
    }
    h.finish()
}

impl Prints {
    /// Whether `doc` is still what its scope's document shows (a later
    /// change may have made a new one).
    pub fn is_current(&self, doc: &ArchiveDoc) -> bool {
        self.archives.get(&doc.scope).is_some_and(|p| {
            p.docs.len() == doc.of && p.docs.get(doc.number - 1) == Some(&doc.print)
        })
    }

    /// The first document of a scope that may have changed: none before
    /// the position of the oldest article touched (documents are filled
    /// oldest first), and never after the last one, then or now (whose
    /// "last" mark may change).
    fn first_changed(
        library: &Library,
        slug: Which<'_>,
        from: Option<DateTime<FixedOffset>>,
        old: &ScopePrints,
        archived: usize,
    ) -> usize {
        let limit = library.config.feed_limit.max(1);
        let Some(from) = from else {
            return 0;
        };
        let total = library.count(slug);
        let position = total
            .saturating_sub(library.count_since(slug, from))
            .min(archived)
            .min(old.archived);
        let of = archived.div_ceil(limit);
        (position / limit)
            .min(of.saturating_sub(1))
            .min(old.docs.len().saturating_sub(1))
    }

    /// The jobs for the documents of a scope that changed, and the
    /// paths of those that are gone, with the scope's new prints. With
    /// `from` (the oldest date a change touched), documents of older
    /// articles only are not looked at: an edit of recent news prints one
    /// document, not thousands. Made without changing the prints, so
    /// that the scopes of a full build are planned in parallel.
    pub(super) fn plan(
        &self,
        library: &Library,
        slug: ScopeKey,
        topic: Option<&Topic>,
        from: Option<DateTime<FixedOffset>>,
    ) -> ScopePlan {
        let limit = library.config.feed_limit.max(1);
        let archived = library.count(slug.which()).saturating_sub(limit);
        let none = ScopePrints::default();
        let old = self.archives.get(&slug).unwrap_or(&none);
        let first = Self::first_changed(library, slug.which(), from, old, archived);
        let mut tail = library.archived_newest(slug.which(), archived - first * limit);
        tail.reverse();
        let docs: Vec<&[&Arc<Article>]> = tail.chunks(limit).collect();
        let of = first + docs.len();
        // Printed oldest first within a document: the same order every
        // time, which is all a print needs.
        let mut prints: Vec<u64> = old.docs.get(..first).unwrap_or_default().to_vec();
        // In parallel: the city's scope has thousands of documents.
        let tail: Vec<u64> = docs
            .par_iter()
            .enumerate()
            .map(|(i, items)| doc_print(first + i + 1, first + i + 1 == of, items))
            .collect();
        prints.extend(tail);
        let jobs: Vec<Job> = docs
            .into_par_iter()
            .enumerate()
            .filter(|(i, _)| old.docs.get(first + i) != prints.get(first + i))
            .flat_map_iter(|(i, items)| {
                let number = first + i + 1;
                let summaries = Arc::new(Shared::new(2));
                // Newest first, as documents list them.
                let items: Arc<[Arc<Article>]> =
                    items.iter().rev().map(|a| Arc::clone(a)).collect();
                let (slug, print) = (&slug, prints[number - 1]);
                names::ARCHIVE_FORMATS.into_iter().map(move |feed| {
                    Job::Archive(Arc::new(ArchiveDoc {
                        scope: slug.clone(),
                        topic: topic.cloned(),
                        feed,
                        number,
                        of,
                        items: items.clone(),
                        print,
                        summaries: summaries.clone(),
                    }))
                })
            })
            .collect();
        let mut removed = Vec::new();
        for number in of + 1..=old.docs.len() {
            for feed in names::ARCHIVE_FORMATS {
                let file = names::archive(&slug, feed, number);
                removed.push((names::path_of(&file), PathBuf::from(file)));
            }
        }
        ScopePlan {
            slug,
            prints: ScopePrints {
                archived,
                docs: prints,
            },
            jobs,
            removed,
        }
    }

    /// Takes in a scope's plan: its prints kept, its jobs and removed
    /// files added to `built`.
    pub(super) fn apply(&mut self, plan: ScopePlan, built: &mut Built) {
        self.archives.insert(plan.slug, plan.prints);
        built.jobs.extend(plan.jobs);
        built.removed.extend(plan.removed);
    }
}

/// A scope's archive documents as [`Prints::plan`] found them.
pub(super) struct ScopePlan {
    slug: ScopeKey,
    prints: ScopePrints,
    jobs: Vec<Job>,
    removed: Vec<(String, PathBuf)>,
}

/// The feeds, page and archive documents of every topic `change`
/// touched (all of them for a full build), as jobs; the files of the
/// topics that are gone. Planned in parallel (a city has thousands of
/// topics), taken in in order.
pub(super) fn topic_jobs(
    library: &Library,
    change: &Change,
    topics: &[Topic],
    prints: &mut Prints,
    from: Option<DateTime<FixedOffset>>,
    built: &mut Built,
) {
    let config = &library.config;
    let touched: Vec<&str> = if change.full {
        prints.topics.clear();
        topics.iter().map(|t| t.key.as_str()).collect()
    } else if config.topics {
        change.topics.iter().map(String::as_str).collect()
    } else {
        Vec::new()
    };
    let shared: &Prints = prints;
    let plans: Vec<(&str, ScopePlan, Option<TopicFeeds>)> = touched
        .par_iter()
        .map(|key| {
            let topic = topics
                .binary_search_by(|t| t.key.as_str().cmp(key))
                .ok()
                .map(|i| &topics[i]);
            let scope = ScopeKey::Topic(key.to_string());
            let archive = shared.plan(library, scope, topic, from);
            (
                *key,
                archive,
                topic.map(|t| topic_feeds(library, shared, t)),
            )
        })
        .collect();
    for (key, archive, feeds) in plans {
        prints.apply(archive, built);
        match feeds {
            None => {
                prints.topics.remove(key);
                let scope = ScopeKey::Topic(key.to_string());
                built.removed.extend(
                    names::scope_files(&scope).map(|f| (names::path_of(&f), PathBuf::from(f))),
                );
            }
            Some(TopicFeeds { print, jobs }) => {
                prints.topics.insert(key.to_string(), print);
                built.jobs.extend(jobs);
            }
        }
    }
}

/// A topic's print, and the jobs for its feeds and page (none when the
/// print is the one they were made with).
struct TopicFeeds {
    print: u64,
    jobs: Vec<Job>,
}

fn topic_feeds(library: &Library, prints: &Prints, topic: &Topic) -> TopicFeeds {
    let limit = library.config.feed_limit;
    let items: Arc<[Arc<Article>]> = library
        .newest_shared(Which::Topic(&topic.key), limit)
        .into_iter()
        .cloned()
        .collect();
    let archives = render::archive_count(topic.count, limit);
    let print = topic_print(topic, &items, archives);
    if prints.topics.get(&topic.key) == Some(&print) {
        return TopicFeeds {
            print,
            jobs: Vec::new(),
        };
    }
    let bodies = Arc::new(Shared::new(FeedKind::ALL.len()));
    let jobs = [
        None,
        Some(FeedKind::Rss),
        Some(FeedKind::Atom),
        Some(FeedKind::Json),
    ]
    .into_iter()
    .map(|feed| {
        Job::Topic(Arc::new(TopicDoc {
            topic: topic.clone(),
            feed,
            items: items.clone(),
            archives,
            print,
            bodies: bodies.clone(),
        }))
    })
    .collect();
    TopicFeeds { print, jobs }
}

pub(super) fn topic_print(topic: &Topic, items: &[Arc<Article>], archives: usize) -> u64 {
    use std::hash::{BuildHasher, Hash, Hasher};
    let mut h = foldhash::fast::FixedState::with_seed(0).build_hasher();
    (&topic.name, topic.count, archives).hash(&mut h);
    for a in items {
        a.path.hash(&mut h);
        a.made_key().hash(&mut h);
    }
    h.finish()
}

impl Prints {
    /// Whether a topic's feed or page is still what the topic shows.
    pub fn topic_is_current(&self, doc: &TopicDoc) -> bool {
        self.topics.get(&doc.topic.key) == Some(&doc.print)
    }
}
