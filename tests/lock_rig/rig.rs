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
