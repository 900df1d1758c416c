//! AMD GPU inventory as the AIM operator sees it: device-id table, name
//! normalisation, node-label detection, VRAM lookup and the node-affinity
//! device ids a template's `resolvedNodeAffinity` carries.
//!
//! Everything here mirrors the operator's Go helpers (`internal/utils`), so
//! string handling follows Go's `strings` package rather than Rust idioms
//! where the two disagree.

use std::collections::BTreeMap;
use std::fmt;

const DEVICE_ID: &str = "amd.com/gpu.device-id";
const DEVICE_ID_BETA: &str = "beta.amd.com/gpu.device-id";
const FAMILY: &str = "amd.com/gpu.family";
const FAMILY_BETA: &str = "beta.amd.com/gpu.family";
const VRAM: &str = "amd.com/gpu.vram";
const VRAM_BETA: &str = "beta.amd.com/gpu.vram";

/// The operator's `KnownAmdDevices`, pinned to the version the spec documents
/// (later operator releases added MI350P, W7900D and R9700).
const DEVICES: &[(&str, &str)] = &[
    ("738c", "MI100"),
    ("738e", "MI100"),
    ("7408", "MI250X"),
    ("740c", "MI250X"),
    ("740f", "MI210"),
    ("7410", "MI210"),
    ("74a0", "MI300A"),
    ("74a1", "MI300X"),
    ("74a2", "MI308X"),
    ("74a5", "MI325X"),
    ("74a8", "MI308X"),
    ("74a9", "MI300X"),
    ("74b5", "MI300X"),
    ("74b6", "MI308X"),
    ("74b9", "MI325X"),
    ("74bd", "MI300X"),
    ("75a0", "MI350X"),
    ("75a3", "MI355X"),
    ("75b0", "MI350X"),
    ("75b3", "MI355X"),
    ("7460", "V710"),
    ("7461", "V710"),
    ("7448", "W7900"),
    ("744a", "W7900"),
    ("7449", "W7800"),
    ("745e", "W7800"),
    ("73a2", "W6900X"),
    ("73a3", "W6800"),
    ("73ab", "W6800X"),
    ("73a1", "V620"),
    ("73ae", "V620"),
    ("7550", "RX9070"),
    ("744c", "RX7900"),
    ("73af", "RX6900"),
    ("73bf", "RX6800"),
];

/// The operator's `KnownGPUVRAM`, kept as label-style strings so they go
/// through the same parser as node labels.
const STATIC_VRAM: &[(&str, &str)] = &[
    ("MI355X", "288G"),
    ("MI350X", "288G"),
    ("MI325X", "256G"),
    ("MI308X", "128G"),
    ("MI300X", "192G"),
    ("MI300A", "128G"),
    ("MI250X", "128G"),
    ("MI210", "64G"),
    ("MI100", "32G"),
    ("V710", "32G"),
    ("W7900", "48G"),
    ("W7800", "32G"),
    ("W6900X", "32G"),
    ("W6800", "32G"),
    ("W6800X", "32G"),
    ("V620", "32G"),
    ("RX9070", "16G"),
    ("RX7900", "24G"),
    ("RX6900", "16G"),
    ("RX6800", "16G"),
];

/// Go's `unicode.ToUpper` uses simple (1:1) case mapping, whereas Rust's
/// `char::to_uppercase` applies full mappings (`ß` -> `SS`). Where the full
/// mapping expands, Go either leaves the rune alone or, for the Greek
/// iota-subscript letters, maps it to its titlecase form.
fn go_upper_char(c: char) -> char {
    let code = u32::from(c);
    let simple = match code {
        0x1F80..=0x1F87 | 0x1F90..=0x1F97 | 0x1FA0..=0x1FA7 => code.checked_add(8),
        0x1FB3 => Some(0x1FBC),
        0x1FC3 => Some(0x1FCC),
        0x1FF3 => Some(0x1FFC),
        _ => None,
    };
    if let Some(mapped) = simple.and_then(char::from_u32) {
        return mapped;
    }
    let mut upper = c.to_uppercase();
    match (upper.next(), upper.next()) {
        (Some(u), None) => u,
        _ => c,
    }
}

