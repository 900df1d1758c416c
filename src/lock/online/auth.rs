//! Registry v2 auth (lock.md "Transport"): try, read the `WWW-Authenticate` challenge, answer
//! `Basic` with the keychain's credential or `Bearer` with a token from the realm, try again.
//! Tokens are cached per (registry, scope) for the whole run.

use super::http::{encode, Method, Request, Response};
use super::keychain::{self, Credential, Secret};
use super::{transport_error, Online};
use crate::lock::FetchError;

/// What a registry request is about: the keychain key and the token scope follow from it.
pub(super) struct Target<'a> {
    /// As ggcr names it (`index.docker.io`, `127.0.0.1:5000`).
    pub registry: &'a str,
    /// `None` for the catalog.
    pub repository: Option<&'a str>,
    /// For errors: `registry 127.0.0.1:5000: image …`.
    pub subject: &'a str,
}

impl Target<'_> {
    fn scope(&self) -> String {
        match self.repository {
            Some(repo) => format!("repository:{repo}:pull"),
            None => "registry:catalog:*".to_string(),
        }
    }
}

/// An `Authorization` value that worked, and where its credential came from.
#[derive(Clone)]
pub(super) struct CachedAuth {
    header: String,
    source: Option<String>,
}

/// A registry answer (never a 401), with the source of the credential used, if any.
pub(super) struct Authed {
    pub resp: Response,
    pub credential: Option<String>,
}

#[derive(Debug, PartialEq, Eq)]
pub(super) struct Challenge {
    pub scheme: String,
    pub params: Vec<(String, String)>,
}

impl Challenge {
    pub fn param(&self, key: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_str())
    }
}

/// `Bearer realm="…",service="…",scope="repository:a/b:pull,push"`: commas inside quotes
/// belong to the value.
pub(super) fn parse_challenge(header: &str) -> Option<Challenge> {
    let header = header.trim();
    let (scheme, rest) = header.split_once(' ').unwrap_or((header, ""));
    if scheme.is_empty() {
        return None;
    }
    let mut params = Vec::new();
    let mut chars = rest.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| *c == ',' || c.is_whitespace()) {
            chars.next();
        }
        let key: String = chars.by_ref().take_while(|c| *c != '=').collect();
        if key.trim().is_empty() {
            break;
        }
        let mut value = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => value.extend(chars.next()),
                    '"' => break,
                    c => value.push(c),
                }
            }
        } else {
            value = chars.by_ref().take_while(|c| *c != ',').collect();
        }
        params.push((key.trim().to_string(), value.trim().to_string()));
    }
    Some(Challenge {
        scheme: scheme.to_ascii_lowercase(),
        params,
    })
}

impl Online {
    /// GET `url` on a registry, answering its challenge once. A 401 after that is an error
    /// naming the credential's source (or saying there was none).
    pub(super) fn registry_get(
        &self,
        target: &Target<'_>,
        url: &str,
        accept: Option<&str>,
    ) -> Result<Authed, FetchError> {
        let key = (target.registry.to_string(), target.scope());
        let cached = self.cached_auth(&key);
        let resp = self.registry_send(target, url, accept, cached.as_ref())?;
        if resp.status != 401 {
            let credential = cached.and_then(|c| c.source);
            return Ok(Authed { resp, credential });
        }
        let challenge = resp
            .header("www-authenticate")
            .and_then(parse_challenge)
            .ok_or_else(|| {
                FetchError::new(target.subject, "401 without a WWW-Authenticate challenge")
            })?;
        let cred = keychain::lookup(&self.env, target.registry, target.repository)
            .map_err(|e| FetchError::new(target.subject, e))?;
        let source = cred.as_ref().map(|c| c.source.clone());
        let header = match challenge.scheme.as_str() {
            "basic" => cred
                .as_ref()
                .and_then(Credential::basic_header)
                .ok_or_else(|| no_credentials(target, source.clone()))?,
            "bearer" => self.fetch_token(target, &challenge, cred.as_ref())?,
            other => {
                return Err(FetchError::new(
                    target.subject,
                    format!("unsupported auth scheme `{other}` in the registry's challenge"),
                ))
            }
        };
        let auth = CachedAuth { header, source };
        let resp = self.registry_send(target, url, accept, Some(&auth))?;
        if resp.status == 401 {
            return Err(refused(target, auth.source, &resp));
        }
        self.lock_tokens().insert(key, auth.clone());
        Ok(Authed {
            resp,
            credential: auth.source,
        })
    }

