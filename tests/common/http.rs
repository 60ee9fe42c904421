//! A running `crier serve` and a real HTTP client (hyper's own) to talk to it.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Full};
use hyper::{HeaderMap, Request, StatusCode};

use hyper_util::rt::{TokioExecutor, TokioIo};

use super::Site;

pub struct Server {
    pub child: Child,
    pub addr: SocketAddr,
    pub site: Site,
    pub log: Arc<Mutex<Vec<String>>>,
}

impl Server {
    /// Starts `crier serve` in `site` (on a free port unless `args` name
    /// an `--addr`) and waits until it is healthy.
    pub fn start(site: Site, args: &[&str]) -> Server {
        let mut all = vec!["serve"];
        if !args.contains(&"--addr") {
            all.extend(["--addr", "127.0.0.1:0"]);
        }
        all.extend_from_slice(args);
        let mut child = site
            .command(&all)
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start crier serve");
        let stderr = child.stderr.take().expect("stderr");
        let log = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let lines = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if line.contains("listening") {
                    let addr = line
                        .split_whitespace()
                        .find_map(|w| w.strip_prefix("addr="))
                        .or_else(|| {
                            line.split("\"addr\":\"")
                                .nth(1)
                                .and_then(|r| r.split('"').next())
                        })
                        .and_then(|a| a.parse::<SocketAddr>().ok());
                    let _ = tx.send(addr);
                }
                lines.lock().unwrap().push(line);
            }
        });
        let addr = rx
            .recv_timeout(Duration::from_secs(30))
            .ok()
            .flatten()
            .unwrap_or_else(|| panic!("no listening line: {:?}", log.lock().unwrap()));
        let server = Server {
            child,
            addr,
            site,
            log,
        };
        server.wait_healthy();
        server
    }

    fn wait_healthy(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            // Plain blocking I/O: this may run inside a test's runtime.
            if raw(
                self.addr,
                b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
            )
            .starts_with("HTTP/1.1 200")
            {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!(
            "server never became healthy: {:?}",
            self.log.lock().unwrap()
        );
    }

    /// Waits for `rel` in the output folder: serve writes it after it starts serving.
    pub fn wait_for_file(&self, rel: &str) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !self.site.feeds().join(rel).exists() {
            assert!(Instant::now() < deadline, "feeds/{rel} never written");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits until serve has completed the output folder (article pages
    /// and archive documents are written after serving starts).
    pub fn wait_complete(&self) -> String {
        self.wait_for_log("output folder complete")
    }

    /// Waits (the log is flushed every 200 ms) for a log line containing `needle`.
    pub fn wait_for_log(&self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            if let Some(line) = self.log.lock().unwrap().iter().find(|l| l.contains(needle)) {
                return line.clone();
            }
            assert!(
                Instant::now() < deadline,
                "no log line with {needle}: {}",
                self.log_text()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Stops the server (SIGTERM) and gives its site back, to serve again.
    pub fn stop(mut self) -> Site {
        self.signal("TERM");
        let _ = self.wait_exit(Duration::from_secs(10));
        let empty = Site {
            dir: tempfile::tempdir().expect("temp dir"),
        };
        std::mem::replace(&mut self.site, empty)
    }

    pub fn log_text(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }

    pub fn signal(&self, sig: &str) {
        let ok = std::process::Command::new("kill")
            .args([&format!("-{sig}"), &self.child.id().to_string()])
            .status()
            .expect("kill")
            .success();
        assert!(ok, "kill -{sig}");
    }

    /// Waits for the process to exit, up to `limit`.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port free now on 127.0.0.1 (for a server whose `--base-url` must
/// name its own address).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Sends `bytes` on a new connection and returns all that comes back.
pub fn raw(addr: SocketAddr, bytes: &[u8]) -> String {
    use std::io::{Read, Write};
    let Ok(mut c) = std::net::TcpStream::connect(addr) else {
        return String::new();
    };
    let _ = c.set_read_timeout(Some(Duration::from_secs(5)));
    let _ = c.write_all(bytes);
    let mut out = Vec::new();
    let _ = c.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Reply {
    async fn read(res: hyper::Response<hyper::body::Incoming>) -> Result<Reply, String> {
        let (parts, body) = res.into_parts();
        let body = body.collect().await.map_err(|e| e.to_string())?.to_bytes();
        Ok(Reply {
            status: parts.status,
            headers: parts.headers,
            body,
        })
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(f)
}

pub async fn get(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> Result<Reply, String> {
    request(addr, "GET", path, headers).await
}

/// One request over a new HTTP/1.1 connection.
pub async fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> Result<Reply, String> {
    let mut req = Request::builder()
        .method(method)
        .uri(path)
        .header("host", addr.to_string());
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    send(
        addr,
        req.body(Full::new(Bytes::new()))
            .map_err(|e| e.to_string())?,
    )
    .await
}

/// A POST with a body over a new HTTP/1.1 connection.
pub async fn post(
    addr: SocketAddr,
    path: &str,
    content_type: &str,
    body: Vec<u8>,
) -> Result<Reply, String> {
    let req = Request::builder()
        .method("POST")
        .uri(path)
        .header("host", addr.to_string())
        .header("content-type", content_type)
        .body(Full::new(Bytes::from(body)))
        .map_err(|e| e.to_string())?;
    send(addr, req).await
}

async fn send(addr: SocketAddr, req: Request<Full<Bytes>>) -> Result<Reply, String> {
    let stream = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| e.to_string())?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(conn);
    let res = sender.send_request(req).await.map_err(|e| e.to_string())?;
    Reply::read(res).await
}

/// One request over cleartext HTTP/2 (prior knowledge).
pub async fn get_h2(addr: SocketAddr, path: &str) -> Result<Reply, String> {
    let stream = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| e.to_string())?;
    let (mut sender, conn) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
            .await
            .map_err(|e| e.to_string())?;
    tokio::spawn(conn);
    let uri = format!("http://{addr}{path}");
    let req = Request::builder()
        .uri(uri)
        .body(Empty::<Bytes>::new())
        .map_err(|e| e.to_string())?;
    let res = sender.send_request(req).await.map_err(|e| e.to_string())?;
    Reply::read(res).await
}
