//! gzip and brotli, done once per build. Both are deterministic (gzip with
//! mtime 0), so every replica produces the same bytes and the same ETags.

use std::io::Write;

pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(
        Vec::with_capacity(data.len() / 3 + 64),
        flate2::Compression::best(),
    );
    // Writing to a Vec cannot fail.
    let _ = enc.write_all(data);
    enc.finish().unwrap_or_default()
}

/// How hard brotli works: feeds are fetched over and over by aggregators,
/// so they get the smallest encoding; an article page is fetched a few
/// times, and at archive scale there are hundreds of thousands of them.
#[derive(Debug, Clone, Copy)]
pub enum Effort {
    Max,
    Fast,
}

pub fn brotli(data: &[u8], effort: Effort) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() / 3 + 64);
    let params = brotli::enc::BrotliEncoderParams {
        quality: match effort {
            Effort::Max => 11,
            Effort::Fast => 6,
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
        let gz = gzip(text.as_bytes());
        assert_eq!(gz, gzip(text.as_bytes()));
        let mut back = String::new();
        flate2::read::GzDecoder::new(&gz[..])
            .read_to_string(&mut back)
            .unwrap();
        assert_eq!(back, text);

        let br = brotli(text.as_bytes(), Effort::Max);
        assert_eq!(br, brotli(text.as_bytes(), Effort::Max));
        assert!(brotli(text.as_bytes(), Effort::Fast).len() < text.len() / 5);
        let mut back = Vec::new();
        brotli::BrotliDecompress(&mut &br[..], &mut back).unwrap();
        assert_eq!(back, text.as_bytes());
        assert!(br.len() < text.len() / 10 && gz.len() < text.len() / 5);
    }
}
