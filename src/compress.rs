//! gzip and brotli, done once per build. Both are deterministic (libdeflate
//! writes gzip with mtime 0), so every replica produces the same bytes and
//! the same ETags. Google's C brotli and libdeflate, not the Rust ports:
//! on 3,000 article pages of 3.9 KB, C brotli at quality 1 took 27 µs a
//! page against the Rust port's 47 µs (for 3% fewer bytes), and libdeflate
//! at level 1 18 µs against miniz's 26; compression is most of a build.

use std::cell::RefCell;

use brotlic::{CompressionMode, Quality, WindowSize};
use libdeflater::{CompressionLvl, Compressor, Decompressor};
use sha2::{Digest, Sha256};

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

/// A compressor that failed: the output is an error, never an empty body.
pub type Error = std::io::Error;

const GZIP_FAST: i32 = 1;
const GZIP_BEST: i32 = 6;
const BROTLI_FAST: u8 = 1;
const BROTLI_BEST: u8 = 6;

thread_local! {
    /// One libdeflate compressor per thread and level: each holds a few
    /// hundred KB of tables, more to allocate than a page is to compress.
    static DEFLATE_FAST: RefCell<Option<Compressor>> = const { RefCell::new(None) };
    static DEFLATE_BEST: RefCell<Option<Compressor>> = const { RefCell::new(None) };
}

pub fn gzip(data: &[u8], effort: Effort) -> Result<Vec<u8>, Error> {
    let (cell, level) = match effort {
        Effort::Fast => (&DEFLATE_FAST, GZIP_FAST),
        Effort::Best => (&DEFLATE_BEST, GZIP_BEST),
    };
    cell.with_borrow_mut(|c| {
        let c = match c {
            Some(c) => c,
            None => {
                let level = CompressionLvl::new(level)
                    .map_err(|e| Error::other(format!("gzip level {level}: {e:?}")))?;
                c.insert(Compressor::new(level))
            }
        };
        let mut out = vec![0; c.gzip_compress_bound(data.len())];
        let len = c
            .gzip_compress(data, &mut out)
            .map_err(|e| Error::other(format!("gzip: {e}")))?;
        out.truncate(len);
        Ok(out)
    })
}

/// Brotli at quality 6 and gzip at level 6 for feeds. Feeds are
/// re-compressed on every live update, so the level is what keeps a saved
/// file visible within milliseconds: on a 134 KB feed, brotli 6 takes a
/// third of the time of quality 9 for 3% more bytes, and quality 11 ten
/// times longer still.
pub fn brotli(data: &[u8], effort: Effort) -> Result<Vec<u8>, Error> {
    let (quality, window) = match effort {
        Effort::Best => (BROTLI_BEST, window_bits(data.len()).max(BEST_MIN_WINDOW)),
        Effort::Fast => (BROTLI_FAST, window_bits(data.len())),
    };
    let quality = Quality::new(quality).map_err(|e| Error::other(format!("brotli: {e}")))?;
    let window = WindowSize::new(window).map_err(|e| Error::other(format!("brotli: {e}")))?;
    // BrotliEncoderMaxCompressedSize: the input, 4 bytes per 16 KB block
    // and a few more; the one-shot encoder stores a block raw rather than
    // let it grow.
    let mut out = vec![0; data.len() + (data.len() >> 14) * 4 + 16];
    let len = brotlic::compress(data, &mut out, quality, window, CompressionMode::Generic)
        .map_err(|e| Error::other(format!("brotli: {e}")))?;
    out.truncate(len);
    Ok(out)
}

/// `gz` and `br` decompressed, if both give exactly `page`: how a rebuild
/// trusts siblings it finds on disk instead of compressing again.
pub fn both_decode_to(gz: &[u8], br: &[u8], page: &[u8]) -> bool {
    // One byte more than the page: a longer stream fails to fit or shows.
    let mut back = vec![0; page.len() + 1];
    let gz_ok = Decompressor::new()
        .gzip_decompress(gz, &mut back)
        .is_ok_and(|n| back.get(..n) == Some(page));
    gz_ok && brotlic::decompress(br, &mut back).is_ok_and(|n| back.get(..n) == Some(page))
}

