//! Site configuration: `crier.toml` merged with overrides from flags and
//! environment (clap resolves flag-over-env), validated once at startup.

use std::path::Path;

use chrono_tz::Tz;
use indexmap::IndexMap;
use serde::Deserialize;
use url::Url;

use crate::templates::Templates;

/// A configuration problem: always names the key (or the file) at fault.
#[derive(Debug, thiserror::Error)]
#[error("{origin}: {message}")]
pub struct ConfigError {
    /// `crier.toml`, `crier.toml:12` or `--base-url / CRIER_BASE_URL`.
    pub origin: String,
    pub message: String,
}

/// `crier.toml` as written: every key optional so that flags can supply it.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub title: Option<String>,
    pub description: Option<String>,
    pub base_url: Option<String>,
    pub id_authority: Option<String>,
    pub language: Option<String>,
    pub timezone: Option<String>,
    pub feed_limit: Option<usize>,
    pub max_age: Option<u64>,
    /// Topic pages and feeds from tags (default true).
    pub topics: Option<bool>,
    #[serde(default)]
    pub districts: IndexMap<String, DistrictConfig>,
    /// Old path → new path or URL: answered with 301 for good.
    #[serde(default)]
    pub redirects: IndexMap<String, String>,
    /// Slugs of districts that are gone: their paths answer 410.
    #[serde(default)]
    pub retired: Vec<String>,
    /// WebSub hub URL(s), or "builtin".
    pub hub: Option<HubSetting>,
    /// Hosts the built-in hub may call back ("*": any).
    #[serde(default)]
    pub hub_callbacks: Vec<String>,
    /// A folder `crier serve` imports printed pages from.
    pub import_dir: Option<std::path::PathBuf>,
    /// Media files beside the articles larger than this are not
    /// published (default 20 MB).
    pub media_max_bytes: Option<u64>,
    /// PostgreSQL for the readers' counts (default: SQLite in the state folder).
    pub database_url: Option<String>,
    /// The bearer token of `/stats/` (none: no `/stats/`).
    pub stats_token: Option<String>,
    /// What direct readers' daily keys derive from: one for all replicas.
    pub readers_secret: Option<String>,
}

/// `hub = "https://hub.example/"` or a list of them.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum HubSetting {
    One(String),
    Many(Vec<String>),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DistrictConfig {
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// Other names a printed page may head the district's briefs with.
    #[serde(default)]
    pub aliases: Vec<String>,
}

/// Values given by flag or environment variable win over the file; they
/// have the file's shape (their `districts` are not used).
pub type Overrides = FileConfig;

#[derive(Debug, Clone)]
pub struct District {
    pub slug: String,
    pub name: String,
    pub description: String,
    /// Other names of it on a printed page (`crier import`).
    pub aliases: Vec<String>,
}

/// The merged, validated settings the rest of crier works from.
#[derive(Debug, Clone)]
pub struct Config {
    pub title: String,
    pub description: String,
    /// Absolute, always ends in `/`.
    pub base_url: Url,
    pub id_authority: String,
    pub language: String,
    pub timezone: Tz,
    pub feed_limit: usize,
    pub max_age: u64,
    /// Whether tags make topic pages and feeds.
    pub topics: bool,
    /// In the order of `crier.toml`.
    pub districts: Vec<District>,
    /// Moved paths: the old path, percent-decoded, and the absolute URL it
    /// moved to.
    pub redirects: Vec<(String, String)>,
    /// Slugs of removed districts.
    pub retired: Vec<String>,
    /// WebSub hubs: announced in every feed and its `Link` header, and
    /// told of every change.
    pub hubs: Vec<String>,
    /// Whether crier is a hub itself, at `<base_url>websub` (in `hubs`).
    pub builtin_hub: bool,
    /// Hosts the built-in hub may call back; `*` allows any.
    pub hub_callbacks: Vec<String>,
    /// The folder `crier serve` imports printed pages from.
    pub import_dir: Option<std::path::PathBuf>,
    /// The largest media file published.
    pub media_max_bytes: u64,
    /// `static/` beside `crier.toml`, published at `/` (when loaded from
    /// a file).
    pub static_dir: Option<std::path::PathBuf>,
    /// The pages' templates: the built-ins, with `templates/` beside
    /// `crier.toml` over them (when loaded from a file).
    pub templates: std::sync::Arc<Templates>,
    /// Where the readers' counts are kept, and who may read them.
    pub readers: ReaderSettings,
}

