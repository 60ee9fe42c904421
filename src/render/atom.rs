//! Atom 1.0 (RFC 4287).

use atom_syndication::{
    Category, Content, Entry, Feed, Generator, Link, Person, Text, WriteConfig,
};

use std::collections::BTreeMap;

use atom_syndication::extension::Extension;

use super::{Doc, FeedKind, RenderError, Scope};

fn link(href: String, rel: &str, mime: &str) -> Link {
    Link {
        href,
        rel: rel.into(),
        mime_type: Some(mime.into()),
        ..Default::default()
    }
}

pub fn render(scope: &Scope<'_>) -> Result<Vec<u8>, RenderError> {
    render_doc(scope, Doc::Current)
}

/// The feed, or one of its archive documents (RFC 5005), whose entries
/// have their summary and no content: their `alternate` link is the
/// article.
pub fn render_doc(scope: &Scope<'_>, doc: Doc) -> Result<Vec<u8>, RenderError> {
    let config = scope.config;
    let entries = scope
        .items_maybe()
        .map(|text| {
            let a = text.article;
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
                summary: text.summary.map(Text::plain),
                content: text.html.map(|html| Content {
                    value: Some(html.to_string()),
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
        id: scope.doc_url(FeedKind::Atom, doc),
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
                scope.doc_url(FeedKind::Atom, doc),
                "self",
                FeedKind::Atom.media_type(),
            ),
            link(scope.page_url(), "alternate", "text/html"),
        ]
        .into_iter()
        .chain(
            super::archive_links(scope, FeedKind::Atom, doc)
                .into_iter()
                .map(|(rel, href)| link(href, rel, FeedKind::Atom.media_type())),
        )
        .chain(config.hubs.iter().map(|hub| Link {
            href: hub.clone(),
            rel: "hub".into(),
            ..Default::default()
        }))
        .collect(),
        subtitle: Some(Text::plain(scope.description())),
        lang: Some(config.language.clone()),
        entries,
        namespaces: match doc {
            Doc::Current => Default::default(),
            Doc::Archive { .. } => {
                BTreeMap::from([("fh".to_string(), super::HISTORY_NS.to_string())])
            }
        },
        extensions: match doc {
            Doc::Current => Default::default(),
            Doc::Archive { .. } => BTreeMap::from([(
                "fh".to_string(),
                BTreeMap::from([(
                    "archive".to_string(),
                    vec![Extension {
                        name: "fh:archive".into(),
                        value: Some(String::new()),
                        ..Default::default()
                    }],
                )]),
            )]),
        },
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
        .map_err(|e| RenderError {
            format: "Atom",
            message: e.to_string(),
        })?;
    out.push(b'\n');
    Ok(out)
}
