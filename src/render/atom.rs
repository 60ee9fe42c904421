//! Atom 1.0 (RFC 4287).

use atom_syndication::{
    Category, Content, Entry, Feed, Generator, Link, Person, Text, TextType, WriteConfig,
};

use std::collections::BTreeMap;

use atom_syndication::extension::Extension;

use super::text::{has_end_tag, hex_references};
use super::{Doc, FeedKind, RenderError, Scope, Text as ItemText, escape};

const DC_NS: &str = "http://purl.org/dc/elements/1.1/";

/// A text construct: plain text as it is (Atom readers honour
/// `type="text"`), or, when it holds an end tag, which validators call
/// undeclared HTML, `type="html"` with the text escaped.
fn text_construct(s: &str) -> Text {
    if has_end_tag(s) {
        Text::html(escape(s))
    } else {
        Text::plain(s)
    }
}

/// An author's name is text with no way to say so: one that holds an
/// end tag goes in `dc:creator` (text by definition) instead of
/// `<author>`, where validators would call it HTML; the feed's author
/// stands for the entry's.
fn dc_creator(name: &str) -> BTreeMap<String, BTreeMap<String, Vec<Extension>>> {
    let creator = Extension {
        name: "dc:creator".into(),
        value: Some(name.into()),
        ..Default::default()
    };
    BTreeMap::from([(
        "dc".to_string(),
        BTreeMap::from([("creator".to_string(), vec![creator])]),
    )])
}

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

/// Whether a text written as text (a title or summary of `type="text"`,
/// a name) holds a `&`.
fn plain_ampersand(feed: &Feed) -> bool {
    let text = |t: &Text| t.r#type == TextType::Text && t.value.contains('&');
    let names = |people: &[Person]| people.iter().any(|p| p.name.contains('&'));
    text(&feed.title)
        || feed.subtitle.as_ref().is_some_and(text)
        || names(&feed.authors)
        || feed
            .entries
            .iter()
            .any(|e| text(&e.title) || e.summary.as_ref().is_some_and(text) || names(&e.authors))
}

/// An article's entry, with what the document shows of its text.
fn entry(scope: &Scope<'_>, text: &ItemText<'_, '_>) -> Entry {
    let a = text.article;
    let mut links = vec![link(a.link(scope.config), "alternate", "text/html")];
    if let Some(image) = super::image_of(a) {
        let mut enclosure = link(image.url.to_string(), "enclosure", image.media_type);
        enclosure.length = image.length.map(|n| n.to_string());
        links.push(enclosure);
    }
    let odd_author = a.author.as_deref().filter(|n| has_end_tag(n));
    Entry {
        title: text_construct(&a.title),
        id: a.id.to_string(),
        updated: a.updated,
        published: Some(a.date),
        authors: a
            .author
            .iter()
            .filter(|_| odd_author.is_none())
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
        summary: text.summary.map(text_construct),
        content: text.html.map(|html| Content {
            value: Some(html.to_string()),
            content_type: Some("html".into()),
            ..Default::default()
        }),
        extensions: odd_author.map(dc_creator).unwrap_or_default(),
        ..Default::default()
    }
}

/// The feed, or one of its archive documents (RFC 5005), whose entries
/// have their summary and no content: their `alternate` link is the
/// article.
pub fn render_doc(scope: &Scope<'_>, doc: Doc) -> Result<Vec<u8>, RenderError> {
    let config = scope.config;
    let entries: Vec<Entry> = scope.items_maybe().map(|t| entry(scope, &t)).collect();
    let mut namespaces = BTreeMap::new();
    if let Doc::Archive { .. } = doc {
        namespaces.insert("fh".to_string(), super::HISTORY_NS.to_string());
    }
    if entries.iter().any(|e| e.extensions.contains_key("dc")) {
        namespaces.insert("dc".to_string(), DC_NS.to_string());
    }

    let feed = Feed {
        title: text_construct(&scope.title()),
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
        subtitle: Some(text_construct(&scope.description())),
        lang: Some(config.language.clone()),
        entries,
        namespaces,
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
    let written = feed.write_with_config(
        Vec::new(),
        WriteConfig {
            write_document_declaration: true,
            indent_size: Some(2),
        },
    );
    let written = written.map_err(|e| RenderError {
        format: "Atom",
        message: e.to_string(),
    })?;
    // `&` and `<` as the RSS Best Practices Profile spells them, which
    // validators take as plain text written with care (see `text`), when
    // a plain text holds a `&` they could take for a reference.
    let mut out = if plain_ampersand(&feed) {
        hex_references(written)
    } else {
        written
    };
    out.push(b'\n');
    Ok(out)
}
