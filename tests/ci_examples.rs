//! examples/ci/: the CI files users copy. Their structure is checked as YAML, and the shell of
//! the diff jobs is run under bash the way the CI runs it: in a git clone of a repository of
//! AIM resources, with the real aimc and stand-ins for `gh` and `curl` that record the API
//! calls. Which calls each `aimc diff` exit code leads to is what these files promise.

use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

const GITHUB: &str = "examples/ci/github-actions.yml";
const GITLAB: &str = "examples/ci/gitlab-ci.yml";
const MARKER: &str = "<!-- aimc-diff -->";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn text(rel: &str) -> String {
    std::fs::read_to_string(root().join(rel)).expect(rel)
}

fn yaml(rel: &str) -> Value {
    serde_saphyr::from_str(&text(rel)).expect(rel)
}

/// Every shell line of a list of GitHub steps (`run`) or GitLab script lines.
fn lines(items: &Value, key: Option<&str>) -> String {
    items
        .as_array()
        .expect("a list")
        .iter()
        .filter_map(|i| match key {
            Some(k) => i[k].as_str(),
            None => i.as_str(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

// ---------------------------------------------------------------------------------------------
// GitHub expressions: enough of the language for these files (`==`, `!=`, `!`, `&&`, `||`,
// parentheses, 'strings' and context paths). An unknown context path panics, so a new
// expression in the workflow is a test failure until the test knows its value.

#[derive(Debug, Clone, PartialEq)]
enum V {
    Str(String),
    Bool(bool),
}

impl V {
    fn truthy(&self) -> bool {
        match self {
            V::Str(s) => !s.is_empty(),
            V::Bool(b) => *b,
        }
    }

    fn text(&self) -> String {
        match self {
            V::Str(s) => s.clone(),
            V::Bool(b) => b.to_string(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Lit(String),
    Path(String),
    Op(&'static str),
}

fn tokens(expr: &str) -> Vec<Tok> {
    let mut out = Vec::new();
    let mut rest = expr.trim();
    while !rest.is_empty() {
        if let Some(op) = ["==", "!=", "||", "&&", "(", ")", "!"]
            .into_iter()
            .find(|op| rest.starts_with(op))
        {
            out.push(Tok::Op(op));
            rest = &rest[op.len()..];
        } else if let Some(quoted) = rest.strip_prefix('\'') {
            let end = quoted.find('\'').expect("a closed string");
            out.push(Tok::Lit(quoted[..end].to_owned()));
            rest = &quoted[end + 1..];
        } else {
            let end = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || "_-.".contains(c)))
                .unwrap_or(rest.len());
            assert!(end > 0, "cannot read {rest:?} in {expr:?}");
            out.push(Tok::Path(rest[..end].to_owned()));
            rest = &rest[end..];
        }
        rest = rest.trim_start();
    }
    out
}

struct Eval<'a> {
    toks: Vec<Tok>,
    at: usize,
    ctx: &'a BTreeMap<String, String>,
}

impl Eval<'_> {
    fn eat(&mut self, op: &str) -> bool {
        let here = matches!(self.toks.get(self.at), Some(Tok::Op(o)) if *o == op);
        if here {
            self.at += 1;
        }
        here
    }

    fn or(&mut self) -> V {
        let mut v = self.and();
        while self.eat("||") {
            let w = self.and();
            if !v.truthy() {
                v = w;
            }
        }
        v
    }

    fn and(&mut self) -> V {
        let mut v = self.not();
        while self.eat("&&") {
            let w = self.not();
            if v.truthy() {
                v = w;
            }
        }
        v
    }

    fn not(&mut self) -> V {
        if self.eat("!") {
            V::Bool(!self.not().truthy())
        } else {
            self.cmp()
        }
    }

    fn cmp(&mut self) -> V {
        let a = self.primary();
        for (op, want) in [("==", true), ("!=", false)] {
            if self.eat(op) {
                let b = self.primary();
                // GitHub compares strings ignoring case.
                return V::Bool((a.text().to_lowercase() == b.text().to_lowercase()) == want);
            }
        }
        a
    }

    fn primary(&mut self) -> V {
        if self.eat("(") {
            let v = self.or();
            assert!(self.eat(")"), "unbalanced parentheses");
            return v;
        }
        let tok = self.toks.get(self.at).cloned().expect("an operand");
        self.at += 1;
        match tok {
            Tok::Lit(s) => V::Str(s),
            Tok::Path(p) => match self.ctx.get(&p) {
                Some(v) => V::Str(v.clone()),
                None => panic!("the test does not know the context {p}"),
            },
            Tok::Op(op) => panic!("unexpected {op}"),
        }
    }
}

fn eval(expr: &str, ctx: &BTreeMap<String, String>) -> V {
    let mut e = Eval {
        toks: tokens(expr),
        at: 0,
        ctx,
    };
    let v = e.or();
    assert_eq!(e.at, e.toks.len(), "trailing tokens in {expr:?}");
    v
}

/// A value with `${{ … }}` substituted.
fn interpolate(value: &str, ctx: &BTreeMap<String, String>) -> String {
    let mut out = String::new();
    let mut rest = value;
    while let Some(start) = rest.find("${{") {
        out.push_str(&rest[..start]);
        let end = rest[start..].find("}}").expect("closed expression") + start;
        out.push_str(&eval(&rest[start + 3..end], ctx).text());
        rest = &rest[end + 2..];
    }
    out.push_str(rest);
    out
}

/// A `when`-style condition (`if:`), bare or in `${{ }}`.
fn condition(expr: &str, ctx: &BTreeMap<String, String>) -> bool {
    let expr = expr.trim();
    let expr = expr
        .strip_prefix("${{")
        .and_then(|e| e.strip_suffix("}}"))
        .unwrap_or(expr);
    eval(expr, ctx).truthy()
}

/// The contexts of a pull request event: `head` is the head repository, `actor` who pushed.
fn pull_request(head: &str, actor: &str) -> BTreeMap<String, String> {
    [
        ("github.event_name", "pull_request"),
        ("github.repository", "acme/aim"),
        ("github.server_url", "https://github.com"),
        ("github.run_id", "77"),
        ("github.token", "ghs_stub"),
        ("github.base_ref", "main"),
        ("github.actor", actor),
        ("github.event.pull_request.number", "5"),
        ("github.event.pull_request.head.repo.full_name", head),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

fn push_to_main() -> BTreeMap<String, String> {
    [
        ("github.event_name", "push"),
        ("github.repository", "acme/aim"),
        ("github.actor", "octocat"),
        // A push event has no pull request; GitHub reads the missing path as ''.
        ("github.event.pull_request.head.repo.full_name", ""),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

// ---------------------------------------------------------------------------------------------
// Structure.

#[test]
fn github_actions_render_validate_as_sarif_and_diff() {
    let wf = yaml(GITHUB);
    // `on` stays a key (YAML 1.1 would read it as true), with a pull_request trigger.
    let on = wf["on"].as_object().expect("on: triggers");
    assert!(on.contains_key("pull_request") && on.contains_key("push"));
    assert_eq!(on["push"]["branches"], json!(["main"]));
    let render = lines(&wf["jobs"]["render"]["steps"], Some("run"));
    assert!(render.contains("aimc render ."), "{render}");
    // The lock: offline on every push and pull request, online on a schedule only.
    let lock = &wf["jobs"]["lock"];
    assert!(lines(&lock["steps"], Some("run")).contains("aimc lock --check --offline ."));
    let online = &wf["jobs"]["lock-online"];
    let online_run = lines(&online["steps"], Some("run"));
    assert!(online_run.contains("aimc lock --check ."), "{online_run}");
    assert!(!online_run.contains("--offline"));
    assert!(on.contains_key("schedule"));
    let schedule = BTreeMap::from([("github.event_name".to_owned(), "schedule".to_owned())]);
    assert!(condition(online["if"].as_str().expect("if"), &schedule));
    assert!(!condition(lock["if"].as_str().expect("if"), &schedule));
    assert!(!condition(
        online["if"].as_str().expect("if"),
        &pull_request("acme/aim", "octocat")
    ));

    // SARIF: validate may fail, the upload runs anyway, then the job fails on errors.
    let scan = &wf["jobs"]["code-scanning"];
    assert_eq!(
        scan["permissions"],
        json!({"contents": "read", "security-events": "write"})
    );
    let steps = scan["steps"].as_array().expect("steps");
    let find = |pred: &dyn Fn(&Value) -> bool| steps.iter().position(pred).expect("a step");
    let validate = find(&|s| {
        s["run"]
            .as_str()
            .is_some_and(|r| r.contains("aimc validate . --format sarif > aimc.sarif"))
    });
    assert_eq!(steps[validate]["continue-on-error"], true);
    let id = steps[validate]["id"].as_str().expect("an id");
    let upload = find(&|s| {
        s["uses"]
            .as_str()
            .is_some_and(|u| u.starts_with("github/codeql-action/upload-sarif@"))
    });
    assert!(upload > validate);
    assert_eq!(steps[upload]["with"]["sarif_file"], "aimc.sarif");
    let guard = steps[upload]["if"].as_str().expect("a guard");
    assert!(condition(guard, &push_to_main()));
    assert!(condition(guard, &pull_request("acme/aim", "octocat")));
    assert!(!condition(guard, &pull_request("someone/aim", "someone")));
    assert!(!condition(
        guard,
        &pull_request("acme/aim", "dependabot[bot]")
    ));
    let fail = find(&|s| s["if"] == format!("steps.{id}.outcome == 'failure'"));
    assert!(fail > upload);
    assert!(steps[fail]["run"]
        .as_str()
        .is_some_and(|r| r.contains("exit 1")));

    let diff_job = &wf["jobs"]["diff"];
    assert_eq!(diff_job["permissions"]["pull-requests"], "write");
    assert_eq!(
        diff_job["steps"][0]["with"]["fetch-depth"], 0,
        "the base branch is needed"
    );
    // What the old sketch did wrong, and text that went stale.
    let raw = text(GITHUB);
    for stale in [
        "--edit-last",
        "gh pr comment",
        "head -c",
        "--diagnostics-format",
        "not available yet",
    ] {
        assert!(!raw.contains(stale), "{stale}");
    }
}

/// GitLab's `if:` of rules: `$VAR == "text"`, `$VAR` (set and not empty) and `&&`.
fn gitlab_if(expr: &str, vars: &BTreeMap<&str, &str>) -> bool {
    expr.split("&&").all(|term| {
        let term = term.trim();
        let value = |name: &str| vars.get(name.trim_start_matches('$')).copied();
        match term.split_once("==") {
            Some((var, lit)) => value(var.trim()) == Some(lit.trim().trim_matches('"')),
            None => value(term).is_some_and(|v| !v.is_empty()),
        }
    })
}

/// Whether GitLab creates a pipeline (or job) under `rules`; no rules: always.
fn gitlab_rules(rules: &Value, vars: &BTreeMap<&str, &str>) -> bool {
    let Some(rules) = rules.as_array() else {
        return true;
    };
    rules
        .iter()
        .find(|r| r["if"].as_str().is_none_or(|e| gitlab_if(e, vars)))
        .is_some_and(|r| r["when"] != "never")
}

#[test]
fn gitlab_ci_runs_one_pipeline_per_push() {
    let ci = yaml(GITLAB);
    let workflow = &ci["workflow"]["rules"];
    let branch_push_with_mr = BTreeMap::from([
        ("CI_PIPELINE_SOURCE", "push"),
        ("CI_COMMIT_BRANCH", "feature"),
        ("CI_OPEN_MERGE_REQUESTS", "acme/aim!3"),
    ]);
    let mr_pipeline = BTreeMap::from([
        ("CI_PIPELINE_SOURCE", "merge_request_event"),
        ("CI_MERGE_REQUEST_IID", "3"),
    ]);
    let branch_push = BTreeMap::from([
        ("CI_PIPELINE_SOURCE", "push"),
        ("CI_COMMIT_BRANCH", "feature"),
    ]);
    // A push to a branch with an open MR: the MR pipeline only.
    assert!(!gitlab_rules(workflow, &branch_push_with_mr));
    assert!(gitlab_rules(workflow, &mr_pipeline));
    // Without an MR: the branch pipeline.
    assert!(gitlab_rules(workflow, &branch_push));
    // The MR pipeline gates the merge, so it renders too; the branch pipeline has no diff.
    let render = &ci["aimc-render"];
    let diff = &ci["aimc-diff"];
    assert!(gitlab_rules(&render["rules"], &mr_pipeline));
    assert!(gitlab_rules(&render["rules"], &branch_push));
    assert!(gitlab_rules(&diff["rules"], &mr_pipeline));
    assert!(!gitlab_rules(&diff["rules"], &branch_push));

    assert!(lines(&render["script"], None).contains("aimc render ."));
    let lock = &ci["aimc-lock"];
    let online = &ci["aimc-lock-online"];
    let schedule = BTreeMap::from([
        ("CI_PIPELINE_SOURCE", "schedule"),
        ("CI_COMMIT_BRANCH", "main"),
    ]);
    assert!(gitlab_rules(workflow, &schedule));
    assert!(gitlab_rules(&lock["rules"], &mr_pipeline) && !gitlab_rules(&lock["rules"], &schedule));
    assert!(
        gitlab_rules(&online["rules"], &schedule) && !gitlab_rules(&online["rules"], &mr_pipeline)
    );
    assert_eq!(
        lines(&lock["script"], None).trim(),
        "aimc lock --check --offline ."
    );
    assert_eq!(lines(&online["script"], None).trim(), "aimc lock --check .");
    assert_eq!(diff["variables"]["GIT_DEPTH"], 0);
    let script = lines(&diff["script"], None);
    assert!(
        script.contains(r#"aimc diff --base "$base" --format markdown"#),
        "{script}"
    );
    assert!(script.contains(MARKER), "{script}");
    assert!(!text(GITLAB).contains("head -c"));
}

// ---------------------------------------------------------------------------------------------
// Running the diff jobs.

const GH_STUB: &str = r#"#!/usr/bin/env bash
# Stands in for gh api: records the request and serves the comment pages in $STUB_STATE/pages
# (only the first without --paginate), filtered by --jq as gh does.
set -eu
[ -n "${GH_TOKEN:-}" ] || { echo "gh: no GH_TOKEN" >&2; exit 4; }
[ "${1:-}" = api ] || { echo "gh stub: only api" >&2; exit 64; }
shift
method= filter= paginate= endpoint= body= fields=
while [ $# -gt 0 ]; do
  case "$1" in
    --method | -X) method=$2; shift ;;
    --jq | -q) filter=$2; shift ;;
    --paginate) paginate=1 ;;
    -F | --field | -f | --raw-field)
      fields=1
      case "$2" in body=@*) body=${2#body=@} ;; esac
      shift ;;
    -*) echo "gh stub: unexpected flag $1" >&2; exit 64 ;;
    *) endpoint=$1 ;;
  esac
  shift
done
[ -n "$method" ] || { if [ -n "$fields" ]; then method=POST; else method=GET; fi; }
echo "$method $endpoint" >> "$STUB_STATE/requests"
[ -z "$body" ] || cp "$body" "$STUB_STATE/body-$method"
if [ "$method" = GET ]; then
  for page in "$STUB_STATE"/pages/*.json; do
    [ -e "$page" ] || break
    if [ -n "$filter" ]; then jq -r "$filter" "$page"; else cat "$page"; fi
    [ -n "$paginate" ] || break
  done
else
  echo '{"id": 1}'
fi
"#;

const CURL_STUB: &str = r#"#!/usr/bin/env bash
# Stands in for curl against GitLab's API: records the request; GET serves
# $STUB_STATE/pages/<page>.json, or [] past the last page.
set -eu
method= url= body= token=
while [ $# -gt 0 ]; do
  case "$1" in
    --request | -X) method=$2; shift ;;
    --header | -H) case "$2" in "PRIVATE-TOKEN: "?*) token=1 ;; esac; shift ;;
    --data-urlencode)
      case "$2" in body@*) body=${2#body@} ;; *) echo "curl stub: unexpected $2" >&2; exit 64 ;; esac
      shift ;;
    --output | -o) shift ;;
    --fail | --silent | --show-error) ;;
    -*) echo "curl stub: unexpected flag $1" >&2; exit 64 ;;
    *) url=$1 ;;
  esac
  shift
done
[ -n "$method" ] || { if [ -n "$body" ]; then method=POST; else method=GET; fi; }
[ -n "$token" ] || { echo "curl: (22) The requested URL returned error: 401" >&2; exit 22; }
echo "$method $url" >> "$STUB_STATE/requests"
[ -z "$body" ] || cp "$body" "$STUB_STATE/body-$method"
if [ "$method" = GET ]; then
  page=$(printf '%s' "$url" | sed -n 's/.*[?&]page=\([0-9]*\).*/\1/p')
  if [ -e "$STUB_STATE/pages/$page.json" ]; then cat "$STUB_STATE/pages/$page.json"; else echo '[]'; fi
fi
"#;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Change {
    /// The pull request changes nothing that renders: aimc diff exits 0.
    None,
    /// It changes a runtime config: exits 1.
    Objects,
    /// It adds a broken file: exits 2.
    Broken,
}

/// A clone of a repository of AIM resources (multi-tenant) whose `origin/main` is the base,
/// with the pull request's change in the work tree, and a bin directory of stubs.
struct Fixture {
    _tmp: tempfile::TempDir,
    work: PathBuf,
    bin: PathBuf,
    state: PathBuf,
}

fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["-c", "user.name=t", "-c", "user.email=t@t"])
        .args(args)
        .envs(git_env())
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn git_env() -> [(&'static str, &'static str); 2] {
    [
        ("GIT_CONFIG_GLOBAL", "/dev/null"),
        ("GIT_CONFIG_NOSYSTEM", "1"),
    ]
}

fn fixture(change: Change, pages: &[Value]) -> Fixture {
    assert!(
        Command::new("jq").arg("--version").output().is_ok(),
        "jq is needed: the workflows use it (gh --jq, GitLab notes)"
    );
    let tmp = tempfile::tempdir().expect("tempdir");
    let upstream = tmp.path().join("upstream");
    std::fs::create_dir_all(&upstream).expect("mkdir");
    for entry in std::fs::read_dir(root().join("examples/multi-tenant")).expect("example") {
        let entry = entry.expect("entry");
        std::fs::copy(entry.path(), upstream.join(entry.file_name())).expect("copy");
    }
    git(&upstream, &["init", "-q", "-b", "main"]);
    git(&upstream, &["add", "-A"]);
    git(&upstream, &["commit", "-q", "-m", "base"]);
    let work = tmp.path().join("work");
    git(tmp.path(), &["clone", "-q", s(&upstream), s(&work)]);
    match change {
        Change::None => {}
        Change::Objects => {
            let platform = work.join("platform.yaml");
            let text = std::fs::read_to_string(&platform).expect("read");
            std::fs::write(&platform, text.replace("value: WARNING", "value: DEBUG"))
                .expect("write");
        }
        Change::Broken => std::fs::write(work.join("broken.yaml"), "a: [\n").expect("write"),
    }
    let bin = tmp.path().join("bin");
    let state = tmp.path().join("state");
    std::fs::create_dir_all(&bin).expect("mkdir");
    std::fs::create_dir_all(state.join("pages")).expect("mkdir");
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_aimc"), bin.join("aimc")).expect("symlink");
    for (name, script) in [("gh", GH_STUB), ("curl", CURL_STUB)] {
        let path = bin.join(name);
        std::fs::write(&path, script).expect("write");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    for (i, page) in pages.iter().enumerate() {
        std::fs::write(
            state.join("pages").join(format!("{}.json", i + 1)),
            page.to_string(),
        )
        .expect("write");
    }
    Fixture {
        _tmp: tmp,
        work,
        bin,
        state,
    }
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// What a job did.
#[derive(Debug)]
struct Job {
    ok: bool,
    /// stdout and stderr of every step.
    log: String,
    summary: String,
    /// `METHOD endpoint` of each API call.
    requests: Vec<String>,
}

impl Fixture {
    fn body(&self, method: &str) -> String {
        std::fs::read_to_string(self.state.join(format!("body-{method}"))).expect("a body")
    }

    /// Runs `script` as a CI runner would: `bash_args` then the script file, in the clone,
    /// with `env` and nothing else of the test's environment but PATH (behind the stubs).
    fn bash(
        &self,
        bash_args: &[&str],
        script: &str,
        env: &BTreeMap<String, String>,
    ) -> (bool, String) {
        let file = self.state.join("step.sh");
        std::fs::write(&file, script).expect("write");
        let path = format!(
            "{}:{}",
            s(&self.bin),
            std::env::var("PATH").unwrap_or_default()
        );
        let out = Command::new("bash")
            .args(bash_args)
            .arg(&file)
            .current_dir(&self.work)
            .env_clear()
            .env("PATH", path)
            .env("HOME", &self.state)
            .env("CI", "true")
            .env("STUB_STATE", &self.state)
            .envs(git_env())
            .envs(env)
            .output()
            .expect("bash runs");
        let log = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.success(), log)
    }

    fn job(&self, ok: bool, log: String, summary: String) -> Job {
        let requests = std::fs::read_to_string(self.state.join("requests")).unwrap_or_default();
        Job {
            ok,
            log,
            summary,
            requests: requests.lines().map(str::to_owned).collect(),
        }
    }

    /// The GitHub diff job's `run` steps in order, with their `env` and `shell`, the
    /// expressions evaluated in `ctx` and step outputs added to it. Like the runner, the
    /// first failing step ends the job; `uses` steps (checkout, artifact upload) are skipped.
    fn github_diff_job(&self, mut ctx: BTreeMap<String, String>) -> Job {
        let wf = yaml(GITHUB);
        let job = &wf["jobs"]["diff"];
        assert!(condition(job["if"].as_str().expect("if"), &ctx));
        let summary = self.state.join("summary.md");
        let mut log = String::new();
        for step in job["steps"].as_array().expect("steps") {
            let Some(script) = step["run"].as_str() else {
                continue;
            };
            if let Some(cond) = step["if"].as_str() {
                if !condition(cond, &ctx) {
                    continue;
                }
            }
            let output = self.state.join("output");
            std::fs::write(&output, "").expect("write");
            let mut env = BTreeMap::new();
            for scope in [&wf["env"], &job["env"], &step["env"]] {
                for (k, v) in scope.as_object().into_iter().flatten() {
                    let v = v
                        .as_str()
                        .map(str::to_owned)
                        .unwrap_or_else(|| v.to_string());
                    env.insert(k.clone(), interpolate(&v, &ctx));
                }
            }
            env.insert("GITHUB_OUTPUT".to_owned(), s(&output).to_owned());
            env.insert("GITHUB_STEP_SUMMARY".to_owned(), s(&summary).to_owned());
            // GitHub's `shell: bash`, and its default on Linux.
            let args: &[&str] = match step["shell"].as_str() {
                Some("bash") => &["--noprofile", "--norc", "-eo", "pipefail"],
                None => &["-e"],
                Some(other) => panic!("shell {other}"),
            };
            let (ok, out) = self.bash(args, script, &env);
            log.push_str(&out);
            if !ok {
                return self.job(false, log, read(&summary));
            }
            if let Some(id) = step["id"].as_str() {
                for line in read(&output).lines() {
                    let (k, v) = line.split_once('=').expect("name=value");
                    ctx.insert(format!("steps.{id}.outputs.{k}"), v.to_owned());
                }
            }
        }
        self.job(true, log, read(&summary))
    }

    /// The GitLab aimc-diff job: `before_script` (from `.aimc`) and `script` as one bash
    /// script under `set -eo pipefail`, as the runner runs them.
    fn gitlab_diff_job(&self, token: Option<&str>) -> Job {
        let ci = yaml(GITLAB);
        let job = &ci["aimc-diff"];
        assert_eq!(job["extends"], ".aimc");
        let script = format!(
            "{}\n{}\n",
            lines(&ci[".aimc"]["before_script"], None),
            lines(&job["script"], None)
        );
        let mut env: BTreeMap<String, String> = [
            ("CI_PROJECT_DIR", s(&self.work)),
            ("CI_PIPELINE_SOURCE", "merge_request_event"),
            ("CI_MERGE_REQUEST_TARGET_BRANCH_NAME", "main"),
            ("CI_API_V4_URL", "https://gitlab.example.com/api/v4"),
            ("CI_PROJECT_ID", "9"),
            ("CI_MERGE_REQUEST_IID", "3"),
            (
                "CI_JOB_URL",
                "https://gitlab.example.com/acme/aim/-/jobs/11",
            ),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        for scope in [&ci["variables"], &job["variables"]] {
            for (k, v) in scope.as_object().into_iter().flatten() {
                let v = v
                    .as_str()
                    .map(str::to_owned)
                    .unwrap_or_else(|| v.to_string());
                env.insert(k.clone(), v);
            }
        }
        if let Some(t) = token {
            env.insert("AIMC_NOTE_TOKEN".to_owned(), t.to_owned());
        }
        let (ok, log) = self.bash(&["-eo", "pipefail"], &script, &env);
        self.job(ok, log, String::new())
    }
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_default()
}

fn comment(id: u64, login: &str, kind: &str, body: &str) -> Value {
    json!({"id": id, "user": {"login": login, "type": kind}, "body": body})
}

/// Comment pages: a user's comment quoting the marker and another workflow's bot comment on
/// the first page, and (when `ours`) this workflow's comment, id 42, on the second.
fn comment_pages(ours: bool) -> Vec<Value> {
    let mut pages = vec![json!([
        comment(7, "someone", "User", &format!("{MARKER}\nquoting the bot")),
        comment(8, "github-actions[bot]", "Bot", "### Coverage: 93%"),
    ])];
    if ours {
        pages.push(json!([comment(
            42,
            "github-actions[bot]",
            "Bot",
            &format!("{MARKER}\n### aimc diff against `origin/main`\n\nold")
        )]));
    }
    pages
}

const GET_COMMENTS: &str = "GET repos/acme/aim/issues/5/comments";

#[test]
fn github_differences_are_posted_once_then_the_comment_is_updated() {
    let fx = fixture(Change::Objects, &comment_pages(false));
    let job = fx.github_diff_job(pull_request("acme/aim", "octocat"));
    assert!(job.ok, "{}", job.log);
    assert_eq!(
        job.requests,
        [GET_COMMENTS, "POST repos/acme/aim/issues/5/comments"],
        "{}",
        job.log
    );
    let body = fx.body("POST");
    assert!(
        body.starts_with(&format!("{MARKER}\n### aimc diff against `origin/main`\n")),
        "{body}"
    );
    assert!(body.contains("+        value: DEBUG\n"), "{body}");
    assert!(job.summary.contains("### aimc diff against `origin/main`"));

    // The next push finds the comment by its marker, on a later page, and edits it.
    let fx = fixture(Change::Objects, &comment_pages(true));
    let job = fx.github_diff_job(pull_request("acme/aim", "octocat"));
    assert!(job.ok, "{}", job.log);
    assert_eq!(
        job.requests,
        [GET_COMMENTS, "PATCH repos/acme/aim/issues/comments/42"],
        "{}",
        job.log
    );
    assert!(fx.body("PATCH").contains("value: DEBUG"));
}

#[test]
fn github_no_differences_clear_an_existing_comment_and_post_none() {
    let fx = fixture(Change::None, &comment_pages(true));
    let job = fx.github_diff_job(pull_request("acme/aim", "octocat"));
    assert!(job.ok, "{}", job.log);
    assert_eq!(
        job.requests,
        [GET_COMMENTS, "PATCH repos/acme/aim/issues/comments/42"],
        "{}",
        job.log
    );
    let body = fx.body("PATCH");
    assert!(body.starts_with(MARKER), "{body}");
    assert!(body.contains("No differences."), "{body}");

    let fx = fixture(Change::None, &comment_pages(false));
    let job = fx.github_diff_job(pull_request("acme/aim", "octocat"));
    assert!(job.ok, "{}", job.log);
    assert_eq!(job.requests, [GET_COMMENTS], "{}", job.log);
}

#[test]
fn github_diff_errors_fail_the_job_without_commenting() {
    let fx = fixture(Change::Broken, &comment_pages(true));
    let job = fx.github_diff_job(pull_request("acme/aim", "octocat"));
    assert!(!job.ok, "{}", job.log);
    assert!(job.requests.is_empty(), "{:?}", job.requests);
    assert!(
        job.log.contains("::error::aimc diff failed (exit 2)"),
        "{}",
        job.log
    );
    assert!(job.log.contains("error[YamlSyntax]"), "{}", job.log);
}

#[test]
fn github_forks_and_dependabot_skip_the_comment_and_stay_green() {
    for (head, actor) in [("someone/aim", "someone"), ("acme/aim", "dependabot[bot]")] {
        let fx = fixture(Change::Objects, &comment_pages(true));
        let job = fx.github_diff_job(pull_request(head, actor));
        assert!(job.ok, "{head} {actor}: {}", job.log);
        assert!(
            job.requests.is_empty(),
            "{head} {actor}: {:?}",
            job.requests
        );
        assert!(
            job.log.contains("::notice title=aimc diff::not commenting"),
            "{}",
            job.log
        );
        assert!(job.summary.contains("value: DEBUG"), "{}", job.summary);
        assert!(
            job.summary.contains("Not posted as a comment"),
            "{}",
            job.summary
        );
    }
}

const NOTES: &str = "https://gitlab.example.com/api/v4/projects/9/merge_requests/3/notes";

/// Note pages: a system note and a user's note first, and (when `ours`) this job's note,
/// id 102, on the second page.
fn note_pages(ours: bool) -> Vec<Value> {
    let mut pages = vec![json!([
        {"id": 100, "system": true, "body": "added 1 commit"},
        {"id": 101, "system": false, "body": "LGTM"},
    ])];
    if ours {
        pages.push(json!([
            {"id": 102, "system": false, "body": format!("{MARKER}\nold")},
        ]));
    }
    pages
}

fn get_notes(pages: usize) -> Vec<String> {
    (1..=pages)
        .map(|p| format!("GET {NOTES}?sort=asc&per_page=100&page={p}"))
        .collect()
}

#[test]
fn gitlab_notes_are_upserted_by_the_marker() {
    // Differences, no note yet: every page is searched, then a note is posted.
    let fx = fixture(Change::Objects, &note_pages(false));
    let job = fx.gitlab_diff_job(Some("glpat-stub"));
    assert!(job.ok, "{}", job.log);
    let mut want = get_notes(2);
    want.push(format!("POST {NOTES}"));
    assert_eq!(job.requests, want, "{}", job.log);
    let body = fx.body("POST");
    assert!(
        body.starts_with(&format!("{MARKER}\n### aimc diff")),
        "{body}"
    );
    assert!(body.contains("value: DEBUG"), "{body}");
    assert!(
        job.log.contains("value: DEBUG"),
        "the report is in the job log"
    );

    // The note exists: it is edited, with differences or without.
    for change in [Change::Objects, Change::None] {
        let fx = fixture(change, &note_pages(true));
        let job = fx.gitlab_diff_job(Some("glpat-stub"));
        assert!(job.ok, "{}", job.log);
        let mut want = get_notes(2);
        want.push(format!("PUT {NOTES}/102"));
        assert_eq!(job.requests, want, "{change:?}: {}", job.log);
        let body = fx.body("PUT");
        assert!(body.starts_with(MARKER), "{body}");
        if change == Change::None {
            assert!(body.contains("No differences."), "{body}");
        }
    }

    // No differences and no note: nothing to post.
    let fx = fixture(Change::None, &note_pages(false));
    let job = fx.gitlab_diff_job(Some("glpat-stub"));
    assert!(job.ok, "{}", job.log);
    assert_eq!(job.requests, get_notes(2), "{}", job.log);
}

#[test]
fn gitlab_errors_fail_and_a_missing_token_skips_the_note() {
    let fx = fixture(Change::Broken, &note_pages(true));
    let job = fx.gitlab_diff_job(Some("glpat-stub"));
    assert!(!job.ok, "{}", job.log);
    assert!(job.requests.is_empty(), "{:?}", job.requests);
    assert!(job.log.contains("aimc diff failed (exit 2)"), "{}", job.log);

    let fx = fixture(Change::Objects, &note_pages(true));
    let job = fx.gitlab_diff_job(None);
    assert!(job.ok, "{}", job.log);
    assert!(job.requests.is_empty(), "{:?}", job.requests);
    assert!(job.log.contains("No AIMC_NOTE_TOKEN"), "{}", job.log);
}
