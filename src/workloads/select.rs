//! Choosing the workloads to wire: every one with a container named `authelia`, or those
//! `spec.workloads` names, never one in another namespace than the Secret's.
//!
//! A pod can mount only a Secret of its own namespace. When the Secret has a namespace, a
//! workload whose namespace is set and differs is never a target. When the Secret has none
//! but a target has one, the Secret would land elsewhere: kustomize's `namespace:` does not
//! reach a resource a transformer plugin adds.

use super::{Target, container, pod_spec, template_path};
use crate::config::{Config, DEFAULT_CONTAINER, WorkloadSelector};
use crate::resource;
use crate::result::KrmResult;
use serde_json::Value;

fn is_workload(item: &Value) -> bool {
    template_path(resource::kind(item)).is_some()
}

fn has_container(item: &Value, name: &str) -> bool {
    pod_spec(item).is_some_and(|s| container(s, "containers", name).is_some())
}

fn describe(item: &Value) -> String {
    format!(
        "{}/{} in namespace {:?}",
        resource::kind(item),
        resource::name(item),
        resource::namespace(item)
    )
}

/// Chooses the workloads to patch. `generator`: the input holds no workloads by design.
pub fn select(items: &[Value], config: &Config, generator: bool) -> (Vec<Target>, Vec<KrmResult>) {
    let secret_ns = config.namespace.as_deref();
    // A workload without a namespace gets one later (kustomize, kubectl): it may match.
    let same_ns = |item: &Value| {
        let ns = resource::namespace(item);
        ns.is_empty() || secret_ns.is_none_or(|s| s == ns)
    };
    let mut results = Vec::new();
    let mut targets: Vec<Target> = Vec::new();
    match &config.workloads {
        None => {
            let mut skipped = Vec::new();
            for (index, item) in items.iter().enumerate() {
                if !is_workload(item) || !has_container(item, DEFAULT_CONTAINER) {
                    continue;
                }
                if !same_ns(item) {
                    skipped.push(describe(item));
                    continue;
                }
                targets.push(Target {
                    index,
                    containers: vec![DEFAULT_CONTAINER.to_string()],
                    init_containers: Vec::new(),
                    selector_field: None,
                });
            }
            if targets.is_empty() && !generator {
                let message = match (skipped.is_empty(), secret_ns) {
                    (false, Some(ns)) => format!(
                        "no workload in namespace {ns:?} has a container named {DEFAULT_CONTAINER:?}, so none was wired \
                         to Secret {:?}; skipped {} (a pod can mount only a Secret of its own namespace): set \
                         metadata.namespace to theirs, or list workloads under spec.workloads",
                        config.secret_name,
                        skipped.join(", ")
                    ),
                    _ => format!(
                        "no workload has a container named {DEFAULT_CONTAINER:?}, so none was wired to Secret {:?}; \
                         list workloads under spec.workloads",
                        config.secret_name
                    ),
                };
                results.push(
                    KrmResult::warning(message)
                        .on(&config.origin)
                        .at("spec.workloads"),
                );
            }
        }
        Some(selectors) => {
            for sel in selectors {
                if let (Some(wanted), Some(ns)) = (sel.namespace.as_deref(), secret_ns)
                    && wanted != ns
                {
                    results.push(
                        KrmResult::error(format!(
                            "the Secret lives in namespace {ns:?}, and a pod in namespace {wanted:?} cannot mount it; \
                             use one AutheliaSecrets config per namespace"
                        ))
                        .on(&config.origin)
                        .at(format!("{}.namespace", sel.field)),
                    );
                    continue;
                }
                let matched: Vec<usize> = items
                    .iter()
                    .enumerate()
                    .filter(|(_, item)| is_workload(item) && matches(item, sel))
                    .map(|(i, _)| i)
                    .collect();
                let (usable, elsewhere): (Vec<usize>, Vec<usize>) =
                    matched.into_iter().partition(|i| same_ns(&items[*i]));
                if usable.is_empty() && !generator {
                    let message = match (elsewhere.is_empty(), secret_ns) {
                        (false, Some(ns)) => format!(
                            "{} matches only {}, but the Secret lives in namespace {ns:?}: a pod can mount only a \
                             Secret of its own namespace; use one AutheliaSecrets config per namespace",
                            describe_selector(sel),
                            elsewhere
                                .iter()
                                .map(|i| describe(&items[*i]))
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                        _ => format!("no {} in the input", describe_selector(sel)),
                    };
                    results.push(KrmResult::error(message).on(&config.origin).at(&sel.field));
                }
                for index in usable {
                    add(&mut targets, index, sel);
                }
            }
        }
    }
    if secret_ns.is_none() {
        for t in &targets {
            let item = &items[t.index];
            let ns = resource::namespace(item);
            if ns.is_empty() {
                continue;
            }
            results.push(
                KrmResult::warning(format!(
                    "{}/{} is in namespace {ns:?}, but the Secret has none: a pod can mount only a Secret of its own \
                     namespace, and kustomize's namespace: does not reach a resource a transformer plugin adds; \
                     set metadata.namespace: {ns} on this config",
                    resource::kind(item),
                    resource::name(item)
                ))
                .on(&config.origin)
                .at("metadata.namespace"),
            );
        }
    }
    (targets, results)
}

fn describe_selector(sel: &WorkloadSelector) -> String {
    format!(
        "{} named {:?}{}",
        sel.kind.as_deref().unwrap_or("workload"),
        sel.name,
        sel.namespace
            .as_ref()
            .map(|n| format!(" in namespace {n:?}"))
            .unwrap_or_default()
    )
}

fn add(targets: &mut Vec<Target>, index: usize, sel: &WorkloadSelector) {
    match targets.iter_mut().find(|t| t.index == index) {
        Some(t) => {
            if !t.containers.contains(&sel.container) {
                t.containers.push(sel.container.clone());
            }
            for c in &sel.init_containers {
                if !t.init_containers.contains(c) {
                    t.init_containers.push(c.clone());
                }
            }
        }
        None => targets.push(Target {
            index,
            containers: vec![sel.container.clone()],
            init_containers: sel.init_containers.clone(),
            selector_field: Some(sel.field.clone()),
        }),
    }
}

fn matches(item: &Value, sel: &WorkloadSelector) -> bool {
    resource::name(item) == sel.name
        && sel
            .kind
            .as_deref()
            .is_none_or(|k| resource::kind(item) == k)
        && sel
            .namespace
            .as_deref()
            .is_none_or(|ns| resource::namespace(item) == ns)
}
