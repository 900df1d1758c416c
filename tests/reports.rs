//! `aimc validate`'s CI reports as their consumers read them: SARIF as GitHub code scanning
//! accepts it, workflow-command annotations, and colour that follows the stream written.

use assert_cmd::Command;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

const MODEL: &str = "apiVersion: aim.eai.amd.com/v1alpha1
kind: AIMClusterModel
metadata: {name: m}
spec: {image: 'ghcr.io/amd/m:1', discovery: {createServiceTemplates: false}}
---
apiVersion: aim.eai.amd.com/v1alpha1
kind: AIMClusterServiceTemplate
metadata: {name: t}
spec: {modelName: m, type: optimized, modelSources: [{modelId: org/m, sourceUri: hf://org/m, size: 1Gi}]}
";

const BROKEN: &str = "apiVersion: aim.eai.amd.com/v1alpha1
kind: AIMService
metadata: {name: s, namespace: ns}
spec:
  model: {name: nope}
";

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

/// `aimc ARGS` in `cwd`, with the colour variables of the caller's environment removed.
fn aimc(cwd: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut cmd = Command::cargo_bin("aimc").expect("bin");
    cmd.current_dir(cwd)
        .args(args)
        .env_remove("ARGOCD_APP_NAMESPACE")
        .env_remove("ARGOCD_ENV_AIMC_STRICT")
        .env_remove("NO_COLOR")
        .env_remove("CLICOLOR_FORCE")
        .env_remove("TERM");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("runs");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn write_tree(dir: &Path, files: &[(&str, &str)]) {
    for (name, text) in files {
        let p = dir.join(name);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, text).expect("write");
    }
}

/// The SARIF 2.1.0 schema of the OASIS TC, `sarif-2.1/schema/sarif-schema-2.1.0.json` of
/// github.com/oasis-tcs/sarif-spec at commit a560296ca8c921f3bdb8d4a8db57ab83dae968a7 (the
/// file's last change; errata 01), copied unchanged.
fn schema() -> &'static jsonschema::Validator {
    static CELL: OnceLock<jsonschema::Validator> = OnceLock::new();
    CELL.get_or_init(|| {
        let path =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sarif-schema-2.1.0.json");
        let text = std::fs::read_to_string(path).expect("schema fixture");
        let schema: Value = serde_json::from_str(&text).expect("schema is JSON");
        jsonschema::options()
            .with_draft(jsonschema::Draft::Draft4)
            // `uri`, `uri-reference` and `date-time` are what the schema says of URIs.
            .should_validate_formats(true)
            .build(&schema)
            .expect("schema compiles")
    })
}

fn percent_decode(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = std::str::from_utf8(&b[i + 1..i + 3]).expect("two hex digits");
            out.push(u8::from_str_radix(hex, 16).expect("hex"));
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    out
}

fn decoded_path(s: &str) -> PathBuf {
    PathBuf::from(String::from_utf8(percent_decode(s)).expect("UTF-8 path"))
}

/// A non-empty string.
fn filled(v: &Value) -> bool {
    v.as_str().is_some_and(|s| !s.is_empty())
}

/// What GitHub code scanning requires beyond the schema, as its documentation ("SARIF
/// support for code scanning") and upload-sarif (github/codeql-action, `fingerprints.ts`:
/// URIs decoded, made absolute against the checkout) state it; plus that every location
/// resolves to an existing path. Returns the violations.
fn github_problems(doc: &Value) -> Vec<String> {
    let mut p = Vec::new();
    let levels = ["error", "warning", "note", "none"];
    let Some(runs) = doc["runs"].as_array().filter(|r| !r.is_empty()) else {
        return vec!["no runs".into()];
    };
    for run in runs {
        let driver = &run["tool"]["driver"];
        for field in ["name", "version"] {
            if !filled(&driver[field]) {
                p.push(format!("tool.driver.{field} missing"));
            }
        }
        let rules = driver["rules"].as_array().cloned().unwrap_or_default();
        let ids: Vec<&str> = rules.iter().filter_map(|r| r["id"].as_str()).collect();
        for r in &rules {
            let id = r["id"].as_str().unwrap_or("?");
            for f in ["shortDescription", "fullDescription", "help"] {
                if !filled(&r[f]["text"]) {
                    p.push(format!("rule {id}: no {f}.text"));
                }
            }
            if r["shortDescription"]["text"] == r["id"] {
                p.push(format!("rule {id}: no description, only its id"));
            }
            if !r["defaultConfiguration"]["level"]
                .as_str()
                .is_some_and(|l| levels.contains(&l))
            {
                p.push(format!("rule {id}: defaultConfiguration.level"));
            }
            if let Some(uri) = r.get("helpUri") {
                if !uri.as_str().is_some_and(|u| u.starts_with("https://")) {
                    p.push(format!(
                        "rule {id}: helpUri {uri} is not an absolute https URI"
                    ));
                }
            } else if !env!("CARGO_PKG_REPOSITORY").is_empty() {
                p.push(format!(
                    "rule {id}: no helpUri though the repository is known"
                ));
            }
        }
        let bases = &run["originalUriBaseIds"];
        for (id, base) in bases.as_object().into_iter().flatten() {
            let uri = base["uri"].as_str().unwrap_or("");
            if !(uri.starts_with("file:///") && uri.ends_with('/')) {
                p.push(format!(
                    "originalUriBaseIds.{id}: {uri} is not an absolute file URI ending in /"
                ));
            }
        }
        for (i, res) in run["results"].as_array().into_iter().flatten().enumerate() {
            let rule_id = res["ruleId"].as_str().unwrap_or("");
            let at = format!("result {i} ({rule_id})");
            match ids.iter().position(|id| *id == rule_id) {
                None => p.push(format!("{at}: ruleId not in tool.driver.rules")),
                Some(k) => {
                    if res
                        .get("ruleIndex")
                        .is_some_and(|x| x.as_u64() != Some(k as u64))
                    {
                        p.push(format!("{at}: ruleIndex is not the rule's"));
                    }
                }
            }
            if !res["level"].as_str().is_some_and(|l| levels.contains(&l)) {
                p.push(format!("{at}: level"));
            }
            if !filled(&res["message"]["text"]) {
                p.push(format!("{at}: message.text"));
            }
            if res["partialFingerprints"]
                .as_object()
                .is_none_or(|f| f.is_empty())
            {
                p.push(format!("{at}: no partialFingerprints"));
            }
            let locations = res["locations"].as_array().cloned().unwrap_or_default();
            if locations.is_empty() {
                p.push(format!("{at}: no location"));
            }
            for loc in &locations {
                let phys = &loc["physicalLocation"];
                let art = &phys["artifactLocation"];
                let uri = art["uri"].as_str().unwrap_or("");
                let first_segment = uri.split('/').next().unwrap_or("");
                if uri.is_empty() || uri.starts_with('/') || first_segment.contains(':') {
                    p.push(format!("{at}: uri {uri:?} is not a relative reference"));
                }
                let bad_char = uri.bytes().enumerate().any(|(j, c)| {
                    !(c.is_ascii_alphanumeric() || b"-._~/%".contains(&c))
                        || (c == b'%'
                            && !uri
                                .get(j + 1..j + 3)
                                .is_some_and(|h| h.bytes().all(|x| x.is_ascii_hexdigit())))
                });
                if bad_char {
                    p.push(format!("{at}: uri {uri:?} is not percent-encoded"));
                }
                let base = art["uriBaseId"].as_str().unwrap_or("");
                match bases[base]["uri"].as_str() {
                    None => p.push(format!(
                        "{at}: uriBaseId {base:?} not in originalUriBaseIds"
                    )),
                    Some(b) => {
                        let dir = decoded_path(b.trim_start_matches("file://"));
                        let target = dir.join(decoded_path(uri));
                        if !target.exists() {
                            p.push(format!("{at}: {} does not exist", target.display()));
                        }
                    }
                }
                let region = &phys["region"];
                if region["startLine"].as_u64().is_none_or(|l| l < 1) {
                    p.push(format!("{at}: region.startLine"));
                }
                if region
                    .get("startColumn")
                    .is_some_and(|c| c.as_u64().is_none_or(|c| c < 1))
                {
                    p.push(format!("{at}: region.startColumn"));
                }
            }
        }
    }
    p
}

/// Validates `sarif` against the schema and GitHub's rules; panics with every violation.
fn check_sarif(what: &str, sarif: &str) -> Value {
    let doc: Value = serde_json::from_str(sarif).unwrap_or_else(|e| panic!("{what}: {e}"));
    let schema_errors: Vec<String> = schema()
        .iter_errors(&doc)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        schema_errors.is_empty(),
        "{what}: schema: {schema_errors:#?}"
    );
    let problems = github_problems(&doc);
    assert!(
        problems.is_empty(),
        "{what}: GitHub code scanning: {problems:#?}"
    );
    doc
}

fn results(doc: &Value) -> Vec<(String, String)> {
    doc["runs"][0]["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| {
            (
                r["ruleId"].as_str().unwrap_or("").to_owned(),
                r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                    .as_str()
                    .unwrap_or("")
                    .to_owned(),
            )
        })
        .collect()
}

