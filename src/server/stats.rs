//! `/stats/` and `/stats/subscribers.json`: the readers' figures (as of
//! the last minute's flush), for whoever holds the stats token
//! (`Authorization: Bearer …`). With no token set they are not there
//! (the site's own answer, 404); a missing or wrong one gets 401.

use std::sync::Arc;

use bytes::Bytes;
use hyper::StatusCode;
use hyper::header::{self, HeaderName, HeaderValue};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::readers::Figures;

pub const PAGE: &str = "/stats/";
pub const JSON: &str = "/stats/subscribers.json";

/// The stats token, kept as its hash: comparing two hashes of one length
/// in constant time tells a client nothing of the token, not even its
/// length.
pub struct Token([u8; 32]);

impl Token {
    pub fn new(token: &str) -> Token {
        Token(Sha256::digest(token.as_bytes()).into())
    }

    fn admits(&self, authorization: Option<&HeaderValue>) -> bool {
        // The scheme's name is case-insensitive (RFC 9110 11.1).
        let given = authorization.and_then(|v| {
            let v = v.as_bytes();
            let scheme = v.get(..7)?;
            scheme.eq_ignore_ascii_case(b"bearer ").then(|| &v[7..])
        });
        let Some(given) = given else {
            return false;
        };
        let given: [u8; 32] = Sha256::digest(given.trim_ascii()).into();
        self.0.ct_eq(&given).into()
    }
}

/// An answer under `/stats`, made into a response (never cached) by the
/// request's pipeline.
pub struct Answer {
    pub status: StatusCode,
    pub body: Bytes,
    pub content_type: &'static str,
    pub header: Option<(HeaderName, HeaderValue)>,
}

fn text(status: StatusCode, text: &'static str) -> Answer {
    Answer {
        status,
        body: Bytes::from_static(text.as_bytes()),
        content_type: "text/plain; charset=utf-8",
        header: None,
    }
}

/// The answer to `path` (under `/stats`) for a request with
/// `authorization`, given the token and what the figures are; none when
/// no token is set.
pub fn answer(
    token: Option<&Token>,
    path: &str,
    authorization: Option<&HeaderValue>,
    figures: Arc<Figures>,
    title: impl FnOnce() -> String,
) -> Option<Answer> {
    let token = token?;
    if !token.admits(authorization) {
        let mut a = text(
            StatusCode::UNAUTHORIZED,
            "the readers' figures need Authorization: Bearer <stats_token>\n",
        );
        a.header = Some((
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"crier stats\""),
        ));
        return Some(a);
    }
    Some(match path {
        "/stats" => {
            let mut a = text(StatusCode::MOVED_PERMANENTLY, "moved to /stats/\n");
            a.header = Some((header::LOCATION, HeaderValue::from_static(PAGE)));
            a
        }
        PAGE => match crate::readers::html(&figures, &title()) {
            Ok(page) => Answer {
                status: StatusCode::OK,
                body: Bytes::from(page),
                content_type: "text/html; charset=utf-8",
                header: None,
            },
            Err(e) => {
                tracing::error!("cannot render /stats/: {e}");
                text(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "cannot render the figures\n",
                )
            }
        },
        JSON => Answer {
            status: StatusCode::OK,
            body: Bytes::from(crate::readers::json(&figures)),
            content_type: "application/json",
            header: None,
        },
        _ => text(StatusCode::NOT_FOUND, "not found\n"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_token_admits() {
        let t = Token::new("s3cret-token-of-the-newsroom");
        let admits = |v: &[u8]| t.admits(HeaderValue::from_bytes(v).ok().as_ref());
        assert!(admits(b"Bearer s3cret-token-of-the-newsroom"));
        assert!(admits(b"bearer s3cret-token-of-the-newsroom "));
        for bad in [
            &b"Bearer "[..],
            b"Bearer",
            b"Basic s3cret-token-of-the-newsroom",
            b"s3cret-token-of-the-newsroom",
            b"Bearer s3cret-token-of-the-newsroo",
            b"Bearer s3cret-token-of-the-newsroomX",
            b"Bearer \xff\xfe",
        ] {
            assert!(!admits(bad), "{bad:?}");
        }
        assert!(!t.admits(None));
    }
}
