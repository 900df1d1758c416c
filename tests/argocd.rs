//! aimc as Argo CD's Config Management Plugin: the files in deploy/argocd/, and the binary run
//! the way the repo-server's sidecar runs it — in the app's directory, with nothing but the
//! plugin environment, no stdin, and plugin.yaml's generate command.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const MARKER: &str = "SUPERSECRET-MARKER";

/// Every API the examples' output needs, in Argo CD's form (group/version and
/// group/version/Kind, discovery order).
const ALL_APIS: &str =
    "v1,v1/Namespace,v1/Secret,v1/PersistentVolumeClaim,apps/v1,batch/v1,batch/v1/Job,\
bitnami.com/v1alpha1,bitnami.com/v1alpha1/SealedSecret,serving.kserve.io/v1beta1,\
serving.kserve.io/v1beta1/InferenceService,gateway.networking.k8s.io/v1,\
gateway.networking.k8s.io/v1/HTTPRoute,gateway.networking.k8s.io/v1/Gateway";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn yaml(rel: &str) -> Value {
    let text = std::fs::read_to_string(root().join(rel)).expect(rel);
    serde_saphyr::from_str(&text).expect(rel)
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .expect("a list")
        .iter()
        .map(|s| s.as_str().expect("a string").to_owned())
        .collect()
}

/// plugin.yaml's generate command and args, as the cmp-server runs them.
fn generate_argv() -> Vec<String> {
    let plugin = yaml("deploy/argocd/plugin.yaml");
    let generate = &plugin["spec"]["generate"];
    let mut argv = strings(&generate["command"]);
    argv.extend(strings(&generate["args"]));
    argv
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("readable") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).expect("copy");
        }
    }
}

/// The example copied into a fresh directory, as the cmp-server unpacks an app's tarball.
fn app(example: &str) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("repo").join("apps").join(example);
    copy_tree(&root().join("examples").join(example), &dir);
    (tmp, dir)
}

/// PATH holding the aimc under test, so `aimc` resolves as in the sidecar image.
fn plugin_path() -> String {
    let bin = Path::new(env!("CARGO_BIN_EXE_aimc"));
    let dir = bin.parent().expect("bin dir");
    format!("{}:/usr/bin:/bin", dir.display())
}

