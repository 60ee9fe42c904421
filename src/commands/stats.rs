//! The readers' database for `crier serve` (opened at start, exit 2 when
//! it cannot be), and `crier stats`, which prints what it holds.

use super::*;
use crate::args::ReaderArgs;
use crier::database::{Database, Location};
use crier::readers::{Keeper, Readers, Secret, Subscriptions};

/// Opens the database of `config` (or the SQLite file in `state_dir`)
/// on `runtime`, bringing its schema up to date.
fn open_database(
    runtime: &tokio::runtime::Runtime,
    config: &Config,
    state_dir: &Path,
) -> Result<Database, ExitCode> {
    let location = Location::of(config.readers.database_url.as_deref(), state_dir);
    runtime.block_on(Database::open(&location)).map_err(|e| {
        eprintln!(
            "error: {e}; check database_url / CRIER_DATABASE_URL (or --state-dir for SQLite), or serve with --no-reader-counts"
        );
        ExitCode::from(BAD_CONFIG)
    })
}

/// The keeper of the readers' counts, running on the main runtime.
pub(super) struct Keeping {
    stop: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Keeping {
    /// Writes the last counts and closes the database.
    pub(super) fn stop(self, runtime: &tokio::runtime::Runtime) {
        let _ = self.stop.send(true);
        let _ = runtime.block_on(self.task);
    }
}

/// The readers' counts of a server and what keeps them in the database
/// (from now on, every `--reader-flush-seconds`), or counts that count
/// nothing with `--no-reader-counts`.
pub(super) fn start_readers(
    args: &ServeArgs,
    runtime: &tokio::runtime::Runtime,
    config: &Config,
    hub: Option<(Arc<dyn Subscriptions>, crier::config::Current)>,
) -> Result<(Arc<Readers>, Option<Keeping>), ExitCode> {
    if args.no_reader_counts {
        return Ok((Arc::new(Readers::default()), None));
    }
    let state_dir = &args.readers.state_dir;
    let db = open_database(runtime, config, state_dir)?;
    let secret = match &config.readers.secret {
        Some(s) => Secret::from_setting(s),
        None => {
            if db.is_postgres() {
                tracing::warn!(
                    "no readers_secret: each replica hashes direct readers with a key of its own, so a reader of two replicas counts twice; set CRIER_READERS_SECRET, the same on each"
                );
            }
            Secret::in_folder(state_dir).map_err(|e| {
                eprintln!(
                    "error: cannot keep the readers' secret in {}: {e}; make the state folder writable or set readers_secret",
                    state_dir.display()
                );
                ExitCode::from(BAD_CONFIG)
            })?
        }
    };
    tracing::info!(database = %db.shown(), "counting readers");
    let readers = Arc::new(Readers::new(true, secret));
    let keeper = Keeper::new(readers.clone(), db, hub);
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let every = Duration::from_secs(args.reader_flush_seconds.max(1));
    let task = runtime.spawn(keeper.run(every, stopped));
    Ok((readers, Some(Keeping { stop, task })))
}

/// `crier stats`: the figures as a table (or JSON), from the database.
pub fn stats(input: &Input, readers: &ReaderArgs, json: bool) -> ExitCode {
    let overrides = readers.over(input.site.overrides());
    let config = match load_config_with(input, &overrides) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let runtime = match runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    let db = match open_database(&runtime, &config, &readers.state_dir) {
        Ok(db) => db,
        Err(code) => return code,
    };
    let now = chrono::Utc::now().timestamp();
    let figures = match runtime.block_on(crier::readers::read_figures(&db, now)) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: cannot read the figures from {}: {e}", db.shown());
            return ExitCode::from(BAD_CONFIG);
        }
    };
    runtime.block_on(db.close());
    let text = if json {
        let mut bytes = crier::readers::json(&figures);
        bytes.push(b'\n');
        bytes
    } else {
        figures.table().into_bytes()
    };
    crate::args::print_out(&text)
}
