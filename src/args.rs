//! Command-line arguments. Every site setting can come from a flag or a
//! `CRIER_*` environment variable (flag first), then `crier.toml`.

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, CommandFactory, Parser, Subcommand};

use crier::config::{HubSetting, Overrides};

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
    /// Build the site (writing the output folder as build does) and serve it over HTTP.
    Serve(Box<ServeArgs>),
    /// Exit 0 if a running `crier serve` answers /healthz with 200 within a few seconds, else 1 (for Docker's HEALTHCHECK).
    Healthcheck {
        /// The server's address; 0.0.0.0 / [::] mean this machine.
        #[arg(long, env = "CRIER_ADDR", default_value = "127.0.0.1:8080")]
        addr: SocketAddr,
    },
    /// Split a printed page (plain text) into article files in the content folder.
    Import {
        /// The page: plain text in UTF-8, UTF-16 (with BOM) or GB18030, any line ends.
        page: PathBuf,
        /// The page's date (YYYY-MM-DD): gives the year, and the date of briefs that say 日前 [default: a YYYY-MM-DD in the file name, else the lead's dateline in this year].
        #[arg(long)]
        date: Option<chrono::NaiveDate>,
        /// Read the page in this encoding (UTF-8, UTF-16LE, UTF-16BE, GB18030, GBK...) instead of detecting it.
        #[arg(long)]
        encoding: Option<String>,
        /// Print the plan (file, district, date, title, first words) and write nothing.
        #[arg(long)]
        dry_run: bool,
        /// Site configuration file (its districts' names map headings to folders).
        #[arg(long, env = "CRIER_CONFIG", default_value = "crier.toml")]
        config: PathBuf,
        /// Folder to write the articles into.
        #[arg(long, env = "CRIER_CONTENT", default_value = "content")]
        content: PathBuf,
    },
    /// Print each feed's readers (reported by aggregators, hub, direct, total, change over 7 and 30 days) from the database `crier serve` writes them to.
    Stats {
        #[command(flatten)]
        input: Input,
        #[command(flatten)]
        readers: ReaderArgs,
        /// Print the figures as JSON (as /stats/subscribers.json) instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Print a shell completion script: `crier completions bash > /etc/bash_completion.d/crier`.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the man page, crier(1); with --out, write crier.1 and a crier-COMMAND.1 per command there.
    Man {
        /// Folder for one page per command.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub input: Input,
    /// Output folder, written as by `crier build`.
    #[arg(long, env = "CRIER_OUT", default_value = "feeds")]
    pub out: PathBuf,
    /// Address to listen on.
    #[arg(long, env = "CRIER_ADDR", default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,
    /// Scan for changes every debounce interval instead of waiting for file
    /// events (network mounts, some Docker volumes give none).
    #[arg(long, env = "CRIER_POLL")]
    pub poll: bool,
    /// With --poll: milliseconds between scans (each scan stats every file).
    #[arg(long, env = "CRIER_POLL_MS", default_value_t = 500)]
    pub poll_ms: u64,
    /// Milliseconds to gather file events into one update.
    #[arg(long, env = "CRIER_DEBOUNCE_MS", default_value_t = 100)]
    pub debounce_ms: u64,
    /// Server threads, each with its own accept loop [default: one per CPU core].
    #[arg(long, env = "CRIER_THREADS")]
    pub threads: Option<usize>,
    /// Log format: text for people, json for log shippers. Filter with RUST_LOG.
    #[arg(long, env = "CRIER_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// Seconds a client may take to send a request's headers; also closes idle keep-alive connections.
    #[arg(long, env = "CRIER_HEADER_TIMEOUT", default_value_t = 10)]
    pub header_timeout: u64,
    /// Most connections served at once; more wait in the listen backlog.
    #[arg(long, env = "CRIER_MAX_CONNECTIONS", default_value_t = 10_000)]
    pub max_connections: usize,
    /// Largest request head (request line and headers) in bytes; bigger gets 431.
    #[arg(long, env = "CRIER_MAX_REQUEST_BYTES", default_value_t = 16384)]
    pub max_request_bytes: usize,
    /// Seconds in-flight requests get to finish after SIGTERM or SIGINT.
    #[arg(long, env = "CRIER_GRACE_PERIOD", default_value_t = 10)]
    pub grace_period: u64,
    /// With hub = "builtin": where WebSub subscriptions are kept across
    /// restarts (it holds subscribers' secrets: keep it out of feeds/).
    #[arg(long, env = "CRIER_WEBSUB_STATE", default_value = ".crier-websub.json")]
    pub websub_state: PathBuf,
    /// Import printed pages dropped into this folder, once each (moved to done/ or failed/) [crier.toml: import_dir].
    #[arg(long, env = "CRIER_IMPORT_DIR")]
    pub import_dir: Option<PathBuf>,
    /// Do not count each feed's readers (see docs/readers.md): for
    /// measuring what counting costs.
    #[arg(long, env = "CRIER_NO_READER_COUNTS")]
    pub no_reader_counts: bool,
    /// With hub = "builtin": deliveries to subscribers in flight at once.
    #[arg(long, env = "CRIER_HUB_CONCURRENCY", default_value_t = 64)]
    pub hub_concurrency: usize,
    /// With hub = "builtin": deliveries in flight to one host at once.
    #[arg(long, env = "CRIER_HUB_PER_HOST", default_value_t = 8)]
    pub hub_per_host: usize,
    /// Seconds a claimed delivery is this server's before another may make it.
    #[arg(
        long,
        env = "CRIER_HUB_CLAIM_SECONDS",
        default_value_t = 120,
        hide = true
    )]
    pub hub_claim_seconds: u64,
    #[command(flatten)]
    pub readers: ReaderArgs,
    /// Seconds between writes of the readers' counts to the database.
    #[arg(
        long,
        env = "CRIER_READER_FLUSH_SECONDS",
        default_value_t = 60,
        hide = true
    )]
    pub reader_flush_seconds: u64,
}

