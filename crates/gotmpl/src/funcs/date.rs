//! Go's `time` as templates see it: `time.Time` values, Go layouts
//! ("2006-01-02"), durations, and sprig's date functions.
//!
//! davit treats the local time zone as UTC so that renders do not depend on
//! the runner's settings (docs/template-compat.md).

use std::rc::Rc;

use super::conv::{i, s};
use super::Registry;
use crate::func::Param::*;
use crate::value::{Object, Value};

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];

/// A Go `time.Time`: an instant plus the zone it is shown in.
#[derive(Clone, Debug)]
pub struct GoTime {
    pub unix: i64,
    pub nanos: u32,
    /// Seconds east of UTC.
    pub offset: i32,
    pub zone: String,
}

struct Civil {
    year: i64,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
    second: u32,
    weekday: usize,
    yday: u32,
}

fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719468;
    let era = if z >= 0 { z } else { z - 146096 } / 146097;
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

impl GoTime {
    pub fn utc(unix: i64, nanos: u32) -> GoTime {
        GoTime {
            unix,
            nanos,
            offset: 0,
            zone: "UTC".into(),
        }
    }

    /// The current time, or `SOURCE_DATE_EPOCH` when it is set, so that
    /// renders can be reproduced (the reproducible-builds convention).
    pub fn now() -> GoTime {
        if let Some(epoch) = std::env::var("SOURCE_DATE_EPOCH")
            .ok()
            .and_then(|s| s.trim().parse::<i64>().ok())
        {
            return GoTime::utc(epoch, 0);
        }
        let d = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        GoTime::utc(d.as_secs() as i64, d.subsec_nanos())
    }

    fn civil(&self) -> Civil {
        let local = self.unix + self.offset as i64;
        let days = local.div_euclid(86400);
        let secs = local.rem_euclid(86400) as u32;
        let (year, month, day) = civil_from_days(days);
        let jan1 = days_from_civil(year, 1, 1);
        Civil {
            year,
            month,
            day,
            hour: secs / 3600,
            minute: secs / 60 % 60,
            second: secs % 60,
            weekday: (days + 4).rem_euclid(7) as usize,
            yday: (days - jan1 + 1) as u32,
        }
    }

    /// `Time.Format(layout)`.
    pub fn format(&self, layout: &str) -> String {
        let c = self.civil();
        let mut out = String::new();
        let mut rest = layout;
        while !rest.is_empty() {
            let (prefix, std, suffix) = next_std_chunk(rest);
            out.push_str(prefix);
            let Some(std) = std else { break };
            rest = suffix;
            self.append_std(&mut out, &c, std);
        }
        out
    }

