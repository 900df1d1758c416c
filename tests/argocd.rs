//! aimc as Argo CD's Config Management Plugin: the files in deploy/argocd/, and the binary run
//! the way the repo-server's sidecar runs it — in the app's directory, with nothing but the
//! plugin environment, no stdin, and plugin.yaml's generate command.

mod common;

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

/// The example copied into a fresh directory, as the cmp-server unpacks an app's tarball.
fn app(example: &str) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("repo").join("apps").join(example);
    common::copy_tree(&root().join("examples").join(example), &dir);
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
    for field in ["name", "image", "command", "securityContext", "resources"] {
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

// --- plugin configs ---------------------------------------------------------------------

/// Every YAML file below `rel`, sorted.
fn yaml_files(rel: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = walkdir::WalkDir::new(root().join(rel))
        .into_iter()
        .map(|e| e.expect("readable").into_path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
        .collect();
    files.sort();
    files
}

/// Collects every ConfigManagementPlugin below `v`: a mapping of that kind, or a string that
/// holds one (a ConfigMap's data), as (where, plugin).
fn collect_plugins(at: &str, v: &Value, out: &mut Vec<(String, Value)>) {
    match v {
        Value::Object(_) if v["kind"] == "ConfigManagementPlugin" => {
            out.push((at.to_owned(), v.clone()));
        }
        Value::Object(map) => {
            for (k, child) in map {
                collect_plugins(&format!("{at}.{k}"), child, out);
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                collect_plugins(&format!("{at}[{i}]"), child, out);
            }
        }
        Value::String(s) if s.contains("ConfigManagementPlugin") => {
            let docs: Vec<Value> = serde_saphyr::from_multiple(s).expect("embedded YAML");
            for doc in &docs {
                collect_plugins(at, doc, out);
            }
        }
        _ => {}
    }
}

/// Every plugin config the files under deploy/ define, by name: plugin files, ConfigMaps that
/// carry one as text, and Helm values in the argo-cd chart's `configs.cmp.plugins` form, which
/// the chart turns into a plugin of the entry's name with the entry as its spec.
fn plugin_definitions(name: &str) -> Vec<(String, Value)> {
    let mut found = Vec::new();
    for path in yaml_files("deploy") {
        let rel = path
            .strip_prefix(root())
            .expect("below root")
            .display()
            .to_string();
        let text = std::fs::read_to_string(&path).expect("read");
        let docs: Vec<Value> = serde_saphyr::from_multiple(&text).expect(&rel);
        for doc in &docs {
            collect_plugins(&rel, doc, &mut found);
            if let Some(plugins) = doc["configs"]["cmp"]["plugins"].as_object() {
                for (plugin, spec) in plugins {
                    let as_plugin = serde_json::json!({
                        "apiVersion": "argoproj.io/v1alpha1",
                        "kind": "ConfigManagementPlugin",
                        "metadata": {"name": plugin},
                        "spec": spec,
                    });
                    found.push((format!("{rel}.configs.cmp.plugins.{plugin}"), as_plugin));
                }
            }
        }
    }
    found.retain(|(_, p)| p["metadata"]["name"] == name);
    found
}

/// Whether Argo CD sees discovery configured (`Discover.IsDefined`, cmpserver/plugin/config.go):
/// a fileName, a find.glob or a find.command.
fn discovery_configured(plugin: &Value) -> bool {
    let discover = &plugin["spec"]["discover"];
    let non_empty = |v: &Value| v.as_str().is_some_and(|s| !s.is_empty());
    non_empty(&discover["fileName"])
        || non_empty(&discover["find"]["glob"])
        || discover["find"]["command"]
            .as_array()
            .is_some_and(|c| !c.is_empty())
}

#[test]
fn the_named_plugin_configures_no_discovery_wherever_it_is_defined() {
    // A named plugin with discovery configured still has to match the app (discovery.go,
    // cmpSupports): `plugin: {name: aimc-v1}` would fail on an app without aimc.yaml.
    let defs = plugin_definitions("aimc");
    let wheres: Vec<&str> = defs.iter().map(|(w, _)| w.as_str()).collect();
    for file in ["deploy/argocd/plugin.yaml", "deploy/argocd/cmp-plugin.yaml"] {
        assert!(
            wheres.iter().any(|w| w.starts_with(file)),
            "no plugin aimc in {file}: {wheres:?}"
        );
    }
    let reference = yaml("deploy/argocd/plugin.yaml");
    for (at, plugin) in &defs {
        assert!(!discovery_configured(plugin), "{at} configures discovery");
        assert!(
            plugin["spec"].get("discover").is_none(),
            "{at}: a discover key"
        );
        assert_eq!(plugin, &reference, "{at} differs from plugin.yaml");
    }
}

#[test]
fn discovery_configured_reads_all_three_forms() {
    let plugin = |discover: Value| serde_json::json!({"spec": {"discover": discover}});
    assert!(discovery_configured(&plugin(
        serde_json::json!({"fileName": "a"})
    )));
    assert!(discovery_configured(&plugin(
        serde_json::json!({"find": {"glob": "**/a"}})
    )));
    // Find embeds Command untagged, so its command list sits right under find.
    assert!(discovery_configured(&plugin(
        serde_json::json!({"find": {"command": ["sh", "-c", "ls aimc.yaml"]}})
    )));
    assert!(!discovery_configured(&plugin(serde_json::json!({}))));
    assert!(!discovery_configured(&serde_json::json!({"spec": {}})));
}

// --- the Dockerfile, parsed -------------------------------------------------------------

/// One instruction, continuation lines joined and comment lines dropped, as BuildKit reads it.
#[derive(Debug, Clone)]
struct Instruction {
    op: String,
    args: String,
}

#[derive(Debug)]
struct Stage {
    /// FROM's arguments, `--platform` included.
    from: String,
    name: Option<String>,
    body: Vec<Instruction>,
}

fn parse_dockerfile(text: &str) -> Vec<Stage> {
    let mut instructions = Vec::new();
    let mut pending = String::new();
    for line in text.lines() {
        let trimmed = line.trim();
        // Comment and empty lines end nothing: BuildKit drops them, inside a continuation too.
        if trimmed.starts_with('#') || trimmed.is_empty() {
            continue;
        }
        match trimmed.strip_suffix('\\') {
            Some(head) => {
                pending.push_str(head);
                pending.push(' ');
            }
            None => {
                pending.push_str(trimmed);
                let (op, args) = pending
                    .trim()
                    .split_once(char::is_whitespace)
                    .expect(&pending);
                instructions.push(Instruction {
                    op: op.to_ascii_uppercase(),
                    args: args.trim().to_owned(),
                });
                pending.clear();
            }
        }
    }
    assert!(pending.is_empty(), "unterminated continuation: {pending}");
    let mut stages: Vec<Stage> = Vec::new();
    for i in instructions {
        if i.op == "FROM" {
            let words: Vec<&str> = i.args.split_whitespace().collect();
            let name = match words.as_slice() {
                [.., kw, name] if kw.eq_ignore_ascii_case("AS") => Some((*name).to_owned()),
                _ => None,
            };
            stages.push(Stage {
                from: i.args.clone(),
                name,
                body: Vec::new(),
            });
        } else {
            let stage = stages
                .last_mut()
                .expect("an instruction before the first FROM");
            stage.body.push(i);
        }
    }
    stages
}

fn dockerfile_stages() -> Vec<Stage> {
    let text = std::fs::read_to_string(root().join("deploy/argocd/Dockerfile")).expect("read");
    parse_dockerfile(&text)
}

/// The stage whose RUN builds aimc with cargo, and the index of that RUN.
fn build_stage(stages: &[Stage]) -> (&Stage, usize) {
    let found: Vec<(&Stage, usize)> = stages
        .iter()
        .flat_map(|s| {
            s.body
                .iter()
                .enumerate()
                .filter(|(_, i)| i.op == "RUN" && i.args.contains("cargo build"))
                .map(move |(n, _)| (s, n))
        })
        .collect();
    assert_eq!(found.len(), 1, "one RUN of cargo build");
    found[0]
}

/// A COPY or ADD: its flags, sources and destination (shell or JSON-array form).
#[derive(Debug)]
struct Copy {
    from: Option<String>,
    sources: Vec<String>,
    dest: String,
}

fn parse_copy(args: &str) -> Copy {
    let mut rest = args.trim();
    let mut from = None;
    while let Some(flag) = rest.strip_prefix("--") {
        let (word, tail) = flag.split_once(char::is_whitespace).expect(args);
        match word.split_once('=') {
            Some(("from", stage)) => from = Some(stage.to_owned()),
            Some(("chown" | "chmod", _)) | None if word != "parents" => {}
            _ => panic!("COPY --{word} changes what is copied; teach this test about it"),
        }
        rest = tail.trim_start();
    }
    let mut operands: Vec<String> = if rest.starts_with('[') {
        serde_json::from_str(rest).expect("COPY in JSON form")
    } else {
        rest.split_whitespace().map(str::to_owned).collect()
    };
    assert!(
        operands.len() >= 2,
        "COPY {args}: sources and a destination"
    );
    let dest = operands.pop().expect("a destination");
    Copy {
        from,
        sources: operands,
        dest,
    }
}

/// `path` joined to `base` and normalised, as an absolute image path.
fn image_path(base: &str, path: &str) -> String {
    let joined = if path.starts_with('/') {
        path.to_owned()
    } else {
        format!("{base}/{path}")
    };
    let mut parts: Vec<&str> = Vec::new();
    for part in joined.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    format!("/{}", parts.join("/"))
}

/// A context path, relative and normalised (`./src/` is `src`, `.` is ``).
fn context_path(path: &str) -> String {
    image_path("/", path).trim_start_matches('/').to_owned()
}

/// Go's filepath.Match on one path segment: `*` and `?`; anything richer fails the test.
fn glob_segment(pattern: &[u8], name: &[u8]) -> bool {
    match (pattern.first(), name.first()) {
        (None, None) => true,
        (Some(b'*'), _) => {
            glob_segment(&pattern[1..], name)
                || (!name.is_empty() && glob_segment(pattern, &name[1..]))
        }
        (Some(b'[' | b'\\'), _) => panic!("pattern syntax this test does not know"),
        (Some(b'?'), Some(_)) => glob_segment(&pattern[1..], &name[1..]),
        (Some(p), Some(n)) => p == n && glob_segment(&pattern[1..], &name[1..]),
        _ => false,
    }
}

/// A path pattern of segments, `**` matching any number of them (.dockerignore's syntax).
fn glob_path(pattern: &[&str], path: &[&str]) -> bool {
    match pattern.split_first() {
        None => path.is_empty(),
        Some((&"**", rest)) => (0..=path.len()).any(|i| glob_path(rest, &path[i..])),
        Some((seg, rest)) => {
            !path.is_empty()
                && glob_segment(seg.as_bytes(), path[0].as_bytes())
                && glob_path(rest, &path[1..])
        }
    }
}

fn segments(path: &str) -> Vec<&str> {
    path.split('/').filter(|s| !s.is_empty()).collect()
}

/// Where the context file `file` lands in the image through `copy` (in `workdir`), if at all.
/// A directory source copies its contents; a file lands in the destination directory when the
/// destination ends in `/` or there are several sources, else at the destination itself.
fn lands_at(copy: &Copy, workdir: &str, file: &str) -> Vec<String> {
    let dest = image_path(workdir, &copy.dest);
    // The WORKDIR is a directory too (`COPY Cargo.toml .`); other directories that exist in
    // the image are not tracked, so a file copied into one reads as misplaced, never as found.
    let into_dir = copy.dest.ends_with('/') || copy.sources.len() > 1 || dest == workdir;
    let file_parts = segments(file);
    let name = file_parts.last().expect("a file name");
    let mut at = Vec::new();
    for source in &copy.sources {
        let source = context_path(source);
        let source_parts = segments(&source);
        let wildcard = source.contains(['*', '?', '[']);
        // Each prefix of the file's path a source names: the file itself or a directory above it.
        for k in 0..=file_parts.len() {
            let prefix = &file_parts[..k];
            let named = if wildcard {
                glob_path(&source_parts, prefix)
            } else {
                source_parts == prefix
            };
            if !named {
                continue;
            }
            if k == file_parts.len() {
                at.push(if into_dir || wildcard {
                    image_path(&dest, name)
                } else {
                    dest.clone()
                });
            } else {
                at.push(image_path(&dest, &file_parts[k..].join("/")));
            }
        }
    }
    at
}

/// Dockerfile.dockerignore as (negated, pattern) in order.
fn dockerignore() -> Vec<(bool, String)> {
    let text = std::fs::read_to_string(root().join("deploy/argocd/Dockerfile.dockerignore"))
        .expect("deploy/argocd/Dockerfile.dockerignore");
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| match l.strip_prefix('!') {
            Some(p) => (true, context_path(p.trim())),
            None => (false, context_path(l)),
        })
        .collect()
}

/// Whether the build context leaves `file` out: the last pattern matching it or a directory
/// above it decides (moby/patternmatcher's MatchesOrParentMatches).
fn ignored(patterns: &[(bool, String)], file: &str) -> bool {
    let parts = segments(file);
    let mut out = false;
    for (negated, pattern) in patterns {
        let pattern = segments(pattern);
        if (1..=parts.len()).any(|k| glob_path(&pattern, &parts[..k])) {
            out = !negated;
        }
    }
    out
}

/// WORKDIR in effect before instruction `upto` of `stage` (base images here set none).
fn workdir(stage: &Stage, upto: usize) -> String {
    let mut dir = "/".to_owned();
    for i in &stage.body[..upto] {
        if i.op == "WORKDIR" {
            assert!(!i.args.contains('$'), "WORKDIR {}: expand it here", i.args);
            dir = image_path(&dir, &i.args);
        }
    }
    dir
}

/// Where each context file lands in the image before instruction `upto` of `stage`.
fn copied_from_context(stage: &Stage, upto: usize, file: &str) -> Vec<String> {
    let mut at = Vec::new();
    for (n, i) in stage.body[..upto].iter().enumerate() {
        if i.op == "COPY" || i.op == "ADD" {
            let copy = parse_copy(&i.args);
            if copy.from.is_none() {
                at.extend(lands_at(&copy, &workdir(stage, n), file));
            }
        }
    }
    at
}

/// The string literals of every `include_str!` and `include_bytes!` in `text`.
fn include_literals(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for line in text.lines() {
        if line.trim_start().starts_with("//") {
            continue;
        }
        for mac in ["include_str!", "include_bytes!"] {
            for (at, _) in line.match_indices(mac) {
                let args = line[at + mac.len()..].trim_start();
                let args = args.strip_prefix('(').expect("a macro call").trim_start();
                let body = args
                    .strip_prefix('"')
                    .unwrap_or_else(|| panic!("{mac} of a non-literal path: {line}"));
                let end = body.find('"').expect("a closing quote");
                assert!(!body[..end].contains('\\'), "escapes in {line}");
                found.push(body[..end].to_owned());
            }
        }
    }
    found
}

/// Every context file `cargo build` of the binary reads: the manifest and lock file, the
/// crate's sources, a build script, each file a source embeds, and the file of each target
/// Cargo.toml declares by name (cargo rejects a manifest whose declared target is missing).
fn files_the_build_reads() -> Vec<String> {
    let rel = |p: &Path| {
        p.strip_prefix(root())
            .expect("inside the repository")
            .to_str()
            .expect("UTF-8")
            .to_owned()
    };
    let mut needed = vec!["Cargo.toml".to_owned(), "Cargo.lock".to_owned()];
    if root().join("build.rs").exists() {
        needed.push("build.rs".to_owned());
    }
    for entry in walkdir::WalkDir::new(root().join("src")) {
        let path = entry.expect("readable").into_path();
        if !path.is_file() {
            continue;
        }
        needed.push(rel(&path));
        if path.extension().is_some_and(|x| x == "rs") {
            let text = std::fs::read_to_string(&path).expect("read");
            for literal in include_literals(&text) {
                let dir = rel(path.parent().expect("a directory"));
                let file = context_path(&format!("{dir}/{literal}"));
                assert!(
                    root().join(&file).is_file(),
                    "{}: {file} is missing",
                    rel(&path)
                );
                needed.push(file);
            }
        }
    }
    for target in declared_target_files() {
        assert!(
            root().join(&target).is_file(),
            "Cargo.toml declares {target}"
        );
        needed.push(target);
    }
    needed.sort();
    needed.dedup();
    needed
}

/// The file of each target Cargo.toml's `[lib]`, `[[bin]]`, `[[bench]]`, `[[test]]` and
/// `[[example]]` sections name: its `path`, or cargo's default for the kind and name.
fn declared_target_files() -> Vec<String> {
    let manifest = std::fs::read_to_string(root().join("Cargo.toml")).expect("Cargo.toml");
    let value = |line: &str, key: &str| {
        let (k, v) = line.split_once('=')?;
        (k.trim() == key).then(|| v.trim().trim_matches('"').to_owned())
    };
    let mut package = String::new();
    // (kind, name, path) per target section.
    let mut targets: Vec<(String, Option<String>, Option<String>)> = Vec::new();
    let mut section = String::new();
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            section = line.trim_matches(['[', ']']).to_owned();
            if ["lib", "bin", "bench", "test", "example"].contains(&section.as_str()) {
                targets.push((section.clone(), None, None));
            }
            continue;
        }
        if section == "package" {
            if let Some(name) = value(line, "name") {
                package = name;
            }
        } else if let Some(target) = targets.last_mut().filter(|t| t.0 == section) {
            if let Some(name) = value(line, "name") {
                target.1 = Some(name);
            } else if let Some(path) = value(line, "path") {
                target.2 = Some(path);
            }
        }
    }
    targets
        .into_iter()
        .map(|(kind, name, path)| {
            path.unwrap_or_else(|| {
                let name = name.unwrap_or_else(|| package.clone());
                let dir = match kind.as_str() {
                    "lib" => return "src/lib.rs".to_owned(),
                    "bin" if name == package => return "src/main.rs".to_owned(),
                    "bin" => "src/bin",
                    "bench" => "benches",
                    "test" => "tests",
                    _ => "examples",
                };
                let single = format!("{dir}/{name}.rs");
                if root().join(&single).exists() {
                    single
                } else {
                    format!("{dir}/{name}/main.rs")
                }
            })
        })
        .collect()
}

