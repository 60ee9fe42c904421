//! What each day's key for hashing direct readers is derived from:
//! `HMAC-SHA256(secret, day)`. The key itself is never written; the
//! secret is the operator's (`readers_secret`, the same on every replica
//! of one database) or, without one, made at first start and kept in the
//! state folder, never in the database.

use std::io::Read;
use std::path::Path;

use hmac::{KeyInit, Mac};

/// The file in the state folder that keeps a secret crier made.
pub const SECRET_FILE: &str = "readers.secret";

#[derive(Clone)]
pub struct Secret([u8; 32]);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(..)")
    }
}

impl Secret {
    /// From a secret the operator set (any length: it is hashed).
    pub fn from_setting(setting: &str) -> Secret {
        use sha2::Digest;
        Secret(sha2::Sha256::digest(setting.as_bytes()).into())
    }

    /// The one kept in `state_dir`, made there (readable by crier's user
    /// only) when there is none.
    pub fn in_folder(state_dir: &Path) -> std::io::Result<Secret> {
        let path = state_dir.join(SECRET_FILE);
        match std::fs::read(&path) {
            Ok(bytes) => match <[u8; 32]>::try_from(bytes.as_slice()) {
                Ok(b) => Ok(Secret(b)),
                Err(_) => Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!(
                        "{} is not 32 bytes: remove it (direct readers are counted afresh today)",
                        path.display()
                    ),
                )),
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut b = [0u8; 32];
                std::fs::File::open("/dev/urandom")?.read_exact(&mut b)?;
                crate::atomic::write(&path, &b, crate::atomic::Access::Private)
                    .map_err(|e| std::io::Error::new(e.source.kind(), e.to_string()))?;
                Ok(Secret(b))
            }
            Err(e) => Err(e),
        }
    }

    /// The keys of SipHash for `day` (days since the epoch).
    pub fn day_key(&self, day: i64) -> (u64, u64) {
        let mut mac = <hmac::Hmac<sha2::Sha256> as KeyInit>::new_from_slice(&self.0)
            .expect("HMAC takes a key of any length");
        mac.update(b"crier direct readers ");
        mac.update(&day.to_be_bytes());
        let out = mac.finalize().into_bytes();
        let half = |i: usize| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&out[i..i + 8]);
            u64::from_le_bytes(b)
        };
        (half(0), half(8))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_is_made_once_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let a = Secret::in_folder(dir.path()).unwrap();
        let b = Secret::in_folder(dir.path()).unwrap();
        assert_eq!(a.day_key(5), b.day_key(5));
        assert_ne!(a.day_key(5), a.day_key(6), "a key a day");
        assert_ne!(a.day_key(5), Secret::from_setting("x").day_key(5));
        std::fs::write(dir.path().join(SECRET_FILE), b"short").unwrap();
        let err = Secret::in_folder(dir.path()).unwrap_err();
        assert!(err.to_string().contains("not 32 bytes"), "{err}");
    }
}
