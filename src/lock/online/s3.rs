//! The size of an `s3://bucket/key` source (lock.md "Sizes"): ListObjectsV2 with
//! `prefix=<key>` as written (no slash added: what `s3cmd du` counts), every page, path-style,
//! SigV4-signed with the keys from the environment.

use super::http::{Request, Response};
use super::sigv4::{self, Keys, Signed};
use super::{transport_error, Online};
use crate::lock::{FetchError, S3Usage};
use std::time::{SystemTime, UNIX_EPOCH};

const CREDENTIAL_SOURCE: &str = "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY";
/// A listing that pages forever is cut here (10^8 objects at 1000 a page).
const MAX_PAGES: usize = 100_000;

/// One ListObjectsV2 page, parsed.
#[derive(Debug, Default, PartialEq, Eq)]
struct Page {
    /// (key, size) of every `Contents`.
    objects: Vec<(String, u64)>,
    next_token: Option<String>,
}

impl Online {
    pub(super) fn s3_list_usage(
        &self,
        uri: &str,
        endpoint: Option<&str>,
    ) -> Result<S3Usage, FetchError> {
        let (bucket, key) = parse_s3_uri(uri).ok_or_else(|| {
            FetchError::new(format!("s3 source {uri}"), "not an s3://bucket/key URI")
        })?;
        let endpoint = self.s3_endpoint_for(endpoint);
        let subject = format!("s3 bucket {bucket} (endpoint {endpoint}): prefix {key:?}");
        let mut usage = S3Usage {
            bytes: 0,
            bytes_below_slash: 0,
            objects: 0,
        };
        let below = format!("{key}/");
        let mut token: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let page = self.s3_page(&subject, &endpoint, bucket, key, token.as_deref())?;
            for (k, size) in &page.objects {
                usage.bytes = usage.bytes.saturating_add(*size);
                usage.objects += 1;
                if key.is_empty() || key.ends_with('/') || k.starts_with(&below) {
                    usage.bytes_below_slash = usage.bytes_below_slash.saturating_add(*size);
                }
            }
            match page.next_token {
                Some(next) if token.as_deref() != Some(next.as_str()) => token = Some(next),
                _ => return Ok(usage),
            }
        }
        Err(FetchError::new(subject, "the listing does not end"))
    }

    /// `--s3-endpoint`, else the source's endpoint, else `AWS_ENDPOINT_URL`, else AWS.
    fn s3_endpoint_for(&self, endpoint: Option<&str>) -> String {
        let region = self.s3_region();
        self.s3_endpoint
            .as_deref()
            .or(endpoint)
            .or(self.env.get("AWS_ENDPOINT_URL").map(String::as_str))
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .map_or_else(
                || format!("https://s3.{region}.amazonaws.com"),
                |e| e.trim_end_matches('/').to_string(),
            )
    }

    fn s3_region(&self) -> String {
        ["AWS_REGION", "AWS_DEFAULT_REGION"]
            .iter()
            .filter_map(|k| self.env.get(*k))
            .find(|v| !v.is_empty())
            .cloned()
            .unwrap_or_else(|| "us-east-1".to_string())
    }

    fn s3_keys(&self) -> Option<Keys<'_>> {
        let get = |k: &str| {
            self.env
                .get(k)
                .map(String::as_str)
                .filter(|v| !v.is_empty())
        };
        Some(Keys {
            access_key: get("AWS_ACCESS_KEY_ID")?,
            secret_key: get("AWS_SECRET_ACCESS_KEY")?,
            session_token: get("AWS_SESSION_TOKEN"),
        })
    }

    fn s3_page(
        &self,
        subject: &str,
        endpoint: &str,
        bucket: &str,
        key: &str,
        token: Option<&str>,
    ) -> Result<Page, FetchError> {
        let mut query = vec![("list-type", "2"), ("prefix", key)];
        if let Some(t) = token {
            query.push(("continuation-token", t));
        }
        let path = format!("/{}", super::http::encode(bucket));
        let url = format!("{endpoint}{path}?{}", sigv4::canonical_query(&query));
        let mut req = Request::get(&url);
        req.allow_plain_http = endpoint.starts_with("http://");
        let keys = self.s3_keys();
        let source = keys.as_ref().map(|_| CREDENTIAL_SOURCE.to_string());
        if let Some(keys) = &keys {
            let host = host_header(endpoint);
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            let signed = Signed {
                host: &host,
                path: &path,
                query: &query,
                region: &self.s3_region(),
                amz_date: &sigv4::amz_date(now),
            };
            req.headers = sigv4::sign_get(&signed, keys);
        }
        let resp = self
            .http
            .send(&req)
            .map_err(|e| transport_error(subject, &e, source.clone()))?;
        if resp.status != 200 {
            return Err(s3_error(subject, &resp, source));
        }
        let text = String::from_utf8(resp.body).map_err(|_| {
            FetchError::new(subject, "the listing is not UTF-8").credential(source.clone())
        })?;
        Ok(parse_page(&text))
    }
}

/// `s3://bucket/key` → (bucket, key); the key may be empty (the whole bucket).
fn parse_s3_uri(uri: &str) -> Option<(&str, &str)> {
    let rest = uri.trim().strip_prefix("s3://")?;
    let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
    (!bucket.is_empty()).then_some((bucket, key))
}

