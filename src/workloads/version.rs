//! Which Authelia version the wiring is for: `spec.autheliaVersion` when set, else the version
//! the targeted containers' image tags agree on, else the default.

use super::{Target, container, pod_spec, pod_spec_path};
use crate::catalog::AutheliaVersion;
use crate::config::Config;
use crate::image::{self, TagVersion};
use crate::resource;
use crate::result::KrmResult;
use serde_json::Value;

/// One targeted container's image.
struct Seen<'a> {
    item: &'a Value,
    field: String,
    tag: TagVersion,
}

fn images<'a>(items: &'a [Value], targets: &[Target]) -> Vec<Seen<'a>> {
    let mut out = Vec::new();
    for t in targets {
        let item = &items[t.index];
        let Some(pod) = pod_spec(item) else {
            continue;
        };
        let prefix = pod_spec_path(resource::kind(item));
        for (list, names) in [
            ("containers", &t.containers),
            ("initContainers", &t.init_containers),
        ] {
            for name in names {
                let Some(image) = container(pod, list, name)
                    .and_then(|c| c.get("image"))
                    .and_then(Value::as_str)
                else {
                    continue;
                };
                out.push(Seen {
                    item,
                    field: format!("{prefix}.{list}[name={name}].image"),
                    tag: image::version(image),
                });
            }
        }
    }
    out
}

/// The warning for an image whose tag names another version than the one in force.
fn mismatch_message(tag: AutheliaVersion, used: AutheliaVersion) -> String {
    format!(
        "the image tag says Authelia {tag}, but spec.autheliaVersion is {used}, so the env var names are {used}'s; \
         make the two agree"
    )
}

/// The warning for an image whose tag names a version this tool does not know.
fn unsupported_message(tag: &str, used: AutheliaVersion) -> String {
    let known: Vec<&str> = AutheliaVersion::ALL.iter().map(|v| v.as_str()).collect();
    format!(
        "the image tag {tag:?} names an Authelia version this tool does not know ({}), so the names of {used} apply; \
         set spec.autheliaVersion to the closest one you have checked",
        known.join(", ")
    )
}

/// The version to wire for, with warnings (tags that disagree with a declared version, tags of
/// unknown versions) and an error when undeclared and the targets' tags disagree.
pub fn resolve(
    items: &[Value],
    targets: &[Target],
    config: &Config,
) -> (AutheliaVersion, Vec<KrmResult>) {
    let seen = images(items, targets);
    let mut results = Vec::new();
    let detected: Vec<(AutheliaVersion, &Seen)> = seen
        .iter()
        .filter_map(|s| match s.tag {
            TagVersion::Known(v) => Some((v, s)),
            _ => None,
        })
        .collect();
    let used = match config.version_declared {
        Some(v) => v,
        None => {
            let mut versions: Vec<AutheliaVersion> = detected.iter().map(|(v, _)| *v).collect();
            versions.sort();
            versions.dedup();
            match versions.as_slice() {
                [] => AutheliaVersion::DEFAULT,
                [one] => *one,
                _ => {
                    let list: Vec<String> = detected
                        .iter()
                        .map(|(v, s)| {
                            format!(
                                "{}/{} {}: {v}",
                                resource::kind(s.item),
                                resource::name(s.item),
                                s.field
                            )
                        })
                        .collect();
                    results.push(
                        KrmResult::error(format!(
                            "the targeted containers run different Authelia versions ({}), and the env var names \
                             differ between them; set spec.autheliaVersion, or wire them with separate configs",
                            list.join("; ")
                        ))
                        .on(&config.origin)
                        .at("spec.autheliaVersion"),
                    );
                    AutheliaVersion::DEFAULT
                }
            }
        }
    };
    for s in &seen {
        match &s.tag {
            TagVersion::Known(v) if config.version_declared.is_some() && *v != used => results
                .push(
                    KrmResult::warning(mismatch_message(*v, used))
                        .on(s.item)
                        .at(&s.field),
                ),
            TagVersion::Unsupported(tag) => results.push(
                KrmResult::warning(unsupported_message(tag, used))
                    .on(s.item)
                    .at(&s.field),
            ),
            _ => {}
        }
    }
    (used, results)
}
