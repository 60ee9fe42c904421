//! `crier import`: the printed page split into article files.

mod common;

use std::path::PathBuf;

use common::{Site, files, repo};

/// A copy of `../shared/seed/000_43fc77b577ed78f0.txt`, so the tests do
/// not depend on what sits beside the repository.
fn seed() -> PathBuf {
    repo().join("tests/data/page-2023-01-15.txt")
}

fn seed_text() -> String {
    std::fs::read_to_string(seed()).expect("tests/data/page-2023-01-15.txt")
}

/// A site with config but an empty content folder.
fn empty() -> Site {
    let site = Site::sample();
    std::fs::remove_dir_all(site.content()).unwrap();
    site
}

#[test]
fn the_seed_page_becomes_exactly_the_sample_content() {
    let site = empty();
    let page = seed();
    let run = site.run(&["import", page.to_str().unwrap(), "--date", "2023-01-15"]);
    assert_eq!(run.code(), 0, "{}", run.stderr());
    assert!(run.stdout().contains("13 articles"), "{}", run.stdout());
    let want = files(&repo().join("content"));
    assert_eq!(files(&site.content()), want);
    for f in want {
        assert_eq!(
            std::fs::read_to_string(site.content().join(&f)).unwrap(),
            std::fs::read_to_string(repo().join("content").join(&f)).unwrap(),
            "{f:?}"
        );
    }
    // And it builds without a warning.
    let run = site.run(&["check"]);
    assert!(
        run.stdout()
            .contains("13 articles, 0 drafts skipped, 0 scheduled, 0 errors, 0 warnings"),
        "{}",
        run.stdout()
    );
}

#[test]
fn importing_twice_changes_nothing_and_a_correction_updates_in_place() {
    let site = empty();
    site.write("page.txt", seed_text());
    assert_eq!(
        site.run(&["import", "page.txt", "--date", "2023-01-15"])
            .code(),
        0
    );
    let before = files(&site.content());
    let mtime = |rel: &str| {
        std::fs::metadata(site.content().join(rel))
            .unwrap()
            .modified()
            .unwrap()
    };
    let t = mtime("xiaodian/2023-01-10.md");
    let run = site.run(&["import", "page.txt", "--date", "2023-01-15"]);
    assert!(
        run.stdout().contains("0 written, 13 unchanged"),
        "{}",
        run.stdout()
    );
    assert_eq!(mtime("xiaodian/2023-01-10.md"), t);

    site.write(
        "page.txt",
        seed_text().replace("2022年劳动模范表彰大会", "2022年度劳动模范表彰大会"),
    );
    let run = site.run(&["import", "page.txt", "--date", "2023-01-15"]);
    assert!(
        run.stdout().contains("1 written, 12 unchanged"),
        "{}",
        run.stdout()
    );
    assert_eq!(
        files(&site.content()),
        before,
        "the same files, no new ones"
    );
    assert!(
        site.read("content/xiaodian/2023-01-10.md")
            .contains("title = \"小店区召开2022年度劳动模范表彰大会\"")
    );
}

#[test]
fn a_heading_that_is_no_district_is_imported_city_wide_with_a_warning() {
    let site = empty();
    site.write("page.txt", seed_text().replace("\n古交市\n", "\n太谷区\n"));
    let run = site.run(&["import", "page.txt", "--date", "2023-01-15"]);
    assert_eq!(run.code(), 0, "{}", run.stderr());
    assert!(
        run.stderr()
            .contains("warning: `太谷区` is not a district in crier.toml"),
        "{}",
        run.stderr()
    );
    assert!(run.stderr().contains("page.txt:"), "{}", run.stderr());
    // Top level, beside the lead (2023-01-14.md); nothing lost.
    assert!(
        site.read("content/2023-01-10.md")
            .contains("中石化150MW光伏发电项目")
    );
    assert!(!site.content().join("gujiao").exists());
    assert_eq!(files(&site.content()).len(), 13);
}

