//! The pipeline in-process: an incremental update gives exactly what a
//! full build of the changed content gives; a page rendered on request
//! has the bytes and ETag of the file written later; an archive edit
//! re-renders only the documents from the first changed position on.

mod common;

use common::Rng;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use crier::config::{Config, Overrides};
use crier::library::{Change, Library};
use crier::output::Output;
use crier::server::negotiate::Coding;
use crier::server::routes::{Answer, Routes, Stored};
use crier::site::{self, Job, Prints};
use crier::store::Store;

fn config(limit: usize) -> Config {
    let text = format!(
        "title = \"t\"\nbase_url = \"https://n.example/\"\nid_authority = \"n.example\"\nfeed_limit = {limit}\n[districts.a]\nname = \"A\"\n[districts.b]\nname = \"B\"\n"
    );
    Config::from_toml(&text, "crier.toml", &Overrides::default()).unwrap()
}

fn article(title: &str, day: u32, body: &str) -> String {
    format!("+++\ntitle = \"{title}\"\ndate = 2023-01-{day:02}T08:00:00+08:00\n+++\n{body}\n")
}

/// Every output's bytes by path, from outputs and rendered jobs.
type Site = BTreeMap<String, Vec<u8>>;

fn put(site: &mut Site, o: &Output) {
    site.insert(o.path.clone(), o.body.bytes.to_vec());
}

fn apply(site: &mut Site, built: &site::Built, library: &Library) {
    for (path, _) in &built.removed {
        site.remove(path);
    }
    for o in &built.outputs {
        put(site, o);
    }
    for r in site::render_jobs(&built.jobs, &library.config, library.content()) {
        put(site, &r.expect("job renders"));
    }
    assert!(built.errors.is_empty(), "{:?}", built.errors);
}

fn full(library: &Library) -> Site {
    let mut site = Site::new();
    let built = site::build(library, &Change::everything(), &mut Prints::default(), None);
    apply(&mut site, &built, library);
    site
}

#[test]
fn incremental_updates_give_exactly_the_outputs_of_a_full_build() {
    let tmp = tempfile::tempdir().unwrap();
    let content = tmp.path().join("content");
    for d in ["a", "b"] {
        std::fs::create_dir_all(content.join(d)).unwrap();
    }
    let names: Vec<PathBuf> = (0..16)
        .map(|i| {
            let folder = ["a", "b", ""][i % 3];
            content.join(folder).join(format!("n{i:02}.md"))
        })
        .collect();
    for (i, path) in names.iter().enumerate().take(10) {
        std::fs::write(path, article(&format!("文{i}"), 1 + i as u32, "正文")).unwrap();
    }
    let mut library = Library::load(config(3), &content).unwrap();
    let mut prints = Prints::default();
    let mut site = Site::new();
    let first = site::build(&library, &Change::everything(), &mut prints, None);
    apply(&mut site, &first, &library);
    assert!(site.contains_key("/archive/rss-2.xml"), "archives exist");

    let mut rng = Rng(0x5eed);
    for step in 0..200 {
        let path = &names[rng.below(names.len())];
        match rng.below(3) {
            // Write (add or edit), with a date anywhere in the month:
            // edits, back-dating and new articles at every age.
            0 | 1 => {
                let day = 1 + rng.below(28) as u32;
                std::fs::write(
                    path,
                    article(&format!("改{step}"), day, &format!("第{step}稿")),
                )
                .unwrap()
            }
            _ => {
                let _ = std::fs::remove_file(path);
            }
        }
        let mut change = Change::default();
        library
            .refresh(std::slice::from_ref(path), &mut change)
            .unwrap();
        let built = site::build(&library, &change, &mut prints, None);
        apply(&mut site, &built, &library);
        // A full build of the same content, from scratch.
        let expected = full(&Library::load(config(3), &content).unwrap());
        let differing: Vec<&String> = expected
            .keys()
            .chain(site.keys())
            .filter(|p| expected.get(*p) != site.get(*p))
            .collect();
        assert!(differing.is_empty(), "step {step}: {differing:?} differ");
    }
}

