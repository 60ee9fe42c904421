//! gzip and brotli, done once per build. Both are deterministic (gzip with
//! mtime 0), so every replica produces the same bytes and the same ETags.

use std::io::Write;

/// How hard to compress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effort {
    /// Feeds and index pages: fetched over and over, re-compressed on
    /// every change.
    Best,
    /// Article pages: an archive has a hundred thousand, each fetched a
    /// few times; this is most of a full build's work.
    Fast,
}

pub fn gzip(data: &[u8], effort: Effort) -> Vec<u8> {
    let level = match effort {
        Effort::Best => flate2::Compression::default(),
        Effort::Fast => flate2::Compression::new(GZIP_FAST),
    };
    let mut enc = flate2::write::GzEncoder::new(Vec::with_capacity(data.len() / 3 + 64), level);
    // Writing to a Vec cannot fail.
    let _ = enc.write_all(data);
    enc.finish().unwrap_or_default()
}

const GZIP_FAST: u32 = 1;
const BROTLI_FAST: i32 = 4;

/// Brotli at quality 6 and gzip at its default level. Feeds are
/// re-compressed on every live update, so the level is what keeps a saved
/// file visible within milliseconds: on a 134 KB feed, brotli 6 takes a
/// third of the time of quality 9 (whose hash tables alone are 32 MB to
/// clear per call) for 3% more bytes, and quality 11 ten times longer
/// still; gzip's best level saves 0.1% over its default.
pub fn brotli(data: &[u8], effort: Effort) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() / 3 + 64);
    let params = brotli::enc::BrotliEncoderParams {
        quality: match effort {
            Effort::Best => 6,
            Effort::Fast => BROTLI_FAST,
        },
        lgwin: 22,
        ..Default::default()
    };
    let _ = brotli::BrotliCompress(&mut &data[..], &mut out, &params);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn round_trips_and_is_deterministic() {
        let text = "太原新闻 ".repeat(500);
        let gz = gzip(text.as_bytes(), Effort::Best);
        assert_eq!(gz, gzip(text.as_bytes(), Effort::Best));
        let mut back = String::new();
        flate2::read::GzDecoder::new(&gz[..])
            .read_to_string(&mut back)
            .unwrap();
        assert_eq!(back, text);

        let br = brotli(text.as_bytes(), Effort::Best);
        assert_eq!(br, brotli(text.as_bytes(), Effort::Best));
        let mut back = Vec::new();
        brotli::BrotliDecompress(&mut &br[..], &mut back).unwrap();
        assert_eq!(back, text.as_bytes());
        assert!(br.len() < text.len() / 10 && gz.len() < text.len() / 5);
    }
}
