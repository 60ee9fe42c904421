//! Content-coding negotiation (RFC 9110 §12.5.3).

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Coding {
    Br,
    Gzip,
    Identity,
}

impl Coding {
    pub fn header(self) -> Option<&'static str> {
        match self {
            Coding::Br => Some("br"),
            Coding::Gzip => Some("gzip"),
            Coding::Identity => None,
        }
    }
}

/// The coding to send for an `Accept-Encoding` value (`None`: no header),
/// or `None` when the client accepts none of br, gzip and identity.
/// Highest q wins; on a tie the smaller encoding (br, then gzip).
pub fn choose(accept: Option<&str>) -> Option<Coding> {
    let Some(accept) = accept else {
        return Some(Coding::Identity);
    };
    let mut br = None;
    let mut gzip = None;
    let mut identity = None;
    let mut star = None;
    for item in accept.split(',') {
        let mut parts = item.split(';');
        let name = parts.next().unwrap_or("").trim();
        if name.is_empty() {
            continue;
        }
        let mut q = Some(1000);
        for p in parts {
            let p = p.trim();
            if let Some(v) = p.strip_prefix("q=").or_else(|| p.strip_prefix("Q=")) {
                q = parse_q(v.trim());
            }
        }
        let Some(q) = q else { continue }; // a malformed q-value: ignore the item
        let is = |coding: &str| name.eq_ignore_ascii_case(coding);
        let slot = if is("br") {
            &mut br
        } else if is("gzip") || is("x-gzip") {
            &mut gzip
        } else if is("identity") {
            &mut identity
        } else if name == "*" {
            &mut star
        } else {
            continue;
        };
        *slot = Some(q);
    }
    let br = br.or(star).unwrap_or(0);
    let gzip = gzip.or(star).unwrap_or(0);
    // identity is acceptable unless excluded by name or by `*;q=0`; when
    // the client does not name it, any coding it does name comes first.
    let identity = identity.or(star).unwrap_or(1);
    let best = [
        (Coding::Br, br),
        (Coding::Gzip, gzip),
        (Coding::Identity, identity),
    ]
    .into_iter()
    .filter(|(_, q)| *q > 0)
    .max_by_key(|(c, q)| (*q, std::cmp::Reverse(*c as u8)))?;
    Some(best.0)
}

/// A q-value in thousandths: `0`, `0.5`, `1.000`. `None` if malformed.
fn parse_q(v: &str) -> Option<u16> {
    let (int, frac) = v.split_once('.').unwrap_or((v, ""));
    if frac.len() > 3 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let frac_val = format!("{frac:0<3}").parse::<u16>().ok()?;
    match int {
        "0" => Some(frac_val),
        "1" if frac_val == 0 => Some(1000),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::Coding::*;
    use super::*;

    #[test]
    fn negotiation() {
        let cases: &[(Option<&str>, Option<Coding>)] = &[
            (None, Some(Identity)),
            (Some(""), Some(Identity)),
            (Some("gzip"), Some(Gzip)),
            (Some("gzip, deflate, br"), Some(Br)),
            (Some("br;q=0.5, gzip"), Some(Gzip)),
            (Some("br;q=0, gzip;q=0"), Some(Identity)),
            (Some("identity;q=0, gzip;q=0.1"), Some(Gzip)),
            (Some("identity;q=0"), None),
            (Some("*;q=0"), None),
            (Some("*"), Some(Br)),
            (Some("*;q=0.5, identity"), Some(Identity)),
            (Some("GZIP;Q=1.0"), Some(Gzip)),
            (Some("x-gzip"), Some(Gzip)),
            (Some("gzip;q=2, br;q=bad"), Some(Identity)),
            (Some("deflate, compress"), Some(Identity)),
            (Some(",,; ;q=,"), Some(Identity)),
            (Some("br;q=0.001"), Some(Br)),
            (Some("br;q=0.5, gzip;q=0.8"), Some(Gzip)),
            (Some("br;q=0.001, identity"), Some(Identity)),
            (Some("br;q=0.001, identity;q=0"), Some(Br)),
        ];
        for (header, want) in cases {
            assert_eq!(choose(*header), *want, "{header:?}");
        }
    }
}
