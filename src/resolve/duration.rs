//! Go `time.ParseDuration` and `Duration.String()`, for route timeouts (service.md §8.2).

/// Nanoseconds of a Go duration string such as `120s`, `1.5h`, `1h30m`, `500ms`.
pub fn parse(s: &str) -> Option<i128> {
    let (neg, mut rest) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    if rest == "0" {
        return Some(0);
    }
    if rest.is_empty() {
        return None;
    }
    let mut total: f64 = 0.0;
    while !rest.is_empty() {
        let num_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let (num, tail) = rest.split_at(num_end);
        if num.is_empty() || num == "." {
            return None;
        }
        let value: f64 = num.parse().ok()?;
        let unit_end = tail
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(tail.len());
        let (unit, next) = tail.split_at(unit_end);
        let scale: f64 = match unit {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return None,
        };
        total += value * scale;
        rest = next;
    }
    if total > i64::MAX as f64 {
        return None;
    }
    let ns = total.round() as i128;
    Some(if neg { -ns } else { ns })
}

/// Go's `Duration.String()`: `2m0s`, `1h0m0s`, `1.5s`, `500ms`, `0s`.
pub fn format(ns: i128) -> String {
    if ns == 0 {
        return "0s".to_owned();
    }
    let neg = ns < 0;
    let u = ns.unsigned_abs();
    let mut out = String::new();
    if u < 1_000_000_000 {
        let (unit, div) = if u < 1_000 {
            ("ns", 1u128)
        } else if u < 1_000_000 {
            ("µs", 1_000)
        } else {
            ("ms", 1_000_000)
        };
        out.push_str(&frac(u, div));
        out.push_str(unit);
    } else {
        let secs_ns = u % 60_000_000_000;
        let mins_total = u / 60_000_000_000;
        let h = mins_total / 60;
        let m = mins_total % 60;
        if h > 0 {
            out.push_str(&format!("{h}h"));
        }
        if h > 0 || m > 0 {
            out.push_str(&format!("{m}m"));
        }
        out.push_str(&frac(secs_ns, 1_000_000_000));
        out.push('s');
    }
    if neg {
        format!("-{out}")
    } else {
        out
    }
}

fn frac(v: u128, div: u128) -> String {
    let whole = v / div;
    let rem = v % div;
    if rem == 0 {
        return whole.to_string();
    }
    let width = div.to_string().len() - 1;
    let digits = format!("{rem:0width$}");
    format!("{whole}.{}", digits.trim_end_matches('0'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_strings() {
        for (input, want) in [
            ("30s", "30s"),
            ("120s", "2m0s"),
            ("3600s", "1h0m0s"),
            ("1.5s", "1.5s"),
            ("500ms", "500ms"),
            ("0s", "0s"),
            ("90m", "1h30m0s"),
            ("1h2m3.5s", "1h2m3.5s"),
        ] {
            assert_eq!(format(parse(input).unwrap()), want, "{input}");
        }
        assert_eq!(parse("abc"), None);
        assert_eq!(parse("10"), None);
        assert_eq!(parse(""), None);
    }
}
