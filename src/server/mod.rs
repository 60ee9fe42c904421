//! The HTTP server: hyper 1 on tokio, HTTP/1.1 and cleartext HTTP/2
//! detected per connection, with limits that keep slow or idle clients
//! from holding it, and graceful shutdown.
//!
//! Like nginx's workers, each server thread runs its own single-threaded
//! runtime and accept loop on its own SO_REUSEPORT socket; the kernel
//! spreads connections over them. Serving a request touches nothing but the
//! shared, immutable site, so the threads never need to hand work to each
//! other (which is where a work-stealing runtime spends its time here).

pub mod conditional;
pub mod media;
pub mod negotiate;
pub mod routes;
pub mod service;
pub mod stats;

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::{Semaphore, watch};

use service::State;

/// A response's body: bytes at hand, or a media file streamed.
pub type Body = http_body_util::Either<http_body_util::Full<bytes::Bytes>, FileBody>;
pub type FileBody = http_body_util::combinators::UnsyncBoxBody<bytes::Bytes, std::io::Error>;

/// Defences against slow and idle clients, and the shutdown grace period.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Time a connection may take to send a request's headers, counted from
    /// the moment it waits for a request, so it also closes idle keep-alive
    /// connections.
    pub header_timeout: Duration,
    /// Connections served at once; further ones wait in the kernel's backlog.
    pub max_connections: usize,
    /// Largest request head (request line and headers), in bytes.
    pub max_request_bytes: usize,
    /// Time in-flight requests get to finish after SIGTERM.
    pub grace_period: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            header_timeout: Duration::from_secs(10),
            max_connections: 10_000,
            max_request_bytes: 16 * 1024,
            grace_period: Duration::from_secs(10),
        }
    }
}

/// Binds `count` sockets to `addr` with SO_REUSEPORT (port 0: one free
/// port for all). Must run inside a tokio runtime.
pub fn bind(addr: SocketAddr, count: usize) -> std::io::Result<Vec<std::net::TcpListener>> {
    let mut addr = addr;
    let mut out = Vec::with_capacity(count);
    for _ in 0..count.max(1) {
        let socket = if addr.is_ipv4() {
            TcpSocket::new_v4()?
        } else {
            TcpSocket::new_v6()?
        };
        socket.set_reuseaddr(true)?;
        socket.set_reuseport(true)?;
        socket.bind(addr)?;
        let listener = socket.listen(1024)?;
        addr = listener.local_addr()?;
        out.push(listener.into_std()?);
    }
    Ok(out)
}

/// The running server threads.
pub struct Running {
    threads: Vec<JoinHandle<()>>,
    stop: watch::Sender<bool>,
}

impl Running {
    /// Stops accepting, lets in-flight requests finish (up to the grace
    /// period) and waits for every thread.
    pub fn stop(self) {
        let _ = self.stop.send(true);
        for t in self.threads {
            let _ = t.join();
        }
    }
}

/// Starts one server thread per listener.
pub fn start(
    listeners: Vec<std::net::TcpListener>,
    state: Arc<State>,
    limits: Limits,
) -> std::io::Result<Running> {
    let (stop, stopped) = watch::channel(false);
    let per_thread = Limits {
        max_connections: limits.max_connections.div_ceil(listeners.len().max(1)),
        ..limits
    };
    let mut threads = Vec::with_capacity(listeners.len());
    for (i, listener) in listeners.into_iter().enumerate() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let (state, limits, mut stopped) = (state.clone(), per_thread.clone(), stopped.clone());
        let thread = std::thread::Builder::new()
            .name(format!("http-{i}"))
            .spawn(move || {
                runtime.block_on(async move {
                    match TcpListener::from_std(listener) {
                        Ok(listener) => {
                            let stop = async move {
                                let _ = stopped.wait_for(|s| *s).await;
                            };
                            serve(listener, state, limits, stop).await;
                        }
                        Err(e) => tracing::error!("cannot use the listening socket: {e}"),
                    }
                });
            })?;
        threads.push(thread);
    }
    Ok(Running { threads, stop })
}

const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// One thread's accept loop: serves until `shutdown` completes, then stops
/// accepting and gives in-flight requests `grace_period` to finish.
pub async fn serve(
    listener: TcpListener,
    state: Arc<State>,
    limits: Limits,
    shutdown: impl Future<Output = ()>,
) {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_buf_size(limits.max_request_bytes.max(8192));
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(100)
        .max_header_list_size(limits.max_request_bytes as u32)
        .keep_alive_interval(Some(limits.header_timeout))
        .keep_alive_timeout(limits.header_timeout);
    let builder = Arc::new(builder);
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = GracefulShutdown::new();
    // Connections that have sent nothing yet are not in flight: at a
    // shutdown they close at once instead of holding it for the header
    // timeout (which is as long as Docker's own stop limit).
    let (stopping, stopping_rx) = watch::channel(false);
    let mut shutdown = std::pin::pin!(shutdown);

    loop {
        // Take a permit before accepting: at the cap, new connections wait
        // in the backlog instead of costing memory and tasks.
        let permit = tokio::select! {
            p = permits.clone().acquire_owned() => match p { Ok(p) => p, Err(_) => break },
            _ = &mut shutdown => break,
        };
        let stream = tokio::select! {
            r = listener.accept() => match r {
                Ok((s, _)) => s,
                Err(e) => {
                    // Out of file descriptors and the like: back off, go on.
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let state = state.clone();
        let builder = builder.clone();
        let watcher = graceful.watcher();
        let header_timeout = limits.header_timeout;
        let mut stopping = stopping_rx.clone();
        tokio::spawn(async move {
            // hyper's protocol detection has no timeout of its own: wait for
            // the first bytes here, within the header timeout.
            let started = tokio::select! {
                r = tokio::time::timeout(header_timeout, first_bytes(&stream)) => r.unwrap_or(false),
                _ = stopping.wait_for(|s| *s) => false,
            };
            if !started {
                return;
            }
            let client = stream
                .peer_addr()
                .map_or(std::net::Ipv4Addr::UNSPECIFIED.into(), |a| a.ip());
            let service = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                let state = state.clone();
                async move { Ok::<_, Infallible>(service::respond(&state, req, client).await) }
            });
            let conn = builder.serve_connection(TokioIo::new(stream), service);
            let _ = watcher.watch(conn.into_owned()).await;
            drop(permit);
        });
    }
    drop(listener);
    let _ = stopping.send(true);
    if tokio::time::timeout(limits.grace_period, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("grace period over: closing remaining connections");
    }
}

/// Waits until the connection has shown enough bytes for hyper to tell
/// HTTP/1 from HTTP/2 without waiting. `false` if the peer closed.
async fn first_bytes(stream: &TcpStream) -> bool {
    let mut buf = [0u8; 24];
    loop {
        match stream.peek(&mut buf).await {
            Ok(0) | Err(_) => return false,
            Ok(n) if n >= H2_PREFACE.len() || buf[..n] != H2_PREFACE[..n] => return true,
            // A partial HTTP/2 preface: wait for the rest.
            Ok(_) => tokio::time::sleep(Duration::from_millis(5)).await,
        }
    }
}