    fn registry_send(
        &self,
        target: &Target<'_>,
        url: &str,
        accept: Option<&str>,
        auth: Option<&CachedAuth>,
    ) -> Result<Response, FetchError> {
        let mut req = Request::get(url).authorization(auth.map(|a| a.header.clone()));
        if let Some(accept) = accept {
            req = req.header("accept", accept);
        }
        self.http
            .send(&req)
            .map_err(|e| transport_error(target.subject, &e, auth.and_then(|a| a.source.clone())))
    }

    fn cached_auth(&self, key: &(String, String)) -> Option<CachedAuth> {
        self.lock_tokens().get(key).cloned()
    }

    fn lock_tokens(
        &self,
    ) -> std::sync::MutexGuard<'_, std::collections::BTreeMap<(String, String), CachedAuth>> {
        // A panic elsewhere while holding the lock leaves a usable map: tokens are only cached.
        self.tokens.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A token from the challenge's realm: OAuth2 refresh for an identity token, GET with Basic
    /// for a user and password, an anonymous GET otherwise.
    fn fetch_token(
        &self,
        target: &Target<'_>,
        challenge: &Challenge,
        cred: Option<&Credential>,
    ) -> Result<String, FetchError> {
        let source = cred.map(|c| c.source.clone());
        let realm = challenge
            .param("realm")
            .ok_or_else(|| FetchError::new(target.subject, "Bearer challenge without a realm"))?;
        let scope = challenge
            .param("scope")
            .map_or_else(|| target.scope(), str::to_string);
        let service = challenge.param("service").unwrap_or_default();
        let req = token_request(realm, service, &scope, cred);
        let resp = self
            .http
            .send(&req)
            .map_err(|e| transport_error(target.subject, &e, source.clone()))?;
        match resp.status {
            200 => read_token(&resp).ok_or_else(|| {
                FetchError::new(
                    target.subject,
                    format!("the token server {realm} answered without a token"),
                )
                .credential(source)
            }),
            401 | 403 if source.is_some() => Err(FetchError::new(
                target.subject,
                format!(
                    "authentication failed: the token server {realm} refused the credentials \
                     ({})",
                    resp.status
                ),
            )
            .credential(source)),
            401 | 403 => Err(no_credentials(target, None)),
            status => Err(FetchError::new(
                target.subject,
                format!(
                    "the token server {realm} answered {status}: {}",
                    resp.body_snippet()
                ),
            )
            .credential(source)
            .transient(status == 429 || status >= 500)),
        }
    }
}

fn token_request(realm: &str, service: &str, scope: &str, cred: Option<&Credential>) -> Request {
    let sep = if realm.contains('?') { '&' } else { '?' };
    let get = Request::get(format!(
        "{realm}{sep}service={}&scope={}",
        encode(service),
        encode(scope)
    ));
    match cred.map(|c| (&c.secret, c)) {
        Some((Secret::IdentityToken { token, .. }, _)) => Request {
            method: Method::Post,
            url: realm.to_string(),
            headers: Vec::new(),
            authorization: None,
            form: Some(format!(
                "grant_type=refresh_token&refresh_token={}&service={}&scope={}&client_id=aimc",
                encode(token),
                encode(service),
                encode(scope)
            )),
            allow_plain_http: false,
        },
        Some((Secret::Basic { .. }, c)) => get.authorization(c.basic_header()),
        None => get,
    }
}

/// `token` (Docker) or `access_token` (OAuth2); the GET answer has both.
fn read_token(resp: &Response) -> Option<String> {
    let v: serde_json::Value = serde_json::from_slice(&resp.body).ok()?;
    ["token", "access_token"]
        .iter()
        .filter_map(|k| v.get(*k)?.as_str())
        .find(|t| !t.is_empty())
        .map(|t| format!("Bearer {t}"))
}

