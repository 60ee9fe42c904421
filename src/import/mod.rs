//! `crier import`: a printed page (plain text) split into article files.
//!
//! The page: a lead article (headline, sub-headline, a dateline naming the
//! reporter, paragraphs), then a section headline, then briefs: under each
//! district's name (or one of its `aliases`), one or more paragraphs that
//! start with a date lead (`1月10日，`, `近日，`: see `leads`), and a
//! closing line naming the editor (`（以上由…编辑整理）`). Text the print
//! layout broke across columns shows up as a paragraph that stops
//! mid-sentence and goes on after a blank line. When in doubt the plan
//! warns, naming the line: a story must never land in the wrong district
//! silently.

mod byline;
mod decode;
mod leads;

use std::path::{Path, PathBuf};

use chrono::NaiveDate;

use crate::config::{Config, District};

pub use decode::decode;

/// A problem with the page, at a line of it.
#[derive(Debug, thiserror::Error)]
#[error("{}{message}", line.map(|l| format!("line {l}: ")).unwrap_or_default())]
pub struct ImportError {
    pub line: Option<usize>,
    pub message: String,
}

fn error<T>(line: Option<usize>, message: impl Into<String>) -> Result<T, ImportError> {
    Err(ImportError {
        line,
        message: message.into(),
    })
}

/// One article of the page.
#[derive(Debug)]
pub struct Planned {
    /// Relative to the content folder.
    pub path: PathBuf,
    /// The whole file.
    pub text: String,
    /// The district's slug; `None`: city-wide.
    pub district: Option<String>,
    pub date: NaiveDate,
    pub title: String,
    /// Its first paragraph's text, without the front matter.
    pub first: String,
}

/// The files a page becomes, warnings by line, and the encoding it was
/// read in.
#[derive(Debug, Default)]
pub struct Plan {
    pub files: Vec<Planned>,
    pub warnings: Vec<(usize, String)>,
    pub encoding: &'static str,
}

#[derive(Debug, Clone)]
struct Para {
    text: String,
    line: usize,
}

/// Characters that end a sentence (or a quotation closing one).
const ENDS: &[char] = &['。', '！', '？', '”', '」', '）', '；', '…', '.', '!', '?'];

fn ends_sentence(s: &str) -> bool {
    s.ends_with(ENDS)
}

/// A short line without sentence punctuation: a headline or a district name.
fn is_heading(s: &str, max: usize) -> bool {
    s.chars().count() <= max && !ends_sentence(s) && !s.contains('。')
}

fn paragraphs(text: &str) -> Vec<Para> {
    let mut out: Vec<Para> = Vec::new();
    let mut open = false;
    for (i, line) in text.lines().enumerate() {
        let line = line.trim_matches(|c: char| c.is_whitespace() || c == '\u{feff}');
        if line.is_empty() {
            open = false;
        } else if open && let Some(last) = out.last_mut() {
            last.text.push_str(line);
        } else {
            out.push(Para {
                text: line.to_string(),
                line: i + 1,
            });
            open = true;
        }
    }
    out
}

/// A TOML basic string: `\\`, `"` and control characters escaped.
fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// What an article file says besides its paragraphs.
struct Head<'a> {
    title: &'a str,
    date: NaiveDate,
    summary: Option<&'a str>,
    author: Option<&'a str>,
    tag: Option<&'a str>,
}

/// The article file: TOML front matter, then the paragraphs.
fn article(head: &Head, body: &[String]) -> String {
    let mut s = format!("+++\ntitle = {}\ndate = {}\n", quote(head.title), head.date);
    if let Some(v) = head.summary {
        s += &format!("summary = {}\n", quote(v));
    }
    if let Some(v) = head.author {
        s += &format!("author = {}\n", quote(v));
    }
    if let Some(v) = head.tag {
        s += &format!("tags = [{}]\n", quote(v));
    }
    s += "+++\n\n";
    s += &body.join("\n\n");
    s.push('\n');
    s
}

