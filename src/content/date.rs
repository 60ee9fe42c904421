//! Article dates: RFC 3339, or a local date / date-time read in the site's
//! time zone.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, TimeZone};
use chrono_tz::Tz;

pub fn parse(text: &str, tz: Tz) -> Result<DateTime<FixedOffset>, String> {
    let t = text.trim();
    if let Ok(d) = DateTime::parse_from_rfc3339(t) {
        return Ok(d);
    }
    // RFC 3339 with a space instead of `T`, as people type it.
    if let Ok(d) = DateTime::parse_from_rfc3339(&t.replacen(' ', "T", 1)) {
        return Ok(d);
    }
    let naive = [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M",
    ]
    .iter()
    .find_map(|f| NaiveDateTime::parse_from_str(t, f).ok())
    .or_else(|| {
        NaiveDate::parse_from_str(t, "%Y-%m-%d")
            .ok()
            .and_then(|d| d.and_hms_opt(0, 0, 0))
    })
    .ok_or_else(|| {
        format!(
            "unreadable date `{t}`: write 2023-01-10, 2023-01-10 09:30 or 2023-01-10T09:30:00+08:00"
        )
    })?;
    tz.from_local_datetime(&naive)
        .earliest()
        .map(|d| d.fixed_offset())
        .ok_or_else(|| {
            format!("`{t}` does not exist in {tz} (a daylight-saving gap): pick another time")
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::Asia::Shanghai;

    #[test]
    fn local_date_is_midnight_in_site_zone() {
        let d = parse("2023-01-10", Shanghai).unwrap();
        assert_eq!(d.to_rfc3339(), "2023-01-10T00:00:00+08:00");
    }

    #[test]
    fn local_datetime_in_site_zone() {
        assert_eq!(
            parse("2023-01-10 09:30", Shanghai).unwrap().to_rfc3339(),
            "2023-01-10T09:30:00+08:00"
        );
        assert_eq!(
            parse("2023-01-10T09:30:15", Shanghai).unwrap().to_rfc3339(),
            "2023-01-10T09:30:15+08:00"
        );
    }

    #[test]
    fn explicit_offsets_are_kept() {
        assert_eq!(
            parse("2023-01-10T01:00:00Z", Shanghai)
                .unwrap()
                .to_rfc3339(),
            "2023-01-10T01:00:00+00:00"
        );
        assert_eq!(
            parse("2023-01-10T09:00:00-05:00", Shanghai)
                .unwrap()
                .to_rfc3339(),
            "2023-01-10T09:00:00-05:00"
        );
    }

    #[test]
    fn garbage_is_an_error() {
        for bad in [
            "2023-13-01",
            "yesterday",
            "",
            "2023-01-10T25:00:00+08:00",
            "1月10日",
        ] {
            assert!(parse(bad, Shanghai).is_err(), "{bad}");
        }
    }

    #[test]
    fn dst_gap_is_an_error() {
        assert!(parse("2023-03-12 02:30", chrono_tz::America::New_York).is_err());
    }
}
