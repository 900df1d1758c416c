//! `aimc.yaml`: project settings that are not cluster objects (offline.md "Inputs").

use crate::diag::{Diagnostic, Diagnostics, Location};
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProjectConfig {
    #[serde(default = "default_operator_namespace")]
    pub operator_namespace: String,
    /// Secrets created outside the repository, by namespace; `*` means every namespace.
    #[serde(default)]
    pub external_secrets: BTreeMap<String, BTreeSet<String>>,
    /// Default for `--emit` (`concrete`, `aim` or `all`).
    #[serde(default)]
    pub emit: Option<String>,
    /// Default for `--gitops` (`argocd` or `none`).
    #[serde(default)]
    pub gitops: Option<String>,
}

fn default_operator_namespace() -> String {
    "aim-system".to_owned()
}

impl Default for ProjectConfig {
    fn default() -> Self {
        ProjectConfig {
            operator_namespace: default_operator_namespace(),
            external_secrets: BTreeMap::new(),
            emit: None,
            gitops: None,
        }
    }
}

impl ProjectConfig {
    pub fn parse(rel: &Path, text: &str, diags: &mut Diagnostics) -> ProjectConfig {
        let docs = super::parse_documents(rel, text, diags);
        let Some(doc) = docs.first() else {
            return ProjectConfig::default();
        };
        let json = match doc.to_json() {
            Ok(j) => j,
            Err((line, col, msg)) => {
                diags.push(
                    Diagnostic::error("InvalidConfig", msg).at(Some(Location::new(rel, line, col))),
                );
                return ProjectConfig::default();
            }
        };
        match serde_path_to_error::deserialize::<_, ProjectConfig>(&json) {
            Ok(c) => c,
            Err(e) => {
                let path = super::index::path_segments(e.path());
                let node = doc.locate(&path);
                diags.push(
                    Diagnostic::error("InvalidConfig", format!("aimc.yaml: {}", e.inner()))
                        .at(Some(Location::new(rel, node.line, node.col)))
                        .help("known keys: operatorNamespace, externalSecrets, emit, gitops"),
                );
                ProjectConfig::default()
            }
        }
    }

    /// Whether `name` in `namespace` is declared as created outside the repository.
    pub fn is_external_secret(&self, namespace: &str, name: &str) -> bool {
        [namespace, "*"].iter().any(|ns| {
            self.external_secrets
                .get(*ns)
                .is_some_and(|s| s.contains(name))
        })
    }
}
