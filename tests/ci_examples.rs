//! examples/ci/: the CI files users copy. They are YAML their CI reads, and they run aimc the
//! way this repository promises (render for diagnostics, diff against the base branch).

use serde_json::Value;
use std::path::Path;

fn yaml(rel: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(rel);
    let text = std::fs::read_to_string(&path).expect(rel);
    serde_saphyr::from_str(&text).expect(rel)
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

#[test]
fn github_actions_render_and_comment_the_diff() {
    let wf = yaml("examples/ci/github-actions.yml");
    // `on` stays a key (YAML 1.1 would read it as true), with a pull_request trigger.
    let on = wf["on"].as_object().expect("on: triggers");
    assert!(on.contains_key("pull_request") && on.contains_key("push"));
    let render = lines(&wf["jobs"]["render"]["steps"], Some("run"));
    assert!(render.contains("aimc render ."), "{render}");
    let diff_job = &wf["jobs"]["diff"];
    assert_eq!(diff_job["permissions"]["pull-requests"], "write");
    let steps = &diff_job["steps"];
    assert_eq!(
        steps[0]["with"]["fetch-depth"], 0,
        "the base branch is needed"
    );
    let diff = lines(steps, Some("run"));
    assert!(
        diff.contains(r#"aimc diff --base "origin/$BASE_REF" --format markdown"#),
        "{diff}"
    );
    assert!(diff.contains("gh pr comment"), "{diff}");
    // Exit 1 means differences, not failure.
    assert!(diff.contains(r#"if [ "$status" -gt 1 ]"#), "{diff}");
}

#[test]
fn gitlab_ci_renders_and_diffs_merge_requests() {
    let ci = yaml("examples/ci/gitlab-ci.yml");
    let render = lines(&ci["aimc-render"]["script"], None);
    assert!(render.contains("aimc render ."), "{render}");
    let job = &ci["aimc-diff"];
    assert_eq!(
        job["rules"][0]["if"],
        r#"$CI_PIPELINE_SOURCE == "merge_request_event""#
    );
    assert_eq!(job["variables"]["GIT_DEPTH"], 0);
    let diff = lines(&job["script"], None);
    assert!(
        diff.contains(
            r#"aimc diff --base "origin/$CI_MERGE_REQUEST_TARGET_BRANCH_NAME" --format markdown"#
        ),
        "{diff}"
    );
    assert!(diff.contains(r#"if [ "$status" -gt 1 ]"#), "{diff}");
}
