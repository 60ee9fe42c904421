//! The request pipeline: one linear pass from request to response, for
//! every request: method, path, encoding, preconditions, then the access
//! log and /metrics. The only file read is a page or archive document, by
//! the name the route table gives; the only body read is a form POSTed to
//! the built-in hub.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Instant;

use arc_swap::ArcSwapOption;
use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{self, HeaderMap, HeaderName, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};

use super::conditional;
use super::negotiate;
use super::negotiate::Coding;
use super::routes::{Answer, Resource, Routes, Stored};
use crate::metrics::{Metrics, RequestLabels, Route};
use crate::output::BuildError;

pub use super::Body;

fn full(bytes: Bytes) -> Body {
    http_body_util::Either::Left(Full::new(bytes))
}

fn empty() -> Body {
    http_body_util::Either::Left(Full::default())
}

/// Answers a form POSTed to one path (the built-in WebSub hub): given
/// the request's content type and body, a status and a line of text.
pub trait FormHandler: Send + Sync {
    fn path(&self) -> &str;
    /// Largest body read; a bigger one gets 413.
    fn max_body(&self) -> usize;
    fn handle(&self, content_type: Option<&str>, body: &[u8]) -> (StatusCode, &'static str);
}

/// What the server shares between connections: the current routes,
/// swapped whole on every build, the metrics, and the form handler.
#[derive(Default)]
pub struct State {
    pub routes: ArcSwapOption<Routes>,
    pub metrics: Arc<Metrics>,
    pub form: Option<Arc<dyn FormHandler>>,
    /// Who reads each feed.
    pub readers: Arc<crate::readers::Readers>,
    /// Who may read the readers' figures at `/stats/`, when anyone may.
    pub stats_token: Option<super::stats::Token>,
}

const VARY: HeaderValue = HeaderValue::from_static("accept-encoding");
const NO_STORE: HeaderValue = HeaderValue::from_static("no-store");
const TEXT: HeaderValue = HeaderValue::from_static("text/plain; charset=utf-8");
const NOSNIFF: HeaderValue = HeaderValue::from_static("nosniff");

/// Answers one request from `client` and records it in the access log,
/// the metrics and the feeds' readers.
pub async fn respond(
    state: &State,
    req: Request<hyper::body::Incoming>,
    client: std::net::IpAddr,
) -> Response<Body> {
    let started = Instant::now();
    let (parts, body) = req.into_parts();
    let (response, route) = match &state.form {
        Some(form) if parts.method == Method::POST && parts.uri.path() == form.path() => {
            (post(form.as_ref(), &parts, body).await, Route::WebSub)
        }
        _ => handle(state, &parts),
    };
    record(state, &parts, &response, route, started);
    if route == Route::Feed && matches!(response.status().as_u16(), 200 | 304) {
        count_reader(state, &parts, client);
    }
    response
}

/// A feed fetched: a reader of it, or an aggregator's report. The feed
/// is named by its decoded path (no allocation for an ASCII one), so
/// that spellings of one path are one feed.
fn count_reader(state: &State, req: &hyper::http::request::Parts, client: std::net::IpAddr) {
    let agent = req
        .headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let feed = percent_encoding::percent_decode_str(req.uri.path()).decode_utf8_lossy();
    state
        .readers
        .fetched(&feed, client, agent, &state.metrics.readers);
}

/// Reads a form (up to the handler's limit) and hands it over.
async fn post(
    form: &dyn FormHandler,
    parts: &hyper::http::request::Parts,
    body: hyper::body::Incoming,
) -> Response<Body> {
    use http_body_util::{BodyExt, Limited};
    let content_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let (status, text) = match Limited::new(body, form.max_body()).collect().await {
        Ok(b) => form.handle(content_type, &b.to_bytes()),
        Err(_) => (
            StatusCode::PAYLOAD_TOO_LARGE,
            "the request is too large for a subscription",
        ),
    };
    let mut r = with_body(status, Bytes::from(format!("{text}\n")), false);
    r.headers_mut().insert(header::CONTENT_TYPE, TEXT);
    r.headers_mut().insert(header::CACHE_CONTROL, NO_STORE);
    r
}

fn record(
    state: &State,
    req: &hyper::http::request::Parts,
    response: &Response<Body>,
    route: Route,
    started: Instant,
) {
    let status = response.status().as_u16();
    let bytes = if req.method == Method::HEAD {
        0
    } else {
        response.body().size_hint_exact().unwrap_or_else(|| {
            // A stream: what its length says.
            response
                .headers()
                .get(header::CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok()?.parse().ok())
                .unwrap_or(0)
        })
    };
    let m = &state.metrics;
    m.requests
        .get_or_create(&RequestLabels { route, status })
        .inc();
    m.bytes_sent.inc_by(bytes);
    if status == 304 {
        m.not_modified.inc();
    }
    tracing::info!(
        target: "crier::access",
        method = req.method.as_str(),
        path = req.uri.path(),
        status,
        bytes,
        micros = started.elapsed().as_micros() as u64,
    );
}

trait ExactSize {
    fn size_hint_exact(&self) -> Option<u64>;
}

impl ExactSize for Body {
    fn size_hint_exact(&self) -> Option<u64> {
        hyper::body::Body::size_hint(self).exact()
    }
}

/// The answer to a GET, HEAD or other non-form request, and its route
/// kind: no I/O but reading a file crier wrote (public for the fuzzer).
/// The steps, each a function below: the method, crier's own paths,
/// the route, the encoding, the bytes, the conditional headers.
pub fn handle(state: &State, req: &hyper::http::request::Parts) -> (Response<Body>, Route) {
    let head = req.method == Method::HEAD;
    if req.method != Method::GET && !head {
        let mut r = plain(
            StatusCode::METHOD_NOT_ALLOWED,
            "method not allowed: use GET or HEAD\n",
            head,
        );
        r.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return (r, Route::Other);
    }
    let routes = state.routes.load();
    if let Some(answer) = own_path(state, req, routes.is_some(), head) {
        return answer;
    }
    let Some(routes) = routes.as_ref() else {
        let mut r = plain(
            StatusCode::SERVICE_UNAVAILABLE,
            "the site is being built; try again shortly\n",
            head,
        );
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
        return (r, Route::Other);
    };
    let resource = match resource(routes, req.uri.path(), head) {
        Ok(r) => r,
        Err(answer) => return *answer,
    };
    let headers = &req.headers;
    let Some(coding) = negotiate::choose(joined(headers, header::ACCEPT_ENCODING).as_deref())
    else {
        let mut r = plain(
            StatusCode::NOT_ACCEPTABLE,
            "no acceptable encoding: br, gzip or identity\n",
            head,
        );
        r.headers_mut().insert(header::VARY, VARY);
        return (r, resource.route());
    };
    if let Stored::File(media) = &resource.stored {
        let not_modified = not_modified(headers, &media.etag, &resource);
        let r = super::media::respond(routes, &resource, media, headers, not_modified, head);
        return (r, resource.route());
    }
    let (body, etag, coding) = match bytes(state, routes, &resource.stored, coding, head) {
        Ok(found) => found,
        Err(r) => return (*r, resource.route()),
    };
    let not_modified = not_modified(headers, &etag, &resource);
    let r = answer_with(
        routes,
        &resource,
        body,
        etag.into_owned(),
        coding,
        not_modified,
        head,
    );
    (r, resource.route())
}

/// Whether the client has these bytes: `If-None-Match`, else
/// `If-Modified-Since`.
fn not_modified(headers: &HeaderMap, etag: &HeaderValue, resource: &Resource) -> bool {
    match joined(headers, header::IF_NONE_MATCH) {
        Some(inm) => conditional::none_match(&inm, etag.to_str().unwrap_or_default()),
        None => headers
            .get(header::IF_MODIFIED_SINCE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ims| conditional::not_modified_since(ims, resource.last_modified)),
    }
}

/// A response made before the resource's bytes, with its route kind.
type Answered = (Response<Body>, Route);

/// `/healthz` and `/metrics`, which are crier's, not the site's.
fn own_path(
    state: &State,
    req: &hyper::http::request::Parts,
    built: bool,
    head: bool,
) -> Option<Answered> {
    match req.uri.path() {
        "/healthz" if built => Some((plain(StatusCode::OK, "ok\n", head), Route::Health)),
        "/healthz" => Some((
            plain(StatusCode::SERVICE_UNAVAILABLE, "building\n", head),
            Route::Health,
        )),
        "/metrics" => {
            state.readers.publish(&state.metrics.readers);
            let mut r = with_body(StatusCode::OK, state.metrics.encode().into(), head);
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(
                    "application/openmetrics-text; version=1.0.0; charset=utf-8",
                ),
            );
            r.headers_mut().insert(header::CACHE_CONTROL, NO_STORE);
            Some((r, Route::Metrics))
        }
        path if path == "/stats" || path.starts_with("/stats/") => {
            stats(state, req, head).map(|r| (r, Route::Stats))
        }
        _ => None,
    }
}

