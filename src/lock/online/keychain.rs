//! Registry credentials from the local keychain, in go-containerregistry's
//! `authn.DefaultKeychain` order (lock.md "Image labels"). As there, only the first auth file
//! that exists is read: `$DOCKER_CONFIG/config.json` (or `~/.docker/config.json`), else
//! `$REGISTRY_AUTH_FILE`, else `$XDG_RUNTIME_DIR/containers/auth.json`, else anonymous.
//! Every credential carries its source, never shown with its value.

use base64::Engine;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Docker's key for Docker Hub in `auths` and for helpers.
const DOCKER_HUB_KEY: &str = "https://index.docker.io/v1/";
const DOCKER_HUB_REGISTRY: &str = "index.docker.io";

#[derive(Clone, PartialEq, Eq)]
pub enum Secret {
    Basic {
        username: String,
        password: String,
    },
    /// An OAuth2 refresh token (`identitytoken`, or a helper's answer for user `<token>`).
    IdentityToken {
        username: String,
        token: String,
    },
}

#[derive(Clone, PartialEq, Eq)]
pub struct Credential {
    pub secret: Secret,
    /// The file or helper it came from: `/home/u/.docker/config.json`,
    /// `credential helper docker-credential-pass`.
    pub source: String,
}

// By hand: a derived Debug would print the password.
impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self.secret {
            Secret::Basic { .. } => "basic",
            Secret::IdentityToken { .. } => "identity token",
        };
        write!(f, "Credential({kind} from {})", self.source)
    }
}

impl Credential {
    /// The `Authorization` value for a registry's Basic challenge or a token realm's GET.
    pub fn basic_header(&self) -> Option<String> {
        match &self.secret {
            Secret::Basic { username, password } => Some(format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"))
            )),
            Secret::IdentityToken { .. } => None,
        }
    }
}

/// The credential for `repository` on `registry` (both as ggcr's `name` spells them; no
/// repository for the catalog), or `None` for anonymous. An unreadable or malformed auth file, or a failing helper, is an error
/// naming the file or helper.
pub fn lookup(
    env: &BTreeMap<String, String>,
    registry: &str,
    repository: Option<&str>,
) -> Result<Option<Credential>, String> {
    let Some(path) = auth_file(env) else {
        return Ok(None);
    };
    let text =
        std::fs::read_to_string(&path).map_err(|e| format!("reading {}: {e}", path.display()))?;
    let file: AuthFile = serde_json::from_str(&text)
        .map_err(|e| format!("{}: not a Docker auth file: {e}", path.display()))?;
    // ggcr asks for the repository first (podman allows per-repository entries), then the
    // registry; Docker Hub's registry is spelled with Docker's legacy key.
    let repo_key = match repository {
        Some(repo) => format!("{registry}/{repo}"),
        None => registry.to_string(),
    };
    let registry_key = if registry == DOCKER_HUB_REGISTRY {
        DOCKER_HUB_KEY
    } else {
        registry
    };
    for key in [repo_key.as_str(), registry_key] {
        if let Some(cred) = file.get(key, &path, env)? {
            return Ok(Some(cred));
        }
    }
    Ok(None)
}

fn auth_file(env: &BTreeMap<String, String>) -> Option<PathBuf> {
    let var = |k: &str| env.get(k).filter(|v| !v.is_empty()).map(PathBuf::from);
    let docker = match var("DOCKER_CONFIG") {
        Some(dir) => Some(dir.join("config.json")),
        None => var("HOME").map(|h| h.join(".docker").join("config.json")),
    };
    let podman = var("XDG_RUNTIME_DIR").map(|d| d.join("containers").join("auth.json"));
    [docker, var("REGISTRY_AUTH_FILE"), podman]
        .into_iter()
        .flatten()
        .find(|p| p.is_file())
}

#[derive(serde::Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct AuthFile {
    auths: BTreeMap<String, AuthEntry>,
    cred_helpers: BTreeMap<String, String>,
    creds_store: Option<String>,
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct AuthEntry {
    auth: Option<String>,
    username: Option<String>,
    password: Option<String>,
    identitytoken: Option<String>,
}

impl AuthFile {
    /// Docker's `ConfigFile.GetAuthConfig`: a helper for this key, else `credsStore`, else
    /// the `auths` entry (exact key, then any key whose host part equals it).
    fn get(
        &self,
        key: &str,
        path: &Path,
        env: &BTreeMap<String, String>,
    ) -> Result<Option<Credential>, String> {
        if let Some(helper) = self.cred_helpers.get(key).or(self.creds_store.as_ref()) {
            if !helper.is_empty() {
                return run_helper(helper, key, env);
            }
        }
        let entry = self.auths.get(key).or_else(|| {
            self.auths
                .iter()
                .find(|(k, _)| convert_to_hostname(k) == key)
                .map(|(_, e)| e)
        });
        match entry {
            Some(e) => e.credential(key, path),
            None => Ok(None),
        }
    }
}

