//! `aimc render` on broken trees: the right code at the right line, exit 1, nothing on stdout.

use assert_cmd::Command;
use std::path::Path;

const SVC_NS: &str = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: team\n";

/// A model with one explicit template, so a service can render.
const MODEL: &str = "apiVersion: aim.eai.amd.com/v1alpha1
kind: AIMClusterModel
metadata:
  name: m
spec:
  image: ghcr.io/amd/m:1.0
  discovery: {createServiceTemplates: false}
---
apiVersion: aim.eai.amd.com/v1alpha1
kind: AIMClusterServiceTemplate
metadata:
  name: t
spec:
  modelName: m
  type: optimized
  hardware:
    gpu: {requests: 1, model: MI300X}
  modelSources: [{modelId: org/m, sourceUri: hf://org/m, size: 1Gi}]
";

fn tree(files: &[(&str, &[u8])]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, text) in files {
        let p = dir.path().join(name);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, text).expect("write");
    }
    dir
}

fn render(dir: &Path, extra: &[&str]) -> std::process::Output {
    Command::cargo_bin("aimc")
        .expect("binary")
        .arg("render")
        .arg(dir)
        .args(extra)
        .env_remove("ARGOCD_APP_NAMESPACE")
        .env_remove("ARGOCD_ENV_AIMC_STRICT")
        .env_remove("ARGOCD_ENV_AIMC_EMIT")
        .env_remove("ARGOCD_ENV_AIMC_GITOPS")
        .env_remove("KUBE_API_VERSIONS")
        .env_remove("KUBE_VERSION")
        .output()
        .expect("runs")
}

/// Asserts exit 1, empty stdout and a diagnostic `file:line:col: error[CODE]`.
fn assert_error(files: &[(&str, &[u8])], file: &str, line: u32, code: &str) -> String {
    let dir = tree(files);
    let out = render(dir.path(), &[]);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "exit code; stderr:\n{stderr}");
    assert!(
        out.stdout.is_empty(),
        "stdout must be empty on error, got:\n{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let want = format!("{file}:{line}:");
    assert!(
        stderr
            .lines()
            .any(|l| l.starts_with(&want) && l.contains(&format!("error[{code}]"))),
        "expected {want}…error[{code}] in:\n{stderr}"
    );
    stderr
}

fn service(extra_spec: &str) -> String {
    format!("apiVersion: aim.eai.amd.com/v1alpha1\nkind: AIMService\nmetadata:\n  name: s\n  namespace: team\nspec:\n{extra_spec}")
}

#[test]
fn invalid_yaml() {
    assert_error(
        &[("a.yaml", b"apiVersion: v1\nkind: [Secret\n")],
        "a.yaml",
        2,
        "YamlSyntax",
    );
}

#[test]
fn tabs_for_indentation() {
    assert_error(
        &[(
            "a.yaml",
            b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n\tname: x\n",
        )],
        "a.yaml",
        4,
        "YamlSyntax",
    );
}

#[test]
fn duplicate_mapping_key() {
    assert_error(
        &[(
            "a.yaml",
            b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  name: b\n",
        )],
        "a.yaml",
        5,
        "DuplicateKey",
    );
}

#[test]
fn alias_bomb() {
    let mut src = String::from("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: bomb\ndata:\n  a: &a [x,x,x,x,x,x,x,x,x]\n");
    let names = ["a", "b", "c", "d", "e", "f", "g", "h"];
    for w in names.windows(2) {
        src.push_str(&format!(
            "  {}: &{} [{}]\n",
            w[1],
            w[1],
            vec![format!("*{}", w[0]); 9].join(",")
        ));
    }
    let dir = tree(&[("bomb.yaml", src.as_bytes())]);
    let out = render(dir.path(), &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("error[AliasBudget]"));
}

#[test]
fn document_not_a_mapping() {
    assert_error(
        &[("a.yaml", b"- just\n- a list\n")],
        "a.yaml",
        1,
        "NotAnObject",
    );
}

#[test]
fn missing_identity_fields() {
    let e = assert_error(
        &[("a.yaml", b"kind: ConfigMap\nmetadata:\n  name: x\n")],
        "a.yaml",
        1,
        "MissingField",
    );
    assert!(e.contains("apiVersion"), "{e}");
    assert_error(
        &[(
            "a.yaml",
            b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  labels: {}\n",
        )],
        "a.yaml",
        4,
        "MissingField",
    );
    assert_error(
        &[("a.yaml", b"apiVersion: v1\nmetadata:\n  name: x\n")],
        "a.yaml",
        1,
        "MissingField",
    );
}

