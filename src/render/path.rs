//! STUB until the port lands.
use std::collections::BTreeMap;
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathError(pub String);
impl std::fmt::Display for PathError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
pub fn render_path(
    t: &str,
    _s: &serde_json::Value,
    _l: &BTreeMap<String, String>,
    _a: &BTreeMap<String, String>,
) -> Result<String, PathError> {
    Ok(t.to_string())
}
pub fn default_path(ns: &str, id: &str) -> String {
    format!("/{ns}/{id}")
}
