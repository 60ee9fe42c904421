//! What each fuzz target checks. Shared with `tests/fuzz_inputs.rs`, which
//! runs every seed and every input the fuzzer ever found on stable Rust,
//! so CI keeps them fixed without the fuzzer. Each function panics when
//! crier does something the product forbids.
#![allow(dead_code)]

use std::cell::RefCell;
use std::path::PathBuf;
use std::sync::{Arc, LazyLock};

use crier::config::{Config, Overrides};
use crier::content::{self, Candidate};
use crier::output::{Kind, Page};
use crier::render::{self, FeedKind, Scope};
use crier::server::routes::Routes;
use crier::server::service::{self, State};
use html5ever::tendril::StrTendril;
use html5ever::tokenizer::{
    BufferQueue, TagKind, Token, TokenSink, TokenSinkResult, Tokenizer, TokenizerOpts,
};

const SITE: &str = r#"title = "太原新闻"
description = "太原市及各区县新闻"
base_url = "https://news.example.cn/"
id_authority = "news.example.cn"
[districts.xiaodian]
name = "小店区"
description = "小店区新闻"
[districts.jiancaoping]
name = "尖草坪区"
description = "尖草坪区新闻"
"#;

static CONFIG: LazyLock<Config> = LazyLock::new(|| {
    Config::from_toml(SITE, "crier.toml", &Overrides::default()).expect("the fuzz site's config")
});

/// Target 1: an article file's bytes: parsed, then rendered as RSS, Atom, JSON
/// Feed and its page. No panic; the XML well-formed (no DOCTYPE, no
/// entity XML lacks), the JSON valid, the page whole and safe.
pub fn article(data: &[u8]) {
    let config = &*CONFIG;
    let c = Candidate {
        path: PathBuf::from("content/xiaodian/a.md"),
        district: Some("xiaodian".into()),
        stamp: None,
        outside: None,
    };
    let read = content::parse(config, &c, data.to_vec());
    for d in &read.diagnostics {
        assert_eq!(d.file, "content/xiaodian/a.md", "{d}");
        assert!(!d.message.is_empty(), "{d:?}");
    }
    let (Some(a), Some(pending)) = (read.article, read.body) else {
        return;
    };
    let body = Arc::new(pending.render());
    let mut scope = Scope::bare(config, config.district("xiaodian"));
    scope.articles = vec![&a];
    scope.bodies = vec![body.clone()];
    scope.total = 1;
    well_formed_xml("RSS", &render::rss::render(&scope).expect("RSS renders"));
    well_formed_xml("Atom", &render::atom::render(&scope).expect("Atom renders"));
    let json = render::json::render(&scope).expect("JSON Feed renders");
    if let Err(e) = serde_json::from_slice::<serde_json::Value>(&json) {
        panic!("JSON Feed does not parse: {e}");
    }
    let page = render::html::article(&scope, &a, &body).expect("the page renders");
    let page = String::from_utf8(page).expect("the page is UTF-8");
    assert!(
        page.trim_end().ends_with("</html>"),
        "the page is not whole"
    );
    // The page's own script element (JSON-LD) aside, the body is safe.
    assert_safe_html(&body.html);
}

