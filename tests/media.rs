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

/// The first bytes of a PNG of `width` x `height`: what an image header
/// reader looks at.
fn png(width: u32, height: u32) -> Vec<u8> {
    let mut b = b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR".to_vec();
    b.extend(width.to_be_bytes());
    b.extend(height.to_be_bytes());
    b.extend([8, 2, 0, 0, 0, 0, 0, 0, 0]);
    b.extend(pattern(400));
    b
}

const PHOTO_ARTICLE: &str = "+++\ntitle = \"配图的稿件\"\ndate = 2023-01-12T09:00:00+08:00\nimage = \"photo.png\"\nimage_caption = \"表彰大会 <现场> & 合影\"\nimage_credit = \"记者 王五\"\nimage_alt = \"领奖台上的劳模\"\n+++\n\n正文。\n";

/// What feedparser reads of the first item of each feed file given:
/// the enclosure and Media RSS content, as a line of JSON each.
fn feedparser_reads(files: &[std::path::PathBuf]) -> String {
    let script = "import feedparser, json, sys\n\
        for f in sys.argv[1:]:\n\
        \x20   e = feedparser.parse(open(f, 'rb').read()).entries[0]\n\
        \x20   print(json.dumps({'enclosures': e.get('enclosures'), 'media': e.get('media_content'), 'credit': e.get('media_credit')}, ensure_ascii=False, sort_keys=True))\n";
    common::stdout_of(
        common::python(&["feedparser"])
            .arg("-c")
            .arg(script)
            .args(files),
    )
}

#[test]
fn feeds_pages_and_sitemaps_carry_the_image_with_its_length_and_size() {
    let site = Site::sample();
    site.write("content/xiaodian/photo.png", png(640, 480));
    site.write("content/xiaodian/2023-01-12.md", PHOTO_ARTICLE);
    site.write(
        "content/gujiao/2023-01-12.md",
        "+++\ntitle = \"缺图\"\ndate = 2023-01-12\nimage = \"missing.jpg\"\n+++\n\n正文。\n",
    );
    let run = site.run(&["build"]);
    assert_eq!(run.code(), 0, "{}", run.stderr());
    assert!(
        run.stderr()
            .contains("content/gujiao/2023-01-12.md: warning: `image` names")
            && run
                .stderr()
                .contains("gujiao/missing.jpg, which is no photo, audio or video file"),
        "{}",
        run.stderr()
    );
    let feeds = site.feeds();
    let url = "http://127.0.0.1:8080/xiaodian/photo.png";
    let length = png(640, 480).len();
    let read = feedparser_reads(&[
        feeds.join("xiaodian/rss.xml"),
        feeds.join("xiaodian/atom.xml"),
    ]);
    let lines: Vec<&str> = read.lines().collect();
    assert!(
        lines[0].contains(&format!("\"enclosures\": [{{\"href\": \"{url}\", \"length\": \"{length}\", \"type\": \"image/png\"}}]")),
        "{read}"
    );
    assert!(
        lines[0].contains(&format!("\"media\": [{{\"filesize\": \"{length}\", \"height\": \"480\", \"medium\": \"image\", \"type\": \"image/png\", \"url\": \"{url}\", \"width\": \"640\"}}]")),
        "{read}"
    );
    assert!(lines[0].contains("记者 王五"), "{read}");
    assert!(
        lines[1].contains(&format!("\"length\": \"{length}\"")),
        "the Atom enclosure: {read}"
    );
    let rss = site.read("feeds/xiaodian/rss.xml");
    assert!(
        rss.contains(
            "<media:description type=\"plain\">表彰大会 &lt;现场&gt; &amp; 合影</media:description>"
        ),
        "{rss}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&site.read("feeds/xiaodian/feed.json")).unwrap();
    assert_eq!(
        json["items"][0]["attachments"][0],
        serde_json::json!({"url": url, "mime_type": "image/png", "size_in_bytes": length})
    );

    let page = site.read("feeds/xiaodian/2023-01-12.html");
    assert!(
        page.contains(&format!(
            "<img src=\"{url}\" alt=\"领奖台上的劳模\" width=\"640\" height=\"480\""
        )),
        "{page}"
    );
    assert!(page.contains("<figcaption>表彰大会 &lt;现场&gt; &amp; 合影 · 记者 王五</figcaption>"));
    assert!(page.contains("<meta property=\"og:image:width\" content=\"640\">"));
    assert!(page.contains("<meta property=\"og:image:alt\" content=\"领奖台上的劳模\">"));
    assert!(
        page.contains(&format!(
            "\"image\":[{{\"@type\":\"ImageObject\",\"url\":\"{url}\",\"width\":640,\"height\":480"
        )),
        "{page}"
    );
    let sitemap = site.read("feeds/sitemaps/2023-01.xml");
    assert!(sitemap.contains(&format!(
        "<image:image><image:loc>{url}</image:loc></image:image>"
    )));
    assert!(sitemap.contains("xmlns:image=\"http://www.google.com/schemas/sitemap-image/1.1\""));
}

#[test]
fn a_changed_photo_changes_what_the_feeds_say_of_it() {
    let site = Site::sample();
    site.write("content/xiaodian/photo.png", png(640, 480));
    site.write("content/xiaodian/2023-01-12.md", PHOTO_ARTICLE);
    let server = Server::start(site, &["--debounce-ms", "50"]);
    let addr = server.addr;
    let get_text = |path: &str| {
        String::from_utf8_lossy(&block_on(get(addr, path, &[])).unwrap().body).into_owned()
    };
    assert!(get_text("/xiaodian/rss.xml").contains("width=\"640\""));
    let mut bigger = png(1280, 960);
    bigger.extend(pattern(100));
    server.site.write("content/xiaodian/photo.png", &bigger);
    let t = std::time::Instant::now();
    while !get_text("/xiaodian/rss.xml").contains("width=\"1280\"") {
        assert!(
            t.elapsed().as_secs() < 10,
            "the feed never showed the new size"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let length = format!("length=\"{}\"", bigger.len());
    assert!(get_text("/xiaodian/rss.xml").contains(&length));
    let page = get_text("/xiaodian/2023-01-12.html");
    assert!(page.contains("width=\"1280\" height=\"960\""), "{page}");
}

/// A restart over the sealed output folder serves the copy in `feeds/`
/// at once, with the ETag the original had: a reader's conditional
/// request still gets 304.
#[test]
fn a_restart_serves_the_copy_with_the_same_etag() {
    let site = Site::sample();
    site.write("content/xiaodian/photo.jpg", pattern(50_000));
    let server = Server::start(site, &[]);
    server.wait_complete();
    let first = block_on(get(server.addr, "/xiaodian/photo.jpg", &[])).unwrap();
    let etag = first.header("etag").unwrap().to_string();
    let site = server.stop();
    let server = Server::start(site, &[]);
    let again = block_on(get(
        server.addr,
        "/xiaodian/photo.jpg",
        &[("if-none-match", &etag)],
    ));
    assert_eq!(again.unwrap().status, 304);
    let whole = block_on(get(server.addr, "/xiaodian/photo.jpg", &[])).unwrap();
    assert_eq!(whole.header("etag"), Some(etag.as_str()));
    assert_eq!(&whole.body[..], &pattern(50_000)[..]);
}
