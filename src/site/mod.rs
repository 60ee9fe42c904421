//! The pipeline: from the library and what changed to typed outputs.
//! A full build and a live update are the same code: a full build is the
//! change that touches everything ([`Change::everything`]).
//!
//! What is hot and few (feeds, index pages, OPML) is rendered here and
//! now; what is many (article pages of a full build, archive documents)
//! comes out as [`Job`]s, rendered on request or while the output folder
//! is completed, with the same bytes either way.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, FixedOffset};
use rayon::prelude::*;

use crate::config::{Config, District};
use crate::content::{Article, Body, MediaFile};
use crate::library::{Change, Library, ScopeKey, Topic, Which};
use crate::output::{BuildError, Kind, Output, Page};
use crate::render::{self, Doc, FeedKind, Scope, names};
use crate::sitemaps::{self, SitemapDoc};

mod jobs;
mod prints;
mod work;

pub use jobs::*;
pub use prints::*;
pub use work::Work;

/// What one pass of the pipeline made.
#[derive(Debug, Default)]
pub struct Built {
    /// Rendered and compressed, sorted by path.
    pub outputs: Vec<Output>,
    /// To render later.
    pub jobs: Vec<Job>,
    /// (URL path, file in the output folder) of outputs that are gone.
    pub removed: Vec<(String, PathBuf)>,
    /// Outputs that could not be made; the rest are good.
    pub errors: Vec<BuildError>,
    /// Media files to publish as they are: all in a full build, else the
    /// new and changed ones.
    pub media: Vec<Arc<MediaFile>>,
}

/// A scope's subscription feed in one format.
fn render_feed(scope: &Scope<'_>, feed: FeedKind, path: &str) -> Result<Vec<u8>, BuildError> {
    match feed {
        FeedKind::Rss => render::rss::render(scope),
        FeedKind::Atom => render::atom::render(scope),
        FeedKind::Json => render::json::render(scope),
    }
    .map_err(|source| BuildError::Render {
        path: path.to_string(),
        source,
    })
}

fn feed_page(scope: &Scope<'_>, feed: FeedKind) -> Result<Page, BuildError> {
    let file = names::scope_file(&scope.key(), Some(feed));
    let path = names::path_of(&file);
    let body = render_feed(scope, feed, &path)?;
    Ok(Page {
        file: PathBuf::from(file),
        path,
        kind: Kind::Feed(feed),
        body,
        last_modified: scope.updated(),
    })
}

/// An HTML page at `file`, or why its template failed.
fn html_page(
    file: &str,
    kind: Kind,
    body: Result<Vec<u8>, render::RenderError>,
    last_modified: DateTime<FixedOffset>,
) -> Result<Page, BuildError> {
    let path = names::path_of(file);
    match body {
        Ok(body) => Ok(Page {
            file: PathBuf::from(file),
            path,
            kind,
            body,
            last_modified,
        }),
        Err(source) => Err(BuildError::Render { path, source }),
    }
}

/// A scope's three feeds, and its page for a district.
fn scope_pages(scope: &Scope<'_>, pages: &mut Vec<Result<Page, BuildError>>) {
    pages.extend(FeedKind::ALL.iter().map(|k| feed_page(scope, *k)));
    if scope.district.is_some() {
        let file = names::scope_file(&scope.key(), None);
        pages.push(html_page(
            &file,
            Kind::District,
            render::html::district(scope),
            scope.updated(),
        ));
    }
}

