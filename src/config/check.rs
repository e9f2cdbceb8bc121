//! The `AutheliaSecretsCheck` config: which Authelia version to check against, and exceptions.

use super::decode::Decoder;
use super::{CHECK_KIND, CheckConfig};
use crate::result::KrmResult;
use serde_json::Value;

pub(crate) const CHECK_SPEC_FIELDS: [&str; 2] = ["autheliaVersion", "allowVariables"];

/// Loads an `AutheliaSecretsCheck` object.
pub fn load_check(function_config: &Value) -> (Option<CheckConfig>, Vec<KrmResult>) {
    let mut d = Decoder::new(function_config);
    let config = d
        .top(function_config, CHECK_KIND, &CHECK_SPEC_FIELDS)
        .and_then(|(_, spec)| {
            let version = d.version(&spec).ok()?;
            let allow_variables = d.names(&spec, "allowVariables", "spec");
            Some(CheckConfig {
                origin: function_config.clone(),
                version,
                allow_variables,
                own_variables: None,
            })
        });
    let results = d.finish();
    if results.iter().any(KrmResult::is_error) {
        (None, results)
    } else {
        (config, results)
    }
}
