//! RSS 2.0 with the atom, dc and content extensions.

use std::collections::BTreeMap;

use rss::extension::Extension;
use rss::extension::atom::{AtomExtension, Link};
use rss::extension::dublincore::DublinCoreExtension;
use rss::{Category, Channel, Enclosure, Guid, Item};

use super::{Doc, FeedKind, RenderError, Scope};

pub fn render(scope: &Scope<'_>) -> Result<Vec<u8>, RenderError> {
    render_doc(scope, Doc::Current)
}

/// The feed, or one of its archive documents (RFC 5005), which list
/// their items with the summary alone.
pub fn render_doc(scope: &Scope<'_>, doc: Doc) -> Result<Vec<u8>, RenderError> {
    let config = scope.config;
    let items = scope
        .items_maybe()
        .map(|text| {
            let a = text.article;
            Item {
                title: Some(a.title.clone()),
                link: Some(a.link(config)),
                description: text.summary.map(String::from),
                categories: scope
                    .categories(a)
                    .into_iter()
                    .map(|name| Category { name, domain: None })
                    .collect(),
                guid: Some(Guid {
                    value: a.id.to_string(),
                    permalink: false,
                }),
                pub_date: Some(a.date.to_rfc2822()),
                content: text.html.map(String::from),
                enclosure: a.image.as_ref().map(|url| Enclosure {
                    url: url.clone(),
                    length: "0".into(),
                    mime_type: super::image_type(url).into(),
                }),
                dublin_core_ext: a.author.as_ref().map(|name| DublinCoreExtension {
                    creators: vec![name.clone()],
                    ..Default::default()
                }),
                ..Default::default()
            }
        })
        .collect();

    let self_link = Link {
        href: scope.doc_url(FeedKind::Rss, doc),
        rel: "self".into(),
        mime_type: Some(FeedKind::Rss.media_type().into()),
        ..Default::default()
    };
    let archive_links = super::archive_links(scope, FeedKind::Rss, doc)
        .into_iter()
        .map(|(rel, href)| Link {
            href,
            rel: rel.into(),
            mime_type: Some(FeedKind::Rss.media_type().into()),
            ..Default::default()
        });
    let mut namespaces = BTreeMap::new();
    let mut extensions = BTreeMap::new();
    if let Doc::Archive { .. } = doc {
        namespaces.insert("fh".to_string(), super::HISTORY_NS.to_string());
        let archive = Extension {
            name: "fh:archive".into(),
            value: Some(String::new()),
            ..Default::default()
        };
        extensions.insert(
            "fh".to_string(),
            BTreeMap::from([("archive".to_string(), vec![archive])]),
        );
    }
    let channel = Channel {
        title: scope.title(),
        link: scope.page_url(),
        description: scope.description(),
        language: Some(config.language.clone()),
        last_build_date: (!scope.articles.is_empty()).then(|| scope.updated().to_rfc2822()),
        generator: Some("crier".into()),
        docs: Some("https://www.rssboard.org/rss-specification".into()),
        // Polling more often than Cache-Control allows gains nothing.
        ttl: Some(config.max_age.div_ceil(60).max(1).to_string()),
        atom_ext: Some(AtomExtension {
            links: std::iter::once(self_link)
                .chain(archive_links)
                .chain(config.hubs.iter().map(|hub| Link {
                    href: hub.clone(),
                    rel: "hub".into(),
                    ..Default::default()
                }))
                .collect(),
        }),
        items,
        namespaces,
        extensions,
        ..Default::default()
    };
    let mut out = channel
        .pretty_write_to(Vec::new(), b' ', 2)
        .map_err(|e| RenderError {
            format: "RSS",
            message: e.to_string(),
        })?;
    out.push(b'\n');
    Ok(out)
}
