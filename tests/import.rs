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
    let gbk: Vec<u8> = {
        let mut b = "标题\n\n".as_bytes().to_vec();
        b.extend([0xB1, 0xEA, 0xCC, 0xE2]);
        b
    };
    let no_headline = "本报讯（记者 某某）1月14日，正文。\n\n第二段。\n".to_string();
    let bad_date = seed.replace("1月12日，迎泽区", "13月45日，迎泽区");
    let lead_without_date = "标题\n\n副题\n\n本报讯（记者 某某）正文没有日期。\n".to_string();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("empty", b"\n\n  \n".to_vec(), "the page is empty"),
        ("not utf-8", gbk, ":3: error: not UTF-8"),
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
