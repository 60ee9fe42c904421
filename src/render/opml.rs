//! OPML 2.0 subscription list: one outline per feed, RSS flavour, so that a
//! reader importing it subscribes once to each feed (not three times).

use super::text::hex_references;
use super::{FeedKind, Scope, escape};

/// The head's title and an outline's `text`, `title` and `description`
/// are HTML (OPML 2.0; validators parse them so): the HTML of the text.
fn html(s: &str) -> String {
    escape(&escape(s))
}

pub fn render(scopes: &[&Scope<'_>]) -> Vec<u8> {
    let Some(city) = scopes.first().copied() else {
        return Vec::new();
    };
    let modified = scopes
        .iter()
        .map(|s| s.updated())
        .max()
        .unwrap_or(city.updated());
    let mut out = String::from(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<opml version=\"2.0\">\n  <head>\n",
    );
    out += &format!("    <title>{}</title>\n", html(&city.title()));
    out += &format!(
        "    <dateModified>{}</dateModified>\n",
        modified.to_rfc2822()
    );
    out += "  </head>\n  <body>\n";
    for s in scopes {
        out += &format!(
            "    <outline type=\"rss\" text=\"{t}\" title=\"{t}\" description=\"{d}\" language=\"{l}\" xmlUrl=\"{x}\" htmlUrl=\"{h}\"/>\n",
            t = html(&s.title()),
            d = html(&s.description()),
            l = escape(&s.config.language),
            x = escape(&s.feed_url(FeedKind::Rss)),
            h = escape(&s.page_url()),
        );
    }
    out += "  </body>\n</opml>\n";
    hex_references(out.into_bytes())
}