#[test]
fn a_page_rendered_on_request_has_the_bytes_and_etag_of_its_file() {
    let tmp = tempfile::tempdir().unwrap();
    let content = tmp.path().join("content");
    std::fs::create_dir_all(content.join("a")).unwrap();
    for day in 1..=5 {
        let body = format!("**第{day}天**的新闻。<script>x</script>");
        std::fs::write(
            content.join(format!("a/{day}.md")),
            article("标题", day, &body),
        )
        .unwrap();
    }
    let library = Library::load(config(2), &content).unwrap();
    let built = site::build(
        &library,
        &Change::everything(),
        &mut Prints::default(),
        None,
    );
    let mut routes = Routes::new(Arc::new(library.config.clone()), &content);
    for job in &built.jobs {
        routes.insert_job(job, None);
    }
    let out = tmp.path().join("feeds");
    let store = Store::open(&out, crier::store::epoch(&library.config)).unwrap();
    let done = store.run_jobs(&built.jobs, &library.config, &content);
    assert!(done.errors.is_empty() && done.write_error.is_none());
    assert!(
        built.jobs.iter().any(|j| matches!(j, Job::Archive(_))),
        "archive documents are jobs too"
    );
    for job in &built.jobs {
        let Answer::Resource(r) = routes.answer(&job.path()) else {
            panic!("{} has no route", job.path());
        };
        let Stored::Lazy(lazy) = &r.stored else {
            panic!("{} is not rendered on request", job.path());
        };
        let rendered = routes.render(lazy).unwrap();
        let file = out.join(job.file());
        for (coding, ext) in [
            (Coding::Identity, ""),
            (Coding::Gzip, ".gz"),
            (Coding::Br, ".br"),
        ] {
            let mut name = file.clone().into_os_string();
            name.push(ext);
            let on_disk = std::fs::read(&name).unwrap();
            let v = rendered.get(coding);
            assert_eq!(v.body.as_ref(), on_disk.as_slice(), "{}{ext}", job.path());
            assert_eq!(
                v.etag.to_str().unwrap(),
                crier::fingerprint::etag(&on_disk),
                "{}{ext}",
                job.path()
            );
        }
    }
}

#[test]
fn an_archive_edit_rerenders_only_from_the_first_changed_position() {
    let tmp = tempfile::tempdir().unwrap();
    let content = tmp.path().join("content");
    std::fs::create_dir_all(content.join("a")).unwrap();
    // 10 articles, 2 per feed: the newest 2 in the feed, 8 in archives
    // 1 (oldest) to 4.
    for day in 1..=10 {
        std::fs::write(
            content.join(format!("a/{day:02}.md")),
            article("旧", day, "x"),
        )
        .unwrap();
    }
    let mut library = Library::load(config(2), &content).unwrap();
    let mut prints = Prints::default();
    site::build(&library, &Change::everything(), &mut prints, None);

    let mut step = |library: &mut Library, file: &str, text: Option<String>| -> Vec<String> {
        let path = content.join(file);
        match text {
            Some(t) => std::fs::write(&path, t).unwrap(),
            None => std::fs::remove_file(&path).unwrap(),
        }
        let mut change = Change::default();
        library.refresh(&[path], &mut change).unwrap();
        let built = site::build(library, &change, &mut prints, None);
        let mut docs: Vec<String> = built
            .jobs
            .iter()
            .filter_map(|j| match j {
                Job::Archive(d) if d.scope == crier::library::ScopeKey::All => Some(d.file()),
                _ => None,
            })
            .collect();
        docs.sort();
        docs
    };
    // Day 3 is in archive 2 (days 3 and 4): its edit touches that one only.
    assert_eq!(
        step(&mut library, "a/03.md", Some(article("改", 3, "x"))),
        [
            "archive/atom-2.xml",
            "archive/page-2.html",
            "archive/rss-2.xml"
        ]
    );
    // Deleting day 5 (archive 3) moves every later article back one place.
    assert_eq!(
        step(&mut library, "a/05.md", None),
        [
            "archive/atom-3.xml",
            "archive/atom-4.xml",
            "archive/page-3.html",
            "archive/page-4.html",
            "archive/rss-3.xml",
            "archive/rss-4.xml"
        ]
    );
    // Back-dating day 8 to before day 1: everything from archive 1 on.
    let all = step(
        &mut library,
        "a/08.md",
        Some(article("旧", 1, "x")).map(|t| t.replace("T08", "T07")),
    );
    assert_eq!(all.len(), 12, "{all:?}");
    // A new article in the feed pushes one out: only the newest archive.
    assert_eq!(
        step(&mut library, "a/11.md", Some(article("新", 11, "x"))),
        [
            "archive/atom-4.xml",
            "archive/page-4.html",
            "archive/rss-4.xml"
        ]
    );
}