/// The readers' figures, for the holder of the stats token.
fn stats(state: &State, req: &hyper::http::request::Parts, head: bool) -> Option<Response<Body>> {
    let title = || {
        let routes = state.routes.load();
        routes
            .as_ref()
            .map_or("crier".into(), |r| r.config().title.clone())
    };
    let a = super::stats::answer(
        state.stats_token.as_ref(),
        req.uri.path(),
        req.headers.get(header::AUTHORIZATION),
        state.readers.figures(),
        title,
    )?;
    let mut r = with_body(a.status, a.body, head);
    let headers = r.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(a.content_type),
    );
    // A private page: no cache keeps it.
    headers.insert(header::CACHE_CONTROL, NO_STORE);
    if let Some((name, value)) = a.header {
        headers.insert(name, value);
    }
    Some(r)
}

/// The resource at `path`, or the answer when there is none: a redirect,
/// 410 for a retired district, 404.
fn resource<'r>(
    routes: &'r Routes,
    path: &str,
    head: bool,
) -> Result<Cow<'r, Arc<Resource>>, Box<Answered>> {
    let (status, text, location, route) = match routes.answer(path) {
        Answer::Resource(r) => return Ok(r),
        Answer::Slash(to) => (
            StatusCode::MOVED_PERMANENTLY,
            "moved\n",
            Some(to),
            Route::Redirect,
        ),
        Answer::Moved(to) => (
            StatusCode::MOVED_PERMANENTLY,
            "moved for good: update your subscription\n",
            Some(to.clone()),
            Route::Redirect,
        ),
        Answer::Gone => (
            StatusCode::GONE,
            "this feed is retired and will not come back: unsubscribe\n",
            None,
            Route::Gone,
        ),
        Answer::NotFound => {
            let r = plain(StatusCode::NOT_FOUND, "not found\n", head);
            return Err(Box::new((r, Route::NotFound)));
        }
    };
    let mut r = plain(status, text, head);
    if let Some(to) = location {
        r.headers_mut().insert(header::LOCATION, to);
    }
    r.headers_mut()
        .insert(header::CACHE_CONTROL, routes.cache_control.clone());
    Err(Box::new((r, route)))
}