/// A brief's title: its first sentence after the date, or the first
/// clause of a long one.
fn brief_title(first: &str) -> String {
    let first = byline::without(first);
    let sentence = first.split('。').next().unwrap_or(&first);
    if sentence.chars().count() > 30 && sentence.contains('，') {
        sentence.split('，').next().unwrap_or(sentence).to_string()
    } else {
        sentence.to_string()
    }
}

/// File names taken so far: `<date>.md`, then `<date>-2.md`, ...
#[derive(Default)]
struct Names(Vec<PathBuf>);

impl Names {
    fn take(&mut self, folder: Option<&str>, date: NaiveDate) -> PathBuf {
        let dir = folder.map(PathBuf::from).unwrap_or_default();
        let mut n = 1;
        loop {
            let name = if n == 1 {
                format!("{date}.md")
            } else {
                format!("{date}-{n}.md")
            };
            let path = dir.join(name);
            if !self.0.contains(&path) {
                self.0.push(path.clone());
                return path;
            }
            n += 1;
        }
    }
}

/// Works out every file of the page (bytes in any encoding it reads)
/// without writing anything.
pub fn plan(
    config: &Config,
    page: &[u8],
    date: NaiveDate,
    encoding: Option<&str>,
) -> Result<Plan, ImportError> {
    let (text, encoding) = decode(page, encoding)?;
    let mut plan = plan_text(config, &text, date)?;
    plan.encoding = encoding;
    Ok(plan)
}

/// A heading of the briefs: the paragraph's index and its district
/// (`None`: a heading-like line that names none).
struct Heading<'c> {
    at: usize,
    district: Option<&'c District>,
}

/// The plan of a page already read as text.
pub fn plan_text(config: &Config, text: &str, date: NaiveDate) -> Result<Plan, ImportError> {
    let paras = paragraphs(text);
    if paras.is_empty() {
        return error(None, "the page is empty");
    }
    let (paras, editor) = closing_line(&paras);
    let headings = headings(config, paras, date);
    let first_brief = headings.first().map_or(paras.len(), |h| h.at);
    let section = (first_brief > 0 && is_heading(&paras[first_brief - 1].text, 60))
        .then(|| &paras[first_brief - 1]);
    let lead_end = first_brief - usize::from(section.is_some());

    let mut plan = Plan::default();
    let mut names = Names::default();
    if lead_end > 0 {
        lead(config, &paras[..lead_end], date, &mut names, &mut plan)?;
    }
    for (k, heading) in headings.iter().enumerate() {
        let end = headings.get(k + 1).map_or(paras.len(), |h| h.at);
        let context = Block {
            heading: &paras[heading.at],
            district: heading.district,
            page: date,
            editor: editor.as_deref(),
            section: section.map(|s| s.text.as_str()),
        };
        briefs(
            config,
            &context,
            &paras[heading.at + 1..end],
            &mut names,
            &mut plan,
        )?;
    }
    if plan.files.is_empty() {
        return error(
            Some(paras[0].line),
            "no article found: expected a headline and a dateline, or briefs under district names",
        );
    }
    Ok(plan)
}

/// The closing line names the editor of the briefs.
fn closing_line(paras: &[Para]) -> (&[Para], Option<String>) {
    match paras.last().map(|p| p.text.as_str()) {
        Some(t) if t.starts_with("（以上由") && t.ends_with("编辑整理）") => {
            let name = t
                .trim_start_matches("（以上由")
                .trim_end_matches("编辑整理）")
                .to_string();
            (&paras[..paras.len() - 1], Some(name))
        }
        _ => (paras, None),
    }
}

/// Whether `text` starts a brief: a date lead, or one naming a day that
/// does not exist (a typo the brief's import reports, never a column
/// break to join silently).
fn starts_with_lead(text: &str, page: NaiveDate) -> bool {
    !matches!(leads::date_lead(text, page), Ok(None))
}

