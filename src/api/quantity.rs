//! Kubernetes `resource.Quantity` as implemented by k8s.io/apimachinery v0.34.
//!
//! The operator re-serialises every quantity it copies into a child object, so
//! a byte-for-byte renderer has to reproduce Go's parser, its canonical form and
//! its quirks (cached input strings, nano rounding, the BinarySI cap, the
//! missing suffixes above `E`) rather than a "clean" decimal formatter.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

/// Which suffix family a quantity is printed with; Go remembers it from the
/// input so that `1Gi` and `1073741824` stay distinguishable on output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// `12e6` style.
    DecimalExponent,
    /// `12Mi` style (powers of 1024).
    BinarySI,
    /// `12M` style (powers of 1000), also used for suffix-less numbers.
    DecimalSI,
}

/// An exact decimal `mantissa * 10^exponent` plus the Go-side state that
/// influences serialisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quantity {
    /// Kept free of trailing decimal zeros so that equal values share one
    /// representation and the exponent range stays small.
    mantissa: i128,
    exponent: i32,
    format: Format,
    /// Go stores the input verbatim (`q.s`) when its fast parser decides the
    /// input is already canonical, and `String()`/`MarshalJSON` then echo it
    /// unchanged, including oddities such as `+1`, `01Ki` or `1.500`.
    cached: Option<String>,
    /// Go falls back to `inf.Dec` for inputs its int64 fast path cannot hold;
    /// `Value()` rounds negative fractions differently on that path.
    dec_path: bool,
}

/// Parse failure; the message mirrors the Go error it stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuantityError(pub String);

impl fmt::Display for QuantityError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for QuantityError {}

const ERR_FORMAT: &str = "quantities must match the regular expression \
     '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";
const ERR_NUMERIC: &str = "unable to parse numeric part of quantity";
const ERR_SUFFIX: &str = "unable to parse quantity's suffix";
/// Not a Go error: Go would keep going with arbitrary precision (or wrap its
/// int32 exponent); we refuse instead of producing a wrong answer.
const ERR_RANGE: &str = "quantity is outside the range this renderer supports";

/// i128 holds any 38-digit decimal, which bounds the exact arithmetic below.
const MAX_DIGITS: usize = 38;
/// Go's `maxInt64Factors`: more digits than this leave the int64 fast path.
const MAX_INT64_FACTORS: usize = 18;
/// Go caps BinarySI quantities at 2^63-1 while parsing.
const BINARY_CAP: i128 = i64::MAX as i128;
/// Go rounds every parsed value up to a multiple of 10^-9.
const NANO_EXPONENT: i64 = -9;

fn err(msg: &str) -> QuantityError {
    QuantityError(msg.to_string())
}

fn pow10(n: u32) -> Option<i128> {
    10i128.checked_pow(n)
}

/// Truncating division by a power of ten that may not fit in i128, in which
/// case everything is remainder.
fn div_rem(a: i128, divisor: Option<i128>) -> (i128, i128) {
    divisor
        .and_then(|d| Some((a.checked_div(d)?, a.checked_rem(d)?)))
        .unwrap_or((0, a))
}

/// Strips decimal trailing zeros into the exponent and rejects exponents Go
/// could not represent without wrapping.
fn normalise(mut mantissa: i128, mut exponent: i64) -> Result<(i128, i32), QuantityError> {
    if mantissa == 0 {
        return Ok((0, 0));
    }
    while mantissa % 10 == 0 {
        mantissa /= 10;
        exponent = exponent.checked_add(1).ok_or_else(|| err(ERR_RANGE))?;
    }
    let exponent = i32::try_from(exponent).map_err(|_| err(ERR_RANGE))?;
    Ok((mantissa, exponent))
}

/// Parses a run of ASCII digits exactly; leading zeros do not count towards
/// the i128 limit.
fn parse_exact(digits: &[u8]) -> Option<i128> {
    let start = digits
        .iter()
        .position(|&c| c != b'0')
        .unwrap_or(digits.len());
    let significant = digits.get(start..).unwrap_or_default();
    if significant.len() > MAX_DIGITS {
        return None;
    }
    significant.iter().try_fold(0i128, |acc, &c| {
        acc.checked_mul(10)?
            .checked_add(i128::from(c.checked_sub(b'0')?))
    })
}

/// Like [`parse_exact`] but moves trailing zeros into the returned exponent so
/// that long round numbers (`1` followed by 60 zeros) still fit.
fn parse_stripped(digits: &[u8]) -> Option<(i128, i64)> {
    let end = digits
        .iter()
        .rposition(|&c| c != b'0')
        .map_or(0, |p| p.saturating_add(1));
    let zeros = i64::try_from(digits.len().saturating_sub(end)).ok()?;
    let m = parse_exact(digits.get(..end).unwrap_or_default())?;
    if m == 0 {
        return Some((0, 0));
    }
    Some((m, zeros))
}

/// The pieces Go's `parseQuantityString` extracts.
struct Scanned<'a> {
    positive: bool,
    /// Go's `value` string, only consulted for the `inf.Dec` fallback, which
    /// rejects inputs without a single digit (`.Pi`, `.e-10`).
    value: &'a [u8],
    /// Integer digits without leading zeros, `"0"` if there were none.
    num: &'a [u8],
    denom: &'a [u8],
    suffix: &'a [u8],
}