/// The bytes of a resource in `coding` (or identity, for a file that has
/// no sibling in it) with their ETag: from memory, rendered on request,
/// or read from its file.
fn bytes<'s>(
    state: &State,
    routes: &Routes,
    stored: &'s Stored,
    coding: Coding,
    head: bool,
) -> Result<(Bytes, Cow<'s, HeaderValue>, Coding), Box<Response<Body>>> {
    match stored {
        Stored::Memory(v) => {
            let v = v.get(coding);
            Ok((v.body.clone(), Cow::Borrowed(&v.etag), coding))
        }
        Stored::Lazy(lazy) => match routes.render(lazy) {
            Ok(v) => {
                let v = v.get(coding);
                Ok((v.body.clone(), Cow::Owned(v.etag.clone()), coding))
            }
            Err(e) => Err(Box::new(unrendered(state, &e, head))),
        },
        // Answered before (see `media`).
        Stored::File(_) => Err(Box::new(try_later(head))),
        Stored::Disk(file) => match read_page(file, coding) {
            Some((body, coding)) => {
                let tag = crate::fingerprint::etag(&body);
                let tag = HeaderValue::from_str(&tag).unwrap_or(HeaderValue::from_static("\"\""));
                Ok((body, Cow::Owned(tag), coding))
            }
            None => Err(Box::new(try_later(head))),
        },
    }
}