fn go_to_upper(s: &str) -> String {
    s.chars().map(go_upper_char).collect()
}

/// Go's simple lowercase; only U+0130 has a multi-rune full mapping.
fn go_to_lower(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c == '\u{130}' {
                return 'i';
            }
            let mut lower = c.to_lowercase();
            match (lower.next(), lower.next()) {
                (Some(l), None) => l,
                _ => c,
            }
        })
        .collect()
}

/// Maps a PCI device id to a model; unknown ids still yield a stable name so
/// that nodes with new hardware form their own inventory entry.
pub fn model_for_device_id(id: &str) -> String {
    let lower = go_to_lower(id);
    let id = lower.strip_prefix("0x").unwrap_or(&lower);
    DEVICES
        .iter()
        .find(|(dev, _)| *dev == id)
        .map(|(_, model)| (*model).to_string())
        .unwrap_or_else(|| format!("AMD-{}", go_to_upper(id)))
}

/// Inverse of the device table; sorted because the operator's map iteration
/// order is random and the ids end up in a node-affinity list.
pub fn device_ids_for_model(model: &str) -> Vec<&'static str> {
    let normalised = normalize_gpu(model);
    let mut ids: Vec<&'static str> = DEVICES
        .iter()
        .filter(|(_, m)| *m == normalised)
        .map(|(id, _)| *id)
        .collect();
    ids.sort_unstable();
    ids
}

/// Hand-written form of the operator's
/// `^(MI|ME|RX|RTX|GTX|A|H|L|T|V|K|P|QUADRO|TESLA|GRID)?[A-Z]*[0-9]+[A-Z0-9]*$`.
/// Every optional prefix is itself `[A-Z]+` and is followed by `[A-Z]*`, so
/// the language is exactly "ASCII upper-case letters and digits with at least
/// one digit".
fn is_model_token(token: &str) -> bool {
    !token.is_empty()
        && token
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        && token.bytes().any(|b| b.is_ascii_digit())
}

/// Canonical GPU name used for every model comparison in the operator, so
/// that `Instinct MI300X`, `mi300x` and `MI300X (rev 2)` all match.
pub fn normalize_gpu(s: &str) -> String {
    let trimmed = s.trim();
    if trimmed.is_empty() {
        return String::new();
    }
    let model = go_to_upper(&trimmed.replace('_', "-"));
    let tokens: Vec<&str> = model
        .split(['-', ' ', '/', ':'])
        .filter(|t| !t.is_empty())
        .collect();
    for token in &tokens {
        let token = token.trim();
        if token.is_empty() || token == "AMD" || token == "INSTINCT" {
            continue;
        }
        if is_model_token(token) {
            return token.strip_prefix("INSTINCT").unwrap_or(token).to_string();
        }
    }
    match tokens.first() {
        Some(first) => (*first).to_string(),
        None => model,
    }
}

/// Go's `labelValue`: first key whose trimmed value is non-empty.
fn label_value<'a>(labels: &'a BTreeMap<String, String>, keys: &[&str]) -> Option<&'a str> {
    keys.iter()
        .filter_map(|k| labels.get(*k))
        .map(|v| v.trim())
        .find(|v| !v.is_empty())
}

/// Go's `extractLabelSuffix` for count-encoded labels such as
/// `amd.com/gpu.device-id.74a1: "4"`. Go walks a map in random order when a
/// node carries several such keys; walking the BTreeMap makes the choice the
/// lexicographically first key instead.
fn label_suffix<'a>(labels: &'a BTreeMap<String, String>, prefixes: &[&str]) -> Option<&'a str> {
    prefixes.iter().find_map(|prefix| {
        labels.iter().find_map(|(key, value)| {
            let value = value.trim();
            if value.is_empty() || value == "0" {
                return None;
            }
            key.strip_prefix(prefix).filter(|s| !s.is_empty())
        })
    })
}

