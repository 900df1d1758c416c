//! The body of the `render` fuzz target, shared by `fuzz_targets/render.rs` (libFuzzer) and
//! `standin/main.rs` (plain stable Rust).
//!
//! Input layout: the first byte is a mode, the rest is split on [`SEP`] into at most
//! [`MAX_FILES`] files (the last one keeps any further separators). Files are named
//! `f0.yaml`, `f1.yaml`, ...; the mode may rename the first one(s) to `aimc.yaml` and/or
//! `aim.lock.yaml` so the config and lock parsers are reached:
//!
//! | `mode % 4` | file 0          | file 1          |
//! |------------|-----------------|-----------------|
//! | 0          | `f0.yaml`       | `f1.yaml`       |
//! | 1          | `aimc.yaml`     | `f1.yaml`       |
//! | 2          | `aim.lock.yaml` | `f1.yaml`       |
//! | 3          | `aimc.yaml`     | `aim.lock.yaml` |
//!
//! Contract asserted: no panic; if the render produced objects then no diagnostic is an
//! error; `emit::stream` succeeds on those objects (YAML and JSON).

use std::path::PathBuf;

use aimc::cli::render::{render_loaded, RenderFlags};
use aimc::load::{load_sources, LoadOptions, CONFIG_FILE, LOCK_FILE};

/// Separates files in a fuzz input.
pub const SEP: u8 = 0x00;
/// At most this many files per input.
pub const MAX_FILES: usize = 4;

/// Run once before the first input: keep everything on one thread so a panic surfaces on
/// the fuzzer's thread and runs are deterministic.
pub fn init() {
    // Called before any thread is started.
    std::env::set_var("AIMC_THREADS", "1");
}

/// Splits a fuzz input into named in-memory files.
pub fn split(data: &[u8]) -> Vec<(PathBuf, Vec<u8>)> {
    let Some((&mode, rest)) = data.split_first() else {
        return Vec::new();
    };
    let names: [&str; 2] = match mode % 4 {
        1 => [CONFIG_FILE, "f1.yaml"],
        2 => [LOCK_FILE, "f1.yaml"],
        3 => [CONFIG_FILE, LOCK_FILE],
        _ => ["f0.yaml", "f1.yaml"],
    };
    rest.splitn(MAX_FILES, |&b| b == SEP)
        .enumerate()
        .map(|(i, bytes)| {
            let name = match names.get(i) {
                Some(n) => n.to_string(),
                None => format!("f{i}.yaml"),
            };
            (PathBuf::from(name), bytes.to_vec())
        })
        .collect()
}

/// The fuzz target: load -> render -> stream, asserting the contract (panics on violation).
/// Returns how many objects were rendered (`None`: the render stopped on errors).
pub fn run(data: &[u8]) -> Option<usize> {
    let sources = split(data);
    if sources.is_empty() {
        return None;
    }
    let loaded = load_sources(sources, &LoadOptions::default());
    let outcome = render_loaded(loaded, &RenderFlags::default());
    let objects = outcome.objects?;
    if let Some(d) = outcome.diagnostics.iter().find(|d| d.is_error()) {
        panic!("render returned objects together with an error diagnostic: {d}");
    }
    for format in [aimc::emit::Format::Yaml, aimc::emit::Format::Json] {
        if let Err(e) = aimc::emit::stream(&objects, format) {
            panic!("emit::stream({format:?}) failed on rendered objects: {e}");
        }
    }
    Some(objects.len())
}
