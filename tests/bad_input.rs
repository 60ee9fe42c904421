//! Each kind of bad article gives one clear message naming the file (and
//! line) while every good article is still built; bad config exits 2.

mod common;

use common::{SAMPLE_ARTICLES, Site, count};

/// Adds `file` with `bytes` to a copy of the sample and runs check and
/// build. Asserts exit 1, exactly one error, naming `file` and `line`, with
/// `hint` in it, and that the 13 good articles are all published.
fn assert_one_error(file: &str, bytes: &[u8], line: Option<usize>, hint: &str) {
    let site = Site::sample();
    site.write(file, bytes);
    for cmd in ["check", "build"] {
        let run = site.run(&[cmd]);
        assert_eq!(run.code(), 1, "{cmd} {file}: {}", run.stderr());
        let errors = run.errors();
        assert_eq!(
            errors.len(),
            1,
            "{cmd} {file}: want one error, got {errors:?}"
        );
        let want = match line {
            Some(l) => format!("{file}:{l}: error: "),
            None => format!("{file}: error: "),
        };
        assert!(
            errors[0].starts_with(&want),
            "{cmd}: `{}` should start with `{want}`",
            errors[0]
        );
        assert!(
            errors[0].contains(hint),
            "{cmd}: `{}` should say `{hint}`",
            errors[0]
        );
    }
    let rss = site.read("feeds/rss.xml");
    assert_eq!(
        count(&rss, "<item>"),
        SAMPLE_ARTICLES,
        "good articles must still be built"
    );
}

#[test]
fn missing_front_matter() {
    assert_one_error(
        "content/xiaodian/plain.md",
        "只有正文。\n".as_bytes(),
        Some(1),
        "must start with a `+++` line",
    );
}

#[test]
fn malformed_toml_front_matter() {
    let text = "+++\ntitle = \"标题\"\ndate = 2023-01-10\nauthor = 司勇\n+++\n正文\n";
    assert_one_error(
        "content/xiaodian/bad-toml.md",
        text.as_bytes(),
        Some(4),
        "TOML front matter",
    );
}

#[test]
fn malformed_yaml_front_matter() {
    let text = "---\ntitle: 标题\ndate: 2023-01-10\ntags: [unclosed\n---\n正文\n";
    let site = Site::sample();
    site.write("content/gujiao/bad-yaml.md", text);
    let run = site.run(&["check"]);
    assert_eq!(run.code(), 1);
    let errors = run.errors();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].starts_with("content/gujiao/bad-yaml.md:"),
        "{}",
        errors[0]
    );
    assert!(errors[0].contains("YAML front matter"), "{}", errors[0]);
}

#[test]
fn unclosed_front_matter() {
    let text = "+++\ntitle = \"标题\"\ndate = 2023-01-10\n正文\n";
    assert_one_error(
        "content/xiaodian/open.md",
        text.as_bytes(),
        Some(1),
        "add a `+++` line",
    );
}

#[test]
fn missing_title() {
    let text = "+++\ndate = 2023-01-10\n+++\n正文\n";
    assert_one_error(
        "content/yingze/untitled.md",
        text.as_bytes(),
        Some(1),
        "missing `title`",
    );
}

#[test]
fn missing_date() {
    let text = "---\ntitle: 没有日期\n---\n正文\n";
    assert_one_error(
        "content/yingze/undated.md",
        text.as_bytes(),
        Some(1),
        "missing `date`",
    );
}

#[test]
fn unparsable_date() {
    let text = "+++\ntitle = \"日期错误\"\ndate = \"2023-13-45\"\n+++\n正文\n";
    assert_one_error(
        "content/qingxu/baddate.md",
        text.as_bytes(),
        Some(3),
        "unreadable date `2023-13-45`",
    );
}

#[test]
fn unknown_district_folder() {
    let text = "+++\ntitle = \"无名区\"\ndate = 2023-01-10\n+++\n正文\n";
    let site = Site::sample();
    site.write("content/nowhere/a.md", text);
    let run = site.run(&["build"]);
    assert_eq!(run.code(), 1);
    let errors = run.errors();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].starts_with("content/nowhere: error: "),
        "{}",
        errors[0]
    );
    assert!(
        errors[0].contains("add [districts.nowhere] to crier.toml"),
        "{}",
        errors[0]
    );
    assert_eq!(
        count(&site.read("feeds/rss.xml"), "<item>"),
        SAMPLE_ARTICLES
    );
}

