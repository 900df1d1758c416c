//! The registry client against registry A (htpasswd Basic) and B (Bearer tokens).

use crate::rig::online::{env, online};
use crate::rig::{self, Rig};
use aimc::lock::online::Online;
use aimc::lock::Fetch;

/// Every image of tests/rig/README.md's fixture table but `public_llama` (B only).
const IMAGES: &[&str] = &[
    "LLAMA_0_8_5",
    "LLAMA_0_8_4",
    "LLAMA_0_9_0_RC1",
    "LLAMA_0_10_0",
    "QWEN_INDEX",
    "MIXTRAL_NOPLATFORM",
    "SILOGEN_ONLY",
    "MIXED_PREFIX",
    "PYTHON_QUOTED",
    "MALFORMED",
    "NO_LABELS",
    "DOCKER_V2S2",
    "DOCKER_LIST",
    "NOT_AIM",
    "OTHER_NS",
];

fn assert_image(rig: &Rig, client: &Online, key: &str, reference: &str) {
    let got = client
        .image(reference)
        .unwrap_or_else(|e| panic!("{reference}: {e}"));
    assert_eq!(got.digest, rig.img(key, "AMD64_DIGEST"), "{reference}");
    assert_eq!(got.labels, rig.labels(key), "{reference}");
}

#[test]
fn every_fixture_image_from_registry_a_with_the_docker_config() {
    let Some(rig) = rig::rig() else { return };
    let client = online(rig.docker_config_env());
    for key in IMAGES {
        assert_image(rig, &client, key, rig.img(key, "REF_A"));
    }
}

#[test]
fn every_fixture_image_from_registry_b_with_the_podman_auth_file() {
    let Some(rig) = rig::rig() else { return };
    let client = online(env(&[(
        "REGISTRY_AUTH_FILE",
        rig.get("RIG_REGISTRY_AUTH_FILE"),
    )]));
    for key in IMAGES {
        assert_image(rig, &client, key, rig.img(key, "REF_B"));
    }
}

#[test]
fn every_tag_of_an_image_and_a_digest_reference_resolve_the_same() {
    let Some(rig) = rig::rig() else { return };
    let client = online(rig.docker_config_env());
    for key in [
        "LLAMA_0_8_5",
        "QWEN_INDEX",
        "MIXTRAL_NOPLATFORM",
        "DOCKER_LIST",
    ] {
        for registry in ["RIG_REGISTRY_A_HOST", "RIG_REGISTRY_B_HOST"] {
            let base = format!("{}/{}", rig.get(registry), rig.img(key, "REPO"));
            for tag in rig.img(key, "TAGS").split(',') {
                assert_image(rig, &client, key, &format!("{base}:{tag}"));
            }
            // An index by digest still resolves to its linux/amd64 child.
            assert_image(
                rig,
                &client,
                key,
                &format!("{base}@{}", rig.img(key, "DIGEST")),
            );
        }
    }
}

#[test]
fn anonymous_pull_of_public_on_the_token_registry() {
    let Some(rig) = rig::rig() else { return };
    let client = online(env(&[]));
    assert_image(
        rig,
        &client,
        "PUBLIC_LLAMA",
        rig.img("PUBLIC_LLAMA", "REF_B"),
    );
    let asked = rig.requests("RIG_TOKEN_REQUESTS_URL");
    let scope = format!("repository:{}:pull", rig.img("PUBLIC_LLAMA", "REPO"));
    assert!(
        asked.iter().any(|r| r["user"] == "anonymous"
            && r["scopes"]
                .as_array()
                .is_some_and(|s| s.iter().any(|x| x == &scope))),
        "no anonymous token request for {scope}: {asked:?}"
    );
    // Registry A has no anonymous access at all: the error says how to log in.
    let err = client
        .image(rig.img("PUBLIC_LLAMA", "REF_A"))
        .expect_err("registry A needs a password");
    let host = rig.get("RIG_REGISTRY_A_HOST");
    assert!(
        err.reason.contains(&format!("docker login {host}")),
        "{err}"
    );
    assert_eq!(err.credential, None);
    assert!(!err.transient);
}

#[test]
fn anonymous_pull_of_a_private_repository_on_the_token_registry_fails() {
    let Some(rig) = rig::rig() else { return };
    let err = online(env(&[]))
        .image(rig.img("LLAMA_0_8_5", "REF_B"))
        .expect_err("private without credentials");
    assert!(err.reason.contains("no credentials for"), "{err}");
    assert!(
        err.subject.contains(rig.img("LLAMA_0_8_5", "REF_B")),
        "{err}"
    );
}

/// A Docker config with one user for both registries, in a temp dir kept by the caller.
fn docker_config_for(rig: &Rig, user: &str, password: &str) -> tempfile::TempDir {
    use base64::Engine;
    let dir = tempfile::tempdir().expect("tempdir");
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    let json = serde_json::json!({"auths": {
        rig.get("RIG_REGISTRY_A_HOST"): {"auth": auth},
        rig.get("RIG_REGISTRY_B_HOST"): {"auth": auth},
    }});
    std::fs::write(dir.path().join("config.json"), json.to_string()).expect("write");
    dir
}

