//! The one HTTP layer of `aimc lock` (style.md §2): timeouts, bounded retries, proxies, the
//! plain-http policy and redirects that drop `Authorization` when the host changes. Clients
//! above it see a [`Response`] whatever its status, or an [`HttpError`].

use std::collections::BTreeMap;
use std::time::Duration;
use ureq::http::Uri;
use ureq::{Agent, Proxy};

/// Tries per request, the first included: a flaky registry gets two more chances.
const TRIES: u32 = 3;
/// The first backoff; it doubles on each retry.
const BACKOFF: Duration = Duration::from_millis(250);
/// A `Retry-After` longer than this is not waited for: the error is reported instead.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(10);
const MAX_REDIRECTS: u32 = 5;
/// Manifests, configs, token and API answers are small; a listing page of 1000 keys is ~300 KB.
const BODY_LIMIT: u64 = 64 << 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
}

/// One request. `authorization` is kept apart from `headers` so that a redirect to another
/// host can drop it.
pub struct Request {
    pub method: Method,
    pub url: String,
    pub headers: Vec<(&'static str, String)>,
    pub authorization: Option<String>,
    /// A `POST` body, sent as `application/x-www-form-urlencoded`.
    pub form: Option<String>,
    /// Plain http to any host: the user wrote an `http://` endpoint for S3 or the Hub.
    pub allow_plain_http: bool,
}

impl Request {
    pub fn get(url: impl Into<String>) -> Self {
        Request {
            method: Method::Get,
            url: url.into(),
            headers: Vec::new(),
            authorization: None,
            form: None,
            allow_plain_http: false,
        }
    }
    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }
    pub fn authorization(mut self, value: Option<String>) -> Self {
        self.authorization = value;
        self
    }
}

// Debug by hand: the Authorization value never reaches a log or a panic message.
impl std::fmt::Debug for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Request")
            .field("method", &self.method)
            .field("url", &self.url)
            .field(
                "authorization",
                &self.authorization.as_ref().map(|_| "<redacted>"),
            )
            .finish_non_exhaustive()
    }
}

#[derive(Debug)]
pub struct Response {
    pub status: u16,
    /// Header names lower-cased; a repeated header keeps its last value.
    pub headers: BTreeMap<String, String>,
    pub body: Vec<u8>,
    /// The URL that answered, after redirects: relative `Link` paths resolve against it.
    pub url: String,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }
    /// The start of the body as text, for error messages.
    pub fn body_snippet(&self) -> String {
        let text = String::from_utf8_lossy(&self.body);
        let text = text.trim();
        match text.char_indices().nth(300) {
            Some((i, _)) => format!("{}…", &text[..i]),
            None => text.to_string(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HttpError {
    /// Refused before sending: a bad URL, or plain http to a host that is not allowed it.
    Refused(String),
    /// DNS, connection, TLS, timeout or a broken answer: worth another try later.
    Transport(String),
}

impl HttpError {
    pub fn message(&self) -> &str {
        match self {
            HttpError::Refused(m) | HttpError::Transport(m) => m,
        }
    }
    pub fn transient(&self) -> bool {
        matches!(self, HttpError::Transport(_))
    }
}

/// The environment and options the layer reads, snapshotted by the caller.
pub struct HttpConfig<'a> {
    pub timeout: Duration,
    pub insecure_hosts: &'a [String],
    pub env: &'a BTreeMap<String, String>,
}

pub struct Http {
    direct: Agent,
    https_proxy: Option<Agent>,
    http_proxy: Option<Agent>,
    no_proxy: Vec<String>,
    insecure_hosts: Vec<String>,
    backoff: Duration,
}

fn env_first<'a>(env: &'a BTreeMap<String, String>, keys: &[&str]) -> Option<&'a str> {
    keys.iter()
        .filter_map(|k| env.get(*k))
        .map(|v| v.trim())
        .find(|v| !v.is_empty())
}