#[test]
fn sarif_of_every_example_is_valid_and_uploadable() {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut examples: Vec<PathBuf> = std::fs::read_dir(manifest.join("examples"))
        .expect("examples/")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.is_dir())
        .collect();
    examples.sort();
    assert!(examples.len() >= 8, "{examples:?}");
    let mut tree_wide = 0;
    for ex in &examples {
        let name = ex.file_name().and_then(|n| n.to_str()).expect("name");
        let arg = format!("examples/{name}");
        let run = aimc(manifest, &["validate", &arg, "--format", "sarif"], &[]);
        assert!(run.code == 0 || run.code == 1, "{name}: {}", run.stderr);
        let doc = check_sarif(name, &run.stdout);
        for (rule, uri) in results(&doc) {
            assert!(
                uri.starts_with(&format!("{arg}/")),
                "{name}: {rule} at {uri}: paths are relative to the repository root"
            );
            if rule == "GpuInventoryUnknown" {
                tree_wide += 1;
                // Tree-wide: `aimc.yaml` when the tree has one, else its first file.
                let want = if ex.join("aimc.yaml").is_file() {
                    "aimc.yaml".to_owned()
                } else {
                    let mut files: Vec<String> = std::fs::read_dir(ex)
                        .expect("dir")
                        .filter_map(|e| e.ok())
                        .filter(|e| e.path().is_file())
                        .filter_map(|e| e.file_name().to_str().map(str::to_owned))
                        .filter(|n| n.ends_with(".yaml") || n.ends_with(".yml"))
                        .collect();
                    files.sort();
                    files.first().cloned().expect("a file at the top")
                };
                assert_eq!(uri, format!("{arg}/{want}"), "{name}");
            }
        }
    }
    assert!(
        tree_wide >= 3,
        "examples without Nodes report GpuInventoryUnknown"
    );
}

