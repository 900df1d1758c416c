//! The Gateway API HTTPRoute of a service (service.md §8).

use super::object::{
    BackendRef, HttpRouteSpec, Manifest, Metadata, Object, PathMatch, PathModifier, RouteFilter,
    RouteMatch, RouteRule, RouteTimeouts, UrlRewrite,
};
use super::{owner_refs, Ctx};
use crate::api::aim::GatewayRef;
use crate::diag::Diagnostic;
use crate::resolve::{duration, ServicePlan};
use std::collections::BTreeMap;

pub const API_VERSION: &str = "gateway.networking.k8s.io/v1";

/// Routing settings after the service-over-config rules of §2.6.
pub struct Routing<'a> {
    pub enabled: bool,
    pub gateway: Option<&'a GatewayRef>,
    pub path_template: Option<&'a str>,
    pub timeout: Option<&'a str>,
    pub annotations: Option<&'a BTreeMap<String, String>>,
}

pub fn routing<'a>(plan: &'a ServicePlan) -> Routing<'a> {
    let svc = plan.spec.routing.as_ref();
    let rc = plan.config.as_ref().and_then(|c| c.spec.routing.as_ref());
    Routing {
        enabled: svc
            .and_then(|r| r.enabled)
            .or(rc.and_then(|r| r.enabled))
            .unwrap_or(false),
        gateway: svc
            .and_then(|r| r.gateway_ref.as_ref())
            .or(rc.and_then(|r| r.gateway_ref.as_ref())),
        path_template: svc
            .and_then(|r| r.path_template.as_deref())
            .or(rc.and_then(|r| r.path_template.as_deref())),
        timeout: svc
            .and_then(|r| r.request_timeout.as_deref())
            .or(rc.and_then(|r| r.request_timeout.as_deref())),
        annotations: rc.map(|r| &r.annotations).filter(|a| !a.is_empty()),
    }
}

pub fn render(
    plan: &ServicePlan,
    r: &Routing,
    gw: &GatewayRef,
    path: &str,
    isvc_name: &str,
    ctx: &Ctx,
    diags: &mut Vec<Diagnostic>,
) -> Option<Object> {
    let route_name = crate::naming::http_route_name(plan.name, plan.namespace);
    let mut labels = BTreeMap::new();
    labels.insert(
        "app.kubernetes.io/component".to_owned(),
        "routing".to_owned(),
    );
    labels.insert(
        "app.kubernetes.io/managed-by".to_owned(),
        "aim-engine".to_owned(),
    );
    labels.insert(
        "aim.eai.amd.com/service".to_owned(),
        crate::naming::sanitize_label_value(plan.name),
    );
    super::stamp_service_child(&mut labels, plan);

    // A Go map: serialised with sorted keys, as the BTreeMap is.
    let mut annotations: BTreeMap<String, String> = r.annotations.cloned().unwrap_or_default();
    if let Some(wave) = ctx.wave("HTTPRoute") {
        annotations.insert("argocd.argoproj.io/sync-wave".into(), wave.into());
    }
    let mut timeouts = None;
    if let Some(t) = r.timeout {
        // Spans are built lazily: only ask for one when there is something to report.
        let loc = || Some(plan.obj.loc_of(&["spec", "routing", "requestTimeout"]));
        match duration::parse(t) {
            Some(ns) => {
                let s = duration::format(ns);
                if s.contains('.') {
                    diags.push(
                        Diagnostic::warning("FractionalTimeout", format!("request timeout {t:?} renders as {s:?}, which the Gateway API rejects"))
                            .at(loc())
                            .help("use whole seconds or milliseconds, e.g. 1500ms"),
                    );
                }
                timeouts = Some(RouteTimeouts { request: s });
            }
            None => {
                diags.push(
                    Diagnostic::error(
                        "InvalidDuration",
                        format!("requestTimeout {t:?} is not a duration"),
                    )
                    .at(loc())
                    .help("write a Go duration such as 30s, 2m or 1h"),
                );
                return None;
            }
        }
    }
    let rule = RouteRule {
        matches: vec![RouteMatch {
            path: PathMatch {
                r#type: "PathPrefix",
                value: path.to_owned(),
            },
        }],
        filters: vec![RouteFilter {
            r#type: "URLRewrite",
            url_rewrite: UrlRewrite {
                path: PathModifier {
                    r#type: "ReplacePrefixMatch",
                    replace_prefix_match: "/",
                },
            },
        }],
        backend_refs: vec![BackendRef {
            kind: "Service",
            name: format!("{isvc_name}-predictor"),
            namespace: plan.namespace.to_owned(),
            port: 80,
        }],
        timeouts,
    };
    Some(Object::HttpRoute(Manifest {
        api_version: API_VERSION,
        kind: "HTTPRoute",
        metadata: Metadata {
            name: route_name,
            namespace: Some(plan.namespace.to_owned()),
            labels,
            annotations: Some(annotations).filter(|a| !a.is_empty()),
            owner_references: owner_refs(plan),
        },
        spec: HttpRouteSpec {
            parent_refs: vec![gw.clone()],
            rules: vec![rule],
        },
    }))
}
