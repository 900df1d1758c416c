//! The size of an `hf://org/name` source (lock.md "Sizes"): the Hub's model API with
//! `?blobs=true`, the sum of `siblings[].size` (a missing size counts 0). Range checks are the
//! caller's: the raw sum comes back.

use super::http::{Request, Response};
use super::{transport_error, Online};
use crate::lock::FetchError;
use serde_json::Value;

const DEFAULT_ENDPOINT: &str = "https://huggingface.co";
const TOKEN_SOURCE: &str = "HF_TOKEN";

impl Online {
    pub(super) fn hf_model_size(&self, uri: &str) -> Result<u64, FetchError> {
        let endpoint = self
            .env
            .get("HF_ENDPOINT")
            .map(|e| e.trim().trim_end_matches('/'))
            .filter(|e| !e.is_empty())
            .unwrap_or(DEFAULT_ENDPOINT);
        let repo = parse_hf_uri(uri).ok_or_else(|| {
            FetchError::new(
                format!("Hugging Face Hub {endpoint}: {uri}"),
                "not an hf://org/name URI",
            )
        })?;
        let subject = format!("Hugging Face Hub {endpoint}: repo {repo}");
        let token = self.env.get("HF_TOKEN").filter(|t| !t.trim().is_empty());
        let source = token.map(|_| TOKEN_SOURCE.to_string());
        let mut req = Request::get(format!("{endpoint}/api/models/{repo}?blobs=true"))
            .header("accept", "application/json")
            .authorization(token.map(|t| format!("Bearer {}", t.trim())));
        req.allow_plain_http = endpoint.starts_with("http://");
        let resp = self
            .http
            .send(&req)
            .map_err(|e| transport_error(&subject, &e, source.clone()))?;
        if resp.status != 200 {
            return Err(hf_error(&subject, endpoint, repo, &resp, source));
        }
        let info: Value = serde_json::from_slice(&resp.body).map_err(|e| {
            FetchError::new(&subject, format!("the model info is not JSON: {e}"))
                .credential(source.clone())
        })?;
        Ok(sum_sizes(&info))
    }
}

/// `hf://org/name`, `hf://org/name@revision` or `hf://name` → the repo id. The size is the
/// repo's default branch's, as the operator's check-size Job reads it.
fn parse_hf_uri(uri: &str) -> Option<&str> {
    let rest = uri.trim().strip_prefix("hf://")?;
    let repo = rest.split('@').next().unwrap_or(rest).trim_end_matches('/');
    let parts: Vec<&str> = repo.split('/').collect();
    let valid = |p: &str| {
        !p.is_empty()
            && p.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    };
    (matches!(parts.len(), 1 | 2) && parts.iter().all(|p| valid(p))).then_some(repo)
}

fn sum_sizes(info: &Value) -> u64 {
    info.get("siblings")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|s| s.get("size")?.as_u64())
        .fold(0u64, u64::saturating_add)
}

/// 401/403/404 explained with the Hub's `X-Error-Code`; the token is named, never shown.
fn hf_error(
    subject: &str,
    endpoint: &str,
    repo: &str,
    resp: &Response,
    source: Option<String>,
) -> FetchError {
    let code = resp.header("x-error-code").unwrap_or_default();
    let with_token = source.is_some();
    let reason = match (resp.status, code, with_token) {
        (401 | 403, "GatedRepo", false) => format!(
            "{repo} is gated: set HF_TOKEN to a token of an account that has access \
             ({endpoint}/{repo})"
        ),
        (401 | 403, "GatedRepo", true) => format!(
            "{repo} is gated and the token in HF_TOKEN has no access: ask for it at \
             {endpoint}/{repo}"
        ),
        (401 | 403, _, false) => format!(
            "{repo} is private or does not exist ({}): set HF_TOKEN to a token that can read it",
            resp.status
        ),
        (401 | 403, _, true) => format!(
            "{repo} is private or does not exist, and the token in HF_TOKEN cannot read it ({})",
            resp.status
        ),
        (404, _, _) => format!("{repo} not found (404)"),
        (status, _, _) => format!("the Hub answered {status}: {}", resp.body_snippet()),
    };
    FetchError::new(subject, reason)
        .credential(source)
        .transient(resp.status == 429 || resp.status >= 500)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn uris() {
        assert_eq!(parse_hf_uri("hf://amd/x-1.0"), Some("amd/x-1.0"));
        assert_eq!(parse_hf_uri("hf://amd/x@main"), Some("amd/x"));
        assert_eq!(parse_hf_uri("hf://gpt2"), Some("gpt2"));
        assert_eq!(parse_hf_uri("hf://a/b/c"), None);
        assert_eq!(parse_hf_uri("hf://a/../b"), None);
        assert_eq!(parse_hf_uri("s3://a/b"), None);
    }

    #[test]
    fn missing_sizes_count_zero() {
        let info = json!({"siblings": [{"rfilename": "a", "size": 1200}, {"rfilename": "b"},
            {"rfilename": "c", "size": 2000000000, "lfs": {"size": 2000000000}}]});
        assert_eq!(sum_sizes(&info), 2_000_001_200);
        assert_eq!(sum_sizes(&json!({})), 0);
    }
}
