//! `aimc lock` against the real servers of tests/rig (lock.md "Test rig"), on loopback only.
//!
//! `.ci/run` starts the rig and sets `AIMC_RIG_ENV` (its `rig.env`) and `AIMC_RIG_REQUIRED=1`:
//! there a missing rig fails every test here. A plain `cargo test` without the rig prints one
//! line saying these tests did not run.

mod rig;
