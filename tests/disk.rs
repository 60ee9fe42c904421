//! A full disk and a read-only `feeds/`: `feeds/` on a small tmpfs this
//! test mounts (as root; skipped with a message otherwise). `build` fails
//! with one message and leaves nothing half-written; `serve` goes on from
//! memory, says so once and in `/metrics`, and completes `feeds/` at the
//! next change once it can.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::http::{Server, block_on, get};
use common::{Site, assert_whole};

/// A tmpfs of `size` mounted at a new folder, unmounted when dropped.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(size: &str) -> Option<Tmpfs> {
        let dir = tempfile::tempdir().unwrap().keep();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(&dir)
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            eprintln!("skipped: cannot mount a tmpfs here (the test needs root)");
            return None;
        }
        Some(Tmpfs(dir))
    }

    fn remount(&self, options: &str) {
        let ok = Command::new("mount")
            .args(["-o", &format!("remount,{options}")])
            .arg(&self.0)
            .status()
            .unwrap();
        assert!(ok.success(), "remount {options}");
    }

    fn feeds(&self) -> PathBuf {
        self.0.join("feeds")
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
        let _ = std::fs::remove_dir(&self.0);
    }
}

fn temp_files(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            if e.file_type().unwrap().is_dir() {
                stack.push(e.path());
            } else if e.file_name().to_string_lossy().starts_with(".tmp-") {
                found.push(e.path());
            }
        }
    }
    found
}

fn metric(s: &Server, name: &str) -> f64 {
    let r = block_on(get(s.addr, "/metrics", &[])).unwrap();
    let text = String::from_utf8_lossy(&r.body).to_string();
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or_else(|| panic!("{name} not in /metrics"))
}

fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let until = Instant::now() + Duration::from_secs(20);
    while !done() {
        assert!(Instant::now() < until, "timed out: {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The sample's articles, eight times over: about 1 MB of output.
fn bigger_sample() -> Site {
    let site = Site::sample();
    for entry in std::fs::read_dir(site.content().join("xiaodian")).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        for i in 0..8 {
            let copy = path.with_file_name(format!(
                "copy{i}-{}",
                path.file_name().unwrap().to_string_lossy()
            ));
            std::fs::write(
                copy,
                text.replacen("title = \"", &format!("title = \"{i} "), 1),
            )
            .unwrap();
        }
    }
    site
}

#[test]
fn a_build_into_a_full_disk_fails_once_and_leaves_whole_files() {
    let Some(fs) = Tmpfs::mount("160k") else {
        return;
    };
    let site = bigger_sample();
    let out = fs.feeds();
    let run = site.run(&["build", "--out", out.to_str().unwrap()]);
    assert_eq!(run.code(), 1, "{}", run.stderr());
    let errors = run.errors();
    assert_eq!(errors.len(), 1, "one message: {errors:?}");
    assert!(
        errors[0].contains(out.to_str().unwrap()) && errors[0].contains("no space left"),
        "{}",
        errors[0]
    );
    assert!(
        temp_files(&out).is_empty(),
        "temp files left: {:?}",
        temp_files(&out)
    );
    assert_whole(&out, "a full disk");
    // With room, the same build finishes.
    fs.remount("size=64m");
    let run = site.run(&["build", "--out", out.to_str().unwrap()]);
    assert_eq!(run.code(), 0, "{}", run.stderr());
}

#[test]
fn a_server_with_a_full_or_read_only_disk_serves_from_memory_and_catches_up() {
    let Some(fs) = Tmpfs::mount("160k") else {
        return;
    };
    let site = bigger_sample();
    let out = fs.feeds();
    let s = Server::start(
        site,
        &["--out", out.to_str().unwrap(), "--debounce-ms", "50"],
    );
    wait_until("the failure is counted", || {
        metric(&s, "crier_output_failing") == 1.0
    });
    for path in [
        "/healthz",
        "/rss.xml",
        "/xiaodian/",
        "/xiaodian/2023-01-10.html",
    ] {
        let r = block_on(get(s.addr, path, &[])).unwrap();
        assert_eq!(r.status, 200, "{path} while the disk is full");
    }
    let edit = |title: &str| {
        let file = s.site.content().join("xiaodian/2023-01-10.md");
        let text = std::fs::read_to_string(&file).unwrap();
        let at = text.find("title = \"").unwrap() + "title = \"".len();
        std::fs::write(&file, format!("{}{title} {}", &text[..at], &text[at..])).unwrap();
    };
    edit("满盘时");
    wait_until("the edit is served", || {
        let r = block_on(get(s.addr, "/xiaodian/rss.xml", &[])).unwrap();
        String::from_utf8_lossy(&r.body).contains("满盘时")
    });
    // A write may be under way; none is left behind.
    wait_until("no temp file is left", || temp_files(&out).is_empty());
    let logged = s.log_text().matches("cannot write").count();
    assert_eq!(
        logged,
        1,
        "logged once, not once per file:\n{}",
        s.log_text()
    );
    // Room again: the next change writes the whole folder.
    fs.remount("size=64m");
    edit("有空间");
    wait_until("written again", || {
        metric(&s, "crier_output_failing") == 0.0
    });
    s.wait_for_log("is written again");
    // The pass that writes it all again may have begun on an event just
    // before the edit: the edit's own update follows it.
    wait_until("the edit written", || {
        std::fs::read_to_string(out.join("xiaodian/rss.xml")).is_ok_and(|t| t.contains("有空间"))
    });
    assert_whole(&out, "after the disk had room again");
    // A folder made read-only while serving: the same.
    fs.remount("ro");
    edit("只读时");
    wait_until("the failure is counted", || {
        metric(&s, "crier_output_failing") == 1.0
    });
    let r = block_on(get(s.addr, "/xiaodian/rss.xml", &[])).unwrap();
    assert!(String::from_utf8_lossy(&r.body).contains("只读时"));
    assert_eq!(block_on(get(s.addr, "/healthz", &[])).unwrap().status, 200);
    fs.remount("rw");
    edit("可写");
    wait_until("written again", || {
        metric(&s, "crier_output_failing") == 0.0
    });
    assert!(
        std::fs::read_to_string(out.join("xiaodian/rss.xml"))
            .unwrap()
            .contains("可写")
    );
    drop(s);
}