#[test]
fn the_dockerfile_reader_follows_copy_and_dockerignore_semantics() {
    let at = |args: &str, workdir: &str, file: &str| lands_at(&parse_copy(args), workdir, file);
    assert_eq!(at("a b ./dst/", "/src", "b"), ["/src/dst/b"]);
    assert_eq!(
        at("Cargo.toml Cargo.lock ./", "/src", "Cargo.lock"),
        ["/src/Cargo.lock"]
    );
    assert_eq!(at("Cargo.toml /m", "/src", "Cargo.toml"), ["/m"]);
    assert_eq!(
        at("Cargo.toml .", "/src", "Cargo.toml"),
        ["/src/Cargo.toml"]
    );
    assert_eq!(
        at("--chown=999:999 src dst", "/w", "src/a/b.rs"),
        ["/w/dst/a/b.rs"]
    );
    assert_eq!(
        at("--link --chmod=644 src .", "/w", "src/main.rs"),
        ["/w/main.rs"]
    );
    assert_eq!(
        at(r#"["schemas", "./schemas"]"#, "/src", "schemas/x/y.json"),
        ["/src/schemas/x/y.json"]
    );
    assert_eq!(at(". .", "/src", "schemas/y.json"), ["/src/schemas/y.json"]);
    assert_eq!(at("./schemas/ /s", "/", "schemas/y.json"), ["/s/y.json"]);
    assert_eq!(at("*.toml ./", "/src", "Cargo.toml"), ["/src/Cargo.toml"]);
    assert!(at("src ./src", "/src", "schemas/y.json").is_empty());
    assert!(at("src ./src", "/src", "srcx/y.rs").is_empty());
    assert_eq!(
        parse_copy("--from=build /aimc /bin/aimc").from.as_deref(),
        Some("build")
    );

    let patterns: Vec<(bool, String)> = [
        (false, "**/target"),
        (false, "golden"),
        (false, "docs/*.md"),
        (true, "docs/keep.md"),
    ]
    .iter()
    .map(|(n, p)| (*n, (*p).to_owned()))
    .collect();
    assert!(ignored(&patterns, "target/release/aimc"));
    assert!(ignored(&patterns, "fuzz/target/x"));
    assert!(ignored(&patterns, "golden/a.yaml"));
    assert!(ignored(&patterns, "docs/a.md"));
    assert!(!ignored(&patterns, "docs/keep.md"));
    assert!(!ignored(&patterns, "docs/sub/a.md"));
    assert!(!ignored(&patterns, "src/target.rs"));
    assert!(!ignored(&patterns, "goldenx"));

    let stages = parse_dockerfile(
        "# syntax=docker/dockerfile:1\nFROM a AS b\n# note\nRUN x \\\n  # inside\n  && y\nFROM c\n",
    );
    assert_eq!(stages.len(), 2);
    assert_eq!(stages[0].name.as_deref(), Some("b"));
    assert_eq!(stages[0].body[0].args, "x  && y");
    assert!(stages[1].body.is_empty());

    assert_eq!(
        include_literals("const A: &str = include_str!(\"../x.json\");\n// include_str!(\"no\")\nb(include_bytes!( \"y.bin\"))"),
        ["../x.json", "y.bin"]
    );
}

#[test]
fn the_dockerfile_copies_everything_the_build_reads() {
    let stages = dockerfile_stages();
    let (stage, run) = build_stage(&stages);
    let cwd = workdir(stage, run);
    let patterns = dockerignore();
    let needed = files_the_build_reads();
    // What the scan must find, or it found nothing: the embedded schemas and the bench file.
    assert!(
        needed.iter().any(|f| f.starts_with("schemas/")),
        "{needed:?}"
    );
    assert!(
        needed.contains(&"benches/render.rs".to_owned()),
        "{needed:?}"
    );
    let mut missing = Vec::new();
    for file in &needed {
        if ignored(&patterns, file) {
            missing.push(format!("{file}: left out by Dockerfile.dockerignore"));
            continue;
        }
        let want = image_path(&cwd, file);
        let at = copied_from_context(stage, run, file);
        if !at.contains(&want) {
            missing.push(format!(
                "{file}: not at {want} when cargo builds (lands at {at:?})"
            ));
        }
    }
    assert!(missing.is_empty(), "{}", missing.join("\n"));
}

#[test]
fn every_file_the_dockerfile_copies_is_in_the_build_context() {
    let patterns = dockerignore();
    for stage in dockerfile_stages() {
        for i in stage
            .body
            .iter()
            .filter(|i| i.op == "COPY" || i.op == "ADD")
        {
            let copy = parse_copy(&i.args);
            if copy.from.is_some() {
                continue;
            }
            for source in &copy.sources {
                let source = context_path(source);
                assert!(
                    !source.contains(['*', '?', '[']),
                    "COPY {}: name it",
                    i.args
                );
                assert!(root().join(&source).exists(), "COPY {source}: no such file");
                assert!(!ignored(&patterns, &source), "COPY {source}: ignored");
            }
        }
    }
}

/// The value after `flag` in `argv` (`--flag value` or `--flag=value`), each occurrence.
fn flag_values(argv: &[String], flag: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (n, a) in argv.iter().enumerate() {
        if a == flag {
            out.extend(argv.get(n + 1).cloned());
        } else if let Some(v) = a.strip_prefix(&format!("{flag}=")) {
            out.push(v.to_owned());
        }
    }
    out
}

/// Runs the build stage's RUN instructions as BuildKit would for `build_args`, with `rustup`,
/// `cargo` and `cp` stubbed and nothing else on PATH: returns whether they succeeded and each
/// stubbed call's argv. Only ARGs the stage declares reach RUN, as in BuildKit.
#[cfg(unix)]
fn simulate_build_stage(stage: &Stage, build_args: &[(&str, &str)]) -> (bool, Vec<Vec<String>>) {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().expect("tempdir");
    let stubs = tmp.path().join("stubs");
    std::fs::create_dir(&stubs).expect("mkdir");
    let log = tmp.path().join("calls");
    for tool in ["rustup", "cargo", "cp"] {
        let stub = stubs.join(tool);
        std::fs::write(
            &stub,
            "#!/bin/sh\nprintf '%s' \"${0##*/}\" >> \"$STUB_LOG\"\n\
             for a in \"$@\"; do printf '\\037%s' \"$a\" >> \"$STUB_LOG\"; done\n\
             printf '\\n' >> \"$STUB_LOG\"\n",
        )
        .expect("write stub");
        std::fs::set_permissions(&stub, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    let work = tmp.path().join("work");
    std::fs::create_dir(&work).expect("mkdir");
    let mut env: Vec<(String, String)> = Vec::new();
    let mut ok = true;
    for i in &stage.body {
        match i.op.as_str() {
            "ARG" => {
                let (name, default) = match i.args.split_once('=') {
                    Some((n, d)) => (n.trim(), Some(d.trim().to_owned())),
                    None => (i.args.trim(), None),
                };
                let given = build_args.iter().find(|(n, _)| *n == name);
                if let Some(v) = given.map(|(_, v)| (*v).to_owned()).or(default) {
                    env.push((name.to_owned(), v));
                }
            }
            "ENV" => {
                for pair in i.args.split_whitespace() {
                    let (k, v) = pair.split_once('=').expect("ENV K=V");
                    assert!(!v.contains(['"', '\'', '$']), "ENV {pair}: expand it here");
                    env.push((k.to_owned(), v.to_owned()));
                }
            }
            "RUN" => {
                let mut script = i.args.trim();
                while let Some(flag) = script.strip_prefix("--") {
                    script = flag
                        .split_once(char::is_whitespace)
                        .expect("RUN flag")
                        .1
                        .trim_start();
                }
                assert!(
                    !script.starts_with('['),
                    "RUN in exec form: teach this test"
                );
                let status = Command::new("/bin/sh")
                    .arg("-c")
                    .arg(script)
                    .current_dir(&work)
                    .env_clear()
                    .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
                    .env("PATH", &stubs)
                    .env("STUB_LOG", &log)
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status()
                    .expect("sh runs");
                if !status.success() {
                    ok = false;
                    break;
                }
            }
            _ => {}
        }
    }
    let calls = std::fs::read_to_string(&log)
        .unwrap_or_default()
        .lines()
        .map(|l| l.split('\u{1f}').map(str::to_owned).collect())
        .collect();
    (ok, calls)
}

#[cfg(unix)]
#[test]
fn the_image_builds_static_binaries_for_amd64_and_arm64() {
    let stages = dockerfile_stages();
    let (build, _) = build_stage(&stages);
    // The build stage runs on the builder's platform and cross-compiles; the final stage is
    // the target platform's.
    assert!(
        build.from.starts_with("--platform=$BUILDPLATFORM ")
            || build.from.starts_with("--platform=${BUILDPLATFORM} "),
        "FROM {}",
        build.from
    );
    let last = stages.last().expect("a final stage");
    assert!(!last.from.contains("--platform"), "FROM {}", last.from);
    let build_name = build.name.as_deref().expect("the build stage is named");
    let binary_in_build = last
        .body
        .iter()
        .filter(|i| i.op == "COPY")
        .map(|i| parse_copy(&i.args))
        .find(|c| c.from.as_deref() == Some(build_name))
        .expect("the final stage copies from the build stage");
    assert_eq!(binary_in_build.dest, "/usr/local/bin/aimc");
    assert_eq!(binary_in_build.sources.len(), 1);

    for builder in ["amd64", "arm64"] {
        for (arch, triple) in [
            ("amd64", "x86_64-unknown-linux-musl"),
            ("arm64", "aarch64-unknown-linux-musl"),
        ] {
            let (target_platform, build_platform) =
                (format!("linux/{arch}"), format!("linux/{builder}"));
            let args = [
                ("TARGETARCH", arch),
                ("TARGETPLATFORM", target_platform.as_str()),
                ("TARGETOS", "linux"),
                ("BUILDARCH", builder),
                ("BUILDPLATFORM", build_platform.as_str()),
                ("BUILDOS", "linux"),
            ];
            let (ok, calls) = simulate_build_stage(build, &args);
            assert!(ok, "{arch} on {builder}: {calls:?}");
            let tool = |name: &str| -> Vec<&Vec<String>> {
                calls.iter().filter(|c| c[0] == name).collect()
            };
            let rustup = tool("rustup");
            assert!(
                rustup.iter().any(|c| c[1..] == ["target", "add", triple]),
                "{arch}: {rustup:?}"
            );
            let cargo = tool("cargo");
            assert_eq!(cargo.len(), 1, "{arch}: {cargo:?}");
            let cargo = cargo[0];
            assert_eq!(cargo[1], "build");
            assert_eq!(flag_values(cargo, "--target"), [triple], "{cargo:?}");
            let profile = flag_values(cargo, "--profile");
            assert_eq!(profile, ["dist"], "{cargo:?}");
            assert_eq!(flag_values(cargo, "--bin"), ["aimc"]);
            assert!(cargo.contains(&"--locked".to_owned()), "{cargo:?}");
            // A cross build needs a linker for the target; it is set for this triple.
            let linker = flag_values(cargo, "--config");
            assert!(
                linker
                    .iter()
                    .any(|c| c.replace(' ', "") == format!("target.{triple}.linker='rust-lld'")),
                "{cargo:?}"
            );
            let cp = tool("cp");
            assert_eq!(cp.len(), 1, "{arch}: {cp:?}");
            assert_eq!(
                cp[0][1..],
                [
                    format!("target/{triple}/{}/aimc", profile[0]),
                    binary_in_build.sources[0].clone()
                ],
                "the binary the final stage takes is the one cargo built"
            );
        }
    }
    // Any other platform stops the build instead of shipping a binary of the wrong arch.
    let (ok, calls) = simulate_build_stage(build, &[("TARGETARCH", "riscv64")]);
    assert!(!ok, "{calls:?}");
    assert!(!calls.iter().any(|c| c[0] == "cargo"), "{calls:?}");
}

#[test]
fn dockerfile_builds_a_static_sidecar() {
    let stages = dockerfile_stages();
    assert_eq!(stages.len(), 2, "multi-stage: {stages:?}");
    let (build, _) = build_stage(&stages);
    // The builder is the toolchain Cargo.toml promises.
    let manifest = std::fs::read_to_string(root().join("Cargo.toml")).expect("Cargo.toml");
    let msrv = manifest
        .lines()
        .find_map(|l| l.strip_prefix("rust-version = "))
        .expect("rust-version")
        .trim_matches('"');
    let image = build
        .from
        .split_whitespace()
        .find(|w| !w.starts_with("--"))
        .expect("an image");
    assert!(image.starts_with(&format!("rust:{msrv}")), "{image}");
    let last = &stages[1];
    assert!(
        last.from == "scratch" || last.from.starts_with("gcr.io/distroless/static"),
        "{}",
        last.from
    );
    let has = |op: &str, args: &str| last.body.iter().any(|i| i.op == op && i.args == args);
    assert!(has("USER", "999"));
    assert!(has(
        "ENTRYPOINT",
        r#"["/var/run/argocd/argocd-cmp-server"]"#
    ));
    assert!(has(
        "COPY",
        &format!("deploy/argocd/plugin.yaml {CONFIG_PATH}")
    ));
    // The final stage has no shell: nothing may RUN there.
    assert!(!last.body.iter().any(|i| i.op == "RUN"));
}

/// `[profile.NAME]` of Cargo.toml as (key, value) pairs, quotes dropped.
fn cargo_profile(name: &str) -> Vec<(String, String)> {
    let manifest = std::fs::read_to_string(root().join("Cargo.toml")).expect("Cargo.toml");
    let header = format!("[profile.{name}]");
    manifest
        .lines()
        .map(str::trim)
        .skip_while(|l| *l != header)
        .skip(1)
        .take_while(|l| !l.starts_with('['))
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (k, v) = l.split_once('=').expect("key = value");
            (k.trim().to_owned(), v.trim().trim_matches('"').to_owned())
        })
        .collect()
}

#[test]
fn the_dist_profile_is_a_stripped_lto_release() {
    let dist = cargo_profile("dist");
    let get = |key: &str| {
        dist.iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .unwrap_or_else(|| panic!("[profile.dist] sets no {key}: {dist:?}"))
    };
    assert_eq!(get("inherits"), "release");
    assert!(
        ["fat", "thin", "true"].contains(&get("lto")),
        "lto = {}",
        get("lto")
    );
    assert!(
        ["true", "symbols"].contains(&get("strip")),
        "strip = {}",
        get("strip")
    );
    assert_eq!(get("codegen-units"), "1");
    // Profiling builds keep their line tables.
    let release = cargo_profile("release");
    assert!(
        release.contains(&("debug".to_owned(), "line-tables-only".to_owned())),
        "{release:?}"
    );
}

// --- the discovering variant --------------------------------------------------------------

#[test]
fn the_discovering_variant_is_the_named_plugin_plus_discover() {
    let named = yaml("deploy/argocd/plugin.yaml");
    let discovering = yaml("deploy/argocd/plugin-discover.yaml");
    assert_eq!(discovering["kind"], "ConfigManagementPlugin");
    assert_eq!(discovering["spec"]["discover"]["fileName"], "aimc.yaml");
    assert!(discovery_configured(&discovering));
    // Its own socket name (name-version), so the two sidecars do not collide.
    let socket = |p: &Value| format!("{}-{}", p["metadata"]["name"], p["spec"]["version"]);
    assert_ne!(socket(&named), socket(&discovering));
    let mut spec = discovering["spec"].clone();
    spec.as_object_mut().expect("spec").remove("discover");
    assert_eq!(spec, named["spec"], "only discover may differ");
    assert_eq!(plugin_definitions("aimc-discover").len(), 1);
}

#[test]
fn the_discovering_sidecar_serves_the_config_baked_into_the_image() {
    let k = yaml("deploy/argocd/discover/kustomization.yaml");
    assert_eq!(k["kind"], "Component");
    assert_eq!(k["patches"][0]["path"], "repo-server-patch.yaml");
    let patch = yaml("deploy/argocd/discover/repo-server-patch.yaml");
    assert_eq!(patch["metadata"]["name"], "argocd-repo-server");
    let pod = &patch["spec"]["template"]["spec"];
    let sidecar = &pod["containers"][0];
    let mounts = check_sidecar(sidecar);
    let main = yaml("deploy/argocd/repo-server-patch.yaml");
    let main_pod = &main["spec"]["template"]["spec"];
    let named = &main_pod["containers"][0];
    assert_ne!(sidecar["name"], named["name"], "a container of its own");
    for field in ["image", "command", "securityContext", "resources"] {
        assert_eq!(
            sidecar[field], named[field],
            "{field} differs from the named sidecar"
        );
    }
    // The cmp-server reads plugin.yaml from --config-dir-path: the directory the Dockerfile
    // puts plugin-discover.yaml in.
    let args = strings(&sidecar["args"]);
    let dir = flag_values(&args, "--config-dir-path");
    assert_eq!(dir.len(), 1, "{args:?}");
    let stages = dockerfile_stages();
    let last = stages.last().expect("a final stage");
    let baked = last
        .body
        .iter()
        .filter(|i| i.op == "COPY")
        .map(|i| parse_copy(&i.args))
        .find(|c| c.sources == ["deploy/argocd/plugin-discover.yaml"])
        .expect("the image carries plugin-discover.yaml");
    assert_eq!(
        baked.dest,
        format!("{}/plugin.yaml", dir[0].trim_end_matches('/'))
    );
    assert!(
        !mounts.iter().any(|(_, p)| p.starts_with(&dir[0])),
        "nothing mounted over the baked config"
    );
    // Its /tmp is a volume of its own, not merged into the named sidecar's.
    let declared = volume_names(&pod["volumes"]);
    let main_volumes = volume_names(&main_pod["volumes"]);
    for (name, _) in mounts {
        if name == "var-files" || name == "plugins" {
            continue;
        }
        assert!(declared.contains(&name), "{name} is not a volume");
        assert!(
            !main_volumes.contains(&name),
            "{name} is the named sidecar's too"
        );
    }
}

// --- resources ----------------------------------------------------------------------------

/// A Kubernetes quantity in base units (bytes, cores), for the suffixes the manifests use.
fn quantity(q: &Value) -> f64 {
    let s = match q {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        other => panic!("not a quantity: {other}"),
    };
    let units: [(&str, f64); 7] = [
        ("Ki", 1024.0),
        ("Mi", 1024.0 * 1024.0),
        ("Gi", 1024.0 * 1024.0 * 1024.0),
        ("k", 1e3),
        ("M", 1e6),
        ("G", 1e9),
        ("m", 1e-3),
    ];
    for (suffix, factor) in units {
        if let Some(n) = s.strip_suffix(suffix) {
            return n.parse::<f64>().expect(&s) * factor;
        }
    }
    s.parse().expect(&s)
}

#[test]
fn sidecars_request_and_limit_cpu_and_memory_alike() {
    let patch = yaml("deploy/argocd/repo-server-patch.yaml");
    let values = yaml("deploy/argocd/values-argo-cd.yaml");
    let discover = yaml("deploy/argocd/discover/repo-server-patch.yaml");
    let sidecars = [
        (
            "repo-server-patch.yaml",
            &patch["spec"]["template"]["spec"]["containers"][0],
        ),
        (
            "values-argo-cd.yaml",
            &values["repoServer"]["extraContainers"][0],
        ),
        (
            "discover/repo-server-patch.yaml",
            &discover["spec"]["template"]["spec"]["containers"][0],
        ),
    ];
    let reference = &sidecars[0].1["resources"];
    for (file, sidecar) in sidecars {
        let r = &sidecar["resources"];
        for resource in ["cpu", "memory"] {
            for kind in ["requests", "limits"] {
                let q = &r[kind][resource];
                assert!(
                    q.is_string() || q.is_number(),
                    "{file}: no resources.{kind}.{resource}"
                );
            }
            let (request, limit) = (
                quantity(&r["requests"][resource]),
                quantity(&r["limits"][resource]),
            );
            assert!(request > 0.0, "{file}: requests.{resource}");
            assert!(
                request <= limit,
                "{file}: {resource} request above its limit"
            );
        }
        assert_eq!(
            r, reference,
            "{file}: resources differ from repo-server-patch.yaml"
        );
    }
    assert_eq!(quantity(&Value::from("512Mi")), 536870912.0);
    assert_eq!(quantity(&Value::from("250m")), 0.25);
}