#[test]
fn duplicate_id() {
    let text = "+++\ntitle = \"重复\"\ndate = 2023-01-11\nid = \"tag:taiyuan.example.cn,2023-01-10:xiaodian/2023-01-10\"\n+++\n正文\n";
    assert_one_error(
        "content/xiaodian/zz-copy.md",
        text.as_bytes(),
        None,
        "is already used by content/xiaodian/2023-01-10.md",
    );
}

#[test]
fn not_utf8() {
    // "标题" in GBK on the third line.
    let mut bytes = b"+++\ntitle = \"ok\"\ndate = 2023-01-10 # ".to_vec();
    bytes.extend([0xB1, 0xEA, 0xCC, 0xE2]);
    bytes.extend(b"\n+++\n");
    assert_one_error(
        "content/loufan/gbk.md",
        &bytes,
        Some(3),
        "save the file as UTF-8",
    );
}

#[test]
fn empty_file() {
    assert_one_error("content/loufan/empty.md", b"", None, "file is empty");
    assert_one_error("content/loufan/blank.md", b" \n\n", None, "file is empty");
}

#[test]
fn file_over_the_size_limit() {
    let mut text = "+++\ntitle = \"太长\"\ndate = 2023-01-10\n+++\n".to_string();
    text.push_str(&"长".repeat(400_000));
    assert_one_error(
        "content/jinyuan/huge.md",
        text.as_bytes(),
        None,
        "over the 1048576-byte limit",
    );
}

#[test]
fn index_slug_would_overwrite_the_district_page() {
    let text = "+++\ntitle = \"索引\"\ndate = 2023-01-10\n+++\n正文\n";
    assert_one_error(
        "content/jinyuan/index.md",
        text.as_bytes(),
        None,
        "would overwrite the index page",
    );
}

#[test]
fn warnings_do_not_fail_and_odd_but_valid_files_build() {
    let site = Site::sample();
    site.write(
        "content/xiaodian/extra.md",
        "+++\ntitle = \"额外字段\"\ndate = 2023-01-11\nmood = \"好\"\n+++\n正文\n",
    );
    site.write(
        "content/xiaodian/crlf.md",
        "\u{feff}+++\r\ntitle = \"换行\"\r\ndate = 2023-01-11\r\n+++\r\n正文\r\n",
    );
    site.write(
        "content/xiaodian/draft.md",
        "+++\ntitle = \"草稿\"\ndate = 2023-01-11\ndraft = true\n+++\n正文\n",
    );
    site.write("content/xiaodian/.hidden.md", "garbage");
    site.write("content/xiaodian/notes.txt", "garbage");
    site.write("content/xiaodian/4913", "garbage");
    site.write("content/xiaodian/a.md~", "garbage");
    site.write(
        "content/xiaodian/劳模表彰.md",
        "+++\ntitle = \"中文文件名\"\ndate = 2023-01-11\n+++\n正文\n",
    );
    let run = site.run(&["build"]);
    assert_eq!(run.code(), 0, "{}", run.stderr());
    assert!(
        run.stderr()
            .contains("content/xiaodian/extra.md:4: warning: unknown field `mood`"),
        "{}",
        run.stderr()
    );
    assert!(
        run.stdout()
            .contains("16 articles, 1 drafts skipped, 0 scheduled, 0 errors, 1 warnings"),
        "{}",
        run.stdout()
    );
    let rss = site.read("feeds/xiaodian/rss.xml");
    assert!(rss.contains("<title>换行</title>"));
    assert!(!rss.contains("草稿"));
    // Chinese file names: percent-encoded in URLs and ids, plain on disk.
    assert!(rss.contains(
        "tag:taiyuan.example.cn,2023-01-11:xiaodian/%E5%8A%B3%E6%A8%A1%E8%A1%A8%E5%BD%B0"
    ));
    assert!(
        rss.contains("http://127.0.0.1:8080/xiaodian/%E5%8A%B3%E6%A8%A1%E8%A1%A8%E5%BD%B0.html")
    );
    assert!(site.feeds().join("xiaodian/劳模表彰.html").exists());
}

