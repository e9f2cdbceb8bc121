//! The library's one error type: each variant says what failed and where.

use std::path::PathBuf;

/// Everything that can stop the function before it has a ResourceList to answer with.
///
/// Problems in the user's configuration or resources are not errors of this type:
/// they become KRM `results` (see [`crate::result`]). Messages never include secret
/// values: YAML errors carry positions and kinds of problems, never document text.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The input is not YAML (or not UTF-8, or exceeds a parser limit).
    #[error("{source_name}: {message}")]
    Yaml {
        source_name: String,
        message: String,
    },

    /// The input is YAML but not the shape we expect (e.g. not a ResourceList).
    #[error("{source_name}: {message}")]
    Shape {
        source_name: String,
        message: String,
    },

    /// A file could not be read.
    #[error("cannot read {}: {message}", path.display())]
    Read { path: PathBuf, message: String },

    /// A file or directory could not be written.
    #[error("cannot write {}: {message}", path.display())]
    Write { path: PathBuf, message: String },

    /// The operating system's random source failed.
    #[error("the operating system's random number generator failed: {0}")]
    Random(String),

    /// The YAML emitter refused a value (should not happen for values we parsed).
    #[error("cannot write YAML: {0}")]
    Emit(String),
}

impl Error {
    /// Builds a [`Error::Shape`] error for the named input.
    pub fn shape(source_name: &str, message: impl Into<String>) -> Self {
        Error::Shape {
            source_name: source_name.to_string(),
            message: message.into(),
        }
    }
}

/// The library's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
