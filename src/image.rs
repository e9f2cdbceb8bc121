//! Container images: which ones run Authelia, and which Authelia version a tag names.
//!
//! An image reference is `[registry[:port]/]path[:tag][@digest]`; it runs Authelia when its
//! path is `authelia/authelia` or ends in `/authelia/authelia` (Docker Hub, GHCR, any mirror).

use crate::catalog::AutheliaVersion;

/// What an image's tag says about the Authelia version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TagVersion {
    /// A release of a version we know ("4.37.5", "v4.38.0", "4.39").
    Known(AutheliaVersion),
    /// A release-shaped tag of a version we do not know ("4.36.9", "4.40.0"): the tag text.
    Unsupported(String),
    /// No tag, `latest`, a branch name or a digest only: the version cannot be told.
    Unknown,
}

/// The repository path of an image reference, without registry, tag and digest.
fn path(image: &str) -> &str {
    let name = image.split('@').next().unwrap_or(image);
    let last_slash = name.rfind('/').map_or(0, |i| i + 1);
    let name = match name[last_slash..].find(':') {
        Some(i) => &name[..last_slash + i],
        None => name,
    };
    // A first component with a '.' or ':' or equal to "localhost" is a registry host.
    match name.split_once('/') {
        Some((host, rest)) if host.contains('.') || host.contains(':') || host == "localhost" => {
            rest
        }
        _ => name,
    }
}

/// The tag of an image reference, if it has one.
fn tag(image: &str) -> Option<&str> {
    let name = image.split('@').next().unwrap_or(image);
    let last_slash = name.rfind('/').map_or(0, |i| i + 1);
    name[last_slash..]
        .find(':')
        .map(|i| &name[last_slash + i + 1..])
}

/// True for an image of Authelia, from any registry or mirror.
pub fn is_authelia(image: &str) -> bool {
    let p = path(image);
    p == "authelia/authelia" || p.ends_with("/authelia/authelia")
}

/// The Authelia version an image's tag names; `Unknown` for images of anything else.
pub fn version(image: &str) -> TagVersion {
    if !is_authelia(image) {
        return TagVersion::Unknown;
    }
    let Some(tag) = tag(image) else {
        return TagVersion::Unknown;
    };
    if let Some(v) = AutheliaVersion::parse(tag) {
        return TagVersion::Known(v);
    }
    let bare = tag.strip_prefix('v').unwrap_or(tag);
    let parts: Vec<&str> = bare.split('.').collect();
    let release_shaped = (2..=3).contains(&parts.len())
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    if release_shaped {
        TagVersion::Unsupported(tag.to_string())
    } else {
        TagVersion::Unknown
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authelia_images_from_any_registry() {
        for image in [
            "authelia/authelia",
            "authelia/authelia:4.39",
            "docker.io/authelia/authelia:4.39.1",
            "ghcr.io/authelia/authelia:latest",
            "registry.example.com:5000/mirror/authelia/authelia:4.38.0@sha256:abcd",
            "localhost/authelia/authelia",
            "quay.io/authelia/authelia@sha256:0123",
        ] {
            assert!(is_authelia(image), "{image}");
        }
        for image in [
            "nginx:1.25",
            "authelia/authelia-helper:1",
            "example.com/notauthelia/authelia:4.39",
            "authelia:4.39",
            "authelia/authelia/extra:1",
        ] {
            assert!(!is_authelia(image), "{image}");
        }
    }

    #[test]
    fn versions_from_tags() {
        use AutheliaVersion::*;
        assert_eq!(
            version("authelia/authelia:4.37.5"),
            TagVersion::Known(V4_37)
        );
        assert_eq!(
            version("ghcr.io/authelia/authelia:v4.38.0"),
            TagVersion::Known(V4_38)
        );
        assert_eq!(
            version("my.registry:5000/authelia/authelia:4.39@sha256:ab"),
            TagVersion::Known(V4_39)
        );
        assert_eq!(version("authelia/authelia:latest"), TagVersion::Unknown);
        assert_eq!(version("authelia/authelia@sha256:ab"), TagVersion::Unknown);
        assert_eq!(version("authelia/authelia"), TagVersion::Unknown);
        assert_eq!(version("authelia/authelia:master"), TagVersion::Unknown);
        assert_eq!(
            version("authelia/authelia:4.36.9"),
            TagVersion::Unsupported("4.36.9".into())
        );
        assert_eq!(version("postgres:4.39"), TagVersion::Unknown);
    }
}