/// The `Host` header ureq would send: the authority without a default port.
fn host_header(endpoint: &str) -> String {
    let authority = super::http::authority_of(endpoint).unwrap_or_default();
    let default_port = if endpoint.starts_with("https://") {
        ":443"
    } else {
        ":80"
    };
    authority
        .strip_suffix(default_port)
        .unwrap_or(authority)
        .to_string()
}

fn s3_error(subject: &str, resp: &Response, source: Option<String>) -> FetchError {
    let text = String::from_utf8_lossy(&resp.body);
    let code = first(&text, "Code").map(unescape);
    let reason = match code.as_deref() {
        Some(c @ ("SignatureDoesNotMatch" | "InvalidAccessKeyId")) => format!(
            "{c}: the endpoint refused the key pair; check AWS_ACCESS_KEY_ID and \
             AWS_SECRET_ACCESS_KEY"
        ),
        Some("AccessDenied") => "AccessDenied: the key may not list this bucket".to_string(),
        Some("NoSuchBucket") => "NoSuchBucket: the bucket does not exist".to_string(),
        Some(c) => format!("{c} ({})", resp.status),
        None if source.is_none() && (resp.status == 403 || resp.status >= 500) => format!(
            "the endpoint answered {} to an unsigned request: set AWS_ACCESS_KEY_ID and \
             AWS_SECRET_ACCESS_KEY",
            resp.status
        ),
        None => format!("the endpoint answered {}", resp.status),
    };
    FetchError::new(subject, reason)
        .credential(source)
        .transient(resp.status == 429 || resp.status >= 500)
}

fn parse_page(xml: &str) -> Page {
    let objects = elements(xml, "Contents")
        .filter_map(|c| {
            let key = unescape(first(c, "Key")?);
            let size = first(c, "Size")?.trim().parse().ok()?;
            Some((key, size))
        })
        .collect();
    let truncated = first(xml, "IsTruncated").is_some_and(|t| t.trim() == "true");
    let next_token = first(xml, "NextContinuationToken")
        .filter(|_| truncated)
        .map(unescape);
    Page {
        objects,
        next_token,
    }
}

/// The text of every `<name>…</name>` (not nested in itself), in order. S3's answer is flat
/// enough that this is all the XML it needs; element order varies (moto puts `Name` last).
fn elements<'a>(xml: &'a str, name: &str) -> impl Iterator<Item = &'a str> {
    let open = format!("<{name}>");
    let close = format!("</{name}>");
    let mut rest = xml;
    std::iter::from_fn(move || {
        let start = rest.find(&open)? + open.len();
        let len = rest[start..].find(&close)?;
        let inner = &rest[start..start + len];
        rest = &rest[start + len + close.len()..];
        Some(inner)
    })
}

fn first<'a>(xml: &'a str, name: &str) -> Option<&'a str> {
    elements(xml, name).next()
}

/// XML's five entities and character references; anything else stays as written.
fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let Some(end) = rest.find(';') else { break };
        let entity = &rest[1..end];
        let decoded = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => entity
                .strip_prefix("#x")
                .map(|h| u32::from_str_radix(h, 16))
                .or_else(|| entity.strip_prefix('#').map(str::parse))
                .and_then(Result::ok)
                .and_then(char::from_u32),
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><IsTruncated>true</IsTruncated><Contents><Key>llama-v2/notes&amp;changes.txt</Key><LastModified>2026-12-03T13:51:11.000Z</LastModified><ETag>"014d"</ETag><Size>800</Size></Contents><Contents><Key>llama-v2/ünïcødé.txt</Key><Size>12</Size></Contents><Name>models</Name><Prefix>llama</Prefix><KeyCount>2</KeyCount><NextContinuationToken>0e3f&amp;x</NextContinuationToken></ListBucketResult>"#;

    #[test]
    fn a_moto_page() {
        let page = parse_page(PAGE);
        assert_eq!(
            page.objects,
            vec![
                ("llama-v2/notes&changes.txt".to_string(), 800),
                ("llama-v2/ünïcødé.txt".to_string(), 12)
            ]
        );
        assert_eq!(page.next_token.as_deref(), Some("0e3f&x"));
        let last = PAGE.replace("<IsTruncated>true", "<IsTruncated>false");
        assert_eq!(parse_page(&last).next_token, None);
    }

    #[test]
    fn entities() {
        assert_eq!(
            unescape("a&amp;b&lt;&#233;&#xFC;&bogus;&"),
            "a&b<éü&bogus;&"
        );
    }

    #[test]
    fn uris_and_hosts() {
        assert_eq!(parse_s3_uri("s3://models/llama"), Some(("models", "llama")));
        assert_eq!(parse_s3_uri("s3://models"), Some(("models", "")));
        assert_eq!(parse_s3_uri("s3://models/a/b/"), Some(("models", "a/b/")));
        assert_eq!(parse_s3_uri("hf://x/y"), None);
        assert_eq!(host_header("http://127.0.0.1:9000"), "127.0.0.1:9000");
        assert_eq!(
            host_header("https://s3.us-east-1.amazonaws.com:443"),
            "s3.us-east-1.amazonaws.com"
        );
    }

    #[test]
    fn errors_name_the_code_not_the_secret() {
        let resp = Response {
            status: 403,
            headers: Default::default(),
            body:
                b"<Error><Code>SignatureDoesNotMatch</Code><BucketName>models</BucketName></Error>"
                    .to_vec(),
            url: String::new(),
        };
        let e = s3_error("s3 bucket models", &resp, Some(CREDENTIAL_SOURCE.into()));
        assert!(e.reason.contains("SignatureDoesNotMatch"));
        assert!(!e.transient);
    }
}
