//! Cost of the CRDs' CEL rules per object (`cargo bench --bench cel`): a golden HTTPRoute as
//! `aimc validate` checks rendered output, and example AIMServices and an AIMModel as it
//! checks inputs, each beside its JSON Schema check for scale; and the one-time compilation of
//! each CRD's rules.
//!
//! `AIMC_BENCH_N=20000`: evaluations per object (default 20000), best of 3 runs. Times per
//! object are this thread's CPU time (Linux), not wall time.

use aimc::check::{cel, schema};
use aimc::load::{self, LoadOptions, Object};
use serde_json::Value;
use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, Instant};

const RUNS: usize = 3;

/// On-CPU time of this thread so far (`/proc/thread-self/schedstat`): the machine may be
/// shared, and wall time would count the other processes' turns.
fn cpu_time() -> Duration {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .map(Duration::from_nanos)
        .unwrap_or_default()
}

/// Best of [`RUNS`]: CPU time per call of `f`, over `n` calls.
fn best(n: usize, mut f: impl FnMut()) -> Duration {
    (0..RUNS)
        .map(|_| {
            let start = cpu_time();
            for _ in 0..n {
                f();
            }
            (cpu_time() - start) / n as u32
        })
        .min()
        .unwrap_or_default()
}

fn us(d: Duration) -> String {
    format!("{:.1} µs", d.as_secs_f64() * 1e6)
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn golden_route() -> Value {
    let path = root().join("golden/routing/concrete/ml-team/httproute-qwen-chat-a04542d9.yaml");
    let text = std::fs::read_to_string(&path).expect("golden HTTPRoute");
    let docs = load::yaml::parse_values(&text).expect("YAML");
    docs.into_iter().next().expect("one document").2
}

fn example_object(dir: &str, kind: &str) -> Object {
    let loaded = load::load_dir(&root().join("examples").join(dir), &LoadOptions::default())
        .expect("example readable");
    loaded
        .index
        .into_objects()
        .into_iter()
        .find(|o| o.key.kind == kind)
        .expect("object of the kind")
}

fn main() {
    let n: usize = std::env::var("AIMC_BENCH_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);

    println!("compile (once per CRD version, at first use):");
    for (api_version, kind) in [
        ("gateway.networking.k8s.io/v1", "HTTPRoute"),
        ("aim.eai.amd.com/v1alpha1", "AIMService"),
        ("aim.eai.amd.com/v1alpha1", "AIMClusterModel"),
    ] {
        // Wall time: the CPU-time counter moves in scheduler ticks, too coarse for one call.
        let start = Instant::now();
        let compiled = cel::compiled(api_version, kind).expect("has rules");
        let took = start.elapsed();
        let c = compiled.as_ref().expect("compiles");
        println!(
            "  {kind:<16} {:>6.1} ms  {} rules, {} evaluated",
            took.as_secs_f64() * 1e3,
            c.rules,
            c.evaluated()
        );
    }

    println!("per object, CPU time (best of {RUNS} × {n}):");
    let route = golden_route();
    assert!(cel::check_output(&route).is_empty());
    assert!(schema::validate_output(&route).is_empty());
    let cel_route = best(n, || {
        black_box(cel::check_output(black_box(&route)));
    });
    let schema_route = best(n, || {
        black_box(schema::validate_output(black_box(&route)));
    });
    println!(
        "  HTTPRoute (output)      CEL {:>9}   schema {:>9}",
        us(cel_route),
        us(schema_route)
    );
    for (dir, kind) in [
        ("routing", "AIMService"),
        ("custom-model", "AIMService"),
        ("custom-model", "AIMModel"),
    ] {
        let obj = example_object(dir, kind);
        assert!(cel::check(&obj).is_empty());
        let cel_t = best(n, || {
            black_box(cel::check(black_box(&obj)));
        });
        let schema_t = best(n, || {
            black_box(schema::validate_input(black_box(&obj)));
        });
        println!(
            "  {:<23} CEL {:>9}   schema {:>9}",
            format!("{kind} ({dir})"),
            us(cel_t),
            us(schema_t)
        );
    }
}