#[test]
fn same_object_twice() {
    let cm = b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  namespace: team\n";
    let e = assert_error(
        &[("a.yaml", cm), ("b.yaml", cm)],
        "b.yaml",
        1,
        "DuplicateObject",
    );
    assert!(
        e.contains("a.yaml:1:1"),
        "points at the first definition: {e}"
    );
}

#[test]
fn unsupported_aim_api_version() {
    let doc = b"apiVersion: aim.eai.amd.com/v1beta1\nkind: AIMService\nmetadata:\n  name: s\n  namespace: team\nspec: {}\n";
    let e = assert_error(&[("a.yaml", doc)], "a.yaml", 1, "UnsupportedApiVersion");
    assert!(
        e.contains("aim.eai.amd.com/v1alpha1"),
        "names the supported version: {e}"
    );
}

#[test]
fn field_of_the_wrong_type() {
    let svc = service("  model:\n    name: m\n  replicas: two\n");
    assert_error(&[("s.yaml", svc.as_bytes())], "s.yaml", 9, "WrongType");
}

#[test]
fn yaml_1_1_boolean_in_a_string_field() {
    let svc = service("  model:\n    name: m\n  env:\n    - name: FLAG\n      value: yes\n");
    assert_error(&[("s.yaml", svc.as_bytes())], "s.yaml", 11, "WrongType");
}

#[test]
fn unknown_field_in_aim_spec() {
    let svc = service("  model:\n    name: m\n  replica: 2\n");
    let e = assert_error(&[("s.yaml", svc.as_bytes())], "s.yaml", 9, "UnknownField");
    assert!(e.contains("replica"), "{e}");
}

#[test]
fn missing_namespace_needs_flag_or_env() {
    let cm: &[u8] = b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n";
    assert_error(&[("a.yaml", cm)], "a.yaml", 4, "MissingNamespace");
    let dir = tree(&[("a.yaml", cm)]);
    let out = render(dir.path(), &["--namespace", "apps"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("namespace: apps"));
    let out = Command::cargo_bin("aimc")
        .expect("bin")
        .arg("render")
        .arg(dir.path())
        .env("ARGOCD_APP_NAMESPACE", "argo-dest")
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("namespace: argo-dest"));
}

#[test]
fn invalid_utf8() {
    assert_error(
        &[("bin.yaml", b"apiVersion: v1\nkind: \xff\xfe\n")],
        "bin.yaml",
        2,
        "InvalidUtf8",
    );
}

#[test]
fn runtime_config_not_found() {
    let svc = service("  model:\n    name: m\n  runtimeConfigName: tuned\n");
    let e = assert_error(
        &[
            ("ns.yaml", SVC_NS.as_bytes()),
            ("m.yaml", MODEL.as_bytes()),
            ("s.yaml", svc.as_bytes()),
        ],
        "s.yaml",
        9,
        "ConfigNotFound",
    );
    assert!(e.contains("RuntimeConfig tuned not found"), "{e}");
}

#[test]
fn model_not_found() {
    let svc = service("  model:\n    name: nope\n");
    let e = assert_error(&[("s.yaml", svc.as_bytes())], "s.yaml", 8, "ModelNotFound");
    assert!(
        e.contains("model \"nope\" not found in namespace team or cluster scope"),
        "{e}"
    );
}

#[test]
fn empty_model_selector() {
    let svc = service("  model:\n    name: \"\"\n");
    let e = assert_error(&[("s.yaml", svc.as_bytes())], "s.yaml", 8, "ModelNotFound");
    assert!(e.contains("no model specified in service spec"), "{e}");
}

#[test]
fn several_models_share_an_image() {
    let twin = MODEL
        .replace("name: m\nspec", "name: m2\nspec")
        .replace("name: t\n", "name: t2\n");
    let svc = service("  model:\n    image: ghcr.io/amd/m:1.0\n  template:\n    name: t\n");
    let e = assert_error(
        &[
            ("m.yaml", MODEL.as_bytes()),
            ("m2.yaml", twin.as_bytes()),
            ("s.yaml", svc.as_bytes()),
        ],
        "s.yaml",
        8,
        "MultipleModelsForImage",
    );
    assert!(e.contains("m (cluster), m2 (cluster)"), "{e}");
}

#[test]
fn unparseable_image() {
    let svc = service("  model:\n    image: \":::invalid\"\n  template:\n    name: t\n");
    let e = assert_error(
        &[("m.yaml", MODEL.as_bytes()), ("s.yaml", svc.as_bytes())],
        "s.yaml",
        8,
        "InvalidImageReference",
    );
    assert!(e.contains("image name is empty after sanitization"), "{e}");
}

