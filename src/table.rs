//! crier's persisted tables (`.crier-index`, the output manifest, the
//! sealed routes): one format. A header line (`MAGIC\tfield…`), rows of
//! tab-separated fields, and a trailer `end\tROWS\tCHECKSUM` over every
//! line before it. Fields escape `\`, tab and line ends. A table that is
//! cut short, garbled, of another magic (a new version) or of another
//! header is not a table: its reader gets `None`, and the table is made
//! again from what it summarises.

use std::borrow::Cow;
use std::io::Write;

use crate::fingerprint;

/// A checksum of a table's lines, fed one line at a time (so that a
/// table of tens of MB is written as it is made).
#[derive(Default)]
struct Checksum(u64);

impl Checksum {
    fn add(&mut self, line: &[u8]) {
        self.0 = self.0.rotate_left(5) ^ fingerprint::checksum(line);
    }
}

/// Writes a table to `out` as its rows come.
pub struct Writer<W: Write> {
    out: W,
    line: String,
    sum: Checksum,
    rows: usize,
}

impl<W: Write> Writer<W> {
    /// The table's header: its magic (name and version) and fields.
    pub fn new(out: W, magic: &str, header: &[&str]) -> std::io::Result<Writer<W>> {
        let mut w = Writer {
            out,
            line: String::new(),
            sum: Checksum::default(),
            rows: 0,
        };
        w.line.push_str(magic);
        for f in header {
            w.line.push('\t');
            escape(&mut w.line, f);
        }
        w.end_line()?;
        Ok(w)
    }

    /// One row of fields.
    pub fn row<'f>(&mut self, fields: impl IntoIterator<Item = &'f str>) -> std::io::Result<()> {
        for (i, f) in fields.into_iter().enumerate() {
            if i > 0 {
                self.line.push('\t');
            }
            escape(&mut self.line, f);
        }
        self.rows += 1;
        self.end_line()
    }

    fn end_line(&mut self) -> std::io::Result<()> {
        self.line.push('\n');
        self.sum.add(self.line.as_bytes());
        let written = self.out.write_all(self.line.as_bytes());
        self.line.clear();
        written
    }

    /// Writes the trailer; the number of rows.
    pub fn finish(mut self) -> std::io::Result<usize> {
        let trailer = format!("end\t{}\t{:016x}\n", self.rows, self.sum.0);
        self.out.write_all(trailer.as_bytes())?;
        self.out.flush()?;
        Ok(self.rows)
    }
}

/// A table read back and checked: its header's fields and the byte
/// range of its rows in the text.
#[derive(Debug)]
pub struct Checked<'t> {
    pub header: Vec<Cow<'t, str>>,
    pub rows: std::ops::Range<usize>,
    pub count: usize,
}

impl Checked<'_> {
    /// The rows' lines, without their line ends.
    pub fn lines<'a>(&self, text: &'a str) -> impl Iterator<Item = &'a str> {
        text[self.rows.clone()].lines()
    }
}

/// The table in `text` if it is whole and its magic is `magic`.
pub fn check<'t>(text: &'t str, magic: &str) -> Option<Checked<'t>> {
    let body_end = text.strip_suffix('\n')?.rfind('\n')? + 1;
    let (body, trailer) = text.split_at(body_end);
    let mut t = trailer.strip_suffix('\n')?.split('\t');
    let (end, count, sum) = (t.next()?, t.next()?, t.next()?);
    if end != "end" || t.next().is_some() {
        return None;
    }
    let mut lines_sum = Checksum::default();
    body.split_inclusive('\n')
        .for_each(|l| lines_sum.add(l.as_bytes()));
    if u64::from_str_radix(sum, 16).ok()? != lines_sum.0 {
        return None;
    }
    let head = body.find('\n')? + 1;
    let mut fields = body[..head - 1].split('\t');
    if fields.next()? != magic {
        return None;
    }
    let header = fields.map(unescape).collect::<Option<Vec<_>>>()?;
    let count: usize = count.parse().ok()?;
    let rows = head..body_end;
    (text[rows.clone()].matches('\n').count() == count).then_some(Checked {
        header,
        rows,
        count,
    })
}

/// Whether a field is written as it is (no `\`, tab or line end).
pub fn plain(s: &str) -> bool {
    !s.bytes()
        .any(|b| matches!(b, b'\\' | b'\t' | b'\n' | b'\r'))
}

/// Escapes `\`, tab and line ends; everything else as is.
pub fn escape(out: &mut String, s: &str) {
    if plain(s) {
        out.push_str(s);
        return;
    }
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
}

/// The field as written; `None` for an escape that [`escape`] never makes.
pub fn unescape(s: &str) -> Option<Cow<'_, str>> {
    if !s.contains('\\') {
        return Some(Cow::Borrowed(s));
    }
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        out.push(match chars.next()? {
            '\\' => '\\',
            't' => '\t',
            'n' => '\n',
            'r' => '\r',
            _ => return None,
        });
    }
    Some(Cow::Owned(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(rows: &[&[&str]]) -> String {
        let mut out = Vec::new();
        let mut w = Writer::new(&mut out, "t 1", &["a\tb", "c"]).unwrap();
        for r in rows {
            w.row(r.iter().copied()).unwrap();
        }
        assert_eq!(w.finish().unwrap(), rows.len());
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn tables_round_trip_with_any_field() {
        let text = table(&[&["x", "tab\there", "a\\b\nc\r"], &["", "中文", "end"]]);
        let t = check(&text, "t 1").unwrap();
        assert_eq!(t.header, ["a\tb", "c"]);
        assert_eq!(t.count, 2);
        let rows: Vec<Vec<String>> = t
            .lines(&text)
            .map(|l| {
                l.split('\t')
                    .map(|f| unescape(f).unwrap().into_owned())
                    .collect()
            })
            .collect();
        assert_eq!(rows[0], ["x", "tab\there", "a\\b\nc\r"]);
        assert_eq!(rows[1], ["", "中文", "end"]);
        let empty = table(&[]);
        assert_eq!(check(&empty, "t 1").unwrap().count, 0);
    }

    #[test]
    fn cut_garbled_or_foreign_tables_are_not_tables() {
        let text = table(&[&["x", "y"], &["z", "w"]]);
        assert!(check(&text, "t 2").is_none(), "another version");
        for cut in 1..text.len() {
            if text.is_char_boundary(cut) {
                assert!(check(&text[..cut], "t 1").is_none(), "cut at {cut}");
            }
        }
        let garbled = text.replacen("x\ty", "x\tY", 1);
        assert!(check(&garbled, "t 1").is_none());
        let extra = text.replacen("z\tw\n", "z\tw\nq\n", 1);
        assert!(check(&extra, "t 1").is_none());
        assert!(unescape("a\\q").is_none());
    }
}