/// The index page and the OPML, which list every scope.
fn directory_pages(
    city: &Scope<'_>,
    districts: &[Scope<'_>],
    topics: &[Scope<'_>],
    pages: &mut Vec<Result<Page, BuildError>>,
) {
    let updated = newest(districts.iter().map(Scope::updated).chain([city.updated()]));
    let all: Vec<&Scope<'_>> = std::iter::once(city).chain(districts).collect();
    pages.push(html_page(
        names::INDEX,
        Kind::Index,
        render::html::index(city, districts, topics.len()),
        city.updated(),
    ));
    pages.push(Ok(Page {
        path: names::path_of(names::FEEDS_OPML),
        file: PathBuf::from(names::FEEDS_OPML),
        kind: Kind::Opml,
        body: render::opml::render(&all),
        last_modified: updated,
    }));
    if city.config.topics {
        let updated = newest(topics.iter().map(Scope::updated));
        pages.push(html_page(
            names::TOPICS_PAGE,
            Kind::Topics,
            render::html::topics(city.config, topics),
            updated,
        ));
        let mut listed: Vec<&Scope<'_>> = vec![city];
        listed.extend(topics);
        pages.push(Ok(Page {
            path: names::path_of(names::TOPICS_OPML),
            file: PathBuf::from(names::TOPICS_OPML),
            kind: Kind::Opml,
            body: render::opml::render(&listed),
            last_modified: updated,
        }));
    }
}

/// The monthly sitemaps that changed (as jobs), the sitemap of the index
/// pages and the sitemap index.
fn sitemap_pages(
    library: &Library,
    change: &Change,
    prints: &mut Prints,
    lists: &[&Scope<'_>],
    built: &mut Built,
    pages: &mut Vec<Result<Page, BuildError>>,
) {
    let mut jobs = Vec::new();
    prints
        .months
        .update(library, change, &mut jobs, &mut built.removed);
    built.jobs.extend(jobs.into_iter().map(Job::Sitemap));
    let mut listed: Vec<(String, DateTime<FixedOffset>)> =
        lists.iter().map(|s| (s.page_url(), s.updated())).collect();
    if library.config.topics {
        let topics = newest(
            lists
                .iter()
                .filter(|s| s.topic.is_some())
                .map(|s| s.updated()),
        );
        listed.push((library.config.url(names::TOPICS_DIR), topics));
    }
    let list = sitemaps::pages_sitemap(&listed);
    pages.push(Ok(prints.months.index(&library.config, list.last_modified)));
    pages.push(Ok(list));
}

/// The compressed forms of a page an earlier build wrote with the same
/// bytes, if at hand: a restart then compresses nothing.
pub type Reuse<'a> = Option<&'a (dyn Fn(&Page) -> Option<(Vec<u8>, Vec<u8>)> + Sync)>;

/// The article pages of `change`: jobs for all in a full build, else
/// the latest reading of each changed page that is still current.
fn article_pages(
    library: &Library,
    change: &Change,
    jobs: &mut Vec<Job>,
    pages: &mut Vec<Result<Page, BuildError>>,
) {
    if change.full {
        jobs.extend(library.articles().map(|a| Job::Article(a.clone())));
        return;
    }
    let mut latest: HashMap<&str, &(Arc<Article>, Arc<Body>)> = HashMap::new();
    for page in change.pages.iter().filter(|p| library.is_current(&p.0)) {
        latest.insert(page.0.path.as_str(), page);
    }
    pages.extend(
        latest
            .values()
            .map(|(a, body)| article_page(&library.config, a, body)),
    );
}

/// Runs the pipeline for `change`: the feeds and pages of the scopes it
/// touched, the pages of its articles, the archive documents whose
/// articles changed, and what is gone. Everything else keeps its bytes
/// and its ETag.
pub fn build(library: &Library, change: &Change, prints: &mut Prints, reuse: Reuse<'_>) -> Built {
    let config = &library.config;
    let city = Scope::new(library, None);
    // Every district's scope (cheap: its newest items and a count); the
    // index lists them all. Only the touched ones are rendered.
    let districts: Vec<Scope<'_>> = config
        .districts
        .iter()
        .map(|d| Scope::new(library, Some(d)))
        .collect();
    let mut built = Built::default();
    let mut pages = Vec::new();
    article_pages(library, change, &mut built.jobs, &mut pages);
    let touched = |d: &District| change.full || change.districts.contains(&d.slug);
    let from = change.oldest.filter(|_| !change.full);
    // Each touched district's feeds and page rendered, and its archive
    // planned, in parallel.
    let shared: &Prints = prints;
    let made: Vec<(Vec<Result<Page, BuildError>>, ScopePlan)> = districts
        .par_iter()
        .filter_map(|scope| {
            let d = scope.district.filter(|d| touched(d))?;
            let mut made = Vec::new();
            scope_pages(scope, &mut made);
            let key = ScopeKey::District(d.slug.clone());
            Some((made, shared.plan(library, key, None, from)))
        })
        .collect();
    for (made, plan) in made {
        pages.extend(made);
        prints.apply(plan, &mut built);
    }
    let topics = if config.topics {
        library.topics()
    } else {
        Vec::new()
    };
    topic_jobs(library, change, &topics, prints, from, &mut built);
    if change.full || change.any {
        let listed: Vec<Scope<'_>> = topics
            .iter()
            .map(|t| Scope::of_topic(config, t, Vec::new(), Vec::new()))
            .collect();
        scope_pages(&city, &mut pages);
        directory_pages(&city, &districts, &listed, &mut pages);
        let plan = prints.plan(library, ScopeKey::All, None, from);
        prints.apply(plan, &mut built);
        let lists: Vec<&Scope<'_>> = std::iter::once(&city)
            .chain(&districts)
            .chain(&listed)
            .collect();
        sitemap_pages(library, change, prints, &lists, &mut built, &mut pages);
    }
    if change.full || change.any || change.clock {
        let now = chrono::Utc::now().fixed_offset();
        pages.push(Ok(sitemaps::news_sitemap(library, now)));
    }
    if change.full {
        pages.extend([Ok(sitemaps::robots(config)), Ok(logo()), Ok(favicon())]);
        statics(library, &built.jobs, &mut pages, &mut built.errors);
    }
    built.removed.extend(
        change
            .gone
            .iter()
            .filter(|a| !library.has_page(&a.path))
            .map(|a| (format!("/{}", a.path), a.file())),
    );
    media(library, change, &mut built);
    built.removed.sort();
    built.removed.dedup();
    let finish = |p: Page| match reuse.and_then(|r| r(&p)) {
        Some((gzip, br)) => Ok(p.with_encodings(gzip, br)),
        None => p.finish(),
    };
    let finished: Vec<Result<Output, BuildError>> =
        pages.into_par_iter().map(|p| p.and_then(finish)).collect();
    for r in finished {
        match r {
            Ok(o) => built.outputs.push(o),
            Err(e) => built.errors.push(e),
        }
    }
    built.outputs.sort_by(|a, b| a.path.cmp(&b.path));
    built
}

/// The media files `change` publishes, and those it removes. A file
/// named like one of crier's own (`logo.svg` at the top) is not
/// published: crier's wins.
fn media(library: &Library, change: &Change, built: &mut Built) {
    let own = |m: &Arc<MediaFile>| names::SITE.contains(&m.site_path.as_str());
    let changed: Vec<&Arc<MediaFile>> = if change.full {
        library.media().collect()
    } else {
        change.media.iter().collect()
    };
    built
        .media
        .extend(changed.into_iter().filter(|m| !own(m)).cloned());
    built.removed.extend(
        change
            .media_gone
            .iter()
            .filter(|m| library.media_file(&m.site_path).is_none() && !own(m))
            .map(|m| (names::path_of(&m.site_path), PathBuf::from(&m.site_path))),
    );
}

/// The files of `static/` as pages, each at its own path; `robots.txt`
/// and `favicon.ico` replace crier's, and a file at a path crier makes
/// otherwise is an error naming both, and is not published.
fn statics(
    library: &Library,
    jobs: &[Job],
    pages: &mut Vec<Result<Page, BuildError>>,
    errors: &mut Vec<BuildError>,
) {
    if library.statics().is_empty() {
        return;
    }
    let replaced: Vec<String> = library
        .statics()
        .iter()
        .filter(|f| names::REPLACEABLE.contains(&f.site_path.as_str()))
        .map(|f| names::path_of(&f.site_path))
        .collect();
    pages.retain(|p| p.as_ref().map_or(true, |p| !replaced.contains(&p.path)));
    let mut made: std::collections::HashSet<String> = pages
        .iter()
        .filter_map(|p| p.as_ref().ok())
        .map(|p| p.file.to_string_lossy().into_owned())
        .collect();
    made.extend(jobs.iter().map(|j| j.file().to_string_lossy().into_owned()));
    made.extend(library.media().map(|m| m.site_path.clone()));
    for f in library.statics() {
        let path = names::path_of(&f.site_path);
        let file = PathBuf::from(&f.site_path);
        if made.contains(&f.site_path) {
            errors.push(BuildError::Clash {
                file: f.path.to_string_lossy().into_owned(),
                path,
            });
            continue;
        }
        pages.push(Ok(Page {
            path,
            file,
            kind: Kind::Static,
            body: f.bytes.to_vec(),
            last_modified: f.modified,
        }));
    }
}

/// `/favicon.ico`, the built-in icon: the same bytes in every build.
fn favicon() -> Page {
    Page {
        path: names::path_of(names::FAVICON),
        file: names::FAVICON.into(),
        kind: Kind::Static,
        body: render::FAVICON.to_vec(),
        last_modified: DateTime::UNIX_EPOCH.fixed_offset(),
    }
}

/// What the site serves for a media file (for a sealed folder's table).
pub fn media_entry(m: &MediaFile) -> crate::output::Entry {
    crate::output::Entry {
        path: format!("/{}", m.site_path),
        file: PathBuf::from(&m.site_path),
        kind: Kind::Media,
        last_modified: m.stamp.mtime.div_euclid(1_000_000_000),
    }
}

/// `/logo.svg`, the built-in logo: the same bytes in every build.
fn logo() -> Page {
    Page {
        path: names::path_of(names::LOGO),
        file: names::LOGO.into(),
        kind: Kind::Logo,
        body: render::LOGO.to_vec(),
        last_modified: DateTime::UNIX_EPOCH.fixed_offset(),
    }
}

/// Renders jobs now (a live update has few), in parallel.
pub fn render_jobs(
    jobs: &[Job],
    config: &Config,
    content: &Path,
) -> Vec<Result<Output, BuildError>> {
    jobs.par_iter()
        .map(|j| j.render(config, content).and_then(Page::finish))
        .collect()
}

/// Every file of the output folder the library's site has (without
/// siblings): what a full write keeps.
pub fn all_files(library: &Library, prints: &Prints) -> std::collections::HashSet<String> {
    let config = &library.config;
    let mut files: std::collections::HashSet<String> =
        names::SITE.iter().map(|f| f.to_string()).collect();
    let mut scopes = vec![ScopeKey::All];
    scopes.extend(
        config
            .districts
            .iter()
            .map(|d| ScopeKey::District(d.slug.clone())),
    );
    if config.topics {
        files.extend(names::TOPICS.map(String::from));
        scopes.extend(library.topics().into_iter().map(|t| ScopeKey::Topic(t.key)));
    }
    for scope in scopes {
        files.extend(names::scope_files(&scope));
        let docs = render::archive_count(library.count(scope.which()), config.feed_limit);
        for number in 1..=docs {
            for format in names::ARCHIVE_FORMATS {
                files.insert(names::archive(&scope, format, number));
            }
        }
    }
    files.extend(prints.months.files());
    files.extend(library.media().map(|m| m.site_path.clone()));
    files.extend(library.statics().iter().map(|f| f.site_path.clone()));
    files.extend(
        library
            .articles()
            .map(|a| a.file().to_string_lossy().into_owned()),
    );
    files
}
