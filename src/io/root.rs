//! The root that relative `fromFile`/`seed.file` paths resolve against in KRM mode, chosen from
//! evidence that the (possibly hostile) config cannot forge.
//!
//! What the orchestrators send (kpt 1.0.0-beta.56 observed with an exec script that saved its
//! stdin; kustomize read in `api/internal/plugins/fnplugin/fnplugin.go` and `kyaml/runfn`):
//!
//! - `kpt fn render` sets `internal.config.kubernetes.io/package-path` to the package's absolute
//!   directory on every item and on the functionConfig, overwriting what the file says, and adds
//!   the config's own file path; the function runs in kpt's working directory.
//! - `kpt fn eval --fn-config F` passes F's annotations as written (a `package-path: /` in F
//!   reaches us unchanged) and sets no package path on the items.
//! - kustomize's exec KRM functions run in the kustomization root and get the config as written.
//!
//! So the claimed package path is trusted only when it narrows the working directory (it is the
//! working directory or inside it), or when it is verifiably the kpt package that holds this very
//! config: it has a `Kptfile` and the config's file in it has the same content.

use crate::environment::leaves_root;
use crate::resource::{self, PACKAGE_PATH_ANNOTATION};
use crate::yaml;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// The largest config file read to confirm a claimed package.
const MAX_CONFIG_BYTES: u64 = 1024 * 1024;

/// The root for a KRM run: `runner_root` (KUSTOMIZE_PLUGIN_CONFIG_ROOT) when set, else the
/// functionConfig's package path when it can be trusted, else `cwd`.
///
/// `Err` says why the claimed package path cannot be used; it is reported only if a file is read.
pub fn krm_root(
    runner_root: Option<PathBuf>,
    function_config: Option<&Value>,
    cwd: &Path,
) -> Result<PathBuf, String> {
    if let Some(root) = runner_root {
        return Ok(root);
    }
    let Some(fc) = function_config else {
        return Ok(cwd.to_path_buf());
    };
    let Some(claim) = resource::annotation(fc, PACKAGE_PATH_ANNOTATION) else {
        return Ok(cwd.to_path_buf());
    };
    let claimed = cwd.join(claim);
    if inside(&claimed, cwd) || holds_this_config(&claimed, fc) {
        return Ok(claimed);
    }
    Err(format!(
        "the config's annotation {PACKAGE_PATH_ANNOTATION} names {claim:?}, which is outside the \
         working directory {} and is not a kpt package holding this config, so it cannot serve as \
         the root (kpt fn render sets it; a config file cannot choose it): run kpt from the package \
         or a folder above it",
        cwd.display()
    ))
}

/// True when `path` resolves to `dir` or below it.
fn inside(path: &Path, dir: &Path) -> bool {
    match (path.canonicalize(), dir.canonicalize()) {
        (Ok(p), Ok(d)) => p.starts_with(d),
        _ => false,
    }
}

/// True when `package` is a kpt package (it has a `Kptfile`) whose file named by the config's
/// path annotation holds a document equal to the config (same apiVersion, kind, name, spec and
/// data): what `kpt fn render` sends, and what a config elsewhere cannot claim.
fn holds_this_config(package: &Path, fc: &Value) -> bool {
    let Some(rel) = resource::file_path(fc) else {
        return false;
    };
    if !package.is_absolute() || rel.is_empty() || leaves_root(rel) {
        return false;
    }
    let regular = |p: &Path| std::fs::metadata(p).is_ok_and(|m| m.is_file());
    if !regular(&package.join("Kptfile")) {
        return false;
    }
    let file = package.join(rel);
    if !inside(&file, package)
        || !regular(&file)
        || std::fs::metadata(&file).map_or(true, |m| m.len() > MAX_CONFIG_BYTES)
    {
        return false;
    }
    let Ok(bytes) = std::fs::read(&file) else {
        return false;
    };
    let Ok(docs) = yaml::parse_stream(rel, &bytes) else {
        return false;
    };
    docs.iter().any(|d| same_config(d, fc))
}

fn same_config(a: &Value, b: &Value) -> bool {
    resource::api_version(a) == resource::api_version(b)
        && resource::kind(a) == resource::kind(b)
        && resource::name(a) == resource::name(b)
        && resource::namespace(a) == resource::namespace(b)
        && a.get("spec") == b.get("spec")
        && a.get("data") == b.get("data")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fc(package_path: &str, path: Option<&str>) -> Value {
        let mut annotations = json!({ PACKAGE_PATH_ANNOTATION: package_path });
        if let Some(p) = path {
            annotations["internal.config.kubernetes.io/path"] = json!(p);
        }
        json!({
            "apiVersion": "authelia-secrets.dev/v1alpha1",
            "kind": "AutheliaSecrets",
            "metadata": {"name": "authelia", "annotations": annotations},
            "spec": {"secrets": {"LDAP_PASSWORD": {"fromFile": "ldap.txt"}}},
        })
    }

    const CONFIG: &str = "apiVersion: authelia-secrets.dev/v1alpha1\nkind: AutheliaSecrets\n\
        metadata:\n  name: authelia\nspec:\n  secrets:\n    LDAP_PASSWORD: {fromFile: ldap.txt}\n";

    #[test]
    fn a_claim_outside_the_working_directory_is_refused() {
        let cwd = tempfile::tempdir().unwrap();
        let err = krm_root(None, Some(&fc("/", None)), cwd.path()).unwrap_err();
        assert!(err.contains("outside the working directory"), "{err}");
        // Naming a config file does not help when "/" holds no such package.
        assert!(krm_root(None, Some(&fc("/", Some("etc/hostname"))), cwd.path()).is_err());
    }

    #[test]
    fn a_claim_inside_the_working_directory_narrows_it() {
        let cwd = tempfile::tempdir().unwrap();
        std::fs::create_dir(cwd.path().join("pkg")).unwrap();
        let root = krm_root(None, Some(&fc("pkg", None)), cwd.path()).unwrap();
        assert_eq!(root, cwd.path().join("pkg"));
        assert_eq!(
            krm_root(None, None, cwd.path()).unwrap(),
            cwd.path().to_path_buf()
        );
        let runner = PathBuf::from("/runner/root");
        assert_eq!(
            krm_root(Some(runner.clone()), Some(&fc("/", None)), cwd.path()).unwrap(),
            runner
        );
    }

    #[test]
    fn a_kpt_package_holding_this_config_is_trusted_anywhere() {
        let cwd = tempfile::tempdir().unwrap();
        let pkg = tempfile::tempdir().unwrap();
        std::fs::write(pkg.path().join("fn.yaml"), CONFIG).unwrap();
        let claim = pkg.path().display().to_string();
        let config = fc(&claim, Some("fn.yaml"));
        // Without a Kptfile it is not a package.
        assert!(krm_root(None, Some(&config), cwd.path()).is_err());
        std::fs::write(pkg.path().join("Kptfile"), "kind: Kptfile\n").unwrap();
        assert_eq!(
            krm_root(None, Some(&config), cwd.path()).unwrap(),
            pkg.path()
        );
        // Another spec than the file's is not this config.
        let mut other = config.clone();
        other["spec"]["secrets"]["LDAP_PASSWORD"]["fromFile"] = json!("../../etc/hostname");
        assert!(krm_root(None, Some(&other), cwd.path()).is_err());
        // A path annotation that leaves the package is not followed.
        let escaping = fc(&claim, Some("../fn.yaml"));
        assert!(krm_root(None, Some(&escaping), cwd.path()).is_err());
    }
}