impl Http {
    pub fn new(cfg: &HttpConfig<'_>) -> Result<Http, String> {
        let proxied = |keys: &[&str]| -> Result<Option<Agent>, String> {
            match env_first(cfg.env, keys) {
                None => Ok(None),
                Some(url) => {
                    let proxy = Proxy::new(url)
                        .map_err(|e| format!("{}: not a proxy URL: {e}", keys[0]))?;
                    Ok(Some(agent(cfg.timeout, Some(proxy))))
                }
            }
        };
        Ok(Http {
            direct: agent(cfg.timeout, None),
            https_proxy: proxied(&["HTTPS_PROXY", "https_proxy"])?,
            http_proxy: proxied(&["HTTP_PROXY", "http_proxy"])?,
            no_proxy: env_first(cfg.env, &["NO_PROXY", "no_proxy"])
                .map(parse_no_proxy)
                .unwrap_or_default(),
            insecure_hosts: cfg.insecure_hosts.to_vec(),
            backoff: BACKOFF,
        })
    }

    /// Sends `req`, retrying transport errors, 429 and 5xx, and following redirects. A 4xx or a
    /// last 5xx comes back as a `Response` for the caller to explain.
    pub fn send(&self, req: &Request) -> Result<Response, HttpError> {
        let mut url = req.url.clone();
        let mut authorization = req.authorization.clone();
        for _ in 0..=MAX_REDIRECTS {
            let resp = self.send_retrying(req, &url, authorization.as_deref())?;
            let Some(next) = redirect_target(&resp) else {
                return Ok(resp);
            };
            if authority_of(&next) != authority_of(&url) {
                authorization = None;
            }
            url = next;
        }
        Err(HttpError::Transport(format!(
            "more than {MAX_REDIRECTS} redirects from {}",
            req.url
        )))
    }

    fn send_retrying(
        &self,
        req: &Request,
        url: &str,
        auth: Option<&str>,
    ) -> Result<Response, HttpError> {
        let mut wait = self.backoff;
        let mut attempt = 1;
        loop {
            let last = attempt >= TRIES;
            match self.send_once(req, url, auth) {
                Ok(resp) if last || !retryable(resp.status) => return Ok(resp),
                Ok(resp) => match retry_after(&resp) {
                    Some(d) if d > MAX_RETRY_AFTER => return Ok(resp),
                    Some(d) => std::thread::sleep(d.max(wait)),
                    None => std::thread::sleep(wait),
                },
                Err(e) if last || !e.transient() => return Err(e),
                Err(_) => std::thread::sleep(wait),
            }
            wait *= 2;
            attempt += 1;
        }
    }

    fn send_once(
        &self,
        req: &Request,
        url: &str,
        auth: Option<&str>,
    ) -> Result<Response, HttpError> {
        let uri: Uri = url
            .parse()
            .map_err(|_| HttpError::Refused(format!("not a URL: {url}")))?;
        let agent = self.agent_for(&uri, req.allow_plain_http)?;
        let mut builder = ureq::http::Request::builder()
            .method(match req.method {
                Method::Get => "GET",
                Method::Post => "POST",
            })
            .uri(uri);
        for (name, value) in &req.headers {
            builder = builder.header(*name, value);
        }
        if let Some(auth) = auth {
            builder = builder.header("authorization", auth);
        }
        let result = match &req.form {
            Some(form) => builder
                .header("content-type", "application/x-www-form-urlencoded")
                .body(form.clone().into_bytes())
                .map_err(|e| HttpError::Refused(format!("{url}: {e}")))
                .map(|r| agent.run(r)),
            None => builder
                .body(())
                .map_err(|e| HttpError::Refused(format!("{url}: {e}")))
                .map(|r| agent.run(r)),
        }?;
        let mut resp = result.map_err(|e| transport_error(url, &e))?;
        let body = resp
            .body_mut()
            .with_config()
            .limit(BODY_LIMIT)
            .read_to_vec()
            .map_err(|e| transport_error(url, &e))?;
        let headers = resp
            .headers()
            .iter()
            .filter_map(|(k, v)| Some((k.as_str().to_string(), v.to_str().ok()?.to_string())))
            .collect();
        Ok(Response {
            status: resp.status().as_u16(),
            headers,
            body,
            url: url.to_string(),
        })
    }

