//! Sitemaps (sitemaps.org 0.9), the Google News sitemap and robots.txt.
//! Written by hand: each is a flat list of a few fixed elements, and no
//! sitemap crate on crates.io is kept up.

use chrono::{DateTime, FixedOffset, SecondsFormat};

use super::escape;
use crate::config::Config;
use crate::content::Article;

const NS: &str = "http://www.sitemaps.org/schemas/sitemap/0.9";
const NEWS_NS: &str = "http://www.google.com/schemas/sitemap-news/0.9";
const IMAGE_NS: &str = "http://www.google.com/schemas/sitemap-image/1.1";

/// At most this many URLs in one sitemap (the protocol's limit).
pub const MAX_URLS: usize = 50_000;
/// At most this many bytes in one sitemap, uncompressed (the limit).
pub const MAX_BYTES: usize = 50 * 1024 * 1024;

const HEAD: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";

fn date(d: DateTime<FixedOffset>) -> String {
    d.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// `<lastmod>`, unless the date is unknown (an empty district's page).
fn lastmod(d: Option<DateTime<FixedOffset>>) -> String {
    d.filter(|d| d.timestamp() > 0)
        .map(|d| format!("<lastmod>{}</lastmod>", date(d)))
        .unwrap_or_default()
}

/// One `<url>` of a sitemap.
pub fn url_entry(loc: &str, changed: Option<DateTime<FixedOffset>>) -> String {
    format!(
        "<url><loc>{}</loc>{}</url>\n",
        escape(loc),
        lastmod(changed)
    )
}

/// One `<url>` of a sitemap with its image (Google's image sitemaps), if
/// it has one.
pub fn url_entry_with_image(
    loc: &str,
    changed: Option<DateTime<FixedOffset>>,
    image: Option<&str>,
) -> String {
    let Some(image) = image else {
        return url_entry(loc, changed);
    };
    format!(
        "<url><loc>{}</loc>{}<image:image><image:loc>{}</image:loc></image:image></url>\n",
        escape(loc),
        lastmod(changed),
        escape(image)
    )
}

/// The bytes a sitemap holds around its entries.
pub const FRAME_BYTES: usize = HEAD.len() + 128 + IMAGE_NS.len();

/// A sitemap of entries made by [`url_entry`] or, with `images`, by
/// [`url_entry_with_image`].
pub fn urlset<'a>(entries: impl Iterator<Item = &'a str>, images: bool) -> Vec<u8> {
    let mut out = if images {
        format!("{HEAD}<urlset xmlns=\"{NS}\" xmlns:image=\"{IMAGE_NS}\">\n")
    } else {
        format!("{HEAD}<urlset xmlns=\"{NS}\">\n")
    };
    entries.for_each(|e| out.push_str(e));
    out.push_str("</urlset>\n");
    out.into_bytes()
}

/// A sitemap index: (URL, newest change) of each sitemap.
pub fn index(sitemaps: &[(String, Option<DateTime<FixedOffset>>)]) -> Vec<u8> {
    let mut out = format!("{HEAD}<sitemapindex xmlns=\"{NS}\">\n");
    for (loc, changed) in sitemaps {
        out.push_str(&format!(
            "<sitemap><loc>{}</loc>{}</sitemap>\n",
            escape(loc),
            lastmod(*changed)
        ));
    }
    out.push_str("</sitemapindex>\n");
    out.into_bytes()
}

/// Google's language code for a BCP 47 tag: ISO 639 in lower case, but
/// `zh-cn` and `zh-tw` for Chinese.
pub fn news_language(tag: &str) -> String {
    let lower = tag.to_ascii_lowercase();
    let mut parts = lower.split(['-', '_']);
    let primary = parts.next().unwrap_or_default().to_string();
    if primary != "zh" {
        return primary;
    }
    let traditional = parts.any(|p| matches!(p, "tw" | "hk" | "mo" | "hant"));
    if traditional { "zh-tw" } else { "zh-cn" }.to_string()
}

/// A Google News sitemap of `articles` (newest first, already limited to
/// the window and to 1,000).
pub fn news(config: &Config, articles: &[&Article]) -> Vec<u8> {
    let mut out = format!("{HEAD}<urlset xmlns=\"{NS}\" xmlns:news=\"{NEWS_NS}\">\n");
    let publication = format!(
        "<news:publication><news:name>{}</news:name><news:language>{}</news:language></news:publication>",
        escape(&config.title),
        news_language(&config.language)
    );
    for a in articles {
        out.push_str(&format!(
            "<url><loc>{}</loc><news:news>{publication}<news:publication_date>{}</news:publication_date><news:title>{}</news:title></news:news></url>\n",
            escape(&a.url(config)),
            date(a.date),
            escape(&a.title)
        ));
    }
    out.push_str("</urlset>\n");
    out.into_bytes()
}

/// robots.txt: everything allowed, and where the sitemaps are.
pub fn robots(config: &Config) -> Vec<u8> {
    format!(
        "User-agent: *\nAllow: /\n\nSitemap: {}\nSitemap: {}\n",
        config.url(super::names::SITEMAP),
        config.url(super::names::NEWS_SITEMAP)
    )
    .into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn google_language_codes() {
        assert_eq!(news_language("zh-CN"), "zh-cn");
        assert_eq!(news_language("zh"), "zh-cn");
        assert_eq!(news_language("zh-Hant-TW"), "zh-tw");
        assert_eq!(news_language("en-GB"), "en");
    }

    #[test]
    fn entries_are_escaped() {
        let d = DateTime::parse_from_rfc3339("2023-01-10T09:00:00+08:00").unwrap();
        let e = url_entry("https://x.cn/a?b=1&c=<2>", Some(d));
        assert_eq!(
            url_entry("https://x.cn/", None),
            "<url><loc>https://x.cn/</loc></url>\n"
        );
        assert_eq!(
            e,
            "<url><loc>https://x.cn/a?b=1&amp;c=&lt;2&gt;</loc><lastmod>2023-01-10T09:00:00+08:00</lastmod></url>\n"
        );
        let doc = String::from_utf8(urlset([e.as_str()].into_iter(), false)).unwrap();
        assert!(doc.len() < e.len() + FRAME_BYTES);
    }
}
