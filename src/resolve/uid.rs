//! Object identity without a cluster (offline.md "Identity without UIDs").

use crate::load::Lock;

/// An object's UID and whether it is the real one (from the object or the lock file).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Uid {
    pub value: String,
    /// Only a real UID may appear in an owner reference: an invented one makes the garbage
    /// collector delete the child.
    pub real: bool,
}

/// The lock-file key of an object: `<Kind>/<namespace>/<name>`, or `<Kind>/<name>`.
pub fn lock_key(kind: &str, namespace: Option<&str>, name: &str) -> String {
    match namespace {
        Some(ns) => format!("{kind}/{ns}/{name}"),
        None => format!("{kind}/{name}"),
    }
}

/// `uid(obj)`: the object's own `metadata.uid`, else the lock file's, else the RFC 4122
/// version-5 UUID of `<apiVersion>/<kind>/<namespace>/<name>` in the URL namespace.
pub fn uid(
    lock: &Lock,
    api_version: &str,
    kind: &str,
    namespace: Option<&str>,
    name: &str,
    own: Option<&str>,
) -> Uid {
    if let Some(u) = own.filter(|u| !u.is_empty()) {
        return Uid {
            value: u.to_owned(),
            real: true,
        };
    }
    if let Some(u) = lock.uid(&lock_key(kind, namespace, name)) {
        return Uid {
            value: u.to_owned(),
            real: true,
        };
    }
    let key = format!("{api_version}/{kind}/{}/{name}", namespace.unwrap_or(""));
    Uid {
        value: uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_URL, key.as_bytes()).to_string(),
        real: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_then_lock_then_v5() {
        let mut lock = Lock::default();
        let v5 = uid(
            &lock,
            "aim.eai.amd.com/v1alpha1",
            "AIMArtifact",
            Some("ns"),
            "a",
            None,
        );
        assert!(!v5.real);
        // RFC 4122 v5 of the URL-namespaced key: fixed for all time.
        assert_eq!(
            v5.value,
            uuid::Uuid::new_v5(
                &uuid::Uuid::NAMESPACE_URL,
                b"aim.eai.amd.com/v1alpha1/AIMArtifact/ns/a"
            )
            .to_string()
        );
        assert_eq!(&v5.value[14..15], "5", "version nibble");
        lock.uids.insert(
            "AIMArtifact/ns/a".into(),
            "3c7f4a52-9d2e-4a51-8b57-0f6c2d8e9a10".into(),
        );
        let locked = uid(
            &lock,
            "aim.eai.amd.com/v1alpha1",
            "AIMArtifact",
            Some("ns"),
            "a",
            None,
        );
        assert_eq!(
            (locked.value.as_str(), locked.real),
            ("3c7f4a52-9d2e-4a51-8b57-0f6c2d8e9a10", true)
        );
        let own = uid(
            &lock,
            "aim.eai.amd.com/v1alpha1",
            "AIMArtifact",
            Some("ns"),
            "a",
            Some("x"),
        );
        assert_eq!((own.value.as_str(), own.real), ("x", true));
    }
}
