//! Label propagation and controller labels on every child (service.md §9).

use std::collections::BTreeMap;

/// Go `filepath.Match` on '/'-separated names: `*` and `?` never match '/'. A malformed
/// pattern matches nothing (the operator skips it).
pub fn glob_match(pattern: &str, name: &str) -> bool {
    fn m(p: &[char], n: &[char]) -> Option<bool> {
        let Some((&c, rest)) = p.split_first() else {
            return Some(n.is_empty());
        };
        match c {
            '*' => {
                // Try every split that does not cross a '/'.
                let mut i = 0;
                loop {
                    if m(rest, &n[i..])? {
                        return Some(true);
                    }
                    if i >= n.len() || n[i] == '/' {
                        return Some(false);
                    }
                    i += 1;
                }
            }
            '?' => match n.split_first() {
                Some((&ch, nrest)) if ch != '/' => m(rest, nrest),
                _ => {
                    check(rest)?;
                    Some(false)
                }
            },
            '[' => {
                let (matched, after) = class(rest, n.first().copied())?;
                match n.split_first() {
                    Some((&ch, nrest)) if ch != '/' && matched => m(after, nrest),
                    _ => {
                        check(after)?;
                        Some(false)
                    }
                }
            }
            '\\' => {
                let (&lit, prest) = rest.split_first()?;
                match n.split_first() {
                    Some((&ch, nrest)) if ch == lit => m(prest, nrest),
                    _ => {
                        check(prest)?;
                        Some(false)
                    }
                }
            }
            lit => match n.split_first() {
                Some((&ch, nrest)) if ch == lit => m(rest, nrest),
                _ => {
                    check(rest)?;
                    Some(false)
                }
            },
        }
    }
    /// Parses a class after '['; returns (matches ch, rest after ']'). None = malformed.
    fn class(p: &[char], ch: Option<char>) -> Option<(bool, &[char])> {
        let mut i = 0;
        let negated = p.first() == Some(&'^');
        if negated {
            i += 1;
        }
        let mut matched = false;
        let mut first = true;
        loop {
            let c = *p.get(i)?;
            if c == ']' && !first {
                i += 1;
                break;
            }
            first = false;
            let lo = if c == '\\' {
                i += 1;
                *p.get(i)?
            } else {
                c
            };
            i += 1;
            let mut hi = lo;
            if p.get(i) == Some(&'-') && p.get(i + 1).is_some_and(|&c| c != ']') {
                i += 1;
                hi = if p.get(i) == Some(&'\\') {
                    i += 1;
                    *p.get(i)?
                } else {
                    *p.get(i)?
                };
                i += 1;
            }
            if let Some(ch) = ch {
                if lo <= ch && ch <= hi {
                    matched = true;
                }
            }
        }
        Some((matched != negated, &p[i..]))
    }
    /// Go validates the rest of the pattern even after a mismatch.
    fn check(p: &[char]) -> Option<()> {
        let mut i = 0;
        while i < p.len() {
            match p[i] {
                '\\' => {
                    p.get(i + 1)?;
                    i += 2;
                }
                '[' => {
                    let (_, rest) = class(&p[i + 1..], None)?;
                    i = p.len() - rest.len();
                }
                _ => i += 1,
            }
        }
        Some(())
    }
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    m(&p, &n).unwrap_or(false)
}

/// Adds propagated labels of the parent and the controller labels, never overwriting.
pub fn stamp(
    labels: &mut BTreeMap<String, String>,
    parent_labels: &BTreeMap<String, String>,
    propagation: Option<(bool, &[String])>,
    managed_by: &str,
    owner_label: (&str, &str),
) {
    for (k, v) in parent_labels {
        if labels.contains_key(k) {
            continue;
        }
        let copy = k.starts_with("aim.eai.amd.com/")
            || propagation.is_some_and(|(enabled, pats)| {
                enabled && !pats.is_empty() && pats.iter().any(|p| glob_match(p, k))
            });
        if copy {
            labels.insert(k.clone(), v.clone());
        }
    }
    labels
        .entry("app.kubernetes.io/managed-by".to_owned())
        .or_insert_with(|| managed_by.to_owned());
    labels
        .entry(owner_label.0.to_owned())
        .or_insert_with(|| owner_label.1.to_owned());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filepath_match_vectors() {
        assert!(glob_match("org.my/my-key-*", "org.my/my-key-a"));
        assert!(glob_match("*", "team"));
        assert!(!glob_match("*", "org/x"));
        assert!(glob_match("*/*", "org/x"));
        assert!(glob_match(
            "compliance.*/severity",
            "compliance.sec/severity"
        ));
        assert!(glob_match("team-?", "team-a"));
        assert!(!glob_match("team-?", "team-ab"));
        assert!(glob_match("org.example/*", "org.example/"));
        assert!(!glob_match("team", "Team"));
        assert!(!glob_match("[", "["));
        assert!(glob_match("team-[a-c]", "team-b"));
        assert!(!glob_match("team-[^a-c]", "team-b"));
        assert!(glob_match("a\\*", "a*"));
    }

    #[test]
    fn stamp_never_overwrites() {
        let mut l: BTreeMap<String, String> =
            [("aim.eai.amd.com/service".to_string(), "x".to_string())].into();
        let parent: BTreeMap<String, String> = [
            ("aim.eai.amd.com/service".to_string(), "other".to_string()),
            ("aim.eai.amd.com/team".to_string(), "t".to_string()),
            ("org.example/cost-center".to_string(), "eng".to_string()),
            ("unmatched".to_string(), "u".to_string()),
        ]
        .into();
        let pats = vec!["org.example/*".to_string()];
        stamp(
            &mut l,
            &parent,
            Some((true, &pats)),
            "aim-engine",
            ("aim.eai.amd.com/service.name", "Svc"),
        );
        assert_eq!(l["aim.eai.amd.com/service"], "x");
        assert_eq!(l["aim.eai.amd.com/team"], "t");
        assert_eq!(l["org.example/cost-center"], "eng");
        assert!(!l.contains_key("unmatched"));
        assert_eq!(l["app.kubernetes.io/managed-by"], "aim-engine");
        assert_eq!(l["aim.eai.amd.com/service.name"], "Svc");
        let mut l2 = BTreeMap::new();
        stamp(&mut l2, &parent, Some((false, &pats)), "m", ("o", "v"));
        assert!(!l2.contains_key("org.example/cost-center"));
    }
}
