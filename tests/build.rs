//! `crier build` and `crier check` on the sample, run as the real binary.

mod common;

use std::path::PathBuf;

use std::io::Read;

use common::{SAMPLE_ARTICLES, Site, count, files, pages, repo};

const DISTRICTS: [&str; 12] = [
    "xiaodian",
    "jiancaoping",
    "gujiao",
    "loufan",
    "yingze",
    "wanbailin",
    "qingxu",
    "zonggai",
    "xinghualing",
    "jinyuan",
    "yangqu",
    "zhongbei",
];

#[test]
fn build_writes_the_whole_url_space() {
    let site = Site::sample();
    let run = site.run(&["build"]);
    assert_eq!(run.code(), 0, "{}", run.stderr());
    assert!(run.stdout().contains("13 articles"), "{}", run.stdout());

    let mut want: Vec<PathBuf> = [
        "index.html",
        "rss.xml",
        "atom.xml",
        "feed.json",
        "feeds.opml",
        "sitemap.xml",
        "sitemaps/pages.xml",
        "sitemaps/2023-01.xml",
        "news-sitemap.xml",
        "robots.txt",
        "logo.svg",
        "favicon.ico",
        "topics.opml",
        "topics/index.html",
    ]
    .iter()
    .map(PathBuf::from)
    .collect();
    for d in DISTRICTS {
        for f in ["index.html", "rss.xml", "atom.xml", "feed.json"] {
            want.push(PathBuf::from(d).join(f));
        }
    }
    // The sample's one topic: its page and feeds.
    for f in ["index.html", "rss.xml", "atom.xml", "feed.json"] {
        want.push(PathBuf::from("topics/贯彻落实“四个走在前列”要求 全方位推动高质量发展").join(f));
    }
    // One page per article, at the path of its source file.
    for src in files(&site.content()) {
        want.push(src.with_extension("html"));
    }
    want.sort();
    assert_eq!(pages(&site.feeds()), want);
    // Beside each, its .gz and .br, holding the same bytes.
    for p in &want {
        let plain = std::fs::read(site.feeds().join(p)).unwrap();
        let gz = std::fs::read(site.feeds().join(format!("{}.gz", p.display()))).unwrap();
        let br = std::fs::read(site.feeds().join(format!("{}.br", p.display()))).unwrap();
        let mut unzipped = Vec::new();
        flate2::read::GzDecoder::new(&gz[..])
            .read_to_end(&mut unzipped)
            .unwrap();
        let mut unbrotlied = Vec::new();
        brotli::BrotliDecompress(&mut &br[..], &mut unbrotlied).unwrap();
        assert_eq!(unzipped, plain, "{p:?}.gz");
        assert_eq!(unbrotlied, plain, "{p:?}.br");
    }
    assert_eq!(files(&site.feeds()).len(), 3 * want.len());
    // Readable by a web server running as another user.
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(site.feeds().join("rss.xml"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o644);
}

/// The whole sample output against the committed golden copy in
/// tests/golden/. `UPDATE_GOLDEN=1 cargo test --test build` rewrites it
/// after a deliberate change; review the diff before committing.
#[test]
fn output_matches_golden_files() {
    let site = Site::sample();
    assert_eq!(site.run(&["build"]).code(), 0);
    let golden = repo().join("tests/golden");
    let built = pages(&site.feeds());
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        let _ = std::fs::remove_dir_all(&golden);
        for f in &built {
            let to = golden.join(f);
            std::fs::create_dir_all(to.parent().unwrap()).unwrap();
            std::fs::copy(site.feeds().join(f), to).unwrap();
        }
    }
    assert_eq!(
        built,
        files(&golden),
        "set of files differs from tests/golden"
    );
    for f in built {
        let got = std::fs::read(site.feeds().join(&f)).unwrap();
        let want = std::fs::read(golden.join(&f)).unwrap();
        assert!(
            got == want,
            "{} differs from tests/golden (UPDATE_GOLDEN=1 to accept)",
            f.display()
        );
    }
}

