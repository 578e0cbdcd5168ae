//! sprig math. Integer functions return `int64`; the `…f` functions use
//! decimal arithmetic (shopspring/decimal) and return `float64`, so
//! `addf 0.1 0.2` is `0.3`, not `0.30000000000000004`.

use super::conv::{i, to_float64, to_int64};
use super::Registry;
use crate::func::Param::*;
use crate::value::Value;

/// A decimal `mantissa × 10^-scale`.
#[derive(Clone, Copy, Debug)]
struct Decimal {
    mantissa: i128,
    scale: i32,
}

impl Decimal {
    /// shopspring's `NewFromFloat`: the shortest decimal that round-trips.
    fn from_f64(f: f64) -> Option<Decimal> {
        if !f.is_finite() {
            return None;
        }
        let s = format!("{f:e}");
        let (m, e) = s.split_once('e')?;
        let e: i32 = e.parse().ok()?;
        let neg = m.starts_with('-');
        let digits: String = m.chars().filter(char::is_ascii_digit).collect();
        let frac_len = m.split_once('.').map(|(_, f)| f.len() as i32).unwrap_or(0);
        let mut mantissa: i128 = digits.parse().ok()?;
        if neg {
            mantissa = -mantissa;
        }
        Some(Decimal {
            mantissa,
            scale: frac_len - e,
        })
    }

    fn to_f64(self) -> f64 {
        format!("{}e{}", self.mantissa, -self.scale)
            .parse()
            .unwrap_or(f64::NAN)
    }

    fn align(a: Decimal, b: Decimal) -> Option<(i128, i128, i32)> {
        let scale = a.scale.max(b.scale);
        let pa = 10i128.checked_pow((scale - a.scale) as u32)?;
        let pb = 10i128.checked_pow((scale - b.scale) as u32)?;
        Some((
            a.mantissa.checked_mul(pa)?,
            b.mantissa.checked_mul(pb)?,
            scale,
        ))
    }

    fn add(a: Decimal, b: Decimal) -> Option<Decimal> {
        let (x, y, scale) = Decimal::align(a, b)?;
        Some(Decimal {
            mantissa: x.checked_add(y)?,
            scale,
        })
    }

    fn sub(a: Decimal, b: Decimal) -> Option<Decimal> {
        let (x, y, scale) = Decimal::align(a, b)?;
        Some(Decimal {
            mantissa: x.checked_sub(y)?,
            scale,
        })
    }

    fn mul(a: Decimal, b: Decimal) -> Option<Decimal> {
        Some(Decimal {
            mantissa: a.mantissa.checked_mul(b.mantissa)?,
            scale: a.scale + b.scale,
        })
    }

    /// `DivRound(b, 16)`: rounded half away from zero to 16 decimal places.
    fn div(a: Decimal, b: Decimal) -> Option<Decimal> {
        if b.mantissa == 0 {
            return None;
        }
        // a/b = (ma/mb) × 10^(sb - sa); we want N = round(a/b × 10^16).
        let shift = 16 + b.scale - a.scale + 1; // one extra digit for rounding
        let (num, den) = if shift >= 0 {
            (
                a.mantissa.checked_mul(10i128.checked_pow(shift as u32)?)?,
                b.mantissa,
            )
        } else {
            (
                a.mantissa,
                b.mantissa
                    .checked_mul(10i128.checked_pow((-shift) as u32)?)?,
            )
        };
        let q = num / den;
        let rounded = if q >= 0 { (q + 5) / 10 } else { (q - 5) / 10 };
        Some(Decimal {
            mantissa: rounded,
            scale: 16,
        })
    }
}

fn decimal_op(
    first: &Value,
    rest: &[Value],
    op: fn(Decimal, Decimal) -> Option<Decimal>,
    float_op: fn(f64, f64) -> f64,
) -> Value {
    let mut acc_f = to_float64(first);
    let mut acc = Decimal::from_f64(acc_f);
    for x in rest {
        let xf = to_float64(x);
        acc = match (acc, Decimal::from_f64(xf)) {
            (Some(a), Some(b)) => op(a, b),
            _ => None,
        };
        acc_f = match acc {
            Some(d) => d.to_f64(),
            None => float_op(acc_f, xf),
        };
    }
    Value::Float(acc.map(Decimal::to_f64).unwrap_or(acc_f))
}

fn round(a: &Value, places: i64, round_on: f64) -> f64 {
    let val = to_float64(a);
    let pow = 10f64.powf(places as f64);
    let digit = pow * val;
    let div = digit.fract();
    let r = if div >= round_on {
        digit.ceil()
    } else {
        digit.floor()
    };
    r / pow
}

