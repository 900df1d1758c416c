//! Phase timings of the pipeline on synthetic repositories (`cargo bench --bench render`).
//!
//! Environment:
//! - `AIMC_BENCH_SIZES=100,1000,10000,100000`: service counts (default `100,1000,10000`).
//! - `AIMC_BENCH_WRITE=dir`: also write the tree of the largest size below `dir`, to time
//!   the binary on it (`/usr/bin/time -v target/release/aimc render dir > /dev/null`).
//!
//! Each size is checked first through `cli::render::render_loaded` (the CLI's path) and the
//! bench aborts with the diagnostics if anything is an error. Then each phase is timed on
//! its own, best of `RUNS`: load (`load::load_sources`), resolve, render, emit
//! (`emit::collect` + `emit::stream` to YAML).

#[path = "gen/mod.rs"]
mod generator;

use aimc::cli::render::{render_loaded, RenderFlags};
use aimc::emit::{self, EmitMode, Format};
use aimc::load::{self, LoadOptions};
use aimc::render::{self, Ctx, Gitops};
use aimc::{diag, resolve};
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

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
        strict: None,
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

struct Run {
    phases: [Duration; 4],
    objects: usize,
    bytes: usize,
}

fn run_once(sources: &Sources) -> Run {
    let input = sources.clone();
    let opts = LoadOptions::default();

    let t = Instant::now();
    let loaded = load::load_sources(input, &opts);
    let load_t = t.elapsed();

    let t = Instant::now();
    let plan = resolve::resolve(&loaded.index, &loaded.config, &loaded.lock);
    let resolve_t = t.elapsed();

    let t = Instant::now();
    let rendered = render::render(
        &plan,
        &loaded.lock,
        &Ctx {
            gitops: Gitops::Argocd,
            concrete: true,
        },
    );
    let render_t = t.elapsed();

    drop(plan);
    let t = Instant::now();
    let objects = emit::collect(loaded.index, rendered, EmitMode::default());
    let text = emit::stream(&objects, Format::Yaml).expect("emit::stream");
    let emit_t = t.elapsed();

    black_box(&text);
    Run {
        phases: [load_t, resolve_t, render_t, emit_t],
        objects: objects.len(),
        bytes: text.len(),
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
        "{:>7} {:>6} {:>8} {:>8} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}",
        "N",
        "files",
        "in MiB",
        "objects",
        "load ms",
        "resolve",
        "render",
        "emit",
        "total ms",
        "µs/obj",
        "peak MiB"
    );

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

        let mut best = [Duration::MAX; 4];
        let mut objects = 0;
        for _ in 0..RUNS {
            let run = run_once(&sources);
            for (b, p) in best.iter_mut().zip(run.phases) {
                *b = (*b).min(p);
            }
            objects = run.objects;
            black_box(run.bytes);
        }
        assert_eq!(
            objects, checked,
            "the timed pipeline and render_loaded disagree on the object count"
        );
        let total: Duration = best.iter().sum();
        let per_obj = if objects == 0 {
            0.0
        } else {
            total.as_secs_f64() * 1e6 / objects as f64
        };
        let peak =
            peak_rss_kib().map_or_else(|| "?".to_owned(), |k| format!("{:.1}", k as f64 / 1024.0));
        println!(
            "{:>7} {:>6} {:>8.1} {:>8} {:>9.2} {:>9.2} {:>9.2} {:>9.2} {:>9.2} {:>9.2} {:>9}",
            n,
            sources.len(),
            in_bytes as f64 / (1024.0 * 1024.0),
            objects,
            ms(best[0]),
            ms(best[1]),
            ms(best[2]),
            ms(best[3]),
            ms(total),
            per_obj,
            peak
        );
    }
    if let Some(dir) = &write_dir {
        println!();
        println!("wrote the N={largest} tree to {}", dir.display());
    }
    ExitCode::SUCCESS
}