/// What these encoders make, as a key: the hash of a sample compressed
/// at every effort. Siblings found on disk are reused only when the
/// folder was finished under the same key (see `store`): otherwise a new
/// encoder version, linked into a new binary, would keep the old bytes
/// beside pages it compressed itself, and replicas would disagree on
/// ETags. `None` if the sample does not compress.
pub fn identity() -> Option<&'static str> {
    static KEY: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    KEY.get_or_init(|| {
        let sample: String = (0..4000u32)
            .map(|i| char::from_u32(0x4e00 + (i * 7919) % 3000).unwrap_or('x'))
            .chain("<p>crier 太原</p>\n".repeat(300).chars())
            .collect();
        let mut h = Sha256::new();
        for effort in [Effort::Fast, Effort::Best] {
            h.update(gzip(sample.as_bytes(), effort).ok()?);
            h.update(brotli(sample.as_bytes(), effort).ok()?);
        }
        Some(crate::fingerprint::hex(&crate::fingerprint::finish(h)))
    })
    .as_deref()
}

/// Below an 18-bit window, brotli's qualities 5 to 9 take another hasher
/// whose tables cost milliseconds to clear: a 12 KB index page took
/// 3.6 ms at a 14-bit window and 0.3 ms at 18, for the same size.
const BEST_MIN_WINDOW: u8 = 18;

/// The smallest brotli window that holds all of `len` bytes (10 to 22
/// bits): the same compression as a larger one, with smaller tables to
/// clear on every call.
fn window_bits(len: usize) -> u8 {
    let mut bits = 10;
    while bits < 22 && (1usize << bits) - 16 < len {
        bits += 1;
    }
    bits
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn gunzip(gz: &[u8]) -> Vec<u8> {
        let mut back = Vec::new();
        flate2::read::GzDecoder::new(gz)
            .read_to_end(&mut back)
            .unwrap();
        back
    }

    #[test]
    fn round_trips_and_is_deterministic() {
        let long = "太原新闻 ".repeat(500);
        let noise: String = (0..70_000u32)
            .map(|i| char::from_u32(0x4e00 + (i * 7919) % 20_000).unwrap_or('x'))
            .collect();
        for effort in [Effort::Best, Effort::Fast] {
            // Bytes that do not compress: the output buffers must hold
            // them stored.
            let mut x = 1u64;
            let random: Vec<u8> = (0..100_000)
                .map(|_| {
                    x = x
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    (x >> 56) as u8
                })
                .collect();
            for text in [
                b"".as_slice(),
                b"a",
                long.as_bytes(),
                noise.as_bytes(),
                &random,
            ] {
                let gz = gzip(text, effort).unwrap();
                assert_eq!(gunzip(&gz), text, "{effort:?}");
                let br = brotli(text, effort).unwrap();
                let mut back = Vec::new();
                brotli::BrotliDecompress(&mut &br[..], &mut back).unwrap();
                assert_eq!(back, text);
                assert!(both_decode_to(&gz, &br, text));
            }
            // The same bytes whatever was compressed before (the fast
            // path reuses its state).
            let first = gzip(long.as_bytes(), effort).unwrap();
            gzip(noise.as_bytes(), effort).unwrap();
            assert_eq!(gzip(long.as_bytes(), effort).unwrap(), first);
            assert_eq!(
                brotli(long.as_bytes(), effort).unwrap(),
                brotli(long.as_bytes(), effort).unwrap()
            );
            assert!(first.len() < long.len() / 5);
        }
    }

    #[test]
    fn siblings_are_trusted_only_when_both_decode_to_the_page() {
        let page = "<p>太原新闻</p>".repeat(300);
        let other = "<p>晋阳新闻</p>".repeat(300);
        for effort in [Effort::Best, Effort::Fast] {
            let gz = gzip(page.as_bytes(), effort).unwrap();
            let br = brotli(page.as_bytes(), effort).unwrap();
            assert!(both_decode_to(&gz, &br, page.as_bytes()));
            assert!(!both_decode_to(&gz, &br, other.as_bytes()));
            assert!(!both_decode_to(&gz, &br, &page.as_bytes()[1..]));
            let other_br = brotli(other.as_bytes(), effort).unwrap();
            assert!(!both_decode_to(&gz, &other_br, page.as_bytes()));
            let cut = &gz[..gz.len() - 3];
            assert!(!both_decode_to(cut, &br, page.as_bytes()));
            assert!(!both_decode_to(&gz, b"", page.as_bytes()));
        }
    }
}