fn sub(b: &[u8], from: usize, to: usize) -> &[u8] {
    b.get(from..to).unwrap_or_default()
}

/// Port of Go's `parseQuantityString`, including its early returns whose
/// `value`/`num` differ subtly from the general path.
fn scan(b: &[u8]) -> Result<Scanned<'_>, QuantityError> {
    let end = b.len();
    let mut positive = true;
    let mut pos = 0usize;
    match b.first() {
        Some(b'-') => {
            positive = false;
            pos = 1;
        }
        Some(b'+') => pos = 1,
        _ => {}
    }

    loop {
        match b.get(pos) {
            None => {
                return Ok(Scanned {
                    positive,
                    value: b"0",
                    num: b"0",
                    denom: b"",
                    suffix: b"",
                })
            }
            Some(b'0') => pos = pos.saturating_add(1),
            Some(_) => break,
        }
    }

    let num_start = pos;
    let mut i = pos;
    while b.get(i).is_some_and(u8::is_ascii_digit) {
        i = i.saturating_add(1);
    }
    if i >= end {
        return Ok(Scanned {
            positive,
            value: b,
            num: sub(b, num_start, end),
            denom: b"",
            suffix: b"",
        });
    }
    let mut num = sub(b, num_start, i);
    pos = i;
    if num.is_empty() {
        num = b"0";
    }

    let mut denom: &[u8] = b"";
    if b.get(pos) == Some(&b'.') {
        pos = pos.saturating_add(1);
        let denom_start = pos;
        let mut j = pos;
        while b.get(j).is_some_and(u8::is_ascii_digit) {
            j = j.saturating_add(1);
        }
        if j >= end {
            return Ok(Scanned {
                positive,
                value: b,
                num,
                denom: sub(b, denom_start, end),
                suffix: b"",
            });
        }
        denom = sub(b, denom_start, j);
        pos = j;
    }
    let value = sub(b, 0, pos);

    let suffix_start = pos;
    let mut j = pos;
    loop {
        match b.get(j) {
            None => {
                return Ok(Scanned {
                    positive,
                    value,
                    num,
                    denom,
                    suffix: sub(b, suffix_start, end),
                })
            }
            Some(c) if b"eEinumkKMGTP".contains(c) => j = j.saturating_add(1),
            Some(_) => {
                pos = j;
                break;
            }
        }
    }
    if matches!(b.get(pos), Some(b'-' | b'+')) {
        pos = pos.saturating_add(1);
    }
    let mut j = pos;
    loop {
        match b.get(j) {
            None => {
                return Ok(Scanned {
                    positive,
                    value,
                    num,
                    denom,
                    suffix: sub(b, suffix_start, end),
                })
            }
            Some(c) if c.is_ascii_digit() => j = j.saturating_add(1),
            Some(_) => return Err(err(ERR_FORMAT)),
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Base {
    Ten,
    Two,
}

/// Go's `strconv.ParseInt(s, 10, 64)` narrowed to i32: Go v0.34 would wrap
/// larger exponents into unrelated values, so they are rejected here.
fn parse_exponent(s: &[u8]) -> Option<i32> {
    let (negative, digits) = match s.first() {
        Some(b'-') => (true, s.get(1..)?),
        Some(b'+') => (false, s.get(1..)?),
        _ => (false, s),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let magnitude = digits.iter().try_fold(0i64, |acc, &c| {
        acc.checked_mul(10)?
            .checked_add(i64::from(c.checked_sub(b'0')?))
    })?;
    let signed = if negative {
        magnitude.checked_neg()?
    } else {
        magnitude
    };
    i32::try_from(signed).ok()
}

fn interpret(suffix: &[u8]) -> Option<(Base, i32, Format)> {
    let decimal = |e| Some((Base::Ten, e, Format::DecimalSI));
    let binary = |e| Some((Base::Two, e, Format::BinarySI));
    match suffix {
        b"" => decimal(0),
        b"n" => decimal(-9),
        b"u" => decimal(-6),
        b"m" => decimal(-3),
        b"k" => decimal(3),
        b"M" => decimal(6),
        b"G" => decimal(9),
        b"T" => decimal(12),
        b"P" => decimal(15),
        b"E" => decimal(18),
        b"Ki" => binary(10),
        b"Mi" => binary(20),
        b"Gi" => binary(30),
        b"Ti" => binary(40),
        b"Pi" => binary(50),
        b"Ei" => binary(60),
        [b'e' | b'E', rest @ ..] if !rest.is_empty() => {
            parse_exponent(rest).map(|e| (Base::Ten, e, Format::DecimalExponent))
        }
        _ => None,
    }
}

/// Exact magnitude of a base-10 quantity, rounded up to nano like Go's
/// `inf.Dec` path (a no-op for anything its fast path accepts).
fn decimal_magnitude(num: &[u8], denom: &[u8], exp: i32) -> Result<(i128, i32), QuantityError> {
    let mut digits: Vec<u8> = Vec::with_capacity(num.len().saturating_add(denom.len()));
    digits.extend_from_slice(num);
    digits.extend_from_slice(denom);
    let denom_len = i64::try_from(denom.len()).map_err(|_| err(ERR_RANGE))?;
    let mut e = i64::from(exp)
        .checked_sub(denom_len)
        .ok_or_else(|| err(ERR_RANGE))?;
    let mut round_up = false;
    if e < NANO_EXPONENT {
        let drop = usize::try_from(NANO_EXPONENT.saturating_sub(e)).unwrap_or(usize::MAX);
        let keep = digits.len().saturating_sub(drop);
        round_up = digits
            .get(keep..)
            .is_some_and(|d| d.iter().any(|&c| c != b'0'));
        digits.truncate(keep);
        e = NANO_EXPONENT;
    }
    let (m, e) = if round_up {
        let m = parse_exact(&digits)
            .and_then(|m| m.checked_add(1))
            .ok_or_else(|| err(ERR_RANGE))?;
        (m, e)
    } else {
        let (m, zeros) = parse_stripped(&digits).ok_or_else(|| err(ERR_RANGE))?;
        (m, e.checked_add(zeros).ok_or_else(|| err(ERR_RANGE))?)
    };
    normalise(m, e)
}

/// Exact magnitude of a base-2 quantity with Go's nano rounding and its
/// silent cap at 2^63-1 (so `8Ei` and absurdly long inputs saturate).
fn binary_magnitude(num: &[u8], denom: &[u8], exp: i32) -> Result<(i128, i32), QuantityError> {
    let shift = u32::try_from(exp).map_err(|_| err(ERR_RANGE))?;
    let multiplier = 1i128.checked_shl(shift).ok_or_else(|| err(ERR_RANGE))?;
    let integer_part_too_big = parse_exact(num)
        .and_then(|n| n.checked_mul(multiplier))
        .is_none_or(|v| v > BINARY_CAP);
    if integer_part_too_big {
        return normalise(BINARY_CAP, 0);
    }

    let frac_end = denom
        .iter()
        .rposition(|&c| c != b'0')
        .map_or(0, |p| p.saturating_add(1));
    let frac = denom.get(..frac_end).unwrap_or_default();
    let mut digits: Vec<u8> = Vec::with_capacity(num.len().saturating_add(frac.len()));
    digits.extend_from_slice(num);
    digits.extend_from_slice(frac);
    let mut p = parse_exact(&digits)
        .and_then(|m| m.checked_mul(multiplier))
        .ok_or_else(|| err(ERR_RANGE))?;
    let mut e = i64::try_from(frac.len())
        .map_err(|_| err(ERR_RANGE))?
        .saturating_neg();
    if e < NANO_EXPONENT {
        let drop = u32::try_from(NANO_EXPONENT.saturating_sub(e)).unwrap_or(u32::MAX);
        let (q, r) = div_rem(p, pow10(drop));
        p = if r == 0 { q } else { q.saturating_add(1) };
        e = NANO_EXPONENT;
    }
    let cap_scaled = u32::try_from(e.saturating_neg())
        .ok()
        .and_then(pow10)
        .and_then(|s| BINARY_CAP.checked_mul(s))
        .ok_or_else(|| err(ERR_RANGE))?;
    if p > cap_scaled {
        return normalise(BINARY_CAP, 0);
    }
    normalise(p, e)
}

impl FromStr for Quantity {
    type Err = QuantityError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.is_empty() {
            return Err(err(ERR_FORMAT));
        }
        if s == "0" {
            return Ok(Quantity {
                mantissa: 0,
                exponent: 0,
                format: Format::DecimalSI,
                cached: Some(s.to_string()),
                dec_path: false,
            });
        }
        let sc = scan(s.as_bytes())?;
        let (base, exp, mut format) = interpret(sc.suffix).ok_or_else(|| err(ERR_SUFFIX))?;

        // Mirror the int64 fast-path admission so that `cached` and
        // `dec_path` match what Go would hold for this input.
        let digit_count = sc.num.len().saturating_add(sc.denom.len());
        let scale =
            i64::from(exp).saturating_sub(i64::try_from(sc.denom.len()).unwrap_or(i64::MAX));
        let fast = match base {
            Base::Ten => digit_count <= MAX_INT64_FACTORS && scale >= NANO_EXPONENT,
            Base::Two => {
                let budget = 14i64
                    .saturating_sub(i64::try_from(sc.num.len()).unwrap_or(i64::MAX))
                    .saturating_sub(i64::from(exp).saturating_mul(3) / 10);
                sc.denom.is_empty() && budget >= 0
            }
        };
        let (magnitude, exponent) = match base {
            Base::Ten => decimal_magnitude(sc.num, sc.denom, exp)?,
            Base::Two => binary_magnitude(sc.num, sc.denom, exp)?,
        };
        let cached = if fast {
            let reuse = match base {
                Base::Two => parse_exact(sc.num).is_some_and(|v| v & 0x07 != 0),
                Base::Ten => {
                    let shifted_ends_000 = if sc.denom.len() >= 3 {
                        sc.denom.ends_with(b"000")
                    } else {
                        let mut shifted = sc.num.to_vec();
                        shifted.extend_from_slice(sc.denom);
                        shifted.ends_with(b"000")
                    };
                    scale % 3 == 0 && !shifted_ends_000 && sc.num.first() != Some(&b'0')
                }
            };
            reuse.then(|| s.to_string())
        } else {
            if !sc.value.iter().any(u8::is_ascii_digit) {
                return Err(err(ERR_NUMERIC));
            }
            if format == Format::BinarySI && magnitude != 0 && exponent < 0 {
                // Go: non-zero BinarySI below one is shown as DecimalSI.
                let below_one = u32::try_from(i64::from(exponent).saturating_neg())
                    .ok()
                    .and_then(pow10)
                    .is_none_or(|scale| magnitude < scale);
                if below_one {
                    format = Format::DecimalSI;
                }
            }
            None
        };
        let mantissa = if sc.positive {
            magnitude
        } else {
            magnitude.saturating_neg()
        };
        Ok(Quantity {
            mantissa,
            exponent,
            format,
            cached,
            dec_path: !fast,
        })
    }
}

impl Quantity {
    /// The string Go's `String()`/`MarshalJSON` emit, including the echo of
    /// inputs Go considers canonical and v0.34's loss of the suffix for
    /// DecimalSI exponents beyond `E` (10^21 prints as `1`).
    pub fn canonical(&self) -> String {
        if let Some(s) = &self.cached {
            return s.clone();
        }
        if self.mantissa == 0 {
            return "0".to_string();
        }
        let format = match self.format {
            Format::BinarySI if self.within_1024() || self.exponent < 0 => Format::DecimalSI,
            f => f,
        };
        if format == Format::BinarySI {
            if let Some(s) = self.binary_string() {
                return s;
            }
        }
        self.decimal_string(format)
    }

    /// Go's `Value()`: rounds away from zero on the int64 path, but on the
    /// `inf.Dec` path negative fractions are truncated and then incremented
    /// (`-1.5` becomes `-1`). Saturates where Go would overflow.
    pub fn value(&self) -> i64 {
        let m = self.mantissa;
        if m == 0 {
            return 0;
        }
        let exact = if self.exponent >= 0 {
            let scaled = u32::try_from(self.exponent)
                .ok()
                .and_then(pow10)
                .and_then(|p| m.checked_mul(p));
            match scaled {
                Some(v) => v,
                None if m > 0 => return i64::MAX,
                None => return i64::MIN,
            }
        } else {
            let divisor = u32::try_from(i64::from(self.exponent).saturating_neg())
                .ok()
                .and_then(pow10);
            let (q, r) = div_rem(m, divisor);
            if r == 0 {
                q
            } else if m > 0 || self.dec_path {
                q.saturating_add(1)
            } else {
                q.saturating_sub(1)
            }
        };
        i64::try_from(exact).unwrap_or(if exact > 0 { i64::MAX } else { i64::MIN })
    }

    pub fn is_zero(&self) -> bool {
        self.mantissa == 0
    }

    /// Equivalent of Go's `NewQuantity`, used for operator-computed defaults
    /// (CPU counts, memory sizes) that never carry a cached input string.
    pub fn from_int(v: i64, format: Format) -> Quantity {
        let (mantissa, exponent) = normalise(i128::from(v), 0).unwrap_or((i128::from(v), 0));
        Quantity {
            mantissa,
            exponent,
            format,
            cached: None,
            dec_path: false,
        }
    }

    /// The remembered suffix family; callers need it to tell whether a
    /// BinarySI value fell back to DecimalSI during parsing.
    pub fn format(&self) -> Format {
        self.format
    }

    /// Compares values only, ignoring format and cached text (Go's `Cmp`).
    pub fn cmp_value(&self, other: &Quantity) -> Ordering {
        let (a, b) = (self.mantissa, other.mantissa);
        if a.signum() != b.signum() || a == 0 {
            return a.signum().cmp(&b.signum());
        }
        let (ea, eb) = (i64::from(self.exponent), i64::from(other.exponent));
        let lo = ea.min(eb);
        let lift = |m: i128, e: i64| -> Option<i128> {
            u32::try_from(e.saturating_sub(lo))
                .ok()
                .and_then(pow10)
                .and_then(|p| m.checked_mul(p))
        };
        match (lift(a, ea), lift(b, eb)) {
            (Some(x), Some(y)) => x.cmp(&y),
            // Only the side with the larger exponent can overflow, and then
            // its magnitude dominates.
            (None, _) if a > 0 => Ordering::Greater,
            (None, _) => Ordering::Less,
            (_, None) if b > 0 => Ordering::Less,
            (_, None) => Ordering::Greater,
        }
    }

    /// Go keeps BinarySI values in (-1024, 1024) in DecimalSI notation.
    fn within_1024(&self) -> bool {
        let abs = self.mantissa.unsigned_abs();
        if self.exponent >= 0 {
            u32::try_from(self.exponent)
                .ok()
                .and_then(|e| 10u128.checked_pow(e))
                .and_then(|p| abs.checked_mul(p))
                .is_some_and(|v| v < 1024)
        } else {
            u32::try_from(i64::from(self.exponent).saturating_neg())
                .ok()
                .and_then(|e| 10u128.checked_pow(e))
                .and_then(|p| p.checked_mul(1024))
                .is_none_or(|limit| abs < limit)
        }
    }

    fn binary_string(&self) -> Option<String> {
        let exponent = u32::try_from(self.exponent).ok()?;
        let mut v = self.mantissa.checked_mul(pow10(exponent)?)?;
        let mut times = 0usize;
        // Go negates int64 amounts before factoring; MinInt64 stays negative
        // and is therefore printed unfactored.
        let go_wraps = !self.dec_path && v == i128::from(i64::MIN);
        while !go_wraps && v.unsigned_abs() >= 1024 && v % 1024 == 0 {
            v /= 1024;
            times = times.saturating_add(1);
        }
        let suffix = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"]
            .get(times)
            .copied()
            .unwrap_or("");
        Some(format!("{v}{suffix}"))
    }

    fn decimal_string(&self, format: Format) -> String {
        let exponent = i64::from(self.exponent);
        let pad = exponent.rem_euclid(3);
        let exponent = exponent.saturating_sub(pad);
        let mut out = self.mantissa.to_string();
        for _ in 0..pad {
            out.push('0');
        }
        match format {
            Format::DecimalExponent => {
                if exponent != 0 {
                    out.push('e');
                    out.push_str(&exponent.to_string());
                }
            }
            _ => {
                let suffix = match exponent {
                    -9 => "n",
                    -6 => "u",
                    -3 => "m",
                    3 => "k",
                    6 => "M",
                    9 => "G",
                    12 => "T",
                    15 => "P",
                    18 => "E",
                    _ => "",
                };
                out.push_str(suffix);
            }
        }
        out
    }
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.canonical())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(s: &str) -> Quantity {
        s.parse()
            .unwrap_or_else(|e| panic!("{s:?} failed to parse: {e}"))
    }

    fn canon(s: &str) -> String {
        q(s).canonical()
    }

    fn raw(m: i128, e: i32, format: Format) -> Quantity {
        let (mantissa, exponent) = normalise(m, i64::from(e)).unwrap();
        Quantity {
            mantissa,
            exponent,
            format,
            cached: None,
            dec_path: true,
        }
    }

    /// (mantissa, exponent, format) after parsing, for value-level checks.
    fn parts(s: &str) -> (i128, i32, Format) {
        let x = q(s);
        (x.mantissa, x.exponent, x.format)
    }

    #[test]
    fn brief_and_spec_examples() {
        let cases = [
            ("1024Mi", "1Gi"),
            ("0.5", "500m"),
            ("2000m", "2"),
            ("9094593249", "9094593249"),
            ("536870912", "536870912"),
            ("1.5Gi", "1536Mi"),
            ("100m", "100m"),
            ("0", "0"),
            ("1e3", "1e3"),
            ("0.1Gi", "107374182400m"),
            ("32Gi", "32Gi"),
            ("4", "4"),
            ("1Ti", "1Ti"),
            ("1000Mi", "1000Mi"),
            ("1.0", "1"),
            ("12e6", "12e6"),
            ("1000000", "1M"),
            ("1Ki", "1Ki"),
            ("1024", "1024"),
            ("1536Mi", "1536Mi"),
            ("0.5Gi", "512Mi"),
            ("100Mi", "100Mi"),
            ("1.5", "1500m"),
            ("128974848", "128974848"),
            ("129e6", "129e6"),
            ("123Mi", "123Mi"),
            ("5Gi", "5Gi"),
            ("500m", "500m"),
            ("1000m", "1"),
            ("10000m", "10"),
            ("0.1", "100m"),
            ("1e-3", "1e-3"),
            ("1k", "1k"),
            ("1000k", "1M"),
            ("1024Ki", "1Mi"),
            ("1023Ki", "1023Ki"),
            ("64Gi", "64Gi"),
            ("1024Gi", "1Ti"),
            ("2.2Gi", "2362232012800m"),
        ];
        for (input, want) in cases {
            assert_eq!(canon(input), want, "input {input:?}");
        }
    }

    #[test]
    fn go_parse_emit_table_and_negations() {
        let cases = [
            ("1Ki", "1Ki"),
            ("1Mi", "1Mi"),
            ("1Gi", "1Gi"),
            ("1024Mi", "1Gi"),
            ("1000M", "1G"),
            (".001Ki", "1024m"),
            (".000001Ki", "1024u"),
            (".000000001Ki", "1024n"),
            (".000000000001Ki", "2n"),
        ];
        for (input, want) in cases {
            assert_eq!(canon(input), want, "input {input:?}");
            assert_eq!(canon(&format!("-{input}")), format!("-{want}"), "-{input}");
        }
    }

    #[test]
    fn go_parse_values() {
        use Format::*;
        let cases: &[(&str, i128, i32, Format)] = &[
            ("0n", 0, 0, DecimalSI),
            ("0Ki", 0, 0, BinarySI),
            ("0Ti", 0, 0, BinarySI),
            ("1Ki", 1024, 0, BinarySI),
            ("4Pi", 4 << 50, 0, BinarySI),
            ("3Ei", 3 << 60, 0, BinarySI),
            ("100Ti", 100 << 40, 0, BinarySI),
            ("5n", 5, -9, DecimalSI),
            ("50k", 5, 4, DecimalSI),
            ("300T", 3, 14, DecimalSI),
            ("1E", 1, 18, DecimalSI),
            ("1E-3", 1, -3, DecimalExponent),
            ("1E18", 1, 18, DecimalExponent),
            ("100.035k", 100035, 0, DecimalSI),
            ("0.0005k", 5, -1, DecimalSI),
            ("0.00050k", 5, -1, DecimalSI),
            ("0.50000", 5, -1, DecimalSI),
            ("0.5e-2", 5, -3, DecimalExponent),
            ("10.035M", 10035, 3, DecimalSI),
            ("1.3E+6", 13, 5, DecimalExponent),
            ("1.40e9", 14, 8, DecimalExponent),
            ("6.987654321G", 6987654321, 0, DecimalSI),
            ("1.01E", 101, 16, DecimalSI),
            ("3.001n", 4, -9, DecimalSI),
            ("1.1E-9", 2, -9, DecimalExponent),
            ("0.0000000001", 1, -9, DecimalSI),
            ("0.00000000050", 1, -9, DecimalSI),
            ("0.5e-9", 1, -9, DecimalExponent),
            ("0.9n", 1, -9, DecimalSI),
            ("0.00000012345", 124, -9, DecimalSI),
            ("0.00000012354", 124, -9, DecimalSI),
            ("9Ei", i64::MAX as i128, 0, BinarySI),
            ("9223372036854775807Ki", i64::MAX as i128, 0, BinarySI),
            ("12E", 12, 18, DecimalSI),
            ("100.035Ki", 10243584, -2, BinarySI),
            ("0.5Mi", 524288, 0, BinarySI),
            ("0.05Gi", 536870912, -1, BinarySI),
            ("0.025Ti", 274877906944, -1, BinarySI),
            ("0.000000000001Ki", 2, -9, DecimalSI),
            (".001", 1, -3, DecimalSI),
            (".0001k", 1, -1, DecimalSI),
            ("1.", 1, 0, DecimalSI),
            ("1.G", 1, 9, DecimalSI),
            ("-.", 0, 0, DecimalSI),
            (".", 0, 0, DecimalSI),
            ("+", 0, 0, DecimalSI),
        ];
        for &(input, m, e, f) in cases {
            let (nm, ne) = normalise(m, i64::from(e)).unwrap();
            assert_eq!(parts(input), (nm, ne, f), "input {input:?}");
            if m != 0 {
                let (neg_m, neg_e, neg_f) = parts(&format!("-{input}"));
                assert_eq!((neg_m, neg_e, neg_f), (-nm, ne, f), "-{input}");
                assert_eq!(parts(&format!("+{input}")), (nm, ne, f), "+{input}");
            }
        }
    }

    #[test]
    fn canonical_of_constructed_values() {
        use Format::*;
        let cases: &[(i128, i32, Format, &str)] = &[
            (1024 * 1024 * 1024, 0, BinarySI, "1Gi"),
            (300 * 1024 * 1024, 0, BinarySI, "300Mi"),
            (6 * 1024, 0, BinarySI, "6Ki"),
            (1001 * 1024 * 1024 * 1024, 0, BinarySI, "1001Gi"),
            (1 << 40, 0, BinarySI, "1Ti"),
            (5, 0, BinarySI, "5"),
            (500, -3, BinarySI, "500m"),
            (1234567, -3, BinarySI, "1234567m"),
            (1025, 0, BinarySI, "1025"),
            (2000, 0, BinarySI, "2000"),
            (-2000, 0, BinarySI, "-2000"),
            (1, 9, DecimalSI, "1G"),
            (1000, 6, DecimalSI, "1G"),
            (1000000, 3, DecimalSI, "1G"),
            (1, -3, DecimalSI, "1m"),
            (80, -3, DecimalSI, "80m"),
            (1080, -3, DecimalSI, "1080m"),
            (108, -2, DecimalSI, "1080m"),
            (10800, -4, DecimalSI, "1080m"),
            (300, 6, DecimalSI, "300M"),
            (1, 12, DecimalSI, "1T"),
            (1, 18, DecimalSI, "1E"),
            (1234567, 6, DecimalSI, "1234567M"),
            (3, 3, DecimalSI, "3k"),
            (0, 0, DecimalSI, "0"),
            (0, 0, BinarySI, "0"),
            (0, 0, DecimalExponent, "0"),
            (1, 9, DecimalExponent, "1e9"),
            (1, -3, DecimalExponent, "1e-3"),
            (1, -9, DecimalExponent, "1e-9"),
            (80, -3, DecimalExponent, "80e-3"),
            (300, 6, DecimalExponent, "300e6"),
            (3, 3, DecimalExponent, "3e3"),
            (1, -9, DecimalSI, "1n"),
            (80, -9, DecimalSI, "80n"),
            (108, -8, DecimalSI, "1080n"),
            (10800, -10, DecimalSI, "1080n"),
            (1, -6, DecimalSI, "1u"),
            (1080, -6, DecimalSI, "1080u"),
            // v0.34 has no suffix beyond E and silently drops the exponent.
            (1, 21, DecimalSI, "1"),
            (5, 21, DecimalSI, "5"),
            (1, 22, DecimalSI, "10"),
        ];
        for &(m, e, f, want) in cases {
            assert_eq!(raw(m, e, f).canonical(), want, "{m}e{e} {f:?}");
            if m > 0 {
                assert_eq!(raw(-m, e, f).canonical(), format!("-{want}"), "-{m}e{e}");
            }
        }
    }

    #[test]
    fn canonical_inputs_are_echoed_and_alternates_canonicalised() {
        let echoed = [
            "1Gi", "300Mi", "6Ki", "1001Gi", "1Ti", "5", "500m", "1G", "1m", "80m", "1080m",
            "300M", "1T", "1E", "1234567M", "1234567m", "3k", "1025", "0", "1e9", "1e-3", "1e-9",
            "80e-3", "300e6", "1e12", "3e3", "1n", "80n", "1080n", "1u", "80u", "1080u",
        ];
        for s in echoed {
            assert_eq!(q(s).cached.as_deref(), Some(s), "{s} should be cached");
            assert_eq!(canon(s), s);
        }
        let alternates = [
            ("1024Mi", "1Gi"),
            ("307200Ki", "300Mi"),
            ("1025024Mi", "1001Gi"),
            ("1024Gi", "1Ti"),
            ("5000m", "5"),
            ("0.5", "500m"),
            ("1000M", "1G"),
            ("0.001T", "1G"),
            ("1000u", "1m"),
            ("1.08", "1080m"),
            ("1080000000n", "1080m"),
            (".001e12", "1e9"),
            ("0.001e0", "1e-3"),
            ("1000e-12", "1e-9"),
            ("00", "0"),
        ];
        for (input, want) in alternates {
            assert_eq!(q(input).cached, None, "{input} must not be cached");
            assert_eq!(canon(input), want, "{input}");
        }
    }

    #[test]
    fn go_echoes_non_canonical_inputs_it_deems_canonical() {
        // Quirks of Go's fast path: these strings are copied verbatim.
        for s in [
            "+1", "01Ki", "1.500", "12.345", "00100m", "1.", "1.G", "1E3", "+5Gi", "1e03",
        ] {
            assert_eq!(canon(s), s);
        }
        // ...whereas these are not, because of trailing "000" or a leading 0.
        assert_eq!(canon("1.000"), "1");
        assert_eq!(canon("0.500"), "500m");
        assert_eq!(canon("-0"), "0");
        assert_eq!(canon("+0"), "0");
        assert_eq!(canon("1.5e3"), "1500");
        assert_eq!(canon("1000E"), "1");
    }

    #[test]
    fn invalid_inputs() {
        for s in [
            "",
            "1.1.M",
            "1+1.0M",
            "0.1mi",
            "0.1am",
            "aoeu",
            ".5i",
            "1i",
            "-3.01i",
            "-3.01e-",
            " 1",
            "1 ",
            "1K",
            "1e",
            "1ki",
            "1KiB",
            "1 Gi",
            "1e4294967297",
            "1e3.5",
            "Non-Numeric",
            ".Pi",
            ".e-10",
            "1Ki5",
            "1-",
            "1e+",
        ] {
            assert!(s.parse::<Quantity>().is_err(), "{s:?} should be rejected");
        }
    }

    #[test]
    fn hostile_inputs_error_or_saturate() {
        let cap = i64::MAX.to_string();
        assert_eq!(canon("9999999999999999999999999999Ei"), cap);
        assert_eq!(canon(&format!("{}Ki", "9".repeat(80))), cap);
        assert_eq!(canon("8Ei"), cap);
        assert_eq!(canon("-8Ei"), format!("-{cap}"));
        assert_eq!(q("7.9999999999Ei").value(), 9223372036739483658);
        assert_eq!(canon("7.9999999999Ei"), "9223372036739483657539315303n");
        assert!("9".repeat(60).parse::<Quantity>().is_err());
        assert!(format!("1.{}Ei", "1".repeat(60))
            .parse::<Quantity>()
            .is_err());
        assert_eq!(canon(&format!("1{}", "0".repeat(60))), "1");
        assert_eq!(canon(&format!("0.{}1", "0".repeat(200))), "1n");
        assert_eq!(canon("1e-2147483647"), "1e-9");
        assert_eq!(canon("1e2147483647"), "10e2147483646");
        assert_eq!(q("1e2147483647").value(), i64::MAX);
        assert!("10e2147483647".parse::<Quantity>().is_err());
        assert!("1e9223372036854775808".parse::<Quantity>().is_err());
        assert_eq!(q("1e30").value(), i64::MAX);
        assert_eq!(q("-1e30").value(), i64::MIN);
        assert_eq!(q("-9223372036854775808").value(), i64::MIN);
        assert_eq!(canon("-9223372036854775808"), "-9223372036854775808");
        for s in [
            "-", "+", "-.", "e", "..", "\u{e9}", "1\u{e9}", "0x10", "1__0",
        ] {
            let _ = s.parse::<Quantity>().map(|x| (x.canonical(), x.value()));
        }
    }

    #[test]
    fn generated_inputs_never_panic_and_round_trip() {
        let alphabet = b"0123456789000999.+-eEinumkKMGTP x";
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..200_000 {
            let len = (next() % 48) as usize;
            let input: String = (0..len)
                .map(|_| char::from(alphabet[(next() % alphabet.len() as u64) as usize]))
                .collect();
            let Ok(x) = input.parse::<Quantity>() else {
                continue;
            };
            let text = x.canonical();
            let _ = x.value();
            // v0.34 drops the suffix above E, so those cannot round-trip.
            if x.format == Format::DecimalSI && x.exponent > 20 {
                continue;
            }
            let back: Quantity = text
                .parse()
                .unwrap_or_else(|e| panic!("{input:?} -> {text:?}: {e}"));
            assert_eq!(back.cmp_value(&x), Ordering::Equal, "{input:?} -> {text:?}");
            assert_eq!(back.canonical(), text, "{input:?} -> {text:?}");
        }
    }

    #[test]
    fn value_rounds_like_go() {
        assert_eq!(q("2.2Gi").value(), 2362232013);
        assert_eq!(q("1.5").value(), 2);
        assert_eq!(q("100m").value(), 1);
        assert_eq!(q("1n").value(), 1);
        assert_eq!(q("1Gi").value(), 1 << 30);
        assert_eq!(q("64G").value(), 64_000_000_000);
        assert_eq!(q("64Gi").value(), 64 << 30);
        assert_eq!(q("1Ti").value(), 1 << 40);
        assert_eq!(q("0").value(), 0);
        assert_eq!(q("9Ei").value(), i64::MAX);
        // int64 path rounds negative fractions away from zero...
        assert_eq!(q("-1.5").value(), -2);
        assert_eq!(q("-100m").value(), -1);
        // ...the inf.Dec path truncates and adds one.
        assert_eq!(q("-0.1Gi").value(), -107374181);
        assert_eq!(q("-0.1Ki").value(), -101);
        assert_eq!(q("-0.5Ki").value(), -512);
    }

    #[test]
    fn from_int_defaults() {
        assert_eq!(Quantity::from_int(4, Format::DecimalSI).canonical(), "4");
        assert_eq!(Quantity::from_int(32, Format::DecimalSI).canonical(), "32");
        assert_eq!(
            Quantity::from_int(1000, Format::DecimalSI).canonical(),
            "1k"
        );
        assert_eq!(
            Quantity::from_int(32 << 30, Format::BinarySI).canonical(),
            "32Gi"
        );
        assert_eq!(
            Quantity::from_int(384 << 30, Format::BinarySI).canonical(),
            "384Gi"
        );
        assert_eq!(
            Quantity::from_int(1024 << 30, Format::BinarySI).canonical(),
            "1Ti"
        );
        assert_eq!(
            Quantity::from_int(536870912, Format::BinarySI).canonical(),
            "512Mi"
        );
        assert_eq!(Quantity::from_int(500, Format::BinarySI).canonical(), "500");
        assert_eq!(Quantity::from_int(0, Format::BinarySI).canonical(), "0");
        assert_eq!(
            Quantity::from_int(i64::MIN, Format::BinarySI).canonical(),
            "-9223372036854775808"
        );
        assert_eq!(
            raw(i128::from(i64::MIN), 0, Format::BinarySI).canonical(),
            "-8Ei"
        );
        assert_eq!(
            Quantity::from_int(i64::MAX, Format::DecimalSI).value(),
            i64::MAX
        );
        assert!(Quantity::from_int(0, Format::DecimalSI).is_zero());
        assert!(!q("1n").is_zero());
        assert!(q("0Gi").is_zero());
    }

    #[test]
    fn formats_and_comparison() {
        assert_eq!(q("1Ki").format(), Format::BinarySI);
        assert_eq!(q("0.5Ki").format(), Format::BinarySI);
        assert_eq!(q("0.0001Ki").format(), Format::DecimalSI);
        assert_eq!(q("1e3").format(), Format::DecimalExponent);
        assert_eq!(canon("0.5Ki"), "512");
        assert_eq!(canon("1.1Ki"), "1126400m");
        assert_eq!(canon("1.5Ki"), "1536");
        assert_eq!(q("10000T").cmp_value(&q("100Gi")), Ordering::Greater);
        assert_eq!(q("100m").cmp_value(&q("50m")), Ordering::Greater);
        assert_eq!(q("1Gi").cmp_value(&q("1073741824")), Ordering::Equal);
        assert_eq!(q("-1").cmp_value(&q("1n")), Ordering::Less);
        assert_eq!(q("1e2147483647").cmp_value(&q("1n")), Ordering::Greater);
        assert_eq!(q("0").cmp_value(&q("0Ki")), Ordering::Equal);
        assert_eq!(q("1Gi").to_string(), "1Gi");
    }
}
