//! The newsroom's own look: templates in `templates/` beside crier.toml
//! replace the built-in ones (a `base.html` the others extend), are
//! autoescaped and strict; a broken one is named with its line and
//! column; the live server re-renders every page when one changes and
//! keeps the last good site when one breaks. Static files added while
//! it runs are served.

mod common;

use std::time::{Duration, Instant};

use common::Site;
use common::http::{Server, block_on, get};

/// A base.html of the newsroom's own: its banner, its colours, the
/// page's own content, and a title with markup in it escaped.
const BASE: &str = r#"<!DOCTYPE html>
<html lang="{{ site.language }}">
<head><title>{{ title }}</title>
{% block head %}{% endblock %}
{% for feed in feeds %}<link rel="alternate" type="{{ feed.type }}" href="{{ feed.url }}">
{% endfor %}
<style>body{background:#fed}</style></head>
<body><header class="masthead"><img src="/logo.png" alt="">{{ site.title }}</header>
{% block main %}{% endblock %}
<footer>本站版权所有</footer></body></html>
"#;

fn body(server: &Server, path: &str) -> String {
    let reply = block_on(get(server.addr, path, &[])).unwrap();
    assert_eq!(reply.status, 200, "{path}");
    String::from_utf8(reply.body.to_vec()).unwrap()
}

fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let until = Instant::now() + Duration::from_secs(20);
    while !done() {
        assert!(Instant::now() < until, "timed out: {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_base_template_of_the_newsrooms_own_frames_every_page_and_leaves_the_feeds() {
    let plain = Site::archived();
    assert_eq!(plain.run(&["build"]).code(), 0);
    let site = Site::archived();
    site.write("templates/base.html", BASE);
    site.write(
        "content/xiaodian/escaped.md",
        "+++\ntitle = \"<script>alert(1)</script> & 'quotes'\"\ndate = 2023-01-12\n+++\nbody\n",
    );
    plain.write(
        "content/xiaodian/escaped.md",
        "+++\ntitle = \"<script>alert(1)</script> & 'quotes'\"\ndate = 2023-01-12\n+++\nbody\n",
    );
    assert_eq!(plain.run(&["build"]).code(), 0);
    let run = site.run(&["build"]);
    assert_eq!(run.code(), 0, "{}", run.stderr());
    let pages = [
        "feeds/index.html",
        "feeds/xiaodian/index.html",
        "feeds/xiaodian/escaped.html",
        "feeds/topics/index.html",
        "feeds/xiaodian/archive/page-1.html",
    ];
    for page in pages {
        let html = site.read(page);
        assert!(
            html.contains(
                "<header class=\"masthead\"><img src=\"/logo.png\" alt=\"\">太原新闻</header>"
            ),
            "{page}: {html}"
        );
        assert!(html.contains("<footer>本站版权所有</footer>"), "{page}");
        assert!(
            !html.contains("a{color:#a40000}"),
            "{page}: the built-in style is gone"
        );
    }
    let article = site.read("feeds/xiaodian/escaped.html");
    assert!(
        article.contains("<h1>&lt;script&gt;alert(1)&lt;/script&gt; &amp; &#39;quotes&#39;</h1>"),
        "autoescaped: {article}"
    );
    assert!(!article.contains("<script>alert"), "{article}");
    assert!(
        article.contains("<script type=\"application/ld+json\">"),
        "the metadata is given as HTML"
    );
    // The feeds are the same bytes with or without the newsroom's look.
    for feed in ["rss.xml", "atom.xml", "feed.json", "xiaodian/rss.xml"] {
        assert_eq!(
            site.read(&format!("feeds/{feed}")),
            plain.read(&format!("feeds/{feed}")),
            "{feed}"
        );
    }
}

#[test]
fn a_broken_template_is_named_with_its_line_and_column() {
    let site = Site::sample();
    site.write(
        "templates/base.html",
        "<html>\n<body>\n{% block main %}{% endblock %\n</body>\n",
    );
    let run = site.run(&["check"]);
    assert_eq!(
        run.code(),
        2,
        "a template that does not compile is bad config"
    );
    assert!(
        run.stderr().contains("templates/base.html:3:"),
        "{}",
        run.stderr()
    );
    assert!(run.stderr().contains("syntax error"), "{}", run.stderr());

    // One that compiles but names what no page is given: found by
    // `check`, which renders a page of each kind.
    site.write("templates/base.html", BASE);
    site.write(
        "templates/article.html",
        "{% extends \"base.html\" %}\n{% block main %}\n<h1>{{ article.title }}</h1>\n<p>{{ article.subtitle }}</p>\n{% endblock %}\n",
    );
    let run = site.run(&["check"]);
    assert_eq!(run.code(), 1, "{}", run.stderr());
    let err = run.stderr();
    assert!(err.contains("templates/article.html:4:"), "{err}");
    assert!(err.contains("undefined"), "{err}");
    // A build writes everything else and says which pages failed.
    let run = site.run(&["build"]);
    assert_eq!(run.code(), 1, "{}", run.stderr());
    assert!(
        run.stderr()
            .contains("/xiaodian/2023-01-10.html: cannot render"),
        "{}",
        run.stderr()
    );
    assert!(site.read("feeds/rss.xml").contains("<rss"));
    assert!(
        site.read("feeds/xiaodian/index.html")
            .contains("本站版权所有")
    );
    assert!(!site.feeds().join("xiaodian/2023-01-10.html").exists());

    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("base.html"), BASE).unwrap();
    std::fs::remove_file(site.path().join("templates/article.html")).unwrap();
    std::fs::remove_file(site.path().join("templates/base.html")).unwrap();
    std::os::unix::fs::symlink(
        outside.path().join("base.html"),
        site.path().join("templates/base.html"),
    )
    .unwrap();
    let run = site.run(&["check"]);
    assert_eq!(run.code(), 2, "{}", run.stderr());
    assert!(
        run.stderr().contains("outside the templates folder"),
        "{}",
        run.stderr()
    );
}

#[test]
fn the_live_server_re_renders_pages_when_a_template_changes_and_keeps_the_last_good_one() {
    let site = Site::sample();
    let server = Server::start(site, &[]);
    server.wait_complete();
    let feed = block_on(get(server.addr, "/rss.xml", &[])).unwrap();
    let article = "/xiaodian/2023-01-10.html";
    let before = body(&server, "/");
    assert!(!before.contains("masthead"));

    server.site.write("templates/base.html", BASE);
    wait_until("the index in the new look", || {
        body(&server, "/").contains("masthead")
    });
    let first = body(&server, article);
    assert!(first.contains("masthead"), "{first}");
    let again = block_on(get(server.addr, "/rss.xml", &[])).unwrap();
    assert_eq!(again.body, feed.body, "the feed keeps its bytes");
    assert_eq!(again.header("etag"), feed.header("etag"));
    // Written to the output folder too, in the background.
    wait_until("the article page rewritten", || {
        std::fs::read_to_string(server.site.feeds().join("xiaodian/2023-01-10.html"))
            .is_ok_and(|t| t.contains("masthead"))
    });

    server
        .site
        .write("templates/base.html", "{% block main %}{{ oops }\n");
    server.wait_for_log("templates/base.html:1:");
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        body(&server, "/").contains("masthead"),
        "the last good look stays"
    );

    std::fs::remove_file(server.site.path().join("templates/base.html")).unwrap();
    wait_until("the built-in look back", || body(&server, "/") == before);
}

#[test]
fn a_static_file_added_while_serving_is_served() {
    let site = Site::sample();
    let server = Server::start(site, &[]);
    server.wait_complete();
    server
        .site
        .write("static/css/site.css", "body { color: #333 }\n");
    wait_until("the new static file", || {
        block_on(get(server.addr, "/css/site.css", &[]))
            .is_ok_and(|r| r.status == 200 && &r.body[..] == b"body { color: #333 }\n")
    });
    server
        .site
        .write("static/css/site.css", "body { color: #000 }\n");
    wait_until("the changed static file", || {
        block_on(get(server.addr, "/css/site.css", &[]))
            .is_ok_and(|r| &r.body[..] == b"body { color: #000 }\n")
    });
}