    fn append_std(&self, out: &mut String, c: &Civil, std: Std) {
        let tz = |out: &mut String, colon: bool, secs: bool, short: bool, z: bool| {
            if z && self.offset == 0 {
                out.push('Z');
                return;
            }
            let mut zone = self.offset / 60;
            let mut abs = self.offset;
            if zone < 0 {
                out.push('-');
                zone = -zone;
                abs = -abs;
            } else {
                out.push('+');
            }
            out.push_str(&format!("{:02}", zone / 60));
            if short {
                return;
            }
            if colon {
                out.push(':');
            }
            out.push_str(&format!("{:02}", zone % 60));
            if secs {
                if colon {
                    out.push(':');
                }
                out.push_str(&format!("{:02}", abs % 60));
            }
        };
        match std {
            Std::Year => out.push_str(&format!("{:02}", c.year.rem_euclid(100))),
            Std::LongYear => {
                if c.year < 0 {
                    out.push_str(&format!("-{:04}", -c.year));
                } else {
                    out.push_str(&format!("{:04}", c.year));
                }
            }
            Std::Month => out.push_str(&MONTHS[c.month as usize - 1][..3]),
            Std::LongMonth => out.push_str(MONTHS[c.month as usize - 1]),
            Std::NumMonth => out.push_str(&c.month.to_string()),
            Std::ZeroMonth => out.push_str(&format!("{:02}", c.month)),
            Std::WeekDay => out.push_str(&DAYS[c.weekday][..3]),
            Std::LongWeekDay => out.push_str(DAYS[c.weekday]),
            Std::Day => out.push_str(&c.day.to_string()),
            Std::UnderDay => out.push_str(&format!("{:>2}", c.day)),
            Std::ZeroDay => out.push_str(&format!("{:02}", c.day)),
            Std::UnderYearDay => out.push_str(&format!("{:>3}", c.yday)),
            Std::ZeroYearDay => out.push_str(&format!("{:03}", c.yday)),
            Std::Hour => out.push_str(&format!("{:02}", c.hour)),
            Std::Hour12 => out.push_str(
                &(if c.hour.is_multiple_of(12) {
                    12
                } else {
                    c.hour % 12
                })
                .to_string(),
            ),
            Std::ZeroHour12 => out.push_str(&format!(
                "{:02}",
                if c.hour.is_multiple_of(12) {
                    12
                } else {
                    c.hour % 12
                }
            )),
            Std::Minute => out.push_str(&c.minute.to_string()),
            Std::ZeroMinute => out.push_str(&format!("{:02}", c.minute)),
            Std::Second => out.push_str(&c.second.to_string()),
            Std::ZeroSecond => out.push_str(&format!("{:02}", c.second)),
            Std::PM => out.push_str(if c.hour >= 12 { "PM" } else { "AM" }),
            Std::Pm => out.push_str(if c.hour >= 12 { "pm" } else { "am" }),
            Std::Tz(kind) => match kind {
                TzKind::Name => {
                    if !self.zone.is_empty() {
                        out.push_str(&self.zone);
                    } else {
                        tz(out, false, false, false, false);
                    }
                }
                TzKind::Num {
                    colon,
                    secs,
                    short,
                    z,
                } => tz(out, colon, secs, short, z),
            },
            Std::Frac { sep, digits, trim } => {
                let frac = format!("{:09}", self.nanos);
                let mut f = frac[..digits.min(9)].to_string();
                if trim {
                    while f.ends_with('0') {
                        f.pop();
                    }
                    if f.is_empty() {
                        return;
                    }
                }
                out.push(sep);
                out.push_str(&f);
            }
        }
    }
}

#[derive(Clone, Copy, Debug)]
enum TzKind {
    Name,
    Num {
        colon: bool,
        secs: bool,
        short: bool,
        z: bool,
    },
}

#[derive(Clone, Copy, Debug)]
enum Std {
    Year,
    LongYear,
    Month,
    LongMonth,
    NumMonth,
    ZeroMonth,
    WeekDay,
    LongWeekDay,
    Day,
    UnderDay,
    ZeroDay,
    UnderYearDay,
    ZeroYearDay,
    Hour,
    Hour12,
    ZeroHour12,
    Minute,
    ZeroMinute,
    Second,
    ZeroSecond,
    PM,
    Pm,
    Tz(TzKind),
    Frac {
        sep: char,
        digits: usize,
        trim: bool,
    },
}

