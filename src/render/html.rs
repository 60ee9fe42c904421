//! The HTML pages: the index, the district, topic and archive pages,
//! `/topics/` and one page per article. What each shows is worked out
//! here; how it looks is a template (`crate::templates`), built in or
//! the newsroom's own. The names given to the templates are documented
//! in docs/templates.md: a rename there is a change for every newsroom.

use minijinja::Value;
use serde::Serialize;

use super::{FeedKind, RenderError, Scope};
use crate::config::Config;
use crate::content::{Article, Body};

/// A value for the templates, from a struct.
fn data(value: impl Serialize) -> Value {
    Value::from(minijinja::value::Serde(value))
}

/// What every page is given of the site.
#[derive(Serialize)]
struct Site<'a> {
    title: &'a str,
    /// The site's description (its title when it has none).
    description: String,
    /// The home page.
    url: String,
    language: &'a str,
    logo_url: String,
    opml_url: String,
    topics_url: String,
    topics_opml_url: String,
}

impl<'a> Site<'a> {
    fn of(config: &'a Config) -> Self {
        Site {
            title: &config.title,
            description: Scope::bare(config, None).description(),
            url: config.url(""),
            language: &config.language,
            logo_url: config.url(super::names::LOGO),
            opml_url: config.url(super::names::FEEDS_OPML),
            topics_url: config.url(super::names::TOPICS_DIR),
            topics_opml_url: config.url(super::names::TOPICS_OPML),
        }
    }
}

/// One of a scope's feeds: its URL, media type, format label and the
/// title a reader shows for it.
#[derive(Serialize)]
struct FeedLink {
    url: String,
    #[serde(rename = "type")]
    media_type: &'static str,
    label: &'static str,
    title: String,
}

fn feeds(scope: &Scope<'_>) -> Vec<FeedLink> {
    let title = scope.title();
    FeedKind::ALL
        .iter()
        .map(|k| FeedLink {
            url: scope.feed_url(*k),
            media_type: k.media_type(),
            label: k.label(),
            title: format!("{title} ({})", k.label()),
        })
        .collect()
}

/// A link on the way from the home page to this one.
#[derive(Serialize)]
struct Step<'a> {
    url: String,
    name: &'a str,
}

/// A district or topic as listed and as its own page shows it.
#[derive(Serialize)]
struct Listed<'a> {
    name: &'a str,
    title: String,
    description: String,
    url: String,
    /// Its articles, all of them.
    total: usize,
    feeds: Vec<FeedLink>,
}

impl<'a> Listed<'a> {
    fn of(scope: &Scope<'a>) -> Self {
        Listed {
            name: scope.name().unwrap_or_default(),
            title: scope.title(),
            description: scope.description(),
            url: scope.page_url(),
            total: scope.total,
            feeds: feeds(scope),
        }
    }
}

/// An article as a list of headlines and its own page show it.
#[derive(Serialize)]
struct Headline<'a> {
    title: &'a str,
    url: String,
    /// RFC 3339, for `datetime`.
    date: String,
    updated: String,
    /// `2023-01-10`.
    day: String,
    /// `08:30`; none when the article gave a date only.
    time: Option<String>,
    /// Its district's name, where the list mixes districts.
    place: Option<&'a str>,
    author: Option<&'a str>,
    tags: &'a [String],
    /// The original's URL, when it came from elsewhere.
    link: Option<&'a str>,
}

impl<'a> Headline<'a> {
    fn of(config: &Config, a: &'a Article, place: Option<&'a str>) -> Self {
        // A date written without a time shows no time.
        let time =
            (a.date.time() != chrono::NaiveTime::MIN).then(|| a.date.format("%H:%M").to_string());
        Headline {
            title: &a.title,
            url: a.url(config),
            date: a.date.to_rfc3339(),
            updated: a.updated.to_rfc3339(),
            day: a.date.format("%Y-%m-%d").to_string(),
            time,
            place,
            author: a.author.as_deref(),
            tags: &a.tags,
            link: a.link.as_deref(),
        }
    }
}

