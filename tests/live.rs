//! Live updates: the real server watching real files. Each test edits
//! `content/` (or crier.toml) the way people and editors do and waits for
//! the change to show over HTTP and in `feeds/`.

mod common;

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

use common::Site;
use common::http::{Reply, Server, block_on, get};

fn start() -> Server {
    Server::start(Site::sample(), &["--debounce-ms", "50"])
}

fn fetch(s: &Server, path: &str) -> Reply {
    block_on(get(s.addr, path, &[])).unwrap()
}

fn text(s: &Server, path: &str) -> String {
    String::from_utf8(fetch(s, path).body.to_vec()).unwrap()
}

/// Polls until `ok` holds (or fails after 5 s).
fn wait_for(what: &str, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !ok() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn article(title: &str, date: &str) -> String {
    format!("+++\ntitle = \"{title}\"\ndate = {date}\nauthor = \"司勇\"\n+++\n\n{title}。正文。\n")
}

fn metric(s: &Server, name: &str) -> String {
    text(s, "/metrics")
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")).map(str::to_string))
        .unwrap_or_default()
}

#[test]
fn added_article_appears_and_untouched_districts_keep_their_etags() {
    let s = start();
    let gujiao = fetch(&s, "/gujiao/rss.xml");
    s.wait_for_file("gujiao/rss.xml");
    let gujiao_mtime = std::fs::metadata(s.site.feeds().join("gujiao/rss.xml"))
        .unwrap()
        .modified()
        .unwrap();
    s.site
        .write("content/xiaodian/new.md", article("新增文章", "2023-01-20"));
    wait_for("the new item in the district feed", || {
        text(&s, "/xiaodian/rss.xml").contains("新增文章")
    });
    assert!(text(&s, "/rss.xml").contains("新增文章"));
    assert!(
        text(&s, "/").contains("新增文章"),
        "index lists the latest headlines"
    );
    assert_eq!(fetch(&s, "/xiaodian/new.html").status, 200);
    s.wait_for_file("xiaodian/new.html");
    wait_for("feeds/ on disk", || {
        std::fs::read_to_string(s.site.feeds().join("xiaodian/rss.xml"))
            .unwrap_or_default()
            .contains("新增文章")
    });
    // Another district: same bytes, same ETag, file not rewritten.
    let after = fetch(&s, "/gujiao/rss.xml");
    assert_eq!(after.header("etag"), gujiao.header("etag"));
    assert_eq!(after.body, gujiao.body);
    let mtime = std::fs::metadata(s.site.feeds().join("gujiao/rss.xml"))
        .unwrap()
        .modified()
        .unwrap();
    assert_eq!(mtime, gujiao_mtime);
    s.wait_for_log("site updated files_read=1");
}

#[test]
fn edited_article_changes_and_gets_a_new_etag() {
    let s = start();
    let before = fetch(&s, "/xiaodian/atom.xml");
    s.site.write(
        "content/xiaodian/2023-01-10.md",
        article("小店区劳模大会（更正）", "2023-01-10"),
    );
    wait_for("the new title", || {
        text(&s, "/xiaodian/atom.xml").contains("小店区劳模大会（更正）")
    });
    let after = fetch(&s, "/xiaodian/atom.xml");
    assert_ne!(after.header("etag"), before.header("etag"));
    // Same file, same id: the item was replaced, not added.
    assert_eq!(common::count(&text(&s, "/xiaodian/atom.xml"), "<entry>"), 1);
    assert_eq!(
        common::count(&text(&s, "/rss.xml"), "<item>"),
        common::SAMPLE_ARTICLES
    );
}

#[test]
fn editor_style_save_through_a_temp_file_and_rename() {
    let s = start();
    let target = s.site.content().join("yingze/2023-01-12.md");
    // vim probes the folder with `4913`, writes a swap file, then the new
    // text goes to a temp name that is renamed over the article.
    s.site.write("content/yingze/4913", "");
    std::fs::remove_file(s.site.content().join("yingze/4913")).unwrap();
    s.site.write("content/yingze/.2023-01-12.md.swp", "swap");
    s.site.write(
        "content/yingze/2023-01-12.md.tmp",
        article("迎泽区编辑保存", "2023-01-12"),
    );
    std::fs::rename(s.site.content().join("yingze/2023-01-12.md.tmp"), &target).unwrap();
    std::fs::remove_file(s.site.content().join("yingze/.2023-01-12.md.swp")).unwrap();
    wait_for("the saved title", || {
        text(&s, "/yingze/rss.xml").contains("迎泽区编辑保存")
    });
    let feed = text(&s, "/yingze/rss.xml");
    assert_eq!(common::count(&feed, "<item>"), 1, "{feed}");
    assert_eq!(metric(&s, "crier_content_errors"), "0");
}

#[test]
fn deleted_article_leaves_feeds_pages_and_disk() {
    let s = start();
    s.wait_for_file("qingxu/2023-01-12.html");
    std::fs::remove_file(s.site.content().join("qingxu/2023-01-12.md")).unwrap();
    wait_for("the item to go", || {
        !text(&s, "/qingxu/rss.xml").contains("<item>")
    });
    assert_eq!(fetch(&s, "/qingxu/2023-01-12.html").status, 404);
    assert_eq!(
        common::count(&text(&s, "/rss.xml"), "<item>"),
        common::SAMPLE_ARTICLES - 1
    );
    wait_for("the page file to go", || {
        !s.site.feeds().join("qingxu/2023-01-12.html").exists()
    });
    assert!(!s.site.feeds().join("qingxu/2023-01-12.html.gz").exists());
    assert_eq!(metric(&s, "crier_articles"), "12");
}

#[test]
fn article_moved_to_another_district_moves() {
    let s = start();
    std::fs::rename(
        s.site.content().join("loufan/2023-01-10.md"),
        s.site.content().join("gujiao/loufan-moved.md"),
    )
    .unwrap();
    wait_for("the item in gujiao", || {
        text(&s, "/gujiao/rss.xml").contains("娄烦县举行招商引资项目推介会")
    });
    assert!(!text(&s, "/loufan/rss.xml").contains("<item>"));
    assert_eq!(fetch(&s, "/loufan/2023-01-10.html").status, 404);
    assert_eq!(fetch(&s, "/gujiao/loufan-moved.html").status, 200);
    assert_eq!(
        common::count(&text(&s, "/rss.xml"), "<item>"),
        common::SAMPLE_ARTICLES
    );
}

#[test]
fn invalid_edit_keeps_the_last_good_version_until_fixed() {
    let s = start();
    let good = text(&s, "/jinyuan/rss.xml");
    s.site.write(
        "content/jinyuan/2023-01-09.md",
        "+++\ntitle = \"坏\"\ndate = 2023-01-09\nauthor = 司勇\n+++\n正文\n",
    );
    s.wait_for_log("content/jinyuan/2023-01-09.md:4: error: TOML front matter");
    wait_for("the error in /metrics", || {
        metric(&s, "crier_content_errors") == "1"
    });
    assert_eq!(
        text(&s, "/jinyuan/rss.xml"),
        good,
        "the last good version stays"
    );
    s.site.write(
        "content/jinyuan/2023-01-09.md",
        article("晋源区修好了", "2023-01-09"),
    );
    wait_for("the fixed title", || {
        text(&s, "/jinyuan/rss.xml").contains("晋源区修好了")
    });
    assert_eq!(metric(&s, "crier_content_errors"), "0");
}

#[test]
fn temp_and_hidden_files_are_ignored() {
    let s = start();
    let before = fetch(&s, "/rss.xml");
    for name in [
        ".hidden.md",
        "4913",
        "draft.md~",
        ".#lock.md",
        "x.md.swp",
        "notes.txt",
        "y.tmp",
    ] {
        s.site
            .write(&format!("content/xiaodian/{name}"), "not an article");
    }
    // A real change afterwards proves the batch above was seen and skipped.
    s.site
        .write("content/xiaodian/marker.md", article("标记", "2022-01-01"));
    wait_for("the marker", || {
        text(&s, "/xiaodian/rss.xml").contains("标记")
    });
    assert_eq!(metric(&s, "crier_content_errors"), "0");
    let feed = text(&s, "/xiaodian/rss.xml");
    assert_eq!(common::count(&feed, "<item>"), 2, "{feed}");
    assert_ne!(fetch(&s, "/rss.xml").header("etag"), before.header("etag"));
}

#[test]
fn config_changes_rebuild_and_a_broken_config_keeps_the_old_site() {
    let s = start();
    assert_eq!(fetch(&s, "/newtown/rss.xml").status, 404);
    let config = s.site.read("crier.toml");
    s.site.write(
        "crier.toml",
        format!("{config}\n[districts.newtown]\nname = \"新城区\"\n"),
    );
    wait_for("the new district", || {
        fetch(&s, "/newtown/rss.xml").status == 200
    });
    assert!(text(&s, "/").contains("新城区"));
    assert!(text(&s, "/feeds.opml").contains("newtown/rss.xml"));
    s.wait_for_file("newtown/rss.xml");
    // An article in the new folder is picked up too.
    s.site.write(
        "content/newtown/a.md",
        article("新城区第一篇", "2023-01-21"),
    );
    wait_for("the article in newtown", || {
        text(&s, "/newtown/rss.xml").contains("新城区第一篇")
    });

    s.site.write("crier.toml", "title = [broken\n");
    s.wait_for_log("the site built from the previous config is still served");
    assert_eq!(fetch(&s, "/newtown/rss.xml").status, 200);
    assert_eq!(fetch(&s, "/healthz").status, 200);
}

#[test]
fn burst_of_writes_never_gives_a_broken_feed_or_a_reused_etag() {
    let s = start();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let poller = {
        let (addr, stop) = (s.addr, stop.clone());
        std::thread::spawn(move || {
            let mut seen: HashMap<String, Vec<u8>> = HashMap::new();
            let mut polls = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let r = block_on(get(addr, "/rss.xml", &[])).unwrap();
                assert_eq!(r.status, 200);
                rss::Channel::read_from(&r.body[..]).expect("every response parses as RSS");
                let etag = r.header("etag").unwrap().to_string();
                let body = r.body.to_vec();
                if let Some(old) = seen.insert(etag.clone(), body.clone()) {
                    assert_eq!(old, body, "ETag {etag} stood for two different bodies");
                }
                polls += 1;
            }
            (polls, seen.len())
        })
    };
    let dir = s.site.content().join("wanbailin");
    for i in 0..300 {
        let name = format!("burst-{}.md", i % 40);
        write_atomically(&dir, &name, &article(&format!("连续写入{i}"), "2023-02-01"));
        if i % 50 == 49 {
            std::thread::sleep(Duration::from_millis(30));
        }
    }
    wait_for("the last write", || {
        text(&s, "/rss.xml").contains("连续写入299")
    });
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let (polls, versions) = poller.join().expect("poller");
    assert!(
        polls > 10 && versions > 1,
        "{polls} polls saw {versions} versions"
    );
    let feed = text(&s, "/wanbailin/rss.xml");
    assert_eq!(
        common::count(&feed, "<item>"),
        41,
        "40 burst files and the brief"
    );
}

