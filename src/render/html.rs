//! The HTML pages: the index, one page per district and one per article.
//! Self-contained (inline style, no scripts, no external assets).

use super::{FeedKind, RenderError, Scope, escape};
use crate::config::Config;
use crate::content::{Article, Body};

const STYLE: &str = "body{font-family:system-ui,-apple-system,\"PingFang SC\",\"Noto Sans CJK SC\",\"Microsoft YaHei\",sans-serif;max-width:44rem;margin:2rem auto;padding:0 1rem;line-height:1.75;color:#222;background:#fff}\
a{color:#a40000}header p,footer,.meta{color:#666;font-size:.9rem}ul.feeds{padding-left:1.2rem}\
li{margin:.3rem 0}.feeds a{margin-right:.6rem}time{color:#666;font-size:.9rem;margin-right:.5rem}\
article p{text-indent:2em}article p.meta{text-indent:0}nav{font-size:.9rem;margin-bottom:1rem}footer{margin-top:3rem;border-top:1px solid #ddd;padding-top:.5rem}";

/// `<link rel="alternate">` lines for a scope's feeds, for reader discovery.
fn discovery(scope: &Scope<'_>) -> String {
    FeedKind::ALL
        .iter()
        .map(|k| {
            format!(
                "<link rel=\"alternate\" type=\"{}\" title=\"{} ({})\" href=\"{}\">\n",
                k.media_type(),
                escape(&scope.title()),
                k.label(),
                escape(&scope.feed_url(*k))
            )
        })
        .collect()
}

