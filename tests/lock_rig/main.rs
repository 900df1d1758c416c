//! `aimc lock` against the real servers of tests/rig (lock.md "Test rig"), on loopback only.
//!
//! `.ci/run` starts the rig and sets `AIMC_RIG_ENV` (its `rig.env`) and `AIMC_RIG_REQUIRED=1`:
//! there a missing rig fails every test here. A plain `cargo test` without the rig prints one
//! line saying these tests did not run.

mod rig;

#[cfg(feature = "online")]
mod hf;
#[cfg(feature = "online")]
mod registry;
#[cfg(feature = "online")]
mod s3;
#[cfg(feature = "online")]
mod walkthrough;

/// The keychain files the rig writes exist: every keychain test below reads them.
#[test]
fn rig_writes_its_keychain_files() {
    let Some(rig) = rig::rig() else { return };
    for key in ["RIG_DOCKER_CONFIG", "RIG_REGISTRY_AUTH_FILE"] {
        assert!(rig.path(key).exists(), "{key}={}", rig.get(key));
    }
}