/// Go's `nextStdChunk`: literal prefix, layout element, rest.
fn next_std_chunk(layout: &str) -> (&str, Option<Std>, &str) {
    let b = layout.as_bytes();
    let starts_lower = |i: usize| b.get(i).is_some_and(|c| c.is_ascii_lowercase());
    let has = |i: usize, s: &str| layout.get(i..).is_some_and(|r| r.starts_with(s));
    let mut i = 0;
    while i < b.len() {
        let found: Option<(Std, usize)> = match b[i] {
            b'J' if has(i, "Jan") => {
                if has(i, "January") {
                    Some((Std::LongMonth, 7))
                } else if !starts_lower(i + 3) {
                    Some((Std::Month, 3))
                } else {
                    None
                }
            }
            b'M' if has(i, "Mon") => {
                if has(i, "Monday") {
                    Some((Std::LongWeekDay, 6))
                } else if !starts_lower(i + 3) {
                    Some((Std::WeekDay, 3))
                } else {
                    None
                }
            }
            b'M' if has(i, "MST") => Some((Std::Tz(TzKind::Name), 3)),
            b'0' if b.get(i + 1).is_some_and(|c| (b'1'..=b'6').contains(c)) => {
                let std = [
                    Std::ZeroMonth,
                    Std::ZeroDay,
                    Std::ZeroHour12,
                    Std::ZeroMinute,
                    Std::ZeroSecond,
                    Std::Year,
                ][(b[i + 1] - b'1') as usize];
                Some((std, 2))
            }
            b'0' if has(i, "002") => Some((Std::ZeroYearDay, 3)),
            b'1' => {
                if b.get(i + 1) == Some(&b'5') {
                    Some((Std::Hour, 2))
                } else {
                    Some((Std::NumMonth, 1))
                }
            }
            b'2' => {
                if has(i, "2006") {
                    Some((Std::LongYear, 4))
                } else {
                    Some((Std::Day, 1))
                }
            }
            b'_' if b.get(i + 1) == Some(&b'2') => {
                if has(i + 1, "2006") {
                    return (&layout[..i + 1], Some(Std::LongYear), &layout[i + 5..]);
                }
                Some((Std::UnderDay, 2))
            }
            b'_' if has(i, "__2") => Some((Std::UnderYearDay, 3)),
            b'3' => Some((Std::Hour12, 1)),
            b'4' => Some((Std::Minute, 1)),
            b'5' => Some((Std::Second, 1)),
            b'P' if b.get(i + 1) == Some(&b'M') => Some((Std::PM, 2)),
            b'p' if b.get(i + 1) == Some(&b'm') => Some((Std::Pm, 2)),
            b'-' | b'Z' => {
                let z = b[i] == b'Z';
                let p = if z { "Z" } else { "-" };
                let forms: [(&str, bool, bool, bool); 5] = [
                    ("070000", false, true, false),
                    ("07:00:00", true, true, false),
                    ("0700", false, false, false),
                    ("07:00", true, false, false),
                    ("07", false, false, true),
                ];
                forms.iter().find(|(f, ..)| has(i, &format!("{p}{f}"))).map(
                    |(f, colon, secs, short)| {
                        (
                            Std::Tz(TzKind::Num {
                                colon: *colon,
                                secs: *secs,
                                short: *short,
                                z,
                            }),
                            f.len() + 1,
                        )
                    },
                )
            }
            b'.' | b',' if b.get(i + 1).is_some_and(|c| *c == b'0' || *c == b'9') => {
                let ch = b[i + 1];
                let mut j = i + 1;
                while j < b.len() && b[j] == ch {
                    j += 1;
                }
                if b.get(j).is_some_and(u8::is_ascii_digit) {
                    None
                } else {
                    let std = Std::Frac {
                        sep: b[i] as char,
                        digits: j - i - 1,
                        trim: ch == b'9',
                    };
                    return (&layout[..i], Some(std), &layout[j..]);
                }
            }
            _ => None,
        };
        if let Some((std, len)) = found {
            return (&layout[..i], Some(std), &layout[i + len..]);
        }
        i += 1;
    }
    (layout, None, "")
}