/// Runs plugin.yaml's generate command in `dir` with only the plugin environment.
fn run_plugin(dir: &Path, example: &str, api_versions: &str) -> Output {
    let argv = generate_argv();
    Command::new(&argv[0])
        .args(&argv[1..])
        .current_dir(dir)
        .env_clear()
        .env("PATH", plugin_path())
        .env("ARGOCD_APP_NAME", example)
        .env("ARGOCD_APP_NAMESPACE", "team-a")
        .env("ARGOCD_APP_PROJECT_NAME", "default")
        .env("ARGOCD_APP_SOURCE_PATH", format!("apps/{example}"))
        .env(
            "ARGOCD_APP_REVISION",
            "0123456789abcdef0123456789abcdef01234567",
        )
        .env("KUBE_VERSION", "v1.33.0")
        .env("KUBE_API_VERSIONS", api_versions)
        .stdin(Stdio::null())
        .output()
        .expect("the plugin command runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

const SECRET: &str = "apiVersion: v1
kind: Secret
metadata:
  name: hf-token
  namespace: team-b
stringData:
  token: SUPERSECRET-MARKER
";

#[test]
fn renders_a_manifest_stream_without_leaking_secrets() {
    let (_tmp, dir) = app("multi-tenant");
    std::fs::write(dir.join("team-b-secret.yaml"), SECRET).expect("write");
    let out = run_plugin(&dir, "multi-tenant", ALL_APIS);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "stderr:\n{stderr}");
    assert!(
        !stderr.contains(MARKER),
        "secret value on stderr:\n{stderr}"
    );

    let objects: Vec<Value> = serde_saphyr::from_multiple(&stdout).expect("a YAML stream");
    assert!(objects.len() >= 10, "{} objects", objects.len());
    for o in &objects {
        for field in ["apiVersion", "kind"] {
            assert!(o[field].as_str().is_some_and(|s| !s.is_empty()), "{o}");
        }
        assert!(o["metadata"]["name"].as_str().is_some(), "{o}");
        assert_ne!(o["kind"], "List", "Argo CD does not unpack a List");
    }
    for kind in ["InferenceService", "HTTPRoute", "Secret"] {
        assert!(objects.iter().any(|o| o["kind"] == kind), "no {kind}");
    }
}

#[test]
fn a_broken_tree_exits_non_zero_with_nothing_on_stdout() {
    let (_tmp, dir) = app("multi-tenant");
    // A secret whose YAML breaks right at its value: the diagnostic points there without
    // quoting it.
    let broken = "apiVersion: v1\nkind: Secret\nmetadata: {name: leak, namespace: team-a}\n\
                  stringData:\n  token: \"SUPERSECRET-MARKER\n";
    std::fs::write(dir.join("zz-broken.yaml"), broken).expect("write");
    let out = run_plugin(&dir, "multi-tenant", ALL_APIS);
    let stderr = text(&out.stderr);
    assert_ne!(out.status.code(), Some(0), "stderr:\n{stderr}");
    assert!(
        out.stdout.is_empty(),
        "partial stream:\n{}",
        text(&out.stdout)
    );
    assert!(stderr.contains("zz-broken.yaml:5:"), "{stderr}");
    assert!(
        !stderr.contains(MARKER),
        "secret value on stderr:\n{stderr}"
    );
}

#[test]
fn routes_for_a_cluster_without_gateway_api_are_an_error() {
    let (_tmp, dir) = app("routing");
    let without_gateway = "v1,batch/v1,serving.kserve.io/v1beta1,\
                           serving.kserve.io/v1beta1/InferenceService";
    let out = run_plugin(&dir, "routing", without_gateway);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "stderr:\n{stderr}");
    assert!(out.stdout.is_empty(), "{}", text(&out.stdout));
    assert!(
        stderr.contains("error[ApiNotAvailable]: HTTPRoute"),
        "{stderr}"
    );
    assert!(stderr.contains("gateway.networking.k8s.io/v1"), "{stderr}");
    // With the API present the same app renders.
    let out = run_plugin(&dir, "routing", ALL_APIS);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

#[test]
fn inference_services_for_a_cluster_without_kserve_are_an_error() {
    let (_tmp, dir) = app("routing");
    let out = run_plugin(&dir, "routing", "v1,batch/v1,gateway.networking.k8s.io/v1");
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "stderr:\n{stderr}");
    assert!(out.stdout.is_empty());
    assert!(
        stderr.contains("error[ApiNotAvailable]: InferenceService"),
        "{stderr}"
    );
}

#[test]
fn empty_kube_variables_mean_unknown() {
    // Argo CD sets both, empty, when it does not know the destination cluster yet.
    let (_tmp, dir) = app("routing");
    let argv = generate_argv();
    let out = Command::new(&argv[0])
        .args(&argv[1..])
        .current_dir(&dir)
        .env_clear()
        .env("PATH", plugin_path())
        .env("KUBE_VERSION", "")
        .env("KUBE_API_VERSIONS", "")
        .stdin(Stdio::null())
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(!out.stdout.is_empty());
}

#[test]
fn a_malformed_kube_version_is_a_usage_error() {
    let (_tmp, dir) = app("routing");
    let argv = generate_argv();
    let out = Command::new(&argv[0])
        .args(&argv[1..])
        .current_dir(&dir)
        .env_clear()
        .env("PATH", plugin_path())
        .env("KUBE_VERSION", "latest")
        .stdin(Stdio::null())
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    assert!(text(&out.stderr).contains("not a Kubernetes version"));
}

