//! Every generated feed parsed by third-party parsers (Python's feedparser
//! and feedparser-rs, installed by .ci/run): no parse error, right counts,
//! ids, titles and dates. The checks live in tests/interop/check_feeds.py.

mod common;

use common::Site;

#[test]
fn third_party_parsers_read_every_feed() {
    let site = Site::sample();
    assert_eq!(site.run(&["build"]).code(), 0);
    let script = common::repo().join("tests/interop/check_feeds.py");
    let out = std::process::Command::new("python3")
        .arg(&script)
        .args([site.path().join("crier.toml"), site.content(), site.feeds()])
        .output()
        .expect("python3 must be installed (see .ci/run)");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "feed interop failed (pip install feedparser feedparser-rs if missing):\n{stderr}"
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("65 feed parses OK"));
}