#[test]
fn a_page_with_only_a_lead_article() {
    let site = empty();
    let text = seed_text();
    let lead = &text[..text.find("贯彻落实“四个走在前列”要求").unwrap()];
    site.write("page.txt", lead);
    let run = site.run(&["import", "page.txt", "--date", "2023-01-15"]);
    assert_eq!(run.code(), 0, "{}", run.stderr());
    assert_eq!(files(&site.content()), [PathBuf::from("2023-01-14.md")]);
    assert_eq!(
        site.read("content/2023-01-14.md"),
        std::fs::read_to_string(repo().join("content/2023-01-14.md")).unwrap()
    );
}

/// Each malformed page: exit 1, a message with the line, no file written.
#[test]
fn malformed_pages_write_nothing() {
    let seed = seed_text();
    // 0xFF is neither UTF-8 nor GB18030.
    let undecodable: Vec<u8> = {
        let mut b = "标题\n\n正文".as_bytes().to_vec();
        b.extend([0xFF, b'\n']);
        b
    };
    let no_headline = "本报讯（记者 某某）1月14日，正文。\n\n第二段。\n".to_string();
    let bad_date = seed.replace("1月12日，迎泽区", "13月45日，迎泽区");
    let lead_without_date = "标题\n\n副题\n\n本报讯（记者 某某）正文没有日期。\n".to_string();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("empty", b"\n\n  \n".to_vec(), "the page is empty"),
        (
            "no encoding",
            undecodable,
            ":3: error: neither UTF-8 nor GB18030",
        ),
        (
            "no headline",
            no_headline.into_bytes(),
            ":1: error: no headline",
        ),
        (
            "bad brief date",
            bad_date.into_bytes(),
            "unreadable date `13月45日`",
        ),
        (
            "lead without a date",
            lead_without_date.into_bytes(),
            ":5: error: no date in the lead's dateline",
        ),
    ];
    for (what, bytes, want) in cases {
        let site = empty();
        site.write("page.txt", &bytes);
        let run = site.run(&["import", "page.txt", "--date", "2023-01-15"]);
        assert_eq!(run.code(), 1, "{what}: {}", run.stderr());
        assert!(
            run.stderr().contains(want),
            "{what}: `{}` should contain `{want}`",
            run.stderr()
        );
        assert!(run.stderr().contains("nothing was written"), "{what}");
        assert!(
            !site.content().exists() || files(&site.content()).is_empty(),
            "{what}: files written"
        );
    }
    let site = empty();
    let run = site.run(&["import", "page.txt", "--date", "2023-13-01"]);
    assert_eq!(run.code(), 2, "a bad --date is a usage error");
}

/// Another day's page, written the way the desk writes: several briefs
/// under one heading, every date lead, full-width digits, an alias, a
/// brief without final punctuation right before a heading, bylines with
/// roles, a column break in the lead.
fn another_day() -> PathBuf {
    repo().join("tests/data/page-2023-03-05.txt")
}

/// `(file, title, date, author)` of every article in `content/`.
fn articles(site: &Site) -> Vec<(String, String, String, String)> {
    let field = |text: &str, key: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{key} = ")))
            .map(|v| v.trim_matches('"').to_string())
            .unwrap_or_default()
    };
    files(&site.content())
        .into_iter()
        .map(|f| {
            let text = std::fs::read_to_string(site.content().join(&f)).unwrap();
            (
                f.display().to_string(),
                field(&text, "title"),
                field(&text, "date"),
                field(&text, "author"),
            )
        })
        .collect()
}

