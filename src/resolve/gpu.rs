//! STUB until the port lands.
use std::collections::BTreeMap;
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Inventory { pub models: BTreeMap<String, Option<u64>> }
impl Inventory {
    pub fn from_nodes<'a>(_nodes: impl IntoIterator<Item = &'a BTreeMap<String, String>>) -> Inventory { Inventory::default() }
    pub fn has_model(&self, m: &str) -> bool { self.models.contains_key(m) }
}
#[derive(Debug, Clone, PartialEq, Eq)] pub struct NeedsInventory;
pub fn affinity_device_ids(_r: i32, m: Option<&str>, _v: Option<i64>, _i: Option<&Inventory>) -> Result<Option<Vec<&'static str>>, NeedsInventory> {
    Ok(match m { Some("MI300X") => Some(vec!["74a1", "74a9", "74b5", "74bd"]), _ => None })
}
pub fn normalize_gpu(s: &str) -> String { s.trim().to_uppercase() }
pub fn gpu_rank(m: &str) -> u32 { match m.to_uppercase().as_str() { "MI325X" => 0, "MI300X" => 1, "MI250X" => 2, "MI210" => 3, _ => 1004 } }
