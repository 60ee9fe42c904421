//! crier's database for `crier serve` (opened at start, exit 2 when it
//! cannot be): the readers' counts and the built-in hub kept in it; and
//! `crier stats`, which prints the readers' figures.

use super::*;
use crate::args::ReaderArgs;
use crier::database::{Database, Location};
use crier::readers::{Keeper, Readers, Secret};

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
            "error: {e}; check database_url / CRIER_DATABASE_URL (or --state-dir for SQLite)"
        );
        ExitCode::from(BAD_CONFIG)
    })
}

/// What `crier serve` keeps in its database, running on the main runtime:
/// the readers' keeper and the hub's deliveries.
pub(super) struct Keeping {
    stop: tokio::sync::watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    db: Option<Database>,
}

impl Keeping {
    /// Writes the last counts, stops the deliveries (one in flight is
    /// made again after its claim lapses) and closes the database.
    pub(super) fn stop(self, runtime: &tokio::runtime::Runtime) {
        let _ = self.stop.send(true);
        for task in self.tasks {
            let _ = runtime.block_on(task);
        }
        if let Some(db) = self.db {
            runtime.block_on(db.close());
        }
    }
}

/// What `crier serve` keeps: the readers' counts, the built-in hub (with
/// `hub = "builtin"`), and the database both are kept in (opened when
/// either needs it: exit 2 when it cannot be).
pub(super) struct Kept {
    pub readers: Arc<Readers>,
    pub hub: Option<Arc<Hub>>,
    pub keeping: Keeping,
}

pub(super) fn start_keeping(
    args: &ServeArgs,
    runtime: &tokio::runtime::Runtime,
    config: &crier::config::Current,
    metrics: &Arc<crier::metrics::Metrics>,
) -> Result<Kept, ExitCode> {
    let site = config.get();
    let counting = !args.no_reader_counts;
    let db = if counting || site.builtin_hub {
        Some(open_database(runtime, &site, &args.readers.state_dir)?)
    } else {
        None
    };
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let mut tasks = Vec::new();
    let hub = match (&db, site.builtin_hub) {
        (Some(db), true) => {
            let limits = crier::hub::Limits {
                concurrency: args.hub_concurrency.max(1),
                per_host: args.hub_per_host.max(1),
                claim: args.hub_claim_seconds.max(1) as i64,
            };
            let hub = Arc::new(runtime.block_on(Hub::open(
                db.clone(),
                &args.websub_state,
                format!("{}websub", site.base_url),
                site.hub_callbacks.clone(),
                limits,
                metrics.clone(),
            )));
            tasks.push(hub.run(stopped.clone()));
            Some(hub)
        }
        _ => None,
    };
    let readers = match (&db, counting) {
        (Some(db), true) => {
            let readers = Arc::new(Readers::new(true, secret(args, &site, db)?));
            let hub_config = hub.is_some().then(|| config.clone());
            let keeper = Keeper::new(readers.clone(), db.clone(), hub_config);
            let every = Duration::from_secs(args.reader_flush_seconds.max(1));
            tasks.push(runtime.spawn(keeper.run(every, stopped)));
            tracing::info!(database = %db.shown(), "counting readers");
            readers
        }
        _ => Arc::new(Readers::default()),
    };
    let keeping = Keeping { stop, tasks, db };
    Ok(Kept {
        readers,
        hub,
        keeping,
    })
}

/// What the daily keys of direct readers derive from: the setting, else
/// the state folder's.
fn secret(args: &ServeArgs, config: &Config, db: &Database) -> Result<Secret, ExitCode> {
    if let Some(s) = &config.readers.secret {
        return Ok(Secret::from_setting(s));
    }
    if db.is_postgres() {
        tracing::warn!(
            "no readers_secret: each replica hashes direct readers with a key of its own, so a reader of two replicas counts twice; set CRIER_READERS_SECRET, the same on each"
        );
    }
    let state_dir = &args.readers.state_dir;
    Secret::in_folder(state_dir).map_err(|e| {
        eprintln!(
            "error: cannot keep the readers' secret in {}: {e}; make the state folder writable or set readers_secret",
            state_dir.display()
        );
        ExitCode::from(BAD_CONFIG)
    })
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