#[test]
fn same_input_gives_byte_identical_output_and_no_rewrites() {
    let a = Site::sample();
    let b = Site::sample();
    assert_eq!(a.run(&["build"]).code(), 0);
    assert_eq!(b.run(&["build"]).code(), 0);
    for f in files(&a.feeds()) {
        assert_eq!(
            std::fs::read(a.feeds().join(&f)).unwrap(),
            std::fs::read(b.feeds().join(&f)).unwrap(),
            "{f:?}"
        );
    }
    let before = std::fs::metadata(a.feeds().join("rss.xml"))
        .unwrap()
        .modified()
        .unwrap();
    let again = a.run(&["build"]);
    assert!(
        again
            .stdout()
            .contains(" 0 written, 237 unchanged, 0 removed"),
        "{}",
        again.stdout()
    );
    let after = std::fs::metadata(a.feeds().join("rss.xml"))
        .unwrap()
        .modified()
        .unwrap();
    assert_eq!(before, after, "an unchanged file must not be rewritten");
}

#[test]
fn rebuild_removes_pages_of_deleted_articles_and_updates_feeds() {
    let site = Site::sample();
    assert_eq!(site.run(&["build"]).code(), 0);
    assert!(site.feeds().join("xiaodian/2023-01-10.html").exists());
    std::fs::remove_file(site.content().join("xiaodian/2023-01-10.md")).unwrap();
    let run = site.run(&["build"]);
    assert_eq!(run.code(), 0);
    assert!(
        run.stdout().contains("3 removed"),
        "page, .gz and .br: {}",
        run.stdout()
    );
    assert!(!site.feeds().join("xiaodian/2023-01-10.html").exists());
    // The district feed still exists, valid and empty.
    let rss = site.read("feeds/xiaodian/rss.xml");
    assert_eq!(count(&rss, "<item>"), 0);
    assert!(rss.contains("<channel>"));
    assert_eq!(
        count(&site.read("feeds/rss.xml"), "<item>"),
        SAMPLE_ARTICLES - 1
    );
    // No temp files are left behind.
    let leftovers: Vec<_> = walk_all(&site.feeds())
        .into_iter()
        .filter(|p| p.rsplit('/').next().is_some_and(|n| n.starts_with(".tmp-")))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

fn walk_all(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            out.extend(walk_all(&e.path()));
        } else {
            out.push(e.path().display().to_string());
        }
    }
    out
}

#[test]
fn build_refuses_a_folder_that_is_not_its_own() {
    let site = Site::sample();
    site.write("elsewhere/important.txt", "keep me");
    let run = site.run(&["build", "--out", "elsewhere"]);
    assert_eq!(run.code(), 2, "{}", run.stderr());
    assert!(run.stderr().contains("elsewhere"), "{}", run.stderr());
    assert_eq!(site.read("elsewhere/important.txt"), "keep me");
    assert!(!site.path().join("elsewhere/rss.xml").exists());
}

#[test]
fn check_validates_and_writes_nothing() {
    let site = Site::sample();
    let run = site.run(&["check"]);
    assert_eq!(run.code(), 0, "{}", run.stderr());
    assert!(
        run.stdout()
            .contains("13 articles, 0 drafts skipped, 0 scheduled, 0 errors, 0 warnings"),
        "{}",
        run.stdout()
    );
    assert!(!site.feeds().exists());
}

#[test]
fn flag_beats_environment_beats_file() {
    let site = Site::sample();
    let self_link = |site: &Site| {
        let rss = site.read("feeds/rss.xml");
        let at = rss.find("rel=\"self\"").unwrap();
        rss[rss[..at].rfind("href=\"").unwrap() + 6..]
            .split('"')
            .next()
            .unwrap()
            .to_string()
    };
    assert_eq!(site.run(&["build"]).code(), 0);
    assert_eq!(self_link(&site), "http://127.0.0.1:8080/rss.xml");

    let run = site
        .command(&["build"])
        .env("CRIER_BASE_URL", "https://env.example/news")
        .output()
        .unwrap();
    assert!(run.status.success());
    assert_eq!(self_link(&site), "https://env.example/news/rss.xml");

    let run = site
        .command(&["build", "--base-url", "https://flag.example/"])
        .env("CRIER_BASE_URL", "https://env.example/news")
        .output()
        .unwrap();
    assert!(run.status.success());
    assert_eq!(self_link(&site), "https://flag.example/rss.xml");
    // Ids do not depend on base_url.
    assert!(
        site.read("feeds/rss.xml")
            .contains("tag:taiyuan.example.cn,2023-01-10:xiaodian/2023-01-10")
    );

    // Paths too: --config, --content and --out by environment.
    std::fs::rename(
        site.path().join("crier.toml"),
        site.path().join("site.toml"),
    )
    .unwrap();
    std::fs::rename(site.content(), site.path().join("articles")).unwrap();
    let run = site
        .command(&["build"])
        .env("CRIER_CONFIG", "site.toml")
        .env("CRIER_CONTENT", "articles")
        .env("CRIER_OUT", "public")
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert_eq!(
        count(&site.read("public/rss.xml"), "<item>"),
        SAMPLE_ARTICLES
    );
}