fn no_credentials(target: &Target<'_>, source: Option<String>) -> FetchError {
    let r = target.registry;
    let reason = match &source {
        Some(_) => format!(
            "authentication required, and the credential found for {r} is not usable for \
             this challenge"
        ),
        None => format!(
            "authentication required and no credentials for {r}: run `docker login {r}` or \
             set DOCKER_CONFIG"
        ),
    };
    FetchError::new(target.subject, reason).credential(source)
}

fn refused(target: &Target<'_>, source: Option<String>, resp: &Response) -> FetchError {
    if source.is_none() {
        return no_credentials(target, None);
    }
    let insufficient = resp
        .header("www-authenticate")
        .and_then(parse_challenge)
        .is_some_and(|c| c.param("error") == Some("insufficient_scope"));
    let reason = if insufficient {
        format!(
            "authentication failed: the credentials are not authorised for {}",
            target.scope()
        )
    } else {
        format!(
            "authentication failed: {} refused the credentials",
            target.registry
        )
    };
    FetchError::new(target.subject, reason).credential(source)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_challenge_with_quoted_commas() {
        let c = parse_challenge(
            r#"Bearer realm="http://127.0.0.1:1/token",service="svc",scope="repository:a/b:pull,push",error="insufficient_scope""#,
        )
        .expect("parsed");
        assert_eq!(c.scheme, "bearer");
        assert_eq!(c.param("realm"), Some("http://127.0.0.1:1/token"));
        assert_eq!(c.param("service"), Some("svc"));
        assert_eq!(c.param("scope"), Some("repository:a/b:pull,push"));
        assert_eq!(c.param("error"), Some("insufficient_scope"));
    }

    #[test]
    fn basic_challenge_and_unquoted_values() {
        let c = parse_challenge(r#"Basic realm="aimc-rig-basic""#).expect("parsed");
        assert_eq!(c.scheme, "basic");
        assert_eq!(c.param("realm"), Some("aimc-rig-basic"));
        let c = parse_challenge("Bearer realm=https://auth.example/token, service=reg")
            .expect("parsed");
        assert_eq!(c.param("realm"), Some("https://auth.example/token"));
        assert_eq!(c.param("service"), Some("reg"));
        assert!(parse_challenge("").is_none());
    }

    #[test]
    fn identity_tokens_are_refreshed_with_a_post_basic_users_get() {
        let cred = |secret| Credential {
            secret,
            source: "f".into(),
        };
        let refresh = cred(Secret::IdentityToken {
            username: String::new(),
            token: "r/t".into(),
        });
        let req = token_request(
            "https://auth/token",
            "svc",
            "repository:a/b:pull",
            Some(&refresh),
        );
        assert_eq!(req.method, Method::Post);
        assert_eq!(
            req.form.as_deref(),
            Some("grant_type=refresh_token&refresh_token=r%2Ft&service=svc&scope=repository%3Aa%2Fb%3Apull&client_id=aimc")
        );
        let basic = cred(Secret::Basic {
            username: "u".into(),
            password: "p".into(),
        });
        let req = token_request("https://auth/token?x=1", "svc", "s", Some(&basic));
        assert_eq!(req.method, Method::Get);
        assert_eq!(req.url, "https://auth/token?x=1&service=svc&scope=s");
        assert_eq!(req.authorization.as_deref(), Some("Basic dTpw"));
        assert_eq!(
            token_request("https://a/t", "s", "s", None).authorization,
            None
        );
    }

    #[test]
    fn token_answers() {
        let resp = |body: &str| Response {
            status: 200,
            headers: Default::default(),
            body: body.as_bytes().to_vec(),
            url: String::new(),
        };
        assert_eq!(
            read_token(&resp(r#"{"token":"a","access_token":"a"}"#)).as_deref(),
            Some("Bearer a")
        );
        assert_eq!(
            read_token(&resp(r#"{"access_token":"b"}"#)).as_deref(),
            Some("Bearer b")
        );
        assert_eq!(read_token(&resp(r#"{"token":""}"#)), None);
    }
}
