//! gzip and brotli, done once per build. Both are deterministic (gzip with
//! mtime 0), so every replica produces the same bytes and the same ETags.

use std::cell::RefCell;

use flate2::{Compress, FlushCompress, Status};

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

pub fn gzip(data: &[u8], effort: Effort) -> Result<Vec<u8>, Error> {
    match effort {
        Effort::Fast => DEFLATE_FAST.with_borrow_mut(|c| gzip_with(c, 4, data)),
        Effort::Best => DEFLATE_BEST.with_borrow_mut(|c| gzip_with(c, 0, data)),
    }
}

const GZIP_FAST: u32 = 1;
const BROTLI_FAST: i32 = 1;

thread_local! {
    /// One deflate state per thread and level, reset for each page: a new
    /// one is hundreds of KB to allocate and clear, more than compressing
    /// a page.
    static DEFLATE_FAST: RefCell<Compress> =
        RefCell::new(Compress::new(flate2::Compression::new(GZIP_FAST), false));
    static DEFLATE_BEST: RefCell<Compress> =
        RefCell::new(Compress::new(flate2::Compression::default(), false));
}

/// gzip (RFC 1952) around raw deflate, the header as flate2 writes it:
/// mtime 0, the level's `xfl` flag, OS unknown.
fn gzip_with(c: &mut Compress, xfl: u8, data: &[u8]) -> Result<Vec<u8>, Error> {
    let mut out = Vec::with_capacity(data.len() / 3 + 64);
    out.extend_from_slice(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, xfl, 255]);
    c.reset();
    loop {
        let done = c.total_in() as usize;
        out.reserve(data.len().saturating_sub(done) / 2 + 64);
        match c.compress_vec(
            data.get(done..).unwrap_or_default(),
            &mut out,
            FlushCompress::Finish,
        ) {
            Ok(Status::StreamEnd) => break,
            Ok(_) => {}
            Err(e) => return Err(Error::other(e)),
        }
    }
    let mut crc = flate2::Crc::new();
    crc.update(data);
    out.extend_from_slice(&crc.sum().to_le_bytes());
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    Ok(out)
}

/// Brotli at quality 6 and gzip at its default level. Feeds are
/// re-compressed on every live update, so the level is what keeps a saved
/// file visible within milliseconds: on a 134 KB feed, brotli 6 takes a
/// third of the time of quality 9 (whose hash tables alone are 32 MB to
/// clear per call) for 3% more bytes, and quality 11 ten times longer
/// still; gzip's best level saves 0.1% over its default.
pub fn brotli(data: &[u8], effort: Effort) -> Result<Vec<u8>, Error> {
    let mut out = Vec::with_capacity(data.len() / 3 + 64);
    let params = brotli::enc::BrotliEncoderParams {
        quality: match effort {
            Effort::Best => 6,
            Effort::Fast => BROTLI_FAST,
        },
        lgwin: match effort {
            Effort::Best => window_bits(data.len()).max(BEST_MIN_WINDOW),
            Effort::Fast => window_bits(data.len()),
        },
        ..Default::default()
    };
    brotli::BrotliCompress(&mut &data[..], &mut out, &params)?;
    Ok(out)
}

/// Below an 18-bit window, brotli's qualities 5 to 9 take another hasher
/// whose tables cost milliseconds to clear: a 12 KB index page took
/// 3.6 ms at a 14-bit window and 0.3 ms at 18, for the same size.
const BEST_MIN_WINDOW: i32 = 18;

/// The smallest brotli window that holds all of `len` bytes (10 to 22
/// bits): the same compression as a larger one, with smaller tables to
/// clear on every call.
fn window_bits(len: usize) -> i32 {
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
            for text in ["", "a", long.as_str(), noise.as_str()] {
                let gz = gzip(text.as_bytes(), effort).unwrap();
                assert_eq!(gunzip(&gz), text.as_bytes(), "{effort:?}");
                let br = brotli(text.as_bytes(), effort).unwrap();
                let mut back = Vec::new();
                brotli::BrotliDecompress(&mut &br[..], &mut back).unwrap();
                assert_eq!(back, text.as_bytes());
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
            // What flate2's own encoder makes at the level.
            let level = match effort {
                Effort::Best => flate2::Compression::default(),
                Effort::Fast => flate2::Compression::new(GZIP_FAST),
            };
            let mut enc = flate2::write::GzEncoder::new(Vec::new(), level);
            std::io::Write::write_all(&mut enc, noise.as_bytes()).unwrap();
            assert_eq!(
                gzip(noise.as_bytes(), effort).unwrap(),
                enc.finish().unwrap()
            );
        }
    }
}
