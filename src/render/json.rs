//! JSON Feed 1.1 (https://jsonfeed.org/version/1.1).

use serde::Serialize;

use super::{FeedKind, RenderError, Scope};

#[derive(Serialize)]
struct Feed<'a> {
    version: &'static str,
    title: String,
    home_page_url: String,
    feed_url: String,
    description: String,
    language: &'a str,
    authors: Vec<Author<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    hubs: Vec<Hub<'a>>,
    items: Vec<Item<'a>>,
}

#[derive(Serialize)]
struct Hub<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    url: &'a str,
}

#[derive(Serialize)]
struct Author<'a> {
    name: &'a str,
}

/// A file of the site the item carries, with its length.
#[derive(Serialize)]
struct Attachment<'a> {
    url: &'a str,
    mime_type: &'a str,
    size_in_bytes: u64,
}

#[derive(Serialize)]
struct Item<'a> {
    id: &'a str,
    url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    external_url: Option<&'a str>,
    title: &'a str,
    content_html: &'a str,
    summary: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    image: Option<&'a str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    attachments: Vec<Attachment<'a>>,
    date_published: String,
    date_modified: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    authors: Vec<Author<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tags: Vec<String>,
}

pub fn render(scope: &Scope<'_>) -> Result<Vec<u8>, RenderError> {
    let config = scope.config;
    let feed = Feed {
        version: "https://jsonfeed.org/version/1.1",
        title: scope.title(),
        home_page_url: scope.page_url(),
        feed_url: scope.feed_url(FeedKind::Json),
        description: scope.description(),
        language: &config.language,
        authors: vec![Author {
            name: &config.title,
        }],
        hubs: config
            .hubs
            .iter()
            .map(|url| Hub {
                kind: "WebSub",
                url,
            })
            .collect(),
        items: scope
            .items()
            .map(|(a, body)| Item {
                id: &a.id,
                url: a.url(config),
                external_url: a.link.as_deref(),
                title: &a.title,
                content_html: &body.html,
                summary: &body.summary,
                image: a.image.as_deref(),
                attachments: super::image_of(a)
                    .and_then(|i| {
                        Some(Attachment {
                            url: i.url,
                            mime_type: i.media_type,
                            size_in_bytes: i.length?,
                        })
                    })
                    .into_iter()
                    .collect(),
                date_published: a.date.to_rfc3339(),
                date_modified: a.updated.to_rfc3339(),
                authors: a.author.iter().map(|n| Author { name: n }).collect(),
                tags: scope.categories(a),
            })
            .collect(),
    };
    let mut out = serde_json::to_vec_pretty(&feed).map_err(|e| RenderError {
        format: "JSON Feed",
        message: e.to_string(),
    })?;
    out.push(b'\n');
    Ok(out)
}
