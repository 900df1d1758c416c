//! The benchmark's generated repositories as test inputs: the generator is deterministic, its
//! trees render cleanly, and at a size where every worker gets many services the output is
//! byte-identical whatever the thread count or file order, and identical to serde-saphyr's.

#[path = "../benches/gen/mod.rs"]
mod generator;

use aimc::cli::render::{render_documents, render_loaded, RenderFlags};
use aimc::emit::{self, Format};
use aimc::load::{load_sources, LoadOptions};
use assert_cmd::Command;

const SEED: u64 = 7;
const SERVICES: usize = 400;

#[test]
fn the_generator_is_deterministic_per_size_and_seed() {
    let a = generator::generate(SERVICES, SEED);
    assert_eq!(a, generator::generate(SERVICES, SEED));
    assert_ne!(a, generator::generate(SERVICES, SEED + 1));
    let services = |files: &[(std::path::PathBuf, Vec<u8>)]| {
        files
            .iter()
            .map(|(_, b)| {
                String::from_utf8_lossy(b)
                    .matches("kind: AIMService\n")
                    .count()
            })
            .sum::<usize>()
    };
    assert_eq!(services(&a), SERVICES);
}

#[test]
fn a_generated_tree_renders_without_warnings() {
    let loaded = load_sources(generator::generate(SERVICES, SEED), &LoadOptions::default());
    let outcome = render_documents(loaded, &RenderFlags::default(), Format::Yaml);
    let loud: Vec<String> = outcome
        .diagnostics
        .iter()
        .filter(|d| d.severity <= aimc::diag::Severity::Warning)
        .map(|d| d.to_string())
        .collect();
    assert!(loud.is_empty(), "{}", loud.join("\n"));
    let docs = outcome.objects.expect("documents");
    // Services, routes, and a PVC and Job per artifact, plus namespaces and secrets.
    assert!(docs.len() > 2 * SERVICES, "{} documents", docs.len());
}

#[test]
fn every_generated_object_is_written_as_serde_saphyr_writes_it() {
    let loaded = load_sources(generator::generate(SERVICES, SEED), &LoadOptions::default());
    let objects = render_loaded(loaded, &RenderFlags::default())
        .objects
        .expect("objects");
    for v in &objects {
        let want = serde_saphyr::to_string(v).expect("saphyr");
        assert_eq!(emit::document(v, Format::Yaml).expect("document"), want);
    }
}

/// Rendered objects are written from their typed form (src/render/object.rs); every
/// generated object, derived AIM objects included, is written as the JSON-tree writer writes
/// the same object's JSON tree.
#[test]
fn typed_objects_are_written_as_the_tree_writer_writes_them() {
    let flags = RenderFlags {
        emit: Some(aimc::emit::EmitMode::All),
        ..RenderFlags::default()
    };
    let load = || load_sources(generator::generate(SERVICES, SEED), &LoadOptions::default());
    let objects = render_loaded(load(), &flags).objects.expect("objects");
    let docs = render_documents(load(), &flags, Format::Yaml)
        .objects
        .expect("documents");
    assert!(objects.len() > SERVICES);
    assert_eq!(objects.len(), docs.len());
    for (v, d) in objects.iter().zip(&docs) {
        assert_eq!(d.text, emit::yaml_document(v).expect("tree"));
    }
}

#[test]
fn output_is_byte_identical_at_any_thread_count_and_file_order() {
    let files = generator::generate(SERVICES, SEED);
    let write = |files: &[(std::path::PathBuf, Vec<u8>)], rename: bool| {
        let dir = tempfile::tempdir().expect("tempdir");
        for (i, (rel, bytes)) in files.iter().enumerate() {
            // Renamed files walk in another order; the lock file keeps its name.
            let rel = if rename && rel.as_path() != std::path::Path::new("aim.lock.yaml") {
                std::path::PathBuf::from(format!("z{:04}.yaml", files.len() - i))
            } else {
                rel.clone()
            };
            let path = dir.path().join(rel);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(path, bytes).expect("write");
        }
        dir
    };
    let run = |dir: &std::path::Path, threads: &str| {
        let out = Command::cargo_bin("aimc")
            .expect("bin")
            .arg("render")
            .arg(dir)
            .env("AIMC_THREADS", threads)
            .env_remove("ARGOCD_APP_NAMESPACE")
            .output()
            .expect("runs");
        assert_eq!(out.status.code(), Some(0), "{threads} threads");
        out.stdout
    };
    let tree = write(&files, false);
    let one = run(tree.path(), "1");
    assert!(!one.is_empty());
    for threads in ["2", "7"] {
        assert!(
            one == run(tree.path(), threads),
            "output differs with {threads} threads"
        );
    }
    let renamed = write(&files, true);
    assert!(
        one == run(renamed.path(), "2"),
        "output differs when the files are renamed and walked in another order"
    );
}
