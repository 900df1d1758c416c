//! Stable-Rust stand-in for `cargo fuzz run render`: feeds pseudo-random mutations of the
//! seed corpus through the same target body (`aimc_fuzz::run`), catching panics.
//!
//! Usage: `cargo run --release --bin standin -- [ITERATIONS] [SEED] [CORPUS_DIR] [ARTIFACT_DIR]`
//! (defaults: 50000, 1, corpus/render, artifacts/standin). A panicking input is written to
//! `ARTIFACT_DIR/crash-<hash>`; replay one with `cargo run --release --bin standin -- replay FILE`.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// xorshift64*: deterministic, dependency-free.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 { 0 } else { (self.next() % n as u64) as usize }
    }
}

/// Tokens that matter to YAML and to aimc's inputs.
const DICT: &[&[u8]] = &[
    b"\x00", b"\n", b": ", b"- ", b"---\n", b"...\n", b"&a ", b"*a", b"!!str ", b"!!binary ", b"<<: *a",
    b"{", b"}", b"[", b"]", b"'", b"\"", b"|\n", b">-\n", b"  ", b"\t", b"#", b"~", b"null", b"true",
    b"yes", b"0x1F", b"1e308", b"-0", b".nan", b"99999999999999999999", b"\xef\xbb\xbf", b"\xff",
    b"apiVersion: ", b"kind: ", b"metadata:\n  name: x\n", b"namespace: ", b"spec:\n",
    b"aim.eai.amd.com/v1alpha1", b"v1", b"Node", b"Namespace", b"Secret", b"ConfigMap",
    b"AIMService", b"AIMModel", b"AIMClusterModel", b"AIMServiceTemplate", b"AIMClusterServiceTemplate",
    b"AIMRuntimeConfig", b"AIMClusterRuntimeConfig", b"AIMModelCache", b"AIMTemplateCache",
    b"AIMClusterModelSource", b"image: ", b"model: ", b"name: ", b"images:\n", b"sizes:\n",
    b"amd.com/gpu", b"1Gi", b"100Mi", b"0.5", b"-1", b"1e3", b"1Ei", b"{{ x }}",
];

fn mutate(rng: &mut Rng, corpus: &[Vec<u8>], input: &mut Vec<u8>) {
    let rounds = 1 + rng.below(8);
    for _ in 0..rounds {
        let len = input.len();
        match rng.below(10) {
            0 if len > 0 => { let i = rng.below(len); input[i] ^= 1 << rng.below(8); }
            1 if len > 0 => { let i = rng.below(len); input[i] = rng.next() as u8; }
            2 if len > 0 => {
                let i = rng.below(len);
                let n = 1 + rng.below((len - i).min(64));
                input.drain(i..i + n);
            }
            3 => {
                let i = rng.below(len + 1);
                let t = DICT[rng.below(DICT.len())];
                input.splice(i..i, t.iter().copied());
            }
            4 if len > 0 => {
                // Duplicate a chunk (grows nesting, repeats keys/documents).
                let i = rng.below(len);
                let n = 1 + rng.below((len - i).min(256));
                let chunk = input[i..i + n].to_vec();
                let at = rng.below(len + 1);
                input.splice(at..at, chunk);
            }
            5 if !corpus.is_empty() => {
                // Splice in a chunk of another seed.
                let other = &corpus[rng.below(corpus.len())];
                if !other.is_empty() {
                    let i = rng.below(other.len());
                    let n = 1 + rng.below((other.len() - i).min(512));
                    let at = rng.below(len + 1);
                    input.splice(at..at, other[i..i + n].iter().copied());
                }
            }
            6 if len > 0 => input[0] = rng.next() as u8, // mode byte
            7 if len > 0 => {
                // Swap two lines.
                let lines: Vec<&[u8]> = input.split(|&b| b == b'\n').collect();
                if lines.len() > 2 {
                    let (a, b) = (rng.below(lines.len()), rng.below(lines.len()));
                    let mut ls: Vec<Vec<u8>> = lines.iter().map(|l| l.to_vec()).collect();
                    ls.swap(a, b);
                    *input = ls.join(&b'\n');
                }
            }
            8 if len > 0 => {
                // Change indentation of a line.
                let i = rng.below(len);
                if let Some(nl) = input[..i].iter().rposition(|&b| b == b'\n') {
                    if rng.below(2) == 0 { input.insert(nl + 1, b' '); }
                    else if input.get(nl + 1) == Some(&b' ') { input.remove(nl + 1); }
                }
            }
            _ if len > 4096 => input.truncate(rng.below(len)),
            _ => {}
        }
    }
    input.truncate(64 * 1024);
}

