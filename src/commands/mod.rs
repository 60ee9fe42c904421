//! The commands. Exit codes as in PRODUCT.md: 0 fine, 1 content errors
//! (the good articles are still built), 2 bad config or usage.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crier::config::{Config, Overrides};
use crier::content::Listing;
use crier::fingerprint::Key;
use crier::full;
use crier::hub::Hub;
use crier::library::Library;
use crier::live::Live;
use crier::output::{EntryLines, Output};
use crier::server::service::{FormHandler, State};
use crier::server::{self, Limits};
use crier::site;
use crier::store::{self, Record, Report, Store, StoreError, Tally};
use crier::watch;

use crate::args::{Input, ServeArgs};

mod serve;
mod stats;

pub use serve::{healthcheck, serve};
pub use stats::stats;

const CONTENT_ERRORS: u8 = 1;
const BAD_CONFIG: u8 = 2;

fn load_config(input: &Input) -> Result<Config, ExitCode> {
    load_config_with(input, &input.site.overrides())
}

/// The config of `input` with the flags' and variables' `overrides`,
/// worked out once per run.
fn load_config_with(input: &Input, overrides: &Overrides) -> Result<Config, ExitCode> {
    Config::load(&input.config, overrides).map_err(|e| {
        eprintln!("error: {e}");
        ExitCode::from(BAD_CONFIG)
    })
}

/// The main thread's runtime: signals, builds, the readers' database.
fn runtime() -> Result<tokio::runtime::Runtime, ExitCode> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            eprintln!("error: cannot start the runtime: {e}");
            ExitCode::from(BAD_CONFIG)
        })
}

fn load_library(config: Config, dir: &Path) -> Result<Library, ExitCode> {
    Library::load(config, dir).map_err(|e| content_unreadable(dir, &e))
}

fn exit_for(library: &Library) -> ExitCode {
    if library.errors() > 0 {
        ExitCode::from(CONTENT_ERRORS)
    } else {
        ExitCode::SUCCESS
    }
}

fn summary(library: &Library) -> String {
    format!(
        "{} articles, {} drafts skipped, {} scheduled, {} errors, {} warnings",
        library.count(None),
        library.drafts(),
        library.scheduled().len(),
        library.errors(),
        library.warnings()
    )
}

/// Reads config and content and prints every problem.
fn load(input: &Input) -> Result<Library, ExitCode> {
    let library = load_config(input).and_then(|c| load_library(c, &input.content))?;
    for d in library.diagnostics() {
        eprintln!("{d}");
    }
    Ok(library)
}

pub fn check(input: &Input) -> ExitCode {
    let library = match load(input) {
        Ok(l) => l,
        Err(code) => return code,
    };
    for (when, file, title) in library.scheduled() {
        println!(
            "scheduled: {} at {} ({title})",
            file.display(),
            when.to_rfc3339()
        );
    }
    // The feeds and index pages are rendered too: a document the feed
    // libraries refuse is an error here, not a surprise in production.
    let (built, _) = full::render(&library, None);
    // And one page of each kind made later (an article's, an archive's,
    // a topic's): a template that fails on one fails here.
    let mut kinds = Vec::new();
    let mut errors = built.errors;
    for job in &built.jobs {
        if !kinds.contains(&job.kind()) {
            kinds.push(job.kind());
            if let Err(e) = job.work().render(&library.config, &input.content) {
                errors.push(e);
            }
        }
    }
    for e in &errors {
        eprintln!("error: {e}");
    }
    println!("{}", summary(&library));
    if errors.is_empty() {
        exit_for(&library)
    } else {
        ExitCode::from(CONTENT_ERRORS)
    }
}

pub fn build(input: &Input, out: &Path) -> ExitCode {
    let started = Instant::now();
    let config = match load_config(input) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let epoch = store::epoch(&config);
    if let Err(e) = store::claim(out) {
        return store_failed(e, out);
    }
    let listing = match full::list(&config, &input.content, out) {
        Ok(l) => l,
        Err(e) => return content_unreadable(&input.content, &e),
    };
    tracing::debug!(elapsed = ?started.elapsed(), files = listing.found.len(), "content listed");
    if let Some(record) = up_to_date(out, epoch, &listing) {
        println!(
            "{} articles, {} drafts skipped, 0 scheduled, 0 errors, 0 warnings; {} pages and feeds (with .gz and .br: {} files) in {}: 0 written, {} unchanged, 0 removed (nothing changed since the last build), in {:.3}s",
            record.articles,
            record.drafts,
            record.outputs,
            record.files,
            out.display(),
            record.files,
            started.elapsed().as_secs_f64()
        );
        return ExitCode::SUCCESS;
    }
    let mut store = match Store::open(out, epoch) {
        Ok(s) => s,
        Err(e) => return store_failed(e, out),
    };
    if store.needs_listing() {
        store.list();
        tracing::debug!(elapsed = ?started.elapsed(), "output folder listed");
    }
    match read_content(config, &input.content, out, epoch, listing, &store) {
        Ok((library, tally)) => write_site(&mut store, library, tally, &input.content, started),
        Err(code) => code,
    }
}