#[test]
fn another_days_page_files_every_brief_under_its_district() {
    let site = empty();
    let page = another_day();
    // No --date: the file name has it.
    let run = site.run(&["import", page.to_str().unwrap()]);
    assert_eq!(run.code(), 0, "{}", run.stderr());
    assert!(!run.stderr().contains("warning"), "{}", run.stderr());
    assert!(
        run.stdout()
            .contains("10 articles into content: 10 written, 0 unchanged (read as UTF-8, dated 2023-03-05 (from the file name))"),
        "{}",
        run.stdout()
    );
    let want = [
        (
            "2023-03-04.md",
            "太原市召开全市优化营商环境推进会",
            "2023-03-04",
            "张华",
        ),
        (
            "gujiao/2023-03-01.md",
            "古交市开展春季植树造林专项行动",
            "2023-03-01",
            "司勇",
        ),
        (
            "jiancaoping/2023-03-05.md",
            "尖草坪区启动老旧小区改造工程",
            "2023-03-05",
            "司勇",
        ),
        (
            "jinyuan/2023-03-05-2.md",
            "晋源区组织开展安全生产大检查",
            "2023-03-05",
            "司勇",
        ),
        (
            "jinyuan/2023-03-05.md",
            "晋源区召开文物保护工作会议",
            "2023-03-05",
            "李明",
        ),
        (
            "loufan/2023-03-02.md",
            "娄烦县举办第三届乡村振兴产业发展论坛",
            "2023-03-02",
            "司勇",
        ),
        (
            "xiaodian/2023-03-02.md",
            "小店区召开重点项目建设推进会",
            "2023-03-02",
            "司勇",
        ),
        (
            "xiaodian/2023-03-03.md",
            "小店区开展“学雷锋”志愿服务活动",
            "2023-03-03",
            "司勇",
        ),
        (
            "yingze/2023-03-02.md",
            "迎泽区举办春季招聘会",
            "2023-03-02",
            "司勇",
        ),
        (
            "zonggai/2023-03-05.md",
            "山西转型综合改革示范区新签约项目12个",
            "2023-03-05",
            "司勇",
        ),
    ];
    let got = articles(&site);
    let got: Vec<(&str, &str, &str, &str)> = got
        .iter()
        .map(|(a, b, c, d)| (a.as_str(), b.as_str(), c.as_str(), d.as_str()))
        .collect();
    assert_eq!(got, want);
    // The column break in the lead is joined; the brief without a full
    // stop is not glued to the next heading.
    let lead = site.read("content/2023-03-04.md");
    assert!(lead.contains("以更大力度推进营商环境建设，"), "{lead}");
    let gujiao = site.read("content/gujiao/2023-03-01.md");
    assert!(gujiao.trim_end().ends_with("百分之六十"), "{gujiao}");
    assert!(!gujiao.contains("娄烦"), "{gujiao}");
    assert!(
        site.read("content/xiaodian/2023-03-02.md")
            .contains("tags = [\"区县动态\"]")
    );
    // And it builds without a warning.
    let run = site.run(&["check"]);
    assert!(run.stdout().contains("10 articles"), "{}", run.stdout());
    assert!(
        run.stdout().contains("0 errors, 0 warnings"),
        "{}",
        run.stdout()
    );
}

/// GB18030, UTF-16 with a BOM and CRLF line ends give the same files.
#[test]
fn every_encoding_and_line_end_gives_the_same_articles() {
    let reference = empty();
    let page = another_day();
    assert_eq!(reference.run(&["import", page.to_str().unwrap()]).code(), 0);
    let want = common::contents(&reference.content());
    for (file, read_as) in [
        ("page-2023-03-05.gb18030.txt", "read as gb18030"),
        ("page-2023-03-05.utf16.txt", "read as UTF-16LE"),
        ("page-2023-03-05.crlf.txt", "read as UTF-8"),
    ] {
        let site = empty();
        let page = repo().join("tests/data").join(file);
        let run = site.run(&["import", page.to_str().unwrap()]);
        assert_eq!(run.code(), 0, "{file}: {}", run.stderr());
        assert!(run.stdout().contains(read_as), "{file}: {}", run.stdout());
        assert_eq!(common::contents(&site.content()), want, "{file}");
    }
    // --encoding forces one: the right one reads, a wrong one is refused.
    let gb = repo().join("tests/data/page-2023-03-05.gb18030.txt");
    let site = empty();
    let run = site.run(&["import", gb.to_str().unwrap(), "--encoding", "GBK"]);
    assert_eq!(run.code(), 0, "{}", run.stderr());
    assert_eq!(common::contents(&site.content()), want);
    let run = site.run(&["import", gb.to_str().unwrap(), "--encoding", "UTF-8"]);
    assert_eq!(run.code(), 1);
    assert!(run.stderr().contains("not valid UTF-8"), "{}", run.stderr());
}