mod readers;

pub use readers::ReaderSettings;

/// The folders beside `crier.toml` the site is made with besides its
/// content: the newsroom's templates and its static files.
pub const TEMPLATES_DIR: &str = "templates";
pub const STATIC_DIR: &str = "static";

/// Names a district may not take: they are paths of the server itself.
const RESERVED_SLUGS: &[&str] = &["healthz", "metrics", "websub", "index", "archive", "stats"];

/// The config the site is built with now, shared by the threads that use
/// it: the build thread reads `crier.toml` and sets it, the drop folder
/// reads it. A broken `crier.toml` leaves the last good one in place.
#[derive(Debug, Clone)]
pub struct Current(std::sync::Arc<std::sync::RwLock<std::sync::Arc<Config>>>);

impl Current {
    pub fn new(config: Config) -> Current {
        Current(std::sync::Arc::new(std::sync::RwLock::new(
            std::sync::Arc::new(config),
        )))
    }

    pub fn get(&self) -> std::sync::Arc<Config> {
        // A writer cannot panic half-way through replacing an Arc.
        self.0.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn set(&self, config: std::sync::Arc<Config>) {
        *self.0.write().unwrap_or_else(|e| e.into_inner()) = config;
    }
}

impl Config {
    /// Reads `path` and merges `overrides` over it.
    pub fn load(path: &Path, overrides: &Overrides) -> Result<Config, ConfigError> {
        let origin = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            origin: origin.clone(),
            message: format!(
                "cannot read the site config ({e}); create it or point --config / CRIER_CONFIG at it"
            ),
        })?;
        let mut config = Self::from_toml(&text, &origin, overrides)?;
        let beside = path.parent().filter(|p| !p.as_os_str().is_empty());
        let dir = |name: &str| beside.map_or_else(|| name.into(), |p| p.join(name));
        config.static_dir = Some(dir(STATIC_DIR));
        config.templates = Templates::load(&dir(TEMPLATES_DIR)).map_err(|e| ConfigError {
            origin: e.place,
            message: e.message,
        })?;
        Ok(config)
    }

    pub fn from_toml(
        text: &str,
        origin: &str,
        overrides: &Overrides,
    ) -> Result<Config, ConfigError> {
        let file: FileConfig = toml::from_str(text).map_err(|e| {
            let at = e.span().map(|s| s.start.min(text.len()));
            let message = e.message().trim().to_string();
            match at {
                Some(at) => ConfigError {
                    origin: format!("{origin}:{}", text[..at].matches('\n').count() + 1),
                    message: format!("{message} (at `{}`)", line_at(text, at).trim()),
                },
                None => ConfigError {
                    origin: origin.to_string(),
                    message,
                },
            }
        })?;
        let config = Self::merge(file, overrides, origin)?;
        config.check_text(origin)?;
        Ok(config)
    }

    /// The site's and the districts' names and descriptions go into
    /// every feed as text: one with a character XML cannot carry (a
    /// control character, U+FFFE, U+FFFF) would break them all.
    fn check_text(&self, origin: &str) -> Result<(), ConfigError> {
        let mut texts = vec![
            ("title".to_string(), &self.title),
            ("description".to_string(), &self.description),
        ];
        for d in &self.districts {
            texts.push((format!("districts.{}.name", d.slug), &d.name));
            texts.push((format!("districts.{}.description", d.slug), &d.description));
        }
        for (key, text) in texts {
            if let Some(c) = text.chars().find(|c| not_in_xml(*c)) {
                return Err(ConfigError {
                    origin: format!("{origin}: key `{key}`"),
                    message: format!(
                        "holds U+{:04X}, a character feeds cannot carry: remove it",
                        u32::from(c)
                    ),
                });
            }
        }
        Ok(())
    }

    fn merge(file: FileConfig, o: &Overrides, origin: &str) -> Result<Config, ConfigError> {
        let keys = Keys(origin);
        let readers = readers::of(&file, o).map_err(|(key, m)| keys.err(key, m))?;
        let title = pick(&o.title, &file.title)
            .filter(|t| !t.trim().is_empty())
            .ok_or_else(|| keys.err("title", "missing: set the site title".into()))?;
        let description = pick(&o.description, &file.description).unwrap_or_default();
        let base_url = base_url(pick(&o.base_url, &file.base_url), &keys)?;
        let id_authority = id_authority(pick(&o.id_authority, &file.id_authority), &keys)?;
        let language = pick(&o.language, &file.language).unwrap_or_else(|| "zh-CN".into());
        let lang_ok = !language.is_empty()
            && language.split('-').all(|p| {
                (1..=8).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphanumeric())
            });
        if !lang_ok {
            return Err(keys.err(
                "language",
                format!("`{language}` is not a language tag; use a hyphen, e.g. zh-CN (not zh_CN)"),
            ));
        }
        let tz_name = pick(&o.timezone, &file.timezone).unwrap_or_else(|| "Asia/Shanghai".into());
        let timezone: Tz = tz_name.parse().map_err(|_| {
            keys.err(
                "timezone",
                format!("`{tz_name}` is not an IANA time zone, e.g. Asia/Shanghai"),
            )
        })?;
        let feed_limit = o.feed_limit.or(file.feed_limit).unwrap_or(50);
        if feed_limit == 0 {
            return Err(keys.err("feed_limit", "must be at least 1".into()));
        }
        let districts = districts(file.districts, &keys)?;
        let retired = retired(file.retired, &districts, &keys)?;
        let redirects = redirects(file.redirects, &base_url, &keys)?;
        let (hubs, builtin_hub) = hubs(o.hub.clone().or(file.hub), &base_url, &keys)?;
        Ok(Config {
            title,
            description,
            base_url,
            id_authority,
            language,
            timezone,
            feed_limit,
            max_age: o.max_age.or(file.max_age).unwrap_or(300),
            topics: o.topics.or(file.topics).unwrap_or(true),
            districts,
            redirects,
            retired,
            hubs,
            builtin_hub,
            hub_callbacks: file.hub_callbacks,
            import_dir: o.import_dir.clone().or(file.import_dir),
            media_max_bytes: file.media_max_bytes.unwrap_or(20_000_000),
            static_dir: None,
            templates: Templates::built_in(),
            readers,
        })
    }

    /// The district a printed page's heading names (its name or an alias).
    pub fn district_named(&self, heading: &str) -> Option<&District> {
        let heading = heading.trim();
        self.districts
            .iter()
            .find(|d| d.name == heading || d.aliases.iter().any(|a| a == heading))
    }

    /// The hubs crier pings: all but its own.
    pub fn external_hubs(&self) -> Vec<String> {
        let own = format!("{}websub", self.base_url);
        self.hubs.iter().filter(|h| **h != own).cloned().collect()
    }

    /// Whether a (decoded) path belongs to a retired district.
    pub fn is_retired(&self, path: &str) -> bool {
        let Some(rest) = path.strip_prefix('/') else {
            return false;
        };
        let slug = rest.split('/').next().unwrap_or_default();
        // `/gone` and everything under `/gone/`.
        self.retired.iter().any(|r| r == slug)
    }

    pub fn district(&self, slug: &str) -> Option<&District> {
        self.districts.iter().find(|d| d.slug == slug)
    }

    /// Absolute URL of a site path such as `xiaodian/rss.xml` (no leading slash).
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base_url, path)
    }
}