/// Where the readers' counts are kept (docs/readers.md).
#[derive(Debug, Args)]
pub struct ReaderArgs {
    /// Folder of crier's state: the SQLite database of readers' counts (crier.db) when no --database-url is set.
    #[arg(long, env = "CRIER_STATE_DIR", default_value = ".crier-state")]
    pub state_dir: PathBuf,
    /// PostgreSQL for the readers' counts, shared by replicas: postgres://user:password@host/db (crier.toml: database_url).
    #[arg(long, env = "CRIER_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// Token that opens /stats/: Authorization: Bearer <token> (crier.toml: stats_token).
    #[arg(long, env = "CRIER_STATS_TOKEN", hide_env_values = true)]
    pub stats_token: Option<String>,
    /// Secret the daily keys of direct readers derive from; the same on every replica (crier.toml: readers_secret).
    #[arg(long, env = "CRIER_READERS_SECRET", hide_env_values = true)]
    pub readers_secret: Option<String>,
}

impl ReaderArgs {
    /// These settings over `overrides`.
    pub fn over(&self, mut overrides: Overrides) -> Overrides {
        overrides.database_url = self.database_url.clone();
        overrides.stats_token = self.stats_token.clone();
        overrides.readers_secret = self.readers_secret.clone();
        overrides
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
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
    /// Topic pages and feeds from tags: true or false (crier.toml: topics).
    #[arg(long, env = "CRIER_TOPICS")]
    pub topics: Option<bool>,
    /// WebSub hub URLs, comma-separated, announced in the feeds and told of
    /// every change (crier.toml: hub).
    #[arg(long, env = "CRIER_HUB")]
    pub hub: Option<String>,
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
            topics: self.topics,
            hub: self
                .hub
                .as_ref()
                .map(|h| HubSetting::Many(h.split(',').map(|u| u.trim().to_string()).collect())),
            ..Default::default()
        }
    }
}

/// `crier completions SHELL`: the script on stdout.
pub fn completions(shell: clap_complete::Shell) -> ExitCode {
    let mut cmd = Cli::command();
    // Into memory first: clap_complete panics when its writer fails (a
    // closed pipe, say).
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut cmd, "crier", &mut script);
    print_out(&script)
}

/// Bytes to stdout; a closed pipe or full disk is a message, not a panic.
pub fn print_out(bytes: &[u8]) -> ExitCode {
    match std::io::stdout().write_all(bytes) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: cannot write to stdout: {e}");
            ExitCode::from(1)
        }
    }
}

/// `crier man`: crier(1) on stdout; `--out DIR`: crier.1 and one
/// crier-COMMAND.1 per command in DIR.
pub fn man(out: Option<&Path>) -> ExitCode {
    let cmd = Cli::command();
    let Some(dir) = out else {
        let mut page = Vec::new();
        return match clap_mangen::Man::new(cmd).render(&mut page) {
            Ok(()) => print_out(&page),
            Err(e) => {
                eprintln!("error: cannot render the man page: {e}");
                ExitCode::from(1)
            }
        };
    };
    match clap_mangen::generate_to(cmd, dir) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!(
                "error: cannot write the man pages into {}: {e}; create the folder or pick another",
                dir.display()
            );
            ExitCode::from(1)
        }
    }
}
