//! The command line's comforts: --version, shell completions that a real
//! bash completes with, and man pages that man(1) renders.

mod common;

use std::process::Command;

fn crier(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_crier"))
        .args(args)
        .output()
        .expect("crier runs")
}

fn stdout(out: &std::process::Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn version_prints_the_package_version() {
    let printed = stdout(&crier(&["--version"]));
    assert_eq!(
        printed.trim(),
        format!("crier {}", env!("CARGO_PKG_VERSION"))
    );
}

/// bash loads the script and (called as bash calls it: command, word,
/// previous word) completes `crier se` to `serve`, and the
/// flags of `crier serve --po` to `--poll` and `--poll-ms`.
#[test]
fn bash_completes_commands_and_flags() {
    common::need_command("bash");
    let dir = tempfile::tempdir().expect("temp dir");
    let script = dir.path().join("crier.bash");
    std::fs::write(&script, stdout(&crier(&["completions", "bash"]))).expect("write");
    let complete = |words: &str, cword: usize| {
        let program = format!(
            "source {}; COMP_WORDS=({words}); COMP_CWORD={cword}; _crier crier \"${{COMP_WORDS[COMP_CWORD]}}\" \"${{COMP_WORDS[COMP_CWORD-1]}}\"; echo \"${{COMPREPLY[@]}}\"",
            script.display()
        );
        stdout(
            &Command::new("bash")
                .args(["-c", &program])
                .output()
                .expect("bash runs"),
        )
    };
    assert_eq!(complete("crier se", 1).trim(), "serve");
    let flags = complete("crier serve --po", 2);
    assert!(
        flags.contains("--poll") && flags.contains("--poll-ms"),
        "{flags}"
    );
}

#[test]
fn zsh_and_fish_scripts_name_every_command() {
    for shell in ["zsh", "fish", "elvish", "powershell"] {
        let script = stdout(&crier(&["completions", shell]));
        for command in ["serve", "build", "check", "import", "healthcheck"] {
            assert!(script.contains(command), "{shell}: {command}");
        }
    }
    let bad = crier(&["completions", "tcsh"]);
    assert_eq!(
        bad.status.code(),
        Some(2),
        "an unknown shell is a usage error"
    );
}

/// man(1) renders crier(1) with its commands, and --out writes a page per
/// command that names its flags.
#[test]
fn man_renders_the_pages() {
    common::need_command("man");
    let dir = tempfile::tempdir().expect("temp dir");
    let page = dir.path().join("crier.1");
    std::fs::write(&page, stdout(&crier(&["man"]))).expect("write");
    let render = |file: &std::path::Path| {
        let out = Command::new("man")
            .arg("-l")
            .arg(file)
            .env("MANPAGER", "cat")
            .env("MANWIDTH", "100")
            .output()
            .expect("man runs");
        stdout(&out)
    };
    let text = render(&page);
    assert!(
        text.contains("NAME") && text.contains("crier-serve(1)"),
        "{text}"
    );
    let pages = dir.path().join("pages");
    std::fs::create_dir(&pages).expect("folder");
    stdout(&crier(&[
        "man",
        "--out",
        pages.to_str().expect("utf-8 path"),
    ]));
    let serve = render(&pages.join("crier-serve.1"));
    for flag in ["--addr", "--poll", "--max-connections", "127.0.0.1:8080"] {
        assert!(
            serve.contains(flag),
            "crier-serve(1) names {flag}:\n{serve}"
        );
    }
    let missing = crier(&["man", "--out", "/nonexistent/crier-man"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("/nonexistent/crier-man"));
}
