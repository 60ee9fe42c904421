//! Photos, audio and video beside the articles: published at their own
//! path as they are, by `crier build` and `crier serve`, with ranges,
//! conditional requests and `HEAD`; kept current by live updates; a file
//! too large is a warning, not a failure.

mod common;

use common::Site;
use common::http::{Server, block_on, get, request};

/// Bytes that differ all along (so a wrong offset shows).
fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 + i / 251) as u8).collect()
}

#[test]
fn a_build_copies_media_as_they_are_and_removes_them_when_gone() {
    let site = Site::sample();
    let photo = pattern(3000);
    site.write("content/xiaodian/photo.png", &photo);
    site.write("content/clip.mp3", pattern(10));
    site.write("content/xiaodian/notes.pdf", "not media");
    site.write("content/xiaodian/big.jpg", pattern(5000));
    site.write(
        "crier.toml",
        format!("media_max_bytes = 4000\n{}", site.read("crier.toml")),
    );
    let run = site.run(&["build"]);
    assert_eq!(run.code(), 0, "{}", run.stderr());
    assert!(
        run.stderr().contains(
            "content/xiaodian/big.jpg: warning: is 5000 bytes, over media_max_bytes (4000): not published"
        ),
        "{}",
        run.stderr()
    );
    let feeds = site.feeds();
    assert_eq!(
        std::fs::read(feeds.join("xiaodian/photo.png")).unwrap(),
        photo
    );
    assert_eq!(std::fs::read(feeds.join("clip.mp3")).unwrap(), pattern(10));
    assert!(
        !feeds.join("xiaodian/photo.png.gz").exists(),
        "no compressed forms"
    );
    assert!(
        !feeds.join("xiaodian/notes.pdf").exists(),
        "not a media type"
    );
    assert!(!feeds.join("xiaodian/big.jpg").exists(), "over the limit");
    let modified = |p: &std::path::Path| std::fs::metadata(p).unwrap().modified().unwrap();
    assert_eq!(
        modified(&feeds.join("xiaodian/photo.png")),
        modified(&site.content().join("xiaodian/photo.png")),
        "the copy keeps the file's time"
    );

    std::fs::remove_file(site.content().join("xiaodian/photo.png")).unwrap();
    let run = site.run(&["build"]);
    assert_eq!(run.code(), 0, "{}", run.stderr());
    assert!(
        !feeds.join("xiaodian/photo.png").exists(),
        "removed with its file"
    );
    assert!(feeds.join("clip.mp3").exists());
}

#[test]
fn media_are_served_with_ranges_conditions_and_head() {
    let site = Site::sample();
    let photo = pattern(5_000_000);
    site.write("content/xiaodian/photo.jpg", &photo);
    let server = Server::start(site, &[]);
    let addr = server.addr;
    let path = "/xiaodian/photo.jpg";

    let whole = block_on(get(addr, path, &[])).unwrap();
    assert_eq!(whole.status, 200);
    assert_eq!(whole.header("content-type"), Some("image/jpeg"));
    assert_eq!(whole.header("accept-ranges"), Some("bytes"));
    assert_eq!(whole.header("content-length"), Some("5000000"));
    assert_eq!(&whole.body[..], &photo[..]);
    let etag = whole.header("etag").unwrap().to_string();
    assert!(etag.starts_with('"'), "a strong ETag: {etag}");

    let head = block_on(request(addr, "HEAD", path, &[])).unwrap();
    assert_eq!(head.status, 200);
    assert_eq!(head.header("content-length"), Some("5000000"));
    assert!(head.body.is_empty());

    let part = block_on(get(addr, path, &[("range", "bytes=1000000-1000099")])).unwrap();
    assert_eq!(part.status, 206);
    assert_eq!(
        part.header("content-range"),
        Some("bytes 1000000-1000099/5000000")
    );
    assert_eq!(&part.body[..], &photo[1_000_000..1_000_100]);
    let tail = block_on(get(addr, path, &[("range", "bytes=-10")])).unwrap();
    assert_eq!(tail.status, 206);
    assert_eq!(&tail.body[..], &photo[4_999_990..]);

    let past = block_on(get(addr, path, &[("range", "bytes=6000000-")])).unwrap();
    assert_eq!(past.status, 416);
    assert_eq!(past.header("content-range"), Some("bytes */5000000"));
    let several = block_on(get(addr, path, &[("range", "bytes=0-1,10-11")])).unwrap();
    assert_eq!(
        (several.status.as_u16(), several.body.len()),
        (200, 5_000_000)
    );

    let same = block_on(get(addr, path, &[("if-none-match", &etag)])).unwrap();
    assert_eq!(same.status, 304);
    assert!(same.body.is_empty());
    let stale = [("range", "bytes=0-9"), ("if-range", "\"another\"")];
    let stale = block_on(get(addr, path, &stale)).unwrap();
    assert_eq!(
        stale.status, 200,
        "a range of another version is the whole file"
    );
    let fresh = block_on(get(
        addr,
        path,
        &[("range", "bytes=0-9"), ("if-range", &etag)],
    ))
    .unwrap();
    assert_eq!(
        (fresh.status.as_u16(), &fresh.body[..]),
        (206, &photo[..10])
    );
}

#[test]
fn live_updates_publish_change_and_remove_media() {
    let site = Site::sample();
    let server = Server::start(site, &["--debounce-ms", "50"]);
    let addr = server.addr;
    let status = || block_on(get(addr, "/gujiao/new.png", &[])).unwrap();
    let within = |what: &str, check: &dyn Fn() -> bool| {
        let t = std::time::Instant::now();
        while !check() {
            assert!(t.elapsed().as_secs() < 10, "{what}");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    };
    assert_eq!(status().status, 404);
    server.site.write("content/gujiao/new.png", pattern(100));
    within("the new photo is served", &|| status().status == 200);
    let first = status();
    assert_eq!(&first.body[..], &pattern(100)[..]);
    let out = server.site.feeds().join("gujiao/new.png");
    within("and written to feeds/", &|| out.exists());

    std::thread::sleep(std::time::Duration::from_millis(20));
    server.site.write("content/gujiao/new.png", pattern(200));
    within("the changed photo is served", &|| {
        status().body.len() == 200
    });
    assert_ne!(status().header("etag"), first.header("etag"), "a new ETag");

    std::fs::remove_file(server.site.content().join("gujiao/new.png")).unwrap();
    within("the removed photo is gone", &|| status().status == 404);
    within("and gone from feeds/", &|| !out.exists());
}
