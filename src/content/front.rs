//! Front matter: TOML between `+++` lines or YAML between `---` lines.
//! Both are read into one JSON-shaped map so that the rest of crier sees a
//! single model; problems carry the line they are on.

use serde_json::Value;

/// The fields PRODUCT.md defines; anything else is a warning.
pub const KNOWN_FIELDS: &[&str] = &[
    "title",
    "date",
    "updated",
    "summary",
    "author",
    "tags",
    "id",
    "link",
    "image",
    "image_caption",
    "image_credit",
    "image_alt",
    "draft",
];

#[derive(Debug, Default)]
pub struct FrontMatter {
    pub title: Option<String>,
    pub date: Option<String>,
    pub updated: Option<String>,
    pub summary: Option<String>,
    pub author: Option<String>,
    pub tags: Tags,
    pub id: Option<String>,
    pub link: Option<String>,
    pub image: Option<String>,
    pub image_caption: Option<String>,
    pub image_credit: Option<String>,
    pub image_alt: Option<String>,
    pub draft: bool,
}

/// `tags` may be a list or, for convenience, one string.
#[derive(Debug, Default)]
pub struct Tags(pub Vec<String>);

/// A front-matter value, as far as crier reads one: TOML and YAML values
/// both come down to this.
enum Field {
    /// YAML's empty value: as if the key were not there.
    Null,
    Text(String),
    Bool(bool),
    Texts(Vec<String>),
    /// Numbers, tables, lists of other things.
    Other,
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
    let fields = match split.format {
        Format::Toml => toml_fields(split)?,
        Format::Yaml => yaml_fields(split)?,
    };
    let mut fm = FrontMatter::default();
    let mut unknown = Vec::new();
    for (key, value) in fields {
        if !KNOWN_FIELDS.contains(&key.as_str()) {
            unknown.push(key);
            continue;
        }
        if !fm.set(&key, value) {
            let want = match key.as_str() {
                "draft" => "true or false",
                "tags" => "a list of strings",
                _ => "a string",
            };
            return Err(FrontError {
                line: key_line(split, &key),
                message: format!("`{key}` must be {want}"),
            });
        }
    }
    Ok((fm, unknown))
}

impl FrontMatter {
    /// Sets the known field `key`; `false` if `value` is not of its type.
    fn set(&mut self, key: &str, value: Field) -> bool {
        let text = match key {
            "title" => &mut self.title,
            "date" => &mut self.date,
            "updated" => &mut self.updated,
            "summary" => &mut self.summary,
            "author" => &mut self.author,
            "id" => &mut self.id,
            "link" => &mut self.link,
            "image" => &mut self.image,
            "image_caption" => &mut self.image_caption,
            "image_credit" => &mut self.image_credit,
            "image_alt" => &mut self.image_alt,
            "tags" => {
                self.tags = match value {
                    Field::Text(t) => Tags(vec![t]),
                    Field::Texts(t) => Tags(t),
                    _ => return false,
                };
                return true;
            }
            _ => {
                let Field::Bool(b) = value else {
                    return false;
                };
                self.draft = b;
                return true;
            }
        };
        *text = match value {
            Field::Text(t) => Some(t),
            Field::Null => None,
            _ => return false,
        };
        true
    }
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

/// The fields of TOML front matter, in file order. Read from the parsed
/// document as it is, without building owned tables first: an archive
/// has 100,000 of them to read at a start.
fn toml_fields(split: &Split<'_>) -> Result<Vec<(String, Field)>, FrontError> {
    let table = toml::de::DeTable::parse(split.text).map_err(|e| {
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
        .into_inner()
        .into_iter()
        .map(|(k, v)| (k.into_inner().into_owned(), toml_field(v.into_inner())))
        .collect())
}

fn toml_field(v: toml::de::DeValue<'_>) -> Field {
    use toml::de::DeValue;
    match v {
        DeValue::String(s) => Field::Text(s.into_owned()),
        DeValue::Boolean(b) => Field::Bool(b),
        // Dates stay text; crier reads them itself, in the site's time zone.
        DeValue::Datetime(d) => Field::Text(d.to_string()),
        DeValue::Array(a) => a
            .into_iter()
            .map(|v| match v.into_inner() {
                DeValue::String(s) => Some(s.into_owned()),
                _ => None,
            })
            .collect::<Option<Vec<_>>>()
            .map_or(Field::Other, Field::Texts),
        _ => Field::Other,
    }
}

fn yaml_fields(split: &Split<'_>) -> Result<Vec<(String, Field)>, FrontError> {
    if split.text.trim().is_empty() {
        return Ok(Vec::new());
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
        Value::Object(m) => Ok(m.into_iter().map(|(k, v)| (k, yaml_field(v))).collect()),
        Value::Null => Ok(Vec::new()),
        _ => Err(FrontError {
            line: split.first_line,
            message: "YAML front matter must be `key: value` lines".into(),
        }),
    }
}

fn yaml_field(v: Value) -> Field {
    match v {
        Value::Null => Field::Null,
        Value::String(s) => Field::Text(s),
        Value::Bool(b) => Field::Bool(b),
        Value::Array(a) => a
            .into_iter()
            .map(|v| match v {
                Value::String(s) => Some(s),
                _ => None,
            })
            .collect::<Option<Vec<_>>>()
            .map_or(Field::Other, Field::Texts),
        _ => Field::Other,
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
    fn values_of_the_wrong_type_and_repeated_keys_are_errors_on_their_line() {
        let e = front("+++\ntitle = \"t\"\ntitle = \"u\"\n+++\n").unwrap_err();
        assert_eq!(e.line, 3, "{e:?}");
        let e = front("+++\ntitle = 12\n+++\n").unwrap_err();
        assert_eq!(e.message, "`title` must be a string");
        let e = front("+++\ntitle = \"t\"\ntags = [\"a\", 2]\n+++\n").unwrap_err();
        assert_eq!(
            (e.line, e.message.as_str()),
            (3, "`tags` must be a list of strings")
        );
        let e = front("---\ntitle: t\ndraft: yes please\n---\n").unwrap_err();
        assert_eq!(e.line, 3, "{e:?}");
    }

    #[test]
    fn one_tag_empty_yaml_values_and_unknown_tables() {
        let (fm, unknown) =
            front("+++\ntitle = \"t\"\ntags = \"劳模\"\n[extra]\nx = 1\n+++\n").unwrap();
        assert_eq!(fm.tags.0, ["劳模"]);
        assert_eq!(unknown, ["extra"]);
        let (fm, _) = front("---\ntitle: t\nsummary:\n---\n").unwrap();
        assert_eq!((fm.title.as_deref(), fm.summary), (Some("t"), None));
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
