//! Command line: parse arguments, pick the mode, map the outcome to an exit code.

use authelia_secrets::catalog::AutheliaVersion;
use authelia_secrets::io::{self, Outcome};
use clap::{CommandFactory, Parser, Subcommand};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

/// Generates, wires and checks Authelia's secrets for kustomize and kpt.
///
/// With no arguments, reads a KRM ResourceList on stdin and writes one on stdout
/// (kpt fn eval/render, kustomize --enable-alpha-plugins --enable-exec).
/// With a file argument, runs as a kustomize legacy exec plugin (kubectl kustomize
/// --enable-alpha-plugins): the file holds the config, stdin the resources.
#[derive(Parser)]
#[command(
    name = "authelia-secrets",
    version,
    args_conflicts_with_subcommands = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,

    /// Config file (kustomize legacy exec plugin mode).
    config: Option<PathBuf>,
}

#[derive(Subcommand)]
enum Command {
    /// Print a new random master seed (256 bits, base64url) for AUTHELIA_SECRETS_SEED.
    Seed,
    /// Install this binary as a kustomize legacy exec plugin.
    InstallPlugin {
        /// Plugin home (default: $KUSTOMIZE_PLUGIN_HOME, $XDG_CONFIG_HOME/kustomize/plugin or
        /// ~/.config/kustomize/plugin).
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    /// Print the JSON Schema of a config kind (for editors and validators).
    Schema {
        /// AutheliaSecrets or AutheliaSecretsCheck.
        #[arg(long, default_value = "AutheliaSecrets")]
        kind: String,
    },
    /// Write the Secret's values and the workload patches as a kustomize Component, for
    /// pipelines that cannot run plugins (Flux, kubectl apply -k).
    Export {
        /// The AutheliaSecrets config file.
        #[arg(long)]
        config: PathBuf,
        /// The folder to write (created if missing).
        #[arg(long)]
        dir: PathBuf,
        /// Replace files whose content differs.
        #[arg(long)]
        force: bool,
        /// Do not write the .gitignore that keeps the value files out of Git.
        #[arg(long)]
        track_values: bool,
    },
    /// Print the Authelia secrets this tool knows, with their env vars.
    Catalog {
        /// Authelia version whose env var names to show (4.37, 4.38, 4.39).
        #[arg(long, default_value = "4.39", value_parser = parse_version)]
        authelia_version: AutheliaVersion,
    },
}

fn parse_version(s: &str) -> Result<AutheliaVersion, String> {
    AutheliaVersion::parse(s)
        .ok_or_else(|| format!("unsupported Authelia version {s:?}; supported: 4.37, 4.38, 4.39"))
}

/// Prints to stdout; a closed pipe ends the program with an exit code instead of a panic.
fn say(text: &str) -> Result<Outcome, authelia_secrets::Error> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map(|()| Outcome::Success)
        .map_err(|e| authelia_secrets::Error::Write {
            path: PathBuf::from("stdout"),
            message: e.to_string(),
        })
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match (cli.command, cli.config) {
        (Some(Command::Seed), _) => io::new_seed().and_then(|s| say(&format!("{s}\n"))),
        (Some(Command::InstallPlugin { dir }), _) => {
            // On stderr: stdout stays clean for a `&&`-chained build that prints YAML.
            io::install_plugin(dir, &authelia_secrets::KINDS).map(|paths| {
                for p in &paths {
                    eprintln!("authelia-secrets: installed {}", p.display());
                }
                Outcome::Success
            })
        }
        (Some(Command::Schema { kind }), _) => match authelia_secrets::schema::for_kind(&kind) {
            Some(schema) => say(&format!(
                "{}\n",
                serde_json::to_string_pretty(&schema).unwrap_or_default()
            )),
            None => {
                eprintln!(
                    "authelia-secrets: error: unknown kind {kind:?}; expected AutheliaSecrets or AutheliaSecretsCheck"
                );
                return ExitCode::from(2);
            }
        },
        (
            Some(Command::Export {
                config,
                dir,
                force,
                track_values,
            }),
            _,
        ) => io::run_export(
            &config,
            &dir,
            force,
            track_values,
            &mut std::io::stdout().lock(),
            &mut std::io::stderr(),
        ),
        (Some(Command::Catalog { authelia_version }), _) => {
            say(&authelia_secrets::catalog_table::render(authelia_version))
        }
        (None, Some(config)) => io::run_legacy(
            &config,
            &mut std::io::stdin().lock(),
            &mut std::io::stdout().lock(),
            &mut std::io::stderr(),
        ),
        (None, None) => {
            if std::io::stdin().is_terminal() {
                let _ = Cli::command().print_help();
                return ExitCode::SUCCESS;
            }
            io::run_resource_list(
                &mut std::io::stdin().lock(),
                &mut std::io::stdout().lock(),
                &mut std::io::stderr(),
            )
        }
    };
    match outcome {
        Ok(Outcome::Success) => ExitCode::SUCCESS,
        Ok(Outcome::Failed) => ExitCode::FAILURE,
        Err(authelia_secrets::Error::Write { ref message, .. })
            if message.contains("Broken pipe") =>
        {
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("authelia-secrets: error: {e}");
            ExitCode::FAILURE
        }
    }
}
