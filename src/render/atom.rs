//! Atom 1.0 (RFC 4287).

use atom_syndication::{
    Category, Content, Entry, Feed, Generator, Link, Person, Text, WriteConfig,
};

use super::{FeedKind, Scope};

fn link(href: String, rel: &str, mime: &str) -> Link {
    Link {
        href,
        rel: rel.into(),
        mime_type: Some(mime.into()),
        ..Default::default()
    }
}

pub fn render(scope: &Scope<'_>) -> Vec<u8> {
    let config = scope.config;
    let entries = scope
        .items()
        .map(|(a, body)| {
            let mut links = vec![link(a.link(config), "alternate", "text/html")];
            if let Some(img) = &a.image {
                links.push(link(img.clone(), "enclosure", super::image_type(img)));
            }
            Entry {
                title: Text::plain(a.title.clone()),
                id: a.id.to_string(),
                updated: a.updated,
                published: Some(a.date),
                authors: a
                    .author
                    .iter()
                    .map(|n| Person {
                        name: n.clone(),
                        ..Default::default()
                    })
                    .collect(),
                categories: scope
                    .categories(a)
                    .into_iter()
                    .map(|term| Category {
                        term,
                        ..Default::default()
                    })
                    .collect(),
                links,
                summary: Some(Text::plain(body.summary.clone())),
                content: Some(Content {
                    value: Some(body.html.clone()),
                    content_type: Some("html".into()),
                    ..Default::default()
                }),
                ..Default::default()
            }
        })
        .collect();

    let feed = Feed {
        title: Text::plain(scope.title()),
        // The feed's own URL: feed ids matter far less to readers than entry
        // ids, which never depend on base_url.
        id: scope.feed_url(FeedKind::Atom),
        updated: scope.updated(),
        // Entries without an author fall back to the desk.
        authors: vec![Person {
            name: config.title.clone(),
            uri: Some(config.base_url.to_string()),
            ..Default::default()
        }],
        generator: Some(Generator {
            value: "crier".into(),
            ..Default::default()
        }),
        links: vec![
            link(
                scope.feed_url(FeedKind::Atom),
                "self",
                FeedKind::Atom.media_type(),
            ),
            link(scope.page_url(), "alternate", "text/html"),
        ]
        .into_iter()
        .chain(config.hubs.iter().map(|hub| Link {
            href: hub.clone(),
            rel: "hub".into(),
            ..Default::default()
        }))
        .collect(),
        subtitle: Some(Text::plain(scope.description())),
        lang: Some(config.language.clone()),
        entries,
        ..Default::default()
    };
    let mut out = feed
        .write_with_config(
            Vec::new(),
            WriteConfig {
                write_document_declaration: true,
                indent_size: Some(2),
            },
        )
        .unwrap_or_default();
    out.push(b'\n');
    out
}
