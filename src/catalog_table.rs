//! The `catalog` subcommand's table, rendered from [`crate::catalog::CATALOG`].

use crate::catalog::{AutheliaVersion, CATALOG, Obtain};

/// One line per secret: key, env var for `version`, how the value is obtained.
pub fn render(version: AutheliaVersion) -> String {
    let rows: Vec<[String; 3]> = CATALOG
        .iter()
        .map(|e| {
            let how = match e.obtain {
                Obtain::Generate(g) => format!("generated ({})", g.summary()),
                Obtain::Provide(_) => "provided".to_string(),
                Obtain::ProvideOnly(_) => "provided (a path)".to_string(),
            };
            let how = if e.is_deprecated_in(version) {
                format!("{how}, deprecated")
            } else {
                how
            };
            [e.key.to_string(), e.env_var(version), how]
        })
        .collect();
    let header = [
        "KEY".to_string(),
        format!("ENV VAR (Authelia {version})"),
        "VALUE".to_string(),
    ];
    let w0 = rows
        .iter()
        .map(|r| r[0].len())
        .chain([header[0].len()])
        .max()
        .unwrap_or(0);
    let w1 = rows
        .iter()
        .map(|r| r[1].len())
        .chain([header[1].len()])
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    for r in std::iter::once(&header).chain(rows.iter()) {
        out.push_str(&format!("{:<w0$}  {:<w1$}  {}\n", r[0], r[1], r[2]));
    }
    out
}
