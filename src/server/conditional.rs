//! Conditional GET (RFC 9110 §13.1.2 and §13.1.3; evaluation order §13.2.2).

use std::time::SystemTime;

/// Whether an `If-None-Match` value matches `etag` (quoted, strong), by
/// weak comparison: `W/"x"` matches `"x"`; `*` matches anything.
pub fn none_match(header: &str, etag: &str) -> bool {
    let header = header.trim();
    if header == "*" {
        return true;
    }
    let mut rest = header;
    loop {
        rest = rest.trim_start_matches([' ', '\t', ',']);
        if rest.is_empty() {
            return false;
        }
        let tag_start = rest.strip_prefix("W/").unwrap_or(rest);
        let Some(body) = tag_start.strip_prefix('"') else {
            return false;
        };
        let Some(end) = body.find('"') else {
            return false;
        };
        if &tag_start[..end + 2] == etag {
            return true;
        }
        rest = &body[end + 1..];
    }
}

/// Whether `If-Modified-Since` says the client's copy is current: its date
/// is the same as or later than `last_modified` (compared as dates, to the
/// second, never as strings). An unreadable date is ignored.
pub fn not_modified_since(header: &str, last_modified: SystemTime) -> bool {
    match httpdate::parse_http_date(header.trim()) {
        Ok(since) => last_modified <= since,
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn if_none_match_lists_weak_and_star() {
        let tag = "\"abc\"";
        for yes in [
            "\"abc\"",
            "W/\"abc\"",
            "\"x\", \"abc\"",
            "\"x\",W/\"abc\"",
            "*",
            " \"abc\" ",
        ] {
            assert!(none_match(yes, tag), "{yes}");
        }
        for no in [
            "\"abcd\"",
            "abc",
            "\"ab",
            "",
            "W/",
            "\"x\", garbage \"abc\"",
            "\"ABC\"",
        ] {
            assert!(!none_match(no, tag), "{no}");
        }
    }

    #[test]
    fn if_modified_since_compares_dates() {
        let lm = SystemTime::UNIX_EPOCH + Duration::from_secs(1_673_712_000); // Sat, 14 Jan 2023 16:00:00 GMT
        assert!(not_modified_since("Sat, 14 Jan 2023 16:00:00 GMT", lm));
        assert!(not_modified_since("Sun, 15 Jan 2023 00:00:00 GMT", lm));
        assert!(!not_modified_since("Sat, 14 Jan 2023 15:59:59 GMT", lm));
        // Other HTTP date formats are dates too.
        assert!(not_modified_since("Saturday, 14-Jan-23 16:00:00 GMT", lm));
        assert!(not_modified_since("Sat Jan 14 16:00:00 2023", lm));
        assert!(!not_modified_since("yesterday", lm));
    }
}