impl Object for GoTime {
    fn type_name(&self) -> String {
        "time.Time".into()
    }
    fn call_method(&self, name: &str, args: &[Value]) -> Option<Result<Value, String>> {
        let c = self.civil();
        Some(Ok(match name {
            "Unix" => Value::Int64(self.unix),
            "UnixNano" => Value::Int64(
                self.unix
                    .wrapping_mul(1_000_000_000)
                    .wrapping_add(self.nanos as i64),
            ),
            "UnixMilli" => Value::Int64(self.unix * 1000 + (self.nanos / 1_000_000) as i64),
            "Year" => Value::Int(c.year),
            "Month" => Value::from(MONTHS[c.month as usize - 1]),
            "Day" => Value::Int(c.day as i64),
            "Hour" => Value::Int(c.hour as i64),
            "Minute" => Value::Int(c.minute as i64),
            "Second" => Value::Int(c.second as i64),
            "Nanosecond" => Value::Int(self.nanos as i64),
            "YearDay" => Value::Int(c.yday as i64),
            "Weekday" => Value::from(DAYS[c.weekday]),
            "String" => Value::from(self.format(GO_STRING_LAYOUT)),
            "UTC" => Value::Object(Rc::new(GoTime::utc(self.unix, self.nanos))),
            "Format" => match args.first() {
                Some(Value::String(l)) => Value::from(self.format(l)),
                _ => return Some(Err("wrong type for value; expected string".into())),
            },
            _ => return None,
        }))
    }
    fn method_params(&self, name: &str) -> Option<(Vec<crate::Param>, Option<crate::Param>)> {
        match name {
            "Format" => Some((vec![crate::Param::Str], None)),
            "Unix" | "UnixNano" | "UnixMilli" | "Year" | "Month" | "Day" | "Hour" | "Minute"
            | "Second" | "Nanosecond" | "YearDay" | "Weekday" | "String" | "UTC" => {
                Some((vec![], None))
            }
            _ => None,
        }
    }
    fn format(&self) -> String {
        self.format(GO_STRING_LAYOUT)
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
    fn json(&self) -> Option<String> {
        Some(format!(
            "\"{}\"",
            self.format("2006-01-02T15:04:05.999999999Z07:00")
        ))
    }
}

/// Go's `time.Time.String()` layout.
pub const GO_STRING_LAYOUT: &str = "2006-01-02 15:04:05.999999999 -0700 MST";

/// Go's `time.Duration.String`.
pub fn duration_string(d: i64) -> String {
    if d == 0 {
        return "0s".into();
    }
    let neg = d < 0;
    let u = d.unsigned_abs();
    let mut out = String::new();
    if u < 1_000_000_000 {
        let (unit, div) = if u < 1_000 {
            ("ns", 1u64)
        } else if u < 1_000_000 {
            ("µs", 1_000)
        } else {
            ("ms", 1_000_000)
        };
        out.push_str(&frac_string(u, div));
        out.push_str(unit);
    } else {
        let secs_total = u / 1_000_000_000;
        let h = secs_total / 3600;
        let m = secs_total / 60 % 60;
        let sec_part = u % 60_000_000_000;
        if h > 0 {
            out.push_str(&format!("{h}h"));
        }
        if h > 0 || m > 0 {
            out.push_str(&format!("{m}m"));
        }
        out.push_str(&frac_string(sec_part, 1_000_000_000));
        out.push('s');
    }
    if neg {
        out.insert(0, '-');
    }
    out
}

fn frac_string(v: u64, div: u64) -> String {
    let whole = v / div;
    let frac = v % div;
    if frac == 0 {
        return whole.to_string();
    }
    let width = div.to_string().len() - 1;
    let mut f = format!("{:0width$}", frac, width = width);
    while f.ends_with('0') {
        f.pop();
    }
    format!("{whole}.{f}")
}

/// Go's `time.ParseDuration`.
pub fn parse_duration(s: &str) -> Result<i64, String> {
    let orig = s;
    let err = || format!("time: invalid duration {}", crate::gofmt::quote(orig));
    let (neg, mut rest) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if rest == "0" {
        return Ok(0);
    }
    if rest.is_empty() {
        return Err(err());
    }
    let mut total: f64 = 0.0;
    while !rest.is_empty() {
        let num_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if num_end == 0 {
            return Err(err());
        }
        let num: f64 = rest[..num_end].parse().map_err(|_| err())?;
        rest = &rest[num_end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let unit = &rest[..unit_end];
        rest = &rest[unit_end..];
        let mult = match unit {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            "" => {
                return Err(format!(
                    "time: missing unit in duration {}",
                    crate::gofmt::quote(orig)
                ))
            }
            u => {
                return Err(format!(
                    "time: unknown unit {} in duration {}",
                    crate::gofmt::quote(u),
                    crate::gofmt::quote(orig)
                ))
            }
        };
        total += num * mult;
    }
    if total > i64::MAX as f64 {
        return Err(err());
    }
    Ok(if neg { -(total as i64) } else { total as i64 })
}

/// A subset of Go's `time.Parse`: numeric fields, month names, fractions
/// and numeric zones, which is what templates use.
pub fn parse_time(layout: &str, value: &str) -> Result<GoTime, String> {
    let bad = || {
        format!(
            "parsing time {} as {}: cannot parse",
            crate::gofmt::quote(value),
            crate::gofmt::quote(layout)
        )
    };
    let (mut year, mut month, mut day, mut hour, mut min, mut sec, mut nanos, mut offset) =
        (1i64, 1u32, 1u32, 0u32, 0u32, 0u32, 0u32, 0i32);
    let mut pm: Option<bool> = None;
    let mut l = layout;
    let mut v = value;
    let take_num = |v: &mut &str, min_len: usize, max_len: usize| -> Option<i64> {
        let n = v
            .bytes()
            .take(max_len)
            .take_while(u8::is_ascii_digit)
            .count();
        if n < min_len {
            return None;
        }
        let x = v[..n].parse().ok()?;
        *v = &v[n..];
        Some(x)
    };
    while !l.is_empty() {
        let (prefix, std, rest) = next_std_chunk(l);
        v = v.strip_prefix(prefix).ok_or_else(bad)?;
        let Some(std) = std else { break };
        l = rest;
        match std {
            Std::LongYear => year = take_num(&mut v, 4, 4).ok_or_else(bad)?,
            Std::Year => {
                year =
                    1900 + take_num(&mut v, 2, 2).ok_or_else(bad)? + if year < 69 { 100 } else { 0 }
            }
            Std::NumMonth | Std::ZeroMonth => {
                month = take_num(&mut v, 1, 2).ok_or_else(bad)? as u32
            }
            Std::Month | Std::LongMonth => {
                let idx = MONTHS
                    .iter()
                    .position(|m| {
                        let name = if matches!(std, Std::Month) {
                            &m[..3]
                        } else {
                            m
                        };
                        v.starts_with(name)
                    })
                    .ok_or_else(bad)?;
                let len = if matches!(std, Std::Month) {
                    3
                } else {
                    MONTHS[idx].len()
                };
                v = &v[len..];
                month = idx as u32 + 1;
            }
            Std::WeekDay | Std::LongWeekDay => {
                let idx = DAYS
                    .iter()
                    .position(|d| {
                        v.starts_with(if matches!(std, Std::WeekDay) {
                            &d[..3]
                        } else {
                            d
                        })
                    })
                    .ok_or_else(bad)?;
                v = &v[if matches!(std, Std::WeekDay) {
                    3
                } else {
                    DAYS[idx].len()
                }..];
            }
            Std::Day | Std::ZeroDay | Std::UnderDay => {
                v = v.trim_start_matches(' ');
                day = take_num(&mut v, 1, 2).ok_or_else(bad)? as u32;
            }
            Std::Hour => hour = take_num(&mut v, 1, 2).ok_or_else(bad)? as u32,
            Std::Hour12 | Std::ZeroHour12 => hour = take_num(&mut v, 1, 2).ok_or_else(bad)? as u32,
            Std::Minute | Std::ZeroMinute => min = take_num(&mut v, 1, 2).ok_or_else(bad)? as u32,
            Std::Second | Std::ZeroSecond => {
                sec = take_num(&mut v, 1, 2).ok_or_else(bad)? as u32;
                if let Some(r) = v.strip_prefix('.') {
                    if !matches!(next_std_chunk(l).1, Some(Std::Frac { .. })) {
                        let n = r.bytes().take_while(u8::is_ascii_digit).count();
                        let digits = format!("{:0<9}", &r[..n.min(9)]);
                        nanos = digits.parse().unwrap_or(0);
                        v = &r[n..];
                    }
                }
            }
            Std::Frac { .. } => {
                if let Some(r) = v.strip_prefix(['.', ',']) {
                    let n = r.bytes().take_while(u8::is_ascii_digit).count();
                    let digits = format!("{:0<9}", &r[..n.min(9)]);
                    nanos = digits.parse().unwrap_or(0);
                    v = &r[n..];
                }
            }
            Std::PM | Std::Pm => {
                let up = v.get(..2).map(|x| x.to_ascii_uppercase()).ok_or_else(bad)?;
                pm = Some(up == "PM");
                v = &v[2..];
            }
            Std::ZeroYearDay | Std::UnderYearDay => {
                take_num(&mut v, 1, 3).ok_or_else(bad)?;
            }
            Std::Tz(TzKind::Name) => {
                let n = v.bytes().take_while(u8::is_ascii_uppercase).count();
                v = &v[n..];
            }
            Std::Tz(TzKind::Num { z, .. }) => {
                if z && v.starts_with('Z') {
                    v = &v[1..];
                } else {
                    let sign = match v.as_bytes().first() {
                        Some(b'+') => 1,
                        Some(b'-') => -1,
                        _ => return Err(bad()),
                    };
                    v = &v[1..];
                    let h = take_num(&mut v, 2, 2).ok_or_else(bad)?;
                    v = v.strip_prefix(':').unwrap_or(v);
                    let m = take_num(&mut v, 0, 2).unwrap_or(0);
                    offset = sign * (h * 3600 + m * 60) as i32;
                }
            }
        }
    }
    if !v.is_empty() {
        return Err(format!(
            "parsing time {}: extra text: {}",
            crate::gofmt::quote(value),
            crate::gofmt::quote(v)
        ));
    }
    if let Some(p) = pm {
        if p && hour < 12 {
            hour += 12;
        } else if !p && hour == 12 {
            hour = 0;
        }
    }
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || min > 59 || sec > 59 {
        return Err(format!(
            "parsing time {}: day out of range",
            crate::gofmt::quote(value)
        ));
    }
    let days = days_from_civil(year, month, day);
    let unix = days * 86400 + (hour * 3600 + min * 60 + sec) as i64 - offset as i64;
    Ok(GoTime {
        unix,
        nanos,
        offset,
        zone: if offset == 0 {
            "UTC".into()
        } else {
            String::new()
        },
    })
}

fn as_time(v: &Value) -> GoTime {
    match v {
        Value::Object(o) => match o.as_any().downcast_ref::<GoTime>() {
            Some(t) => t.clone(),
            None => GoTime::now(),
        },
        Value::Int(n) | Value::Int64(n) => GoTime::utc(*n, 0),
        _ => GoTime::now(),
    }
}

fn in_zone(mut t: GoTime, zone: &str) -> GoTime {
    // Only UTC and "Local" (= UTC here) are known without a zone database.
    let _ = zone;
    t.offset = 0;
    t.zone = "UTC".into();
    t
}

fn time_value(t: GoTime) -> Value {
    Value::Object(Rc::new(t))
}

pub fn register(r: &mut Registry) {
    r.add("now", &[], None, |_| Ok(time_value(GoTime::now())));
    r.add("date", &[Str, Any], None, |a| {
        Ok(in_zone(as_time(&a[1]), "Local").format(s(&a[0])).into())
    });
    for name in ["dateInZone", "date_in_zone"] {
        r.add(name, &[Str, Any, Str], None, |a| {
            Ok(in_zone(as_time(&a[1]), s(&a[2])).format(s(&a[0])).into())
        });
    }
    r.add("htmlDate", &[Any], None, |a| {
        Ok(in_zone(as_time(&a[0]), "Local").format("2006-01-02").into())
    });
    r.add("htmlDateInZone", &[Any, Str], None, |a| {
        Ok(in_zone(as_time(&a[0]), s(&a[1]))
            .format("2006-01-02")
            .into())
    });
    r.add("unixEpoch", &[Any], None, |a| {
        Ok(as_time(&a[0]).unix.to_string().into())
    });
    r.add("toDate", &[Str, Str], None, |a| {
        Ok(time_value(parse_time(s(&a[0]), s(&a[1])).unwrap_or(
            GoTime {
                unix: -62135596800,
                nanos: 0,
                offset: 0,
                zone: "UTC".into(),
            },
        )))
    });
    r.add("mustToDate", &[Str, Str], None, |a| {
        Ok(time_value(parse_time(s(&a[0]), s(&a[1]))?))
    });
    for (name, must) in [
        ("dateModify", false),
        ("date_modify", false),
        ("mustDateModify", true),
        ("must_date_modify", true),
    ] {
        r.add(name, &[Str, Any], None, move |a| {
            let t = as_time(&a[1]);
            match parse_duration(s(&a[0])) {
                Ok(d) => {
                    let total = t.nanos as i64 + d.rem_euclid(1_000_000_000);
                    let mut out = t.clone();
                    out.unix = t.unix + d.div_euclid(1_000_000_000) + total / 1_000_000_000;
                    out.nanos = (total % 1_000_000_000) as u32;
                    Ok(time_value(out))
                }
                Err(e) if must => Err(e),
                Err(_) => Ok(time_value(t)),
            }
        });
    }
    r.add("duration", &[Any], None, |a| {
        // sprig accepts only a string or an int64; anything else is 0.
        let n = match &a[0] {
            Value::String(st) => st.parse::<i64>().unwrap_or(0),
            Value::Int64(n) => *n,
            _ => 0,
        };
        Ok(duration_string(n.saturating_mul(1_000_000_000)).into())
    });
    r.add("durationRound", &[Any], None, |a| {
        let d: i64 = match &a[0] {
            Value::String(st) => parse_duration(st).unwrap_or(0),
            Value::Int64(n) => *n,
            Value::Object(_) => {
                let t = as_time(&a[0]);
                (GoTime::now().unix - t.unix).saturating_mul(1_000_000_000)
            }
            _ => 0,
        };
        let u = d.unsigned_abs();
        let hour = 3_600_000_000_000u64;
        let steps = [
            (hour * 24 * 365, "y"),
            (hour * 24 * 30, "mo"),
            (hour * 24, "d"),
            (hour, "h"),
            (60_000_000_000, "m"),
            (1_000_000_000, "s"),
        ];
        for (unit, suffix) in steps {
            if u > unit {
                return Ok(format!("{}{suffix}", u / unit).into());
            }
        }
        Ok("0s".into())
    });
    r.add("ago", &[Any], None, |a| {
        let t = as_time(&a[0]);
        Ok(duration_string((GoTime::now().unix - t.unix).saturating_mul(1_000_000_000)).into())
    });
    let _ = i;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_go() {
        let t = GoTime::utc(1_700_000_000, 123_000_000);
        assert_eq!(
            t.format("2006-01-02T15:04:05Z07:00"),
            "2023-11-14T22:13:20Z"
        );
        assert_eq!(t.format("Jan _2 3:04PM .000"), "Nov 14 10:13PM .123");
        assert_eq!(
            t.format(GO_STRING_LAYOUT),
            "2023-11-14 22:13:20.123 +0000 UTC"
        );
    }

    #[test]
    fn durations() {
        assert_eq!(duration_string(3_723_000_000_000), "1h2m3s");
        assert_eq!(duration_string(1_500_000_000), "1.5s");
        assert_eq!(duration_string(100_000_000), "100ms");
        assert_eq!(parse_duration("1h30m").ok(), Some(5_400_000_000_000));
    }

    #[test]
    fn parses() {
        let t = parse_time("2006-01-02", "2024-02-29").ok().map(|t| t.unix);
        assert_eq!(t, Some(1_709_164_800));
    }
}
