//! The HTML pages' templates (minijinja): built into the binary, each
//! replaceable by a file of the same name in `templates/` beside
//! `crier.toml`. Compiled once per config; autoescaped, and strict: an
//! undefined variable is an error, never an empty string. What each
//! page is given is in docs/templates.md.

use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock};

use minijinja::syntax::SyntaxConfig;
use minijinja::{AutoEscape, Environment, UndefinedBehavior, Value};
use sha2::{Digest, Sha256};

use crate::fingerprint::{self, Key};

/// The built-in templates: the pages crier renders and the pieces they
/// share. A file of one of these names in `templates/` replaces it;
/// other `.html` files there are for the newsroom's own to include.
pub const BUILT_IN: &[(&str, &str)] = &[
    ("base.html", include_str!("templates/base.html")),
    ("headlines.html", include_str!("templates/headlines.html")),
    ("index.html", include_str!("templates/index.html")),
    ("district.html", include_str!("templates/district.html")),
    ("topic.html", include_str!("templates/topic.html")),
    ("topics.html", include_str!("templates/topics.html")),
    ("archive.html", include_str!("templates/archive.html")),
    ("article.html", include_str!("templates/article.html")),
];

/// A template that does not compile or render: where (file, line and
/// column, when known) and what.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{place}: {message}")]
pub struct TemplateError {
    /// `templates/article.html:12:5`, or the built-in's name.
    pub place: String,
    pub message: String,
}

/// The compiled templates of a site.
pub struct Templates {
    env: Environment<'static>,
    /// Of every template's name and text: what the pages are made with.
    key: Key,
    /// The overriding files, by name: where an error is.
    files: Vec<(String, PathBuf)>,
}

impl std::fmt::Debug for Templates {
    /// The files only: the index of articles, keyed by the config's
    /// debug form, does not depend on how pages look.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.files.iter().map(|(n, _)| n.as_str()).collect();
        f.debug_struct("Templates")
            .field("overrides", &names)
            .finish()
    }
}

static BUILT: LazyLock<Arc<Templates>> = LazyLock::new(|| {
    let sources = BUILT_IN
        .iter()
        .map(|(n, t)| (n.to_string(), t.to_string()))
        .collect();
    // The built-ins are part of the program; tests render each.
    Arc::new(Templates::compile(sources, Vec::new()).expect("the built-in templates compile"))
});

impl Templates {
    /// The built-in templates.
    pub fn built_in() -> Arc<Templates> {
        BUILT.clone()
    }

    /// The built-in templates with those of `dir` (if it exists) in
    /// their place. A file that is not UTF-8, a link out of `dir` or a
    /// template that does not compile is an error naming it.
    pub fn load(dir: &Path) -> Result<Arc<Templates>, TemplateError> {
        let files = own_files(dir)?;
        if files.is_empty() {
            return Ok(Self::built_in());
        }
        let mut sources: Vec<(String, String)> = BUILT_IN
            .iter()
            .filter(|(n, _)| !files.iter().any(|f| f.name == *n))
            .map(|(n, t)| (n.to_string(), t.to_string()))
            .collect();
        let mut paths = Vec::new();
        for f in files {
            sources.push((f.name.clone(), f.text));
            paths.push((f.name, f.path));
        }
        Self::compile(sources, paths).map(Arc::new)
    }

    fn compile(
        mut sources: Vec<(String, String)>,
        files: Vec<(String, PathBuf)>,
    ) -> Result<Templates, TemplateError> {
        sources.sort();
        let mut h = Sha256::new();
        for (name, text) in &sources {
            h.update(name.as_bytes());
            h.update([0]);
            h.update(text.as_bytes());
            h.update([0]);
        }
        let mut templates = Templates {
            env: environment(),
            key: fingerprint::finish(h),
            files,
        };
        for (name, text) in sources {
            if let Err(e) = templates.env.add_template_owned(name.clone(), text.clone()) {
                return Err(templates.error(&e, Some(&text)));
            }
        }
        Ok(templates)
    }

    /// What the pages are made with: equal keys, equal templates.
    pub fn key(&self) -> Key {
        self.key
    }

    /// Whether any template is the newsroom's own.
    pub fn overridden(&self) -> bool {
        !self.files.is_empty()
    }

    /// Renders the page `name` with `context`.
    pub fn render(&self, name: &str, context: Value) -> Result<String, TemplateError> {
        let template = self
            .env
            .get_template(name)
            .map_err(|e| self.error(&e, None))?;
        template.render(context).map_err(|e| {
            let source = e
                .name()
                .and_then(|n| self.env.get_template(n).ok())
                .map(|t| t.source().to_string());
            self.error(&e, source.as_deref())
        })
    }