/// A repository with a tree whose path needs encoding, validated from elsewhere.
fn awkward_repository() -> (tempfile::TempDir, PathBuf) {
    let top = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(top.path().join(".git")).expect(".git");
    let tree = top.path().join("infra/team #1 ä");
    write_tree(&tree, &[("m.yaml", MODEL), ("my svc.yaml", BROKEN)]);
    (top, tree)
}

#[test]
fn sarif_paths_with_spaces_hashes_and_non_ascii_are_encoded_and_resolve() {
    let (top, tree) = awkward_repository();
    let elsewhere = tempfile::tempdir().expect("tempdir");
    let t = tree.to_str().expect("UTF-8 path");
    let run = aimc(elsewhere.path(), &["validate", t, "--format", "sarif"], &[]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let doc = check_sarif("awkward", &run.stdout);
    let base = doc["runs"][0]["originalUriBaseIds"]["SRCROOT"]["uri"]
        .as_str()
        .expect("SRCROOT");
    assert_eq!(
        decoded_path(base.trim_start_matches("file://")),
        top.path().join(""),
        "the base is the git work tree, not the cwd"
    );
    assert_eq!(
        results(&doc),
        [
            (
                "GpuInventoryUnknown".to_owned(),
                "infra/team%20%231%20%C3%A4/m.yaml".to_owned()
            ),
            (
                "ModelNotFound".to_owned(),
                "infra/team%20%231%20%C3%A4/my%20svc.yaml".to_owned()
            ),
        ]
    );
}

#[test]
fn github_annotations_are_relative_to_the_repository() {
    let (_top, tree) = awkward_repository();
    let elsewhere = tempfile::tempdir().expect("tempdir");
    let t = tree.to_str().expect("UTF-8 path");
    let run = aimc(
        elsewhere.path(),
        &["validate", t, "--format", "github"],
        &[],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    let files: Vec<&str> = run
        .stdout
        .lines()
        .map(|l| {
            l.split("file=")
                .nth(1)
                .and_then(|r| r.split(',').next())
                .unwrap_or(l)
        })
        .collect();
    assert_eq!(
        files,
        ["infra/team #1 ä/m.yaml", "infra/team #1 ä/my svc.yaml"]
    );
    assert!(
        run.stdout
            .starts_with("::notice file=infra/team #1 ä/m.yaml,line=1,title=GpuInventoryUnknown::"),
        "{}",
        run.stdout
    );
    // No git: relative to the current directory.
    let cwd = tempfile::tempdir().expect("tempdir");
    write_tree(
        cwd.path(),
        &[("sub/m.yaml", MODEL), ("sub/apps/s.yaml", BROKEN)],
    );
    let run = aimc(cwd.path(), &["validate", "sub", "--format", "github"], &[]);
    assert!(
        run.stdout
            .lines()
            .any(|l| l
                .starts_with("::error file=sub/apps/s.yaml,line=5,col=17,title=ModelNotFound::")),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .lines()
            .any(|l| l
                .starts_with("::notice file=sub/apps/s.yaml,line=1,title=GpuInventoryUnknown::")),
        "tree-wide: the first file in sorted order: {}",
        run.stdout
    );
}

#[test]
fn github_summary_counts_diagnostics() {
    let dir = tempfile::tempdir().expect("tempdir");
    let files: Vec<(String, &str)> = (0..12)
        .map(|i| (format!("bad{i:02}.yaml"), "a: [\n"))
        .collect();
    let files: Vec<(&str, &str)> = files.iter().map(|(n, t)| (n.as_str(), *t)).collect();
    write_tree(dir.path(), &files);
    let run = aimc(dir.path(), &["validate", ".", "--format", "github"], &[]);
    assert_eq!(run.code, 1);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 11, "{}", run.stdout);
    assert_eq!(
        lines[10],
        "::notice title=aimc::12 diagnostics (12 errors); 2 not annotated (2 errors)"
    );
}

fn has_ansi(s: &str) -> bool {
    s.contains("\x1b[")
}

#[test]
fn validate_colours_its_stdout_as_stdout_allows() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_tree(dir.path(), &[("m.yaml", MODEL), ("s.yaml", BROKEN)]);
    let validate = |env: &[(&str, &str)]| aimc(dir.path(), &["validate", "."], env);
    // A pipe: no colour unless forced.
    let plain = validate(&[]);
    assert_eq!(plain.code, 1);
    assert!(plain.stdout.contains("error[ModelNotFound]") && !has_ansi(&plain.stdout));
    let forced = validate(&[("CLICOLOR_FORCE", "1")]);
    assert!(
        forced
            .stdout
            .contains("\x1b[1;31merror\x1b[0m[ModelNotFound]"),
        "{:?}",
        forced.stdout
    );
    // NO_COLOR is the user's word and wins over a forced colour.
    let both = validate(&[("NO_COLOR", "1"), ("CLICOLOR_FORCE", "1")]);
    assert!(!has_ansi(&both.stdout), "{:?}", both.stdout);
    assert!(!has_ansi(&validate(&[("CLICOLOR_FORCE", "0")]).stdout));
    assert!(has_ansi(
        &validate(&[("CLICOLOR_FORCE", "1"), ("TERM", "dumb")]).stdout
    ));
    // Machine formats are never coloured.
    let json = aimc(
        dir.path(),
        &["validate", ".", "--format", "json"],
        &[("CLICOLOR_FORCE", "1")],
    );
    assert!(!has_ansi(&json.stdout));
}

