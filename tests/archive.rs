//! Rebuilds at archive scale: only what changed is rendered and written,
//! and the server reads archived article pages from the output folder.

mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::SystemTime;

use common::http::{Server, block_on, get};
use common::{Site, files};

/// Every file of the output folder with its modification time and bytes.
fn snapshot(site: &Site) -> BTreeMap<PathBuf, (SystemTime, Vec<u8>)> {
    files(&site.feeds())
        .into_iter()
        .map(|f| {
            let path = site.feeds().join(&f);
            let time = std::fs::metadata(&path).unwrap().modified().unwrap();
            (f, (time, std::fs::read(&path).unwrap()))
        })
        .collect()
}

fn changed(
    before: &BTreeMap<PathBuf, (SystemTime, Vec<u8>)>,
    after: &BTreeMap<PathBuf, (SystemTime, Vec<u8>)>,
) -> Vec<String> {
    after
        .iter()
        .filter(|(f, now)| before.get(*f).is_none_or(|was| was.0 != now.0))
        .map(|(f, _)| f.display().to_string())
        .collect()
}

#[test]
fn one_changed_article_rewrites_its_page_and_its_feeds_only() {
    let site = Site::sample();
    assert_eq!(site.run(&["build"]).code(), 0);
    let before = snapshot(&site);
    // Past any file system's time resolution.
    std::thread::sleep(std::time::Duration::from_millis(50));
    let article = site.read("content/xiaodian/2023-01-10.md");
    site.write(
        "content/xiaodian/2023-01-10.md",
        format!("{article}\n更正：第二段中的数字有误。\n"),
    );
    let run = site.run(&["build"]);
    assert_eq!(run.code(), 0, "{}", run.stderr());
    let after = snapshot(&site);

    let mut expected = Vec::new();
    for file in [
        "xiaodian/2023-01-10.html",
        "xiaodian/rss.xml",
        "xiaodian/atom.xml",
        "xiaodian/feed.json",
        "rss.xml",
        "atom.xml",
        "feed.json",
        // The sample's one topic: every article has its tag.
        "topics/贯彻落实“四个走在前列”要求 全方位推动高质量发展/rss.xml",
        "topics/贯彻落实“四个走在前列”要求 全方位推动高质量发展/atom.xml",
        "topics/贯彻落实“四个走在前列”要求 全方位推动高质量发展/feed.json",
    ] {
        for ext in ["", ".br", ".gz"] {
            expected.push(format!("{file}{ext}"));
        }
    }
    let mut got = changed(&before, &after);
    got.sort();
    expected.sort();
    assert_eq!(got, expected);
    assert!(
        run.stdout()
            .contains(" 30 written, 207 unchanged, 0 removed"),
        "{}",
        run.stdout()
    );
    assert!(site.read("feeds/xiaodian/2023-01-10.html").contains("更正"));

    // Nothing changed: nothing is written.
    let run = site.run(&["build"]);
    assert!(
        run.stdout().contains(" 0 written, 237 unchanged"),
        "{}",
        run.stdout()
    );
}

#[test]
fn a_config_change_renders_every_page_again() {
    let site = Site::sample();
    assert_eq!(site.run(&["build"]).code(), 0);
    let config = site.read("crier.toml");
    let title = config
        .lines()
        .find_map(|l| l.strip_prefix("title = "))
        .expect("a title")
        .trim_matches('"')
        .to_string();
    site.write(
        "crier.toml",
        config.replacen(&format!("title = \"{title}\""), "title = \"晋阳晚报\"", 1),
    );
    let run = site.run(&["build"]);
    assert_eq!(run.code(), 0, "{}", run.stderr());
    for page in ["xiaodian/2023-01-10.html", "2023-01-14.html"] {
        let html = site.read(&format!("feeds/{page}"));
        assert!(html.contains("晋阳晚报"), "{page} kept the old title");
        assert!(!html.contains(&title), "{page} kept the old title");
    }
}

#[test]
fn files_removed_or_left_behind_in_the_output_are_put_right() {
    let site = Site::sample();
    assert_eq!(site.run(&["build"]).code(), 0);
    let page = site.feeds().join("xiaodian/2023-01-10.html");
    let original = std::fs::read(&page).unwrap();
    std::fs::remove_file(site.feeds().join("xiaodian/2023-01-10.html.br")).unwrap();
    std::fs::write(site.feeds().join(".crier-manifest"), "garbage\n").unwrap();
    std::fs::write(site.feeds().join("xiaodian/.tmp-killed"), "half a file").unwrap();
    std::fs::write(site.feeds().join("stray.html"), "not ours any more").unwrap();
    std::fs::write(site.feeds().join(".keep"), "").unwrap();

    let run = site.run(&["build"]);
    assert_eq!(run.code(), 0, "{}", run.stderr());
    let br = std::fs::read(site.feeds().join("xiaodian/2023-01-10.html.br")).unwrap();
    let mut back = Vec::new();
    brotli::BrotliDecompress(&mut &br[..], &mut back).unwrap();
    assert_eq!(back, original);
    assert!(!site.feeds().join("xiaodian/.tmp-killed").exists());
    assert!(!site.feeds().join("stray.html").exists());
    assert!(
        site.feeds().join(".keep").exists(),
        "hidden files are not crier's"
    );
    assert!(
        site.read("feeds/.crier-manifest")
            .contains("xiaodian/2023-01-10.html")
    );
}