/// Reads `xml` to its end with quick-xml: every element closed in order,
/// one root, no DOCTYPE, every entity one of XML's own.
pub fn well_formed_xml(what: &str, xml: &[u8]) {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_reader(xml);
    reader.config_mut().check_end_names = true;
    let mut buf = Vec::new();
    let mut depth = 0usize;
    let mut roots = 0;
    loop {
        let event = match reader.read_event_into(&mut buf) {
            Ok(e) => e,
            Err(e) => panic!("{what} is not well-formed XML: {e}"),
        };
        match event {
            Event::Start(_) => {
                roots += usize::from(depth == 0);
                depth += 1;
            }
            Event::Empty(_) => roots += usize::from(depth == 0),
            Event::End(_) => depth -= 1,
            Event::DocType(_) => panic!("{what} has a DOCTYPE"),
            Event::Text(t) => {
                if let Err(e) = t.decode().map_err(quick_xml::Error::from).and_then(|s| {
                    quick_xml::escape::unescape(&s)
                        .map(|_| ())
                        .map_err(quick_xml::Error::from)
                }) {
                    panic!("{what} text does not unescape: {e}");
                }
            }
            Event::GeneralRef(r) => {
                let name = r.decode().map(|n| n.into_owned()).unwrap_or_default();
                let known = ["lt", "gt", "amp", "apos", "quot"].contains(&name.as_str());
                let char_ref = r.resolve_char_ref().is_ok_and(|c| c.is_some());
                assert!(known || char_ref, "{what} uses the entity &{name};");
            }
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    assert_eq!(depth, 0, "{what}: elements left open");
    // XML 1.0's Char: no control but tab and line ends, no U+FFFE/U+FFFF
    // (quick-xml does not check; expat, in feedparser and browsers, does).
    let text = String::from_utf8_lossy(xml);
    let bad = text.chars().find(|c| {
        matches!(c, '\u{0}'..='\u{8}' | '\u{B}' | '\u{C}' | '\u{E}'..='\u{1F}' | '\u{FFFE}' | '\u{FFFF}')
    });
    assert!(
        bad.is_none(),
        "{what} holds {bad:?}, which XML cannot carry"
    );
    assert_eq!(roots, 1, "{what}: not one root element");
}

/// Target 2: markdown to sanitised HTML: nothing that runs, however spelled.
pub fn markdown(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    static BASE: LazyLock<url::Url> = LazyLock::new(|| {
        url::Url::parse("https://news.example.cn/xiaodian/a.html").expect("a URL")
    });
    let (html, _) = content::body::render(text, Some(&BASE), 200);
    assert_safe_html(&html);
    let (html, _) = content::body::render(text, None, 0);
    assert_safe_html(&html);
}

const FORBIDDEN_ELEMENTS: &[&str] = &[
    "script", "iframe", "object", "embed", "form", "style", "frame", "frameset", "base", "meta",
    "link", "svg", "math",
];

/// Attributes a browser follows as a URL.
const URL_ATTRIBUTES: &[&str] = &[
    "href",
    "src",
    "action",
    "formaction",
    "xlink:href",
    "background",
    "poster",
    "cite",
    "longdesc",
    "srcset",
    "data",
    "codebase",
    "lowsrc",
    "dynsrc",
    "ping",
];

/// Tokenises `html` as a browser would (entities decoded, names folded)
/// and panics on an element, attribute or URL that could run code.
pub fn assert_safe_html(html: &str) {
    #[derive(Default)]
    struct Sink(RefCell<Vec<String>>);
    impl TokenSink for Sink {
        type Handle = ();
        fn process_token(&self, token: Token, _line: u64) -> TokenSinkResult<()> {
            if let Token::TagToken(tag) = token
                && tag.kind == TagKind::StartTag
            {
                let name: &str = &tag.name;
                if FORBIDDEN_ELEMENTS.contains(&name) {
                    self.0.borrow_mut().push(format!("element <{name}>"));
                }
                for attr in &tag.attrs {
                    let attr_name: &str = &attr.name.local;
                    if attr_name.starts_with("on") {
                        self.0.borrow_mut().push(format!("attribute {attr_name}"));
                    }
                    if attr_name == "style" {
                        self.0.borrow_mut().push("a style attribute".into());
                    }
                    if URL_ATTRIBUTES.contains(&attr_name) && runs(&attr.value) {
                        self.0
                            .borrow_mut()
                            .push(format!("{attr_name}=\"{}\"", &*attr.value));
                    }
                }
            }
            TokenSinkResult::Continue
        }
    }
    let sink = tokenize(Sink::default(), html);
    let found = sink.0.borrow();
    assert!(
        found.is_empty(),
        "unsafe HTML ({}): {html}",
        found.join(", ")
    );
}

/// What a browser shows of `html` read as an HTML fragment: its text
/// (references decoded) and how many tags, comments and doctypes it
/// holds (none, for a text written as the HTML that shows it).
pub fn html_text(html: &str) -> (String, usize) {
    #[derive(Default)]
    struct Sink(RefCell<(String, usize)>);
    impl TokenSink for Sink {
        type Handle = ();
        fn process_token(&self, token: Token, _line: u64) -> TokenSinkResult<()> {
            let mut seen = self.0.borrow_mut();
            match token {
                Token::CharacterTokens(t) => seen.0.push_str(&t),
                Token::NullCharacterToken => seen.0.push('\0'),
                Token::TagToken(_) | Token::CommentToken(_) | Token::DoctypeToken(_) => seen.1 += 1,
                Token::EOFToken | Token::ParseError(_) => {}
            }
            TokenSinkResult::Continue
        }
    }
    tokenize(Sink::default(), html).0.take()
}

/// Runs html5ever's tokenizer over `html` into `sink`, as a browser reads
/// a fragment (a leading U+FEFF is text there, not a byte order mark).
fn tokenize<S: TokenSink>(sink: S, html: &str) -> S {
    let opts = TokenizerOpts {
        discard_bom: false,
        ..TokenizerOpts::default()
    };
    let tokenizer = Tokenizer::new(sink, opts);
    let input = BufferQueue::default();
    input.push_back(StrTendril::from_slice(html));
    let _ = tokenizer.feed(&input);
    tokenizer.end();
    tokenizer.sink
}

/// Whether feedparser takes an RSS value for HTML (its `lookslikehtml`,
/// loosened: any end tag, any reference ending in `;`).
pub fn looks_like_html(value: &str) -> bool {
    let word = |c: char| c.is_alphanumeric() || c == '_';
    let end_tag = value.match_indices("</").any(|(i, _)| {
        let rest = &value[i + 2..];
        let name = rest.chars().take_while(|c| word(*c)).count();
        name > 0 && rest.chars().nth(name) == Some('>')
    });
    end_tag
        || value.match_indices('&').any(|(i, _)| {
            let rest = value[i + 1..].strip_prefix('#').unwrap_or(&value[i + 1..]);
            let name = rest.chars().take_while(|c| word(*c)).count();
            name > 0 && rest.chars().nth(name) == Some(';')
        })
}

/// What feedparser shows of an RSS value that may be text or HTML: the
/// value, or, when it looks like HTML, the text that HTML shows; and how
/// many tags that HTML holds.
pub fn guessed_text(value: &str) -> (String, usize) {
    if looks_like_html(value) {
        html_text(value)
    } else {
        (value.to_string(), 0)
    }
}

/// Whether a URL would run code: its scheme as a browser reads it (ASCII
/// whitespace and controls dropped, case folded).
fn runs(url: &str) -> bool {
    let folded: String = url
        .chars()
        .filter(|c| !c.is_ascii_whitespace() && !c.is_control())
        .flat_map(char::to_lowercase)
        .collect();
    ["javascript:", "vbscript:", "data:text/html"]
        .iter()
        .any(|s| folded.starts_with(s))
}

/// Target 3: a printed page to the import plan: no panic, and every brief
/// (a one-paragraph sentence that starts with its date lead, `1月10日，`
/// or `日前，`, and ends with `。`) is a paragraph of exactly one article,
/// as often as the page prints it.
pub fn import(data: &[u8]) {
    let date = chrono::NaiveDate::from_ymd_opt(2023, 1, 15).expect("a date");
    let Ok(plan) = crier::import::plan(&CONFIG, data, date, None) else {
        return;
    };
    // The page as the importer reads it (any encoding, any line ends).
    let (text, _) = crier::import::decode(data, None).expect("a planned page decodes");
    let bodies: Vec<&str> = plan
        .files
        .iter()
        .flat_map(|f| {
            f.text
                .split_once("+++\n\n")
                .map_or("", |(_, body)| body)
                .split("\n\n")
        })
        .map(str::trim_end)
        .collect();
    let printed = page_paragraphs(&text);
    let all = printed.concat();
    for para in &printed {
        if !starts_with_date(para) || !para.ends_with('。') {
            continue;
        }
        let times = printed.iter().filter(|p| *p == para).count();
        // Text that column breaks could also make of other paragraphs
        // (`日前，甲` + `乙。`) cannot be counted.
        if all.matches(para.as_str()).count() != times {
            continue;
        }
        let holding = bodies.iter().filter(|p| **p == para.as_str()).count();
        assert_eq!(holding, times, "brief {para:?} is in {holding} articles");
    }
}

/// Paragraphs as a reader of the page sees them: lines (trimmed) up to a
/// blank one.
fn page_paragraphs(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut open = false;
    for line in text.lines() {
        let line = line.trim_matches(|c: char| c.is_whitespace() || c == '\u{feff}');
        match out.last_mut() {
            _ if line.is_empty() => open = false,
            Some(last) if open => last.push_str(line),
            _ => {
                out.push(line.to_string());
                open = true;
            }
        }
    }
    out
}

/// `1月10日，` or `日前，` at the start of a paragraph.
fn starts_with_date(s: &str) -> bool {
    if s.starts_with("日前，") {
        return true;
    }
    let digits = |t: &str| t.chars().take_while(char::is_ascii_digit).count();
    let m = digits(s);
    let Some(rest) = s.get(m..).and_then(|r| r.strip_prefix('月')) else {
        return false;
    };
    let d = digits(rest);
    (1..=2).contains(&m)
        && (1..=2).contains(&d)
        && rest.get(d..).is_some_and(|r| r.starts_with("日，"))
}

/// Target 4: a request: method, path and headers (from the input's lines) through
/// the server's own pipeline, and a subscription form through the hub.
/// No panic, and only the documented statuses.
pub fn request(data: &[u8]) {
    let mut lines = data.split(|b| *b == b'\n');
    let mut next = || lines.next().unwrap_or_default();
    let method = match next().first().copied().unwrap_or(0) % 4 {
        0 => hyper::Method::GET,
        1 => hyper::Method::HEAD,
        2 => hyper::Method::POST,
        _ => hyper::Method::DELETE,
    };
    let mut builder = hyper::Request::builder().method(method);
    let uri = String::from_utf8_lossy(next()).into_owned();
    builder = builder.uri(uri);
    for name in ["accept-encoding", "if-none-match", "if-modified-since"] {
        let value = next();
        if let Ok(v) = hyper::header::HeaderValue::from_bytes(value) {
            builder = builder.header(name, v);
        }
    }
    // An URI hyper would not parse never reaches crier.
    let Ok(req) = builder.body(()) else { return };
    let (parts, ()) = req.into_parts();
    let (response, _) = service::handle(&STATE, &parts);
    let status = response.status().as_u16();
    assert!(
        [200, 301, 304, 404, 405, 406, 410].contains(&status),
        "status {status} for {parts:?}"
    );
    if status == 304 {
        assert!(
            response.headers().contains_key("etag"),
            "a 304 without ETag"
        );
    }
    let content_type = String::from_utf8_lossy(next()).into_owned();
    let body: Vec<u8> = lines
        .flat_map(|l| l.iter().copied().chain([b'&']))
        .collect();
    let (status, _) = HUB.request(Some(&content_type), &body);
    assert!(
        [202, 400, 403, 404, 415, 429].contains(&status.as_u16()),
        "hub status {status}"
    );
}

/// A server with a feed, a district page and an article page in memory.
static STATE: LazyLock<State> = LazyLock::new(|| {
    let config = Arc::new(CONFIG.clone());
    let mut routes = Routes::new(config.clone(), std::path::Path::new("content"));
    let when = chrono::DateTime::parse_from_rfc3339("2023-01-10T08:00:00+08:00").expect("a date");
    for (path, file, kind) in [
        ("/rss.xml", "rss.xml", Kind::Feed(FeedKind::Rss)),
        ("/xiaodian/", "xiaodian/index.html", Kind::District),
        (
            "/xiaodian/%E5%8A%B3%E6%A8%A1.html",
            "xiaodian/劳模.html",
            Kind::Article,
        ),
    ] {
        let page = Page {
            path: path.into(),
            file: file.into(),
            kind,
            body: format!("<p>{path}</p>").into_bytes(),
            last_modified: when,
        };
        routes.insert_output(&page.finish().expect("compresses"), None);
    }
    let state = State::default();
    state.routes.store(Some(Arc::new(routes)));
    state
});

/// The built-in hub, calling back only hosts that do not resolve.
static HUB: LazyLock<Arc<crier::hub::Hub>> = LazyLock::new(|| {
    static RUNTIME: LazyLock<tokio::runtime::Runtime> = LazyLock::new(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("a runtime")
    });
    // A database of this process's own: another crier's (or another
    // version's schema) is never opened; those of ended processes go.
    let tmp = std::env::temp_dir();
    if let Ok(entries) = std::fs::read_dir(&tmp) {
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let pid = name.strip_prefix("crier-fuzz-hub-");
            if pid.is_some_and(|p| !std::path::Path::new("/proc").join(p).exists()) {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
    }
    let tmp = tmp.join(format!("crier-fuzz-hub-{}", std::process::id()));
    let at = crier::database::Location::Sqlite(tmp.join("crier.db"));
    let hub = RUNTIME.block_on(async {
        let db = crier::database::Database::open(&at)
            .await
            .expect("a SQLite database in the temp folder");
        crier::hub::Hub::open(
            db,
            &tmp.join("crier-fuzz-websub.json"),
            "https://news.example.cn/websub".into(),
            vec!["hub.invalid".into()],
            crier::hub::Limits::default(),
            Arc::new(crier::metrics::Metrics::new()),
        )
        .await
    });
    hub.set_topics(["https://news.example.cn/rss.xml".to_string()]);
    Arc::new(hub)
});

/// Target 5: `crier.toml`: no panic, and every error names a key or a line.
pub fn config(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Err(e) = Config::from_toml(text, "crier.toml", &Overrides::default()) {
        let line = e
            .origin
            .rsplit_once(':')
            .is_some_and(|(_, l)| l.parse::<usize>().is_ok());
        // The key may be named in the origin: "crier.toml: key `title`".
        assert!(
            line || e.origin.contains('`') || e.message.contains('`'),
            "names neither a key nor a line: {}: {}",
            e.origin,
            e.message
        );
    }
}