fn load_corpus(dir: &Path) -> Vec<Vec<u8>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read corpus {}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files.iter().filter_map(|p| std::fs::read(p).ok()).collect()
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    aimc_fuzz::init();
    if args.first().map(String::as_str) == Some("replay") {
        for f in &args[1..] {
            let data = std::fs::read(f).expect("read reproducer");
            eprintln!("replaying {f} ({} bytes)", data.len());
            match aimc_fuzz::run(&data) {
                Some(n) => eprintln!("ok: rendered {n} objects"),
                None => eprintln!("ok: rejected with error diagnostics"),
            }
        }
        return;
    }
    let iterations: u64 = args.first().and_then(|s| s.parse().ok()).unwrap_or(50_000);
    let seed: u64 = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(1);
    let corpus_dir = PathBuf::from(args.get(2).map_or("corpus/render", String::as_str));
    let artifacts = PathBuf::from(args.get(3).map_or("artifacts/standin", String::as_str));
    let corpus = load_corpus(&corpus_dir);
    assert!(!corpus.is_empty(), "empty corpus in {}", corpus_dir.display());

    // Quiet the default hook; report panics ourselves.
    let last_panic = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    {
        let last_panic = last_panic.clone();
        std::panic::set_hook(Box::new(move |info| {
            *last_panic.lock().unwrap() = info.to_string();
        }));
    }

    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let start = Instant::now();
    let (mut crashes, mut slowest, mut rendered) = (0u64, (0u128, 0usize), 0u64);
    let mut seen = std::collections::HashSet::new();
    for n in 0..iterations {
        let mut input = corpus[rng.below(corpus.len())].clone();
        if n >= corpus.len() as u64 {
            mutate(&mut rng, &corpus, &mut input);
        }
        let t = Instant::now();
        let result = catch_unwind(AssertUnwindSafe(|| aimc_fuzz::run(&input)));
        let ms = t.elapsed().as_millis();
        if matches!(result, Ok(Some(_))) {
            rendered += 1;
        }
        if ms > slowest.0 {
            slowest = (ms, input.len());
        }
        if result.is_err() {
            crashes += 1;
            let msg = last_panic.lock().unwrap().clone();
            // One artifact per distinct panic location/message head.
            let key: String = msg.lines().next().unwrap_or("").chars().take(200).collect();
            let mut h = DefaultHasher::new();
            input.hash(&mut h);
            if seen.insert(key.clone()) {
                std::fs::create_dir_all(&artifacts).ok();
                let path = artifacts.join(format!("crash-{:016x}", h.finish()));
                std::fs::write(&path, &input).ok();
                eprintln!("CRASH #{crashes} at iteration {n}: {key}\n  saved {}", path.display());
            }
        }
        if (n + 1) % 10_000 == 0 {
            eprintln!("#{} crashes={crashes} elapsed={:.1}s", n + 1, start.elapsed().as_secs_f64());
        }
    }
    println!(
        "standin: {iterations} executions ({rendered} rendered objects), seed {seed}, {} seeds, \
         {crashes} panicking inputs ({} distinct), slowest {} ms ({} bytes), {:.1}s",
        corpus.len(), seen.len(), slowest.0, slowest.1, start.elapsed().as_secs_f64()
    );
    if crashes > 0 {
        std::process::exit(1);
    }
}