#[test]
fn explicit_template_not_found() {
    let svc = service("  model:\n    name: m\n  template:\n    name: missing\n");
    let e = assert_error(
        &[("m.yaml", MODEL.as_bytes()), ("s.yaml", svc.as_bytes())],
        "s.yaml",
        10,
        "TemplateNotFound",
    );
    assert!(e.contains("template \"missing\" not found"), "{e}");
}

#[test]
fn overrides_with_namespaced_template_is_template_not_found() {
    let tmpl = "apiVersion: aim.eai.amd.com/v1alpha1\nkind: AIMServiceTemplate\nmetadata:\n  name: my-template\n  namespace: team\nspec:\n  modelName: m\n";
    let svc = service("  model:\n    name: m\n  template:\n    name: my-template\n  overrides:\n    metric: latency\n");
    let e = assert_error(
        &[
            ("m.yaml", MODEL.as_bytes()),
            ("t.yaml", tmpl.as_bytes()),
            ("s.yaml", svc.as_bytes()),
        ],
        "s.yaml",
        10,
        "TemplateNotFound",
    );
    assert!(
        e.contains("template \"my-template-ovr-latency-817c\" not found"),
        "{e}"
    );
}

#[test]
fn ambiguous_selection() {
    let twin = "apiVersion: aim.eai.amd.com/v1alpha1\nkind: AIMClusterServiceTemplate\nmetadata:\n  name: t-twin\nspec:\n  modelName: m\n  type: optimized\n  hardware:\n    gpu: {requests: 2, model: MI300X}\n  modelSources: [{modelId: org/m, sourceUri: hf://org/m, size: 1Gi}]\n";
    let svc = service("  model:\n    name: m\n");
    let e = assert_error(
        &[
            ("m.yaml", MODEL.as_bytes()),
            ("t2.yaml", twin.as_bytes()),
            ("s.yaml", svc.as_bytes()),
        ],
        "s.yaml",
        7,
        "TemplateSelectionAmbiguous",
    );
    assert!(e.contains("t, t-twin"), "{e}");
}

#[test]
fn model_without_templates_needs_image_metadata() {
    let svc = service("  model:\n    image: ghcr.io/amd/other:2.0\n");
    let e = assert_error(
        &[("s.yaml", svc.as_bytes())],
        "s.yaml",
        7,
        "NeedsImageMetadata",
    );
    assert!(e.contains("needs image metadata"), "{e}");
}

#[test]
fn gateway_not_configured() {
    let svc = service("  model:\n    name: m\n  routing:\n    enabled: true\n");
    assert_error(
        &[("m.yaml", MODEL.as_bytes()), ("s.yaml", svc.as_bytes())],
        "s.yaml",
        10,
        "GatewayNotConfigured",
    );
}

#[test]
fn null_engine_args_is_an_error_not_a_panic() {
    let rc = "apiVersion: aim.eai.amd.com/v1alpha1\nkind: AIMClusterRuntimeConfig\nmetadata:\n  name: default\nspec:\n  env:\n    - name: AIM_ENGINE_ARGS\n      value: \"null\"\n";
    let svc = service(
        "  model:\n    name: m\n  env:\n    - name: AIM_ENGINE_ARGS\n      value: '{\"a\":1}'\n",
    );
    assert_error(
        &[
            ("m.yaml", MODEL.as_bytes()),
            ("rc.yaml", rc.as_bytes()),
            ("s.yaml", svc.as_bytes()),
        ],
        "s.yaml",
        1,
        "EngineArgsMerge",
    );
}

#[test]
fn namespace_too_long() {
    let ns = "a2345678901234567890123456789012345678901x3";
    let svc = format!("apiVersion: aim.eai.amd.com/v1alpha1\nkind: AIMService\nmetadata:\n  name: a\n  namespace: {ns}\nspec:\n  model:\n    name: m\n");
    let e = assert_error(
        &[("m.yaml", MODEL.as_bytes()), ("s.yaml", svc.as_bytes())],
        "s.yaml",
        5,
        "NamespaceTooLong",
    );
    assert!(e.contains("is too long (43 chars)"), "{e}");
}

