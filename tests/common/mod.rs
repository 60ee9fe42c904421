//! Helpers for the integration tests: a scratch copy of the sample site and
//! the real `crier` binary run inside it.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub const SAMPLE_ARTICLES: usize = 13;

pub fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A temp folder holding a copy of `crier.toml` and `content/`.
pub struct Site {
    pub dir: tempfile::TempDir,
}

impl Site {
    pub fn sample() -> Site {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::copy(repo().join("crier.toml"), dir.path().join("crier.toml"))
            .expect("copy config");
        copy_tree(&repo().join("content"), &dir.path().join("content"));
        Site { dir }
    }

    /// The sample with `hub = "builtin"`, calling back 127.0.0.1 only.
    pub fn with_builtin_hub() -> Site {
        Site::with_builtin_hub_calling(&["127.0.0.1"])
    }

    /// The sample with `hub = "builtin"`, calling back `hosts`.
    pub fn with_builtin_hub_calling(hosts: &[&str]) -> Site {
        let site = Site::sample();
        let toml = site.read("crier.toml");
        let (top, tables) = toml.split_once("\n[").expect("crier.toml has tables");
        let hosts: Vec<String> = hosts.iter().map(|h| format!("\"{h}\"")).collect();
        let hosts = hosts.join(", ");
        site.write(
            "crier.toml",
            format!("{top}\nhub = \"builtin\"\nhub_callbacks = [{hosts}]\n\n[{tables}"),
        );
        site
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn content(&self) -> PathBuf {
        self.path().join("content")
    }

    pub fn feeds(&self) -> PathBuf {
        self.path().join("feeds")
    }

    /// `crier ARGS` run in the site folder, with no CRIER_* variables leaking in.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_crier"));
        c.args(args).current_dir(self.path());
        for (k, _) in std::env::vars() {
            if k.starts_with("CRIER_") {
                c.env_remove(k);
            }
        }
        c
    }

    pub fn run(&self, args: &[&str]) -> Run {
        Run(self.command(args).output().expect("run crier"))
    }

    pub fn write(&self, rel: &str, bytes: impl AsRef<[u8]>) {
        let p = self.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, bytes).unwrap();
    }

    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.path().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
    }

    /// The sample with `feed_limit = 3` and seven older Xiaodian
    /// articles (December 2022): 20 articles, 17 of them archived.
    pub fn archived() -> Site {
        let site = Site::sample();
        let toml = site
            .read("crier.toml")
            .replace("feed_limit = 50", "feed_limit = 3");
        site.write("crier.toml", toml);
        for day in 1..=7 {
            let title = format!("小店旧闻{day}");
            site.write(
                &format!("content/xiaodian/old-{day}.md"),
                format!(
                    "+++\ntitle = \"{title}\"\ndate = 2022-12-0{day}\n+++\n\n{title}的正文。\n"
                ),
            );
        }
        site
    }

    /// [`Site::archived`] where every text an editor or an operator
    /// writes looks like markup: the site's and a district's names, and
    /// the titles, summaries, authors and tags of five Xiaodian articles
    /// (one a topic of its own), some of them archived.
    pub fn hostile() -> Site {
        let site = Site::archived();
        let toml = site
            .read("crier.toml")
            .replace(
                "title = \"太原新闻\"",
                "title = \"太原 <新闻> & R&D \\\"日报\\\" &amp;\"",
            )
            .replace("name = \"小店区\"", "name = \"小店 <b>区</b> & 县\"");
        site.write("crier.toml", toml);
        for (i, (title, summary, author, tags)) in HOSTILE.iter().enumerate() {
            let quote = |s: &str| toml::Value::from(s).to_string();
            let tags: Vec<String> = tags.iter().map(|t| quote(t)).collect();
            site.write(
                &format!("content/xiaodian/hostile-{i}.md"),
                format!(
                    "+++\ntitle = {}\ndate = 2022-12-1{i}T08:30:00+08:00\nsummary = {}\nauthor = {}\ntags = [{}]\n+++\n\n正文{i}。\n",
                    quote(title),
                    quote(summary),
                    quote(author),
                    tags.join(", ")
                ),
            );
        }
        site
    }
}