#[test]
fn help_explains_every_flag() {
    let site = Site::sample();
    let help = site.run(&["build", "--help"]).stdout();
    for flag in [
        "--config",
        "--content",
        "--out",
        "--base-url",
        "CRIER_BASE_URL",
        "CRIER_OUT",
        "--max-age",
    ] {
        assert!(help.contains(flag), "--help lacks {flag}:\n{help}");
    }
}

#[test]
fn feeds_follow_the_feed_rules() {
    let site = Site::sample();
    assert_eq!(site.run(&["build"]).code(), 0);
    let rss = site.read("feeds/xiaodian/rss.xml");
    assert!(rss.contains(
        "<guid isPermaLink=\"false\">tag:taiyuan.example.cn,2023-01-10:xiaodian/2023-01-10</guid>"
    ));
    assert!(rss.contains("<pubDate>Tue, 10 Jan 2023 00:00:00 +0800</pubDate>"));
    assert!(rss.contains("<dc:creator>司勇</dc:creator>"));
    assert!(
        rss.contains("<atom:link href=\"http://127.0.0.1:8080/xiaodian/rss.xml\" rel=\"self\"")
    );
    assert!(rss.contains("<language>zh-CN</language>"));
    assert!(
        rss.contains("<ttl>5</ttl>"),
        "ttl must match max_age = 300 s"
    );
    assert!(
        !rss.contains("<author>"),
        "RSS <author> must be an e-mail address; names go in dc:creator"
    );
    // Feed-level date is the newest item, not the build time.
    assert!(rss.contains("<lastBuildDate>Tue, 10 Jan 2023 00:00:00 +0800</lastBuildDate>"));
    let atom = site.read("feeds/atom.xml");
    assert!(atom.contains("<updated>2023-01-15T00:00:00+08:00</updated>"));
    assert!(atom.contains("xml:lang=\"zh-CN\""));
    assert!(atom.contains("<content type=\"html\">"));
    // Each item has the same id in its district feed and the combined feed.
    let ids = |text: &str, open: &str, close: &str| -> Vec<String> {
        text.split(open)
            .skip(1)
            .map(|s| s.split(close).next().unwrap().to_string())
            .collect()
    };
    let mut seen = 0;
    for (file, open, close) in [
        ("rss.xml", "<guid isPermaLink=\"false\">", "</guid>"),
        ("atom.xml", "<id>tag:", "</id>"),
        ("feed.json", "\"id\": \"", "\""),
    ] {
        let combined = ids(&site.read(&format!("feeds/{file}")), open, close);
        assert_eq!(combined.len(), SAMPLE_ARTICLES, "{file}");
        for d in DISTRICTS {
            for id in ids(&site.read(&format!("feeds/{d}/{file}")), open, close) {
                assert!(
                    combined.contains(&id),
                    "{d}/{file}: {id} not in the combined feed"
                );
                seen += 1;
            }
        }
    }
    assert_eq!(seen, 3 * (SAMPLE_ARTICLES - 1));
    // Text outputs: the icon is a picture.
    for f in pages(&site.feeds())
        .iter()
        .filter(|f| !f.ends_with("favicon.ico"))
    {
        let text = site.read(&format!("feeds/{}", f.display()));
        let name = f.display().to_string();
        if name.ends_with(".xml") || name.ends_with(".opml") {
            assert!(!text.contains("<!DOCTYPE"), "{name}: no DOCTYPE in XML");
            assert!(!text.contains("&nbsp;"), "{name}: no HTML entities in XML");
        }
        assert!(
            !text.chars().any(|c| c.is_control() && c != '\n'),
            "{name}: control character"
        );
    }
    // Column breaks of the print page are repaired.
    let lead = site.read("feeds/2023-01-14.html");
    for word in ["政治站位高", "基础设施", "鼓励和支持"] {
        assert!(lead.contains(word), "{word}");
    }
    assert!(
        site.read("feeds/index.html")
            .contains("<html lang=\"zh-CN\">")
    );
}