#[test]
fn missing_secret_warns_and_strict_fails() {
    let svc = service("  model:\n    name: m\n  imagePullSecrets:\n    - name: regcred\n");
    let dir = tree(&[("m.yaml", MODEL.as_bytes()), ("s.yaml", svc.as_bytes())]);
    let out = render(dir.path(), &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("s.yaml:10:13: warning[SecretNotFound]"),
        "{stderr}"
    );
    assert!(
        stderr.contains("\"regcred\"") && stderr.contains("\"team\""),
        "{stderr}"
    );
    assert!(!out.stdout.is_empty());

    let out = render(dir.path(), &["--strict"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("error[SecretNotFound]"));

    let declared = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: regcred\n  namespace: team\ntype: kubernetes.io/dockerconfigjson\n";
    let dir = tree(&[
        ("m.yaml", MODEL.as_bytes()),
        ("s.yaml", svc.as_bytes()),
        ("sec.yaml", declared.as_bytes()),
    ]);
    let out = render(dir.path(), &["--strict"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let cfg = "externalSecrets:\n  team: [regcred]\n";
    let dir = tree(&[
        ("m.yaml", MODEL.as_bytes()),
        ("s.yaml", svc.as_bytes()),
        ("aimc.yaml", cfg.as_bytes()),
    ]);
    assert_eq!(render(dir.path(), &["--strict"]).status.code(), Some(0));
}

#[test]
fn unknown_key_in_aimc_yaml() {
    assert_error(
        &[("aimc.yaml", b"operatorNamespace: x\nexternalSecret: {}\n")],
        "aimc.yaml",
        2,
        "InvalidConfig",
    );
}

#[test]
fn usage_and_io_errors_exit_2() {
    let out = Command::cargo_bin("aimc")
        .expect("bin")
        .args(["render", "--emit", "everything"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let out = Command::cargo_bin("aimc")
        .expect("bin")
        .args(["render", "/nonexistent/aimc-tree"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
}

#[test]
fn one_bad_file_means_no_output_at_all() {
    let good = b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ok\n  namespace: team\n";
    assert_error(
        &[
            ("a-good.yaml", good),
            (
                "b-bad.yaml",
                b"apiVersion: v1\nkind: ConfigMap\nmetadata: [\n",
            ),
        ],
        "b-bad.yaml",
        3,
        "YamlSyntax",
    );
}

#[test]
fn renders_to_an_output_directory() {
    let svc = service("  model:\n    name: m\n");
    let dir = tree(&[
        ("ns.yaml", SVC_NS.as_bytes()),
        ("m.yaml", MODEL.as_bytes()),
        ("s.yaml", svc.as_bytes()),
    ]);
    let out_dir = tempfile::tempdir().expect("tempdir");
    let out = render(dir.path(), &["-o", out_dir.path().to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stdout.is_empty());
    let mut kinds: Vec<String> = std::fs::read_dir(out_dir.path().join("team"))
        .expect("team dir")
        .map(|e| {
            e.expect("entry")
                .file_name()
                .to_string_lossy()
                .split('-')
                .next()
                .unwrap_or("")
                .to_owned()
        })
        .collect();
    kinds.sort();
    assert_eq!(kinds, ["inferenceservice", "job", "persistentvolumeclaim"]);
    let isvc = aimc::naming::isvc_name("s", "team").expect("name");
    assert!(out_dir
        .path()
        .join(format!("team/inferenceservice-{isvc}.yaml"))
        .is_file());
    assert!(out_dir
        .path()
        .join("_cluster/namespace-team.yaml")
        .is_file());
    assert!(out_dir.path().join(".aimc-output").is_file(), "marker");
}

/// The files below `dir` (relative, sorted) with their bytes.
fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = walk(dir)
        .into_iter()
        .map(|p| {
            let rel = p
                .strip_prefix(dir)
                .expect("below")
                .to_string_lossy()
                .into_owned();
            (rel, std::fs::read(&p).expect("read"))
        })
        .collect();
    out.sort();
    out
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for e in std::fs::read_dir(dir).expect("dir") {
        let p = e.expect("entry").path();
        if p.is_dir() {
            files.extend(walk(&p));
        } else {
            files.push(p);
        }
    }
    files
}

#[test]
fn output_directory_holds_exactly_this_runs_objects() {
    let svc = |name: &str| {
        format!("apiVersion: aim.eai.amd.com/v1alpha1\nkind: AIMService\nmetadata:\n  name: {name}\n  namespace: team\nspec:\n  model:\n    name: m\n")
    };
    let work = tempfile::tempdir().expect("tempdir");
    let out = work.path().join("out");
    let o = out.to_str().expect("utf-8");
    let two = tree(&[
        ("m.yaml", MODEL.as_bytes()),
        ("a.yaml", svc("a").as_bytes()),
        ("b.yaml", svc("b").as_bytes()),
    ]);
    assert_eq!(render(two.path(), &["-o", o]).status.code(), Some(0));
    let before = snapshot(&out);
    assert!(
        before
            .iter()
            .any(|(p, _)| p.contains("inferenceservice-b-")),
        "{before:?}"
    );

    // One service fewer: its files go, nothing else is left beside the output.
    let one = tree(&[
        ("m.yaml", MODEL.as_bytes()),
        ("a.yaml", svc("a").as_bytes()),
    ]);
    assert_eq!(render(one.path(), &["-o", o]).status.code(), Some(0));
    let after = snapshot(&out);
    assert!(
        !after.iter().any(|(p, _)| p.contains("-b-")),
        "stale files remain: {after:?}"
    );
    assert!(after.iter().any(|(p, _)| p.contains("inferenceservice-a-")));
    let siblings: Vec<_> = std::fs::read_dir(work.path())
        .expect("list")
        .map(|e| e.expect("e").file_name())
        .collect();
    assert_eq!(
        siblings,
        ["out"],
        "no temporary directory left beside the output"
    );

    // A run with an error leaves the previous output byte for byte.
    let broken = tree(&[
        ("m.yaml", MODEL.as_bytes()),
        ("a.yaml", b"apiVersion: v1\nkind: [\n"),
    ]);
    assert_eq!(render(broken.path(), &["-o", o]).status.code(), Some(1));
    assert_eq!(snapshot(&out), after);
}

#[test]
fn output_directory_not_written_by_aimc_is_refused_and_untouched() {
    let src = tree(&[
        ("m.yaml", MODEL.as_bytes()),
        ("s.yaml", service("  model:\n    name: m\n").as_bytes()),
    ]);
    let work = tempfile::tempdir().expect("tempdir");
    let foreign = work.path().join("docs");
    std::fs::create_dir_all(foreign.join("sub")).expect("mkdir");
    std::fs::write(foreign.join("sub/notes.md"), "mine").expect("write");
    let before = snapshot(&foreign);
    let out = render(src.path(), &["-o", foreign.to_str().expect("utf-8")]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("was not written by aimc") && stderr.contains(".aimc-output"),
        "{stderr}"
    );
    assert_eq!(snapshot(&foreign), before);
    let siblings: Vec<_> = std::fs::read_dir(work.path()).expect("list").collect();
    assert_eq!(siblings.len(), 1, "nothing written beside it");

    // An empty directory is fine.
    let empty = work.path().join("empty");
    std::fs::create_dir(&empty).expect("mkdir");
    assert_eq!(
        render(src.path(), &["-o", empty.to_str().expect("utf-8")])
            .status
            .code(),
        Some(0)
    );
}

#[test]
fn output_is_never_read_back_as_input() {
    let src = tree(&[
        ("ns.yaml", SVC_NS.as_bytes()),
        ("m.yaml", MODEL.as_bytes()),
        ("s.yaml", service("  model:\n    name: m\n").as_bytes()),
    ]);
    let first = render(src.path(), &[]);
    assert_eq!(first.status.code(), Some(0));
    let golden = src.path().join("golden");
    assert_eq!(
        render(src.path(), &["-o", golden.to_str().expect("utf-8")])
            .status
            .code(),
        Some(0)
    );
    // The same tree again, output inside it: same stream, and an info naming the directory.
    let again = render(src.path(), &[]);
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert_eq!(again.status.code(), Some(0), "{stderr}");
    assert_eq!(again.stdout, first.stdout);
    assert!(
        stderr.contains("golden/.aimc-output:1:1: info[OutputDirSkipped]"),
        "{stderr}"
    );
    let v = Command::cargo_bin("aimc")
        .expect("binary")
        .args(["validate", "--format", "json"])
        .arg(src.path())
        .env_remove("ARGOCD_ENV_AIMC_STRICT")
        .output()
        .expect("runs");
    let report = String::from_utf8_lossy(&v.stdout);
    assert_eq!(v.status.code(), Some(0), "{report}");
    assert!(
        report.contains("OutputDirSkipped") && !report.contains("DuplicateObject"),
        "{report}"
    );
}

#[test]
fn output_is_byte_identical_at_any_thread_count() {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    for ex in [
        "private-registries",
        "multi-tenant",
        "routing",
        "auto-selection",
    ] {
        let run = |threads: &str| {
            Command::cargo_bin("aimc")
                .expect("bin")
                .arg("render")
                .arg(examples.join(ex))
                .env("AIMC_THREADS", threads)
                .env_remove("ARGOCD_APP_NAMESPACE")
                .output()
                .expect("runs")
        };
        let one = run("1");
        assert_eq!(one.status.code(), Some(0), "{ex}");
        for threads in ["2", "7"] {
            let other = run(threads);
            assert_eq!(
                one.stdout, other.stdout,
                "{ex}: stdout differs with {threads} threads"
            );
            assert_eq!(
                one.stderr, other.stderr,
                "{ex}: diagnostics differ with {threads} threads"
            );
        }
    }
}

/// A template without inline sources, for the missing-fact tests.
const DISCOVERED: &str = "apiVersion: aim.eai.amd.com/v1alpha1
kind: AIMClusterModel
metadata:
  name: d
spec:
  image: ghcr.io/amd/d:1.0
  discovery: {createServiceTemplates: false}
---
apiVersion: aim.eai.amd.com/v1alpha1
kind: AIMClusterServiceTemplate
metadata:
  name: dt
spec:
  modelName: d
  type: optimized
  hardware:
    gpu: {requests: 1, model: MI300X}
";

#[test]
fn template_without_sources_needs_discovery() {
    let svc = service("  model:\n    name: d\n  template:\n    name: dt\n");
    let e = assert_error(
        &[
            ("d.yaml", DISCOVERED.as_bytes()),
            ("s.yaml", svc.as_bytes()),
        ],
        "s.yaml",
        10,
        "NeedsDiscovery",
    );
    assert!(
        e.contains("needs discovery")
            && e.contains("spec.modelSources")
            && e.contains("aim.lock.yaml"),
        "names both fixes: {e}"
    );
}

#[test]
fn source_without_size_is_unknown_size() {
    let svc = service("  model:\n    name: d\n  template:\n    name: dt\n");
    let lock = "discovery:\n  - template: dt\n    modelSources: [{modelId: org/d, sourceUri: hf://org/d}]\n    profile: {metadata: {gpuCount: 1}}\n";
    let dir = tree(&[
        ("d.yaml", DISCOVERED.as_bytes()),
        ("s.yaml", svc.as_bytes()),
        ("aim.lock.yaml", lock.as_bytes()),
    ]);
    let out = render(dir.path(), &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(out.stdout.is_empty());
    assert!(
        stderr.contains("error[UnknownSize]")
            && stderr.contains("hf://org/d")
            && stderr.contains("aimc lock"),
        "{stderr}"
    );
    // `aim` output needs no PVC, so no size.
    let out = render(dir.path(), &["--emit", "aim"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // A lock-file size fixes it.
    let sized = format!("{lock}sizes:\n  hf://org/d: 1Gi\n");
    let dir = tree(&[
        ("d.yaml", DISCOVERED.as_bytes()),
        ("s.yaml", svc.as_bytes()),
        ("aim.lock.yaml", sized.as_bytes()),
    ]);
    let out = render(dir.path(), &[]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("storage: 2Gi"));
}

#[test]
fn min_vram_without_nodes_needs_gpu_inventory() {
    let t = DISCOVERED.replace(
        "gpu: {requests: 1, model: MI300X}",
        "gpu: {requests: 1, minVram: 64Gi}",
    ) + "  modelSources: [{modelId: org/d, sourceUri: hf://org/d, size: 1Gi}]\n";
    let svc = service("  model:\n    name: d\n  template:\n    name: dt\n");
    let e = assert_error(
        &[("d.yaml", t.as_bytes()), ("s.yaml", svc.as_bytes())],
        "s.yaml",
        10,
        "NeedsGpuInventory",
    );
    assert!(e.contains("needs GPU inventory"), "{e}");
}

#[test]
fn lock_file_problems() {
    assert_error(
        &[("aim.lock.yaml", b"discovery: []\nsize: {}\n")],
        "aim.lock.yaml",
        2,
        "InvalidLockFile",
    );
    let lock =
        "discovery:\n  - template: gone\n    modelSources: []\n    profile: {metadata: {}}\n";
    let dir = tree(&[("aim.lock.yaml", lock.as_bytes())]);
    let out = render(dir.path(), &[]);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("aim.lock.yaml:2:5: warning[StaleLockEntry]"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stale = "discovery:\n  - template: dt\n    specHash: \"0000000000000000\"\n    modelSources: [{modelId: org/d, sourceUri: hf://org/d, size: 1Gi}]\n    profile: {metadata: {}}\n";
    let dir = tree(&[
        ("d.yaml", DISCOVERED.as_bytes()),
        ("aim.lock.yaml", stale.as_bytes()),
    ]);
    let out = render(dir.path(), &[]);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("warning[StaleLockEntry]"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn wildcard_model_source_needs_registry_listing() {
    let src = "apiVersion: aim.eai.amd.com/v1alpha1\nkind: AIMClusterModelSource\nmetadata:\n  name: amd\nspec:\n  filters:\n    - image: amdenterpriseai/aim-qwen-qwen3-32b:0.8.5\n    - image: amdenterpriseai/aim-*\n";
    let e = assert_error(
        &[("src.yaml", src.as_bytes())],
        "src.yaml",
        8,
        "NeedsRegistryListing",
    );
    assert!(
        e.contains("needs registry listing") && e.contains("aimc lock"),
        "names both fixes: {e}"
    );
    let lock = "registryListings:\n  amd:\n    - {registry: docker.io, repository: amdenterpriseai/aim-x, tag: 0.1.0}\n";
    let dir = tree(&[
        ("src.yaml", src.as_bytes()),
        ("aim.lock.yaml", lock.as_bytes()),
    ]);
    let out = render(dir.path(), &["--emit", "all"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("image: amdenterpriseai/aim-x:0.1.0")
            && stdout.contains("image: amdenterpriseai/aim-qwen-qwen3-32b:0.8.5"),
        "{stdout}"
    );
}

#[test]
fn aim_output_does_not_need_cluster_facts() {
    let svc = service("  model:\n    name: d\n  template:\n    name: dt\n");
    let dir = tree(&[
        ("d.yaml", DISCOVERED.as_bytes()),
        ("s.yaml", svc.as_bytes()),
    ]);
    let out = render(dir.path(), &["--emit", "aim"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("info[NeedsDiscovery]"), "{stderr}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("kind: AIMService"));
    // A real input error is still an error.
    let bad = service("  model:\n    name: nope\n");
    let dir = tree(&[("s.yaml", bad.as_bytes())]);
    assert_eq!(
        render(dir.path(), &["--emit", "aim"]).status.code(),
        Some(1)
    );
}

#[test]
fn a_template_cache_naming_a_missing_template_is_an_error() {
    let cache = "apiVersion: aim.eai.amd.com/v1alpha1
kind: AIMTemplateCache
metadata:
  name: warm
  namespace: team
spec:
  templateName: no-such-template
  templateScope: Cluster
";
    let e = assert_error(
        &[
            ("ns.yaml", SVC_NS.as_bytes()),
            ("m.yaml", MODEL.as_bytes()),
            ("cache.yaml", cache.as_bytes()),
        ],
        "cache.yaml",
        7,
        "ReferenceNotFound",
    );
    assert!(
        e.contains("AIMTemplateCache team/warm names template \"no-such-template\", which does not exist as an AIMClusterServiceTemplate"),
        "{e}"
    );
    // The template it names exists: no error.
    let ok = cache.replace("no-such-template", "t");
    let dir = tree(&[
        ("ns.yaml", SVC_NS.as_bytes()),
        ("m.yaml", MODEL.as_bytes()),
        ("cache.yaml", ok.as_bytes()),
    ]);
    assert_eq!(render(dir.path(), &[]).status.code(), Some(0));
}

#[test]
fn a_paused_service_renders_none_of_its_children() {
    let live = service("  model:\n    name: m\n");
    let paused = live.replacen(
        "metadata:\n",
        "metadata:\n  annotations:\n    aim.eai.amd.com/reconciliation-paused: \"true\"\n",
        1,
    );
    assert_ne!(paused, live);
    let files = |svc: &str| {
        tree(&[
            ("ns.yaml", SVC_NS.as_bytes()),
            ("m.yaml", MODEL.as_bytes()),
            ("s.yaml", svc.as_bytes()),
        ])
    };
    let dir = files(&live);
    let out = render(dir.path(), &[]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("kind: InferenceService"));

    let dir = files(&paused);
    let out = render(dir.path(), &["--emit", "all"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    for child in [
        "kind: InferenceService",
        "kind: HTTPRoute",
        "kind: AIMTemplateCache",
        "kind: PersistentVolumeClaim",
        "kind: Job",
    ] {
        assert!(!stdout.contains(child), "{child}:\n{stdout}");
    }
    assert!(
        stderr.contains("s.yaml:5:44: info[ReconciliationPaused]: AIMService/team/s has aim.eai.amd.com/reconciliation-paused: \"true\""),
        "{stderr}"
    );
}

#[test]
fn a_paused_model_generates_no_templates_and_a_paused_cache_no_artifacts() {
    let model = "apiVersion: aim.eai.amd.com/v1alpha1
kind: AIMClusterModel
metadata:
  name: gen
  annotations: {aim.eai.amd.com/reconciliation-paused: \"true\"}
spec:
  image: ghcr.io/amd/gen:1.0
  imageMetadata:
    model:
      recommendedDeployments: [{gpuModel: MI300X, gpuCount: 1, metric: latency, precision: fp16}]
";
    let cache = "apiVersion: aim.eai.amd.com/v1alpha1
kind: AIMTemplateCache
metadata:
  name: warm
  namespace: team
  annotations: {aim.eai.amd.com/reconciliation-paused: \"true\"}
spec:
  templateName: t
  templateScope: Cluster
";
    let dir = tree(&[
        ("ns.yaml", SVC_NS.as_bytes()),
        ("m.yaml", MODEL.as_bytes()),
        ("gen.yaml", model.as_bytes()),
        ("cache.yaml", cache.as_bytes()),
    ]);
    let out = render(dir.path(), &["--emit", "all"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        !stdout.contains("modelName: gen\n"),
        "a paused model's template: {stdout}"
    );
    assert!(!stdout.contains("kind: PersistentVolumeClaim"), "{stdout}");
    assert_eq!(
        stderr.matches("info[ReconciliationPaused]").count(),
        2,
        "{stderr}"
    );

    // Unpaused, the same model generates a template and the cache an artifact.
    let live_model = model.replace(
        "  annotations: {aim.eai.amd.com/reconciliation-paused: \"true\"}\n",
        "",
    );
    let live_cache = cache.replace(
        "  annotations: {aim.eai.amd.com/reconciliation-paused: \"true\"}\n",
        "",
    );
    let dir = tree(&[
        ("ns.yaml", SVC_NS.as_bytes()),
        ("m.yaml", MODEL.as_bytes()),
        ("gen.yaml", live_model.as_bytes()),
        ("cache.yaml", live_cache.as_bytes()),
    ]);
    let out = render(dir.path(), &["--emit", "all"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("kind: PersistentVolumeClaim"), "{stdout}");
    assert!(
        stdout.contains("modelName: gen\n"),
        "the model's generated template: {stdout}"
    );
}

/// An image recommending MI325X and MI300X, with the MI300X template's discovery locked.
const GATE_TREE: &str = "apiVersion: aim.eai.amd.com/v1alpha1
kind: AIMClusterModel
metadata:
  name: llama
spec:
  image: ghcr.io/amd/llama:1.0
  imageMetadata:
    model:
      recommendedDeployments:
        - {gpuModel: MI325X, gpuCount: 1, metric: latency, precision: fp8}
        - {gpuModel: MI300X, gpuCount: 1, metric: latency, precision: fp8}
---
apiVersion: aim.eai.amd.com/v1alpha1
kind: AIMService
metadata:
  name: chat
  namespace: team
spec:
  model: {name: llama}
";
const GATE_LOCK: &str = "discovery:
  - template: ghcr-io-amd-llama-1-0-1x-mi300x-lat-fp8-937b
    modelSources:
      - {modelId: org/llama, sourceUri: hf://org/llama, size: 16Gi}
    profile:
      metadata: {engine: vllm, gpu: MI300X, gpuCount: 1, metric: latency, precision: fp8, type: optimized}
";
const MI300X_NODE: &str = "apiVersion: v1\nkind: Node\nmetadata:\n  name: n1\n  labels:\n    amd.com/gpu.device-id: \"74a1\"\n";

#[test]
fn a_template_whose_gpu_the_cluster_lacks_needs_no_discovery() {
    let dir = tree(&[
        ("ns.yaml", SVC_NS.as_bytes()),
        ("nodes.yaml", MI300X_NODE.as_bytes()),
        ("tree.yaml", GATE_TREE.as_bytes()),
        ("aim.lock.yaml", GATE_LOCK.as_bytes()),
    ]);
    let out = render(dir.path(), &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("NeedsDiscovery"), "{stderr}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("kind: InferenceService"));

    // Without Node inventory every GPU counts as present: the MI325X template needs its
    // discovery as before.
    let dir = tree(&[
        ("ns.yaml", SVC_NS.as_bytes()),
        ("tree.yaml", GATE_TREE.as_bytes()),
        ("aim.lock.yaml", GATE_LOCK.as_bytes()),
    ]);
    let out = render(dir.path(), &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("error[NeedsDiscovery]: AIMClusterServiceTemplate ghcr-io-amd-llama-1-0-1x-mi325x-lat-fp8-d3dd"), "{stderr}");
}
