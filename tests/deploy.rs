//! Deployment: the Docker image's command line run as the Dockerfile
//! writes it (no Docker engine runs here), `crier healthcheck`, and two
//! replicas answering byte for byte alike.

mod common;

use std::collections::HashMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::http::{Server, block_on, get, raw};
use common::{Site, pages, repo};

/// The final stage of the Dockerfile, as the test needs it.
#[derive(Default, Debug)]
struct Image {
    workdir: String,
    env: Vec<(String, String)>,
    entrypoint: Vec<String>,
    cmd: Vec<String>,
    healthcheck: Vec<String>,
    expose: Vec<String>,
    volumes: Vec<String>,
    user: String,
}

fn json_array(s: &str) -> Vec<String> {
    serde_json::from_str(s.trim())
        .unwrap_or_else(|e| panic!("exec form (a JSON array) expected, got `{s}`: {e}"))
}

fn read_dockerfile() -> Image {
    let text = std::fs::read_to_string(repo().join("Dockerfile")).unwrap();
    // Join continuation lines, drop comments.
    let mut lines = Vec::new();
    let mut current = String::new();
    for line in text.lines().filter(|l| !l.trim_start().starts_with('#')) {
        if let Some(head) = line.strip_suffix('\\') {
            current.push_str(head);
            current.push(' ');
        } else {
            current.push_str(line);
            lines.push(std::mem::take(&mut current));
        }
    }
    let mut image = Image::default();
    for line in lines {
        let (word, rest) = line.trim().split_once(' ').unwrap_or((line.trim(), ""));
        match word {
            "FROM" => image = Image::default(), // only the last stage counts
            "WORKDIR" => image.workdir = rest.trim().to_string(),
            "ENV" => {
                for pair in rest.split_whitespace() {
                    let (k, v) = pair.split_once('=').expect("ENV key=value");
                    image.env.push((k.to_string(), v.to_string()));
                }
            }
            "ENTRYPOINT" => image.entrypoint = json_array(rest),
            "CMD" => image.cmd = json_array(rest),
            "HEALTHCHECK" => {
                image.healthcheck = json_array(rest.split_once("CMD").expect("HEALTHCHECK CMD").1)
            }
            "EXPOSE" => image.expose = rest.split_whitespace().map(str::to_string).collect(),
            "VOLUME" => image.volumes = json_array(rest),
            "USER" => image.user = rest.trim().to_string(),
            _ => {}
        }
    }
    image
}