fn write_atomically(dir: &Path, name: &str, text: &str) {
    let tmp = dir.join(format!(".{name}.tmp"));
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, dir.join(name)).unwrap();
}

#[test]
fn poll_mode_sees_changes_without_events() {
    let s = Server::start(Site::sample(), &["--poll", "--debounce-ms", "100"]);
    s.site.write(
        "content/zonggai/polled.md",
        article("轮询发现", "2023-01-22"),
    );
    wait_for("the polled article", || {
        text(&s, "/zonggai/rss.xml").contains("轮询发现")
    });
}

#[test]
fn a_district_folder_made_while_serving_is_watched_from_its_first_file() {
    let site = Site::sample();
    std::fs::remove_dir_all(site.content().join("yingze")).unwrap();
    let s = Server::start(site, &["--debounce-ms", "50"]);
    assert!(!text(&s, "/yingze/rss.xml").contains("<item>"));
    // The folder and its first file at once: written before any watch on
    // the new folder can have begun.
    s.site.write(
        "content/yingze/first.md",
        article("迎泽第一篇", "2023-01-21"),
    );
    wait_for("the first article of the new folder", || {
        text(&s, "/yingze/rss.xml").contains("迎泽第一篇")
    });
    // Later files in it are seen through its own watch.
    std::thread::sleep(Duration::from_millis(200));
    s.site.write(
        "content/yingze/second.md",
        article("迎泽第二篇", "2023-01-22"),
    );
    wait_for("the second article of the new folder", || {
        text(&s, "/yingze/rss.xml").contains("迎泽第二篇")
    });
    std::fs::write(
        s.site.content().join("yingze/first.md"),
        article("迎泽改过", "2023-01-21"),
    )
    .unwrap();
    wait_for("an edit in the new folder", || {
        text(&s, "/yingze/rss.xml").contains("迎泽改过")
    });
}

#[test]
fn files_saved_while_the_first_build_reads_the_archive_are_all_served() {
    // Enough articles that the first build takes a while; the watch
    // begins only after it has read them, so what is saved meanwhile
    // must be found by the look that follows.
    let site = Site::sample();
    for i in 0..6000 {
        site.write(
            &format!("content/gujiao/old-{i}.md"),
            article(&format!("旧闻{i}"), "2020-01-01"),
        );
    }
    let content = site.content();
    let writer = std::thread::spawn(move || {
        for i in 0..20 {
            write_atomically(
                &content.join("xiaodian"),
                &format!("during-{i}.md"),
                &article(&format!("启动时写入{i}"), "2024-03-01"),
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    });
    let s = Server::start(site, &["--debounce-ms", "50"]);
    writer.join().unwrap();
    wait_for("every file saved during the start", || {
        let feed = text(&s, "/xiaodian/rss.xml");
        (0..20).all(|i| feed.contains(&format!("启动时写入{i}<")))
    });
}