/// One node's GPU model. Each source short-circuits like the Go code, so a
/// source that yields an empty name hides the later ones.
pub fn gpu_model_from_labels(labels: &BTreeMap<String, String>) -> Option<String> {
    let model = if let Some(id) = label_value(labels, &[DEVICE_ID, DEVICE_ID_BETA]) {
        model_for_device_id(id)
    } else if let Some(id) = label_suffix(
        labels,
        &["amd.com/gpu.device-id.", "beta.amd.com/gpu.device-id."],
    ) {
        model_for_device_id(id)
    } else if let Some(family) = label_value(labels, &[FAMILY, FAMILY_BETA]) {
        normalize_gpu(family)
    } else if let Some(family) =
        label_suffix(labels, &["amd.com/gpu.family.", "beta.amd.com/gpu.family."])
    {
        normalize_gpu(family)
    } else {
        return None;
    };
    (!model.is_empty()).then_some(model)
}

/// Label values win over the static table even when they do not parse (they
/// then count as 0 bytes), because Go only checks that the label is non-empty.
pub fn vram_from_labels_or_table(model: &str, labels: &BTreeMap<String, String>) -> Option<u64> {
    [VRAM, VRAM_BETA]
        .iter()
        .filter_map(|k| labels.get(*k))
        .find(|v| !v.is_empty())
        .map(|v| parse_vram(v))
        .or_else(|| static_vram(model))
}

/// Go's `ParseVRAMToBytes`: `G`/`T` are binary units despite the decimal
/// letters. Go's int64 arithmetic would wrap on absurd inputs; this saturates
/// at `i64::MAX` instead so comparisons against quantities stay meaningful.
pub fn parse_vram(s: &str) -> u64 {
    if s.is_empty() {
        return 0;
    }
    let upper = go_to_upper(s);
    let v = upper.trim();
    let (multiplier, digits): (u64, &str) = if let Some(n) = v.strip_suffix('G') {
        (1 << 30, n)
    } else if let Some(n) = v.strip_suffix('T') {
        (1 << 40, n)
    } else {
        (1, v)
    };
    let mut value: u64 = 0;
    for c in digits.chars() {
        let Some(d) = c.to_digit(10).filter(|_| c.is_ascii_digit()) else {
            return 0;
        };
        value = value.saturating_mul(10).saturating_add(u64::from(d));
    }
    value
        .saturating_mul(multiplier)
        .min(i64::MAX.unsigned_abs())
}

/// Fallback VRAM for nodes without a VRAM label.
pub fn static_vram(model: &str) -> Option<u64> {
    let normalised = normalize_gpu(model);
    STATIC_VRAM
        .iter()
        .find(|(m, _)| *m == normalised)
        .map(|(_, v)| parse_vram(v))
}

/// The cluster's GPU models, derived from node labels only (capacity is not
/// consulted, matching the operator).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Inventory {
    /// Model name exactly as detected -> VRAM bytes of the first node that
    /// reported it (`None` when neither a label nor the table knows it, which
    /// the operator treats as 0 bytes). BTreeMap for deterministic output.
    pub models: BTreeMap<String, Option<u64>>,
}

impl Inventory {
    pub fn from_nodes<'a>(
        nodes: impl IntoIterator<Item = &'a BTreeMap<String, String>>,
    ) -> Inventory {
        let mut models = BTreeMap::new();
        for labels in nodes {
            if let Some(model) = gpu_model_from_labels(labels) {
                if let std::collections::btree_map::Entry::Vacant(slot) = models.entry(model) {
                    let vram = vram_from_labels_or_table(slot.key(), labels);
                    slot.insert(vram);
                }
            }
        }
        Inventory { models }
    }

    /// Template GPU availability (`IsGPUAvailable`): the requested name is
    /// normalised but looked up against the detected names verbatim.
    pub fn has_model(&self, model: &str) -> bool {
        self.models.contains_key(&normalize_gpu(model))
    }

    /// Auto-selection stage 4 normalises both sides (and ignores detected
    /// names that normalise to nothing), which differs from [`has_model`] for
    /// names like `AMD-ABCD` from unknown device ids.
    ///
    /// [`has_model`]: Inventory::has_model
    pub fn selection_has_model(&self, model: &str) -> bool {
        let wanted = normalize_gpu(model);
        self.models.keys().any(|k| {
            let n = normalize_gpu(k);
            !n.is_empty() && n == wanted
        })
    }
}