/// Reads the library for `crier build`, rendering and writing article
/// pages as their files are read (so each file is read once and the
/// build holds no more than a page per thread), and saves the index.
fn read_content(
    config: Config,
    content: &Path,
    out: &Path,
    epoch: Option<Key>,
    listing: Listing,
    store: &Store,
) -> Result<(Library, Tally), ExitCode> {
    let page_config = config.clone();
    let tally = Tally::default();
    let sink = store.page_sink(&page_config, &tally);
    let (library, indexed) = full::read(config, content, out, listing, &sink)
        .map_err(|e| content_unreadable(content, &e))?;
    drop(sink);
    let (read, _) = library.opened();
    let index_epoch = epoch.and(crier::index::epoch(&library.config));
    if let Some(epoch) = index_epoch.filter(|_| read > 0 || library.count(None) != indexed)
        && let Err(e) = library.save_index(&out.join(crier::index::FILE), epoch)
    {
        return Err(store_failed(e.into(), out));
    }
    tracing::debug!(
        files_read = read,
        "content read, article pages written, index saved"
    );
    for d in library.diagnostics() {
        eprintln!("{d}");
    }
    if let Some(e) = tally.error.lock().unwrap_or_else(|e| e.into_inner()).take() {
        eprintln!("error: {e}");
        return Err(ExitCode::from(CONTENT_ERRORS));
    }
    Ok((library, tally))
}

/// Renders and writes the rest of the site for `crier build`, then
/// finishes the folder and prints the summary line.
fn write_site(
    store: &mut Store,
    library: Library,
    mut tally: Tally,
    content: &Path,
    started: Instant,
) -> ExitCode {
    let out = store.path().to_path_buf();
    let (built, prints) = full::render(&library, Some(store));
    site::offer_summaries(&built.jobs, std::mem::take(&mut tally.summaries));
    tracing::debug!(elapsed = ?started.elapsed(), "feeds and index pages rendered");
    let mut report = Report {
        written: tally.written.load(std::sync::atomic::Ordering::Relaxed),
        unchanged: tally.unchanged.load(std::sync::atomic::Ordering::Relaxed),
        removed: 0,
    };
    let written = store.write_outputs(&built.outputs);
    match written.and_then(|r| Ok((r, store.write_media(&built.media)?))) {
        Ok((pages, media)) => {
            report.add(&pages);
            report.add(&media);
        }
        Err(e) => return store_failed(e, &out),
    }
    let handled = std::mem::take(&mut *tally.handled.lock().unwrap_or_else(|e| e.into_inner()));
    let jobs: Vec<site::Job> = built
        .jobs
        .iter()
        .filter(|j| !handled.contains(&j.file()))
        .cloned()
        .collect();
    let done = store.run_jobs(&jobs, &library.config, content);
    if let Some(e) = done.write_error {
        return store_failed(e, &out);
    }
    report.add(&done.report);
    let errors: Vec<String> = built
        .errors
        .iter()
        .chain(&done.errors)
        .map(|e| e.to_string())
        .collect();
    for e in &errors {
        eprintln!("error: {e}");
    }
    tracing::debug!(elapsed = ?started.elapsed(), "feeds and pages written");
    let entries = || {
        let mut lines = EntryLines::default();
        for e in built.outputs.iter().map(Output::entry) {
            lines.push_entry(&e);
        }
        for e in built.jobs.iter().map(site::Job::entry) {
            lines.push_entry(&e);
        }
        for m in &built.media {
            lines.push_entry(&site::media_entry(m));
        }
        Some(lines)
    };
    let now = chrono::Utc::now().fixed_offset();
    let until = full::until(crier::sitemaps::news_expiry(&library, now));
    let clean = errors.is_empty();
    match full::finish(store, &library, &prints, clean, until, entries) {
        Ok(removed) => report.removed = removed,
        Err(e) => return store_failed(e, &out),
    }
    println!(
        "{}; {} pages and feeds (with .gz and .br: {} files) in {}: {} written, {} unchanged, {} removed, in {:.3}s",
        summary(&library),
        built.outputs.len() + built.jobs.len(),
        report.written + report.unchanged,
        out.display(),
        report.written,
        report.unchanged,
        report.removed,
        started.elapsed().as_secs_f64()
    );
    let code = if clean {
        exit_for(&library)
    } else {
        ExitCode::from(CONTENT_ERRORS)
    };
    // The process ends now: freeing every article one by one would only
    // cost time at archive scale.
    std::mem::forget(library);
    code
}

