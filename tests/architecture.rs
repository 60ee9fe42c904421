//! The module map of `src/` (README, "Architecture") holds: each module
//! imports only modules of its own layer or below, and no modules import
//! each other in a cycle. Read from the sources themselves, tests aside.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The layers, top down. A module may use its own layer and those below.
const LAYERS: &[(&str, &[&str])] = &[
    ("app", &["live", "watch", "intake"]),
    (
        "serve, store, notify",
        &[
            "server", "store", "full", "hub", "websub", "readers", "database",
        ],
    ),
    (
        "build",
        &["site", "sitemaps", "render", "output", "compress"],
    ),
    (
        "core",
        &[
            "library",
            "index",
            "content",
            "config",
            "templates",
            "import",
        ],
    ),
    (
        "leaves",
        &["metrics", "atomic", "fingerprint", "logging", "table"],
    ),
];

fn layer(module: &str) -> usize {
    LAYERS
        .iter()
        .position(|(_, ms)| ms.contains(&module))
        .unwrap_or_else(|| {
            panic!("module `{module}` is in no layer: add it to LAYERS and the README")
        })
}

/// `crate::x` references of each top-level module, outside test code.
fn imports() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut map: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut stack = vec![src.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            // Sources only: `src/render/` holds the logo and the icon too.
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let rel = path.strip_prefix(&src).unwrap();
            let first = rel
                .components()
                .next()
                .unwrap()
                .as_os_str()
                .to_string_lossy();
            let module = first.trim_end_matches(".rs").to_string();
            // The binary's own modules and the crate root.
            if ["main", "lib", "commands", "args"].contains(&module.as_str()) {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let code = text.split("#[cfg(test)]").next().unwrap_or_default();
            let uses = map.entry(module.clone()).or_default();
            for (i, _) in code.match_indices("crate::") {
                let name: String = code[i + 7..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                if !name.is_empty() && name != module {
                    uses.insert(name);
                }
            }
        }
    }
    map
}

#[test]
fn modules_import_only_their_layer_and_below() {
    let map = imports();
    let mut wrong = Vec::new();
    for (module, uses) in &map {
        for used in uses {
            if layer(used) < layer(module) {
                wrong.push(format!(
                    "{module} ({}) imports {used} ({})",
                    LAYERS[layer(module)].0,
                    LAYERS[layer(used)].0
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "imports pointing up: {wrong:#?}");
    assert!(
        map["metrics"].is_empty(),
        "metrics is a leaf: {:?}",
        map["metrics"]
    );
    for notify in ["hub", "websub"] {
        assert!(
            !map[notify].contains("server"),
            "{notify} imports the server"
        );
    }
    for below in ["server", "store", "site"] {
        assert!(!map[below].contains("live"), "{below} imports live");
    }
}

/// A cycle in `map` (module → modules it names), if there is one.
fn find_cycle(map: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    // Depth-first search for a back edge.
    fn visit<'a>(
        m: &'a str,
        map: &'a BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<&'a str>,
        done: &mut BTreeSet<&'a str>,
    ) -> Option<Vec<String>> {
        if let Some(i) = path.iter().position(|p| *p == m) {
            let mut cycle: Vec<String> = path[i..].iter().map(|s| s.to_string()).collect();
            cycle.push(m.to_string());
            return Some(cycle);
        }
        if !done.insert(m) {
            return None;
        }
        path.push(m);
        for next in map.get(m).into_iter().flatten() {
            if let Some(c) = visit(next, map, path, done) {
                return Some(c);
            }
        }
        path.pop();
        None
    }
    let mut done = BTreeSet::new();
    map.keys()
        .find_map(|m| visit(m, map, &mut Vec::new(), &mut done))
}

#[test]
fn no_modules_import_each_other_in_a_cycle() {
    let cycle = find_cycle(&imports());
    assert!(
        cycle.is_none(),
        "import cycle: {}",
        cycle.unwrap_or_default().join(" → ")
    );
}

/// Within a module split into files (`src/render/`, `src/site/`, ...),
/// the files that name each other (`super::meta`, `crate::render::html`)
/// do so one way too.
#[test]
fn no_files_of_a_module_name_each_other_in_a_cycle() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    for dir in std::fs::read_dir(&src).unwrap() {
        let dir = dir.unwrap().path();
        if !dir.is_dir() {
            continue;
        }
        let module = dir.file_name().unwrap().to_string_lossy().into_owned();
        let files: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .filter_map(|e| {
                let name = e.ok()?.file_name().to_string_lossy().into_owned();
                name.strip_suffix(".rs").map(str::to_string)
            })
            .collect();
        let mut map: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for file in &files {
            let text = std::fs::read_to_string(dir.join(format!("{file}.rs"))).unwrap();
            let code = text.split("#[cfg(test)]").next().unwrap_or_default();
            let named = map.entry(file.clone()).or_default();
            for prefix in ["super::".to_string(), format!("crate::{module}::")] {
                for (i, _) in code.match_indices(prefix.as_str()) {
                    let name: String = code[i + prefix.len()..]
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                        .collect();
                    if name != *file && name != "mod" && files.contains(&name) {
                        named.insert(name);
                    }
                }
            }
        }
        let cycle = find_cycle(&map);
        assert!(
            cycle.is_none(),
            "files of {module} name each other in a cycle: {}",
            cycle.unwrap_or_default().join(" → ")
        );
    }
}
