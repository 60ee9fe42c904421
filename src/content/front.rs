//! Front matter: TOML between `+++` lines or YAML between `---` lines.
//! Both are read into one JSON-shaped map so that the rest of crier sees a
//! single model; problems carry the line they are on.

use serde::Deserialize;
use serde_json::{Map, Value};

/// The fields PRODUCT.md defines; anything else is a warning.
pub const KNOWN_FIELDS: &[&str] = &[
    "title", "date", "updated", "summary", "author", "tags", "id", "link", "image", "draft",
];

#[derive(Debug, Default, Deserialize)]
pub struct FrontMatter {
    pub title: Option<String>,
    pub date: Option<String>,
    pub updated: Option<String>,
    pub summary: Option<String>,
    pub author: Option<String>,
    #[serde(default)]
    pub tags: Tags,
    pub id: Option<String>,
    pub link: Option<String>,
    pub image: Option<String>,
    #[serde(default)]
    pub draft: bool,
}

/// `tags` may be a list or, for convenience, one string.
#[derive(Debug, Default, Deserialize)]
#[serde(from = "TagsRepr")]
pub struct Tags(pub Vec<String>);

#[derive(Deserialize)]
#[serde(untagged)]
enum TagsRepr {
    One(String),
    Many(Vec<String>),
}

impl From<TagsRepr> for Tags {
    fn from(r: TagsRepr) -> Tags {
        match r {
            TagsRepr::One(s) => Tags(vec![s]),
            TagsRepr::Many(v) => Tags(v),
        }
    }
}

/// A problem in the front matter, with a 1-based line in the file.
#[derive(Debug, PartialEq)]
pub struct FrontError {
    pub line: usize,
    pub message: String,
}

/// Front matter split from the body.
pub struct Split<'a> {
    pub format: Format,
    pub text: &'a str,
    /// Line number (1-based) of the first front-matter line in the file.
    pub first_line: usize,
    pub body: &'a str,
    /// Line number (1-based) of the first body line in the file.
    pub body_line: usize,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Format {
    Toml,
    Yaml,
}

pub fn split(src: &str) -> Result<Split<'_>, FrontError> {
    let src = src.strip_prefix('\u{feff}').unwrap_or(src);
    let (first, rest) = src.split_once('\n').unwrap_or((src, ""));
    let (format, fence) = match first.trim_end() {
        "+++" => (Format::Toml, "+++"),
        "---" => (Format::Yaml, "---"),
        _ => {
            return Err(FrontError {
                line: 1,
                message: "no front matter: the file must start with a `+++` line (TOML) or a `---` line (YAML), then title and date, then the same line again".into(),
            });
        }
    };
    let mut offset = 0;
    for (i, line) in rest.split_inclusive('\n').enumerate() {
        if line.trim_end() == fence {
            let body = &rest[offset + line.len()..];
            return Ok(Split {
                format,
                text: &rest[..offset],
                first_line: 2,
                body,
                body_line: i + 3,
            });
        }
        offset += line.len();
    }
    Err(FrontError {
        line: 1,
        message: format!("front matter is not closed: add a `{fence}` line after the last field"),
    })
}

pub fn parse(split: &Split<'_>) -> Result<(FrontMatter, Vec<String>), FrontError> {
    let map = match split.format {
        Format::Toml => toml_map(split)?,
        Format::Yaml => yaml_map(split)?,
    };
    let unknown: Vec<String> = map
        .keys()
        .filter(|k| !KNOWN_FIELDS.contains(&k.as_str()))
        .cloned()
        .collect();
    let map = Value::Object(map);
    if let Ok(fm) = FrontMatter::deserialize(&map) {
        return Ok((fm, unknown));
    }
    // Check each field on its own so the error can point at its line.
    for key in KNOWN_FIELDS {
        if let Some(v) = map.get(*key) {
            let mut one = Map::new();
            one.insert((*key).to_string(), v.clone());
            if FrontMatter::deserialize(&Value::Object(one)).is_err() {
                let want = match *key {
                    "draft" => "true or false",
                    "tags" => "a list of strings",
                    _ => "a string",
                };
                return Err(FrontError {
                    line: key_line(split, key),
                    message: format!("`{key}` must be {want}"),
                });
            }
        }
    }
    let fm = FrontMatter::deserialize(&map).map_err(|e| FrontError {
        line: split.first_line,
        message: format!("front matter: {e}"),
    })?;
    Ok((fm, unknown))
}

/// The line on which `key` is set, or the first front-matter line.
pub fn key_line(split: &Split<'_>, key: &str) -> usize {
    for (i, line) in split.text.lines().enumerate() {
        let l = line.trim_start().trim_start_matches(['"', '\'']);
        if let Some(rest) = l.strip_prefix(key) {
            let rest = rest.trim_start_matches(['"', '\'']).trim_start();
            if rest.starts_with('=') || rest.starts_with(':') {
                return split.first_line + i;
            }
        }
    }
    split.first_line
}