/// Raised when a `minVram` affinity is requested without a declared cluster
/// inventory: the answer depends on live node labels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NeedsInventory;

impl fmt::Display for NeedsInventory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("minVram node affinity needs the cluster GPU inventory")
    }
}

impl std::error::Error for NeedsInventory {}

/// Device ids for `resolvedNodeAffinity` (`nodeAffinity(spec, inventory)`).
/// `min_vram_bytes` is `Quantity::value()` of `minVram`; pass `None` when it is
/// unset or zero. Ids are sorted because the operator's order is random.
pub fn affinity_device_ids(
    requests: i32,
    gpu_model: Option<&str>,
    min_vram_bytes: Option<i64>,
    inventory: Option<&Inventory>,
) -> Result<Option<Vec<&'static str>>, NeedsInventory> {
    let model = gpu_model.unwrap_or("");
    let requires_gpu = requests > 0 || !model.trim().is_empty();
    if !requires_gpu {
        return Ok(None);
    }
    let ids = if !model.is_empty() {
        device_ids_for_model(model)
    } else {
        let min = match min_vram_bytes {
            Some(min) if min != 0 => min,
            _ => return Ok(None),
        };
        let inventory = inventory.ok_or(NeedsInventory)?;
        let mut ids: Vec<&'static str> = inventory
            .models
            .iter()
            .filter(|(_, vram)| i128::from(vram.unwrap_or(0)) >= i128::from(min))
            .flat_map(|(m, _)| device_ids_for_model(m))
            .collect();
        ids.sort_unstable();
        ids
    };
    Ok((!ids.is_empty()).then_some(ids))
}