/// The image's command, with its paths moved under `root` and its port
/// made free, run with exactly the image's environment.
fn command(image: &Image, argv: &[String], root: &Path, port: u16) -> Command {
    let bin = env!("CARGO_BIN_EXE_crier");
    assert!(argv[0].ends_with("/crier"), "{argv:?}");
    let mut c = Command::new(bin);
    c.args(&argv[1..])
        .env_clear()
        .current_dir(root.join(image.workdir.trim_start_matches('/')));
    for (k, v) in &image.env {
        let v = if k == "CRIER_ADDR" {
            let (host, _) = v.rsplit_once(':').unwrap();
            format!("{host}:{port}")
        } else if v.starts_with('/') {
            root.join(v.trim_start_matches('/')).display().to_string()
        } else {
            v.clone()
        };
        c.env(k, v);
    }
    c
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn the_image_command_serves_passes_its_healthcheck_and_stops_on_sigterm() {
    let image = read_dockerfile();
    assert!(
        !image.user.is_empty() && !image.user.starts_with('0') && image.user != "root",
        "non-root: {image:?}"
    );
    let addr = image
        .env
        .iter()
        .find(|(k, _)| k == "CRIER_ADDR")
        .map(|(_, v)| v.clone())
        .expect("CRIER_ADDR");
    assert_eq!(addr, "0.0.0.0:8080");
    assert_eq!(image.expose, ["8080"]);
    for v in ["content", "feeds", "state"] {
        assert!(
            image.volumes.iter().any(|p| p.ends_with(v)),
            "VOLUME for {v}: {:?}",
            image.volumes
        );
    }
    assert_eq!(image.healthcheck[1..], ["healthcheck"]);

    // The image's file system: the workdir with crier.toml, content/, feeds/.
    let root = tempfile::tempdir().unwrap();
    let work = root.path().join(image.workdir.trim_start_matches('/'));
    std::fs::create_dir_all(work.join("feeds")).unwrap();
    std::fs::copy(repo().join("crier.toml"), work.join("crier.toml")).unwrap();
    common::copy_tree(&repo().join("content"), &work.join("content"));

    let port = free_port();
    let argv: Vec<String> = image.entrypoint.iter().chain(&image.cmd).cloned().collect();
    let mut server = command(&image, &argv, root.path(), port)
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let health = || {
        command(&image, &image.healthcheck, root.path(), port)
            .status()
            .unwrap()
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while !health().success() {
        assert!(Instant::now() < deadline, "the healthcheck never passed");
        std::thread::sleep(Duration::from_millis(50));
    }
    let addr = format!("127.0.0.1:{port}").parse().unwrap();
    let answer = raw(
        addr,
        b"GET /xiaodian/atom.xml HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !work.join("feeds/xiaodian/atom.xml").exists() {
        assert!(Instant::now() < deadline, "feeds/ is written to the volume");
        std::thread::sleep(Duration::from_millis(20));
    }

    assert!(
        Command::new("kill")
            .args(["-TERM", &server.id().to_string()])
            .status()
            .unwrap()
            .success()
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(s) = server.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < deadline, "did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "{status:?}");
    assert_eq!(health().code(), Some(1), "nothing listening: unhealthy");
}

#[test]
fn healthcheck_fails_fast_when_nothing_listens() {
    let port = free_port();
    let started = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_crier"))
        .args(["healthcheck", "--addr", &format!("127.0.0.1:{port}")])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unhealthy"));
}

#[test]
fn two_replicas_give_identical_bytes_etags_and_dates() {
    let a = Server::start(Site::sample(), &[]);
    let content = a.site.content().display().to_string();
    let b = Server::start(Site::sample(), &["--content", &content]);
    // Every page on disk, article pages included: they are written in
    // the background after the feeds.
    a.wait_complete();
    let mut paths: Vec<String> = pages(&a.site.feeds())
        .iter()
        .map(|p| {
            let p = p.display().to_string();
            let p = crier::content::encode_path(&p);
            match p.strip_suffix("index.html") {
                Some(dir) => format!("/{dir}"),
                None => format!("/{p}"),
            }
        })
        .collect();
    paths.extend(["/xiaodian/index.html".to_string(), "/nope".to_string()]);
    let mut compared = 0;
    for path in &paths {
        for enc in ["identity", "gzip", "br"] {
            let ra = block_on(get(a.addr, path, &[("accept-encoding", enc)])).unwrap();
            let rb = block_on(get(b.addr, path, &[("accept-encoding", enc)])).unwrap();
            let fields = |r: &common::http::Reply| -> HashMap<&str, Option<String>> {
                [
                    "etag",
                    "last-modified",
                    "content-type",
                    "content-encoding",
                    "cache-control",
                ]
                .into_iter()
                .map(|h| (h, r.header(h).map(str::to_string)))
                .collect()
            };
            assert_eq!(ra.status, rb.status, "{path} {enc}");
            assert_eq!(fields(&ra), fields(&rb), "{path} {enc}");
            assert!(ra.body == rb.body, "{path} {enc}: bodies differ");
            compared += 1;
        }
    }
    // Feeds and pages, the OPML and index, the sitemaps, robots.txt and
    // the logo and the icon, the topic's feeds and page, /topics/ and its
    // OPML.
    assert_eq!(compared, 3 * (67 + 2 + 6 + 6));
}
