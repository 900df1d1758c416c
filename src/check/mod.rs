//! Checks beyond what loading and resolution find: schemas, CEL rules, policies.

pub mod policy;

use crate::diag::Diagnostic;
use crate::load::Object;
use serde_json::Value;

/// Diagnostics for one input object.
pub fn inputs(_obj: &Object) -> Vec<Diagnostic> {
    Vec::new()
}

/// Diagnostics for one rendered object: a violation is an aimc bug.
pub fn output(_v: &Value) -> Vec<Diagnostic> {
    Vec::new()
}
