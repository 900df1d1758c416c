//! AWS Signature Version 4 header signing for S3 GETs with an empty body: the few lines that
//! `aws-sigv4` would bring a dependency tree for. moto (and S3) require
//! `x-amz-content-sha256` among the signed headers (tests/rig/README.md).

use super::http::encode;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

/// sha256 of the empty body.
pub const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

pub struct Keys<'a> {
    pub access_key: &'a str,
    pub secret_key: &'a str,
    pub session_token: Option<&'a str>,
}

pub struct Signed<'a> {
    /// The `Host` header exactly as sent.
    pub host: &'a str,
    /// The path, already percent-encoded as sent (`/bucket`).
    pub path: &'a str,
    /// The query parameters, unencoded; they are encoded and sorted here.
    pub query: &'a [(&'a str, &'a str)],
    pub region: &'a str,
    /// `20130524T000000Z`.
    pub amz_date: &'a str,
}

/// The query string to send: the same bytes the signature covers.
pub fn canonical_query(query: &[(&str, &str)]) -> String {
    let mut pairs: Vec<(String, String)> =
        query.iter().map(|(k, v)| (encode(k), encode(v))).collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// The headers to send with a GET: `host`, `x-amz-date`, `x-amz-content-sha256`, the session token when
/// there is one, and `authorization`.
pub fn sign_get(req: &Signed<'_>, keys: &Keys<'_>) -> Vec<(&'static str, String)> {
    let mut headers = vec![
        ("host", req.host.to_string()),
        ("x-amz-content-sha256", EMPTY_SHA256.to_string()),
        ("x-amz-date", req.amz_date.to_string()),
    ];
    if let Some(token) = keys.session_token {
        headers.push(("x-amz-security-token", token.to_string()));
    }
    let signed_headers = headers
        .iter()
        .map(|(k, _)| *k)
        .collect::<Vec<_>>()
        .join(";");
    let canonical_headers: String = headers
        .iter()
        .map(|(k, v)| format!("{k}:{}\n", v.trim()))
        .collect();
    let canonical_request = format!(
        "GET\n{}\n{}\n{canonical_headers}\n{signed_headers}\n{EMPTY_SHA256}",
        req.path,
        canonical_query(req.query)
    );
    let date = &req.amz_date[..req.amz_date.len().min(8)];
    let scope = format!("{date}/{}/s3/aws4_request", req.region);
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{}\n{scope}\n{}",
        req.amz_date,
        hex(&Sha256::digest(canonical_request.as_bytes()))
    );
    let mut key = hmac(
        format!("AWS4{}", keys.secret_key).as_bytes(),
        date.as_bytes(),
    );
    for part in [req.region, "s3", "aws4_request"] {
        key = hmac(&key, part.as_bytes());
    }
    let signature = hex(&hmac(&key, string_to_sign.as_bytes()));
    headers.push((
        "authorization",
        format!(
            "AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders={signed_headers}, \
             Signature={signature}",
            keys.access_key
        ),
    ));
    headers
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    // new_from_slice fails only for fixed-size-key MACs; HMAC takes a key of any length.
    let mut mac = match Hmac::<Sha256>::new_from_slice(key) {
        Ok(m) => m,
        Err(_) => unreachable!("HMAC accepts any key length"),
    };
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `YYYYMMDDTHHMMSSZ` for a Unix time, without a date crate.
pub fn amz_date(unix_secs: u64) -> String {
    let days = (unix_secs / 86_400) as i64;
    let secs = unix_secs % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}{month:02}{day:02}T{:02}{:02}{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// AWS's published example "GET Bucket (List Objects)" of header-based SigV4 for S3
    /// (Signature Calculations for the Authorization Header: Transferring Payload in a Single
    /// Chunk), with its example key pair.
    #[test]
    fn aws_published_list_objects_example() {
        let headers = sign_get(
            &Signed {
                host: "examplebucket.s3.amazonaws.com",
                path: "/",
                query: &[("prefix", "J"), ("max-keys", "2")],
                region: "us-east-1",
                amz_date: "20130524T000000Z",
            },
            &Keys {
                access_key: "AKIAIOSFODNN7EXAMPLE",
                secret_key: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                session_token: None,
            },
        );
        let auth = &headers
            .iter()
            .find(|(k, _)| *k == "authorization")
            .expect("auth")
            .1;
        assert_eq!(
            auth,
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, \
             SignedHeaders=host;x-amz-content-sha256;x-amz-date, \
             Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7"
        );
    }

    #[test]
    fn query_is_encoded_and_sorted() {
        assert_eq!(
            canonical_query(&[
                ("prefix", "a b/ü&"),
                ("list-type", "2"),
                ("continuation-token", "x=y")
            ]),
            "continuation-token=x%3Dy&list-type=2&prefix=a%20b%2F%C3%BC%26"
        );
    }

    #[test]
    fn session_token_is_signed() {
        let headers = sign_get(
            &Signed {
                host: "h",
                path: "/b",
                query: &[],
                region: "us-east-1",
                amz_date: "20260101T000000Z",
            },
            &Keys {
                access_key: "AK",
                secret_key: "SK",
                session_token: Some("TOKEN"),
            },
        );
        let auth = &headers
            .iter()
            .find(|(k, _)| *k == "authorization")
            .expect("auth")
            .1;
        assert!(auth
            .contains("SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-security-token"));
        assert!(headers
            .iter()
            .any(|(k, v)| *k == "x-amz-security-token" && v == "TOKEN"));
    }

    #[test]
    fn dates() {
        assert_eq!(amz_date(0), "19700101T000000Z");
        assert_eq!(amz_date(1_369_353_600), "20130524T000000Z");
        assert_eq!(amz_date(951_825_599), "20000229T115959Z");
    }
}
