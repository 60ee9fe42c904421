//! RSS 2.0 with the atom, dc and content extensions.

use std::collections::BTreeMap;

use rss::extension::atom::{AtomExtension, Link};
use rss::extension::dublincore::DublinCoreExtension;
use rss::{Category, Channel, Enclosure, Guid, Item};

use super::{FeedKind, Scope};

pub fn render(scope: &Scope<'_>) -> Vec<u8> {
    let config = scope.config;
    let items = scope
        .items()
        .map(|(a, body)| Item {
            title: Some(a.title.clone()),
            link: Some(a.link(config)),
            description: Some(body.summary.clone()),
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
            content: Some(body.html.clone()),
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
        })
        .collect();

    let self_link = Link {
        href: scope.feed_url(FeedKind::Rss),
        rel: "self".into(),
        mime_type: Some(FeedKind::Rss.media_type().into()),
        ..Default::default()
    };
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
                .chain(config.hubs.iter().map(|hub| Link {
                    href: hub.clone(),
                    rel: "hub".into(),
                    ..Default::default()
                }))
                .collect(),
        }),
        items,
        namespaces: BTreeMap::new(),
        ..Default::default()
    };
    let mut out = channel
        .pretty_write_to(Vec::new(), b' ', 2)
        .unwrap_or_default();
    out.push(b'\n');
    out
}
