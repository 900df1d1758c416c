//! The Hub client against the Hub-shaped fixture (tests/rig/README.md "HF fixture repos").

use crate::rig::online::{env, online};
use crate::rig::{self, Rig};
use aimc::lock::online::Online;
use aimc::lock::Fetch;

const REPOS: &[&str] = &[
    "AMD_LLAMA_3_1_8B_INSTRUCT_FP8_KV",
    "AMD_PARTIAL_SIZES",
    "META_LLAMA_LLAMA_3_1_8B_INSTRUCT",
    "AMD_PRIVATE_MODEL",
    "AMD_TOO_BIG",
    "AMD_NO_SIZES",
    "OPENAI_COMMUNITY_GPT2",
];

fn client(rig: &Rig, token: Option<&str>) -> Online {
    let mut vars = vec![("HF_ENDPOINT", rig.get("RIG_HF_ENDPOINT"))];
    vars.extend(token.map(|t| ("HF_TOKEN", t)));
    online(env(&vars))
}

fn size(rig: &Rig, key: &str) -> u64 {
    rig.get(&format!("RIG_HF_SIZE_{key}"))
        .parse()
        .expect("a number")
}

/// The raw sums, out-of-range ones included (2^50 + 1, 0): range checks are the caller's.
#[test]
fn every_fixture_repo_sums_its_sibling_sizes_with_the_token() {
    let Some(rig) = rig::rig() else { return };
    let client = client(rig, Some(rig.get("RIG_HF_TOKEN")));
    for key in REPOS {
        let uri = format!("hf://{}", rig.get(&format!("RIG_HF_REPO_{key}")));
        let got = client
            .hf_size(&uri)
            .unwrap_or_else(|e| panic!("{uri}: {e}"));
        assert_eq!(got, size(rig, key), "{uri}");
    }
    let uri = format!("hf://{}@main", rig.get("RIG_HF_REPO_AMD_PARTIAL_SIZES"));
    assert_eq!(
        client.hf_size(&uri).expect("revision"),
        size(rig, "AMD_PARTIAL_SIZES")
    );
}

#[test]
fn public_repos_need_no_token() {
    let Some(rig) = rig::rig() else { return };
    let client = client(rig, None);
    for key in [
        "AMD_LLAMA_3_1_8B_INSTRUCT_FP8_KV",
        "AMD_PARTIAL_SIZES",
        "AMD_NO_SIZES",
    ] {
        let uri = format!("hf://{}", rig.get(&format!("RIG_HF_REPO_{key}")));
        assert_eq!(
            client.hf_size(&uri).expect("public"),
            size(rig, key),
            "{uri}"
        );
    }
}

#[test]
fn a_renamed_repo_redirects_and_keeps_the_token_on_the_same_host() {
    let Some(rig) = rig::rig() else { return };
    let token_ok = |rig: &Rig| {
        let to = format!("/api/models/{}", rig.get("RIG_HF_REDIRECT_TO"));
        rig.requests("RIG_HF_REQUESTS_URL")
            .iter()
            .filter(|r| r["path"] == to.as_str() && r["token_ok"] == true)
            .count()
    };
    let before = token_ok(rig);
    let uri = format!("hf://{}", rig.get("RIG_HF_REDIRECT_FROM"));
    let got = client(rig, Some(rig.get("RIG_HF_TOKEN")))
        .hf_size(&uri)
        .expect("redirect");
    assert_eq!(got, size(rig, "OPENAI_COMMUNITY_GPT2"));
    assert!(
        token_ok(rig) > before,
        "the redirected request lost its token"
    );
    assert_eq!(client(rig, None).hf_size(&uri).expect("anonymous"), got);
}

#[test]
fn gated_and_private_repos_say_which_token_is_missing() {
    let Some(rig) = rig::rig() else { return };
    let gated = format!("hf://{}", rig.get("RIG_HF_GATED_REPO"));
    let private = format!("hf://{}", rig.get("RIG_HF_PRIVATE_REPO"));
    for uri in [&gated, &private] {
        let err = client(rig, None).hf_size(uri).expect_err("no token");
        assert!(err.reason.contains("set HF_TOKEN"), "{err}");
        assert_eq!(err.credential, None);
        assert!(!err.transient);
    }
    let wrong = "hf_wrong_token_5e2c1a";
    let err = client(rig, Some(wrong))
        .hf_size(&gated)
        .expect_err("wrong token");
    let text = format!("{err} {err:?}");
    assert!(
        err.reason.contains("gated") && err.reason.contains("no access"),
        "{text}"
    );
    assert_eq!(err.credential.as_deref(), Some("HF_TOKEN"));
    assert!(!text.contains(wrong), "{text}");
    let err = client(rig, Some(wrong))
        .hf_size(&private)
        .expect_err("wrong token");
    assert!(!format!("{err} {err:?}").contains(wrong));
}

#[test]
fn an_unknown_repo_is_named() {
    let Some(rig) = rig::rig() else { return };
    let uri = format!("hf://{}", rig.get("RIG_HF_UNKNOWN_REPO"));
    let err = client(rig, Some(rig.get("RIG_HF_TOKEN")))
        .hf_size(&uri)
        .expect_err("404");
    assert!(err.reason.contains("not found"), "{err}");
    assert!(
        err.subject.contains(rig.get("RIG_HF_UNKNOWN_REPO")),
        "{err}"
    );
    assert!(!err.transient);
}
