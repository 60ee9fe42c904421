//! The date lead a brief starts with: `3月2日，`, `３月２日，` (full-width
//! digits), `3月2日至4日，`, `3月2日—4日，`, `3月2日上午，`, `日前，`,
//! `近日，`, `本周，`, `上周，`, `3月上旬，`. A lead without a day is the
//! page's date.

use chrono::{Datelike, NaiveDate};

/// Words that date a brief to the page's day.
const WORDS: &[&str] = &["日前", "近日", "本周", "上周", "今年以来", "近期"];
/// What may follow the day: a range's end, or the time of day.
const RANGE: &[char] = &['至', '—', '–', '-', '－', '~', '～'];
const TIMES: &[&str] = &[
    "上午", "下午", "晚间", "晚上", "晚", "早上", "凌晨", "中午", "傍晚",
];
const PARTS: &[&str] = &["上旬", "中旬", "下旬", "初", "底"];
const COMMAS: &[char] = &['，', ','];

/// A brief's date lead: its date and the text after the lead's comma.
/// `Err` names a date that does not exist (`2月30日`).
pub fn date_lead(text: &str, page: NaiveDate) -> Result<Option<(NaiveDate, &str)>, String> {
    for word in WORDS {
        if let Some(rest) = text.strip_prefix(word).and_then(|r| r.strip_prefix(COMMAS)) {
            return Ok(Some((page, rest)));
        }
    }
    let Some((month, rest)) = number(text).and_then(|(m, r)| Some((m, r.strip_prefix('月')?)))
    else {
        return Ok(None);
    };
    for part in PARTS {
        if let Some(rest) = rest.strip_prefix(part).and_then(|r| r.strip_prefix(COMMAS)) {
            return Ok(Some((page, rest)));
        }
    }
    let Some((day, mut rest)) = number(rest).and_then(|(d, r)| Some((d, r.strip_prefix('日')?)))
    else {
        return Ok(None);
    };
    if let Some(end) = rest.strip_prefix(RANGE) {
        // `至4日` or `—3月4日`: the range's end, which does not date it.
        let end = number(end).and_then(|(_, r)| {
            r.strip_prefix('月')
                .map_or(Some(r), |r| number(r).map(|x| x.1))
        });
        match end.and_then(|r| r.strip_prefix('日')) {
            Some(r) => rest = r,
            None => return Ok(None),
        }
    }
    if let Some(time) = TIMES.iter().find(|t| rest.starts_with(**t)) {
        rest = &rest[time.len()..];
    }
    let Some(rest) = rest.strip_prefix(COMMAS) else {
        return Ok(None);
    };
    match in_year(page, month, day) {
        Some(date) => Ok(Some((date, rest))),
        None => Err(format!(
            "unreadable date `{month}月{day}日`: fix the date at the start of the brief"
        )),
    }
}

/// `M月D日` in the page's year, or the year before when that would be
/// more than a month after the page (a January page's `12月30日`).
pub fn in_year(page: NaiveDate, month: u32, day: u32) -> Option<NaiveDate> {
    let date = NaiveDate::from_ymd_opt(page.year(), month, day)?;
    if (date - page).num_days() > 31 {
        return NaiveDate::from_ymd_opt(page.year() - 1, month, day);
    }
    Some(date)
}

/// A number of one or two digits (ASCII or full-width) at the start.
pub fn number(s: &str) -> Option<(u32, &str)> {
    let mut value = 0;
    let mut len = 0;
    for (n, c) in s.chars().enumerate() {
        let digit = match c {
            '0'..='9' => c as u32 - '0' as u32,
            '０'..='９' => c as u32 - '０' as u32,
            _ => break,
        };
        if n == 2 {
            return None;
        }
        value = value * 10 + digit;
        len += c.len_utf8();
    }
    (len > 0).then(|| (value, &s[len..]))
}

/// `M月D日` anywhere in `s` (the lead article's dateline).
pub fn first_month_day(s: &str) -> Option<(u32, u32)> {
    s.char_indices().find_map(|(i, _)| {
        let (m, r) = number(&s[i..])?;
        let (d, r) = number(r.strip_prefix('月')?)?;
        r.starts_with('日').then_some((m, d))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn every_lead_the_desk_writes() {
        let page = d("2023-03-05");
        for (text, date, rest) in [
            ("3月2日，甲。", "2023-03-02", "甲。"),
            ("３月２日，甲。", "2023-03-02", "甲。"),
            ("3月2日至4日，甲。", "2023-03-02", "甲。"),
            ("3月2日—4日，甲。", "2023-03-02", "甲。"),
            ("3月2日—3月4日，甲。", "2023-03-02", "甲。"),
            ("3月2日上午，甲。", "2023-03-02", "甲。"),
            ("3月2日下午，甲。", "2023-03-02", "甲。"),
            ("3月2日晚，甲。", "2023-03-02", "甲。"),
            ("12月30日，甲。", "2022-12-30", "甲。"),
            ("日前，甲。", "2023-03-05", "甲。"),
            ("近日，甲。", "2023-03-05", "甲。"),
            ("本周，甲。", "2023-03-05", "甲。"),
            ("上周，甲。", "2023-03-05", "甲。"),
            ("3月上旬，甲。", "2023-03-05", "甲。"),
            ("2月下旬，甲。", "2023-03-05", "甲。"),
        ] {
            assert_eq!(date_lead(text, page), Ok(Some((d(date), rest))), "{text}");
        }
        for text in [
            "小店区",
            "3月2日小店区召开",
            "近日来",
            "2023年3月",
            "本报讯3月2日，",
            "30000月1日，",
        ] {
            assert_eq!(date_lead(text, page), Ok(None), "{text}");
        }
        assert!(date_lead("2月30日，甲。", page).is_err());
    }
}