/// The record of the last build, if the output folder is sealed with
/// it and the content lists exactly as it did then: nothing to do.
fn up_to_date(out: &Path, epoch: Option<Key>, listing: &Listing) -> Option<Record> {
    let record = Record::read(out, epoch?)?;
    (listing.key()? == record.content).then_some(record)
}

fn store_failed(e: StoreError, out: &Path) -> ExitCode {
    match e {
        e @ StoreError::NotOurs(_) => {
            eprintln!("error: {e}");
            ExitCode::from(BAD_CONFIG)
        }
        e => {
            eprintln!("error: {}", e.describe(out));
            ExitCode::from(CONTENT_ERRORS)
        }
    }
}

fn content_unreadable(dir: &Path, e: &std::io::Error) -> ExitCode {
    eprintln!(
        "error: {}: cannot read the content folder ({e}); create it or point --content / CRIER_CONTENT at it",
        dir.display()
    );
    ExitCode::from(BAD_CONFIG)
}

/// `crier import`'s choices besides the page and the folders.
pub struct ImportOptions {
    pub date: Option<chrono::NaiveDate>,
    pub encoding: Option<String>,
    pub dry_run: bool,
}

pub fn import(page: &Path, options: &ImportOptions, config: &Path, content: &Path) -> ExitCode {
    let config = match Config::load(config, &Default::default()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(BAD_CONFIG);
        }
    };
    let bytes = match std::fs::read(page) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("error: {}: cannot read the page ({e})", page.display());
            return ExitCode::from(BAD_CONFIG);
        }
    };
    let failed = |e: crier::import::ImportError| {
        let at = e.line.map(|l| format!(":{l}")).unwrap_or_default();
        eprintln!(
            "{}{at}: error: {}; nothing was written",
            page.display(),
            e.message
        );
        ExitCode::from(CONTENT_ERRORS)
    };
    let (text, encoding) = match crier::import::decode(&bytes, options.encoding.as_deref()) {
        Ok(t) => t,
        Err(e) => return failed(e),
    };
    let Some((date, whence)) = import_date(&config, page, &text, options.date) else {
        eprintln!(
            "{}: error: no date: give --date YYYY-MM-DD (the file name has none, nor the lead a dateline); nothing was written",
            page.display()
        );
        return ExitCode::from(BAD_CONFIG);
    };
    let mut plan = match crier::import::plan_text(&config, &text, date) {
        Ok(p) => p,
        Err(e) => return failed(e),
    };
    plan.encoding = encoding;
    for (line, w) in &plan.warnings {
        eprintln!("{}:{line}: warning: {w}", page.display());
    }
    let read = format!("read as {encoding}, dated {date} ({whence})");
    if options.dry_run {
        let summary = format!(
            "{} articles (dry run: nothing written; {read})",
            plan.files.len()
        );
        print_plan(&plan, content, &summary);
        return ExitCode::SUCCESS;
    }
    match crier::import::write(&plan, content) {
        Ok((written, unchanged)) => {
            println!(
                "{} articles into {}: {written} written, {unchanged} unchanged ({read})",
                plan.files.len(),
                content.display()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: cannot write the articles: {e}");
            ExitCode::from(CONTENT_ERRORS)
        }
    }
}

/// `--date`, else one from the file name or the lead's dateline.
fn import_date(
    config: &Config,
    page: &Path,
    text: &str,
    given: Option<chrono::NaiveDate>,
) -> Option<(chrono::NaiveDate, &'static str)> {
    if let Some(d) = given {
        return Some((d, "--date"));
    }
    crier::intake::page_date(config, page, text)
}

/// The dry run's plan: file → district, date, title, first characters.
/// (A closed pipe, `| head`, ends the listing quietly.)
fn print_plan(plan: &crier::import::Plan, content: &Path, summary: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    for f in &plan.files {
        let first: String = f.first.chars().take(24).collect();
        let line = writeln!(
            out,
            "{} → {}, {}, {}: {first}…",
            content.join(&f.path).display(),
            f.district.as_deref().unwrap_or("city-wide"),
            f.date,
            f.title
        );
        if line.is_err() {
            return;
        }
    }
    let _ = writeln!(out, "{summary}");
}
