//! Command-line arguments. Every site setting can come from a flag or a
//! `CRIER_*` environment variable (flag first), then `crier.toml`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crier::config::Overrides;

#[derive(Debug, Parser)]
#[command(
    name = "crier",
    version,
    about = "Publishes a newsroom's articles as RSS, Atom and JSON feeds."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Read crier.toml and content/ and write every page and feed into the output folder.
    Build {
        #[command(flatten)]
        input: Input,
        /// Output folder; files are replaced one by one, atomically.
        #[arg(long, env = "CRIER_OUT", default_value = "feeds")]
        out: PathBuf,
    },
    /// Read and validate crier.toml and content/, writing nothing. Exit 1 on content errors.
    Check {
        #[command(flatten)]
        input: Input,
    },
}

#[derive(Debug, Args)]
pub struct Input {
    /// Site configuration file.
    #[arg(long, env = "CRIER_CONFIG", default_value = "crier.toml")]
    pub config: PathBuf,
    /// Folder of article files: <district>/<slug>.md, or <slug>.md for city-wide news.
    #[arg(long, env = "CRIER_CONTENT", default_value = "content")]
    pub content: PathBuf,
    #[command(flatten)]
    pub site: SiteArgs,
}

/// Overrides of crier.toml keys.
#[derive(Debug, Args)]
pub struct SiteArgs {
    /// Absolute public URL the site is served from (crier.toml: base_url).
    #[arg(long, env = "CRIER_BASE_URL")]
    pub base_url: Option<String>,
    /// Site title (crier.toml: title).
    #[arg(long, env = "CRIER_TITLE")]
    pub title: Option<String>,
    /// Site description (crier.toml: description).
    #[arg(long, env = "CRIER_DESCRIPTION")]
    pub description: Option<String>,
    /// Domain used in item ids; never change it once published (crier.toml: id_authority).
    #[arg(long, env = "CRIER_ID_AUTHORITY")]
    pub id_authority: Option<String>,
    /// Language tag of the feeds, e.g. zh-CN (crier.toml: language).
    #[arg(long, env = "CRIER_LANGUAGE")]
    pub language: Option<String>,
    /// IANA time zone for dates written without an offset (crier.toml: timezone).
    #[arg(long, env = "CRIER_TIMEZONE")]
    pub timezone: Option<String>,
    /// Items per feed (crier.toml: feed_limit).
    #[arg(long, env = "CRIER_FEED_LIMIT")]
    pub feed_limit: Option<usize>,
    /// Seconds clients may cache a response; also sets the RSS <ttl> (crier.toml: max_age).
    #[arg(long, env = "CRIER_MAX_AGE")]
    pub max_age: Option<u64>,
}

impl SiteArgs {
    pub fn overrides(&self) -> Overrides {
        Overrides {
            title: self.title.clone(),
            description: self.description.clone(),
            base_url: self.base_url.clone(),
            id_authority: self.id_authority.clone(),
            language: self.language.clone(),
            timezone: self.timezone.clone(),
            feed_limit: self.feed_limit,
            max_age: self.max_age,
            districts: Default::default(),
        }
    }
}
