//! deploy/: the Prometheus alerting rules pass `promtool check rules` and
//! their own unit tests (`promtool test rules`), and every metric that the
//! rules and the Grafana dashboard use is one a running crier exports.

mod common;

use std::collections::BTreeSet;
use std::process::Command;

use common::Site;
use common::http::{Server, get};

fn deploy(file: &str) -> std::path::PathBuf {
    common::repo().join("deploy").join(file)
}

/// The metric families named in a text (`crier_x_total` is family
/// `crier_x`, as `# TYPE` lines name them).
fn families(text: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for (i, _) in text.match_indices("crier_") {
        let before = text[..i].chars().next_back();
        if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
            continue;
        }
        let name: String = text[i..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        let family = ["_total", "_bucket", "_sum", "_count"]
            .iter()
            .find_map(|s| name.strip_suffix(s))
            .unwrap_or(&name);
        found.insert(family.to_string());
    }
    found
}

/// The families a server with the built-in hub exports.
fn exported() -> BTreeSet<String> {
    let server = Server::start(
        Site::sample(),
        &["--hub", "builtin", "--reader-flush-seconds", "1"],
    );
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    // A feed read by an aggregator that reports its readers: the readers'
    // families have no series (and no TYPE line) until one is counted.
    let feedly = [("user-agent", "Feedly/1.0 (poller; 3 subscribers;)")];
    let feed = rt.block_on(get(server.addr, "/rss.xml", &feedly));
    assert_eq!(feed.expect("GET /rss.xml").status, 200);
    // They show once written to the database and read back (a second).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let text = loop {
        let r = rt
            .block_on(get(server.addr, "/metrics", &[]))
            .expect("GET /metrics");
        assert_eq!(r.status, 200);
        let text = String::from_utf8_lossy(&r.body).into_owned();
        if text.contains("crier_aggregator_subscribers{") {
            break text;
        }
        assert!(std::time::Instant::now() < deadline, "{text}");
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    text.lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_string)
        .collect()
}

fn promtool(args: &[&str]) -> String {
    common::need_command("promtool");
    let out = Command::new("promtool")
        .args(args)
        .current_dir(common::repo().join("deploy"))
        .output()
        .expect("promtool runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "promtool {args:?}:\n{text}");
    text
}

#[test]
fn the_alerting_rules_pass_promtool_and_their_tests() {
    let checked = promtool(&["check", "rules", "prometheus-rules.yaml"]);
    assert!(checked.contains("SUCCESS: 9 rules found"), "{checked}");
    let tested = promtool(&["test", "rules", "prometheus-rules.test.yaml"]);
    assert!(tested.contains("SUCCESS"), "{tested}");
}

#[test]
fn the_rules_and_the_dashboard_use_only_exported_metrics() {
    let exported = exported();
    assert!(exported.contains("crier_http_requests"), "{exported:?}");
    let rules = std::fs::read_to_string(deploy("prometheus-rules.yaml")).expect("rules");
    let dashboard = std::fs::read_to_string(deploy("grafana-dashboard.json")).expect("dashboard");
    for (file, text) in [("rules", &rules), ("dashboard", &dashboard)] {
        let used = families(text);
        assert!(used.len() >= 8, "{file}: {used:?}");
        let unknown: Vec<_> = used.difference(&exported).collect();
        assert!(
            unknown.is_empty(),
            "{file} uses metrics crier lacks: {unknown:?}"
        );
    }
    // Every metric crier exports is on the dashboard.
    let shown = families(&dashboard);
    let missing: Vec<_> = exported.difference(&shown).collect();
    assert!(missing.is_empty(), "not on the dashboard: {missing:?}");
}

/// The dashboard is Grafana's JSON model: panels with queries on the
/// data source variable, laid out on the 24-column grid without overlap.
#[test]
fn the_dashboard_is_a_grafana_model() {
    let text = std::fs::read_to_string(deploy("grafana-dashboard.json")).expect("dashboard");
    let dash: serde_json::Value = serde_json::from_str(&text).expect("dashboard is JSON");
    assert_eq!(dash["uid"], "crier");
    let variables = dash["templating"]["list"].as_array().expect("variables");
    assert!(variables.iter().any(|v| v["type"] == "datasource"));
    let panels = dash["panels"].as_array().expect("panels");
    let mut ids = BTreeSet::new();
    let mut cells = BTreeSet::new();
    for p in panels {
        assert!(ids.insert(p["id"].as_u64().expect("id")), "ids unique");
        assert_eq!(p["datasource"]["uid"], "${datasource}", "{}", p["title"]);
        let targets = p["targets"].as_array().expect("targets");
        assert!(!targets.is_empty() && targets.iter().all(|t| t["expr"].is_string()));
        let g = &p["gridPos"];
        let [x, y, w, h] = ["x", "y", "w", "h"].map(|k| g[k].as_u64().expect("gridPos"));
        assert!(x + w <= 24, "{}: inside the grid", p["title"]);
        for cx in x..x + w {
            for cy in y..y + h {
                assert!(
                    cells.insert((cx, cy)),
                    "{} overlaps another panel",
                    p["title"]
                );
            }
        }
    }
}
