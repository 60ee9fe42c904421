//! Accessibility: axe-core, run in Debian's Chromium by puppeteer-core
//! (tests/a11y/axe.mjs), finds no violation of the WCAG 2.1 A/AA rules
//! or of its best practices on any kind of page the server sends: the
//! index, a district, a topic, the topics list, archive pages and article
//! pages, from a site whose names and titles look like markup and whose
//! bodies skip heading levels. The real binary over real sockets.

mod common;

use common::Site;
use common::http::{Server, free_port};

#[test]
fn every_kind_of_page_passes_axe_in_a_real_browser() {
    common::need_command("chromium");
    // Every tool first: a missing one ends the test binary at once, and a
    // server started before it would be left running.
    let mut axe = common::node();
    let site = Site::hostile();
    site.write(
        "content/xiaodian/headings.md",
        "+++\ntitle = \"小标题\"\ndate = 2023-01-16\n+++\n\n# 一级\n\n正文。\n\n#### 四级\n\n正文。\n",
    );
    let addr = format!("127.0.0.1:{}", free_port());
    let base = format!("http://{addr}/");
    let server = Server::start(site, &["--addr", &addr, "--base-url", &base]);
    let pages = [
        "",
        "xiaodian/",
        "topics/",
        "topics/%E6%B0%91%E7%94%9F/",
        "archive/page-1.html",
        "xiaodian/archive/page-2.html",
        "xiaodian/hostile-0.html",
        "xiaodian/hostile-2.html",
        "xiaodian/headings.html",
        "2023-01-14.html",
    ];
    let urls: Vec<String> = pages.iter().map(|p| format!("{base}{p}")).collect();
    let out = axe.arg("axe.mjs").args(&urls).output().expect("node runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("\n0 violations"), "{stdout}");
    assert_eq!(
        stdout.matches("rules pass, 0 violated").count(),
        urls.len(),
        "{stdout}"
    );
    server.stop();
}
