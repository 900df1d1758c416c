//! Phase timings of the pipeline on synthetic repositories (`cargo bench --bench render`).
//!
//! Environment:
//! - `AIMC_BENCH_SIZES=100,1000,10000,100000`: service counts (default `100,1000,10000`).
//! - `AIMC_BENCH_HEAP=1`: also count the live heap after each phase (slower).
//! - `AIMC_BENCH_WRITE=dir`: also write the tree of the largest size below `dir`, to time
//!   the binary on it (`/usr/bin/time -v target/release/aimc render dir > /dev/null`).
//!
//! Each size is checked first through `cli::render::render_loaded` (the CLI's path) and the
//! bench aborts with the diagnostics if anything is an error. Then each phase is timed on
//! its own, best of `RUNS`, as `aimc render` and `aimc validate` run them:
//! - load: `load::load_sources` (parse, type, index);
//! - resolve: model-source expansion and `resolve::resolve`;
//! - render: `render::render_with`, serialising each object to YAML as it is built;
//! - emit: canonical order (`emit::collect_docs`) and the stream (`emit::write_stream`);
//! - validate: what `aimc validate` adds: schema and CEL checks of every input, the policy
//!   checks, and a render whose sink checks every output object against its schema.
//!
//! `render total` is `aimc render`'s work (load + resolve + render + emit); `all` adds
//! validate.

#[path = "gen/mod.rs"]
mod generator;

use aimc::cli::render::{render_loaded, RenderFlags};
use aimc::emit::{self, Doc, EmitMode, Format};
use aimc::load::{self, LoadOptions};
use aimc::render::{self, Ctx, Gitops};
use aimc::{check, diag, resolve};
use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// The system allocator, counting live bytes when `AIMC_BENCH_HEAP=1` (the heap table comes
/// from it). Off by default: a counter shared by every thread slows allocation-heavy phases.
struct Counting;

static COUNT: AtomicBool = AtomicBool::new(false);
static LIVE: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded to `System` unchanged; only a counter is added.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNT.load(Ordering::Relaxed) {
            LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        }
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if COUNT.load(Ordering::Relaxed) {
            LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        }
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if COUNT.load(Ordering::Relaxed) {
            LIVE.fetch_add(new_size, Ordering::Relaxed);
            LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        }
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

fn live_mib() -> f64 {
    LIVE.load(Ordering::Relaxed) as f64 / (1024.0 * 1024.0)
}

const SEED: u64 = 0x00A1_3C0D_E5EE_D001;
const RUNS: usize = 3;
const DEFAULT_SIZES: &str = "100,1000,10000";

type Sources = Vec<(PathBuf, Vec<u8>)>;

