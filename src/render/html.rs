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

/// What a page says besides its main content.
struct Frame<'a> {
    /// The `<title>`.
    title: &'a str,
    /// Its own URL, for `rel="canonical"`.
    canonical: &'a str,
    /// More of `<head>`: discovery links, metadata.
    head: &'a str,
    /// Where it stands under the index, as (URL, name) links; the index
    /// alone has none.
    trail: &'a [(String, &'a str)],
}

/// A whole page: a banner with the site's name and where the page
/// stands (`<header>`, `<nav>`), the content (`<main>`), the footer.
/// Every part in a landmark, for screen readers' navigation.
fn layout(config: &Config, frame: &Frame<'_>, main: &str) -> Vec<u8> {
    let home = config.url("");
    let mut nav = format!(
        "<a href=\"{}\">{}</a>",
        escape(&home),
        escape(&config.title)
    );
    for (url, name) in frame.trail {
        nav += &format!(" › <a href=\"{}\">{}</a>", escape(url), escape(name));
    }
    format!(
        "<!DOCTYPE html>\n<html lang=\"{lang}\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{title}</title>\n<link rel=\"canonical\" href=\"{canonical}\">\n<link rel=\"icon\" type=\"image/svg+xml\" href=\"{logo}\">\n{head}<style>{STYLE}</style>\n</head>\n<body>\n<header><nav aria-label=\"位置\">{nav}</nav></header>\n<main>\n{main}</main>\n<footer><p>{site} · <a href=\"{opml}\">OPML</a></p></footer>\n</body>\n</html>\n",
        lang = escape(&config.language),
        title = escape(frame.title),
        canonical = escape(frame.canonical),
        logo = escape(&config.url(super::names::LOGO)),
        head = frame.head,
        site = escape(&config.title),
        opml = escape(&config.url(super::names::FEEDS_OPML)),
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
        "<h1>{}</h1>\n<p>{}</p>\n<section aria-labelledby=\"subscribe\"><h2 id=\"subscribe\">订阅</h2>\n<ul class=\"feeds\">\n<li><strong>{}</strong>（全部） {}</li>\n",
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
        escape(&config.url(super::names::FEEDS_OPML))
    );
    if topics > 0 {
        body += &format!(
            "\n<p><a href=\"{}\">话题</a>（{topics} 个）</p>",
            escape(&config.url(super::names::TOPICS_DIR))
        );
    }
    body += "</section>\n<section aria-labelledby=\"latest\"><h2 id=\"latest\">最新</h2>\n<ul>\n";
    for a in &city.articles {
        body += &headline(config, a, city.district_name(a));
    }
    if city.articles.is_empty() {
        body += "<li>暂无文章</li>\n";
    }
    body += "</ul>\n";
    body += &older_link(city);
    body += "</section>\n";
    let frame = Frame {
        title: &config.title,
        canonical: &city.page_url(),
        head: &discovery(city),
        trail: &[],
    };
    layout(config, &frame, &body)
}

/// Where a scope's pages stand: a topic under `/topics/`, a district
/// under the index.
fn trail<'a>(scope: &Scope<'a>) -> Vec<(String, &'a str)> {
    match scope.topic {
        Some(_) => vec![(scope.config.url(super::names::TOPICS_DIR), "话题")],
        None => Vec::new(),
    }
}

/// `/<district>/` and `/topics/<tag>/`: the latest articles and the feeds.
pub fn district(scope: &Scope<'_>) -> Vec<u8> {
    let config = scope.config;
    let name = scope.name().unwrap_or_default();
    let mut body = format!(
        "<h1>{}</h1>\n<p>{}</p>\n<p class=\"feeds\">订阅：{}</p>\n<ul>\n",
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
    let frame = Frame {
        title: &scope.title(),
        canonical: &scope.page_url(),
        head: &discovery(scope),
        trail: &trail(scope),
    };
    layout(config, &frame, &body)
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
    let title = format!("{} · 往期第 {number} 页", scope.title());
    let mut body = format!("<h1>{}</h1>\n<ul>\n", escape(&title));
    // The city's pages name each article's district, as the index does.
    let city = scope.district.is_none() && scope.topic.is_none();
    for a in &scope.articles {
        let place = if city { scope.district_name(a) } else { None };
        body += &headline(config, a, place);
    }
    body += "</ul>\n<p class=\"pages\">";
    let mut head = String::new();
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
    let mut trail = trail(scope);
    if let Some(name) = scope.name() {
        trail.push((scope.page_url(), name));
    }
    let frame = Frame {
        title: &title,
        canonical: &scope.archive_page_url(number),
        head: &head,
        trail: &trail,
    };
    layout(config, &frame, &body)
}

/// `/topics/`: every topic, with its article count and its feeds.
pub fn topics(config: &Config, topics: &[Scope<'_>]) -> Vec<u8> {
    let mut body = format!(
        "<h1>话题</h1>\n<p>{} 个话题 · 在阅读器中导入 <a href=\"{}\">OPML</a> 可一次订阅全部话题。</p>\n<ul class=\"feeds\">\n",
        topics.len(),
        escape(&config.url(super::names::TOPICS_OPML))
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
    let frame = Frame {
        title: &format!("{} · 话题", config.title),
        canonical: &config.url(super::names::TOPICS_DIR),
        head: "",
        trail: &[],
    };
    layout(config, &frame, &body)
}

/// `/<district>/<slug>.html`: the article itself.
/// An article's image, with its size when known (no layout shift), what
/// it says to those who cannot see it, and its caption and credit.
fn figure(a: &Article) -> String {
    let Some(image) = super::image_of(a) else {
        return String::new();
    };
    let size = image
        .file
        .and_then(|f| Some(format!(" width=\"{}\" height=\"{}\"", f.width?, f.height?)))
        .unwrap_or_default();
    let text = image.text;
    let words: Vec<&str> = [
        text.and_then(|t| t.caption.as_deref()),
        text.and_then(|t| t.credit.as_deref()),
    ]
    .into_iter()
    .flatten()
    .collect();
    let caption = if words.is_empty() {
        String::new()
    } else {
        format!("<figcaption>{}</figcaption>", escape(&words.join(" · ")))
    };
    format!(
        "<figure><img src=\"{}\" alt=\"{}\"{size} style=\"max-width:100%;height:auto\">{caption}</figure>\n",
        escape(image.url),
        escape(super::meta::image_alt(a))
    )
}

pub fn article(scope: &Scope<'_>, a: &Article, content: &Body) -> Result<Vec<u8>, RenderError> {
    let config = scope.config;
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
        "<article>\n<h1>{}</h1>\n<p class=\"meta\">{meta}</p>\n{}{}\n{source}</article>\n<p class=\"feeds\">订阅：{}</p>\n",
        escape(&a.title),
        figure(a),
        content.html,
        feed_links(scope)
    );
    let url = a.url(config);
    let head = format!(
        "{}{}",
        super::meta::article(scope, a, &content.summary)?,
        discovery(scope)
    );
    let trail: Vec<(String, &str)> = scope
        .district
        .map(|d| (scope.page_url(), d.name.as_str()))
        .into_iter()
        .collect();
    let frame = Frame {
        title: &format!("{} - {}", a.title, scope.title()),
        canonical: &url,
        head: &head,
        trail: &trail,
    };
    Ok(layout(config, &frame, &body))
}
