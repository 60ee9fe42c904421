//! `crier import`: a printed page (plain text) split into article files.
//!
//! The page: a lead article (headline, sub-headline, a dateline naming the
//! reporter, paragraphs), then a section headline, then briefs, each under
//! a district's name and starting with its date (`1月10日，`) or `日前，`,
//! and a closing line naming the editor (`（以上由…编辑整理）`). Text the
//! print layout broke across columns shows up as a paragraph that stops
//! mid-sentence and goes on after a blank line.

use std::path::{Path, PathBuf};

use chrono::{Datelike, NaiveDate};

use crate::config::Config;

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

/// The files a page becomes, relative to the content folder, and warnings.
#[derive(Debug, Default)]
pub struct Plan {
    pub files: Vec<(PathBuf, String)>,
    pub warnings: Vec<(usize, String)>,
}

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

/// `M月D日` at the start of `s` (after `skip` characters of anything), as a date in `year`.
fn month_day(s: &str) -> Option<(u32, u32, usize)> {
    let m_end = s.find('月')?;
    let month: u32 = s[..m_end].parse().ok()?;
    let rest = &s[m_end + '月'.len_utf8()..];
    let d_end = rest.find('日')?;
    let day: u32 = rest[..d_end].parse().ok()?;
    Some((
        month,
        day,
        m_end + '月'.len_utf8() + d_end + '日'.len_utf8(),
    ))
}

/// The date a brief starts with, and the text after `，`.
fn brief_date(
    text: &str,
    page: NaiveDate,
    line: usize,
) -> Result<Option<(NaiveDate, &str)>, ImportError> {
    if let Some(rest) = text.strip_prefix("日前，") {
        return Ok(Some((page, rest)));
    }
    let Some((m, d, len)) = month_day(text) else {
        return Ok(None);
    };
    let Some(rest) = text[len..].strip_prefix('，') else {
        return Ok(None);
    };
    match NaiveDate::from_ymd_opt(page.year(), m, d) {
        Some(date) => Ok(Some((date, rest))),
        None => error(
            Some(line),
            format!("unreadable date `{m}月{d}日`: fix the date at the start of the brief"),
        ),
    }
}

/// Joins paragraphs the print layout split: one that does not end a
/// sentence goes on in the next.
fn repair(paras: &[Para]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for p in paras {
        match out.last_mut() {
            Some(last) if !ends_sentence(last) => last.push_str(&p.text),
            _ => out.push(p.text.clone()),
        }
    }
    out
}

