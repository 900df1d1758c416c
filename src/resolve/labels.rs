//! Label propagation and controller labels on every child (service.md §9).

use std::collections::BTreeMap;

/// Go's `filepath.Match` on Unix, ported chunk by chunk so it has Go's linear behaviour and
/// the same answers: `*` and `?` never match '/', classes may, and a malformed pattern
/// (`[`, `[]a]`, `[a-]`, trailing `\\`) matches nothing (the operator skips it).
pub fn glob_match(pattern: &str, name: &str) -> bool {
    // The shapes propagation patterns take, `key` and `prefix/*`, without the general
    // matcher's two allocations per call (it runs for every label of every child).
    match pattern.find(['*', '?', '[', '\\']) {
        None => return pattern == name,
        Some(i) if i == pattern.len() - 1 && pattern.ends_with('*') => {
            return name
                .strip_prefix(&pattern[..i])
                .is_some_and(|rest| !rest.contains('/'));
        }
        Some(_) => {}
    }
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    go_match(&p, &n).unwrap_or(false)
}

struct BadPattern;

fn go_match(mut pattern: &[char], mut name: &[char]) -> Result<bool, BadPattern> {
    'pattern: while !pattern.is_empty() {
        let (star, chunk, rest) = scan_chunk(pattern);
        pattern = rest;
        if star && chunk.is_empty() {
            return Ok(!name.contains(&'/'));
        }
        let (t, ok) = match_chunk(chunk, name)?;
        if ok && (t.is_empty() || !pattern.is_empty()) {
            name = t;
            continue;
        }
        if star {
            let mut i = 0;
            while i < name.len() && name[i] != '/' {
                let (t, ok) = match_chunk(chunk, &name[i + 1..])?;
                if ok {
                    if pattern.is_empty() && !t.is_empty() {
                        i += 1;
                        continue;
                    }
                    name = t;
                    continue 'pattern;
                }
                i += 1;
            }
        }
        while !pattern.is_empty() {
            let (_, chunk, rest) = scan_chunk(pattern);
            pattern = rest;
            match_chunk(chunk, &[])?;
        }
        return Ok(false);
    }
    Ok(name.is_empty())
}

fn scan_chunk(mut pattern: &[char]) -> (bool, &[char], &[char]) {
    let mut star = false;
    while pattern.first() == Some(&'*') {
        pattern = &pattern[1..];
        star = true;
    }
    let mut in_range = false;
    let mut i = 0;
    while i < pattern.len() {
        match pattern[i] {
            '\\' if i + 1 < pattern.len() => i += 1,
            '[' => in_range = true,
            ']' => in_range = false,
            '*' if !in_range => break,
            _ => {}
        }
        i += 1;
    }
    (star, &pattern[..i], &pattern[i..])
}

/// Matches one chunk at the start of `s`; keeps validating the chunk after a mismatch.
fn match_chunk<'s>(
    mut chunk: &[char],
    mut s: &'s [char],
) -> Result<(&'s [char], bool), BadPattern> {
    let mut failed = false;
    while let Some(&c) = chunk.first() {
        if !failed && s.is_empty() {
            failed = true;
        }
        match c {
            '[' => {
                let r = if failed {
                    None
                } else {
                    let r = s[0];
                    s = &s[1..];
                    Some(r)
                };
                chunk = &chunk[1..];
                let negated = chunk.first() == Some(&'^');
                if negated {
                    chunk = &chunk[1..];
                }
                let mut matched = false;
                let mut nrange = 0;
                loop {
                    if chunk.first() == Some(&']') && nrange > 0 {
                        chunk = &chunk[1..];
                        break;
                    }
                    let (lo, rest) = get_esc(chunk)?;
                    chunk = rest;
                    let mut hi = lo;
                    if chunk.first() == Some(&'-') {
                        let (h, rest) = get_esc(&chunk[1..])?;
                        hi = h;
                        chunk = rest;
                    }
                    if r.is_some_and(|r| lo <= r && r <= hi) {
                        matched = true;
                    }
                    nrange += 1;
                }
                if matched == negated {
                    failed = true;
                }
            }
            '?' => {
                if !failed {
                    if s[0] == '/' {
                        failed = true;
                    }
                    s = &s[1..];
                }
                chunk = &chunk[1..];
            }
            _ => {
                if c == '\\' {
                    chunk = &chunk[1..];
                    if chunk.is_empty() {
                        return Err(BadPattern);
                    }
                }
                if !failed {
                    if chunk[0] != s[0] {
                        failed = true;
                    }
                    s = &s[1..];
                }
                chunk = &chunk[1..];
            }
        }
    }
    Ok(if failed { (&[], false) } else { (s, true) })
}

fn get_esc(chunk: &[char]) -> Result<(char, &[char]), BadPattern> {
    let mut chunk = chunk;
    match chunk.first() {
        None | Some('-') | Some(']') => return Err(BadPattern),
        Some('\\') => {
            chunk = &chunk[1..];
            if chunk.is_empty() {
                return Err(BadPattern);
            }
        }
        _ => {}
    }
    let r = chunk[0];
    let rest = &chunk[1..];
    if rest.is_empty() {
        return Err(BadPattern);
    }
    Ok((r, rest))
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

    /// The shortcuts answer as the general matcher does.
    #[test]
    fn plain_and_prefix_patterns_answer_as_the_matcher() {
        let general = |p: &str, n: &str| {
            let p: Vec<char> = p.chars().collect();
            let n: Vec<char> = n.chars().collect();
            go_match(&p, &n).unwrap_or(false)
        };
        let names = [
            "",
            "team",
            "Team",
            "team/x",
            "org.example/",
            "org.example/a",
            "org.example/a/b",
            "org.example",
            "org.examplex/a",
            "x/org.example/a",
            "é/ü",
            "é/",
        ];
        let patterns = [
            "",
            "team",
            "*",
            "org.example/*",
            "org.example*",
            "team*",
            "é/*",
            "/*",
            "x/*",
        ];
        for p in patterns {
            for n in names {
                assert_eq!(glob_match(p, n), general(p, n), "{p:?} on {n:?}");
            }
        }
    }

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
        // Classes may match '/', unlike * and ?.
        assert!(glob_match("team[^x]b", "team/b"));
        // Malformed classes match nothing.
        assert!(!glob_match("[]a]", "]"));
        assert!(!glob_match("[-a]", "-"));
        assert!(!glob_match("[a-]", "a"));
        assert!(!glob_match("a\\", "a"));
        // A malformed tail is an error even after a mismatch.
        assert!(!glob_match("x[", "y"));
    }

    #[test]
    fn pathological_patterns_are_linear() {
        // Backtracking over every split would not finish; Go's chunk matching does at once.
        let name = "a".repeat(60);
        assert!(!glob_match("*a*a*a*a*a*a*a*a*a*b", &name));
        assert!(glob_match("*a*a*a*a*a*a*a*a*a*a", &name));
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