#[test]
fn a_dry_run_prints_the_plan_and_writes_nothing() {
    let site = empty();
    let page = another_day();
    let run = site.run(&["import", "--dry-run", page.to_str().unwrap()]);
    assert_eq!(run.code(), 0, "{}", run.stderr());
    assert!(!site.content().exists(), "nothing written");
    let out = run.stdout();
    assert!(
        out.contains("content/zonggai/2023-03-05.md → zonggai, 2023-03-05, 山西转型综合改革示范区新签约项目12个: 3月上旬，"),
        "{out}"
    );
    assert!(
        out.contains("content/2023-03-04.md → city-wide, 2023-03-04,"),
        "{out}"
    );
    assert!(
        out.contains("10 articles (dry run: nothing written; read as UTF-8"),
        "{out}"
    );
}

/// A paragraph without final punctuation joins the next (a column break),
/// but a district's name at the join is a warning naming both lines; a
/// brief with no date lead is dated --date, with a warning.
#[test]
fn doubtful_joins_and_undated_briefs_are_warned_about() {
    let site = empty();
    site.write(
        "page.txt",
        "会议标题\n\n本报讯（记者 王五）3月4日，会议召开。\n\n区县动态\n\n小店区\n\n\
         3月2日，小店区的项目正在建设，预计年底完工，位于\n\n尖草坪区的项目也已开工。\n\n\
         迎泽区\n\n迎泽区开展志愿服务活动。\n",
    );
    let run = site.run(&["import", "page.txt", "--date", "2023-03-05"]);
    assert_eq!(run.code(), 0, "{}", run.stderr());
    let err = run.stderr();
    assert!(
        err.contains("page.txt:11: warning: joined to line 9 as a column break, and the district name `尖草坪区` is at the join"),
        "{err}"
    );
    assert!(
        err.contains("page.txt:15: warning: the brief under `迎泽区` starts with no date lead (e.g. 1月10日，or 近日，): dated 2023-03-05"),
        "{err}"
    );
    assert!(
        site.read("content/xiaodian/2023-03-02.md")
            .contains("位于尖草坪区的项目也已开工。")
    );
    assert!(
        site.read("content/yingze/2023-03-05.md")
            .contains("迎泽区开展志愿服务活动。")
    );
}

