//! What search engines and social apps read from an article page: the
//! description, OpenGraph properties and one JSON-LD `NewsArticle`.

use super::{RenderError, Scope, escape};
use crate::content::Article;

/// What search engines and social apps read from an article page: the
/// description, OpenGraph properties and one JSON-LD `NewsArticle`.
pub fn article(scope: &Scope<'_>, a: &Article, summary: &str) -> Result<String, RenderError> {
    let config = scope.config;
    let url = a.url(config);
    let mut props: Vec<(&str, &str)> = vec![
        ("og:type", "article"),
        ("og:title", &a.title),
        ("og:description", summary),
        ("og:url", &url),
        ("og:site_name", &config.title),
    ];
    let locale = config.language.replace('-', "_");
    props.push(("og:locale", &locale));
    let size = super::image_of(a)
        .and_then(|i| i.file)
        .and_then(|f| Some((f.width?.to_string(), f.height?.to_string())));
    if let Some(image) = &a.image {
        props.push(("og:image", image));
        if let Some((w, h)) = &size {
            props.push(("og:image:width", w));
            props.push(("og:image:height", h));
        }
        let alt = image_alt(a);
        if !alt.is_empty() {
            props.push(("og:image:alt", alt));
        }
    }
    let (published, modified) = (a.date.to_rfc3339(), a.updated.to_rfc3339());
    props.push(("article:published_time", &published));
    props.push(("article:modified_time", &modified));
    if let Some(d) = scope.district {
        props.push(("article:section", &d.name));
    }
    props.extend(a.tags.iter().map(|t| ("article:tag", t.as_str())));
    let mut head = format!(
        "<meta name=\"description\" content=\"{}\">\n",
        escape(summary)
    );
    for (property, content) in props {
        head += &format!(
            "<meta property=\"{property}\" content=\"{}\">\n",
            escape(content)
        );
    }
    head += &format!(
        "<script type=\"application/ld+json\">{}</script>\n",
        json_ld(scope, a, &url)?
    );
    Ok(head)
}

/// Search engines cut a `headline` around this many characters.
const HEADLINE_CHARS: usize = 110;

/// schema.org's `NewsArticle`, as the page's JSON-LD: a struct, not a
/// `serde_json::Value`, since every article page of a build makes one.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct NewsArticle<'a> {
    #[serde(rename = "@context")]
    context: &'static str,
    #[serde(rename = "@type")]
    kind: &'static str,
    headline: String,
    date_published: String,
    date_modified: String,
    author: Named<'a>,
    publisher: Publisher<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    image: Option<[Picture<'a>; 1]>,
    main_entity_of_page: WebPage<'a>,
    in_language: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    article_section: Option<&'a str>,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    keywords: &'a [String],
}

/// A `Person` or an `Organization`.
#[derive(serde::Serialize)]
struct Named<'a> {
    #[serde(rename = "@type")]
    kind: &'static str,
    name: std::borrow::Cow<'a, str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<String>,
}

#[derive(serde::Serialize)]
struct Publisher<'a> {
    #[serde(rename = "@type")]
    kind: &'static str,
    name: &'a str,
    url: &'a str,
    logo: ImageObject,
}

#[derive(serde::Serialize)]
struct ImageObject {
    #[serde(rename = "@type")]
    kind: &'static str,
    url: String,
    width: u32,
    height: u32,
}

/// An article's image: an `ImageObject` with its size when it is a file
/// of the site, else its URL.
#[derive(serde::Serialize)]
#[serde(untagged)]
enum Picture<'a> {
    Url(&'a str),
    Object {
        #[serde(rename = "@type")]
        kind: &'static str,
        url: &'a str,
        width: u32,
        height: u32,
        #[serde(skip_serializing_if = "Option::is_none")]
        caption: Option<&'a str>,
    },
}

fn picture(a: &Article) -> Option<Picture<'_>> {
    let image = super::image_of(a)?;
    let caption = image.text.and_then(|t| t.caption.as_deref());
    Some(match image.file.and_then(|f| Some((f.width?, f.height?))) {
        Some((width, height)) => Picture::Object {
            kind: "ImageObject",
            url: image.url,
            width,
            height,
            caption,
        },
        None => Picture::Url(image.url),
    })
}

/// What an image says to those who cannot see it: its `image_alt`, else
/// its caption, else nothing (a picture that adds nothing to the text).
pub fn image_alt(a: &Article) -> &str {
    let text = a.image_text.as_deref();
    text.and_then(|t| t.alt.as_deref().or(t.caption.as_deref()))
        .unwrap_or("")
}

#[derive(serde::Serialize)]
struct WebPage<'a> {
    #[serde(rename = "@type")]
    kind: &'static str,
    #[serde(rename = "@id")]
    id: &'a str,
}

/// `s` cut to at most `max` characters, the last of them `…` when cut.
fn cut(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        None => s.to_string(),
        Some(_) => {
            let keep = s.char_indices().nth(max - 1).map_or(s.len(), |(i, _)| i);
            format!("{}…", &s[..keep])
        }
    }
}

/// The page's `NewsArticle` as JSON that is safe inside a `<script>`
/// element: `<`, `>` and `&` only ever occur inside JSON strings, where
/// their `\u` escapes mean the same, so no title can close the element
/// or open a comment. An article that names no author is the desk's:
/// its district's, or the site's.
fn json_ld(scope: &Scope<'_>, a: &Article, url: &str) -> Result<String, RenderError> {
    let config = scope.config;
    let author = match a.author.as_deref() {
        Some(name) => Named {
            kind: "Person",
            name: name.into(),
            url: None,
        },
        None => Named {
            kind: "Organization",
            name: scope.title().into(),
            url: Some(scope.page_url()),
        },
    };
    let doc = NewsArticle {
        context: "https://schema.org",
        kind: "NewsArticle",
        headline: cut(&a.title, HEADLINE_CHARS),
        date_published: a.date.to_rfc3339(),
        date_modified: a.updated.to_rfc3339(),
        author,
        publisher: Publisher {
            kind: "Organization",
            name: &config.title,
            url: config.base_url.as_str(),
            logo: ImageObject {
                kind: "ImageObject",
                url: config.url(super::names::LOGO),
                width: super::LOGO_SIZE,
                height: super::LOGO_SIZE,
            },
        },
        image: picture(a).map(|p| [p]),
        main_entity_of_page: WebPage {
            kind: "WebPage",
            id: url,
        },
        in_language: &config.language,
        article_section: scope.district.map(|d| d.name.as_str()),
        keywords: &a.tags,
    };
    let text = serde_json::to_string(&doc).map_err(|e| RenderError {
        format: "JSON-LD",
        message: e.to_string(),
    })?;
    if !text.contains(['<', '>', '&']) {
        return Ok(text);
    }
    Ok(text
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026"))
}

#[cfg(test)]
mod tests {
    use super::cut;

    #[test]
    fn headlines_are_cut_on_a_character_with_an_ellipsis() {
        assert_eq!(cut("短标题", 110), "短标题");
        let long = "长".repeat(111);
        let headline = cut(&long, 110);
        assert_eq!(headline.chars().count(), 110);
        assert!(headline.ends_with("长…"));
        assert_eq!(cut(&"长".repeat(110), 110), "长".repeat(110));
        assert_eq!(cut("𝕏🦀𠀀x", 3), "𝕏🦀…");
    }
}