fn sizes() -> Result<Vec<usize>, String> {
    let raw = std::env::var("AIMC_BENCH_SIZES").unwrap_or_else(|_| DEFAULT_SIZES.to_owned());
    let mut out = raw
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.replace('_', "")
                .parse::<usize>()
                .map_err(|e| format!("AIMC_BENCH_SIZES: {s:?}: {e}"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    // Ascending, so the monotonic peak-RSS column belongs to the row it is printed on.
    out.sort_unstable();
    out.dedup();
    if out.is_empty() {
        return Err("AIMC_BENCH_SIZES lists no size".into());
    }
    Ok(out)
}

fn render_args() -> RenderFlags {
    RenderFlags {
        emit: None,
        gitops: None,
        namespace: None,
        strict: false,
        skip_foreign: false,
        exclude: Vec::new(),
        api_versions: None,
        kube_version: None,
    }
}

/// `VmHWM` (peak resident set) of this process, in KiB.
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Resets `VmHWM` to the current RSS (Linux ≥ 4.0); false where that is not allowed.
fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// Runs the CLI's own path once; the number of objects, or the diagnostics on error.
fn check(sources: &Sources) -> Result<usize, String> {
    let loaded = load::load_sources(sources.clone(), &LoadOptions::default());
    let outcome = render_loaded(loaded, &render_args());
    match outcome.objects {
        Some(objects) => Ok(objects.len()),
        None => {
            let errors: Vec<_> = outcome
                .diagnostics
                .into_iter()
                .filter(|d| d.is_error())
                .collect();
            let total = errors.len();
            let first: Vec<_> = errors.into_iter().take(5).collect();
            Err(format!(
                "{}... {total} error(s) in total",
                diag::render_text(&first, None)
            ))
        }
    }
}

const PHASES: usize = 5;

struct Run {
    phases: [Duration; PHASES],
    /// Live heap (MiB) after load, resolve, render and emit, above what was live before.
    heap: [f64; 4],
    objects: usize,
    bytes: usize,
}

fn run_once(sources: &Sources) -> Run {
    let input = sources.clone();
    let opts = LoadOptions::default();

    let base = live_mib();
    let t = Instant::now();
    let mut loaded = load::load_sources(input, &opts);
    let load_t = t.elapsed();
    let heap_load = live_mib() - base;

    let t = Instant::now();
    let expanded = resolve::sources::expand(&mut loaded.index, &loaded.lock);
    let plan = resolve::resolve(&loaded.index, &loaded.config, &loaded.lock);
    let resolve_t = t.elapsed();
    black_box(expanded);
    let heap_resolve = live_mib() - base;

    let t = Instant::now();
    let rendered = render::render_with(
        plan,
        &loaded.lock,
        &Ctx {
            gitops: Gitops::Argocd,
            concrete: true,
            derived: false,
        },
        |o, derived| Doc::typed(&o, derived, Format::Yaml),
    );
    let render_t = t.elapsed();
    let heap_render = live_mib() - base;

    let t = Instant::now();
    let docs = emit::collect_docs(loaded.index, rendered, EmitMode::default(), Format::Yaml)
        .expect("emit::collect_docs");
    let mut sink = CountingWriter(0);
    emit::write_stream(&docs, Format::Yaml, &mut sink).expect("write_stream");
    let emit_t = t.elapsed();
    let heap_emit = live_mib() - base;

    let objects = docs.len();
    drop(docs);

    // What `aimc validate` adds, on a fresh load and plan (made outside the clock): the
    // render above consumed both.
    let mut loaded = load::load_sources(sources.clone(), &opts);
    black_box(resolve::sources::expand(&mut loaded.index, &loaded.lock));
    let plan_to_check = resolve::resolve(&loaded.index, &loaded.config, &loaded.lock);
    let t = Instant::now();
    let mut diags = check::all_inputs(&loaded.index);
    diags.extend(check::policy::check(&loaded.index, &plan_to_check));
    let checked = render::render_with(
        plan_to_check,
        &loaded.lock,
        &Ctx {
            gitops: Gitops::Argocd,
            concrete: true,
            derived: true,
        },
        |o, _| check::output(&o),
    );
    let validate_t = t.elapsed();
    assert!(
        diags.iter().all(|d| !d.is_error())
            && checked
                .concrete
                .iter()
                .chain(&checked.derived)
                .all(Vec::is_empty),
        "the generated tree does not validate"
    );

    Run {
        phases: [load_t, resolve_t, render_t, emit_t, validate_t],
        heap: [heap_load, heap_resolve, heap_render, heap_emit],
        objects,
        bytes: sink.0,
    }
}

/// A writer that only counts, standing in for stdout.
struct CountingWriter(usize);

impl std::io::Write for CountingWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn write_tree(dir: &Path, sources: &Sources) -> std::io::Result<()> {
    for (rel, bytes) in sources {
        let path = dir.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&path, bytes)?;
    }
    Ok(())
}

fn main() -> ExitCode {
    // `cargo bench` passes `--bench`; `cargo test --benches` runs this too: keep that quick.
    let args: Vec<String> = std::env::args().skip(1).collect();
    let sizes =
        if !args.iter().any(|a| a == "--bench") && std::env::var_os("AIMC_BENCH_SIZES").is_none() {
            vec![100]
        } else {
            match sizes() {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("render bench: {e}");
                    return ExitCode::FAILURE;
                }
            }
        };
    let write_dir = std::env::var_os("AIMC_BENCH_WRITE")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from);
    let largest = *sizes.last().expect("at least one size");

    // Counting starts before any allocation the table reports on and never stops, so the
    // live figure stays balanced.
    let count_heap = std::env::var_os("AIMC_BENCH_HEAP").is_some_and(|v| v == "1");
    COUNT.store(count_heap, Ordering::Relaxed);
    let resettable = reset_peak_rss();
    println!("aimc render bench: seed {SEED:#x}, best of {RUNS} per phase, emit concrete, YAML");
    if resettable {
        println!(
            "peak RSS = VmHWM, reset before each size (includes the generated input held in memory)"
        );
    } else {
        println!(
            "peak RSS = VmHWM of the whole bench process: monotonic, sizes run ascending, so each row is the peak so far (includes the generated input held in memory)"
        );
    }
    println!();
    println!(
        "{:>7} {:>6} {:>7} {:>8} {:>8} {:>8} {:>8} {:>8} {:>9} {:>9} {:>8} {:>7} {:>8}",
        "N",
        "files",
        "in MiB",
        "objects",
        "load ms",
        "resolve",
        "render",
        "emit",
        "render Σ",
        "validate",
        "all ms",
        "µs/obj",
        "peak MiB"
    );

    let mut heaps = Vec::new();
    for &n in &sizes {
        if resettable {
            reset_peak_rss();
        }
        let sources = generator::generate(n, SEED);
        let in_bytes: usize = sources.iter().map(|(_, b)| b.len()).sum();
        if n == largest {
            if let Some(dir) = &write_dir {
                if let Err(e) = write_tree(dir, &sources) {
                    eprintln!("render bench: cannot write {}: {e}", dir.display());
                    return ExitCode::FAILURE;
                }
            }
        }
        let checked = match check(&sources) {
            Ok(c) => c,
            Err(diags) => {
                eprintln!("render bench: the generated tree for N={n} does not render:\n{diags}");
                return ExitCode::FAILURE;
            }
        };

        // The check above ran the JSON-object path; the peak is the timed runs'.
        if resettable {
            reset_peak_rss();
        }
        let mut best = [Duration::MAX; PHASES];
        let mut objects = 0;
        let mut heap = [0.0; 4];
        for _ in 0..RUNS {
            let run = run_once(&sources);
            for (b, p) in best.iter_mut().zip(run.phases) {
                *b = (*b).min(p);
            }
            objects = run.objects;
            heap = run.heap;
            black_box(run.bytes);
        }
        assert_eq!(
            objects, checked,
            "the timed pipeline and render_loaded disagree on the object count"
        );
        let render_total: Duration = best[..4].iter().sum();
        let all = render_total + best[4];
        let per_obj = if objects == 0 {
            0.0
        } else {
            render_total.as_secs_f64() * 1e6 / objects as f64
        };
        let peak =
            peak_rss_kib().map_or_else(|| "?".to_owned(), |k| format!("{:.1}", k as f64 / 1024.0));
        println!(
            "{:>7} {:>6} {:>7.1} {:>8} {:>8.1} {:>8.1} {:>8.1} {:>8.1} {:>9.1} {:>9.1} {:>8.1} {:>7.2} {:>8}",
            n,
            sources.len(),
            in_bytes as f64 / (1024.0 * 1024.0),
            objects,
            ms(best[0]),
            ms(best[1]),
            ms(best[2]),
            ms(best[3]),
            ms(render_total),
            ms(best[4]),
            ms(all),
            per_obj,
            peak
        );
        heaps.push((n, heap));
    }
    if let Some(dir) = &write_dir {
        println!();
        println!("wrote the N={largest} tree to {}", dir.display());
    }
    if !count_heap {
        println!();
        println!("(AIMC_BENCH_HEAP=1 adds the live heap after each phase, at some cost in speed)");
        return ExitCode::SUCCESS;
    }
    println!();
    println!("live heap after each phase, MiB (what the pipeline holds, inputs excluded):");
    println!(
        "{:>7} {:>8} {:>8} {:>8} {:>8}",
        "N", "load", "resolve", "render", "emit"
    );
    for (n, h) in heaps {
        println!(
            "{n:>7} {:>8.1} {:>8.1} {:>8.1} {:>8.1}",
            h[0], h[1], h[2], h[3]
        );
    }
    ExitCode::SUCCESS
}
