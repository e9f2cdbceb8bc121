//! What the pure core may ask of the outside world: variables, files under the root, randomness.
//!
//! The IO module implements [`Environment`] for the real process; tests use their own.

/// A source of inputs for the core. Error strings never contain file contents or values.
pub trait Environment {
    /// An environment variable, when set and valid UTF-8.
    fn var(&self, name: &str) -> Option<String>;

    /// The bytes of `path` (relative to the kustomization or package root unless absolute).
    ///
    /// With `restricted`, a path that resolves (following symlinks) outside the root is refused.
    fn read_file(&self, path: &str, restricted: bool) -> Result<Vec<u8>, String>;

    /// Fills `buf` from the operating system's random source.
    fn fill_random(&self, buf: &mut [u8]) -> Result<(), String>;
}

/// Lexical check for `fromFile`/`seed.file` paths: absolute paths and `..` escapes leave the root.
pub fn leaves_root(path: &str) -> bool {
    if path.starts_with('/') || path.starts_with('\\') || path.contains(':') {
        return true;
    }
    let mut depth: i64 = 0;
    for part in path.split(['/', '\\']) {
        match part {
            "" | "." => {}
            ".." => {
                depth -= 1;
                if depth < 0 {
                    return true;
                }
            }
            _ => depth += 1,
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::leaves_root;

    #[test]
    fn detects_escapes() {
        assert!(leaves_root("/etc/passwd"));
        assert!(leaves_root("../secret"));
        assert!(leaves_root("a/../../b"));
        assert!(leaves_root("C:\\x"));
        assert!(!leaves_root("a/../b"));
        assert!(!leaves_root("secrets/ldap.txt"));
        assert!(!leaves_root("./x"));
    }
}