#[test]
fn arbitrary_bytes_never_crash() {
    let site = Site::sample();
    let nasty: [&[u8]; 8] = [
        b"\0\0\0",
        b"+++",
        b"+++\n+++\n",
        b"---\n---\n",
        b"---\n- a\n- b\n---\n",
        b"+++\ntitle = \"a\x01\x02b\"\ndate = 2023-01-10\n+++\n\x07",
        b"\xff\xfe+\x00+\x00+\x00",
        b"---\ntitle: &a [*a]\n---\n",
    ];
    for (i, bytes) in nasty.iter().enumerate() {
        site.write(&format!("content/gujiao/n{i}.md"), bytes);
    }
    let run = site.run(&["build"]);
    assert!(matches!(run.code(), 0 | 1), "crashed: {}", run.stderr());
    assert!(!run.stderr().contains("panicked"), "{}", run.stderr());
    assert_eq!(
        count(&site.read("feeds/rss.xml"), "<item>"),
        SAMPLE_ARTICLES + 1,
        "the control-character title builds"
    );
}

#[test]
fn bad_config_exits_2_naming_the_key() {
    let cases = [
        (
            "timezone = \"Asia/Shanghai\"",
            "timezone = \"Mars/Olympus\"",
            "timezone",
        ),
        ("language = \"zh-CN\"", "language = \"zh_CN\"", "language"),
        ("feed_limit = 50", "feed_limit = \"many\"", "feed_limit"),
        ("max_age = 300", "max_age = 300\ncolour = \"red\"", "colour"),
        ("max_age = 300", "max_age = 300\ntitle = \"again\"", "title"),
        ("name = \"小店区\"", "nome = \"小店区\"", "nome"),
    ];
    for (from, to, key) in cases {
        let site = Site::sample();
        let config = site.read("crier.toml");
        assert!(config.contains(from), "{from}");
        site.write("crier.toml", config.replacen(from, to, 1));
        for cmd in ["check", "build"] {
            let run = site.run(&[cmd]);
            assert_eq!(run.code(), 2, "{key}: {}", run.stderr());
            assert!(run.stderr().contains(key), "{key}: {}", run.stderr());
            assert!(!site.feeds().exists(), "nothing written on a bad config");
        }
    }
    let site = Site::sample();
    let run = site.run(&["check", "--config", "missing.toml"]);
    assert_eq!(run.code(), 2);
    assert!(run.stderr().contains("missing.toml"), "{}", run.stderr());
    let run = site.run(&["build", "--base-url", "not a url"]);
    assert_eq!(run.code(), 2);
    assert!(run.stderr().contains("base_url"), "{}", run.stderr());
    let run = site.run(&["build", "--feed-limit", "lots"]);
    assert_eq!(run.code(), 2, "usage errors exit 2");
    let run = site.run(&["check", "--content", "nope"]);
    assert_eq!(run.code(), 2, "{}", run.stderr());
    assert!(run.stderr().contains("nope"), "{}", run.stderr());
}

#[test]
fn sub_folder_of_a_district_is_reported() {
    let site = Site::sample();
    site.write(
        "content/xiaodian/2022/old.md",
        "+++\ntitle = \"旧\"\ndate = 2022-01-10\n+++\n",
    );
    let run = site.run(&["check"]);
    assert_eq!(run.code(), 1);
    let errors = run.errors();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].starts_with("content/xiaodian/2022: error: sub-folders"),
        "{}",
        errors[0]
    );
}

#[test]
fn file_name_that_is_not_utf8_is_reported() {
    use std::os::unix::ffi::OsStrExt;
    let site = Site::sample();
    let name = std::ffi::OsStr::from_bytes(b"\xb1\xea\xcc\xe2.md");
    std::fs::write(
        site.content().join("xiaodian").join(name),
        "+++\ntitle = \"t\"\ndate = 2023-01-10\n+++\n",
    )
    .unwrap();
    let run = site.run(&["build"]);
    assert_eq!(run.code(), 1);
    let errors = run.errors();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].contains("file name is not UTF-8: rename it"),
        "{}",
        errors[0]
    );
    assert_eq!(
        count(&site.read("feeds/rss.xml"), "<item>"),
        SAMPLE_ARTICLES
    );
}
