//! Article dates: RFC 3339, or a local date / date-time read in the site's
//! time zone.

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, NaiveDateTime, TimeZone};
use chrono_tz::Tz;

/// A month of publication in the site's time zone: what one monthly
/// sitemap covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Month {
    pub year: i32,
    /// 1 to 12.
    pub month: u32,
}

impl Month {
    /// The month `date` falls in, in `tz`.
    pub fn of(date: DateTime<FixedOffset>, tz: Tz) -> Month {
        let local = date.with_timezone(&tz);
        Month {
            year: local.year(),
            month: local.month(),
        }
    }

    /// `2023-01`.
    pub fn name(self) -> String {
        format!("{:04}-{:02}", self.year, self.month)
    }

    /// Its first instant in `tz` (`None` only for dates chrono cannot hold).
    pub fn start(self, tz: Tz) -> Option<DateTime<FixedOffset>> {
        let day = NaiveDate::from_ymd_opt(self.year, self.month, 1)?.and_hms_opt(0, 0, 0)?;
        tz.from_local_datetime(&day)
            .earliest()
            // Midnight may fall in a daylight-saving gap: an hour later.
            .or_else(|| {
                tz.from_local_datetime(&(day + chrono::Duration::hours(1)))
                    .earliest()
            })
            .map(|d| d.fixed_offset())
    }

    pub fn next(self) -> Month {
        match self.month {
            12 => Month {
                year: self.year + 1,
                month: 1,
            },
            m => Month {
                year: self.year,
                month: m + 1,
            },
        }
    }
}

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
    fn a_month_is_read_in_the_site_zone() {
        // 23:30 UTC on 31 January is 1 February in Shanghai.
        let d = parse("2023-01-31T23:30:00Z", Shanghai).unwrap();
        let m = Month::of(d, Shanghai);
        assert_eq!(m.name(), "2023-02");
        assert_eq!(
            m.start(Shanghai).unwrap().to_rfc3339(),
            "2023-02-01T00:00:00+08:00"
        );
        assert_eq!(m.next().name(), "2023-03");
        assert_eq!(
            Month::of(parse("2023-12-05", Shanghai).unwrap(), Shanghai)
                .next()
                .name(),
            "2024-01"
        );
    }

    #[test]
    fn dst_gap_is_an_error() {
        assert!(parse("2023-03-12 02:30", chrono_tz::America::New_York).is_err());
    }
}