/// GPU component of the auto-selection score; compared on the raw
/// (upper-cased, not normalised) name, so `Instinct MI300X` ranks as unknown.
pub fn gpu_rank(model: &str) -> u32 {
    match go_to_upper(model).as_str() {
        "MI325X" => 0,
        "MI300X" => 1,
        "MI250X" => 2,
        "MI210" => 3,
        _ => 1004,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::quantity::Quantity;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
            .collect()
    }

    fn qv(s: &str) -> i64 {
        s.parse::<Quantity>().map(|q| q.value()).unwrap()
    }

    #[test]
    fn device_table() {
        let expected = [
            ("738c", "MI100"),
            ("738e", "MI100"),
            ("7408", "MI250X"),
            ("740c", "MI250X"),
            ("740f", "MI210"),
            ("7410", "MI210"),
            ("74a0", "MI300A"),
            ("74a1", "MI300X"),
            ("74a9", "MI300X"),
            ("74b5", "MI300X"),
            ("74bd", "MI300X"),
            ("74a2", "MI308X"),
            ("74a8", "MI308X"),
            ("74b6", "MI308X"),
            ("74a5", "MI325X"),
            ("74b9", "MI325X"),
            ("75a0", "MI350X"),
            ("75b0", "MI350X"),
            ("75a3", "MI355X"),
            ("75b3", "MI355X"),
            ("7460", "V710"),
            ("7461", "V710"),
            ("7448", "W7900"),
            ("744a", "W7900"),
            ("7449", "W7800"),
            ("745e", "W7800"),
            ("73a2", "W6900X"),
            ("73a3", "W6800"),
            ("73ab", "W6800X"),
            ("73a1", "V620"),
            ("73ae", "V620"),
            ("7550", "RX9070"),
            ("744c", "RX7900"),
            ("73af", "RX6900"),
            ("73bf", "RX6800"),
        ];
        assert_eq!(expected.len(), DEVICES.len());
        for (id, model) in expected {
            assert_eq!(model_for_device_id(id), model, "{id}");
        }
        assert_eq!(model_for_device_id("0x74a1"), "MI300X");
        assert_eq!(model_for_device_id("0X74A1"), "MI300X");
        assert_eq!(model_for_device_id("74A5"), "MI325X");
        assert_eq!(model_for_device_id("abcd"), "AMD-ABCD");
        assert_eq!(model_for_device_id("0xbeef"), "AMD-BEEF");
        assert_eq!(model_for_device_id(""), "AMD-");
        // Go does not trim here; callers pass trimmed label values.
        assert_eq!(model_for_device_id(" 74a1"), "AMD- 74A1");
    }

    #[test]
    fn ids_per_model() {
        assert_eq!(
            device_ids_for_model("MI300X"),
            ["74a1", "74a9", "74b5", "74bd"]
        );
        assert_eq!(device_ids_for_model("MI325X"), ["74a5", "74b9"]);
        assert_eq!(device_ids_for_model("mi325x"), ["74a5", "74b9"]);
        assert_eq!(
            device_ids_for_model("AMD Instinct MI300X"),
            ["74a1", "74a9", "74b5", "74bd"]
        );
        assert_eq!(device_ids_for_model("MI308X"), ["74a2", "74a8", "74b6"]);
        assert_eq!(device_ids_for_model("MI300A"), ["74a0"]);
        assert_eq!(device_ids_for_model("RX7900-XTX"), ["744c"]);
        assert!(device_ids_for_model("NONEXISTENT-GPU-MODEL-12345").is_empty());
        assert!(device_ids_for_model("").is_empty());
        assert!(device_ids_for_model("H100").is_empty());
    }

    #[test]
    fn normalisation() {
        let cases = [
            ("MI300X (rev 2)", "MI300X"),
            ("Instinct-MI325X", "MI325X"),
            ("Instinct MI325X", "MI325X"),
            ("RX7900-XTX", "RX7900"),
            ("mi300x", "MI300X"),
            ("  MI300X  ", "MI300X"),
            ("AMD Instinct MI300X", "MI300X"),
            ("AMD_Instinct_MI300X_OAM", "MI300X"),
            ("INSTINCTMI300X", "MI300X"),
            ("amd/mi250x:oam", "MI250X"),
            ("AI", "AI"),
            ("AMD", "AMD"),
            ("AMD-ABCD", "AMD"),
            ("AMD-74A1", "74A1"),
            ("Radeon RX 7900 XTX", "7900"),
            ("gfx942", "GFX942"),
            ("NONEXISTENT-GPU-MODEL-12345", "12345"),
            ("---", "---"),
            ("", ""),
            ("   ", ""),
            ("mi300x\t", "MI300X"),
            ("x\tmi300x", "X\tMI300X"),
            ("stra\u{df}e1", "STRA\u{df}E1"),
            ("\u{131}mi300x", "\u{0049}MI300X"),
        ];
        for (input, want) in cases {
            assert_eq!(normalize_gpu(input), want, "{input:?}");
        }
        for model in ["MI300X", "MI325X", "RX7900", "W6800X", "V620"] {
            assert_eq!(normalize_gpu(&normalize_gpu(model)), model);
        }
    }

    #[test]
    fn hand_written_regex() {
        for ok in [
            "MI300X", "A100", "7900", "RTX4090", "GFX942", "H100SXM", "1", "X1Y",
        ] {
            assert!(is_model_token(ok), "{ok}");
        }
        for bad in [
            "", "AI", "MI", "(REV", "2)", "MI300x", "MI-300", "Ä1", "MI300X ",
        ] {
            assert!(!is_model_token(bad), "{bad:?}");
        }
    }

    #[test]
    fn label_precedence() {
        let l = labels(&[("amd.com/gpu.device-id", "0x74a1")]);
        assert_eq!(gpu_model_from_labels(&l).as_deref(), Some("MI300X"));

        let l = labels(&[
            ("amd.com/gpu.device-id", "74a5"),
            ("beta.amd.com/gpu.device-id", "74a1"),
            ("amd.com/gpu.family", "MI300X"),
        ]);
        assert_eq!(gpu_model_from_labels(&l).as_deref(), Some("MI325X"));

        let l = labels(&[
            ("amd.com/gpu.device-id", "  "),
            ("beta.amd.com/gpu.device-id", " 74A1 "),
        ]);
        assert_eq!(gpu_model_from_labels(&l).as_deref(), Some("MI300X"));

        let l = labels(&[
            ("amd.com/gpu.device-id.74a5", "0"),
            ("amd.com/gpu.device-id.74b9", ""),
            ("beta.amd.com/gpu.device-id.74a1", "8"),
            ("amd.com/gpu.family", "AI"),
        ]);
        assert_eq!(gpu_model_from_labels(&l).as_deref(), Some("MI300X"));

        let l = labels(&[
            ("beta.amd.com/gpu.device-id.74a1", "8"),
            ("amd.com/gpu.device-id.74a5", "1"),
        ]);
        assert_eq!(gpu_model_from_labels(&l).as_deref(), Some("MI325X"));

        let l = labels(&[("amd.com/gpu.device-id.74a1", "1")]);
        assert_eq!(gpu_model_from_labels(&l).as_deref(), Some("MI300X"));

        let l = labels(&[("amd.com/gpu.device-id.6860", "1")]);
        assert_eq!(gpu_model_from_labels(&l).as_deref(), Some("AMD-6860"));

        let l = labels(&[
            ("amd.com/gpu.family", "Instinct MI325X"),
            ("amd.com/gpu.family.AI", "1"),
        ]);
        assert_eq!(gpu_model_from_labels(&l).as_deref(), Some("MI325X"));

        let l = labels(&[("beta.amd.com/gpu.family", "ai")]);
        assert_eq!(gpu_model_from_labels(&l).as_deref(), Some("AI"));

        let l = labels(&[("beta.amd.com/gpu.family.AI", "1")]);
        assert_eq!(gpu_model_from_labels(&l).as_deref(), Some("AI"));

        let l = labels(&[("amd.com/gpu.family.mi300x", "0")]);
        assert_eq!(gpu_model_from_labels(&l), None);

        let l = labels(&[
            ("amd.com/gpu.product-name", "AMD Instinct MI300X"),
            ("amd.com/gpu.vram", "192G"),
            ("amd.com/gpu", "8"),
            ("amd.com/gpu.device-id.", "1"),
        ]);
        assert_eq!(gpu_model_from_labels(&l), None);
        assert_eq!(gpu_model_from_labels(&BTreeMap::new()), None);
    }

    #[test]
    fn vram_parsing() {
        assert_eq!(parse_vram("192G"), 192 << 30);
        assert_eq!(parse_vram("64G"), 64 << 30);
        assert_eq!(parse_vram("1T"), 1 << 40);
        assert_eq!(parse_vram("192g"), 192 << 30);
        assert_eq!(parse_vram(" 16G "), 16 << 30);
        assert_eq!(parse_vram("196608"), 196608);
        assert_eq!(parse_vram("G"), 0);
        assert_eq!(parse_vram(""), 0);
        assert_eq!(parse_vram("192Gi"), 0);
        assert_eq!(parse_vram("1.5T"), 0);
        assert_eq!(parse_vram("-1G"), 0);
        assert_eq!(parse_vram("\u{661}G"), 0);
        assert_eq!(parse_vram(&"9".repeat(40)), i64::MAX.unsigned_abs());
        assert_eq!(parse_vram("99999999999T"), i64::MAX.unsigned_abs());
    }

    #[test]
    fn vram_lookup() {
        let table = [
            ("MI355X", 288),
            ("MI350X", 288),
            ("MI325X", 256),
            ("MI308X", 128),
            ("MI300A", 128),
            ("MI250X", 128),
            ("MI300X", 192),
            ("MI210", 64),
            ("MI100", 32),
            ("V710", 32),
            ("W7800", 32),
            ("W6900X", 32),
            ("W6800", 32),
            ("W6800X", 32),
            ("V620", 32),
            ("W7900", 48),
            ("RX9070", 16),
            ("RX6900", 16),
            ("RX6800", 16),
            ("RX7900", 24),
        ];
        assert_eq!(table.len(), STATIC_VRAM.len());
        for (model, gib) in table {
            assert_eq!(static_vram(model), Some(gib << 30), "{model}");
        }
        assert_eq!(static_vram("instinct mi300x"), Some(192 << 30));
        assert_eq!(static_vram("AMD-ABCD"), None);
        assert_eq!(static_vram("H100"), None);

        let l = labels(&[("amd.com/gpu.vram", "64G"), ("beta.amd.com/gpu.vram", "1T")]);
        assert_eq!(vram_from_labels_or_table("MI300X", &l), Some(64 << 30));
        let l = labels(&[("amd.com/gpu.vram", ""), ("beta.amd.com/gpu.vram", "1T")]);
        assert_eq!(vram_from_labels_or_table("MI300X", &l), Some(1 << 40));
        let l = labels(&[("amd.com/gpu.vram", "lots")]);
        assert_eq!(vram_from_labels_or_table("MI300X", &l), Some(0));
        assert_eq!(
            vram_from_labels_or_table("MI300X", &BTreeMap::new()),
            Some(192 << 30)
        );
        assert_eq!(
            vram_from_labels_or_table("AMD-ABCD", &BTreeMap::new()),
            None
        );
    }

    #[test]
    fn inventory_first_node_wins() {
        let a = labels(&[
            ("amd.com/gpu.device-id", "74a1"),
            ("amd.com/gpu.vram", "64G"),
        ]);
        let b = labels(&[("amd.com/gpu.device-id", "74b5")]);
        let c = labels(&[("amd.com/gpu.device-id.74a5", "8")]);
        let d = labels(&[("kubernetes.io/hostname", "cpu-node")]);
        let e = labels(&[("amd.com/gpu.device-id", "abcd")]);
        let inv = Inventory::from_nodes([&a, &b, &c, &d, &e]);
        assert_eq!(
            inv.models,
            BTreeMap::from([
                ("AMD-ABCD".to_string(), None),
                ("MI300X".to_string(), Some(64 << 30)),
                ("MI325X".to_string(), Some(256 << 30)),
            ])
        );
        assert!(inv.has_model("MI300X"));
        assert!(inv.has_model("mi300x"));
        assert!(inv.has_model("Instinct MI325X"));
        assert!(!inv.has_model("MI250X"));
        assert!(!inv.has_model("AMD"));
        assert!(inv.selection_has_model("AMD"));
        assert!(inv.selection_has_model("mi300x"));
        assert!(!inv.selection_has_model(""));
        assert_eq!(Inventory::from_nodes([&d]), Inventory::default());

        let reversed = Inventory::from_nodes([&b, &a]);
        assert_eq!(reversed.models.get("MI300X"), Some(&Some(192 << 30)));
    }

    #[test]
    fn affinity() {
        let mi300x = Some(vec!["74a1", "74a9", "74b5", "74bd"]);
        assert_eq!(
            affinity_device_ids(1, Some("MI300X"), None, None),
            Ok(mi300x.clone())
        );
        assert_eq!(
            affinity_device_ids(0, Some("Instinct MI300X"), None, None),
            Ok(mi300x.clone())
        );
        assert_eq!(
            affinity_device_ids(8, Some("MI325X"), None, None),
            Ok(Some(vec!["74a5", "74b9"]))
        );
        assert_eq!(affinity_device_ids(1, Some("H100"), None, None), Ok(None));
        assert_eq!(affinity_device_ids(0, None, Some(1), None), Ok(None));
        assert_eq!(affinity_device_ids(0, Some("  "), Some(1), None), Ok(None));
        assert_eq!(affinity_device_ids(1, None, None, None), Ok(None));
        assert_eq!(affinity_device_ids(1, Some(""), Some(0), None), Ok(None));
        assert_eq!(
            affinity_device_ids(1, None, Some(qv("64Gi")), None),
            Err(NeedsInventory)
        );

        let mi210 = labels(&[("amd.com/gpu.device-id", "740f")]);
        let mi300 = labels(&[("amd.com/gpu.device-id", "74a1")]);
        let mi325 = labels(&[("amd.com/gpu.device-id", "74a5")]);
        let inv = Inventory::from_nodes([&mi210, &mi300, &mi325]);
        let min = |s: &str| affinity_device_ids(1, None, Some(qv(s)), Some(&inv));

        // 64G is 64e9 bytes, below the MI210's 64 GiB; 64Gi is exactly it.
        let all = Some(vec![
            "740f", "7410", "74a1", "74a5", "74a9", "74b5", "74b9", "74bd",
        ]);
        assert_eq!(min("64G"), Ok(all.clone()));
        assert_eq!(min("64Gi"), Ok(all));
        assert_eq!(
            min("65Gi"),
            Ok(Some(vec!["74a1", "74a5", "74a9", "74b5", "74b9", "74bd"]))
        );
        assert_eq!(
            min("200G"),
            Ok(Some(vec!["74a1", "74a5", "74a9", "74b5", "74b9", "74bd"]))
        );
        assert_eq!(min("200Gi"), Ok(Some(vec!["74a5", "74b9"])));
        assert_eq!(min("1Ti"), Ok(None));

        let labelled = labels(&[
            ("amd.com/gpu.device-id", "74a1"),
            ("amd.com/gpu.vram", "1T"),
        ]);
        let inv = Inventory::from_nodes([&labelled]);
        assert_eq!(
            affinity_device_ids(1, None, Some(qv("1Ti")), Some(&inv)),
            Ok(mi300x)
        );

        let unknown = labels(&[("amd.com/gpu.device-id", "abcd")]);
        let inv = Inventory::from_nodes([&unknown]);
        assert_eq!(affinity_device_ids(1, None, Some(1), Some(&inv)), Ok(None));
        assert_eq!(
            affinity_device_ids(1, None, Some(-1), Some(&inv)),
            Ok(None),
            "unknown VRAM counts as 0 bytes but the model has no device ids"
        );
        assert_eq!(
            affinity_device_ids(1, None, Some(1), Some(&Inventory::default())),
            Ok(None)
        );
    }

    #[test]
    fn ranking() {
        assert_eq!(gpu_rank("MI325X"), 0);
        assert_eq!(gpu_rank("mi300x"), 1);
        assert_eq!(gpu_rank("MI250X"), 2);
        assert_eq!(gpu_rank("mi210"), 3);
        assert_eq!(gpu_rank("Instinct MI300X"), 1004);
        assert_eq!(gpu_rank("MI300A"), 1004);
        assert_eq!(gpu_rank(""), 1004);
        assert_eq!(gpu_rank("m\u{131}300x"), 1);
    }

    #[test]
    fn go_case_mapping() {
        assert_eq!(go_to_upper("stra\u{df}e"), "STRA\u{df}E");
        assert_eq!(go_to_upper("\u{1f80}"), "\u{1f88}");
        assert_eq!(go_to_upper("\u{1fb3}"), "\u{1fbc}");
        assert_eq!(go_to_upper("\u{fb00}"), "\u{fb00}");
        assert_eq!(go_to_lower("\u{130}X"), "ix");
        assert_eq!(go_to_lower("0X74A1"), "0x74a1");
    }
}
