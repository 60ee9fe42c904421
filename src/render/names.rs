//! Every file name of the output folder, one constant or function per
//! kind of output. The pipeline names the files it makes with these, the
//! documents link with them and the keep-set (`site::all_files`) lists
//! them with them: an output cannot be made under a name the keep-set
//! does not know, and so deleted as stale by the next full build.

use super::FeedKind;
use crate::library::ScopeKey;

pub const INDEX: &str = "index.html";
pub const FEEDS_OPML: &str = "feeds.opml";
/// The folder of the topics: their page and each topic's folder.
pub const TOPICS_DIR: &str = "topics/";
pub const TOPICS_PAGE: &str = "topics/index.html";
pub const TOPICS_OPML: &str = "topics.opml";
/// The sitemap index.
pub const SITEMAP: &str = "sitemap.xml";
/// The sitemap of the index, district and topic pages.
pub const PAGES_SITEMAP: &str = "sitemaps/pages.xml";
pub const NEWS_SITEMAP: &str = "news-sitemap.xml";
pub const ROBOTS: &str = "robots.txt";
/// The built-in logo.
pub const LOGO: &str = "logo.svg";
/// The built-in icon, which `static/favicon.ico` replaces.
pub const FAVICON: &str = "favicon.ico";

/// The files every site has, whatever it holds.
pub const SITE: [&str; 8] = [
    INDEX,
    FEEDS_OPML,
    SITEMAP,
    PAGES_SITEMAP,
    NEWS_SITEMAP,
    ROBOTS,
    LOGO,
    FAVICON,
];
/// What `static/` may replace: the rest of crier's files it may not.
pub const REPLACEABLE: [&str; 2] = [ROBOTS, FAVICON];
/// The files of a site with topics.
pub const TOPICS: [&str; 2] = [TOPICS_PAGE, TOPICS_OPML];

/// A scope's folder: ``, `xiaodian/`, `topics/劳模/`.
pub fn scope_dir(scope: &ScopeKey) -> String {
    match scope {
        ScopeKey::All => String::new(),
        ScopeKey::District(d) => format!("{d}/"),
        ScopeKey::Topic(t) => format!("{TOPICS_DIR}{t}/"),
    }
}

/// A scope's feed in one format, or (`None`) its page; the city's page
/// is [`INDEX`].
pub fn scope_file(scope: &ScopeKey, feed: Option<FeedKind>) -> String {
    let name = feed.map_or(INDEX, FeedKind::file_name);
    format!("{}{name}", scope_dir(scope))
}

/// A scope's three feeds and its page.
pub fn scope_files(scope: &ScopeKey) -> impl Iterator<Item = String> + '_ {
    [
        None,
        Some(FeedKind::Rss),
        Some(FeedKind::Atom),
        Some(FeedKind::Json),
    ]
    .into_iter()
    .map(move |feed| scope_file(scope, feed))
}

/// What an archive is written as: the two feed formats (RFC 5005) and
/// the HTML page (`None`) that readers on the web browse.
pub const ARCHIVE_FORMATS: [Option<FeedKind>; 3] =
    [Some(FeedKind::Rss), Some(FeedKind::Atom), None];

/// Archive document `number` in one of [`ARCHIVE_FORMATS`], inside a
/// scope's folder: `archive/rss-3.xml`, `archive/page-3.html`.
pub fn archive_in_scope(format: Option<FeedKind>, number: usize) -> String {
    let name = match format {
        Some(FeedKind::Rss) => "rss",
        Some(FeedKind::Atom) => "atom",
        Some(FeedKind::Json) => "json",
        None => return format!("archive/page-{number}.html"),
    };
    format!("archive/{name}-{number}.xml")
}

/// Archive document `number` of a scope: `xiaodian/archive/rss-3.xml`.
pub fn archive(scope: &ScopeKey, format: Option<FeedKind>, number: usize) -> String {
    format!("{}{}", scope_dir(scope), archive_in_scope(format, number))
}

/// Part `part` (from 1) of a month's sitemap: `sitemaps/2023-01.xml`,
/// then `sitemaps/2023-01-2.xml`, ...
pub fn month_sitemap(month: &str, part: usize) -> String {
    match part {
        1 => format!("sitemaps/{month}.xml"),
        n => format!("sitemaps/{month}-{n}.xml"),
    }
}

/// The URL path that serves a file, percent-encoded: `xiaodian/index.html`
/// is served at `/xiaodian/` (the inverse of `output::file_of`).
pub fn path_of(file: &str) -> String {
    let dir = file
        .strip_suffix(INDEX)
        .filter(|d| d.is_empty() || d.ends_with('/'));
    format!("/{}", crate::content::encode_path(dir.unwrap_or(file)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_are_served_at_their_folder() {
        assert_eq!(path_of(INDEX), "/");
        assert_eq!(
            path_of("topics/劳模/index.html"),
            "/topics/%E5%8A%B3%E6%A8%A1/"
        );
        assert_eq!(path_of("xiaodian/rss.xml"), "/xiaodian/rss.xml");
        assert_eq!(path_of("a/myindex.html"), "/a/myindex.html");
        let files: Vec<String> = scope_files(&ScopeKey::Topic("t".into())).collect();
        assert_eq!(
            files,
            [
                "topics/t/index.html",
                "topics/t/rss.xml",
                "topics/t/atom.xml",
                "topics/t/feed.json"
            ]
        );
        assert_eq!(archive(&ScopeKey::All, None, 2), "archive/page-2.html");
        assert_eq!(month_sitemap("2023-01", 2), "sitemaps/2023-01-2.xml");
    }
}
