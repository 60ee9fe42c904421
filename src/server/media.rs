//! Answering for a media file: conditional headers, one byte range
//! (readers and podcatchers resume and seek with them), `HEAD`, and the
//! bytes streamed from the file a piece at a time, never held whole.

use std::io::{Seek, SeekFrom};
use std::ops::RangeInclusive;

use bytes::Bytes;
use futures_util::StreamExt;
use http_body_util::{BodyExt, Either, StreamBody};
use http_range_header::RangeUnsatisfiableError;
use hyper::body::Frame;
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::{Response, StatusCode};

use super::Body;
use super::routes::{MediaStored, Resource, Routes};

/// How much is read from the file at a time.
const PIECE: usize = 64 * 1024;

/// What a request's `Range` (with its `If-Range`) asks of a file of
/// `size` bytes.
#[derive(Debug, PartialEq, Eq)]
enum Wanted {
    All,
    Part(RangeInclusive<u64>),
    /// 416: no byte of the file is in the range.
    Unsatisfiable,
}

fn wanted(headers: &HeaderMap, size: u64, etag: &HeaderValue, modified: &HeaderValue) -> Wanted {
    let Some(range) = headers.get(header::RANGE).and_then(|v| v.to_str().ok()) else {
        return Wanted::All;
    };
    // A range of another version is no range: the whole file, as it is now.
    if let Some(since) = headers.get(header::IF_RANGE)
        && since != etag
        && since != modified
    {
        return Wanted::All;
    }
    let Ok(parsed) = http_range_header::parse_range_header(range) else {
        // A header that is not a range is ignored (RFC 9110, 14.2).
        return Wanted::All;
    };
    // Several ranges (overlapping or not): the whole file, which a
    // client must accept.
    if parsed.ranges.len() > 1 {
        return Wanted::All;
    }
    if size == 0 {
        return Wanted::Unsatisfiable;
    }
    match parsed.validate(size) {
        Ok(mut ranges) => ranges.pop().map_or(Wanted::All, Wanted::Part),
        // A suffix longer than the file is the whole file.
        Err(RangeUnsatisfiableError::FileSuffixOutOfBounds) => Wanted::Part(0..=size - 1),
        Err(_) => Wanted::Unsatisfiable,
    }
}

/// The answer for a media file: 200, 206, 304 or 416.
pub fn respond(
    routes: &Routes,
    resource: &Resource,
    media: &MediaStored,
    headers: &HeaderMap,
    not_modified: bool,
    head: bool,
) -> Response<Body> {
    let modified = resource.last_modified_header();
    let wanted = wanted(headers, media.size, &media.etag, &modified);
    let mut r = Response::new(Either::Left(Default::default()));
    let h = r.headers_mut();
    h.insert(header::ETAG, media.etag.clone());
    h.insert(header::LAST_MODIFIED, modified);
    let cache = resource.cache_control();
    h.insert(
        header::CACHE_CONTROL,
        cache.unwrap_or_else(|| routes.cache_control.clone()),
    );
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    if not_modified {
        *r.status_mut() = StatusCode::NOT_MODIFIED;
        return r;
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    // An SVG may hold script: shown as a picture, never run as a page.
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'; sandbox"),
    );
    let range = match wanted {
        Wanted::Unsatisfiable => {
            let all = format!("bytes */{}", media.size);
            h.insert(header::CONTENT_RANGE, header_value(&all));
            h.insert(header::CONTENT_LENGTH, HeaderValue::from(0));
            *r.status_mut() = StatusCode::RANGE_NOT_SATISFIABLE;
            return r;
        }
        Wanted::All => None,
        Wanted::Part(range) => Some(range),
    };
    let (start, len) = match &range {
        Some(r) => (*r.start(), r.end() - r.start() + 1),
        None => (0, media.size),
    };
    if let Some(part) = &range {
        *r.status_mut() = StatusCode::PARTIAL_CONTENT;
        let shown = format!("bytes {}-{}/{}", part.start(), part.end(), media.size);
        r.headers_mut()
            .insert(header::CONTENT_RANGE, header_value(&shown));
    }
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, media.content_type.clone());
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    if head {
        return r;
    }
    match stream(media, start, len) {
        Ok(body) => *r.body_mut() = body,
        Err(e) => {
            tracing::error!("{}: cannot read this media file: {e}", media.file.display());
            let mut failed = Response::new(Either::Left(Default::default()));
            *failed.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
            failed
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
            return failed;
        }
    }
    r
}

fn header_value(s: &str) -> HeaderValue {
    HeaderValue::from_str(s).unwrap_or(HeaderValue::from_static(""))
}

/// `len` bytes of the file from `start`, read a piece at a time as the
/// client takes them.
fn stream(media: &MediaStored, start: u64, len: u64) -> std::io::Result<Body> {
    let mut file = std::fs::File::open(&media.file)?;
    file.seek(SeekFrom::Start(start))?;
    let file = tokio::io::AsyncReadExt::take(tokio::fs::File::from_std(file), len);
    let pieces = tokio_util::io::ReaderStream::with_capacity(file, PIECE);
    let frames = pieces.map(|piece: std::io::Result<Bytes>| piece.map(Frame::data));
    Ok(Either::Right(StreamBody::new(frames).boxed_unsync()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ask(range: &str, if_range: Option<&str>) -> Wanted {
        let mut h = HeaderMap::new();
        h.insert(header::RANGE, HeaderValue::from_str(range).unwrap());
        if let Some(v) = if_range {
            h.insert(header::IF_RANGE, HeaderValue::from_str(v).unwrap());
        }
        let etag = HeaderValue::from_static("\"abc\"");
        let date = HeaderValue::from_static("Tue, 10 Jan 2023 08:00:00 GMT");
        wanted(&h, 1000, &etag, &date)
    }

    #[test]
    fn ranges_as_rfc_9110_says() {
        assert_eq!(ask("bytes=0-99", None), Wanted::Part(0..=99));
        assert_eq!(ask("bytes=900-", None), Wanted::Part(900..=999));
        assert_eq!(ask("bytes=-100", None), Wanted::Part(900..=999));
        assert_eq!(ask("bytes=-5000", None), Wanted::Part(0..=999));
        assert_eq!(ask("bytes=500-5000", None), Wanted::Part(500..=999));
        assert_eq!(ask("bytes=1000-", None), Wanted::Unsatisfiable);
        assert_eq!(ask("bytes=0-1,5-9", None), Wanted::All);
        assert_eq!(ask("bytes=0-0,0-0,0-0", None), Wanted::All);
        assert_eq!(ask("lines=1-2", None), Wanted::All);
        assert_eq!(ask("bytes=0-99", Some("\"abc\"")), Wanted::Part(0..=99));
        assert_eq!(ask("bytes=0-99", Some("\"old\"")), Wanted::All);
    }
}
