//! An article file's text to an article: the checks of the file, its
//! front matter's fields one step each, its id, dates and tags.

use super::*;

/// The error for a file that is not UTF-8, naming the line and column
/// of the first bad byte.
fn not_utf8(bytes: &[u8], file: &str) -> Diagnostic {
    let at = std::str::from_utf8(bytes)
        .err()
        .map_or(0, |e| e.valid_up_to());
    let line = bytes[..at].iter().filter(|b| **b == b'\n').count() + 1;
    let col = at
        - bytes[..at]
            .iter()
            .rposition(|b| *b == b'\n')
            .map_or(0, |p| p + 1)
        + 1;
    Diagnostic::error(
        file,
        Some(line),
        format!(
            "not UTF-8 (bad byte at column {col}): save the file as UTF-8 (e.g. iconv -f GBK -t UTF-8)"
        ),
    )
}

/// An article file's bytes as text: not empty, UTF-8 (else an error
/// naming the line and column), and without the control characters XML
/// cannot carry (removed, with a warning).
pub(super) fn checked_text(
    bytes: Vec<u8>,
    file: &str,
    diags: &mut Vec<Diagnostic>,
) -> Result<String, Diagnostic> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(Diagnostic::error(
            file,
            None,
            String::from(
                "file is empty: add front matter with a title and a date, or delete the file",
            ),
        ));
    }
    // The vectorised check, then a copy: std's check costs several times
    // as much on CJK text, and is only run to say where a bad byte is.
    let text = match simdutf8::basic::from_utf8(&bytes) {
        Ok(t) => t.to_owned(),
        Err(_) => return Err(not_utf8(&bytes, file)),
    };
    // C0 controls and DEL are single bytes; C1 controls start with 0xC2.
    // Without an early exit per byte, the scan is vectorised.
    let suspect = text.as_bytes().chunks(256).any(|chunk| {
        chunk.iter().fold(false, |found, &b| {
            found
                | ((b < 0x20) & (b != b'\n') & (b != b'\r') & (b != b'\t'))
                | (b == 0x7f)
                | (b == 0xc2)
        })
    });
    let dropped = |ch: &char| ch.is_control() && !matches!(ch, '\n' | '\r' | '\t');
    let controls = if suspect {
        text.chars().filter(dropped).count()
    } else {
        0
    };
    if controls == 0 {
        return Ok(text);
    }
    diags.push(Diagnostic::warning(
        file,
        None,
        format!("removed {controls} control character(s) that XML cannot carry"),
    ));
    Ok(text.chars().filter(|ch| !dropped(ch)).collect())
}

/// A front-matter text with its spaces made single; `None` if empty.
fn clean(s: &Option<String>) -> Option<String> {
    s.as_deref()
        .map(body::normalise_space)
        .filter(|s| !s.is_empty())
}

/// The image's caption, credit and alternative text, spaces made single.
fn image_text(
    caption: &Option<String>,
    credit: &Option<String>,
    alt: &Option<String>,
) -> Option<Box<ImageText>> {
    let text = ImageText {
        caption: clean(caption),
        credit: clean(credit),
        alt: clean(alt),
    };
    (text != ImageText::default()).then(|| Box::new(text))
}