/// Headings: a line that is a district's name or alias, whatever follows
/// it; or a short heading-like line followed by a dated brief.
fn headings<'c>(config: &'c Config, paras: &[Para], page: NaiveDate) -> Vec<Heading<'c>> {
    let mut out = Vec::new();
    for (at, p) in paras.iter().enumerate() {
        if let Some(d) = config.district_named(&p.text) {
            out.push(Heading {
                at,
                district: Some(d),
            });
        } else if is_heading(&p.text, 20)
            && paras
                .get(at + 1)
                .is_some_and(|n| starts_with_lead(&n.text, page))
        {
            out.push(Heading { at, district: None });
        }
    }
    out
}

/// The lead article: headline, sub-headline, dateline, paragraphs.
fn lead(
    config: &Config,
    lead: &[Para],
    page: NaiveDate,
    names: &mut Names,
    plan: &mut Plan,
) -> Result<(), ImportError> {
    let headline = &lead[0];
    if !is_heading(&headline.text, 60) {
        return error(
            Some(headline.line),
            "no headline: the page must start with the lead article's headline on a line of its own",
        );
    }
    let sub = lead
        .get(1)
        .filter(|p| is_heading(&p.text, 80) && !p.text.contains("记者"));
    let body_start = if sub.is_some() { 2 } else { 1 };
    let body = join_columns(
        config,
        &lead[body_start.min(lead.len())..],
        page,
        &mut plan.warnings,
    );
    let Some(dateline) = body.first() else {
        return error(
            Some(headline.line),
            "the lead article has a headline but no text",
        );
    };
    let Some((m, d)) = leads::first_month_day(&dateline.text) else {
        return error(
            Some(dateline.line),
            "no date in the lead's dateline: expected e.g. 1月14日",
        );
    };
    let Some(date) = leads::in_year(page, m, d) else {
        return error(
            Some(dateline.line),
            format!("unreadable date `{m}月{d}日` in the lead's dateline"),
        );
    };
    let author = byline::reporters(&dateline.text);
    let head = Head {
        title: &headline.text,
        date,
        summary: sub.map(|p| p.text.as_str()),
        author: author.as_deref(),
        tag: None,
    };
    push(plan, names.take(None, date), None, &head, &body);
    Ok(())
}

fn push(plan: &mut Plan, path: PathBuf, district: Option<&District>, head: &Head, body: &[Para]) {
    let texts: Vec<String> = body.iter().map(|p| p.text.clone()).collect();
    plan.files.push(Planned {
        path,
        text: article(head, &texts),
        district: district.map(|d| d.slug.clone()),
        date: head.date,
        title: head.title.to_string(),
        first: texts.first().cloned().unwrap_or_default(),
    });
}

/// Joins paragraphs the print layout split: one that does not end a
/// sentence goes on in the next, unless the next starts a brief. A join
/// that would put a district's name at the seam is made, and warned of.
fn join_columns(
    config: &Config,
    paras: &[Para],
    page: NaiveDate,
    warnings: &mut Vec<(usize, String)>,
) -> Vec<Para> {
    let mut out: Vec<Para> = Vec::new();
    for p in paras {
        let Some(last) = out.last_mut().filter(|l| !ends_sentence(&l.text)) else {
            out.push(p.clone());
            continue;
        };
        if starts_with_lead(&p.text, page) {
            warnings.push((
                p.line,
                format!(
                    "line {} does not end its sentence, but this line starts a new brief with its date: check the column break",
                    last.line
                ),
            ));
            out.push(p.clone());
            continue;
        }
        if let Some(name) = name_at_seam(config, &last.text, &p.text) {
            warnings.push((
                p.line,
                format!(
                    "joined to line {} as a column break, and the district name `{name}` is at the join: check that the brief is not under the wrong heading",
                    last.line
                ),
            ));
        }
        last.text.push_str(&p.text);
    }
    out
}

