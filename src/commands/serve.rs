//! `crier serve` and `crier healthcheck`: the server, the thread that
//! builds and follows changes, the drop folder's thread, and shutdown.

use super::stats::{Kept, start_keeping};
use super::*;

pub fn serve(args: &ServeArgs) -> ExitCode {
    let overrides = args.readers.over(args.input.site.overrides());
    let config = match load_config_with(&args.input, &overrides) {
        Ok(c) => c,
        Err(code) => return code,
    };
    // The main thread's runtime waits for signals and runs builds; the
    // server threads have runtimes of their own.
    let runtime = match runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let (listeners, addr) = match listen(&runtime, args.addr, threads) {
        Ok(l) => l,
        Err(code) => return code,
    };
    let metrics = Arc::new(crier::metrics::Metrics::new());
    let current = crier::config::Current::new(config.clone());
    let Kept {
        readers,
        hub,
        keeping,
    } = match start_keeping(args, &runtime, &current, &metrics) {
        Ok(k) => k,
        Err(code) => return code,
    };
    let token = config.readers.stats_token.as_deref();
    let state = Arc::new(State {
        metrics: metrics.clone(),
        form: hub
            .clone()
            .map(|h| Arc::new(HubForm(h)) as Arc<dyn FormHandler>),
        readers,
        stats_token: token.map(server::stats::Token::new),
        ..State::default()
    });
    let limits = Limits {
        header_timeout: Duration::from_secs(args.header_timeout.max(1)),
        max_connections: args.max_connections.max(1),
        max_request_bytes: args.max_request_bytes,
        grace_period: Duration::from_secs(args.grace_period),
    };
    warn_if_few_files(limits.max_connections);
    let running = match server::start(listeners, state.clone(), limits) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the server threads: {e}");
            return ExitCode::from(BAD_CONFIG);
        }
    };
    tracing::info!(%addr, threads, base_url = %config.base_url, "listening");
    // Serving starts at once (/healthz says 503 until the first build is
    // in); a thread builds, then applies each batch of file changes.
    let publisher = crier::websub::Publisher::new(runtime.handle().clone(), metrics);
    let live = Live::new(
        state,
        &args.input.config,
        overrides,
        current.clone(),
        &args.input.content,
        &args.out,
    )
    .with_publisher(publisher)
    .with_hub(hub);
    let debounce = Duration::from_millis(args.debounce_ms.max(1));
    start_intake(args, current, debounce);
    let started = start_live(args, live, config, debounce);
    if let Err(e) = started {
        // Nothing would ever be built: /healthz would say 503 for good.
        tracing::error!("cannot start the build thread: {e}");
        running.stop();
        return ExitCode::from(CONTENT_ERRORS);
    }
    runtime.block_on(shutdown_signal());
    tracing::info!("shutting down: finishing in-flight requests");
    running.stop();
    keeping.stop(&runtime);
    tracing::info!("stopped");
    ExitCode::SUCCESS
}

/// `threads` sockets listening on `addr`, and the address they got.
fn listen(
    runtime: &tokio::runtime::Runtime,
    addr: std::net::SocketAddr,
    threads: usize,
) -> Result<(Vec<std::net::TcpListener>, std::net::SocketAddr), ExitCode> {
    match runtime.block_on(async { server::bind(addr, threads) }) {
        Ok(listeners) => {
            let bound = listeners.first().and_then(|l| l.local_addr().ok());
            Ok((listeners, bound.unwrap_or(addr)))
        }
        Err(e) => {
            eprintln!("error: cannot listen on {addr} ({e}); pick another --addr / CRIER_ADDR");
            Err(ExitCode::from(BAD_CONFIG))
        }
    }
}