/// 200 or 304 with the resource's headers.
fn answer_with(
    routes: &Routes,
    resource: &Resource,
    body: Bytes,
    etag: HeaderValue,
    coding: Coding,
    not_modified: bool,
    head: bool,
) -> Response<Body> {
    let length = body.len();
    let mut r = if not_modified || head {
        Response::new(empty())
    } else {
        Response::new(full(body))
    };
    *r.status_mut() = if not_modified {
        StatusCode::NOT_MODIFIED
    } else {
        StatusCode::OK
    };
    let h = r.headers_mut();
    h.insert(header::ETAG, etag);
    h.insert(header::LAST_MODIFIED, resource.last_modified_header());
    h.insert(
        header::CACHE_CONTROL,
        resource
            .cache_control()
            .unwrap_or_else(|| routes.cache_control.clone()),
    );
    h.insert(header::VARY, VARY);
    if let Some(link) = &resource.link {
        h.insert(header::LINK, (**link).clone());
    }
    if !not_modified {
        h.insert(header::CONTENT_TYPE, resource.content_type());
        h.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
        h.insert(header::X_CONTENT_TYPE_OPTIONS, NOSNIFF);
        if let Some(enc) = coding.header() {
            h.insert(header::CONTENT_ENCODING, HeaderValue::from_static(enc));
        }
    }
    r
}

fn try_later(head: bool) -> Response<Body> {
    let mut r = plain(
        StatusCode::SERVICE_UNAVAILABLE,
        "this page cannot be read right now; try again shortly\n",
        head,
    );
    r.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
    r
}

/// A page that could not be rendered on request: logged and counted. An
/// article file that changed since it was read is about to be read again
/// (503, try again); anything else is the server's fault (500).
fn unrendered(state: &State, e: &BuildError, head: bool) -> Response<Body> {
    if let BuildError::Source { .. } = e {
        tracing::warn!("{e}");
        return try_later(head);
    }
    tracing::error!("{e}");
    state.metrics.build_errors.inc();
    plain(
        StatusCode::INTERNAL_SERVER_ERROR,
        "this page cannot be made; the log says why\n",
        head,
    )
}

/// Reads a page from the output folder: the file of `coding`, else the
/// uncompressed one. Its ETag is computed from the bytes read, so it is
/// right even while a rebuild replaces the file.
fn read_page(file: &std::path::Path, coding: Coding) -> Option<(Bytes, Coding)> {
    if coding != Coding::Identity {
        let name = crate::output::sibling_for(file, coding.header());
        if let Ok(bytes) = std::fs::read(&name) {
            return Some((bytes.into(), coding));
        }
    }
    match std::fs::read(file) {
        Ok(bytes) => Some((bytes.into(), Coding::Identity)),
        Err(e) => {
            tracing::error!(
                "{}: cannot read this article page ({e}); was the output folder changed by hand? `crier build` writes it again",
                file.display()
            );
            None
        }
    }
}

/// All values of a header joined by commas (borrowed when there is one);
/// `None` if absent or not text.
fn joined(headers: &HeaderMap, name: HeaderName) -> Option<Cow<'_, str>> {
    let mut values = headers.get_all(name).iter();
    let first = Cow::Borrowed(values.next()?.to_str().ok()?);
    values.try_fold(first, |acc, v| {
        Some(Cow::Owned(format!("{acc}, {}", v.to_str().ok()?)))
    })
}

fn with_body(status: StatusCode, body: Bytes, head: bool) -> Response<Body> {
    let len = body.len();
    let mut r = Response::new(if head { empty() } else { full(body) });
    *r.status_mut() = status;
    r.headers_mut()
        .insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    r
}

fn plain(status: StatusCode, text: &'static str, head: bool) -> Response<Body> {
    let mut r = with_body(status, Bytes::from_static(text.as_bytes()), head);
    r.headers_mut().insert(header::CONTENT_TYPE, TEXT);
    r.headers_mut().insert(header::CACHE_CONTROL, NO_STORE);
    r
}
