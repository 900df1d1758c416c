//! What each diagnostic code means, for reports that describe their rules (SARIF).
//!
//! The groups mirror the rows of the README's diagnostic table: `when` is that row's text,
//! verbatim, so the tests below can hold the two in sync; `short` is the one code's part of it.

use super::Severity;

/// One README row: codes that share a severity and a description.
struct Group {
    severity: Severity,
    when: &'static str,
    /// (code, short description)
    codes: &'static [(&'static str, &'static str)],
}

/// A code's entry, as reporters read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CodeInfo {
    pub code: &'static str,
    /// The level a code has when nothing (`--strict`, `--emit aim`) changed it.
    pub severity: Severity,
    pub short: &'static str,
    /// Markdown: the README's text for the code's row, which may describe other codes too.
    pub row: &'static str,
    /// Whether other codes share the row.
    pub shared: bool,
    /// Whether the README's table lists it (a test checks both ways).
    in_readme: bool,
}

use Severity::{Error, Info, Warning};

const GROUPS: &[Group] = &[
    Group {
        severity: Error,
        when: "Invalid YAML; a mapping key given twice. The whole file is rejected.",
        codes: &[
            ("YamlSyntax", "Invalid YAML"),
            ("DuplicateKey", "A mapping key given twice"),
        ],
    },
    Group {
        severity: Error,
        when: "Anchors/aliases expand too far (an alias bomb: they may add 250,000 values and replay 1,000,000 events beyond what the text spells out); a file exceeds the parser's limits: counts grow with its size (a file of many small documents loads), nesting is 64 levels and scalar text 64 MiB per file.",
        codes: &[
            ("AliasBudget", "Anchors and aliases expand too far (alias bomb)"),
            ("YamlBudget", "A file exceeds the YAML parser's limits"),
        ],
    },
    Group {
        severity: Error,
        when: "A `.yaml` file that is not UTF-8 text; a file or directory inside the tree that cannot be read (permissions).",
        codes: &[
            ("InvalidUtf8", "A .yaml file that is not UTF-8 text"),
            ("UnreadablePath", "A file or directory in the tree that cannot be read"),
        ],
    },
    Group {
        severity: Warning,
        when: "A symbolic link not followed: it leaves the tree, does not resolve, or points at a directory that holds it (a loop). A link to a file inside the tree is read once, under the file's own path when the walk reaches it there.",
        codes: &[("SymlinkSkipped", "A symbolic link that leaves the tree, dangles or loops")],
    },
    Group {
        severity: Error,
        when: "A document that is not a mapping; no `apiVersion`/`kind`/`metadata.name`; a field of the wrong type (including YAML 1.1 booleans such as `yes` in string fields); a field the CRD does not define.",
        codes: &[
            ("NotAnObject", "A document that is not a mapping"),
            ("MissingField", "No apiVersion, kind or metadata.name"),
            ("WrongType", "A field of the wrong type"),
            ("UnknownField", "A field the CRD does not define"),
        ],
    },
    Group {
        severity: Error,
        when: "An `aim.eai.amd.com` object that is not a `v1alpha1` kind aimc knows.",
        codes: &[
            ("UnsupportedApiVersion", "An aim.eai.amd.com version other than v1alpha1"),
            ("UnknownKind", "An aim.eai.amd.com kind aimc does not know"),
        ],
    },
    Group {
        severity: Error,
        when: "A namespaced object without namespace (and no `--namespace`); the same (apiVersion, kind, namespace, name) twice.",
        codes: &[
            ("MissingNamespace", "A namespaced object without namespace"),
            ("DuplicateObject", "The same object defined twice"),
        ],
    },
    Group {
        severity: Error,
        when: "An unknown key or bad value in `aimc.yaml`.",
        codes: &[("InvalidConfig", "An unknown key or bad value in aimc.yaml")],
    },
    Group {
        severity: Error,
        when: "A non-default `runtimeConfigName` that exists in neither scope.",
        codes: &[("ConfigNotFound", "A runtime config that exists in neither scope")],
    },
    Group {
        severity: Error,
        when: "An AIMTemplateCache whose `templateName` names no template in its scope: the operator never makes it Ready.",
        codes: &[("ReferenceNotFound", "A template cache whose template does not exist")],
    },
    Group {
        severity: Error,
        when: "The operator's model-resolution failures (service.md §4).",
        codes: &[
            ("ModelNotFound", "No model for the service"),
            ("MultipleModelsForImage", "Several models for the service's image"),
            ("InvalidImageReference", "An image reference the operator cannot parse"),
        ],
    },
    Group {
        severity: Error,
        when: "No template: explicit name missing, auto-selection found nothing or a tie, the template's GPU is not in the cluster, `minVram` without Node objects, a model whose templates come from image labels aimc cannot read. The message carries the specific reason the operator computes but does not surface.",
        codes: &[
            ("TemplateNotFound", "No template for the service"),
            ("TemplateSelectionAmbiguous", "Several templates tie in auto-selection"),
            ("TemplateNotAvailable", "The template's GPU is not in the cluster"),
            ("NeedsGpuInventory", "minVram without the cluster's Node objects"),
            ("NeedsImageMetadata", "Templates that come from image labels aimc cannot read"),
        ],
    },
    Group {
        severity: Error,
        when: "Routing enabled without a gateway; a namespace over 42 characters; an `AIM_ENGINE_ARGS` merge on which the operator would panic; an unparseable `requestTimeout`.",
        codes: &[
            ("GatewayNotConfigured", "Routing enabled without a gateway"),
            ("NamespaceTooLong", "A namespace over 42 characters"),
            ("EngineArgsMerge", "An AIM_ENGINE_ARGS merge on which the operator would panic"),
            ("InvalidDuration", "An unparseable requestTimeout"),
        ],
    },
    Group {
        severity: Warning,
        when: "A secret a workload needs (pull secret, `secretKeyRef`) that the repository does not declare in that namespace.",
        codes: &[("SecretNotFound", "A secret the workload needs that the repository does not declare")],
    },
    Group {
        severity: Warning,
        when: "Inputs that hit an operator defect (service.md §12): a namespace value that cannot override the cluster's, a path template that silently falls back, service-level route annotations, `spec.overrides` with an explicit cluster template.",
        codes: &[
            ("MergeDefect", "A namespace value that cannot override the cluster's"),
            ("PathTemplateInvalid", "A route path template the operator silently replaces"),
            ("ServiceRouteAnnotationsIgnored", "Service-level route annotations, which the operator ignores"),
            ("OverridesIgnored", "spec.overrides with an explicit cluster template"),
        ],
    },
    Group {
        severity: Warning,
        when: "A route path template reads `metadata.uid`, `generation`, `creationTimestamp` or `resourceVersion`, which only the cluster knows.",
        codes: &[("PathUsesUnknownField", "A route path template reads a field only the cluster knows")],
    },
    Group {
        severity: Error,
        when: "The template has no model sources (spec or discovery): the operator creates no cache, so never the InferenceService.",
        codes: &[("NoModelSources", "A template without model sources")],
    },
    Group {
        severity: Error,
        when: "(`validate`) An object the API server would reject (an AIM object, or an InferenceService, HTTPRoute, PersistentVolumeClaim or Job written in the tree): its schema (enum, pattern, minimum, required, unknown field) or one of its CRD's CEL rules.",
        codes: &[
            ("SchemaViolation", "An input object that fails its schema"),
            ("CelViolation", "An input object that fails one of its CRD's CEL rules"),
        ],
    },
    Group {
        severity: Error,
        when: "(`validate`) A rendered object that fails its KServe, Gateway API or core schema, or a CEL rule of its CRD: an aimc bug.",
        codes: &[("OutputSchemaViolation", "A rendered object that fails its schema or a CEL rule of its CRD")],
    },
    Group {
        severity: Error,
        when: "(`validate`) A credential written as a literal env value.",
        codes: &[("LiteralCredential", "A credential written as a literal env value")],
    },
    Group {
        severity: Warning,
        when: "(`validate`) A `Secret` with data in the repository.",
        codes: &[("PlainSecret", "A Secret with data in the repository")],
    },
    Group {
        severity: Info,
        when: "(`validate`) An image whose registry none of the service's pull secrets serves.",
        codes: &[("RegistryNotCovered", "An image whose registry no pull secret of the service serves")],
    },
    Group {
        severity: Error,
        when: "A fact only the cluster or a registry knows, missing from the tree and `aim.lock.yaml`: a template's discovery result, a model's size, a model source's registry listing. The message names the object and both fixes.",
        codes: &[
            ("NeedsDiscovery", "A template's discovery result is not in the tree or the lock file"),
            ("UnknownSize", "A model's size is not in the tree or the lock file"),
            ("NeedsRegistryListing", "A model source's registry listing is not in the tree or the lock file"),
        ],
    },
    Group {
        severity: Error,
        when: "An unknown key or a bad value in `aim.lock.yaml`.",
        codes: &[("InvalidLockFile", "An unknown key or a bad value in aim.lock.yaml")],
    },
    Group {
        severity: Warning,
        when: "A lock-file discovery entry for a template that no longer exists, or whose spec changed since (`specHash`).",
        codes: &[("StaleLockEntry", "A lock-file entry for a template that is gone or changed")],
    },
    Group {
        severity: Error,
        when: "(`lock`) A fact the tree needs could not be fetched (the message names the registry, bucket or repo, the reference and where the credential came from, never its value), or the `--from-cluster` file is not a `kubectl get … -o yaml` List. `aim.lock.yaml` is left as it was.",
        codes: &[
            ("LockFetchFailed", "A fact the tree needs could not be fetched"),
            ("InvalidExport", "A --from-cluster file that is not a kubectl List"),
        ],
    },
    Group {
        severity: Warning,
        when: "(`lock`) An exported discovery result taken from a different template spec; a fact only a cluster has (discovery, UIDs) and no export gave; an `s3://` prefix that also counts a sibling prefix's keys, as `s3cmd du` does.",
        codes: &[
            ("ExportSkipped", "An exported discovery result for a different template spec"),
            ("NeedsCluster", "A fact only a cluster export can give is missing"),
            ("SiblingPrefix", "An s3:// size that counts a sibling prefix"),
        ],
    },
    Group {
        severity: Warning,
        when: "Caching situations the operator resolves by timing (last writer, first lister) or fails on; aimc says which way it went.",
        codes: &[
            ("SharedCacheConflict", "Services sharing a template cache give it different specs"),
            ("ArtifactReuseAmbiguous", "Several artifacts a template cache could reuse"),
            ("SharedArtifactEnv", "A reused artifact whose download env differs"),
            ("CacheChoiceAmbiguous", "Several shared template caches could serve a service"),
            ("DuplicateModelSource", "A template lists a model source twice"),
            ("CacheNameCollision", "A written template cache with the name of a created one"),
            ("ModelSourceFilterFailed", "A model source filter the operator reports as failed"),
        ],
    },
    Group {
        severity: Warning,
        when: "Pitfalls the API server or KServe would reject or that surprise.",
        codes: &[
            ("FractionalTimeout", "A timeout with a fractional part"),
            ("MinReplicasAboveMax", "minReplicas above maxReplicas"),
            ("ZeroReplicas", "A service scaled to zero replicas"),
            ("ServiceNameTooLong", "A service name too long for KServe"),
            ("ServiceNameStartsWithDigit", "A service name that starts with a digit"),
            ("TemplateShadowsGenerated", "A written template with the name of a generated one"),
        ],
    },
    Group {
        severity: Error,
        when: "An InferenceService or HTTPRoute for a cluster whose `KUBE_API_VERSIONS` / `--api-versions` lacks its API.",
        codes: &[("ApiNotAvailable", "An object whose API the destination cluster lacks")],
    },
    Group {
        severity: Info,
        when: "`--skip-foreign` left a file out; the message names the first problem's code.",
        codes: &[("ForeignFileSkipped", "A file --skip-foreign left out")],
    },
    Group {
        severity: Info,
        when: "What aimc had to assume offline (below); a model the service controller creates; a model source capped by `maxModels`.",
        codes: &[
            ("GpuInventoryUnknown", "No Node objects: every GPU is taken as present"),
            ("DefaultRoutePath", "A route path that depends on the service UID, unknown offline"),
            ("ModelCreated", "A model the service controller creates"),
            ("ModelSourceLimitReached", "A model source capped by maxModels"),
        ],
    },

    Group {
        severity: Error,
        when: "A YAML value that is not JSON: a key that is not a string, or a number that is not finite.",
        codes: &[("InvalidValue", "A YAML value that is not JSON")],
    },
    Group {
        severity: Error,
        when: "A `model.custom` whose model name cannot be computed.",
        codes: &[("InvalidCustomModel", "A custom model aimc cannot name")],
    },
    Group {
        severity: Error,
        when: "An aimc bug: the output could not be serialised, or an embedded schema is broken.",
        codes: &[
            ("EmitFailed", "The output could not be serialised (an aimc bug)"),
            ("InternalError", "An embedded schema is broken (an aimc bug)"),
        ],
    },
    Group {
        severity: Info,
        when: "A directory inside the tree left out: it holds aimc's rendered output (`.aimc-output`), or its own `aimc.yaml` / `aim.lock.yaml` (another project).",
        codes: &[
            ("OutputDirSkipped", "A directory of rendered output, not read as input"),
            ("NestedProjectSkipped", "A nested project, checked on its own"),
        ],
    },
    Group {
        severity: Info,
        when: "An AIM object with `aim.eai.amd.com/reconciliation-paused: \"true\"`: its controller does nothing, so aimc renders none of what it would create.",
        codes: &[("ReconciliationPaused", "An object whose controller is paused")],
    },
];