    /// The agent for `uri`: plain http only for loopback and `--insecure-registry` hosts, a
    /// proxy unless `NO_PROXY` (or loopback, as Go's `ProxyFromEnvironment`) says direct.
    fn agent_for(&self, uri: &Uri, allow_plain_http: bool) -> Result<&Agent, HttpError> {
        let host = uri.host().unwrap_or_default();
        let authority = uri.authority().map(|a| a.as_str()).unwrap_or_default();
        let https = match uri.scheme_str() {
            Some("https") => true,
            Some("http")
                if allow_plain_http || is_loopback(host) || self.is_insecure(host, authority) =>
            {
                false
            }
            Some("http") => {
                return Err(HttpError::Refused(format!(
                    "plain http to {authority} refused: https is required except on loopback \
                     and for hosts named with --insecure-registry"
                )))
            }
            _ => return Err(HttpError::Refused(format!("not an http(s) URL: {uri}"))),
        };
        if is_loopback(host) || no_proxy_matches(&self.no_proxy, host) {
            return Ok(&self.direct);
        }
        let proxied = if https {
            self.https_proxy.as_ref()
        } else {
            self.http_proxy.as_ref()
        };
        Ok(proxied.unwrap_or(&self.direct))
    }

    fn is_insecure(&self, host: &str, authority: &str) -> bool {
        self.insecure_hosts
            .iter()
            .any(|h| h.eq_ignore_ascii_case(authority) || h.eq_ignore_ascii_case(host))
    }
}

fn agent(timeout: Duration, proxy: Option<Proxy>) -> Agent {
    Agent::config_builder()
        .timeout_global(Some(timeout))
        .timeout_connect(Some(timeout.min(Duration::from_secs(10))))
        // 401 challenges, 404s and redirects are answers to read, not errors.
        .http_status_as_error(false)
        .max_redirects(0)
        .max_redirects_will_error(false)
        .proxy(proxy)
        .user_agent(concat!("aimc/", env!("CARGO_PKG_VERSION")))
        .build()
        .new_agent()
}

fn transport_error(url: &str, e: &ureq::Error) -> HttpError {
    let what = match e {
        ureq::Error::HostNotFound => "unknown host".to_string(),
        ureq::Error::ConnectionFailed => "connection failed".to_string(),
        ureq::Error::Timeout(t) => format!("timed out ({t})"),
        ureq::Error::Io(io) => format!("{io}"),
        other => format!("{other}"),
    };
    HttpError::Transport(format!(
        "cannot reach {}: {what}",
        authority_of(url).unwrap_or(url)
    ))
}

fn retryable(status: u16) -> bool {
    status == 429 || (500..=599).contains(&status) && status != 501
}

fn retry_after(resp: &Response) -> Option<Duration> {
    let secs: u64 = resp.header("retry-after")?.trim().parse().ok()?;
    Some(Duration::from_secs(secs))
}

fn redirect_target(resp: &Response) -> Option<String> {
    if !matches!(resp.status, 301 | 302 | 303 | 307 | 308) {
        return None;
    }
    Some(resolve_url(&resp.url, resp.header("location")?))
}

/// `reference` (a `Location` or `Link` target) made absolute against `base`.
pub fn resolve_url(base: &str, reference: &str) -> String {
    if reference.starts_with("http://") || reference.starts_with("https://") {
        return reference.to_string();
    }
    let scheme = base.split_once("://").map_or("https", |(s, _)| s);
    if let Some(rest) = reference.strip_prefix("//") {
        return format!("{scheme}://{rest}");
    }
    let origin = match authority_of(base) {
        Some(a) => format!("{scheme}://{a}"),
        None => String::new(),
    };
    if reference.starts_with('/') {
        return format!("{origin}{reference}");
    }
    let path = base
        .split_once("://")
        .and_then(|(_, rest)| rest.find('/').map(|i| &rest[i..]))
        .unwrap_or("/");
    let path = path.split(['?', '#']).next().unwrap_or("/");
    let dir = &path[..path.rfind('/').map_or(0, |i| i + 1)];
    format!("{origin}{dir}{reference}")
}

/// RFC 3986 percent-encoding of everything but the unreserved characters, as query values and
/// SigV4's canonical request need.
pub fn encode(s: &str) -> String {
    const RESERVED: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'.')
        .remove(b'_')
        .remove(b'~');
    percent_encoding::utf8_percent_encode(s, RESERVED).to_string()
}