    /// The error `e` with its place: the file (or the built-in's name),
    /// line and column, and what went wrong.
    fn error(&self, e: &minijinja::Error, source: Option<&str>) -> TemplateError {
        let name = e.name().unwrap_or("template");
        let file = self.files.iter().find(|(n, _)| n == name).map_or_else(
            || format!("built-in template {name}"),
            |(_, p)| p.display().to_string(),
        );
        let column = e
            .range()
            .zip(source)
            .and_then(|(r, s)| s.get(..r.start))
            .map(|before| before.rsplit('\n').next().unwrap_or("").chars().count() + 1);
        let place = match (e.line(), column) {
            (Some(l), Some(c)) => format!("{file}:{l}:{c}"),
            (Some(l), None) => format!("{file}:{l}"),
            _ => file,
        };
        let what = e
            .detail()
            .map_or_else(|| e.kind().to_string(), |d| format!("{}: {d}", e.kind()));
        TemplateError {
            place,
            message: format!(
                "{what}; fix the template (docs/templates.md lists what each page is given)"
            ),
        }
    }
}

/// The environment every site's templates compile in: blocks on lines of
/// their own leave no blank lines, HTML is escaped (as crier escapes it
/// everywhere: `/` stays), and an undefined variable is an error.
pub fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    let mut syntax = SyntaxConfig::builder();
    syntax
        .trim_blocks(true)
        .lstrip_blocks(true)
        .keep_trailing_newline(true);
    if let Ok(syntax) = syntax.build() {
        env.set_syntax(syntax);
    }
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_auto_escape_callback(|_| AutoEscape::Html);
    env.set_debug(true);
    env.set_formatter(|out, state, value| {
        if *state.auto_escape() != AutoEscape::None
            && !value.is_safe()
            && let Some(s) = value.as_str()
        {
            return escape_into(out, s).map_err(minijinja::Error::from);
        }
        minijinja::escape_formatter(out, state, value)
    });
    env
}

/// A template file of the newsroom's.
struct OwnFile {
    name: String,
    path: PathBuf,
    text: String,
}

/// The `.html` files of `dir` (none when it does not exist). Hidden
/// files and editors' temporaries are left out.
fn own_files(dir: &Path) -> Result<Vec<OwnFile>, TemplateError> {
    let fail = |path: &Path, message: String| TemplateError {
        place: path.display().to_string(),
        message,
    };
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(fail(dir, format!("cannot read the templates folder ({e})"))),
    };
    let root = std::fs::canonicalize(dir).map_err(|e| fail(dir, e.to_string()))?;
    let mut files = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        if name.starts_with('.') || !name.ends_with(".html") || !path.is_file() {
            continue;
        }
        // A template is published in every page: never one from outside.
        match std::fs::canonicalize(&path) {
            Ok(real) if real.starts_with(&root) => {}
            Ok(real) => {
                return Err(fail(
                    &path,
                    format!(
                        "links to {}, outside the templates folder; copy the file into it instead",
                        real.display()
                    ),
                ));
            }
            Err(e) => return Err(fail(&path, e.to_string())),
        }
        let text = std::fs::read_to_string(&path)
            .map_err(|e| fail(&path, format!("cannot read it as UTF-8 text ({e})")))?;
        files.push(OwnFile {
            name: name.to_string(),
            path,
            text,
        });
    }
    files.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(files)
}

/// Escapes text for HTML and XML content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    // Writing to a String cannot fail.
    let _ = escape_into(&mut out, s);
    out
}

/// [`escape`], written to `out` as it goes.
fn escape_into(out: &mut impl std::fmt::Write, s: &str) -> std::fmt::Result {
    let mut last = 0;
    // The five are ASCII: never a byte of a longer character.
    for (i, b) in s.bytes().enumerate() {
        let with = match b {
            b'&' => "&amp;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'"' => "&quot;",
            b'\'' => "&#39;",
            _ => continue,
        };
        out.write_str(&s[last..i])?;
        out.write_str(with)?;
        last = i + 1;
    }
    out.write_str(&s[last..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_ins_compile() {
        assert!(!Templates::built_in().overridden());
    }

    #[test]
    fn a_broken_template_is_named_with_line_and_column() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("base.html"), "<p>\n  {{ site.title }\n").unwrap();
        let e = Templates::load(dir.path()).unwrap_err();
        assert!(e.place.ends_with("base.html:2:17"), "{e}");
    }

    #[test]
    fn escaping_keeps_slashes_and_undefined_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("x.html"), "{{ a }}|{{ b }}\n{{ c }}").unwrap();
        let t = Templates::load(dir.path()).unwrap();
        let ctx = minijinja::context! { a => "<a href='/x'>&", b => Value::from_safe_string("<b>".into()) };
        let e = t.render("x.html", ctx).unwrap_err();
        assert!(e.place.ends_with("x.html:2:4"), "{e}");
        let ctx = minijinja::context! { a => "/&\"", b => "", c => 1 };
        assert_eq!(t.render("x.html", ctx).unwrap(), "/&amp;&quot;|\n1");
    }
}
