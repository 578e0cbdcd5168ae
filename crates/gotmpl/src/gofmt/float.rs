//! Go's `strconv.FormatFloat` for the `e`, `f` and `g` formats.
//!
//! Rust's float formatting gives the same shortest round-trip digits and the
//! same correctly rounded fixed-precision digits as Go; only the layout
//! (exponent form, `%g` switching, trailing zeros) differs, and is redone here.

/// Decimal digits of a finite, non-negative float: `0.d1d2d3… × 10^dp`.
struct Digits {
    digits: Vec<u8>,
    /// Position of the decimal point relative to the digits.
    dp: i32,
}

/// Digits of `x` (finite, >= 0). `significant = None` gives the shortest
/// representation that round-trips; `Some(n)` rounds to `n` significant digits.
fn digits(x: f64, significant: Option<usize>) -> Digits {
    let s = match significant {
        None => format!("{x:e}"),
        // An f64's exact expansion has at most 767 significant digits; more
        // are zeros, which the layout functions pad (and Rust's formatter
        // refuses precisions above 65,535).
        Some(n) => format!("{:.*e}", n.saturating_sub(1).min(800), x),
    };
    let (mant, exp) = s.split_once('e').unwrap_or((s.as_str(), "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let mut digits: Vec<u8> = mant.bytes().filter(u8::is_ascii_digit).collect();
    while digits.len() > 1 && digits.last() == Some(&b'0') {
        digits.pop();
    }
    if digits == [b'0'] {
        return Digits {
            digits: Vec::new(),
            dp: 0,
        };
    }
    Digits {
        digits,
        dp: exp + 1,
    }
}

/// Digits of `x` rounded to `frac` digits after the decimal point.
fn fixed_digits(x: f64, frac: usize) -> Digits {
    // At most 1,074 fractional digits are non-zero; see `digits`.
    let s = format!("{:.*}", frac.min(1100), x);
    let (int, fr) = s.split_once('.').unwrap_or((s.as_str(), ""));
    let mut all: Vec<u8> = int.bytes().chain(fr.bytes()).collect();
    let mut dp = int.len() as i32;
    while all.first() == Some(&b'0') {
        all.remove(0);
        dp -= 1;
    }
    while all.last() == Some(&b'0') {
        all.pop();
    }
    if all.is_empty() {
        dp = 0;
    }
    Digits { digits: all, dp }
}

fn fmt_e(out: &mut String, d: &Digits, prec: usize, upper: bool) {
    let first = d.digits.first().copied().unwrap_or(b'0');
    out.push(first as char);
    if prec > 0 {
        out.push('.');
        for i in 1..=prec {
            out.push(d.digits.get(i).copied().unwrap_or(b'0') as char);
        }
    }
    out.push(if upper { 'E' } else { 'e' });
    let exp = if d.digits.is_empty() { 0 } else { d.dp - 1 };
    out.push(if exp < 0 { '-' } else { '+' });
    let e = exp.unsigned_abs();
    if e < 10 {
        out.push('0');
    }
    out.push_str(&e.to_string());
}

fn fmt_f(out: &mut String, d: &Digits, prec: usize) {
    if d.dp > 0 {
        for i in 0..d.dp as usize {
            out.push(d.digits.get(i).copied().unwrap_or(b'0') as char);
        }
    } else {
        out.push('0');
    }
    if prec > 0 {
        out.push('.');
        for i in 0..prec as i32 {
            let j = d.dp + i;
            let c = if j < 0 {
                b'0'
            } else {
                d.digits.get(j as usize).copied().unwrap_or(b'0')
            };
            out.push(c as char);
        }
    }
}

/// `strconv.FormatFloat(x, fmt, prec, 64)` for `fmt` in `e E f F g G`;
/// `prec < 0` means the shortest representation.
pub fn format_float(x: f64, fmt: char, prec: i32) -> String {
    if x.is_nan() {
        return "NaN".into();
    }
    if x.is_infinite() {
        return if x > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    let mut out = String::new();
    if x.is_sign_negative() {
        out.push('-');
    }
    let x = x.abs();
    let shortest = prec < 0;
    match fmt {
        'e' | 'E' => {
            let d = if shortest {
                digits(x, None)
            } else {
                digits(x, Some(prec as usize + 1))
            };
            let p = if shortest {
                d.digits.len().saturating_sub(1)
            } else {
                prec as usize
            };
            fmt_e(&mut out, &d, p, fmt == 'E');
        }
        'f' | 'F' => {
            if shortest {
                let d = digits(x, None);
                let p = (d.digits.len() as i32 - d.dp).max(0) as usize;
                fmt_f(&mut out, &d, p);
            } else {
                let d = fixed_digits(x, prec as usize);
                fmt_f(&mut out, &d, prec as usize);
            }
        }
        _ => {
            let (d, mut p) = if shortest {
                let d = digits(x, None);
                let n = d.digits.len() as i32;
                (d, n)
            } else {
                let p = if prec == 0 { 1 } else { prec };
                (digits(x, Some(p as usize)), p)
            };
            let nd = d.digits.len() as i32;
            let mut eprec = p;
            if eprec > nd && nd >= d.dp {
                eprec = nd;
            }
            if shortest {
                eprec = 6;
            }
            let exp = d.dp - 1;
            if exp < -4 || exp >= eprec {
                if p > nd {
                    p = nd;
                }
                fmt_e(&mut out, &d, (p - 1).max(0) as usize, fmt == 'G');
            } else {
                if p > d.dp {
                    p = nd;
                }
                fmt_f(&mut out, &d, (p - d.dp).max(0) as usize);
            }
        }
    }
    out
}

/// How `encoding/json` writes a float64: `f` format unless the exponent is
/// very small or large, then `e` with a short exponent (`1e-07` → `1e-7`).
pub fn format_json_float(x: f64) -> String {
    let abs = x.abs();
    let use_exp = abs != 0.0 && !(1e-6..1e21).contains(&abs);
    if !use_exp {
        return format_float(x, 'f', -1);
    }
    let s = format_float(x, 'e', -1);
    // Clean up e-09 to e-9.
    let b = s.as_bytes();
    let n = b.len();
    if n >= 4 && b[n - 4] == b'e' && b[n - 3] == b'-' && b[n - 2] == b'0' {
        let mut t = s[..n - 2].to_string();
        t.push(b[n - 1] as char);
        return t;
    }
    s
}

/// `strconv.FormatFloat(x, 'x', prec, 64)`: `-0x1.8p+01`.
pub fn format_hex(x: f64, prec: i32) -> String {
    if x.is_nan() {
        return "NaN".into();
    }
    if x.is_infinite() {
        return if x > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    let neg = x.is_sign_negative();
    let bits = x.abs().to_bits();
    let mut exp = ((bits >> 52) & 0x7ff) as i32;
    let mut mant = bits & ((1u64 << 52) - 1);
    if exp == 0 && mant == 0 {
        let frac = if prec > 0 {
            format!(".{}", "0".repeat(prec as usize))
        } else {
            String::new()
        };
        return format!("{}0x0{frac}p+00", if neg { "-" } else { "" });
    }
    if exp == 0 {
        // Subnormal: normalise so the leading bit is 1.
        exp = 1;
        while mant & (1u64 << 52) == 0 {
            mant <<= 1;
            exp -= 1;
        }
        mant &= (1u64 << 52) - 1;
    }
    exp -= 1023;
    // 52 mantissa bits = 13 hex digits.
    let mut digits = format!("{mant:013x}");
    let mut lead = 1u64;
    if prec >= 0 && (prec as usize) < 13 {
        let keep = prec as usize;
        let shift = (13 - keep) * 4;
        let full = (1u64 << 52) | mant;
        let half = 1u64 << (shift - 1);
        let rem = full & ((1u64 << shift) - 1);
        let mut q = full >> shift;
        if rem > half || (rem == half && q & 1 == 1) {
            q += 1;
        }
        if q >> (keep * 4) >= 2 {
            q >>= 1;
            exp += 1;
        }
        lead = q >> (keep * 4);
        digits = if keep == 0 {
            String::new()
        } else {
            format!("{:0w$x}", q & ((1u64 << (keep * 4)) - 1), w = keep)
        };
    } else if prec < 0 {
        while digits.ends_with('0') {
            digits.pop();
        }
    } else {
        digits.push_str(&"0".repeat(prec as usize - 13));
    }
    let frac = if digits.is_empty() {
        String::new()
    } else {
        format!(".{digits}")
    };
    let sign = if exp < 0 { '-' } else { '+' };
    format!(
        "{}0x{lead}{frac}p{sign}{:02}",
        if neg { "-" } else { "" },
        exp.unsigned_abs()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shortest_g_matches_go() {
        assert_eq!(format_float(1e6, 'g', -1), "1e+06");
        assert_eq!(format_float(123456.0, 'g', -1), "123456");
        assert_eq!(format_float(0.0001, 'g', -1), "0.0001");
        assert_eq!(format_float(0.00001, 'g', -1), "1e-05");
        assert_eq!(format_float(3.5, 'g', -1), "3.5");
        assert_eq!(format_float(0.0, 'g', -1), "0");
        assert_eq!(format_float(-0.0, 'g', -1), "-0");
        assert_eq!(format_float(1.0e21, 'g', -1), "1e+21");
    }

    #[test]
    fn fixed_and_exponent() {
        assert_eq!(format_float(1.23456, 'f', 2), "1.23");
        assert_eq!(format_float(0.5, 'f', 0), "0");
        assert_eq!(format_float(1.5, 'f', 0), "2");
        assert_eq!(format_float(1234.5678, 'e', 3), "1.235e+03");
        assert_eq!(format_float(1.0, 'e', 6), "1.000000e+00");
        assert_eq!(format_float(1.0, 'f', -1), "1");
        assert_eq!(format_float(100.0, 'g', 2), "1e+02");
        assert_eq!(format_float(1.0, 'g', 3), "1");
        let long = format_float(0.1, 'f', 100_000);
        assert_eq!(long.len(), 100_002);
        assert!(long.starts_with("0.1000000000000000055511151231257827"));
        assert_eq!(format_float(1.5, 'e', 70_000).len(), 70_006);
    }

    #[test]
    fn json_floats() {
        assert_eq!(format_json_float(1.0), "1");
        assert_eq!(format_json_float(1e21), "1e+21");
        assert_eq!(format_json_float(1e-7), "1e-7");
        assert_eq!(format_json_float(0.5), "0.5");
        assert_eq!(format_json_float(1e20), "100000000000000000000");
    }
}