/// Waits until `check` holds (at most 10 s); how long it took.
fn within(what: &str, check: impl Fn() -> bool) -> std::time::Duration {
    let t = std::time::Instant::now();
    while !check() {
        assert!(t.elapsed() < std::time::Duration::from_secs(10), "{what}");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    t.elapsed()
}

/// A drop folder in the site's folder.
fn drop_folder(site: &Site) -> String {
    let drop = site.path().join("drop");
    std::fs::create_dir(&drop).unwrap();
    drop.to_str().unwrap().to_string()
}

/// `serve --import-dir`: a page dropped (slowly) is imported once, its
/// briefs served, the page kept in done/; a broken page lands in failed/
/// with its reason; a page dropped while the server is down is imported
/// at the restart, and nothing is imported twice.
#[test]
fn the_drop_folder_imports_each_page_once_and_keeps_every_page() {
    use common::http::{Server, block_on, get};
    let site = Site::sample();
    let dir = drop_folder(&site);
    let args = ["--import-dir", &dir, "--debounce-ms", "50"];
    let server = Server::start(site, &args);
    let drop = PathBuf::from(&dir);
    let feed = |addr, path: &str| {
        let r = block_on(get(addr, path, &[])).unwrap();
        String::from_utf8_lossy(&r.body).into_owned()
    };

    // Written slowly, in three parts: read only once it stands still.
    let page = std::fs::read(another_day()).unwrap();
    let target = drop.join("page-2023-03-05.txt");
    let t = std::time::Instant::now();
    {
        use std::io::Write;
        let mut f = std::fs::File::create(&target).unwrap();
        for part in page.chunks(page.len() / 3 + 1) {
            f.write_all(part).unwrap();
            f.flush().unwrap();
            std::thread::sleep(std::time::Duration::from_millis(120));
        }
    }
    let addr = server.addr;
    within("the dropped page's brief is served", || {
        feed(addr, "/zonggai/rss.xml").contains("山西转型综合改革示范区新签约项目12个")
    });
    let served = t.elapsed();
    eprintln!("dropped page served {served:?} after its first byte");
    assert!(drop.join("done/page-2023-03-05.txt").exists());
    assert!(!target.exists());
    assert!(feed(addr, "/xiaodian/rss.xml").contains("小店区开展“学雷锋”志愿服务活动"));
    let log = server.wait_for_log("imported (read as UTF-8, dated 2023-03-05 from the file name)");
    assert!(log.contains("articles=10"), "{log}");

    // A broken page: failed/, with an .err naming the line.
    std::fs::write(drop.join(".broken.tmp"), "本报讯（记者 某某）正文。\n").unwrap();
    std::fs::rename(drop.join(".broken.tmp"), drop.join("broken.txt")).unwrap();
    within("the broken page moves to failed/", || {
        drop.join("failed/broken.txt.err").exists()
    });
    let err = std::fs::read_to_string(drop.join("failed/broken.txt.err")).unwrap();
    assert!(err.starts_with("line 1: no headline"), "{err}");
    assert!(drop.join("failed/broken.txt").exists());

    // Down, a page dropped, up again: imported then; the first page is
    // not imported again (its articles keep their files untouched).
    let site = server.stop();
    let kept = std::fs::metadata(site.content().join("zonggai/2023-03-05.md"))
        .unwrap()
        .modified()
        .unwrap();
    let seed = std::fs::read_to_string(seed())
        .unwrap()
        .replace("1月9日，晋源区", "1月8日，晋源区");
    std::fs::write(drop.join("2023-01-15-corrected.txt"), seed).unwrap();
    let server = Server::start(site, &args);
    let addr = server.addr;
    within("the page dropped while down is imported", || {
        drop.join("done/2023-01-15-corrected.txt").exists()
    });
    within("its brief is served", || {
        feed(addr, "/jinyuan/rss.xml").contains("2023-01-08")
    });
    assert!(server.site.content().join("jinyuan/2023-01-08.md").exists());
    let again = std::fs::metadata(server.site.content().join("zonggai/2023-03-05.md"))
        .unwrap()
        .modified()
        .unwrap();
    assert_eq!(kept, again, "a page in done/ is never imported again");
    let done = std::fs::read_dir(drop.join("done")).unwrap().count();
    assert_eq!(done, 2, "every page kept");
}

/// The drop folder files pages by the config the site is served with:
/// a district added to crier.toml is one pages are filed under once the
/// site has it, and a broken crier.toml leaves the last good config to
/// file by (the site is still served from it too).
#[test]
fn the_drop_folder_files_by_the_config_the_site_is_served_with() {
    use common::http::{Server, block_on, get};
    let site = empty();
    std::fs::create_dir(site.content()).unwrap();
    let drop = drop_folder(&site);
    let server = Server::start(site, &["--import-dir", &drop, "--debounce-ms", "50"]);
    let drop = PathBuf::from(drop);
    let addr = server.addr;
    let status = |path: &str| block_on(get(addr, path, &[])).unwrap().status;
    assert_eq!(status("/taigu/rss.xml"), 404);
    let toml = server.site.read("crier.toml")
        + "\n[districts.taigu]\nname = \"太谷区\"\ndescription = \"太谷区新闻\"\n";
    server.site.write("crier.toml", &toml);
    within("the new district is served", || {
        status("/taigu/rss.xml") == 200
    });
    let page = seed_text().replace("\n古交市\n", "\n太谷区\n");
    std::fs::write(drop.join("2023-01-15.txt"), &page).unwrap();
    within("the page is imported", || {
        drop.join("done/2023-01-15.txt").exists()
    });
    let filed = server.site.content().join("taigu");
    assert!(
        std::fs::read_dir(&filed).is_ok_and(|mut d| d.next().is_some()),
        "the 太谷区 brief is filed under taigu/"
    );

    // Broken: the drop folder keeps filing by the last good config.
    server
        .site
        .write("crier.toml", &(toml.clone() + "[[[broken\n"));
    server.wait_for_log("the site built from the previous config is still served");
    std::fs::remove_dir_all(&filed).unwrap();
    std::fs::write(drop.join("2023-01-16.txt"), &page).unwrap();
    within("the page is imported while crier.toml is broken", || {
        drop.join("done/2023-01-16.txt").exists()
    });
    assert!(
        std::fs::read_dir(&filed).is_ok_and(|mut d| d.next().is_some()),
        "filed under taigu/ by the last good config"
    );
}