/// Paths the server answers itself.
const RESERVED_PATHS: &[&str] = &["/healthz", "/metrics", "/websub"];

/// A district slug is its folder and URL segment.
/// A district's name and aliases: none empty, none another district's.
/// Makes errors that name a key, its flag and its variable.
struct Keys<'a>(&'a str);

impl Keys<'_> {
    fn err(&self, key: &str, message: String) -> ConfigError {
        ConfigError {
            origin: format!(
                "{}: key `{key}` (or --{} / CRIER_{})",
                self.0,
                key.replace('_', "-"),
                key.to_uppercase()
            ),
            message,
        }
    }
}

/// `base_url`: an absolute http(s) URL with no query or fragment, ending
/// in `/`.
fn base_url(raw: Option<String>, keys: &Keys<'_>) -> Result<Url, ConfigError> {
    let err = |m: String| keys.err("base_url", m);
    let raw = raw.ok_or_else(|| {
        err("missing: set the absolute public URL, e.g. https://news.example.cn/".into())
    })?;
    let mut url =
        Url::parse(&raw).map_err(|e| err(format!("`{raw}` is not an absolute URL ({e})")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(err(format!("`{raw}` must be an http:// or https:// URL")));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(err(format!("`{raw}` must not have a query or fragment")));
    }
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    Ok(url)
}

/// `id_authority`: the ASCII domain (or e-mail address) of item ids.
fn id_authority(raw: Option<String>, keys: &Keys<'_>) -> Result<String, ConfigError> {
    let id = raw.ok_or_else(|| {
        keys.err(
            "id_authority",
            "missing: set the domain used in item ids, e.g. news.example.cn (it must never change)"
                .into(),
        )
    })?;
    let ok = !id.is_empty()
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.' || c == '@');
    if !ok {
        return Err(keys.err(
            "id_authority",
            format!("`{id}` must be an ASCII domain name or e-mail address"),
        ));
    }
    Ok(id)
}

/// `[districts.<slug>]`, in the file's order.
fn districts(
    file: IndexMap<String, DistrictConfig>,
    keys: &Keys<'_>,
) -> Result<Vec<District>, ConfigError> {
    let mut districts = Vec::with_capacity(file.len());
    for (slug, d) in file {
        let key = format!("districts.{slug}");
        if !slug_ok(&slug) {
            return Err(keys.err(
                &key,
                "a district slug is its folder and URL: use a-z, 0-9 and -".into(),
            ));
        }
        if RESERVED_SLUGS.contains(&slug.as_str()) {
            return Err(keys.err(
                &key,
                format!("`{slug}` is reserved by crier; pick another slug"),
            ));
        }
        if d.name.trim().is_empty() {
            return Err(keys.err(
                &format!("{key}.name"),
                "missing: give the district's display name".into(),
            ));
        }
        check_names(&districts, keys.0, &key, &d)?;
        districts.push(District {
            slug,
            name: d.name.trim().to_string(),
            description: d.description,
            aliases: d.aliases.iter().map(|a| a.trim().to_string()).collect(),
        });
    }
    Ok(districts)
}

/// `retired`: slugs of districts that are gone (and not districts).
fn retired(
    slugs: Vec<String>,
    districts: &[District],
    keys: &Keys<'_>,
) -> Result<Vec<String>, ConfigError> {
    for slug in &slugs {
        if !slug_ok(slug) {
            return Err(keys.err(
                "retired",
                format!("`{slug}` is not a district slug (a-z, 0-9 and -)"),
            ));
        }
        if districts.iter().any(|d| d.slug == *slug) {
            return Err(keys.err(
                "retired",
                format!(
                    "`{slug}` is a district and retired at once: remove [districts.{slug}] or take it out of `retired`"
                ),
            ));
        }
    }
    Ok(slugs)
}

/// `[redirects]`: (old path, decoded; new absolute URL).
fn redirects(
    file: IndexMap<String, String>,
    base_url: &Url,
    keys: &Keys<'_>,
) -> Result<Vec<(String, String)>, ConfigError> {
    let mut redirects = Vec::with_capacity(file.len());
    for (from, to) in file {
        let key = format!("redirects.\"{from}\"");
        let decoded = percent_encoding::percent_decode_str(&from)
            .decode_utf8()
            .map(|p| p.into_owned())
            .ok()
            .filter(|p| p.starts_with('/') && !p.contains(['?', '#']));
        let Some(decoded) = decoded else {
            return Err(keys.err(
                &key,
                "the old path must start with / and have no query or fragment, e.g. \"/old/rss.xml\"".into(),
            ));
        };
        if RESERVED_PATHS.contains(&decoded.as_str()) {
            return Err(keys.err(&key, format!("`{from}` is crier's own path")));
        }
        let target = if let Some(path) = to.strip_prefix('/') {
            base_url.join(path).ok()
        } else {
            Url::parse(&to).ok()
        }
        .filter(|u| matches!(u.scheme(), "http" | "https"));
        let Some(target) = target else {
            return Err(keys.err(
                &key,
                format!("`{to}` must be a path of this site (/new/rss.xml) or an http(s) URL"),
            ));
        };
        if base_url.join(&decoded[1..]).ok().as_ref() == Some(&target) {
            return Err(keys.err(&key, format!("`{from}` redirects to itself")));
        }
        redirects.push((decoded, target.to_string()));
    }
    Ok(redirects)
}

/// `hub`: the hubs' URLs, and whether crier is one itself (`builtin`).
fn hubs(
    setting: Option<HubSetting>,
    base_url: &Url,
    keys: &Keys<'_>,
) -> Result<(Vec<String>, bool), ConfigError> {
    let list = match setting {
        None => Vec::new(),
        Some(HubSetting::One(h)) => vec![h],
        Some(HubSetting::Many(v)) => v,
    };
    let mut hubs = Vec::with_capacity(list.len());
    let mut builtin = false;
    for h in list.iter().map(|h| h.trim()).filter(|h| !h.is_empty()) {
        if h == "builtin" {
            builtin = true;
            hubs.push(format!("{base_url}websub"));
            continue;
        }
        match Url::parse(h) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {
                hubs.push(u.to_string())
            }
            _ => {
                return Err(keys.err(
                    "hub",
                    format!("`{h}` is not an http(s) URL of a WebSub hub"),
                ));
            }
        }
    }
    Ok((hubs, builtin))
}

