//! RSS 2.0 with the atom, dc and content extensions.

use std::collections::BTreeMap;

use rss::extension::Extension;
use rss::extension::atom::{AtomExtension, Link};
use rss::extension::dublincore::DublinCoreExtension;
use rss::{Category, Channel, Enclosure, Guid, Item};

use super::text::{as_html, has_end_tag, hex_references};
use super::{Doc, FeedKind, RenderError, Scope, Text, escape};

pub fn render(scope: &Scope<'_>) -> Result<Vec<u8>, RenderError> {
    render_doc(scope, Doc::Current)
}

/// Whether a text of the channel (titles, the description, categories,
/// names) holds a `&` or a `<`, which the validator looks at closely.
fn careful(channel: &Channel) -> bool {
    let odd = |s: &str| s.contains(['&', '<']);
    odd(&channel.title)
        || odd(&channel.description)
        || channel.items.iter().any(|i| {
            i.title.as_deref().is_some_and(odd)
                || i.categories.iter().any(|c| odd(&c.name))
                || i.dublin_core_ext
                    .as_ref()
                    .is_some_and(|dc| dc.creators.iter().chain(&dc.subjects).any(|s| odd(s)))
        })
}

/// An article's item, with what the document shows of its text.
fn item(scope: &Scope<'_>, text: &Text<'_, '_>) -> Item {
    let a = text.article;
    // A category is text with no way to say so: one that holds an end
    // tag would be HTML to validators, so such an item's tags are all
    // written as dc:subject, which is text.
    let tags = scope.categories(a);
    let (categories, subjects) = if tags.iter().any(|t| has_end_tag(t)) {
        (Vec::new(), tags)
    } else {
        let c = tags.into_iter().map(|name| Category { name, domain: None });
        (c.collect(), Vec::new())
    };
    Item {
        title: Some(as_html(&a.title).into_owned()),
        link: Some(a.link(scope.config)),
        // Readers take the description as HTML: the summary is text.
        description: text.summary.map(escape),
        categories,
        guid: Some(Guid {
            value: a.id.to_string(),
            permalink: false,
        }),
        pub_date: Some(a.date.to_rfc2822()),
        content: text.html.map(String::from),
        enclosure: super::image_of(a).map(|i| Enclosure {
            url: i.url.to_string(),
            length: i.length.unwrap_or(0).to_string(),
            mime_type: i.media_type.into(),
        }),
        extensions: media_rss(a),
        dublin_core_ext: (a.author.is_some() || !subjects.is_empty()).then(|| {
            DublinCoreExtension {
                creators: a.author.iter().cloned().collect(),
                subjects,
                ..Default::default()
            }
        }),
        ..Default::default()
    }
}

/// Media RSS of an article's image: `media:content` with what is known
/// of it, its caption as `media:description` and credit as
/// `media:credit`.
fn media_rss(a: &crate::content::Article) -> rss::extension::ExtensionMap {
    let Some(image) = super::image_of(a) else {
        return BTreeMap::new();
    };
    let mut attrs = BTreeMap::from([
        ("url".to_string(), image.url.to_string()),
        ("type".to_string(), image.media_type.to_string()),
        (
            "medium".to_string(),
            image.file.map_or("image", |f| f.medium()).to_string(),
        ),
    ]);
    if let Some(f) = image.file {
        attrs.insert("fileSize".into(), f.length.to_string());
        if let (Some(w), Some(h)) = (f.width, f.height) {
            attrs.insert("width".into(), w.to_string());
            attrs.insert("height".into(), h.to_string());
        }
    }
    let text = |name: &str, value: Option<&String>, attrs: &[(&str, &str)]| {
        value.map(|v| {
            let element = Extension {
                name: format!("media:{name}"),
                value: Some(v.clone()),
                attrs: attrs
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
                ..Default::default()
            };
            (name.to_string(), vec![element])
        })
    };
    let words = image.text;
    let children = [
        text(
            "description",
            words.and_then(|t| t.caption.as_ref()),
            &[("type", "plain")],
        ),
        text("credit", words.and_then(|t| t.credit.as_ref()), &[]),
    ];
    let content = Extension {
        name: "media:content".into(),
        attrs,
        children: children.into_iter().flatten().collect(),
        ..Default::default()
    };
    BTreeMap::from([(
        "media".to_string(),
        BTreeMap::from([("content".to_string(), vec![content])]),
    )])
}

/// The feed, or one of its archive documents (RFC 5005), which list
/// their items with the summary alone.
pub fn render_doc(scope: &Scope<'_>, doc: Doc) -> Result<Vec<u8>, RenderError> {
    let config = scope.config;
    let items = scope.items_maybe().map(|text| item(scope, &text)).collect();

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
    if scope.articles.iter().any(|a| a.image.is_some()) {
        namespaces.insert("media".to_string(), super::MEDIA_NS.to_string());
    }
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
        title: as_html(&scope.title()).into_owned(),
        link: scope.page_url(),
        description: as_html(&scope.description()).into_owned(),
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
    let written = channel
        .pretty_write_to(Vec::new(), b' ', 2)
        .map_err(|e| RenderError {
            format: "RSS",
            message: e.to_string(),
        })?;
    // `&` and `<` as the RSS Best Practices Profile spells them, which
    // validators take as plain text written with care (see `text`), when
    // a text holds one.
    let mut out = if careful(&channel) {
        hex_references(written)
    } else {
        written
    };
    out.push(b'\n');
    Ok(out)
}