#[test]
fn the_limited_user_pulls_its_namespace_only() {
    let Some(rig) = rig::rig() else { return };
    let dir = docker_config_for(
        rig,
        rig.get("RIG_REGISTRY_B_LIMITED_USER"),
        rig.get("RIG_REGISTRY_B_LIMITED_PASSWORD"),
    );
    let source = dir.path().join("config.json").display().to_string();
    let client = online(env(&[("DOCKER_CONFIG", &dir.path().display().to_string())]));
    assert_image(rig, &client, "QWEN_INDEX", rig.img("QWEN_INDEX", "REF_B"));
    let err = client
        .image(rig.img("OTHER_NS", "REF_B"))
        .expect_err("outside amdenterpriseai/");
    assert!(err.reason.contains("not authorised"), "{err}");
    assert_eq!(err.credential.as_deref(), Some(source.as_str()));
    let err = client
        .catalog(rig.get("RIG_REGISTRY_B_HOST"))
        .expect_err("no catalog for limited");
    assert_eq!(err.credential.as_deref(), Some(source.as_str()));
}

#[test]
fn a_wrong_password_names_the_file_never_the_password() {
    let Some(rig) = rig::rig() else { return };
    let password = "wrong-password-4c1d9e";
    let dir = docker_config_for(rig, "aimc-basic", password);
    let source = dir.path().join("config.json").display().to_string();
    let client = online(env(&[("DOCKER_CONFIG", &dir.path().display().to_string())]));
    for key in ["REF_A", "REF_B"] {
        let err = client
            .image(rig.img("LLAMA_0_8_5", key))
            .expect_err("wrong password");
        let text = format!("{err} {err:?}");
        assert!(err.reason.contains("authentication failed"), "{text}");
        assert_eq!(err.credential.as_deref(), Some(source.as_str()));
        assert!(text.contains(&source), "{text}");
        assert!(!text.contains(password), "{text}");
        assert!(!err.transient);
    }
}

#[test]
fn unknown_tags_and_repositories_are_named() {
    let Some(rig) = rig::rig() else { return };
    let client = online(rig.docker_config_env());
    let host = rig.get("RIG_REGISTRY_A_HOST");
    let missing_tag = format!("{host}/{}:9.9.9", rig.img("LLAMA_0_8_5", "REPO"));
    let err = client.image(&missing_tag).expect_err("no such tag");
    assert!(err.subject.contains(&missing_tag), "{err}");
    assert!(err.reason.contains("MANIFEST_UNKNOWN"), "{err}");
    assert!(!err.transient);
    // distribution 2.8.2 says MANIFEST_UNKNOWN for a manifest of an unknown repository too.
    let missing_repo = format!("{host}/amdenterpriseai/aim-nothing:1.0.0");
    let err = client.image(&missing_repo).expect_err("no such repository");
    assert!(err.reason.contains("not found"), "{err}");
    assert!(err.subject.contains(&missing_repo), "{err}");
    let err = client
        .tags(host, "amdenterpriseai/aim-nothing")
        .expect_err("no such repository");
    assert!(err.reason.contains("NAME_UNKNOWN"), "{err}");
    assert!(err.reason.contains("amdenterpriseai/aim-nothing"), "{err}");
}

#[test]
fn unreachable_registries_are_named_and_transient() {
    let Some(_rig) = rig::rig() else { return };
    let client = online(env(&[]));
    // Port 1 on loopback: nothing listens there.
    let err = client.image("127.0.0.1:1/a/b:1").expect_err("closed port");
    assert!(err.subject.contains("127.0.0.1:1"), "{err}");
    assert!(err.transient, "{err}");
    let err = client
        .image("no-such-registry.invalid/a/b:1")
        .expect_err("unknown host");
    assert!(
        err.to_string().contains("no-such-registry.invalid"),
        "{err}"
    );
    assert!(err.transient, "{err}");
}

#[test]
fn catalog_pages_follow_relative_links() {
    let Some(rig) = rig::rig() else { return };
    for (host, expected) in [
        ("RIG_REGISTRY_A_HOST", "RIG_REGISTRY_A_CATALOG"),
        ("RIG_REGISTRY_B_HOST", "RIG_REGISTRY_B_CATALOG"),
    ] {
        let expected: Vec<&str> = rig.get(expected).split(',').collect();
        for n in [2, 1000] {
            let client = online(rig.docker_config_env()).with_page_size(n);
            let got = client.catalog(rig.get(host)).expect("catalog");
            assert_eq!(got, expected, "{host} n={n}");
        }
    }
    // Registry A's access log shows the 6 pages after the first, each at the `Link` it gave.
    let log = std::fs::read_to_string(rig.path("RIG_LOGS").join("registry-a.log")).expect("log");
    let expected: Vec<&str> = rig.get("RIG_REGISTRY_A_CATALOG").split(',').collect();
    for last in expected.iter().skip(1).step_by(2).take(6) {
        let line = format!(
            "\"GET /v2/_catalog?last={}&n=2 HTTP/1.1\" 200",
            last.replace('/', "%2F")
        );
        assert!(log.contains(&line), "no page request {line}");
    }
}

#[test]
fn tags_come_in_registry_order() {
    let Some(rig) = rig::rig() else { return };
    let expected: Vec<&str> = rig
        .get("RIG_LLAMA_TAGS_REGISTRY_ORDER")
        .split(',')
        .collect();
    let client = online(rig.docker_config_env()).with_page_size(2);
    for host in ["RIG_REGISTRY_A_HOST", "RIG_REGISTRY_B_HOST"] {
        let got = client
            .tags(rig.get(host), rig.get("RIG_LLAMA_REPO"))
            .expect("tags");
        assert_eq!(got, expected, "{host}");
    }
}

#[test]
fn tokens_are_reused_across_threads() {
    let Some(rig) = rig::rig() else { return };
    let client = online(rig.docker_config_env());
    std::thread::scope(|s| {
        for key in ["LLAMA_0_8_5", "LLAMA_0_8_4", "QWEN_INDEX", "NO_LABELS"] {
            let client = &client;
            s.spawn(move || assert_image(rig, client, key, rig.img(key, "REF_B")));
        }
    });
}