pub(super) fn parse_article(
    config: &Config,
    c: &Candidate,
    bytes: Vec<u8>,
    diags: &mut Vec<Diagnostic>,
) -> Result<Option<(Article, Pending)>, Diagnostic> {
    let display = c.path.to_string_lossy();
    let file: &str = &display;
    let err = |line: Option<usize>, msg: String| Diagnostic::error(file, line, msg);
    let owned = checked_text(bytes, file, diags)?;
    let text = owned.as_str();

    let split = front::split(text).map_err(|e| err(Some(e.line), e.message))?;
    let (fm, unknown) = front::parse(&split).map_err(|e| err(Some(e.line), e.message))?;
    diags.extend(unknown.iter().map(|key| {
        let known = front::KNOWN_FIELDS.join(", ");
        let line = front::key_line(&split, key);
        let message = format!("unknown field `{key}` is ignored (known: {known})");
        Diagnostic::warning(file, Some(line), message)
    }));
    if fm.draft {
        return Ok(None);
    }
    let title = fm
        .title
        .as_deref()
        .map(body::normalise_space)
        .unwrap_or_default();
    if title.is_empty() {
        return Err(err(
            Some(split.first_line - 1),
            "missing `title`: add title = \"…\" to the front matter".into(),
        ));
    }
    let (date, updated) = dates(config, &fm, &split, file, diags)?;

    let encoded = encode_segment(c.stem());
    let (path, id_path) = match &c.district {
        Some(d) => (format!("{d}/{encoded}.html"), format!("{d}/{encoded}")),
        None => (format!("{encoded}.html"), encoded.clone()),
    };
    let page_url = config.url(&path);

    let id = article_id(config, fm.id.as_deref(), date, &id_path, &split, file)?;

    let mut absolute = |key: &str, value: Option<String>| -> Option<String> {
        let v = value?;
        match Url::parse(&page_url).and_then(|base| base.join(v.trim())) {
            Ok(u) if matches!(u.scheme(), "http" | "https") => Some(u.to_string()),
            _ => {
                diags.push(Diagnostic::warning(
                    file,
                    Some(front::key_line(&split, key)),
                    format!("`{key}` `{v}` is not an http(s) URL; it is left out"),
                ));
                None
            }
        }
    };
    let link = absolute("link", fm.link).filter(|l| *l != page_url);
    let image = absolute("image", fm.image);

    let summary = clean(&fm.summary);
    let body_start = text.len() - split.body.len();
    let author = clean(&fm.author);
    let tags = clean_tags(&fm.tags.0);
    if config.topics {
        warn_of_tags(&tags, &split, file, diags);
    }

    let article = Article {
        source: Arc::from(c.path.as_path()),
        district: c.district.clone(),
        path,
        id: id.into(),
        title,
        author,
        tags,
        image_text: image_text(&fm.image_caption, &fm.image_credit, &fm.image_alt)
            .filter(|_| image.is_some()),
        link,
        image,
        image_file: None,
        date,
        updated,
        source_key: crate::fingerprint::source_key(text.as_bytes()),
    };
    let pending = Pending {
        text: owned,
        body_start,
        page_url,
        summary,
    };
    Ok(Some((article, pending)))
}

/// `date` and `updated` (never before `date`), read in the site's
/// timezone when they name none.
pub(super) fn dates(
    config: &Config,
    fm: &front::FrontMatter,
    split: &front::Split<'_>,
    file: &str,
    diags: &mut Vec<Diagnostic>,
) -> Result<(DateTime<FixedOffset>, DateTime<FixedOffset>), Diagnostic> {
    let err = |line: usize, msg: String| Diagnostic::error(file, Some(line), msg);
    let Some(date_text) = fm.date.as_deref() else {
        return Err(err(
            split.first_line - 1,
            "missing `date`: add date = 2023-01-10 (or a date-time) to the front matter".into(),
        ));
    };
    let date = date::parse(date_text, config.timezone)
        .map_err(|m| err(front::key_line(split, "date"), m))?;
    let Some(u) = fm.updated.as_deref() else {
        return Ok((date, date));
    };
    let line = front::key_line(split, "updated");
    let u = date::parse(u, config.timezone).map_err(|m| err(line, m))?;
    if u < date {
        diags.push(Diagnostic::warning(
            file,
            Some(line),
            "`updated` is before `date`; using `date`",
        ));
    }
    Ok((date, u.max(date)))
}

/// The article's id: front matter's `id` (ASCII, no spaces), else its tag
/// URI, `tag:<id_authority>,<date>:<district>/<slug>`.
pub(super) fn article_id(
    config: &Config,
    written: Option<&str>,
    date: DateTime<FixedOffset>,
    id_path: &str,
    split: &front::Split<'_>,
    file: &str,
) -> Result<String, Diagnostic> {
    let Some(id) = written.map(str::trim) else {
        return Ok(format!(
            "tag:{},{:04}-{:02}-{:02}:{}",
            config.id_authority,
            date.year(),
            date.month(),
            date.day(),
            id_path
        ));
    };
    if id.is_empty() || !id.chars().all(|ch| ch.is_ascii_graphic()) {
        return Err(Diagnostic::error(
            file,
            Some(front::key_line(split, "id")),
            format!("`id` `{id}` must be ASCII without spaces (percent-encode other characters)"),
        ));
    }
    Ok(id.to_string())
}

/// Warns of each tag that cannot be a topic (it stays a category).
pub(super) fn warn_of_tags(
    tags: &[String],
    split: &front::Split<'_>,
    file: &str,
    diags: &mut Vec<Diagnostic>,
) {
    for t in tags {
        if let Err(why) = topic::key(t) {
            diags.push(Diagnostic::warning(
                file,
                Some(front::key_line(split, "tags")),
                format!(
                    "tag `{}` {why}, so it gets no topic page or feeds; it stays a category",
                    t.escape_default()
                ),
            ));
        }
    }
}

/// Tags as text: white space normalised, empty ones dropped, and a tag
/// written twice one tag.
pub(super) fn clean_tags(written: &[String]) -> Vec<String> {
    let mut tags: Vec<String> = Vec::with_capacity(written.len());
    for t in written.iter().map(|t| body::normalise_space(t)) {
        if !t.is_empty() && !tags.contains(&t) {
            tags.push(t);
        }
    }
    tags
}
