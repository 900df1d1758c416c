//! The rig's `rig.env`, read once per test binary.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::sync::OnceLock;

/// The `RIG_*` variables of a running rig (tests/rig/README.md).
pub struct Rig {
    vars: BTreeMap<String, String>,
}

impl Rig {
    /// A variable the rig always writes; a missing one is a broken rig, not a skip.
    pub fn get(&self, key: &str) -> &str {
        self.vars
            .get(key)
            .unwrap_or_else(|| panic!("rig.env has no {key}: is the rig older than this test?"))
    }
    pub fn path(&self, key: &str) -> PathBuf {
        PathBuf::from(self.get(key))
    }
}

/// The running rig, or `None` (with one line on stderr per test binary) when `AIMC_RIG_ENV`
/// is unset and `AIMC_RIG_REQUIRED` is not `1`. Under `AIMC_RIG_REQUIRED=1` a missing rig
/// panics: CI must not pass having skipped the servers.
pub fn rig() -> Option<&'static Rig> {
    static RIG: OnceLock<Option<Rig>> = OnceLock::new();
    RIG.get_or_init(|| {
        let required = std::env::var("AIMC_RIG_REQUIRED").is_ok_and(|v| v == "1");
        let Some(path) = std::env::var_os("AIMC_RIG_ENV").filter(|p| !p.is_empty()) else {
            assert!(
                !required,
                "AIMC_RIG_REQUIRED=1 but AIMC_RIG_ENV is unset: start the rig (tests/rig/up)"
            );
            // Written to the stderr handle, not with eprintln!, so that the test harness's
            // output capture does not swallow it.
            let _ = writeln!(
                std::io::stderr(),
                "lock_rig: the tests against real servers did not run: AIMC_RIG_ENV is unset (tests/rig/README.md, or run .ci/run)"
            );
            return None;
        };
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("AIMC_RIG_ENV={}: {e}", PathBuf::from(&path).display()));
        let vars = text
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        Some(Rig { vars })
    })
    .as_ref()
}

/// Helpers for the tests of `aimc::lock::online` (feature `online`).
#[cfg(feature = "online")]
pub mod online {
    use super::Rig;
    use aimc::lock::online::{Online, OnlineOptions};
    use base64::Engine;
    use std::collections::BTreeMap;
    use std::time::Duration;

    /// A HOME without a `.docker`: the machine's own keychain never leaks into a test.
    pub const NO_HOME: &str = "/nonexistent/aimc-lock-rig-home";

    pub fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        let mut env: BTreeMap<String, String> =
            BTreeMap::from([("HOME".to_string(), NO_HOME.to_string())]);
        env.extend(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        env
    }

    pub fn online(env: BTreeMap<String, String>) -> Online {
        Online::new(OnlineOptions {
            insecure_registries: Vec::new(),
            s3_endpoint: None,
            timeout: Duration::from_secs(20),
            env,
        })
        .expect("no proxy variables in a test env")
    }

    impl Rig {
        /// `RIG_IMG_<KEY>_LABELS_B64` decoded: `config.Labels`, `None` for JSON `null`.
        pub fn labels(&self, key: &str) -> Option<BTreeMap<String, String>> {
            let b64 = self.get(&format!("RIG_IMG_{key}_LABELS_B64"));
            let json = base64::engine::general_purpose::STANDARD
                .decode(b64)
                .expect("LABELS_B64 is base64");
            serde_json::from_slice(&json).expect("LABELS_B64 is a JSON map or null")
        }
        pub fn img(&self, key: &str, field: &str) -> &str {
            self.get(&format!("RIG_IMG_{key}_{field}"))
        }
        /// The rig's Docker config (both registries' users) as the only keychain.
        pub fn docker_config_env(&self) -> BTreeMap<String, String> {
            env(&[("DOCKER_CONFIG", self.get("RIG_DOCKER_CONFIG"))])
        }
        /// A GET of one of the rig's `_rig/requests` URLs: what a server was asked.
        pub fn requests(&self, key: &str) -> Vec<serde_json::Value> {
            let mut resp = ureq::get(self.get(key)).call().expect("rig requests URL");
            let text = resp.body_mut().read_to_string().expect("body");
            serde_json::from_str(&text).expect("a JSON list")
        }
    }
}