fn check_names(
    earlier: &[District],
    origin: &str,
    key: &str,
    d: &DistrictConfig,
) -> Result<(), ConfigError> {
    let err = |message: String| {
        Err(ConfigError {
            origin: format!("{origin}: key `{key}.aliases`"),
            message,
        })
    };
    for alias in &d.aliases {
        if alias.trim().is_empty() {
            return err("an alias is empty: remove it".into());
        }
    }
    let names = std::iter::once(&d.name).chain(&d.aliases);
    for name in names {
        let name = name.trim();
        if let Some(other) = earlier
            .iter()
            .find(|o| o.name == name || o.aliases.iter().any(|a| a == name))
        {
            return err(format!(
                "`{name}` is also a name of district `{}`: a page's heading must name one district",
                other.slug
            ));
        }
    }
    Ok(())
}

fn slug_ok(slug: &str) -> bool {
    slug.chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && slug
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric())
}

/// A character XML 1.0 cannot carry (controls but tab and line ends, and
/// the noncharacters U+FFFE and U+FFFF): the config refuses it, an
/// article's text drops it.
pub fn not_in_xml(c: char) -> bool {
    (c.is_control() && !matches!(c, '\t' | '\n' | '\r')) || matches!(c, '\u{FFFE}' | '\u{FFFF}')
}

