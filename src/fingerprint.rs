//! Hashes of bytes, in hex: strong ETags, and the keys that tell a
//! rebuild whether an output was made from the same input.

use sha2::{Digest, Sha256};

/// The first 128 bits of a SHA-256.
pub type Key = [u8; 16];

/// The key of `bytes`.
pub fn key_of(bytes: &[u8]) -> Key {
    finish(Sha256::new_with_prefix(bytes))
}

/// The key of an article file as read, which tells whether its outputs
/// were made from the same text: XXH3's 128 bits, a tenth of SHA-256's
/// time on the 100,000 files a start reads. Not a defence against
/// anyone (whoever can write the file can change it anyway); ETags use
/// [`key_of`].
pub fn source_key(bytes: &[u8]) -> Key {
    xxhash_rust::xxh3::xxh3_128(bytes).to_le_bytes()
}

/// The key a hasher has been fed.
pub fn finish(h: Sha256) -> Key {
    let mut k = [0; 16];
    k.copy_from_slice(&h.finalize()[..16]);
    k
}

/// The strong ETag of exactly these bytes, quoted: their key in hex.
pub fn etag(bytes: &[u8]) -> String {
    format!("\"{}\"", hex(&key_of(bytes)))
}

/// A fast checksum of bytes crier wrote itself, to find a file cut short
/// or damaged (not a defence against anyone: use [`key_of`] for that).
pub fn checksum(bytes: &[u8]) -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = foldhash::fast::FixedState::with_seed(0x1dea).build_hasher();
    h.write(bytes);
    h.finish()
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 15)]));
    }
    s
}

/// A key back from its hex; `None` unless it is exactly one.
pub fn parse_key(text: &str) -> Option<Key> {
    let mut k = [0; 16];
    if text.len() != 32 {
        return None;
    }
    for (i, b) in k.iter_mut().enumerate() {
        *b = u8::from_str_radix(text.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(k)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_through_hex() {
        let k = key_of(b"crier");
        assert_eq!(parse_key(&hex(&k)), Some(k));
        assert_eq!(parse_key("zz"), None);
        assert_eq!(parse_key(&"é".repeat(16)), None);
        assert_eq!(etag(b""), "\"e3b0c44298fc1c149afbf4c8996fb924\"");
        assert_ne!(source_key(b"crier"), source_key(b"crieR"));
        assert_eq!(source_key(b"crier"), source_key(b"crier"));
    }
}
