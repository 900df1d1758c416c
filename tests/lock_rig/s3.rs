//! The S3 client against moto, which checks header SigV4 (tests/rig/README.md "S3").

use crate::rig::online::{env, online};
use crate::rig::{self, Rig};
use aimc::lock::online::{Online, OnlineOptions};
use aimc::lock::Fetch;
use std::time::Duration;

const PREFIXES: &[&str] = &["LLAMA", "LLAMA_SLASH", "LLAMA_V2", "MISTRAL", "ALL", "NONE"];

fn keys_env<'a>(rig: &'a Rig, secret: &'a str) -> Vec<(&'static str, &'a str)> {
    vec![
        ("AWS_ACCESS_KEY_ID", rig.get("RIG_AWS_ACCESS_KEY_ID")),
        ("AWS_SECRET_ACCESS_KEY", secret),
        ("AWS_REGION", rig.get("RIG_S3_REGION")),
    ]
}

fn client(rig: &Rig) -> Online {
    online(env(&keys_env(rig, rig.get("RIG_AWS_SECRET_ACCESS_KEY"))))
}

fn size(rig: &Rig, key: &str) -> u64 {
    rig.get(&format!("RIG_S3_SIZE_{key}"))
        .parse()
        .expect("a number")
}

#[test]
fn every_prefix_sums_as_s3cmd_du() {
    let Some(rig) = rig::rig() else { return };
    let client = client(rig);
    let endpoint = rig.get("RIG_S3_ENDPOINT");
    for key in PREFIXES {
        let uri = rig.get(&format!("RIG_S3_URI_{key}"));
        let got = client
            .s3_usage(uri, Some(endpoint))
            .unwrap_or_else(|e| panic!("{uri}: {e}"));
        assert_eq!(got.bytes, size(rig, key), "{uri}");
        let keys: u64 = rig.get(&format!("RIG_S3_KEYS_{key}")).parse().expect("n");
        assert_eq!(got.objects, keys, "{uri}");
    }
}

#[test]
fn a_prefix_without_slash_reports_what_lies_below_the_slash() {
    let Some(rig) = rig::rig() else { return };
    let got = client(rig)
        .s3_usage(
            rig.get("RIG_S3_URI_LLAMA"),
            Some(rig.get("RIG_S3_ENDPOINT")),
        )
        .expect("llama");
    assert_eq!(got.bytes, size(rig, "LLAMA"));
    assert_eq!(got.bytes_below_slash, size(rig, "LLAMA_SLASH"));
    let got = client(rig)
        .s3_usage(
            rig.get("RIG_S3_URI_LLAMA_SLASH"),
            Some(rig.get("RIG_S3_ENDPOINT")),
        )
        .expect("llama/");
    assert_eq!(got.bytes_below_slash, got.bytes);
}

#[test]
fn the_endpoint_comes_from_the_override_or_the_environment() {
    let Some(rig) = rig::rig() else { return };
    let uri = rig.get("RIG_S3_URI_MISTRAL");
    let endpoint = rig.get("RIG_S3_ENDPOINT");
    // --s3-endpoint beats a cluster-internal endpoint from the tree.
    let overridden = Online::new(OnlineOptions {
        insecure_registries: Vec::new(),
        s3_endpoint: Some(endpoint.to_string()),
        timeout: Duration::from_secs(20),
        env: env(&keys_env(rig, rig.get("RIG_AWS_SECRET_ACCESS_KEY"))),
    })
    .expect("client");
    let got = overridden
        .s3_usage(uri, Some("http://minio.aim-system.svc:9000"))
        .expect("override");
    assert_eq!(got.bytes, size(rig, "MISTRAL"));
    let mut vars = keys_env(rig, rig.get("RIG_AWS_SECRET_ACCESS_KEY"));
    vars.push(("AWS_ENDPOINT_URL", endpoint));
    let got = online(env(&vars))
        .s3_usage(uri, None)
        .expect("AWS_ENDPOINT_URL");
    assert_eq!(got.bytes, size(rig, "MISTRAL"));
}

#[test]
fn a_wrong_secret_names_the_bucket_and_endpoint_never_the_secret() {
    let Some(rig) = rig::rig() else { return };
    let secret = "wrong-secret-93b1f0c2aa";
    let endpoint = rig.get("RIG_S3_ENDPOINT");
    let err = online(env(&keys_env(rig, secret)))
        .s3_usage(rig.get("RIG_S3_URI_LLAMA"), Some(endpoint))
        .expect_err("wrong secret");
    let text = format!("{err} {err:?}");
    assert!(
        err.subject.contains("models") && err.subject.contains(endpoint),
        "{text}"
    );
    assert!(err.reason.contains("SignatureDoesNotMatch"), "{text}");
    assert!(err
        .credential
        .as_deref()
        .is_some_and(|c| c.contains("AWS_SECRET_ACCESS_KEY")));
    assert!(!text.contains(secret), "{text}");
    assert!(!err.transient);
}

#[test]
fn no_keys_is_an_error_saying_which_variables_to_set() {
    let Some(rig) = rig::rig() else { return };
    // moto answers an unsigned request with a 500 HTML page (README trap 7), AWS with 403.
    let err = online(env(&[]))
        .s3_usage(
            rig.get("RIG_S3_URI_LLAMA"),
            Some(rig.get("RIG_S3_ENDPOINT")),
        )
        .expect_err("unsigned");
    assert!(err.reason.contains("AWS_ACCESS_KEY_ID"), "{err}");
    assert_eq!(err.credential, None);
}

#[test]
fn a_closed_endpoint_is_transient() {
    let Some(rig) = rig::rig() else { return };
    let err = client(rig)
        .s3_usage(rig.get("RIG_S3_URI_LLAMA"), Some("http://127.0.0.1:1"))
        .expect_err("closed port");
    assert!(err.transient, "{err}");
    assert!(err.to_string().contains("127.0.0.1:1"), "{err}");
}