#[test]
fn render_colours_its_diagnostics_on_stderr() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_tree(dir.path(), &[("m.yaml", MODEL), ("s.yaml", BROKEN)]);
    let run = aimc(dir.path(), &["render", "."], &[("CLICOLOR_FORCE", "1")]);
    assert_eq!(run.code, 1);
    assert!(has_ansi(&run.stderr), "{:?}", run.stderr);
    assert!(run.stdout.is_empty());
    let run = aimc(
        dir.path(),
        &["render", "."],
        &[("NO_COLOR", "1"), ("CLICOLOR_FORCE", "1")],
    );
    assert!(!has_ansi(&run.stderr) && run.stderr.contains("error[ModelNotFound]"));
}

#[test]
fn the_checks_reject_what_code_scanning_rejects() {
    // What `aimc validate --format sarif` wrote before: no location for a tree-wide result,
    // a raw space in a URI, no base, rules with their id as the only description.
    let old = serde_json::json!({
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "aimc", "version": "0.1.0", "rules": [
                {"id": "GpuInventoryUnknown", "shortDescription": {"text": "GpuInventoryUnknown"}},
                {"id": "ModelNotFound", "shortDescription": {"text": "ModelNotFound"}},
            ]}},
            "results": [
                {"ruleId": "GpuInventoryUnknown", "level": "note", "message": {"text": "no nodes"},
                 "partialFingerprints": {"a": "1"}},
                {"ruleId": "ModelNotFound", "level": "error", "message": {"text": "missing"},
                 "locations": [{"physicalLocation": {
                     "artifactLocation": {"uri": "my svc.yaml"},
                     "region": {"startLine": 0}}}]},
            ],
        }],
    });
    let problems = github_problems(&old).join("\n");
    for want in [
        "result 0 (GpuInventoryUnknown): no location",
        "rule GpuInventoryUnknown: no fullDescription.text",
        "rule ModelNotFound: no description, only its id",
        "rule ModelNotFound: defaultConfiguration.level",
        "result 1 (ModelNotFound): no partialFingerprints",
        "result 1 (ModelNotFound): uri \"my svc.yaml\" is not percent-encoded",
        "result 1 (ModelNotFound): uriBaseId \"\" not in originalUriBaseIds",
        "result 1 (ModelNotFound): region.startLine",
    ] {
        assert!(problems.contains(want), "{want}:\n{problems}");
    }
    let mut bad = old.clone();
    bad["runs"][0]["results"][1]["locations"][0]["physicalLocation"]["region"]["startLine"] =
        serde_json::json!(0);
    bad["runs"][0]["tool"]["driver"]["informationUri"] = serde_json::json!("not a uri");
    let errors: Vec<String> = schema().iter_errors(&bad).map(|e| e.to_string()).collect();
    assert!(
        errors.len() >= 2,
        "startLine minimum and the uri format: {errors:?}"
    );
}
