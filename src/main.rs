#![forbid(unsafe_code)]

mod args;

use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;

use args::{Cli, Command, Input};
use crier::config::Config;
use crier::content::{self, Loaded};
use crier::publish;
use crier::site::Site;

/// Exit codes: PRODUCT.md's "Command line".
const CONTENT_ERRORS: u8 = 1;
const BAD_CONFIG: u8 = 2;

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match cli.command {
        Command::Check { input } => check(&input),
        Command::Build { input, out } => build(&input, &out),
    }
}

/// Reads config and content, printing every diagnostic. `Err` is the exit code.
fn load(input: &Input) -> Result<(Config, Loaded), ExitCode> {
    let config = Config::load(&input.config, &input.site.overrides()).map_err(|e| {
        eprintln!("error: {e}");
        ExitCode::from(BAD_CONFIG)
    })?;
    let loaded = content::load(&config, &input.content).map_err(|e| {
        eprintln!(
            "error: {}: cannot read the content folder ({e}); create it or point --content / CRIER_CONTENT at it",
            input.content.display()
        );
        ExitCode::from(BAD_CONFIG)
    })?;
    for d in &loaded.diagnostics {
        eprintln!("{d}");
    }
    Ok((config, loaded))
}

fn exit_for(loaded: &Loaded) -> ExitCode {
    if loaded.errors() > 0 {
        ExitCode::from(CONTENT_ERRORS)
    } else {
        ExitCode::SUCCESS
    }
}

fn summary(loaded: &Loaded) -> String {
    let warnings = loaded.diagnostics.len() - loaded.errors();
    format!(
        "{} articles, {} drafts skipped, {} errors, {} warnings",
        loaded.articles.len(),
        loaded.drafts,
        loaded.errors(),
        warnings
    )
}

fn check(input: &Input) -> ExitCode {
    let (_, loaded) = match load(input) {
        Ok(l) => l,
        Err(code) => return code,
    };
    println!("{}", summary(&loaded));
    exit_for(&loaded)
}

fn build(input: &Input, out: &std::path::Path) -> ExitCode {
    let started = Instant::now();
    let (config, loaded) = match load(input) {
        Ok(l) => l,
        Err(code) => return code,
    };
    let site = Site::build(&config, &loaded.articles);
    match publish::publish(&site, out) {
        Ok(r) => {
            println!(
                "{}; {} files in {}: {} written, {} unchanged, {} removed, in {:.3}s",
                summary(&loaded),
                site.outputs.len(),
                out.display(),
                r.written,
                r.unchanged,
                r.removed,
                started.elapsed().as_secs_f64()
            );
            exit_for(&loaded)
        }
        Err(e @ publish::PublishError::NotOurs(_)) => {
            eprintln!("error: {e}");
            ExitCode::from(BAD_CONFIG)
        }
        Err(e) => {
            eprintln!("error: cannot write the output: {e}");
            ExitCode::from(CONTENT_ERRORS)
        }
    }
}