/// The thread that builds the site, then watches `content/` and
/// `crier.toml` and applies each batch of changes. The watcher starts
/// after the first build has read the content: notify watches for opens
/// too, and each of the first build's reads would be an event to sort out
/// and drop. Whatever changed before the watch began is found by the
/// rescan that follows it (see `Live::watching`).
pub(super) fn start_live(
    args: &ServeArgs,
    mut live: Live,
    config: Config,
    debounce: Duration,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    let (tx, rx) = std::sync::mpsc::channel();
    let poll = args
        .poll
        .then(|| Duration::from_millis(args.poll_ms.max(10)));
    let (content, config_file) = (
        live.content_abs().to_path_buf(),
        live.config_abs().to_path_buf(),
    );
    let content_shown = args.input.content.display().to_string();
    std::thread::Builder::new()
        .name("live".into())
        .spawn(move || {
            live.build_all(config);
            let t = Instant::now();
            let watcher = match watch::start(&content, &config_file, poll, debounce, tx) {
                Ok(w) => Some(w),
                Err(e) => {
                    tracing::error!(
                        "cannot watch {content_shown} ({e}): serving without live updates; try --poll"
                    );
                    None
                }
            };
            tracing::debug!(elapsed = ?t.elapsed(), "watching");
            live.watching(watcher);
            live.run(rx);
        })
}

/// The drop folder's own thread, when there is a drop folder: pages are
/// few and imports quick.
pub(super) fn start_intake(args: &ServeArgs, config: crier::config::Current, debounce: Duration) {
    let from_config = || config.get().import_dir.clone();
    let Some(dir) = args.import_dir.clone().or_else(from_config) else {
        return;
    };
    let intake = crier::intake::Intake {
        dir,
        content: args.input.content.clone(),
        config,
        // Long enough that a slow copy is not read half-way.
        settle: (debounce * 3).max(Duration::from_millis(300)),
    };
    let started = std::thread::Builder::new()
        .name("intake".into())
        .spawn(move || intake.run());
    if let Err(e) = started {
        tracing::error!("cannot start importing the drop folder: {e}");
    }
}

/// The built-in hub as the server's handler of `POST /websub`.
pub(super) struct HubForm(Arc<Hub>);

impl FormHandler for HubForm {
    fn path(&self) -> &str {
        "/websub"
    }

    fn max_body(&self) -> usize {
        crier::hub::MAX_BODY
    }

    fn handle(&self, content_type: Option<&str>, body: &[u8]) -> (hyper::StatusCode, &'static str) {
        self.0.request(content_type, body)
    }
}

/// Asks `addr` for /healthz with plain blocking I/O: no runtime, no client
/// library, a hard timeout on every step.
pub fn healthcheck(addr: std::net::SocketAddr) -> ExitCode {
    use std::io::{Read, Write};
    let mut addr = addr;
    if addr.ip().is_unspecified() {
        addr.set_ip(match addr {
            std::net::SocketAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
            std::net::SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
        });
    }
    let timeout = Duration::from_secs(3);
    let answer = (|| -> std::io::Result<String> {
        let mut stream = std::net::TcpStream::connect_timeout(&addr, timeout)?;
        stream.set_read_timeout(Some(timeout))?;
        stream.set_write_timeout(Some(timeout))?;
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")?;
        let mut head = [0u8; 64];
        let n = stream.read(&mut head)?;
        Ok(String::from_utf8_lossy(&head[..n]).into_owned())
    })();
    match answer {
        Ok(a) if a.starts_with("HTTP/1.1 200") => ExitCode::SUCCESS,
        Ok(a) => {
            eprintln!(
                "unhealthy: {addr} answered {}",
                a.lines().next().unwrap_or("nothing")
            );
            ExitCode::from(CONTENT_ERRORS)
        }
        Err(e) => {
            eprintln!("unhealthy: {addr}: {e}");
            ExitCode::from(CONTENT_ERRORS)
        }
    }
}

pub(super) async fn shutdown_signal() {
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

/// Each connection is a file descriptor: a soft limit below the
/// connection cap makes accepts fail (they are retried) long before it.
pub(super) fn warn_if_few_files(max_connections: usize) {
    let Some(soft) = open_files_limit() else {
        return;
    };
    if soft < max_connections as u64 + 64 {
        tracing::warn!(
            "the open-file limit ({soft}) is below --max-connections ({max_connections}) plus crier's own files: raise it (ulimit -n, docker run --ulimit nofile=…) or lower --max-connections"
        );
    }
}

/// The soft `RLIMIT_NOFILE`, from `/proc/self/limits` (Linux).
pub(super) fn open_files_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}