#[test]
fn ci_reproduces_a_plugin_run_byte_for_byte_with_the_flag_twins() {
    let (_tmp, dir) = app("multi-tenant");
    let plugin = run_plugin(&dir, "multi-tenant", ALL_APIS);
    assert_eq!(plugin.status.code(), Some(0), "{}", text(&plugin.stderr));
    let ci = Command::new(env!("CARGO_BIN_EXE_aimc"))
        .arg("render")
        .arg(&dir)
        .args(["--namespace", "team-a", "--kube-version", "v1.33.0"])
        .args(["--api-versions", ALL_APIS])
        .env_clear()
        .stdin(Stdio::null())
        .output()
        .expect("runs");
    assert_eq!(ci.status.code(), Some(0), "{}", text(&ci.stderr));
    assert_eq!(text(&plugin.stdout), text(&ci.stdout));
    // The flag twin of KUBE_API_VERSIONS checks the same way.
    let ci = Command::new(env!("CARGO_BIN_EXE_aimc"))
        .arg("render")
        .arg(&dir)
        .args(["--api-versions", "v1,batch/v1"])
        .env_clear()
        .output()
        .expect("runs");
    assert_eq!(ci.status.code(), Some(1));
    assert!(text(&ci.stderr).contains("ApiNotAvailable"));
}

// --- the files in deploy/argocd/ ------------------------------------------------------------

#[test]
fn plugin_yaml_follows_the_cmp_contract() {
    let p = yaml("deploy/argocd/plugin.yaml");
    assert_eq!(p["apiVersion"], "argoproj.io/v1alpha1");
    assert_eq!(p["kind"], "ConfigManagementPlugin");
    assert_eq!(p["metadata"]["name"], "aimc");
    assert!(p["spec"]["version"].as_str().is_some_and(|v| !v.is_empty()));
    assert_eq!(generate_argv(), ["aimc", "render", "."]);
    assert_eq!(p["spec"]["discover"]["fileName"], "aimc.yaml");
    assert_eq!(p["spec"]["preserveFileMode"], false);
}

#[test]
fn the_configmap_carries_plugin_yaml() {
    let cm = yaml("deploy/argocd/cmp-plugin.yaml");
    assert_eq!(
        (cm["apiVersion"].as_str(), cm["kind"].as_str()),
        (Some("v1"), Some("ConfigMap"))
    );
    let embedded: Value =
        serde_saphyr::from_str(cm["data"]["plugin.yaml"].as_str().expect("plugin.yaml key"))
            .expect("YAML");
    assert_eq!(embedded, yaml("deploy/argocd/plugin.yaml"));
}

const CONFIG_PATH: &str = "/home/argocd/cmp-server/config/plugin.yaml";

/// Checks the sidecar contract on a container and returns its mounts as (volume, path).
fn check_sidecar(c: &Value) -> Vec<(String, String)> {
    assert_eq!(
        strings(&c["command"]),
        ["/var/run/argocd/argocd-cmp-server"]
    );
    assert_eq!(c["securityContext"]["runAsUser"], 999);
    assert_eq!(c["securityContext"]["runAsNonRoot"], true);
    let mounts: Vec<(String, String)> = c["volumeMounts"]
        .as_array()
        .expect("mounts")
        .iter()
        .map(|m| {
            (
                m["name"].as_str().expect("name").to_owned(),
                m["mountPath"].as_str().expect("path").to_owned(),
            )
        })
        .collect();
    for (volume, path) in [
        ("var-files", "/var/run/argocd"),
        ("plugins", "/home/argocd/cmp-server/plugins"),
    ] {
        assert!(
            mounts.contains(&(volume.to_owned(), path.to_owned())),
            "{volume} at {path}: {mounts:?}"
        );
    }
    assert!(mounts.iter().any(|(_, p)| p == "/tmp"), "own /tmp");
    mounts
}

fn volume_names(volumes: &Value) -> Vec<String> {
    volumes
        .as_array()
        .expect("volumes")
        .iter()
        .map(|v| v["name"].as_str().expect("name").to_owned())
        .collect()
}