fn paragraphs(text: &str) -> Vec<Para> {
    let mut out: Vec<Para> = Vec::new();
    let mut open = false;
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
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

fn quote(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// The article file: TOML front matter, then the paragraphs.
fn article(
    title: &str,
    date: NaiveDate,
    summary: Option<&str>,
    author: Option<&str>,
    tag: Option<&str>,
    body: &[String],
) -> String {
    let mut s = format!("+++\ntitle = {}\ndate = {date}\n", quote(title));
    if let Some(v) = summary {
        s += &format!("summary = {}\n", quote(v));
    }
    if let Some(v) = author {
        s += &format!("author = {}\n", quote(v));
    }
    if let Some(v) = tag {
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
    let sentence = first.split('。').next().unwrap_or(first);
    if sentence.chars().count() > 30 && sentence.contains('，') {
        sentence.split('，').next().unwrap_or(sentence).to_string()
    } else {
        sentence.to_string()
    }
}

/// Works out every file of the page without writing anything.
pub fn plan(config: &Config, page: &[u8], date: NaiveDate) -> Result<Plan, ImportError> {
    let text = match std::str::from_utf8(page) {
        Ok(t) => t.strip_prefix('\u{feff}').unwrap_or(t),
        Err(e) => {
            let line = page[..e.valid_up_to()]
                .iter()
                .filter(|b| **b == b'\n')
                .count()
                + 1;
            return error(
                Some(line),
                "not UTF-8: save the page as UTF-8 (e.g. iconv -f GBK -t UTF-8)",
            );
        }
    };
    let paras = paragraphs(text);
    if paras.is_empty() {
        return error(None, "the page is empty");
    }
    // The closing line names the editor of the briefs.
    let (paras, editor) = match paras.last().map(|p| p.text.as_str()) {
        Some(t) if t.starts_with("（以上由") && t.ends_with("编辑整理）") => {
            let name = t
                .trim_start_matches("（以上由")
                .trim_end_matches("编辑整理）")
                .to_string();
            (&paras[..paras.len() - 1], Some(name))
        }
        _ => (&paras[..], None),
    };
    // Brief headings: a short line followed by a paragraph starting with a date.
    let mut headings = Vec::new();
    for i in 0..paras.len().saturating_sub(1) {
        if is_heading(&paras[i].text, 20)
            && brief_date(&paras[i + 1].text, date, paras[i + 1].line)?.is_some()
        {
            headings.push(i);
        }
    }
    let first_brief = headings.first().copied().unwrap_or(paras.len());
    let section = (first_brief > 0
        && first_brief < paras.len()
        && is_heading(&paras[first_brief - 1].text, 60))
    .then(|| &paras[first_brief - 1]);
    let lead_end = if section.is_some() {
        first_brief - 1
    } else {
        first_brief
    };

    let mut plan = Plan::default();
    let mut taken: Vec<PathBuf> = Vec::new();
    let mut name_for = |folder: Option<&str>, date: NaiveDate| -> PathBuf {
        let dir = folder.map(PathBuf::from).unwrap_or_default();
        let mut n = 1;
        loop {
            let name = if n == 1 {
                format!("{date}.md")
            } else {
                format!("{date}-{n}.md")
            };
            let path = dir.join(name);
            if !taken.contains(&path) {
                taken.push(path.clone());
                return path;
            }
            n += 1;
        }
    };

    if lead_end > 0 {
        let lead = &paras[..lead_end];
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
        let body = repair(&lead[body_start.min(lead.len())..]);
        let Some(dateline) = body.first() else {
            return error(
                Some(headline.line),
                "the lead article has a headline but no text",
            );
        };
        let line = lead.get(body_start).map_or(headline.line, |p| p.line);
        let (m, d) = dateline
            .char_indices()
            .find_map(|(i, _)| month_day(&dateline[i..]).map(|(m, d, _)| (m, d)))
            .ok_or(ImportError {
                line: Some(line),
                message: "no date in the lead's dateline: expected e.g. 1月14日".into(),
            })?;
        let Some(lead_date) = NaiveDate::from_ymd_opt(date.year(), m, d) else {
            return error(
                Some(line),
                format!("unreadable date `{m}月{d}日` in the lead's dateline"),
            );
        };
        let reporter = dateline
            .split_once("记者")
            .and_then(|(_, r)| r.split_once('）'))
            .map(|(name, _)| name.trim().to_string())
            .filter(|n| !n.is_empty());
        let file = name_for(None, lead_date);
        plan.files.push((
            file,
            article(
                &headline.text,
                lead_date,
                sub.map(|p| p.text.as_str()),
                reporter.as_deref(),
                None,
                &body,
            ),
        ));
    }

    for (k, &h) in headings.iter().enumerate() {
        let end = headings.get(k + 1).copied().unwrap_or(paras.len());
        let heading = &paras[h];
        let body = repair(&paras[h + 1..end]);
        // A heading right before another (a short dated line taken for one).
        let Some(first) = body.first() else {
            return error(
                Some(heading.line),
                format!(
                    "`{}` heads no brief: the line after it is short and unpunctuated, like a heading; end the brief with 。",
                    heading.text
                ),
            );
        };
        let Some((brief_day, rest)) = brief_date(first, date, paras[h + 1].line)? else {
            return error(
                Some(paras[h + 1].line),
                "a brief must start with its date, e.g. 1月10日，",
            );
        };
        let district = config
            .districts
            .iter()
            .find(|d| d.name == heading.text)
            .map(|d| d.slug.as_str());
        if district.is_none() {
            plan.warnings.push((
                heading.line,
                format!(
                    "`{}` is not a district in crier.toml: imported as city-wide news",
                    heading.text
                ),
            ));
        }
        let title = brief_title(rest);
        let file = name_for(district, brief_day);
        plan.files.push((
            file,
            article(
                &title,
                brief_day,
                None,
                editor.as_deref(),
                section.map(|s| s.text.as_str()),
                &body,
            ),
        ));
    }
    if plan.files.is_empty() {
        return error(
            Some(paras[0].line),
            "no article found: expected a headline and a dateline, or briefs under district names",
        );
    }
    Ok(plan)
}

/// Writes the plan into `content` (each file whole, only where its bytes
/// change). Returns (written, unchanged).
pub fn write(plan: &Plan, content: &Path) -> Result<(usize, usize), crate::atomic::WriteError> {
    let mut counts = (0, 0);
    for (rel, text) in &plan.files {
        if crate::atomic::write_if_changed(&content.join(rel), text.as_bytes())? {
            counts.0 += 1;
        } else {
            counts.1 += 1;
        }
    }
    Ok(counts)
}
