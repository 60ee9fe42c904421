//! A printed page's bytes as text: the desk's systems export UTF-8 (with or
//! without a BOM), UTF-16 with a BOM, or GB18030, with any line ends.

use encoding_rs::{Encoding, GB18030, UTF_8};

use super::ImportError;

/// The page as text with `\n` line ends, and the encoding it was read in.
pub fn decode(bytes: &[u8], forced: Option<&str>) -> Result<(String, &'static str), ImportError> {
    let (text, name) = match forced {
        Some(label) => forced_decode(bytes, label)?,
        None => detect(bytes)?,
    };
    Ok((text.replace("\r\n", "\n").replace('\r', "\n"), name))
}

fn forced_decode(bytes: &[u8], label: &str) -> Result<(String, &'static str), ImportError> {
    let Some(encoding) = Encoding::for_label(label.trim().as_bytes()) else {
        return Err(ImportError {
            line: None,
            message: format!(
                "unknown encoding `{label}`: use UTF-8, UTF-16LE, UTF-16BE or GB18030"
            ),
        });
    };
    // A BOM of the named encoding is not text.
    let body = match Encoding::for_bom(bytes) {
        Some((bom, len)) if bom == encoding => &bytes[len..],
        _ => bytes,
    };
    strict(encoding, body).ok_or_else(|| ImportError {
        line: None,
        message: format!(
            "not valid {}: check the page's encoding, or leave out --encoding to detect it",
            encoding.name()
        ),
    })
}

/// A BOM first; then UTF-8, checked strictly; then GB18030.
fn detect(bytes: &[u8]) -> Result<(String, &'static str), ImportError> {
    if let Some((encoding, len)) = Encoding::for_bom(bytes) {
        return strict(encoding, &bytes[len..]).ok_or_else(|| ImportError {
            line: None,
            message: format!(
                "the page starts with a {} byte-order mark but is not valid {}: save it again",
                encoding.name(),
                encoding.name()
            ),
        });
    }
    if let Some(found) = strict(UTF_8, bytes) {
        return Ok(found);
    }
    if let Some(found) = strict(GB18030, bytes) {
        return Ok(found);
    }
    let valid = match std::str::from_utf8(bytes) {
        Ok(_) => bytes.len(),
        Err(e) => e.valid_up_to(),
    };
    let line = bytes[..valid].iter().filter(|b| **b == b'\n').count() + 1;
    Err(ImportError {
        line: Some(line),
        message: "neither UTF-8 nor GB18030: save the page as UTF-8, or name its encoding with --encoding".into(),
    })
}

fn strict(encoding: &'static Encoding, bytes: &[u8]) -> Option<(String, &'static str)> {
    let text = encoding.decode_without_bom_handling_and_without_replacement(bytes)?;
    Some((text.into_owned(), encoding.name()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_encoding_the_desk_exports_reads_the_same() {
        let text = "小店区\n\n3月2日，小店区召开会议。\n";
        let (gb, _, _) = GB18030.encode(text);
        assert_eq!(decode(&gb, None).unwrap(), (text.to_string(), "gb18030"));
        let mut bom = b"\xef\xbb\xbf".to_vec();
        bom.extend_from_slice(text.as_bytes());
        assert_eq!(decode(&bom, None).unwrap(), (text.to_string(), "UTF-8"));
        let mut le = vec![0xff, 0xfe];
        le.extend(text.encode_utf16().flat_map(|u| u.to_le_bytes()));
        assert_eq!(decode(&le, None).unwrap(), (text.to_string(), "UTF-16LE"));
        let crlf = text.replace('\n', "\r\n");
        assert_eq!(decode(crlf.as_bytes(), None).unwrap().0, text);
        let cr = text.replace('\n', "\r");
        assert_eq!(decode(cr.as_bytes(), None).unwrap().0, text);
        assert_eq!(decode(&gb, Some("gbk")).unwrap().0, text);
        assert!(decode(&gb, Some("utf-8")).is_err());
        assert!(
            decode(b"x", Some("klingon"))
                .unwrap_err()
                .message
                .contains("klingon")
        );
    }

    #[test]
    fn bytes_no_encoding_reads_name_their_line() {
        let e = decode(b"ok\nok\n\x80\xff\xff\n", None).unwrap_err();
        assert_eq!(e.line, Some(3));
    }
}
