//! Only `content/` is published, whatever links say: a file or folder
//! that a link takes outside the content folder is refused with a
//! warning, by a build and by a live update alike; a link to a file
//! inside the folder works.

mod common;

use common::Site;
use common::http::{Server, block_on, get};
use std::os::unix::fs::symlink;
use std::path::Path;

const SECRET: &str = "机密内容不得发布";

/// An article holding [`SECRET`], outside any content folder.
fn secret_article(dir: &Path, name: &str) -> std::path::PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let file = dir.join(name);
    std::fs::write(
        &file,
        format!(
            "+++\ntitle = \"泄露的稿件\"\ndate = 2023-01-12T09:00:00+08:00\n+++\n\n{SECRET}。\n"
        ),
    )
    .unwrap();
    file
}

/// Every byte of every file under `dir`, as text.
fn all_text(dir: &Path) -> String {
    common::contents(dir)
        .values()
        .map(|b| String::from_utf8_lossy(b).into_owned())
        .collect()
}

#[test]
fn a_build_publishes_nothing_a_link_takes_out_of_content() {
    let site = Site::sample();
    let elsewhere = site.path().join("elsewhere");
    let leak = secret_article(&elsewhere, "leak.md");
    symlink(&leak, site.content().join("xiaodian/leak.md")).unwrap();
    // A district folder that is a link out: nothing in it is published.
    let outside_dir = elsewhere.join("loufan");
    secret_article(&outside_dir, "2023-01-12.md");
    std::fs::remove_dir_all(site.content().join("loufan")).unwrap();
    symlink(&outside_dir, site.content().join("loufan")).unwrap();
    // A link to a file inside the folder works.
    std::fs::create_dir(site.content().join(".shared")).unwrap();
    std::fs::write(
        site.content().join(".shared/inside.md"),
        "+++\ntitle = \"链接进来的稿件\"\ndate = 2023-01-13T09:00:00+08:00\n+++\n\n正文。\n",
    )
    .unwrap();
    symlink(
        "../.shared/inside.md",
        site.content().join("xiaodian/inside.md"),
    )
    .unwrap();

    let run = site.run(&["build"]);
    assert_eq!(
        run.code(),
        0,
        "warnings keep the exit code: {}",
        run.stderr()
    );
    let err = run.stderr();
    assert!(
        err.contains("xiaodian/leak.md: warning: links to")
            && err.contains("outside the content folder: it is not published"),
        "{err}"
    );
    assert!(
        err.contains("loufan: warning: links to")
            && err.contains("outside the content folder: nothing in it is published"),
        "{err}"
    );
    let feeds = all_text(&site.feeds());
    assert!(!feeds.contains(SECRET), "the secret is published");
    assert!(!site.feeds().join("xiaodian/leak.html").exists());
    assert!(
        feeds.contains("链接进来的稿件"),
        "the inside link is published"
    );

    let check = site.run(&["check"]);
    assert!(
        check
            .stderr()
            .contains("xiaodian/leak.md: warning: links to"),
        "{}",
        check.stderr()
    );
}

#[test]
fn a_live_update_refuses_a_link_out_of_content() {
    let site = Site::sample();
    let leak = secret_article(&site.path().join("elsewhere"), "leak.md");
    let server = Server::start(site, &["--debounce-ms", "50"]);
    let addr = server.addr;
    let feed = || {
        let r = block_on(get(addr, "/xiaodian/rss.xml", &[])).unwrap();
        String::from_utf8_lossy(&r.body).into_owned()
    };
    let content = server.site.content();
    symlink(&leak, content.join("xiaodian/leak.md")).unwrap();
    std::fs::write(
        content.join("xiaodian/2023-01-13.md"),
        "+++\ntitle = \"同时写入的稿件\"\ndate = 2023-01-13T09:00:00+08:00\n+++\n\n正文。\n",
    )
    .unwrap();
    let t = std::time::Instant::now();
    while !feed().contains("同时写入的稿件") {
        assert!(t.elapsed().as_secs() < 10, "the live update never came");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let log = server.wait_for_log("outside the content folder: it is not published");
    assert!(log.contains("leak.md"), "{log}");
    assert!(!feed().contains(SECRET));
    let page = block_on(get(addr, "/xiaodian/leak.html", &[])).unwrap();
    assert_eq!(page.status, 404);
}