/// (title, summary, author, tags) of the hostile corpus.
pub const HOSTILE: [(&str, &str, &str, &[&str]); 5] = [
    (
        "价格 a<b 且 R&D <b>粗体</b> 部门",
        "第二篇 <tag> 与 &amp; 已转义",
        "记者 <王> & 李",
        &["R&D", "<b>标签</b>", "民生"],
    ),
    (
        "</script><script>alert(1)</script> \"q\" 'a' ]]> &nbsp; &#x26;",
        "<img src=x onerror=alert(1)> ]]> </script> &lt;",
        "A </script> B",
        &["x\"y", "</script>", "&amp;"],
    ),
    (
        "\u{202e}反向\u{202c} 𝕏🦀𠀀 \u{1}控制\u{7f}字符 <!-- 注释 --> &copy 2023",
        "R&D 与 <新闻> & 中文&中 x > y",
        "&lt;王&gt;",
        &["<新闻>"],
    ),
    (
        "<新闻> & 要闻",
        "\"引号\" '单引号' <![CDATA[ x ]]>",
        "记者",
        &["R & D"],
    ),
    (
        "长标题很长很长很长很长很长很长很长很长很长很长很长很长很长很长很长很长很长很长很长很长很长很长很长很长很长很长很长很长很长很长很长很长很长很长很长很长很长很长很长很长很长很长很长很长很长很长很长很长很长很长很长很长很长很长 <end>",
        "一句。",
        "",
        &[],
    ),
];

pub struct Run(pub Output);

impl Run {
    pub fn code(&self) -> i32 {
        self.0.status.code().expect("exit code")
    }
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.0.stderr).into_owned()
    }
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.0.stdout).into_owned()
    }
    /// Lines of stderr that report an error.
    pub fn errors(&self) -> Vec<String> {
        self.stderr()
            .lines()
            .filter(|l| l.contains(": error: ") || l.starts_with("error:"))
            .map(str::to_string)
            .collect()
    }
}

pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_tree(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

/// Every file under `dir` (relative paths, sorted), hidden files aside.
pub fn files(dir: &Path) -> Vec<PathBuf> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let e = e.unwrap();
            if e.file_name().to_string_lossy().starts_with('.') {
                continue;
            }
            if e.file_type().unwrap().is_dir() {
                walk(root, &e.path(), out);
            } else {
                out.push(e.path().strip_prefix(root).unwrap().to_path_buf());
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// The pages and feeds under `dir`, without their .gz and .br siblings.
pub fn pages(dir: &Path) -> Vec<PathBuf> {
    files(dir)
        .into_iter()
        .filter(|p| !matches!(p.extension().and_then(|e| e.to_str()), Some("gz" | "br")))
        .collect()
}

pub fn count(haystack: &str, needle: &str) -> usize {
    haystack.matches(needle).count()
}
pub mod http;
pub mod postgres;

/// A small deterministic generator (xorshift): the same run every time.
pub struct Rng(pub u64);

impl Rng {
    pub fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

/// Every visible file of `dir`, relative, with its bytes.
pub fn contents(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    files(dir)
        .into_iter()
        .map(|rel| {
            let bytes = std::fs::read(dir.join(&rel)).unwrap();
            (rel, bytes)
        })
        .collect()
}

pub fn gunzip(b: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(b).read_to_end(&mut out).ok()?;
    Some(out)
}

pub fn unbrotli(b: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    brotli::Decompressor::new(b, 4096)
        .read_to_end(&mut out)
        .ok()?;
    Some(out)
}

/// Whether a document is whole: XML that reads to its end, JSON that
/// parses, HTML that ends with `</html>`, text that is UTF-8.
pub fn whole(name: &str, bytes: &[u8]) -> bool {
    if name.ends_with(".xml") || name.ends_with(".opml") {
        let mut reader = quick_xml::Reader::from_reader(bytes);
        let mut buf = Vec::new();
        let mut depth = 0i64;
        loop {
            match reader.read_event_into(&mut buf) {
                Ok(quick_xml::events::Event::Start(_)) => depth += 1,
                Ok(quick_xml::events::Event::End(_)) => depth -= 1,
                Ok(quick_xml::events::Event::Eof) => return depth == 0,
                Ok(_) => {}
                Err(_) => return false,
            }
            buf.clear();
        }
    } else if name.ends_with(".json") {
        serde_json::from_slice::<serde_json::Value>(bytes).is_ok()
    } else if name.ends_with(".html") {
        std::str::from_utf8(bytes).is_ok_and(|t| t.trim_end().ends_with("</html>"))
    } else if name.ends_with(".ico") {
        // An icon file: its header, then as many bytes as its one
        // image's entry says, from the offset it gives.
        let le32 = |at: usize| {
            bytes
                .get(at..at + 4)
                .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        };
        bytes.starts_with(b"\0\0\x01\0")
            && le32(14)
                .zip(le32(18))
                .is_some_and(|(len, at)| (len + at) as usize == bytes.len())
    } else {
        std::str::from_utf8(bytes).is_ok()
    }
}

/// Every file whole, and every `.gz` and `.br` a whole stream of a whole
/// document. Returns how many files there were.
pub fn assert_whole(feeds: &Path, after: &str) -> usize {
    if !feeds.exists() {
        return 0;
    }
    let all = contents(feeds);
    for (rel, bytes) in &all {
        let name = rel.to_string_lossy();
        let (doc, decoded) = match (name.strip_suffix(".gz"), name.strip_suffix(".br")) {
            (Some(doc), _) => (doc, gunzip(bytes)),
            (_, Some(doc)) => (doc, unbrotli(bytes)),
            _ => (name.as_ref(), Some(bytes.clone())),
        };
        let ok = decoded.is_some_and(|d| whole(doc, &d));
        assert!(ok, "{after}: {name} is not whole");
    }
    all.len()
}

/// The tools from outside Rust that tests use, and how each is installed
/// (`./test.sh` installs them all).
const TOOLS: &[(&str, &str)] = &[
    ("python3", "apt-get install python3"),
    ("newsboat", "apt-get install newsboat"),
    ("man", "apt-get install man-db"),
    ("promtool", "apt-get install prometheus"),
    ("bash", "apt-get install bash"),
    ("chromium", "apt-get install chromium"),
    ("node", "apt-get install nodejs npm"),
    ("axe-core", "npm ci --prefix tests/a11y"),
    ("html5lib", "python3 -m pip install 'html5lib==1.1'"),
    ("feedparser", "python3 -m pip install 'feedparser==6.0.*'"),
    (
        "feedparser_rs",
        "python3 -m pip install 'feedparser-rs==0.7.*'",
    ),
    ("extruct", "python3 -m pip install 'extruct==0.18.*'"),
    (
        "usp",
        "python3 -m pip install 'ultimate-sitemap-parser==1.8.*'",
    ),
];

/// Ends the test binary with one line naming a missing tool and its
/// install command, instead of a parser's traceback further on.
fn missing(tool: &str) -> ! {
    let install = TOOLS
        .iter()
        .find(|(t, _)| *t == tool)
        .map_or("./test.sh", |(_, how)| how);
    // A panic would print a backtrace under RUST_BACKTRACE; this test binary
    // cannot pass without the tool anyway.
    // (Written to stderr itself: the test harness captures eprintln!.)
    let line = format!(
        "missing test tool `{tool}`: install it with `{install}` (./test.sh installs every tool)\n"
    );
    let _ = std::io::Write::write_all(&mut std::io::stderr(), line.as_bytes());
    std::process::exit(101)
}

/// `newsboat` and other commands: present on the PATH, or the test fails
/// with one line saying how to install it.
pub fn need_command(tool: &str) {
    let found = std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(tool).is_file()));
    if !found {
        missing(tool);
    }
}

/// `node`, once the packages of tests/a11y are installed (else one line
/// saying how to install what is missing).
pub fn node() -> Command {
    need_command("node");
    if !repo().join("tests/a11y/node_modules/axe-core").is_dir() {
        missing("axe-core");
    }
    let mut c = Command::new("node");
    c.current_dir(repo().join("tests/a11y"));
    c
}

/// What `cmd` printed, after asserting it succeeded (showing its stderr
/// when not).
pub fn stdout_of(cmd: &mut Command) -> String {
    let out = cmd.output().expect("the command runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `python3`, once the Python modules the script imports are known to be
/// there (else one line saying how to install the missing one).
pub fn python(modules: &[&str]) -> Command {
    need_command("python3");
    for module in modules {
        let ok = Command::new("python3")
            .args(["-c", &format!("import {module}")])
            .output()
            .is_ok_and(|out| out.status.success());
        if !ok {
            missing(module);
        }
    }
    Command::new("python3")
}
