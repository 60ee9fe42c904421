//! Killed at any moment: `crier build`, and `crier serve` in the middle of
//! live updates, get SIGKILL at 30 moments each on a corpus of 2,000
//! articles. After each kill every file in `feeds/` is whole; the next
//! finished run removes what the killed ones left and writes exactly the
//! bytes of a clean build.

mod common;

use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::{Duration, Instant};

use common::{Site, assert_whole, contents, gunzip};

const KILLS: usize = 30;

/// A site of `n` articles from `bench/corpus.py`.
fn corpus(n: usize) -> Site {
    let site = Site::sample();
    let made = common::python(&[])
        .arg(common::repo().join("bench/corpus.py"))
        .arg(n.to_string())
        .arg(site.path())
        .status()
        .expect("python3 runs");
    assert!(made.success());
    site
}

/// A fixed sequence of moments: the same run every time.
struct Moments(common::Rng);

impl Moments {
    fn next(&mut self, below: Duration) -> Duration {
        below.mul_f64(self.0.below(10_000) as f64 / 10_000.0)
    }
}

fn kill(mut child: Child) {
    let _ = child.kill();
    let _ = child.wait();
}

/// A finished build (with the first title) after the kills: the folder
/// holds exactly what a clean build of the same site writes, every
/// sibling decoding to its page, and no temp file.
fn assert_clean(site: &Site) {
    retitle(site, 0);
    let last = site.run(&["build"]);
    assert_eq!(last.code(), 0, "{}", last.stderr());
    let clean = site.run(&["build", "--out", "clean"]);
    assert_eq!(clean.code(), 0, "{}", clean.stderr());
    let (got, want) = (
        contents(&site.feeds()),
        contents(&site.path().join("clean")),
    );
    let differ: Vec<_> = want
        .keys()
        .chain(got.keys())
        .filter(|k| got.get(*k) != want.get(*k))
        .collect();
    assert!(differ.is_empty(), "differs from a clean build: {differ:?}");
    for (rel, bytes) in &got {
        let name = rel.to_string_lossy();
        if let Some(page) = name.strip_suffix(".gz") {
            assert_eq!(
                gunzip(bytes).as_deref(),
                got.get(Path::new(page)).map(Vec::as_slice),
                "{name}"
            );
        }
    }
    let mut stack = vec![site.feeds()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let name = e.file_name().to_string_lossy().to_string();
            assert!(
                !name.starts_with(".tmp-"),
                "temp file left: {}",
                e.path().display()
            );
            if e.file_type().unwrap().is_dir() {
                stack.push(e.path());
            }
        }
    }
}

/// A new title for every page of the site.
fn retitle(site: &Site, n: usize) {
    let config = site.read("crier.toml");
    let start = config.find("title = \"").unwrap();
    let end = start + config[start..].find('\n').unwrap();
    let config = format!(
        "{}title = \"太原新闻 {n}\"{}",
        &config[..start],
        &config[end..]
    );
    site.write("crier.toml", config);
}

#[test]
fn builds_killed_at_any_moment_leave_whole_files_and_a_clean_next_build() {
    let site = corpus(2000);
    let started = Instant::now();
    let first = site.run(&["build"]);
    assert_eq!(first.code(), 0, "{}", first.stderr());
    let full = started.elapsed();
    let mut moments = Moments(common::Rng(0x5eed_c0ff_ee12_3457));
    for i in 0..KILLS {
        // A new title each time: every page is written again.
        retitle(&site, i % 3);
        let child = site.command(&["build"]).spawn().unwrap();
        std::thread::sleep(moments.next(full));
        kill(child);
        assert_whole(&site.feeds(), &format!("build killed ({i})"));
    }
    assert_clean(&site);
}

#[test]
fn servers_killed_during_live_updates_leave_whole_files_and_a_clean_next_run() {
    let site = corpus(2000);
    let mut articles: Vec<PathBuf> = std::fs::read_dir(site.content().join("xiaodian"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    articles.sort();
    let mut moments = Moments(common::Rng(0x0dd_ba11_cafe_f00d));
    for i in 0..KILLS {
        if i % 5 == 0 {
            retitle(&site, i % 3);
        }
        let child = site
            .command(&["serve", "--addr", "127.0.0.1:0", "--debounce-ms", "20"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let until = Instant::now() + moments.next(Duration::from_millis(1500));
        // Editors save while it builds and serves.
        let mut n = 0;
        while Instant::now() < until {
            let path = &articles[(i * 37 + n * 11) % articles.len()];
            let text = std::fs::read_to_string(path).unwrap();
            let tmp = path.with_extension("md.tmp");
            let edited = text.replacen("title = \"", &format!("title = \"改{i}-{n} "), 1);
            std::fs::write(&tmp, edited).unwrap();
            std::fs::rename(&tmp, path).unwrap();
            n += 1;
            std::thread::sleep(Duration::from_millis(30));
        }
        kill(child);
        assert_whole(&site.feeds(), &format!("server killed ({i})"));
    }
    assert_clean(&site);
}