impl AuthEntry {
    fn credential(&self, key: &str, path: &Path) -> Result<Option<Credential>, String> {
        let source = path.display().to_string();
        let (mut username, mut password) = (
            self.username.clone().unwrap_or_default(),
            self.password.clone().unwrap_or_default(),
        );
        if let Some(auth) = self.auth.as_deref().filter(|a| !a.is_empty()) {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(auth.trim())
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(|| {
                    format!("{source}: the `auth` of {key} is not base64 of user:password")
                })?;
            let (u, p) = decoded
                .split_once(':')
                .ok_or_else(|| format!("{source}: the `auth` of {key} has no `:`"))?;
            (username, password) = (u.to_string(), p.to_string());
        }
        let secret = match self.identitytoken.as_deref().filter(|t| !t.is_empty()) {
            Some(token) => Secret::IdentityToken {
                username,
                token: token.to_string(),
            },
            None if username.is_empty() && password.is_empty() => return Ok(None),
            None => Secret::Basic { username, password },
        };
        Ok(Some(Credential { secret, source }))
    }
}

/// Docker's `ConvertToHostname`: `https://host/v1/` → `host`.
fn convert_to_hostname(key: &str) -> &str {
    let stripped = key
        .strip_prefix("http://")
        .or_else(|| key.strip_prefix("https://"))
        .unwrap_or(key);
    stripped.split('/').next().unwrap_or(stripped)
}

#[derive(serde::Deserialize)]
struct HelperAnswer {
    #[serde(rename = "Username", default)]
    username: String,
    #[serde(rename = "Secret", default)]
    secret: String,
}