/// `RSS · Atom · JSON Feed` links for a scope.
fn feed_links(scope: &Scope<'_>) -> String {
    FeedKind::ALL
        .iter()
        .map(|k| {
            format!(
                "<a href=\"{}\" type=\"{}\">{}</a>",
                escape(&scope.feed_url(*k)),
                k.media_type(),
                k.label()
            )
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn layout(config: &Config, title: &str, head: &str, body: &str) -> Vec<u8> {
    format!(
        "<!DOCTYPE html>\n<html lang=\"{lang}\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{title}</title>\n{head}<style>{STYLE}</style>\n</head>\n<body>\n{body}<footer>{site} · <a href=\"{opml}\">OPML</a></footer>\n</body>\n</html>\n",
        lang = escape(&config.language),
        title = escape(title),
        site = escape(&config.title),
        opml = escape(&config.url("feeds.opml")),
    )
    .into_bytes()
}

fn headline(config: &Config, a: &Article, district: Option<&str>) -> String {
    let place = district
        .map(|d| format!(" <span class=\"meta\">{}</span>", escape(d)))
        .unwrap_or_default();
    format!(
        "<li><time datetime=\"{}\">{}</time><a href=\"{}\">{}</a>{place}</li>\n",
        a.date.to_rfc3339(),
        a.date.format("%Y-%m-%d"),
        escape(&a.url(config)),
        escape(&a.title)
    )
}

/// `/`: every feed with subscribe links, and the latest headlines.
/// `topics`: how many topics `/topics/` lists.
pub fn index(city: &Scope<'_>, districts: &[Scope<'_>], topics: usize) -> Vec<u8> {
    let config = city.config;
    let mut body = format!(
        "<header><h1>{}</h1><p>{}</p></header>\n<section><h2>订阅</h2>\n<ul class=\"feeds\">\n<li><strong>{}</strong>（全部） {}</li>\n",
        escape(&config.title),
        escape(&city.description()),
        escape(&config.title),
        feed_links(city)
    );
    for s in districts {
        let name = s.district.map(|d| d.name.as_str()).unwrap_or_default();
        body += &format!(
            "<li><a href=\"{}\">{}</a>（{} 篇） {}</li>\n",
            escape(&s.page_url()),
            escape(name),
            s.total,
            feed_links(s)
        );
    }
    body += &format!(
        "</ul>\n<p class=\"meta\">在阅读器中导入 <a href=\"{}\">OPML</a> 可一次订阅全部栏目。</p>",
        escape(&config.url("feeds.opml"))
    );
    if topics > 0 {
        body += &format!(
            "\n<p><a href=\"{}\">话题</a>（{topics} 个）</p>",
            escape(&config.url("topics/"))
        );
    }
    body += "</section>\n<section><h2>最新</h2>\n<ul>\n";
    for a in &city.articles {
        body += &headline(config, a, city.district_name(a));
    }
    if city.articles.is_empty() {
        body += "<li>暂无文章</li>\n";
    }
    body += "</ul>";
    let older = older_link(city);
    if !older.is_empty() {
        body += "\n";
        body += &older;
    }
    body += "</section>\n";
    layout(config, &config.title, &discovery(city), &body)
}

/// `/<district>/`: the district's latest articles and its feeds.
pub fn district(scope: &Scope<'_>) -> Vec<u8> {
    let config = scope.config;
    let name = scope.name().unwrap_or_default();
    let mut body = format!(
        "<nav><a href=\"{}\">{}</a></nav>\n<header><h1>{}</h1><p>{}</p><p class=\"feeds\">订阅：{}</p></header>\n<ul>\n",
        escape(&config.url("")),
        escape(&config.title),
        escape(name),
        escape(&scope.description()),
        feed_links(scope)
    );
    for a in &scope.articles {
        body += &headline(config, a, None);
    }
    if scope.articles.is_empty() {
        body += "<li>暂无文章</li>\n";
    }
    body += "</ul>\n";
    body += &older_link(scope);
    layout(config, &scope.title(), &discovery(scope), &body)
}

/// The link from a scope's page to its newest archive page, if any.
fn older_link(scope: &Scope<'_>) -> String {
    match scope.archive_count() {
        0 => String::new(),
        of => format!(
            "<p class=\"pages\"><a rel=\"prev\" href=\"{}\">更早的文章</a></p>\n",
            escape(&scope.archive_page_url(of))
        ),
    }
}

/// `/<district>/archive/page-3.html`: archive `number` of `of`, the
/// articles of the RFC 5005 documents of that number, newest first.
/// It links to the older page and the newer one (the scope's own page
/// after the newest), so a closed page's bytes never change.
pub fn archive(scope: &Scope<'_>, number: usize, of: usize) -> Vec<u8> {
    let config = scope.config;
    let older = (number > 1).then(|| scope.archive_page_url(number - 1));
    let newer = if number < of {
        scope.archive_page_url(number + 1)
    } else {
        scope.page_url()
    };
    let mut nav = format!(
        "<a href=\"{}\">{}</a>",
        escape(&config.url("")),
        escape(&config.title)
    );
    if let Some(name) = scope.name() {
        nav += &format!(
            " › <a href=\"{}\">{}</a>",
            escape(&scope.page_url()),
            escape(name)
        );
    }
    let title = format!("{} · 往期第 {number} 页", scope.title());
    let mut body = format!(
        "<nav>{nav}</nav>\n<header><h1>{}</h1></header>\n<ul>\n",
        escape(&title)
    );
    // The city's pages name each article's district, as the index does.
    let city = scope.district.is_none() && scope.topic.is_none();
    for a in &scope.articles {
        let place = if city { scope.district_name(a) } else { None };
        body += &headline(config, a, place);
    }
    body += "</ul>\n<p class=\"pages\">";
    let mut head = format!(
        "<link rel=\"canonical\" href=\"{}\">\n",
        escape(&scope.archive_page_url(number))
    );
    if let Some(older) = &older {
        head += &format!("<link rel=\"prev\" href=\"{}\">\n", escape(older));
        body += &format!("<a rel=\"prev\" href=\"{}\">← 更早</a> · ", escape(older));
    }
    head += &format!("<link rel=\"next\" href=\"{}\">\n", escape(&newer));
    body += &format!(
        "<a rel=\"next\" href=\"{}\">较新 →</a></p>\n",
        escape(&newer)
    );
    head += &discovery(scope);
    layout(config, &title, &head, &body)
}

/// `/topics/`: every topic, with its article count and its feeds.
pub fn topics(config: &Config, topics: &[Scope<'_>]) -> Vec<u8> {
    let mut body = format!(
        "<nav><a href=\"{}\">{}</a></nav>\n<header><h1>话题</h1><p>{} 个话题 · 在阅读器中导入 <a href=\"{}\">OPML</a> 可一次订阅全部话题。</p></header>\n<ul class=\"feeds\">\n",
        escape(&config.url("")),
        escape(&config.title),
        topics.len(),
        escape(&config.url("topics.opml"))
    );
    for t in topics {
        body += &format!(
            "<li><a href=\"{}\">{}</a>（{} 篇） {}</li>\n",
            escape(&t.page_url()),
            escape(t.name().unwrap_or_default()),
            t.total,
            feed_links(t)
        );
    }
    body += "</ul>\n";
    layout(config, &format!("{} · 话题", config.title), "", &body)
}

/// `/<district>/<slug>.html`: the article itself.
pub fn article(scope: &Scope<'_>, a: &Article, content: &Body) -> Result<Vec<u8>, RenderError> {
    let config = scope.config;
    let mut nav = format!(
        "<a href=\"{}\">{}</a>",
        escape(&config.url("")),
        escape(&config.title)
    );
    if let Some(d) = scope.district {
        nav += &format!(
            " › <a href=\"{}\">{}</a>",
            escape(&scope.page_url()),
            escape(&d.name)
        );
    }
    // A date written without a time shows no time.
    let shown = if a.date.time() == chrono::NaiveTime::MIN {
        "%Y-%m-%d"
    } else {
        "%Y-%m-%d %H:%M"
    };
    let mut meta = format!(
        "<time datetime=\"{}\">{}</time>",
        a.date.to_rfc3339(),
        a.date.format(shown)
    );
    if let Some(author) = &a.author {
        meta += &format!(" {}", escape(author));
    }
    if !a.tags.is_empty() {
        meta += &format!(
            " · {}",
            a.tags
                .iter()
                .map(|t| escape(t))
                .collect::<Vec<_>>()
                .join("、")
        );
    }
    let source = match &a.link {
        Some(link) => format!(
            "<p class=\"meta\">原文：<a href=\"{0}\">{0}</a></p>\n",
            escape(link)
        ),
        None => String::new(),
    };
    let body = format!(
        "<nav>{nav}</nav>\n<article>\n<h1>{}</h1>\n<p class=\"meta\">{meta}</p>\n{}\n{source}</article>\n<p class=\"feeds\">订阅：{}</p>\n",
        escape(&a.title),
        content.html,
        feed_links(scope)
    );
    let head = format!(
        "<link rel=\"canonical\" href=\"{}\">\n{}{}",
        escape(&a.url(config)),
        article_meta(scope, a, &content.summary)?,
        discovery(scope)
    );
    Ok(layout(
        config,
        &format!("{} - {}", a.title, scope.title()),
        &head,
        &body,
    ))
}

/// What search engines and social apps read from an article page: the
/// description, OpenGraph properties and one JSON-LD `NewsArticle`.
fn article_meta(scope: &Scope<'_>, a: &Article, summary: &str) -> Result<String, RenderError> {
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
    if let Some(image) = &a.image {
        props.push(("og:image", image));
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

/// schema.org's `NewsArticle`, as the page's JSON-LD: a struct, not a
/// `serde_json::Value`, since every article page of a build makes one.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct NewsArticle<'a> {
    #[serde(rename = "@context")]
    context: &'static str,
    #[serde(rename = "@type")]
    kind: &'static str,
    headline: &'a str,
    date_published: String,
    date_modified: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    author: Option<Named<'a>>,
    publisher: Named<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    image: Option<[&'a str; 1]>,
    main_entity_of_page: WebPage<'a>,
    in_language: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    article_section: Option<&'a str>,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    keywords: &'a [String],
}

#[derive(serde::Serialize)]
struct Named<'a> {
    #[serde(rename = "@type")]
    kind: &'static str,
    name: &'a str,
}

#[derive(serde::Serialize)]
struct WebPage<'a> {
    #[serde(rename = "@type")]
    kind: &'static str,
    #[serde(rename = "@id")]
    id: &'a str,
}

/// The page's `NewsArticle` as JSON that is safe inside a `<script>`
/// element: `<`, `>` and `&` only ever occur inside JSON strings, where
/// their `\u` escapes mean the same, so no title can close the element
/// or open a comment.
fn json_ld(scope: &Scope<'_>, a: &Article, url: &str) -> Result<String, RenderError> {
    let config = scope.config;
    let doc = NewsArticle {
        context: "https://schema.org",
        kind: "NewsArticle",
        headline: &a.title,
        date_published: a.date.to_rfc3339(),
        date_modified: a.updated.to_rfc3339(),
        author: a.author.as_deref().map(|name| Named {
            kind: "Person",
            name,
        }),
        publisher: Named {
            kind: "Organization",
            name: &config.title,
        },
        image: a.image.as_deref().map(|i| [i]),
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