/// A district name (or alias) that `a + b` would have across or at the
/// start of the seam.
fn name_at_seam<'c>(config: &'c Config, a: &str, b: &str) -> Option<&'c str> {
    let all = config
        .districts
        .iter()
        .flat_map(|d| std::iter::once(&d.name).chain(&d.aliases));
    all.map(String::as_str).find(|name| {
        b.starts_with(name)
            || name
                .char_indices()
                .skip(1)
                .any(|(i, _)| a.ends_with(&name[..i]) && b.starts_with(&name[i..]))
    })
}

/// What the briefs under one heading share.
struct Block<'a> {
    heading: &'a Para,
    district: Option<&'a District>,
    page: NaiveDate,
    editor: Option<&'a str>,
    section: Option<&'a str>,
}

/// The briefs under one heading: each paragraph that starts with a date
/// lead starts an article.
fn briefs(
    config: &Config,
    block: &Block,
    paras: &[Para],
    names: &mut Names,
    plan: &mut Plan,
) -> Result<(), ImportError> {
    let heading = block.heading;
    if block.district.is_none() {
        plan.warnings.push((
            heading.line,
            format!(
                "`{}` is not a district in crier.toml (nor an alias of one): imported as city-wide news",
                heading.text
            ),
        ));
    }
    let joined = join_columns(config, paras, block.page, &mut plan.warnings);
    if joined.is_empty() {
        plan.warnings.push((
            heading.line,
            format!(
                "`{}` heads no brief: nothing imported under it",
                heading.text
            ),
        ));
        return Ok(());
    }
    let mut starts = Vec::new();
    for (i, p) in joined.iter().enumerate() {
        let lead = leads::date_lead(&p.text, block.page).map_err(|m| ImportError {
            line: Some(p.line),
            message: m,
        })?;
        if let Some((date, rest)) = lead {
            starts.push((i, date, rest.to_string()));
        } else if i == 0 {
            plan.warnings.push((
                p.line,
                format!(
                    "the brief under `{}` starts with no date lead (e.g. 1月10日，or 近日，): dated {}",
                    heading.text, block.page
                ),
            ));
            starts.push((0, block.page, p.text.clone()));
        }
    }
    for (k, (i, date, rest)) in starts.iter().enumerate() {
        let end = starts.get(k + 1).map_or(joined.len(), |s| s.0);
        let body = &joined[*i..end];
        let author = byline::reporters(&body[0].text);
        let title = brief_title(rest);
        let head = Head {
            title: &title,
            date: *date,
            summary: None,
            author: author.as_deref().or(block.editor),
            tag: block.section,
        };
        let path = names.take(block.district.map(|d| d.slug.as_str()), *date);
        push(plan, path, block.district, &head, body);
    }
    Ok(())
}

/// The page's date when none is given: a `YYYY-MM-DD` in its file name,
/// else the lead's dateline (`1月14日`) in the year of `today` (the year
/// before, if that is more than a month ahead). With the reason, for the
/// summary line.
pub fn page_date(
    file_name: &str,
    text: &str,
    today: NaiveDate,
) -> Option<(NaiveDate, &'static str)> {
    let chars: Vec<(usize, char)> = file_name.char_indices().collect();
    for w in chars.windows(10) {
        let start = w[0].0;
        let end = w[9].0 + w[9].1.len_utf8();
        if let Ok(date) = NaiveDate::parse_from_str(&file_name[start..end], "%Y-%m-%d") {
            return Some((date, "from the file name"));
        }
    }
    let dateline = paragraphs(text)
        .into_iter()
        .take(4)
        .find_map(|p| leads::first_month_day(&p.text))?;
    let date = leads::in_year(today, dateline.0, dateline.1)?;
    Some((date, "from the lead's dateline"))
}

/// Writes the plan into `content` (each file whole, only where its bytes
/// change). Returns (written, unchanged).
pub fn write(plan: &Plan, content: &Path) -> Result<(usize, usize), crate::atomic::WriteError> {
    let mut counts = (0, 0);
    for file in &plan.files {
        if crate::atomic::write_if_changed(&content.join(&file.path), file.text.as_bytes())? {
            counts.0 += 1;
        } else {
            counts.1 += 1;
        }
    }
    Ok(counts)
}
