//! Instants as seconds since the Unix epoch, read from the forms AWS tools print and written as
//! RFC 3339 UTC. No clock here (the model reads none): callers pass "now" in.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Seconds since 1970-01-01T00:00:00Z.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Timestamp(pub i64);

/// Days since the epoch of a civil date (Howard Hinnant's `days_from_civil`).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date of a day number (the inverse, `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

fn digits(s: &str) -> Option<i64> {
    (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())).then(|| s.parse().ok()).flatten()
}

impl Timestamp {
    /// Reads `2026-11-19T03:12:00Z`, `2026-11-19T03:12:00.123+00:00`, boto3's
    /// `2026-11-19 03:12:00+00:00`, a bare date `2026-11-19` (midnight UTC), or epoch seconds
    /// written as a number in text (`1795576320.5`, what `cli_timestamp_format=none` prints).
    pub fn parse(s: &str) -> Option<Timestamp> {
        let s = s.trim();
        if let Ok(secs) = s.parse::<f64>() {
            return secs.is_finite().then_some(Timestamp(secs.floor() as i64));
        }
        let date = s.get(..10)?;
        let (y, rest) = date.split_once('-')?;
        let (m, d) = rest.split_once('-')?;
        let (y, m, d) = (digits(y)?, digits(m)?, digits(d)?);
        if !(1..=12).contains(&m) || !(1..=31).contains(&d) || !(1970..=9999).contains(&y) {
            return None;
        }
        let day_secs = days_from_civil(y, m, d) * 86_400;
        let time = &s[10..];
        if time.is_empty() {
            return Some(Timestamp(day_secs));
        }
        let time = time.strip_prefix(['T', 't', ' '])?;
        let (hms, zone) = match time.find(['Z', 'z', '+', '-']) {
            Some(i) => time.split_at(i),
            None => (time, "Z"),
        };
        let hms = hms.split('.').next()?;
        let mut parts = hms.split(':');
        let h = digits(parts.next()?)?;
        let mi = digits(parts.next()?)?;
        let sec = parts.next().map(digits).unwrap_or(Some(0))?;
        if h > 23 || mi > 59 || sec > 60 || parts.next().is_some() {
            return None;
        }
        let offset = match zone {
            "Z" | "z" => 0,
            z => {
                let sign = if z.starts_with('-') { -1 } else { 1 };
                let body = z[1..].replace(':', "");
                if body.len() != 4 {
                    return None;
                }
                let (oh, om) = (digits(body.get(..2)?)?, digits(body.get(2..)?)?);
                sign * (oh * 3600 + om * 60)
            }
        };
        Some(Timestamp(day_secs + h * 3600 + mi * 60 + sec - offset))
    }

    /// Whole days from `self` to `later` (negative when `later` is earlier).
    pub fn days_until(self, later: Timestamp) -> i64 {
        (later.0 - self.0).div_euclid(86_400)
    }

    /// "3 hours ago", "7 days ago", relative to `now`.
    pub fn ago(self, now: Timestamp) -> String {
        let secs = now.0 - self.0;
        let (n, unit) = match secs {
            s if s < 0 => return "in the future".into(),
            s if s < 3600 => (s / 60, "minute"),
            s if s < 86_400 => (s / 3600, "hour"),
            s => (s / 86_400, "day"),
        };
        format!("{n} {unit}{} ago", if n == 1 { "" } else { "s" })
    }
}

impl fmt::Display for Timestamp {
    /// RFC 3339 in UTC, to the second.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let days = self.0.div_euclid(86_400);
        let rem = self.0.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        write!(f, "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::Timestamp;

    #[test]
    fn known_dates_both_ways() {
        for (secs, text) in [
            (0, "1970-01-01T00:00:00Z"),
            (1_795_046_400, "2026-11-19T00:00:00Z"),
            (951_782_400 + 3661, "2000-02-29T01:01:01Z"),
        ] {
            assert_eq!(Timestamp(secs).to_string(), text);
            assert_eq!(Timestamp::parse(text), Some(Timestamp(secs)));
        }
    }

    #[test]
    fn the_forms_aws_tools_print() {
        let t = Timestamp::parse("2026-11-19T03:12:00Z").unwrap();
        assert_eq!(Timestamp::parse("2026-11-19T03:12:00.123000+00:00"), Some(t));
        assert_eq!(Timestamp::parse("2026-11-19 03:12:00+00:00"), Some(t));
        assert_eq!(Timestamp::parse("2026-11-19T05:12:00+02:00"), Some(t));
        assert_eq!(Timestamp::parse("2026-11-18T22:12:00-0500"), Some(t));
        assert_eq!(Timestamp::parse(&t.0.to_string()), Some(t));
        assert_eq!(Timestamp::parse(&format!("{}.75", t.0)), Some(t));
        assert_eq!(Timestamp::parse("2026-11-19"), Some(Timestamp(1_795_046_400)));
        for bad in [
            "",
            "yesterday",
            "2026-13-01",
            "2026-11-19T25:00:00Z",
            "2026-11-19T03:12:00+5",
            "NaN",
            "2026-1",
            "2026-11-19T03:12:00+1é1",
            "2026-11-19é",
        ] {
            assert_eq!(Timestamp::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn ages() {
        let now = Timestamp::parse("2026-11-26T03:12:00Z").unwrap();
        assert_eq!(Timestamp::parse("2026-11-19T03:12:00Z").unwrap().ago(now), "7 days ago");
        assert_eq!(Timestamp::parse("2026-11-26T02:12:00Z").unwrap().ago(now), "1 hour ago");
        assert_eq!(Timestamp::parse("2026-11-26T03:10:00Z").unwrap().ago(now), "2 minutes ago");
    }
}