/// Every file of `dir` with its bytes and modification time.
fn state(dir: &std::path::Path) -> Vec<(String, Vec<u8>, std::time::SystemTime)> {
    walk_all(dir)
        .into_iter()
        .map(|f| {
            let p = dir.join(&f);
            let m = std::fs::metadata(&p).unwrap().modified().unwrap();
            (f, std::fs::read(&p).unwrap(), m)
        })
        .collect()
}

#[test]
fn a_build_with_nothing_changed_does_nothing_and_every_change_is_seen() {
    const SAME: &str = "(nothing changed since the last build)";
    let site = Site::sample();
    // Past the racy window of the copy: a file changed within 2 s of its
    // reading is never trusted by its stamp.
    std::thread::sleep(std::time::Duration::from_millis(2100));
    let first = site.run(&["build"]);
    assert_eq!(first.code(), 0, "{}", first.stderr());
    assert!(!first.stdout().contains(SAME), "{}", first.stdout());
    let built = state(&site.feeds());
    let again = site.run(&["build"]);
    assert!(
        again
            .stdout()
            .contains(" 0 written, 237 unchanged, 0 removed")
            && again.stdout().contains(SAME),
        "{}",
        again.stdout()
    );
    assert_eq!(state(&site.feeds()), built, "nothing touched");

    // An edit of the same size is seen; the file just written is racy,
    // so the build after it looks again rather than trusting it.
    let file = site.content().join("gujiao/2023-01-10.md");
    let text = std::fs::read_to_string(&file).unwrap();
    let edited = text
        .replacen("title = \"", "title = \"X", 1)
        .replacen("\n\n", "\n", 1);
    assert_eq!(edited.len(), text.len());
    std::fs::write(&file, &edited).unwrap();
    let run = site.run(&["build"]);
    assert!(!run.stdout().contains(SAME), "{}", run.stdout());
    assert!(site.read("feeds/gujiao/rss.xml").contains("<title>X"));
    let racy = site.run(&["build"]);
    assert!(!racy.stdout().contains(SAME), "{}", racy.stdout());

    // A new, a removed and a renamed file are seen.
    std::thread::sleep(std::time::Duration::from_millis(2100));
    assert!(site.run(&["build"]).stdout().contains("written"));
    assert!(site.run(&["build"]).stdout().contains(SAME));
    std::fs::rename(&file, site.content().join("gujiao/2023-01-11.md")).unwrap();
    let moved = site.run(&["build"]);
    assert!(moved.stdout().contains(" 3 removed"), "{}", moved.stdout());
    assert!(site.feeds().join("gujiao/2023-01-11.html").exists());

    // A run that was killed while writing leaves its flag: the record is
    // not trusted, and the folder is put right.
    std::thread::sleep(std::time::Duration::from_millis(2100));
    site.run(&["build"]);
    assert!(site.run(&["build"]).stdout().contains(SAME));
    std::fs::write(site.feeds().join(".crier-writing"), "").unwrap();
    std::fs::write(site.feeds().join("rss.xml"), "half").unwrap();
    let repaired = site.run(&["build"]);
    assert!(!repaired.stdout().contains(SAME), "{}", repaired.stdout());
    assert!(site.read("feeds/rss.xml").contains("</rss>"));
    // A new config is a new site.
    let config = site
        .read("crier.toml")
        .replace("feed_limit = 50", "feed_limit = 49");
    std::fs::write(site.path().join("crier.toml"), config).unwrap();
    assert!(!site.run(&["build"]).stdout().contains(SAME));
}