#[test]
fn article_pages_are_served_from_the_output_folder_with_etags_of_their_bytes() {
    let s = Server::start(Site::sample(), &[]);
    s.wait_complete();
    let path = "/xiaodian/2023-01-10.html";
    block_on(async {
        for enc in ["br", "gzip", "identity"] {
            let r = get(s.addr, path, &[("accept-encoding", enc)])
                .await
                .unwrap();
            assert_eq!(r.status, 200);
            assert_eq!(
                r.header("etag"),
                Some(crier::fingerprint::etag(&r.body).as_str())
            );
            let etag = r.header("etag").unwrap().to_string();
            let again = get(
                s.addr,
                path,
                &[("accept-encoding", enc), ("if-none-match", &etag)],
            )
            .await
            .unwrap();
            assert_eq!(again.status, 304);
        }

        // A page removed by hand: the server says so and keeps serving the rest.
        for ext in ["", ".gz", ".br"] {
            std::fs::remove_file(
                s.site
                    .feeds()
                    .join(format!("xiaodian/2023-01-10.html{ext}")),
            )
            .unwrap();
        }
        let r = get(s.addr, path, &[]).await.unwrap();
        assert_eq!(r.status, 503);
        assert!(r.header("retry-after").is_some());
        let r = get(s.addr, "/rss.xml", &[]).await.unwrap();
        assert_eq!(r.status, 200);
    });
    // The log is flushed every 200 ms: wait for the line.
    s.wait_for_log("cannot read this article page");
}

#[test]
fn without_a_usable_output_folder_pages_are_served_from_memory() {
    let site = Site::sample();
    site.write("elsewhere/important.txt", "keep me");
    let s = Server::start(site, &["--out", "elsewhere"]);
    block_on(async {
        let r = get(
            s.addr,
            "/xiaodian/2023-01-10.html",
            &[("accept-encoding", "br")],
        )
        .await
        .unwrap();
        assert_eq!(r.status, 200);
        assert_eq!(r.header("content-encoding"), Some("br"));
        assert_eq!(
            r.header("etag"),
            Some(crier::fingerprint::etag(&r.body).as_str())
        );
    });
    s.wait_for_log("serving from memory");
    assert_eq!(s.site.read("elsewhere/important.txt"), "keep me");
    assert!(!s.site.path().join("elsewhere/xiaodian").exists());
}

#[test]
fn a_cold_start_serves_at_once_and_writes_the_rest_in_the_background() {
    let site = Site::sample();
    for i in 0..600 {
        site.write(
            &format!("content/xiaodian/old-{i:03}.md"),
            format!(
                "+++\ntitle = \"旧闻{i}\"\ndate = 2020-01-01T00:{:02}:{:02}+08:00\n+++\n第{i}篇。\n",
                i / 60,
                i % 60
            ),
        );
    }
    let s = Server::start(site, &[]);
    let path = "/xiaodian/old-007.html";
    let (first, metrics) = block_on(async {
        assert_eq!(get(s.addr, "/rss.xml", &[]).await.unwrap().status, 200);
        let page = get(s.addr, path, &[("accept-encoding", "gzip")])
            .await
            .unwrap();
        let metrics = get(s.addr, "/metrics", &[]).await.unwrap();
        (page, String::from_utf8_lossy(&metrics.body).into_owned())
    });
    assert_eq!(first.status, 200);
    assert!(metrics.contains("crier_pending_writes "), "{metrics}");
    let done = s.wait_complete();
    assert!(done.contains("written="), "{done}");
    // The log says when it is served, then when the folder is complete.
    let log = s.log_text();
    assert!(log.find("site updated") < log.find("output folder complete"));
    // What was served before the file existed is the file's bytes.
    let file = std::fs::read(s.site.feeds().join("xiaodian/old-007.html.gz")).unwrap();
    assert_eq!(first.body.as_ref(), file.as_slice());
    assert_eq!(
        first.header("etag"),
        Some(crier::fingerprint::etag(&file).as_str())
    );
    let metrics = block_on(get(s.addr, "/metrics", &[])).unwrap();
    assert!(String::from_utf8_lossy(&metrics.body).contains("crier_pending_writes 0"));
}