/// The whole line of `text` that byte `at` is on.
pub fn line_at(text: &str, at: usize) -> &str {
    let start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    let end = text[at..].find('\n').map_or(text.len(), |i| at + i);
    &text[start..end]
}

fn pick(over: &Option<String>, file: &Option<String>) -> Option<String> {
    over.clone().or_else(|| file.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: &str =
        "title = \"t\"\nbase_url = \"https://n.example/news\"\nid_authority = \"n.example\"\n";

    #[test]
    fn defaults_and_trailing_slash() {
        let c = Config::from_toml(MIN, "crier.toml", &Overrides::default()).unwrap();
        assert_eq!(c.base_url.as_str(), "https://n.example/news/");
        assert_eq!(c.language, "zh-CN");
        assert_eq!(c.timezone, chrono_tz::Asia::Shanghai);
        assert_eq!((c.feed_limit, c.max_age), (50, 300));
    }

    #[test]
    fn override_wins_over_file() {
        let o = Overrides {
            base_url: Some("http://127.0.0.1:9/".into()),
            ..Default::default()
        };
        let c = Config::from_toml(MIN, "crier.toml", &o).unwrap();
        assert_eq!(c.base_url.as_str(), "http://127.0.0.1:9/");
    }

    #[test]
    fn names_feeds_cannot_carry_are_refused() {
        for (toml, key) in [
            ("title = \"a\\u0001b\"\n", "`title`"),
            (
                "title = \"t\"\ndescription = \"x\\uFFFF\"\n",
                "`description`",
            ),
            (
                "title = \"t\"\n[districts.a]\nname = \"a\\u001b\"\n",
                "`districts.a.name`",
            ),
        ] {
            let text =
                format!("base_url = \"https://n.example/\"\nid_authority = \"n.example\"\n{toml}");
            let e = Config::from_toml(&text, "crier.toml", &Overrides::default()).unwrap_err();
            assert!(e.to_string().contains(key), "{e}");
            assert!(e.message.contains("cannot carry"), "{e}");
        }
    }

    #[test]
    fn errors_name_the_key() {
        let cases = [
            ("title = \"t\"\nid_authority = \"a\"\n", "base_url"),
            (&format!("{MIN}timezone = \"Mars/Base\"\n"), "timezone"),
            (&format!("{MIN}language = \"zh_CN\"\n"), "language"),
            (&format!("{MIN}feed_limit = 0\n"), "feed_limit"),
            (
                &format!("{MIN}[districts.Bad_Slug]\nname = \"x\"\n"),
                "districts.Bad_Slug",
            ),
            (
                &format!("{MIN}[districts.metrics]\nname = \"x\"\n"),
                "districts.metrics",
            ),
        ];
        for (text, key) in cases {
            let e = Config::from_toml(text, "crier.toml", &Overrides::default()).unwrap_err();
            assert!(e.to_string().contains(key), "{e} should name {key}");
        }
    }

    #[test]
    fn unknown_key_and_bad_type_give_line() {
        let e = Config::from_toml(
            &format!("{MIN}titel = \"x\"\n"),
            "crier.toml",
            &Overrides::default(),
        )
        .unwrap_err();
        assert!(e.to_string().contains("crier.toml:4"), "{e}");
        assert!(e.to_string().contains("titel"), "{e}");
        let e = Config::from_toml(
            &format!("{MIN}max_age = \"soon\"\n"),
            "crier.toml",
            &Overrides::default(),
        )
        .unwrap_err();
        assert!(e.to_string().contains("crier.toml:4"), "{e}");
    }

    #[test]
    fn districts_keep_file_order() {
        let text = format!("{MIN}[districts.b]\nname = \"B\"\n[districts.a]\nname = \"A\"\n");
        let c = Config::from_toml(&text, "x", &Overrides::default()).unwrap();
        let slugs: Vec<_> = c.districts.iter().map(|d| d.slug.as_str()).collect();
        assert_eq!(slugs, ["b", "a"]);
    }
}