#[test]
fn the_repo_server_patch_mounts_the_configmap_as_plugin_yaml() {
    let patch = yaml("deploy/argocd/repo-server-patch.yaml");
    assert_eq!(patch["kind"], "Deployment");
    assert_eq!(patch["metadata"]["name"], "argocd-repo-server");
    let pod = &patch["spec"]["template"]["spec"];
    let sidecar = &pod["containers"][0];
    let mounts = check_sidecar(sidecar);
    let config = sidecar["volumeMounts"]
        .as_array()
        .expect("mounts")
        .iter()
        .find(|m| m["mountPath"] == CONFIG_PATH)
        .expect("plugin.yaml mounted");
    assert_eq!(config["subPath"], "plugin.yaml");
    let volume = pod["volumes"]
        .as_array()
        .expect("volumes")
        .iter()
        .find(|v| v["name"] == config["name"])
        .expect("the mounted volume is declared");
    let cm = yaml("deploy/argocd/cmp-plugin.yaml");
    assert_eq!(volume["configMap"]["name"], cm["metadata"]["name"]);
    // Every other mount is the repo-server's own volume or one the patch adds.
    let declared = volume_names(&pod["volumes"]);
    for (name, _) in mounts {
        assert!(
            declared.contains(&name) || name == "var-files" || name == "plugins",
            "{name} is not a volume"
        );
    }
}

#[test]
fn the_kustomization_is_a_component_with_both_files() {
    let k = yaml("deploy/argocd/kustomization.yaml");
    assert_eq!(k["kind"], "Component");
    assert_eq!(strings(&k["resources"]), ["cmp-plugin.yaml"]);
    assert_eq!(k["patches"][0]["path"], "repo-server-patch.yaml");
}

#[test]
fn helm_values_add_the_same_sidecar() {
    let values = yaml("deploy/argocd/values-argo-cd.yaml");
    let sidecar = &values["repoServer"]["extraContainers"][0];
    let mounts = check_sidecar(sidecar);
    let patch = yaml("deploy/argocd/repo-server-patch.yaml");
    let patched = &patch["spec"]["template"]["spec"]["containers"][0];
    for field in ["name", "image", "command", "securityContext"] {
        assert_eq!(
            sidecar[field], patched[field],
            "{field} differs from the patch"
        );
    }
    let declared = volume_names(&values["repoServer"]["volumes"]);
    for (name, path) in mounts {
        assert!(
            declared.contains(&name) || name == "var-files" || name == "plugins",
            "{name} is not a volume"
        );
        // plugin.yaml comes from the image here.
        assert_ne!(path, CONFIG_PATH);
    }
}

#[test]
fn dockerfile_builds_a_static_sidecar() {
    let text = std::fs::read_to_string(root().join("deploy/argocd/Dockerfile")).expect("read");
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    let froms: Vec<&str> = lines
        .iter()
        .copied()
        .filter(|l| l.starts_with("FROM "))
        .collect();
    assert_eq!(froms.len(), 2, "multi-stage: {froms:?}");
    // The builder is the toolchain Cargo.toml promises.
    let manifest = std::fs::read_to_string(root().join("Cargo.toml")).expect("Cargo.toml");
    let msrv = manifest
        .lines()
        .find_map(|l| l.strip_prefix("rust-version = "))
        .expect("rust-version")
        .trim_matches('"');
    assert!(
        froms[0].starts_with(&format!("FROM rust:{msrv}")),
        "{}",
        froms[0]
    );
    assert!(text.contains("--target x86_64-unknown-linux-musl"));
    assert!(
        froms[1] == "FROM scratch" || froms[1].starts_with("FROM gcr.io/distroless/static"),
        "{}",
        froms[1]
    );
    assert!(lines.contains(&"USER 999"));
    assert!(lines.contains(&r#"ENTRYPOINT ["/var/run/argocd/argocd-cmp-server"]"#));
    assert!(lines.contains(&format!("COPY deploy/argocd/plugin.yaml {CONFIG_PATH}").as_str()));
    // The final stage has no shell: nothing may RUN after the second FROM.
    let final_stage = text.split(froms[1]).nth(1).expect("final stage");
    assert!(!final_stage
        .lines()
        .any(|l| l.trim_start().starts_with("RUN ")));
}
