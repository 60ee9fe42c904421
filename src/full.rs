//! The one full-build sequence: list → index → library → `site::build` →
//! write → seal → finish, shared by `crier build`, the first build of
//! `crier serve` and a new config. The callers differ only between the
//! steps: `build` writes article pages as it reads and every job at
//! once; `serve` serves first and writes the jobs in the background, then
//! finishes here too.

use std::path::Path;

use chrono::{DateTime, FixedOffset};

use crate::config::Config;
use crate::content::Listing;
use crate::index::Index;
use crate::library::{Change, Library, Sink};
use crate::output::{EntryLines, Page};
use crate::site::{self, Built, Prints};
use crate::store::{self, Record, Seal, Store, StoreError};

/// The content as listed for a full build: with each file's stamp when
/// the output folder has an index or a seal to compare stamps with.
pub fn list(config: &Config, content: &Path, out: &Path) -> std::io::Result<Listing> {
    if store::compares_stamps(out) {
        Listing::of(config, content)
    } else {
        Listing::unstamped(config, content)
    }
}

/// Reads the library: unchanged files from the output folder's index
/// (of this program and config), the others from `content`, each given
/// to `sink` as read. With the number of articles the index held.
pub fn read(
    config: Config,
    content: &Path,
    out: &Path,
    listing: Listing,
    sink: Sink<'_>,
) -> std::io::Result<(Library, usize)> {
    let epoch = crate::index::epoch(&config);
    let index = Index::load(&out.join(crate::index::FILE), epoch);
    tracing::debug!(entries = index.len(), "index loaded");
    let library = Library::open_listed(config, content, &index, sink, Some(listing))?;
    Ok((library, index.len()))
}

/// The whole site of `library`: outputs, and jobs for what is many; an
/// output whose bytes the folder of `store` already holds reuses its
/// compressed forms.
pub fn render(library: &Library, store: Option<&Store>) -> (Built, Prints) {
    let prior = |p: &Page| store.and_then(|s| s.prior(p));
    let mut prints = Prints::default();
    let built = site::build(library, &Change::everything(), &mut prints, Some(&prior));
    (built, prints)
}

/// When a folder whose news sitemap was made with `expiry` (its oldest
/// article's leaving the window) goes stale with no file changing, for
/// [`Record::until`]: a second after it; 0 for never.
pub fn until(expiry: Option<DateTime<FixedOffset>>) -> i64 {
    expiry.map_or(0, |t| t.timestamp() + 1)
}

/// Finishes a full build in the output folder: removes what the site no
/// longer has and, if the build was `clean` and its content settled,
/// seals the folder (see [`Seal`]) with the record made here, the one
/// place a record is made, and the entries `entries` gives (asked for
/// only when the seal is new). The files removed.
pub fn finish(
    store: &mut Store,
    library: &Library,
    prints: &Prints,
    clean: bool,
    until: i64,
    entries: impl FnOnce() -> Option<EntryLines>,
) -> Result<usize, StoreError> {
    let keep = site::all_files(library, prints);
    let record = library.settled().filter(|_| clean).map(|content| Record {
        content,
        articles: library.count(None),
        drafts: library.drafts(),
        outputs: keep.len(),
        // Every output has its .gz and .br, but media files.
        files: keep.len() * 3 - 2 * library.media().count(),
        until,
    });
    let seal = record.map(|record| Seal {
        entries: (!store.sealed_with(&record)).then(entries).flatten(),
        record,
    });
    store.finish(&keep, seal)
}