/// Codes the README's table does not list yet; their text lives only here.
const NOT_IN_README: &[Group] = &[];

fn entries() -> impl Iterator<Item = CodeInfo> {
    let listed = GROUPS.iter().map(|g| (g, true));
    let unlisted = NOT_IN_README.iter().map(|g| (g, false));
    listed.chain(unlisted).flat_map(|(g, in_readme)| {
        g.codes.iter().map(move |(code, short)| CodeInfo {
            code,
            severity: g.severity,
            short,
            row: g.when,
            shared: g.codes.len() > 1,
            in_readme,
        })
    })
}

/// The entry of `code`, or `None` for a code nobody described (the tests rule that out for
/// every code the sources emit).
pub fn lookup(code: &str) -> Option<CodeInfo> {
    entries().find(|e| e.code == code)
}

impl CodeInfo {
    /// Markdown: the row's text, led by this code's part of it when the row is shared.
    pub fn full(&self) -> String {
        if self.shared {
            format!("{}. {}", self.short, self.row)
        } else {
            self.row.to_owned()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{BTreeMap, BTreeSet};
    use std::path::Path;

    /// (codes, severity, when) of each row of the README's diagnostic table.
    fn readme_rows() -> Vec<(Vec<String>, String, String)> {
        let readme =
            std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
                .expect("README.md");
        let mut rows = Vec::new();
        let mut in_table = false;
        for line in readme.lines() {
            if line.starts_with("| Code | Severity | When |") {
                in_table = true;
                continue;
            }
            if !in_table || line.starts_with("|---") {
                continue;
            }
            let Some(inner) = line.strip_prefix("| ").and_then(|l| l.strip_suffix(" |")) else {
                break;
            };
            let cells: Vec<&str> = inner.splitn(3, " | ").collect();
            let [codes, severity, when] = cells[..] else {
                panic!("row with other than three cells: {line}");
            };
            let codes = codes
                .split(", ")
                .map(|c| c.trim_matches('`').to_owned())
                .collect();
            rows.push((codes, severity.to_owned(), when.to_owned()));
        }
        assert!(
            rows.len() > 20,
            "README table not found or cut short: {rows:?}"
        );
        rows
    }

    #[test]
    fn the_table_says_what_the_readme_says() {
        let mut in_readme = BTreeSet::new();
        for (codes, severity, when) in readme_rows() {
            for code in codes {
                let e = lookup(&code)
                    .unwrap_or_else(|| panic!("README lists {code}; add it to src/diag/codes.rs"));
                assert_eq!(e.severity.as_str(), severity, "{code}: severity");
                assert_eq!(
                    e.row, when,
                    "{code}: the README row's text changed; copy it here"
                );
                assert!(
                    e.in_readme,
                    "{code} is in the README now: move it to GROUPS"
                );
                in_readme.insert(code);
            }
        }
        for e in entries().filter(|e| e.in_readme) {
            assert!(
                in_readme.contains(e.code),
                "{} is not in the README's table",
                e.code
            );
        }
    }

    #[test]
    fn codes_are_unique_and_described() {
        let mut seen = BTreeSet::new();
        for e in entries() {
            assert!(seen.insert(e.code), "{} twice", e.code);
            assert!(!e.short.is_empty() && !e.row.is_empty(), "{}", e.code);
            assert!(
                !e.short.ends_with('.'),
                "{}: a short description is a phrase",
                e.code
            );
        }
    }

    /// Two or more capitalised words: `ModelNotFound`, not `W6800X` or `NaN`.
    fn is_code(s: &str) -> bool {
        let chars: Vec<char> = s.chars().collect();
        chars.first().is_some_and(char::is_ascii_uppercase)
            && chars.iter().all(char::is_ascii_alphanumeric)
            && chars.iter().filter(|c| c.is_ascii_uppercase()).count() >= 2
            && chars.iter().enumerate().all(|(i, c)| {
                !c.is_ascii_uppercase() || chars.get(i + 1).is_some_and(char::is_ascii_lowercase)
            })
    }

    /// The string literal at the start of `s` (after blanks), if any.
    fn literal(s: &str) -> Option<&str> {
        let s = s.trim_start().strip_prefix('"')?;
        s.split_once('"').map(|(lit, _)| lit)
    }

    /// The codes the sources can emit: a literal (or a `const` naming one) given to a
    /// `Diagnostic` constructor, a `code: "…"` field, or the first element of a call or
    /// tuple (`fail("Code", …)`, `("Code", "help")`) that looks like a code.
    fn emitted_codes() -> BTreeMap<String, String> {
        let mut files = Vec::new();
        for e in walkdir::WalkDir::new(Path::new(env!("CARGO_MANIFEST_DIR")).join("src")) {
            let e = e.expect("src readable");
            if e.path().extension().is_some_and(|x| x == "rs") {
                let text = std::fs::read_to_string(e.path()).expect("source");
                // Tests make up codes (`W`, `X`): only what ships counts.
                let text = match text.find("#[cfg(test)]") {
                    Some(i) => text[..i].to_owned(),
                    None => text,
                };
                files.push((e.path().display().to_string(), text));
            }
        }
        let mut consts = BTreeMap::new();
        for (_, text) in &files {
            for part in text.split("const ").skip(1) {
                if let Some((name, rest)) = part.split_once(": &str =") {
                    if let Some(lit) = literal(rest).filter(|l| is_code(l)) {
                        consts.insert(name.trim().to_owned(), lit.to_owned());
                    }
                }
            }
        }
        let mut found = BTreeMap::new();
        for (path, text) in &files {
            let mut add = |code: &str| {
                found.entry(code.to_owned()).or_insert_with(|| path.clone());
            };
            for ctor in [
                "Diagnostic::error(",
                "Diagnostic::warning(",
                "Diagnostic::info(",
            ] {
                for part in text.split(ctor).skip(1) {
                    match literal(part) {
                        Some(lit) => add(lit),
                        None => {
                            let ident: String = part
                                .trim_start()
                                .chars()
                                .take_while(|c| c.is_ascii_uppercase() || *c == '_')
                                .collect();
                            if let Some(code) = consts.get(&ident) {
                                add(code);
                            }
                        }
                    }
                }
            }
            for part in text.split("Diagnostic::new(").skip(1) {
                if let Some(lit) = part.split_once(',').and_then(|(_, r)| literal(r)) {
                    add(lit);
                }
            }
            for part in text.split("code: ").skip(1) {
                if let Some(lit) = literal(part) {
                    add(lit);
                }
            }
            for part in text.split('(').skip(1) {
                if let Some(lit) = literal(part).filter(|l| is_code(l)) {
                    let after = part.trim_start()[lit.len() + 2..].trim_start();
                    if after.starts_with(',') {
                        add(lit);
                    }
                }
            }
        }
        found
    }

    #[test]
    fn every_emitted_code_has_an_entry() {
        let found = emitted_codes();
        assert!(found.len() > 60, "the scan found too little: {found:?}");
        let missing: Vec<String> = found
            .iter()
            .filter(|(code, _)| lookup(code).is_none())
            .map(|(code, path)| format!("{code} ({path})"))
            .collect();
        assert!(
            missing.is_empty(),
            "codes without an entry in src/diag/codes.rs (and a row in the README's table): {missing:?}"
        );
    }

    #[test]
    fn the_scan_finds_codes_of_every_shape() {
        let found = emitted_codes();
        for code in [
            "ModelNotFound",       // code: "…"
            "YamlSyntax",          // ("YamlSyntax", "help")
            "NeedsImageMetadata",  // fail("NeedsImageMetadata", …)
            "SchemaViolation",     // a const
            "GpuInventoryUnknown", // Diagnostic::info(\n "…"
        ] {
            assert!(found.contains_key(code), "{code}: {found:?}");
        }
        assert!(!found.contains_key("W6800X") && !found.contains_key("NaN"));
    }
}
