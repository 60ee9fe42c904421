//! The site's own files: `static/` beside crier.toml published at `/`
//! with their types, ETags and compressed forms; `robots.txt` and
//! `favicon.ico` replace crier's; a file at a path crier makes is an
//! error naming both; a link out of `static/` publishes nothing.

mod common;

use common::Site;
use common::http::{Server, block_on, get};

#[test]
fn a_build_publishes_static_files_and_refuses_clashes() {
    let site = Site::sample();
    let css = "body { color: #333 }\n".repeat(40);
    site.write("static/css/site.css", &css);
    site.write("static/robots.txt", "User-agent: *\nDisallow: /drafts/\n");
    let run = site.run(&["build"]);
    assert_eq!(run.code(), 0, "{}", run.stderr());
    assert_eq!(site.read("feeds/css/site.css"), css);
    assert!(site.feeds().join("css/site.css.gz").exists());
    assert!(site.feeds().join("css/site.css.br").exists());
    assert_eq!(
        site.read("feeds/robots.txt"),
        "User-agent: *\nDisallow: /drafts/\n"
    );
    let icon = std::fs::read(site.feeds().join("favicon.ico")).unwrap();
    assert_eq!(
        &icon[..4],
        b"\0\0\x01\0",
        "the built-in icon is an ICO file"
    );

    site.write("static/favicon.ico", "our own icon");
    site.write("static/xiaodian/rss.xml", "<rss/>");
    std::os::unix::fs::symlink("/etc/hostname", site.path().join("static/host.txt")).unwrap();
    let run = site.run(&["build"]);
    assert_eq!(run.code(), 1, "a clash fails the build: {}", run.stderr());
    let err = run.stderr();
    assert!(
        err.contains("static/xiaodian/rss.xml would be served at /xiaodian/rss.xml, which crier makes itself: rename or remove it"),
        "{err}"
    );
    assert!(
        err.contains("static/host.txt: warning: links to /etc/hostname"),
        "{err}"
    );
    assert!(
        site.read("feeds/xiaodian/rss.xml").starts_with("<?xml"),
        "the feed stays"
    );
    assert_eq!(site.read("feeds/favicon.ico"), "our own icon");
    assert!(!site.feeds().join("host.txt").exists());
}

#[test]
fn static_files_are_served_with_their_type_etag_and_encodings() {
    let site = Site::sample();
    site.write("static/css/site.css", "body { color: #333 }\n".repeat(40));
    site.write("static/favicon.ico", b"\0\0\x01\0 an icon");
    let server = Server::start(site, &[]);
    let addr = server.addr;
    let css = block_on(get(addr, "/css/site.css", &[("accept-encoding", "br")])).unwrap();
    assert_eq!(css.status, 200);
    assert_eq!(css.header("content-type"), Some("text/css"));
    assert_eq!(css.header("content-encoding"), Some("br"));
    let etag = css.header("etag").unwrap().to_string();
    let again = block_on(get(
        addr,
        "/css/site.css",
        &[("accept-encoding", "br"), ("if-none-match", &etag)],
    ))
    .unwrap();
    assert_eq!(again.status, 304);
    let icon = block_on(get(addr, "/favicon.ico", &[])).unwrap();
    assert_eq!(icon.status, 200);
    assert_eq!(icon.header("content-type"), Some("image/x-icon"));
}

/// A build with nothing changed does nothing, photos and static files
/// counted: one changed while crier was not looking is seen and written.
#[test]
fn a_no_change_build_sees_a_changed_photo_or_static_file() {
    const SAME: &str = "(nothing changed since the last build)";
    let site = Site::sample();
    site.write("static/site.css", "body { color: #333 }\n");
    site.write("content/xiaodian/photo.jpg", "a photo");
    // Past the racy window of the copy (see tests/build.rs).
    std::thread::sleep(std::time::Duration::from_millis(2100));
    assert_eq!(site.run(&["build"]).code(), 0);
    let again = site.run(&["build"]);
    assert!(again.stdout().contains(SAME), "{}", again.stdout());

    site.write("static/site.css", "body { color: #000 }\n");
    let run = site.run(&["build"]);
    assert!(!run.stdout().contains(SAME), "{}", run.stdout());
    assert_eq!(site.read("feeds/site.css"), "body { color: #000 }\n");

    site.write("content/xiaodian/photo.jpg", "another photo");
    let run = site.run(&["build"]);
    assert!(!run.stdout().contains(SAME), "{}", run.stdout());
    assert_eq!(site.read("feeds/xiaodian/photo.jpg"), "another photo");
}