/// `docker-credential-NAME get`, the server on stdin (the docker-credential-helpers protocol).
fn run_helper(
    name: &str,
    key: &str,
    env: &BTreeMap<String, String>,
) -> Result<Option<Credential>, String> {
    let program = format!("docker-credential-{name}");
    let source = format!("credential helper {program}");
    let mut cmd = Command::new(&program);
    cmd.arg("get")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // The snapshot's PATH and HOME, so that tests (and `Online`'s callers) decide which helper
    // runs and which store it reads.
    for key in ["PATH", "HOME"] {
        if let Some(value) = env.get(key) {
            cmd.env(key, value);
        }
    }
    let mut child = cmd.spawn().map_err(|e| format!("{source}: {e}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        // A helper that exits without reading stdin is judged by its exit status below.
        let _ = stdin.write_all(key.as_bytes());
    }
    let out = child
        .wait_with_output()
        .map_err(|e| format!("{source}: {e}"))?;
    if !out.status.success() {
        // The helpers' protocol for "no entry": this message on stdout, any exit status.
        let said = String::from_utf8_lossy(&out.stdout);
        if said.contains("credentials not found") {
            return Ok(None);
        }
        return Err(format!(
            "{source} failed for {key} ({}): {}",
            out.status,
            said.trim()
        ));
    }
    let answer: HelperAnswer = serde_json::from_slice(&out.stdout)
        .map_err(|_| format!("{source}: its answer for {key} is not the helpers' JSON"))?;
    let secret = if answer.username == "<token>" {
        Secret::IdentityToken {
            username: String::new(),
            token: answer.secret,
        }
    } else {
        Secret::Basic {
            username: answer.username,
            password: answer.secret,
        }
    };
    Ok(Some(Credential { secret, source }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_with(pairs: &[(&str, &Path)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.display().to_string()))
            .collect()
    }

    fn write(path: &Path, text: &str) {
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    }

    fn basic(cred: Option<Credential>) -> (String, String, String) {
        let cred = cred.expect("a credential");
        match cred.secret {
            Secret::Basic { username, password } => (username, password, cred.source),
            Secret::IdentityToken { .. } => panic!("not basic"),
        }
    }

    #[test]
    fn docker_config_auth_and_username_password() {
        let dir = tempfile::tempdir().expect("tempdir");
        let cfg = dir.path().join("d/config.json");
        write(
            &cfg,
            r#"{"auths":{"127.0.0.1:5000":{"auth":"dXNlcjpwYTpzcw=="},
                "https://index.docker.io/v1/":{"username":"hub","password":"pw"},
                "https://quay.example/v2/":{"username":"q","password":"qp"}}}"#,
        );
        let env = env_with(&[("DOCKER_CONFIG", &dir.path().join("d"))]);
        let (u, p, src) = basic(lookup(&env, "127.0.0.1:5000", Some("a/b")).expect("ok"));
        assert_eq!((u.as_str(), p.as_str()), ("user", "pa:ss"));
        assert_eq!(src, cfg.display().to_string());
        let (u, _, _) = basic(lookup(&env, "index.docker.io", Some("library/x")).expect("ok"));
        assert_eq!(u, "hub");
        let (u, _, _) = basic(lookup(&env, "quay.example", Some("o/r")).expect("ok"));
        assert_eq!(u, "q");
        assert!(lookup(&env, "other:1", Some("a/b")).expect("ok").is_none());
    }

    #[test]
    fn first_existing_file_wins_in_ggcr_order() {
        let dir = tempfile::tempdir().expect("tempdir");
        let podman = dir.path().join("run/containers/auth.json");
        let reg_auth = dir.path().join("reg.json");
        write(&podman, r#"{"auths":{"r:1":{"auth":"cDpw"}}}"#);
        let mut env = env_with(&[
            ("XDG_RUNTIME_DIR", &dir.path().join("run")),
            ("HOME", &dir.path().join("nohome")),
        ]);
        assert_eq!(
            basic(lookup(&env, "r:1", Some("a/b")).expect("ok")).2,
            podman.display().to_string()
        );
        write(
            &reg_auth,
            r#"{"auths":{"r:1":{"username":"x","password":"y"}}}"#,
        );
        env.insert("REGISTRY_AUTH_FILE".into(), reg_auth.display().to_string());
        assert_eq!(basic(lookup(&env, "r:1", Some("a/b")).expect("ok")).0, "x");
        // The Docker config exists without an entry for r:1: ggcr stops there, anonymous.
        write(
            &dir.path().join("nohome/.docker/config.json"),
            r#"{"auths":{}}"#,
        );
        assert!(lookup(&env, "r:1", Some("a/b")).expect("ok").is_none());
    }

    #[test]
    fn repository_entries_and_identity_tokens() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("auth.json");
        write(
            &path,
            r#"{"auths":{"r:1/team/app":{"auth":"dGVhbTpwdw=="},"r:1":{"identitytoken":"rt"}}}"#,
        );
        let env = env_with(&[("REGISTRY_AUTH_FILE", &path)]);
        assert_eq!(
            basic(lookup(&env, "r:1", Some("team/app")).expect("ok")).0,
            "team"
        );
        let other = lookup(&env, "r:1", Some("team/other"))
            .expect("ok")
            .expect("cred");
        assert!(matches!(other.secret, Secret::IdentityToken { ref token, .. } if token == "rt"));
        assert!(!format!("{other:?}").contains("rt\""));
    }

    #[test]
    fn errors_name_the_file_and_debug_hides_the_password() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("auth.json");
        write(&path, r#"{"auths":{"r:1":{"auth":"!!!notbase64"}}}"#);
        let env = env_with(&[("REGISTRY_AUTH_FILE", &path)]);
        let err = lookup(&env, "r:1", Some("a/b")).expect_err("bad auth");
        assert!(err.contains(&path.display().to_string()), "{err}");
        write(
            &path,
            r#"{"auths":{"r:1":{"username":"u","password":"hunter2"}}}"#,
        );
        let cred = lookup(&env, "r:1", Some("a/b")).expect("ok").expect("cred");
        assert!(!format!("{cred:?}").contains("hunter2"));
    }

    #[test]
    fn creds_store_helper_is_asked_for_the_repository_then_the_registry() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let helper = dir.path().join("bin/docker-credential-aimctest");
        write(
            &helper,
            "#!/bin/sh\nread -r server\nif [ \"$server\" = r:1 ]; then\n\
             echo '{\"ServerURL\":\"r:1\",\"Username\":\"hu\",\"Secret\":\"hs\"}'\n\
             elif [ \"$server\" = t:1 ]; then\n\
             echo '{\"ServerURL\":\"t:1\",\"Username\":\"<token>\",\"Secret\":\"rt\"}'\n\
             else echo 'credentials not found in native keychain'; exit 1; fi\n",
        );
        std::fs::set_permissions(&helper, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        write(
            &dir.path().join("config.json"),
            r#"{"credsStore":"aimctest"}"#,
        );
        let path = format!("{}:/usr/bin:/bin", dir.path().join("bin").display());
        let mut env = env_with(&[("DOCKER_CONFIG", dir.path())]);
        env.insert("PATH".into(), path);
        let (u, p, src) = basic(lookup(&env, "r:1", Some("a/b")).expect("ok"));
        assert_eq!((u.as_str(), p.as_str()), ("hu", "hs"));
        assert_eq!(src, "credential helper docker-credential-aimctest");
        let t = lookup(&env, "t:1", Some("a/b")).expect("ok").expect("cred");
        assert!(matches!(t.secret, Secret::IdentityToken { ref token, .. } if token == "rt"));
        assert!(lookup(&env, "other:1", Some("a/b")).expect("ok").is_none());
    }

    #[test]
    fn a_missing_helper_is_an_error_naming_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("config.json");
        write(
            &path,
            r#"{"credHelpers":{"r:1":"aimc-test-no-such-helper"}}"#,
        );
        let env = env_with(&[("DOCKER_CONFIG", dir.path())]);
        let err = lookup(&env, "r:1", Some("a/b")).expect_err("no helper");
        assert!(
            err.contains("docker-credential-aimc-test-no-such-helper"),
            "{err}"
        );
    }
}