/// `host[:port]` of an absolute URL.
pub fn authority_of(url: &str) -> Option<&str> {
    let rest = url.split_once("://")?.1;
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    Some(&rest[..end])
}

pub fn is_loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.eq_ignore_ascii_case("localhost") || host == "::1" {
        return true;
    }
    host.parse::<std::net::Ipv4Addr>()
        .is_ok_and(|ip| ip.is_loopback())
}

fn parse_no_proxy(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(|e| e.trim().to_ascii_lowercase())
        .filter(|e| !e.is_empty())
        .collect()
}

/// curl's and Go's reading: `*` matches all, `example.com` and `.example.com` match the
/// domain and its subdomains; a `:port` on an entry is ignored.
fn no_proxy_matches(entries: &[String], host: &str) -> bool {
    let host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_ascii_lowercase();
    entries.iter().any(|entry| {
        if entry == "*" {
            return true;
        }
        let entry = match entry.rsplit_once(':') {
            Some((h, p)) if p.bytes().all(|b| b.is_ascii_digit()) && !h.contains(':') => h,
            _ => entry,
        };
        let domain = entry.trim_start_matches('*').trim_start_matches('.');
        host == domain || host.ends_with(&format!(".{domain}"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_urls_resolve_against_the_answering_url() {
        let base = "http://127.0.0.1:5000/v2/_catalog?n=2";
        assert_eq!(
            resolve_url(base, "/v2/_catalog?last=a%2Fb&n=2"),
            "http://127.0.0.1:5000/v2/_catalog?last=a%2Fb&n=2"
        );
        assert_eq!(
            resolve_url(base, "https://storage.example/x"),
            "https://storage.example/x"
        );
        assert_eq!(resolve_url(base, "//h:1/y"), "http://h:1/y");
        assert_eq!(resolve_url("https://h/a/b/c?q", "d?e"), "https://h/a/b/d?e");
    }

    #[test]
    fn loopback_hosts() {
        for h in ["127.0.0.1", "127.1.2.3", "localhost", "[::1]", "::1"] {
            assert!(is_loopback(h), "{h}");
        }
        for h in ["10.0.0.1", "example.com", "128.0.0.1"] {
            assert!(!is_loopback(h), "{h}");
        }
    }

    #[test]
    fn no_proxy_entries() {
        let e = parse_no_proxy(" .corp.example, registry.local:5000 ,10.1.2.3");
        assert!(no_proxy_matches(&e, "a.corp.example"));
        assert!(no_proxy_matches(&e, "corp.example"));
        assert!(no_proxy_matches(&e, "registry.local"));
        assert!(no_proxy_matches(&e, "10.1.2.3"));
        assert!(!no_proxy_matches(&e, "example"));
        assert!(!no_proxy_matches(&e, "notcorp.example"));
        assert!(no_proxy_matches(&parse_no_proxy("*"), "anything"));
    }

    #[test]
    fn plain_http_only_for_loopback_and_insecure_hosts() {
        let env = BTreeMap::new();
        let insecure = vec!["reg.internal:5000".to_string()];
        let http = Http::new(&HttpConfig {
            timeout: Duration::from_secs(1),
            insecure_hosts: &insecure,
            env: &env,
        })
        .expect("no proxy configured");
        let ok = |u: &str| http.agent_for(&u.parse().expect("url"), false).is_ok();
        assert!(ok("http://127.0.0.1:5000/v2/"));
        assert!(ok("http://reg.internal:5000/v2/"));
        assert!(ok("https://example.com/v2/"));
        assert!(!ok("http://example.com/v2/"));
        assert!(!ok("http://reg.internal/v2/"));
    }

    #[test]
    fn proxies_from_the_snapshot_unless_no_proxy_or_loopback() {
        let env: BTreeMap<String, String> = [
            ("HTTPS_PROXY", "http://proxy.corp:3128"),
            ("no_proxy", ".internal"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let http = Http::new(&HttpConfig {
            timeout: Duration::from_secs(1),
            insecure_hosts: &[],
            env: &env,
        })
        .expect("a valid proxy URL");
        let direct = |u: &str| {
            let agent = http
                .agent_for(&u.parse().expect("url"), true)
                .expect("agent");
            std::ptr::eq(agent, &http.direct)
        };
        assert!(!direct("https://registry-1.docker.io/v2/"));
        assert!(direct("https://reg.internal/v2/"));
        assert!(direct("http://127.0.0.1:5000/v2/"));
        // No HTTP_PROXY: plain http goes direct.
        assert!(direct("http://minio.example:9000/models"));
    }

    /// A loopback server answering each connection with the next canned response and
    /// recording the request heads it read.
    fn serve(answers: Vec<String>) -> (String, std::thread::JoinHandle<Vec<String>>) {
        use std::io::{BufRead, BufReader, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let handle = std::thread::spawn(move || {
            let mut heads = Vec::new();
            for answer in answers {
                let (stream, _) = listener.accept().expect("accept");
                let mut reader = BufReader::new(stream.try_clone().expect("clone"));
                let mut head = String::new();
                while reader.read_line(&mut head).is_ok_and(|n| n > 2) {}
                heads.push(head.to_ascii_lowercase());
                let mut stream = stream;
                let _ = stream.write_all(answer.as_bytes());
            }
            heads
        });
        (format!("127.0.0.1:{port}"), handle)
    }

    fn answer(status: &str, extra: &str, body: &str) -> String {
        format!(
            "HTTP/1.1 {status}\r\n{extra}content-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        )
    }

    fn test_http() -> Http {
        let mut http = Http::new(&HttpConfig {
            timeout: Duration::from_secs(5),
            insecure_hosts: &[],
            env: &BTreeMap::new(),
        })
        .expect("http");
        http.backoff = Duration::from_millis(10);
        http
    }

    #[test]
    fn retries_5xx_and_429_then_succeeds() {
        let (host, server) = serve(vec![
            answer("503 Service Unavailable", "", ""),
            answer("429 Too Many Requests", "retry-after: 1\r\n", ""),
            answer("200 OK", "", "ok"),
        ]);
        let started = std::time::Instant::now();
        let resp = test_http()
            .send(&Request::get(format!("http://{host}/x")))
            .expect("third try");
        assert_eq!((resp.status, resp.body.as_slice()), (200, b"ok".as_slice()));
        assert!(
            started.elapsed() >= Duration::from_secs(1),
            "Retry-After honoured"
        );
        assert_eq!(server.join().expect("server").len(), 3);
    }

    #[test]
    fn the_last_5xx_is_returned_not_retried_forever() {
        let (host, server) = serve(vec![answer("500 Internal Server Error", "", ""); 3]);
        let resp = test_http()
            .send(&Request::get(format!("http://{host}/x")))
            .expect("an answer");
        assert_eq!(resp.status, 500);
        assert_eq!(server.join().expect("server").len(), 3);
    }

    #[test]
    fn redirects_keep_authorization_on_the_same_host_only() {
        let (other, other_server) = serve(vec![answer("200 OK", "", "blob")]);
        // 127.0.0.1 and localhost are different hosts for the Authorization rule.
        let other = other.replace("127.0.0.1", "localhost");
        let (host, server) = serve(vec![
            answer("307 Temporary Redirect", "location: /moved?q=1\r\n", ""),
            answer(
                "302 Found",
                &format!("location: http://{other}/blob\r\n"),
                "",
            ),
        ]);
        let resp = test_http()
            .send(
                &Request::get(format!("http://{host}/x")).authorization(Some("Bearer t0k".into())),
            )
            .expect("redirected");
        assert_eq!(resp.body, b"blob");
        assert_eq!(resp.url, format!("http://{other}/blob"));
        let heads = server.join().expect("server");
        assert!(heads[0].contains("authorization: bearer t0k"));
        assert!(heads[1].starts_with("get /moved?q=1 "), "{}", heads[1]);
        assert!(heads[1].contains("authorization: bearer t0k"));
        let other_heads = other_server.join().expect("server");
        assert!(
            !other_heads[0].contains("authorization"),
            "{}",
            other_heads[0]
        );
    }

    #[test]
    fn debug_hides_the_authorization_value() {
        let r = Request::get("http://h/").authorization(Some("Basic c2VjcmV0".into()));
        assert!(!format!("{r:?}").contains("c2VjcmV0"));
    }
}