/// What every page is given besides its own: the site, its `<title>`,
/// its own URL, where it stands under the home page, its feeds.
#[derive(Serialize)]
struct Frame<'a> {
    site: Site<'a>,
    title: String,
    canonical: String,
    trail: Vec<Step<'a>>,
    feeds: Vec<FeedLink>,
}

/// A page's whole context: one map, not maps merged (each name a page
/// prints is looked up once in it).
#[derive(Serialize)]
struct Context<'a, T> {
    #[serde(flatten)]
    frame: Frame<'a>,
    #[serde(flatten)]
    own: T,
}

/// Renders `template` with the frame and the page's own values.
fn render(
    config: &Config,
    template: &str,
    frame: Frame<'_>,
    own: impl Serialize,
) -> Result<Vec<u8>, RenderError> {
    let context = data(Context { frame, own });
    config
        .templates
        .render(template, context)
        .map(String::into_bytes)
        .map_err(|e| RenderError {
            format: "HTML",
            message: e.to_string(),
        })
}

fn headlines<'a>(scope: &Scope<'a>, places: bool) -> Vec<Headline<'a>> {
    let config = scope.config;
    scope
        .articles
        .iter()
        .map(|a| Headline::of(config, a, places.then(|| scope.district_name(a)).flatten()))
        .collect()
}

/// The link from a scope's page to its newest archive page, if any.
fn older(scope: &Scope<'_>) -> Option<String> {
    match scope.archive_count() {
        0 => None,
        of => Some(scope.archive_page_url(of)),
    }
}

/// `/`: every feed with subscribe links, and the latest headlines.
/// `topics`: how many topics `/topics/` lists.
pub fn index(
    city: &Scope<'_>,
    districts: &[Scope<'_>],
    topics: usize,
) -> Result<Vec<u8>, RenderError> {
    let config = city.config;
    let frame = Frame {
        site: Site::of(config),
        title: config.title.clone(),
        canonical: city.page_url(),
        trail: Vec::new(),
        feeds: feeds(city),
    };
    #[derive(Serialize)]
    struct Own<'a> {
        districts: Vec<Listed<'a>>,
        topics: usize,
        articles: Vec<Headline<'a>>,
        older: Option<String>,
    }
    let own = Own {
        districts: districts.iter().map(Listed::of).collect(),
        topics,
        articles: headlines(city, true),
        older: older(city),
    };
    render(config, "index.html", frame, own)
}

/// Where a scope's pages stand: a topic under `/topics/`, a district
/// under the index.
fn trail<'a>(scope: &Scope<'a>) -> Vec<Step<'a>> {
    match scope.topic {
        Some(_) => vec![Step {
            url: scope.config.url(super::names::TOPICS_DIR),
            name: "话题",
        }],
        None => Vec::new(),
    }
}

/// `/<district>/` and `/topics/<tag>/`: the latest articles and the feeds.
pub fn district(scope: &Scope<'_>) -> Result<Vec<u8>, RenderError> {
    let frame = Frame {
        site: Site::of(scope.config),
        title: scope.title(),
        canonical: scope.page_url(),
        trail: trail(scope),
        feeds: feeds(scope),
    };
    #[derive(Serialize)]
    struct Own<'a> {
        scope: Listed<'a>,
        articles: Vec<Headline<'a>>,
        older: Option<String>,
    }
    let own = Own {
        scope: Listed::of(scope),
        articles: headlines(scope, false),
        older: older(scope),
    };
    let template = if scope.topic.is_some() {
        "topic.html"
    } else {
        "district.html"
    };
    render(scope.config, template, frame, own)
}

