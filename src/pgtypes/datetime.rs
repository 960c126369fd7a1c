//! Calendar arithmetic for PostgreSQL's dates and timestamps: proleptic
//! Gregorian dates ↔ day counts, and the text forms PostgreSQL reads and
//! writes. The one copy in the crate (the admin console's timestamps use it
//! too).

/// Days from 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's
/// algorithm), the inverse of [`days_from_civil`].
pub(crate) fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// PostgreSQL's epoch, 2000-01-01, in days from 1970-01-01: binary dates
/// and timestamps count from it.
pub(crate) const PG_EPOCH_DAYS: i64 = 10957;

/// `YYYY-MM-DD` → days since 2000-01-01.
pub(crate) fn parse_date(s: &str) -> Option<i32> {
    let s = s.trim();
    let date = s.get(..10)?;
    let mut it = date.splitn(3, '-');
    let y: i64 = it.next()?.parse().ok()?;
    let m: u32 = it.next()?.parse().ok()?;
    let d: u32 = it.next()?.parse().ok()?;
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    Some((days_from_civil(y, m, d) - PG_EPOCH_DAYS) as i32)
}

/// `HH:MM:SS[.ffffff]` → microseconds.
pub(crate) fn parse_time(s: &str) -> Option<i64> {
    let s = s.trim();
    let end = s.find(['+', 'Z', '-']).unwrap_or(s.len());
    let t = &s[..end];
    let mut it = t.splitn(3, ':');
    let h: i64 = it.next()?.parse().ok()?;
    let m: i64 = it.next()?.parse().ok()?;
    let sec = it.next().unwrap_or("0");
    let (whole, frac) = sec.split_once('.').unwrap_or((sec, ""));
    let whole: i64 = whole.parse().ok()?;
    let mut micros: i64 = 0;
    for (i, c) in frac.bytes().take(6).enumerate() {
        if !c.is_ascii_digit() {
            return None;
        }
        micros += (c - b'0') as i64 * 10i64.pow(5 - i as u32);
    }
    Some(((h * 60 + m) * 60 + whole) * 1_000_000 + micros)
}

/// `YYYY-MM-DD[ T]HH:MM:SS[.ffffff][+HH[:MM]]` → microseconds since
/// 2000-01-01 00:00 (UTC when an offset is given).
pub(crate) fn parse_timestamp(s: &str) -> Option<i64> {
    let s = s.trim();
    let days = parse_date(s)? as i64;
    let rest = s.get(10..).unwrap_or("").trim_start_matches(['T', ' ']);
    if rest.is_empty() {
        return Some(days * 86_400_000_000);
    }
    let micros = parse_time(rest)?;
    let mut offset = 0i64;
    if let Some(pos) = rest.find(['+', '-']) {
        let sign = if &rest[pos..pos + 1] == "-" { -1 } else { 1 };
        let tz = &rest[pos + 1..];
        let (h, m) = tz
            .split_once(':')
            .unwrap_or((tz.get(..2)?, tz.get(2..).unwrap_or("0")));
        let h: i64 = h.parse().ok()?;
        let m: i64 = if m.is_empty() { 0 } else { m.parse().ok()? };
        offset = sign * (h * 3600 + m * 60) * 1_000_000;
    }
    Some(days * 86_400_000_000 + micros - offset)
}

/// Microseconds since 2000-01-01 → `YYYY-MM-DD HH:MM:SS[.ffffff]`, with
/// `+00` for a `timestamptz` (whose binary form counts UTC).
pub(crate) fn format_timestamp(us: i64, with_tz: bool) -> String {
    let mut s = String::with_capacity(32);
    write_timestamp(&mut s, us, with_tz);
    s
}

/// [`format_timestamp`] into any writer (a DataRow's buffer: no String per
/// value).
pub(crate) fn write_timestamp<W: std::fmt::Write>(w: &mut W, us: i64, with_tz: bool) {
    let days = us.div_euclid(86_400_000_000);
    let rem = us.rem_euclid(86_400_000_000);
    let (y, m, d) = civil_from_days(days + PG_EPOCH_DAYS);
    let secs = rem / 1_000_000;
    let frac = rem % 1_000_000;
    // Writing to a String or BytesMut cannot fail.
    let _ = write!(
        w,
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    );
    if frac != 0 {
        // Six digits without the trailing zeros, as PostgreSQL prints them.
        let mut digits = frac;
        let mut width = 6;
        while digits % 10 == 0 {
            digits /= 10;
            width -= 1;
        }
        let _ = write!(w, ".{digits:0width$}");
    }
    if with_tz {
        let _ = w.write_str("+00");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_print_as_postgresql_prints_them() {
        let us = parse_timestamp("2026-12-01 07:13:24.1234+02:00").unwrap();
        assert_eq!(format_timestamp(us, true), "2026-12-01 05:13:24.1234+00");
        assert_eq!(
            format_timestamp(parse_timestamp("1999-12-31T23:59:59").unwrap(), false),
            "1999-12-31 23:59:59"
        );
        assert_eq!(
            format_timestamp(parse_timestamp("2000-01-01 00:00:00.000001").unwrap(), true),
            "2000-01-01 00:00:00.000001+00"
        );
    }

    #[test]
    fn civil_dates_and_day_counts_agree() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(days_from_civil(2000, 1, 1), PG_EPOCH_DAYS);
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        assert_eq!(civil_from_days(days_from_civil(2024, 2, 29)), (2024, 2, 29));
        assert_eq!(
            days_from_civil(2023, 3, 1) - days_from_civil(2023, 2, 28),
            1
        );
        assert_eq!(
            days_from_civil(2100, 3, 1) - days_from_civil(2100, 2, 28),
            1
        );
        // Every day across four centuries either side of the epoch, with
        // their leap-year rules, round-trips and moves the date by one.
        let mut prev = civil_from_days(-146_097 * 2 - 1);
        for z in -146_097 * 2..146_097 * 2 {
            let (y, m, d) = civil_from_days(z);
            assert_eq!(days_from_civil(y, m, d), z);
            assert!((y, m, d) > prev, "{z}");
            prev = (y, m, d);
        }
    }

    #[test]
    fn dates_and_timestamps_use_the_2000_epoch() {
        assert_eq!(parse_date("2000-01-01"), Some(0));
        assert_eq!(parse_date("1999-12-31"), Some(-1));
        assert_eq!(parse_timestamp("2000-01-01 00:00:01.5"), Some(1_500_000));
        assert_eq!(parse_timestamp("2000-01-01T01:00:00+01:00"), Some(0));
        assert_eq!(format_timestamp(1_500_000, false), "2000-01-01 00:00:01.5");
    }
}
