//! Property tests: random mutations of the examples never panic, and the output does not
//! depend on the order the files come in.

use aimc::cli::render::{render_loaded, RenderFlags};
use aimc::emit::{self, Format};
use aimc::load::{load_sources, LoadOptions};
use proptest::prelude::*;
use std::path::{Path, PathBuf};

fn example_sources() -> Vec<(PathBuf, Vec<u8>)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut out = Vec::new();
    for ex in ["private-registries", "catalog", "custom-model", "routing"] {
        let dir = root.join(ex);
        for f in aimc::load::find_files(&dir).expect("readable").0 {
            let rel = PathBuf::from(ex).join(f.strip_prefix(&dir).expect("under"));
            out.push((rel, std::fs::read(&f).expect("read")));
        }
    }
    out
}

fn flags() -> RenderFlags {
    RenderFlags::default()
}

/// Renders one example's files (by prefix) to a YAML stream, or the diagnostics' codes.
fn render(files: Vec<(PathBuf, Vec<u8>)>) -> Result<String, Vec<&'static str>> {
    let outcome = render_loaded(load_sources(files, &LoadOptions::default()), &flags());
    match outcome.objects {
        Some(objs) => Ok(emit::stream(&objs, Format::Yaml).unwrap_or_default()),
        None => Err(outcome
            .diagnostics
            .iter()
            .filter(|d| d.is_error())
            .map(|d| d.code)
            .collect()),
    }
}

#[derive(Debug, Clone)]
enum Mutation {
    Delete(usize, usize),
    Insert(usize, Vec<u8>),
    DuplicateLine(usize),
    SwapLines(usize, usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 1..40usize).prop_map(|(a, n)| Mutation::Delete(a, n)),
        (
            any::<usize>(),
            prop::collection::vec(
                prop::sample::select(b" :-\n\t{}[]&*!|>'\"#%@`0aZ\xff".to_vec()),
                1..8
            )
        )
            .prop_map(|(a, b)| Mutation::Insert(a, b)),
        any::<usize>().prop_map(Mutation::DuplicateLine),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Mutation::SwapLines(a, b)),
    ]
}

fn apply(bytes: &mut Vec<u8>, m: &Mutation) {
    let len = bytes.len().max(1);
    match m {
        Mutation::Delete(at, n) => {
            let at = at % len;
            let end = (at + n).min(bytes.len());
            if at < end {
                bytes.drain(at..end);
            }
        }
        Mutation::Insert(at, ins) => {
            let at = at % len;
            let at = at.min(bytes.len());
            bytes.splice(at..at, ins.iter().copied());
        }
        Mutation::DuplicateLine(i) | Mutation::SwapLines(i, _) => {
            let mut lines: Vec<Vec<u8>> =
                bytes.split(|b| *b == b'\n').map(<[u8]>::to_vec).collect();
            let n = lines.len();
            let i = i % n;
            match m {
                Mutation::SwapLines(_, j) => lines.swap(i, j % n),
                _ => {
                    let l = lines[i].clone();
                    lines.insert(i, l);
                }
            }
            *bytes = lines.join(&b'\n');
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    /// Whatever a mutation does to a file, aimc answers with objects or diagnostics.
    #[test]
    fn mutated_examples_never_panic(file in any::<prop::sample::Index>(), muts in prop::collection::vec(mutation(), 1..6)) {
        let mut sources = example_sources();
        let i = file.index(sources.len());
        for m in &muts {
            apply(&mut sources[i].1, m);
        }
        let prefix = sources[i].0.components().next().map(|c| c.as_os_str().to_owned()).unwrap_or_default();
        let one: Vec<_> = sources.into_iter().filter(|(p, _)| p.starts_with(&prefix)).collect();
        let _ = render(one);
    }

    /// The same files in any order render byte-identically.
    #[test]
    fn file_order_does_not_matter(seed in any::<u64>()) {
        let all: Vec<_> = example_sources().into_iter().filter(|(p, _)| p.starts_with("private-registries")).collect();
        let mut shuffled = all.clone();
        let mut s = seed | 1;
        for k in (1..shuffled.len()).rev() {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            shuffled.swap(k, (s % (k as u64 + 1)) as usize);
        }
        prop_assert_eq!(render(all), render(shuffled));
    }
}