/// `/<district>/archive/page-3.html`: archive `number` of `of`, the
/// articles of the RFC 5005 documents of that number, newest first.
/// It links to the older page and the newer one (the scope's own page
/// after the newest), so a closed page's bytes never change.
pub fn archive(scope: &Scope<'_>, number: usize, of: usize) -> Result<Vec<u8>, RenderError> {
    let older = (number > 1).then(|| scope.archive_page_url(number - 1));
    let newer = if number < of {
        scope.archive_page_url(number + 1)
    } else {
        scope.page_url()
    };
    let mut trail = trail(scope);
    if let Some(name) = scope.name() {
        trail.push(Step {
            url: scope.page_url(),
            name,
        });
    }
    let frame = Frame {
        site: Site::of(scope.config),
        title: format!("{} · 往期第 {number} 页", scope.title()),
        canonical: scope.archive_page_url(number),
        trail,
        feeds: feeds(scope),
    };
    // The city's pages name each article's district, as the index does.
    let city = scope.district.is_none() && scope.topic.is_none();
    #[derive(Serialize)]
    struct Own<'a> {
        scope: Listed<'a>,
        articles: Vec<Headline<'a>>,
        number: usize,
        of: usize,
        older: Option<String>,
        newer: String,
    }
    let own = Own {
        scope: Listed::of(scope),
        articles: headlines(scope, city),
        number,
        of,
        older,
        newer,
    };
    render(scope.config, "archive.html", frame, own)
}

/// `/topics/`: every topic, with its article count and its feeds.
pub fn topics(config: &Config, topics: &[Scope<'_>]) -> Result<Vec<u8>, RenderError> {
    let frame = Frame {
        site: Site::of(config),
        title: format!("{} · 话题", config.title),
        canonical: config.url(super::names::TOPICS_DIR),
        trail: Vec::new(),
        feeds: Vec::new(),
    };
    #[derive(Serialize)]
    struct Own<'a> {
        topics: Vec<Listed<'a>>,
    }
    let own = Own {
        topics: topics.iter().map(Listed::of).collect(),
    };
    render(config, "topics.html", frame, own)
}

/// An article's image as its page shows it: its size when known (no
/// layout shift), what it says to those who cannot see it, its caption
/// and credit.
#[derive(Serialize)]
struct Image<'a> {
    url: &'a str,
    alt: &'a str,
    width: Option<u32>,
    height: Option<u32>,
    caption: Option<&'a str>,
    credit: Option<&'a str>,
}

fn image(a: &Article) -> Option<Image<'_>> {
    let image = super::image_of(a)?;
    let text = image.text;
    Some(Image {
        url: image.url,
        alt: super::meta::image_alt(a),
        width: image.file.and_then(|f| f.width),
        height: image.file.and_then(|f| f.height),
        caption: text.and_then(|t| t.caption.as_deref()),
        credit: text.and_then(|t| t.credit.as_deref()),
    })
}

/// `/<district>/<slug>.html`: the article itself.
pub fn article(scope: &Scope<'_>, a: &Article, content: &Body) -> Result<Vec<u8>, RenderError> {
    let config = scope.config;
    let trail = scope
        .district
        .map(|d| Step {
            url: scope.page_url(),
            name: d.name.as_str(),
        })
        .into_iter()
        .collect();
    let frame = Frame {
        site: Site::of(config),
        title: format!("{} - {}", a.title, scope.title()),
        canonical: a.url(config),
        trail,
        feeds: feeds(scope),
    };
    /// The article on its own page: a headline and the rest.
    #[derive(Serialize)]
    struct Whole<'a> {
        #[serde(flatten)]
        headline: Headline<'a>,
        summary: &'a str,
        image: Option<Image<'a>>,
        /// HTML already (sanitised): printed as it is.
        content: Value,
    }
    #[derive(Serialize)]
    struct Own<'a> {
        article: Whole<'a>,
        meta: Value,
    }
    let own = Own {
        article: Whole {
            headline: Headline::of(config, a, scope.district_name(a)),
            summary: &content.summary,
            image: image(a),
            content: Value::from_safe_string(content.html.clone()),
        },
        meta: Value::from_safe_string(super::meta::article(scope, a, &content.summary)?),
    };
    render(config, "article.html", frame, own)
}
