//! Every seed and every input the fuzzers found (`fuzz/seeds/<target>/`,
//! `fuzz/regressions/<target>/`) through the fuzz targets' own checks, on
//! stable Rust: what the fuzzer once broke stays fixed without it.

#[path = "../fuzz/oracles.rs"]
mod oracles;

use std::path::Path;

fn run(target: &str, check: fn(&[u8])) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut count = 0;
    for dir in ["seeds", "regressions"] {
        let Ok(entries) = std::fs::read_dir(root.join(dir).join(target)) else {
            continue;
        };
        let mut files: Vec<_> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
        files.sort();
        for f in files {
            let data = std::fs::read(&f).unwrap();
            let outcome = std::panic::catch_unwind(|| check(&data));
            assert!(outcome.is_ok(), "{} fails the {target} check", f.display());
            count += 1;
        }
    }
    assert!(count > 0, "no inputs for {target}");
}

#[test]
fn article_inputs() {
    run("article", oracles::article);
}

#[test]
fn markdown_inputs() {
    run("markdown", oracles::markdown);
}

#[test]
fn import_inputs() {
    run("import", oracles::import);
}

#[test]
fn request_inputs() {
    run("request", oracles::request);
}

#[test]
fn config_inputs() {
    run("config", oracles::config);
}

/// The checks themselves fail on what they look for (else every input
/// above would pass for nothing).
#[test]
fn the_checks_catch_what_they_look_for() {
    let fails = |f: &dyn Fn()| std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).is_err();
    for html in [
        "<SCRIPT>x</SCRIPT>",
        "<p><iframe src=x></iframe></p>",
        "<a href=\"jav&#x09;ascript:alert(1)\">x</a>",
        "<a href=\" JaVaScRiPt:x\">x</a>",
        "<img src=x OnError=alert(1)>",
        "<a href=\"data:text/html;base64,PHNjcmlwdD4=\">x</a>",
        "<form><input></form>",
        "<p style=\"x\">a</p>",
    ] {
        assert!(fails(&|| oracles::assert_safe_html(html)), "{html} passed");
    }
    oracles::assert_safe_html(
        "<p><a href=\"https://a.example/?javascript:\">ok</a> javascript: text</p>",
    );
    for xml in [
        &b"<a><b></a></b>"[..],
        b"<a>&nbsp;</a>",
        b"<!DOCTYPE a><a/>",
        b"<a>",
        b"<a/><b/>",
    ] {
        assert!(
            fails(&|| oracles::well_formed_xml("x", xml)),
            "{} passed",
            String::from_utf8_lossy(xml)
        );
    }
    oracles::well_formed_xml("x", b"<?xml version=\"1.0\"?><a><b>&amp;</b></a>");
}
