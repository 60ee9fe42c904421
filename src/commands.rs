//! The commands. Exit codes as in PRODUCT.md: 0 fine, 1 content errors
//! (the good articles are still built), 2 bad config or usage.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use crier::config::Config;
use crier::content::{self, Loaded, Severity};
use crier::publish;
use crier::server::routes::Routes;
use crier::server::service::State;
use crier::server::{self, Limits};
use crier::site::Site;

use crate::args::{Input, ServeArgs};

const CONTENT_ERRORS: u8 = 1;
const BAD_CONFIG: u8 = 2;

fn load_config(input: &Input) -> Result<Config, ExitCode> {
    Config::load(&input.config, &input.site.overrides()).map_err(|e| {
        eprintln!("error: {e}");
        ExitCode::from(BAD_CONFIG)
    })
}

fn load_content(config: &Config, dir: &Path) -> Result<Loaded, ExitCode> {
    content::load(config, dir).map_err(|e| {
        eprintln!(
            "error: {}: cannot read the content folder ({e}); create it or point --content / CRIER_CONTENT at it",
            dir.display()
        );
        ExitCode::from(BAD_CONFIG)
    })
}

fn exit_for(loaded: &Loaded) -> ExitCode {
    if loaded.errors() > 0 {
        ExitCode::from(CONTENT_ERRORS)
    } else {
        ExitCode::SUCCESS
    }
}

fn summary(loaded: &Loaded) -> String {
    format!(
        "{} articles, {} drafts skipped, {} errors, {} warnings",
        loaded.articles.len(),
        loaded.drafts,
        loaded.errors(),
        loaded.diagnostics.len() - loaded.errors()
    )
}

pub fn check(input: &Input) -> ExitCode {
    let loaded = match load_config(input).and_then(|c| load_content(&c, &input.content)) {
        Ok(l) => l,
        Err(code) => return code,
    };
    for d in &loaded.diagnostics {
        eprintln!("{d}");
    }
    println!("{}", summary(&loaded));
    exit_for(&loaded)
}

pub fn build(input: &Input, out: &Path) -> ExitCode {
    let started = Instant::now();
    let config = match load_config(input) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let loaded = match load_content(&config, &input.content) {
        Ok(l) => l,
        Err(code) => return code,
    };
    for d in &loaded.diagnostics {
        eprintln!("{d}");
    }
    let site = Site::build(&config, &loaded.articles);
    match publish::publish(&site, out) {
        Ok(r) => {
            println!(
                "{}; {} pages and feeds (with .gz and .br: {} files) in {}: {} written, {} unchanged, {} removed, in {:.3}s",
                summary(&loaded),
                site.outputs.len(),
                r.written + r.unchanged,
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

pub fn serve(args: &ServeArgs) -> ExitCode {
    let config = match load_config(&args.input) {
        Ok(c) => c,
        Err(code) => return code,
    };
    // The main thread's runtime waits for signals and runs builds; the
    // server threads have runtimes of their own.
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::from(BAD_CONFIG);
        }
    };
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let listeners = match runtime.block_on(async { server::bind(args.addr, threads) }) {
        Ok(l) => l,
        Err(e) => {
            eprintln!(
                "error: cannot listen on {} ({e}); pick another --addr / CRIER_ADDR",
                args.addr
            );
            return ExitCode::from(BAD_CONFIG);
        }
    };
    let addr = listeners
        .first()
        .and_then(|l| l.local_addr().ok())
        .unwrap_or(args.addr);
    let state = Arc::new(State::default());
    let limits = Limits {
        header_timeout: Duration::from_secs(args.header_timeout.max(1)),
        max_connections: args.max_connections.max(1),
        max_request_bytes: args.max_request_bytes,
        grace_period: Duration::from_secs(args.grace_period),
    };
    let running = match server::start(listeners, state.clone(), limits) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the server threads: {e}");
            return ExitCode::from(BAD_CONFIG);
        }
    };
    tracing::info!(%addr, threads, base_url = %config.base_url, "listening");
    runtime.block_on(async {
        // Serving starts at once; /healthz says 503 until the first build is in.
        let content = args.input.content.clone();
        let out = args.out.clone();
        let build = tokio::task::spawn_blocking(move || rebuild(&state, &config, &content, &out));
        tokio::spawn(async move {
            if let Ok(Err(e)) = build.await {
                tracing::error!("{e}");
            }
        });
        shutdown_signal().await;
    });
    tracing::info!("shutting down: finishing in-flight requests");
    running.stop();
    tracing::info!("stopped");
    ExitCode::SUCCESS
}

/// Builds the site, publishes it to `out` and swaps it into the server.
fn rebuild(state: &State, config: &Config, content: &Path, out: &Path) -> Result<(), String> {
    let started = Instant::now();
    let loaded = content::load(config, content)
        .map_err(|e| format!("{}: cannot read the content folder: {e}", content.display()))?;
    for d in &loaded.diagnostics {
        match d.severity {
            Severity::Error => tracing::error!("{d}"),
            Severity::Warning => tracing::warn!("{d}"),
        }
    }
    let site = Site::build(config, &loaded.articles);
    let routes = Routes::new(&site, config.max_age);
    state.routes.store(Some(Arc::new(routes)));
    let m = &state.metrics;
    m.build_seconds.observe(started.elapsed().as_secs_f64());
    m.builds.inc();
    m.articles.set(loaded.articles.len() as i64);
    m.content_errors.set(loaded.errors() as i64);
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    m.last_build.set(now.as_secs_f64());
    tracing::info!(
        articles = loaded.articles.len(),
        errors = loaded.errors(),
        paths = site.outputs.len(),
        millis = started.elapsed().as_millis() as u64,
        "site built"
    );
    // Serving comes first; a failed write to feeds/ is logged, not fatal.
    if let Err(e) = publish::publish(&site, out) {
        tracing::error!("cannot write {}: {e}", out.display());
    }
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = ctrl_c => {},
                    _ = term.recv() => {},
                }
            }
            Err(_) => {
                let _ = ctrl_c.await;
            }
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
    tracing::info!("signal received");
}