/// The files a full build makes: its outputs' and its jobs'.
fn made_files(built: &site::Built) -> std::collections::BTreeSet<String> {
    built
        .outputs
        .iter()
        .map(|o| o.file.to_string_lossy().into_owned())
        .chain(
            built
                .jobs
                .iter()
                .map(|j| j.file().to_string_lossy().into_owned()),
        )
        .collect()
}

/// The keep-set (`site::all_files`, by which a full write removes stale
/// files) is exactly what the pipeline makes: an output made and not
/// kept would be deleted as stale, a file kept and not made would never
/// leave. Checked with archives, topics, monthly sitemaps and city-wide
/// articles, as articles go one by one; each one gone leaves both sets,
/// and the live update that sees it go removes its page.
#[test]
fn the_keep_set_is_exactly_what_the_pipeline_makes() {
    let tmp = tempfile::tempdir().unwrap();
    let content = tmp.path().join("content");
    for d in ["a", "b"] {
        std::fs::create_dir_all(content.join(d)).unwrap();
    }
    let mut names = Vec::new();
    for i in 0..12u32 {
        let folder = ["a", "b", ""][i as usize % 3];
        let path = content.join(folder).join(format!("k{i:02}.md"));
        let tags = ["劳模", "Tag One", "民生"][i as usize % 3];
        let text = format!(
            "+++\ntitle = \"文{i}\"\ndate = 2023-0{}-{:02}T08:00:00+08:00\ntags = [\"{tags}\"]\n+++\n正文\n",
            1 + i % 3,
            1 + i
        );
        std::fs::write(&path, text).unwrap();
        names.push(path);
    }
    let mut library = Library::load(config(3), &content).unwrap();
    let mut prints = Prints::default();
    site::build(&library, &Change::everything(), &mut prints, None);
    for path in &names {
        let mut fresh = Prints::default();
        let whole = Library::load(config(3), &content).unwrap();
        let built = site::build(&whole, &Change::everything(), &mut fresh, None);
        let kept: std::collections::BTreeSet<String> =
            site::all_files(&whole, &fresh).into_iter().collect();
        assert_eq!(made_files(&built), kept, "made and kept differ");

        let page = path
            .strip_prefix(&content)
            .unwrap()
            .with_extension("html")
            .to_string_lossy()
            .into_owned();
        assert!(
            kept.contains(&page),
            "{page} kept while its article is there"
        );
        std::fs::remove_file(path).unwrap();
        let mut change = Change::default();
        library
            .refresh(std::slice::from_ref(path), &mut change)
            .unwrap();
        let live = site::build(&library, &change, &mut prints, None);
        assert!(
            live.removed
                .iter()
                .any(|(_, f)| f.to_string_lossy() == page),
            "{page} not removed: {:?}",
            live.removed
        );
        let after = Library::load(config(3), &content).unwrap();
        let mut fresh = Prints::default();
        site::build(&after, &Change::everything(), &mut fresh, None);
        assert!(
            !site::all_files(&after, &fresh).contains(&page),
            "{page} still kept"
        );
    }
}