pub fn register(r: &mut Registry) {
    r.add("add1", &[Any], None, |a| {
        Ok(Value::Int64(to_int64(&a[0]).wrapping_add(1)))
    });
    r.add("add", &[], Some(Any), |a| {
        Ok(Value::Int64(
            a.iter().fold(0i64, |acc, x| acc.wrapping_add(to_int64(x))),
        ))
    });
    r.add("sub", &[Any, Any], None, |a| {
        Ok(Value::Int64(to_int64(&a[0]).wrapping_sub(to_int64(&a[1]))))
    });
    r.add("div", &[Any, Any], None, |a| {
        let d = to_int64(&a[1]);
        if d == 0 {
            return Err("runtime error: integer divide by zero".into());
        }
        Ok(Value::Int64(to_int64(&a[0]).wrapping_div(d)))
    });
    r.add("mod", &[Any, Any], None, |a| {
        let d = to_int64(&a[1]);
        if d == 0 {
            return Err("runtime error: integer divide by zero".into());
        }
        Ok(Value::Int64(to_int64(&a[0]).wrapping_rem(d)))
    });
    r.add("mul", &[Any], Some(Any), |a| {
        Ok(Value::Int64(
            a[1..]
                .iter()
                .fold(to_int64(&a[0]), |acc, x| acc.wrapping_mul(to_int64(x))),
        ))
    });
    for name in ["max", "biggest"] {
        r.add(name, &[Any], Some(Any), |a| {
            Ok(Value::Int64(
                a[1..]
                    .iter()
                    .fold(to_int64(&a[0]), |acc, x| acc.max(to_int64(x))),
            ))
        });
    }
    r.add("min", &[Any], Some(Any), |a| {
        Ok(Value::Int64(
            a[1..]
                .iter()
                .fold(to_int64(&a[0]), |acc, x| acc.min(to_int64(x))),
        ))
    });
    r.add("maxf", &[Any], Some(Any), |a| {
        Ok(Value::Float(
            a[1..]
                .iter()
                .fold(to_float64(&a[0]), |acc, x| go_max(acc, to_float64(x))),
        ))
    });
    r.add("minf", &[Any], Some(Any), |a| {
        Ok(Value::Float(
            a[1..]
                .iter()
                .fold(to_float64(&a[0]), |acc, x| go_min(acc, to_float64(x))),
        ))
    });
    r.add("add1f", &[Any], None, |a| {
        Ok(decimal_op(&a[0], &[Value::Int(1)], Decimal::add, |x, y| {
            x + y
        }))
    });
    r.add("addf", &[], Some(Any), |a| {
        Ok(decimal_op(&Value::Float(0.0), &a, Decimal::add, |x, y| {
            x + y
        }))
    });
    r.add("subf", &[Any], Some(Any), |a| {
        Ok(decimal_op(&a[0], &a[1..], Decimal::sub, |x, y| x - y))
    });
    r.add("mulf", &[Any], Some(Any), |a| {
        Ok(decimal_op(&a[0], &a[1..], Decimal::mul, |x, y| x * y))
    });
    r.add("divf", &[Any], Some(Any), |a| {
        if a[1..].iter().any(|x| to_float64(x) == 0.0) {
            return Err("decimal division by 0".into());
        }
        Ok(decimal_op(&a[0], &a[1..], Decimal::div, |x, y| x / y))
    });
    r.add("ceil", &[Any], None, |a| {
        Ok(Value::Float(to_float64(&a[0]).ceil()))
    });
    r.add("floor", &[Any], None, |a| {
        Ok(Value::Float(to_float64(&a[0]).floor()))
    });
    r.add("round", &[Any, Int], Some(Float64), |a| {
        let on = a
            .get(2)
            .and_then(|v| {
                if let Value::Float(f) = v {
                    Some(*f)
                } else {
                    None
                }
            })
            .unwrap_or(0.5);
        Ok(Value::Float(round(&a[0], i(&a[1]), on)))
    });
    r.add("randInt", &[Int, Int], None, |a| {
        let (lo, hi) = (i(&a[0]), i(&a[1]));
        if hi <= lo {
            return Err("invalid argument to Intn".into());
        }
        Ok(Value::Int(
            lo + (super::random::next_u64() % (hi - lo) as u64) as i64,
        ))
    });
    r.add("atoi", &[Str], None, |a| {
        Ok(Value::Int(a[0].as_str().and_then(atoi).unwrap_or(0)))
    });
    r.add("int", &[Any], None, |a| Ok(Value::Int(to_int64(&a[0]))));
    r.add("int64", &[Any], None, |a| Ok(Value::Int64(to_int64(&a[0]))));
    r.add("float64", &[Any], None, |a| {
        Ok(Value::Float(to_float64(&a[0])))
    });
    r.add("toDecimal", &[Any], None, |a| {
        let s = crate::gofmt::to_string_v(&a[0]);
        let s = s.strip_prefix('+').unwrap_or(&s).to_string();
        Ok(Value::Int64(i64::from_str_radix(&s, 8).unwrap_or(0)))
    });
}

/// `strconv.Atoi`: decimal only, optional sign.
fn atoi(s: &str) -> Option<i64> {
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    if body.is_empty() || !body.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn go_max(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        a.max(b)
    }
}

fn go_min(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        a.min(b)
    }
}