fn toml_map(split: &Split<'_>) -> Result<Map<String, Value>, FrontError> {
    let table: toml::Table = toml::from_str(split.text).map_err(|e| {
        let at = e.span().map_or(0, |s| s.start.min(split.text.len()));
        FrontError {
            line: split.first_line + split.text[..at].matches('\n').count(),
            message: format!(
                "TOML front matter: {} (at `{}`): fix the TOML on that line (text values need quotes)",
                e.message().trim(),
                crate::config::line_at(split.text, at).trim()
            ),
        }
    })?;
    Ok(table
        .into_iter()
        .map(|(k, v)| (k, toml_to_json(v)))
        .collect())
}

fn toml_to_json(v: toml::Value) -> Value {
    match v {
        toml::Value::String(s) => Value::String(s),
        toml::Value::Integer(i) => Value::from(i),
        toml::Value::Float(f) => Value::from(f),
        toml::Value::Boolean(b) => Value::Bool(b),
        // Dates stay text; crier reads them itself, in the site's time zone.
        toml::Value::Datetime(d) => Value::String(d.to_string()),
        toml::Value::Array(a) => Value::Array(a.into_iter().map(toml_to_json).collect()),
        toml::Value::Table(t) => {
            Value::Object(t.into_iter().map(|(k, v)| (k, toml_to_json(v))).collect())
        }
    }
}

fn yaml_map(split: &Split<'_>) -> Result<Map<String, Value>, FrontError> {
    if split.text.trim().is_empty() {
        return Ok(Map::new());
    }
    let value: Value = serde_saphyr::from_str(split.text).map_err(|e| {
        let line = e.location().map(|l| l.line() as usize).unwrap_or(1).max(1);
        let msg = e.to_string();
        let first = msg.lines().next().unwrap_or("invalid YAML").to_string();
        FrontError {
            line: split.first_line + line - 1,
            message: format!("YAML front matter: {first}"),
        }
    })?;
    match value {
        Value::Object(m) => Ok(m),
        Value::Null => Ok(Map::new()),
        _ => Err(FrontError {
            line: split.first_line,
            message: "YAML front matter must be `key: value` lines".into(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn front(src: &str) -> Result<(FrontMatter, Vec<String>), FrontError> {
        parse(&split(src)?)
    }

    #[test]
    fn toml_front_matter() {
        let (fm, unknown) = front(
            "+++\ntitle = \"标题\"\ndate = 2023-01-10\ntags = [\"a\", \"b\"]\ndraft = false\n+++\nbody\n",
        )
        .unwrap();
        assert_eq!(fm.title.as_deref(), Some("标题"));
        assert_eq!(fm.date.as_deref(), Some("2023-01-10"));
        assert_eq!(fm.tags.0, ["a", "b"]);
        assert!(unknown.is_empty());
    }

    #[test]
    fn toml_offset_datetime_keeps_offset() {
        let (fm, _) = front("+++\ntitle = \"t\"\ndate = 2023-01-10T09:30:00+08:00\n+++\n").unwrap();
        assert_eq!(fm.date.as_deref(), Some("2023-01-10T09:30:00+08:00"));
    }

    #[test]
    fn yaml_front_matter() {
        let (fm, unknown) = front(
            "---\ntitle: 小店区召开大会\ndate: 2023-01-10\nauthor: 司勇\ntags: [劳模]\nmood: happy\n---\n正文\n",
        )
        .unwrap();
        assert_eq!(fm.title.as_deref(), Some("小店区召开大会"));
        assert_eq!(fm.date.as_deref(), Some("2023-01-10"));
        assert_eq!(fm.author.as_deref(), Some("司勇"));
        assert_eq!(fm.tags.0, ["劳模"]);
        assert_eq!(unknown, ["mood"]);
    }

    #[test]
    fn body_line_and_split() {
        let s = split("+++\ntitle = \"t\"\n+++\n\nhello\n").unwrap();
        assert_eq!(s.body, "\nhello\n");
        assert_eq!(s.body_line, 4);
    }

    #[test]
    fn errors_carry_lines() {
        assert_eq!(front("no fences\n").unwrap_err().line, 1);
        assert!(
            front("+++\ntitle = \"t\"\n")
                .unwrap_err()
                .message
                .contains("not closed")
        );
        let e = front("+++\ntitle = \"t\"\ndate = = 3\n+++\n").unwrap_err();
        assert_eq!(e.line, 3, "{e:?}");
        let e = front("---\ntitle: t\ndate: [unclosed\n---\n").unwrap_err();
        assert!(e.line >= 3, "{e:?}");
        let e = front("+++\ntitle = \"t\"\n\ndraft = \"yes\"\n+++\n").unwrap_err();
        assert_eq!(
            e,
            FrontError {
                line: 4,
                message: "`draft` must be true or false".into()
            }
        );
    }
}
