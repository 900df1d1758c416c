//! Which env names hold credentials. The policy check (`LiteralCredential`) and every
//! reporter (which cuts such values from the source lines it shows) apply the same rule, so it
//! lives here, below both: `diag` imports nothing of aimc's.

/// Env names whose values are credentials.
pub fn is_credential_name(name: &str) -> bool {
    let n = name.to_ascii_uppercase();
    ["HF_TOKEN", "AWS_SECRET_ACCESS_KEY", "AWS_ACCESS_KEY_ID"].contains(&n.as_str())
        || ["_TOKEN", "_PASSWORD", "_SECRET", "_KEY"]
            .iter()
            .any(|s| n.ends_with(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credential_names() {
        for n in [
            "HF_TOKEN",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_ACCESS_KEY_ID",
            "GITHUB_TOKEN",
            "DB_PASSWORD",
            "API_KEY",
            "client_secret",
        ] {
            assert!(is_credential_name(n), "{n}");
        }
        for n in ["AWS_ENDPOINT_URL", "HF_HOME", "TOKENIZER", "KEYS_DIR"] {
            assert!(!is_credential_name(n), "{n}");
        }
    }
}
