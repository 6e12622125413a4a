//! Image names: `[REGISTRY/]REPOSITORY:TAG`, as `docker tag` writes them.

use super::ImageError;
use std::fmt;

/// An image name with a tag: `kv:1.0`, `127.0.0.1:5000/team/kv:1.0`.
///
/// ```
/// use ccaas_deploy::image::ImageName;
///
/// let name = ImageName::parse("kv:1.0")?;
/// assert_eq!(name.normalized(), "docker.io/library/kv:1.0");
/// let name = ImageName::parse("127.0.0.1:5000/team/kv:1.0")?;
/// assert_eq!(name.registry.as_deref(), Some("127.0.0.1:5000"));
/// assert_eq!(name.pinned("sha256:ab"), "127.0.0.1:5000/team/kv@sha256:ab");
/// assert!(ImageName::parse("kv").is_err()); // no tag
/// assert!(ImageName::parse("Kv:1").is_err()); // upper case
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageName {
    /// The registry host (and port), when the name has one.
    pub registry: Option<String>,
    /// The repository path: `kv`, `team/kv`.
    pub repository: String,
    /// The tag.
    pub tag: String,
}

impl ImageName {
    /// Parses a name; `flag` names the flag in errors.
    pub fn parse(text: &str) -> Result<Self, ImageError> {
        Self::parse_for("--tag", text)
    }

    /// Parses a name given with `flag`.
    pub fn parse_for(flag: &'static str, text: &str) -> Result<Self, ImageError> {
        let bad = |reason: &str| ImageError::BadName {
            flag,
            value: text.to_owned(),
            reason: reason.to_owned(),
        };
        if text.contains('@') {
            return Err(bad("a digest cannot be given: the image's digest is computed from its contents; give NAME:TAG"));
        }
        let last_slash = text.rfind('/').map_or(0, |i| i + 1);
        let (path, tag) = match text[last_slash..].rfind(':') {
            Some(i) => (&text[..last_slash + i], &text[last_slash + i + 1..]),
            None => return Err(bad("no tag: give NAME:TAG, such as `kv:1.0` (a tag other than `latest`, so Kubernetes does not try to pull it)")),
        };
        let tag_ok = !tag.is_empty()
            && tag.len() <= 128
            && !tag.starts_with(['.', '-'])
            && tag
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
        if !tag_ok {
            return Err(bad("the tag must be 1 to 128 letters, digits, `_`, `.` or `-`, not starting with `.` or `-`"));
        }
        let (registry, repository) = match path.split_once('/') {
            Some((first, rest)) if first.contains(['.', ':']) || first == "localhost" => {
                (Some(first.to_owned()), rest)
            }
            _ => (None, path),
        };
        if let Some(host) = &registry {
            let ok = host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'));
            if !ok {
                return Err(bad(
                    "the registry must be a host name or address with an optional `:PORT`",
                ));
            }
        }
        let repo_ok = !repository.is_empty()
            && repository.len() <= 255
            && repository.split('/').all(|part| {
                !part.is_empty()
                    && part.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
                    && part.ends_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
                    && part.chars().all(|c| {
                        c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-')
                    })
            });
        if !repo_ok {
            return Err(bad("the repository must be lower-case letters, digits and `.`, `_`, `-` inside `/`-separated parts, such as `team/kv`"));
        }
        Ok(ImageName {
            registry,
            repository: repository.to_owned(),
            tag: tag.to_owned(),
        })
    }

    /// The fully qualified name (`docker.io/library/kv:1.0` for `kv:1.0`),
    /// as containerd stores it.
    pub fn normalized(&self) -> String {
        match &self.registry {
            Some(registry) => format!("{registry}/{}:{}", self.repository, self.tag),
            None if self.repository.contains('/') => {
                format!("docker.io/{}:{}", self.repository, self.tag)
            }
            None => format!("docker.io/library/{}:{}", self.repository, self.tag),
        }
    }

    /// `[REGISTRY/]REPOSITORY@DIGEST`: what a manifest should pin.
    pub fn pinned(&self, digest: &str) -> String {
        match &self.registry {
            Some(registry) => format!("{registry}/{}@{digest}", self.repository),
            None => format!("{}@{digest}", self.repository),
        }
    }
}

impl fmt::Display for ImageName {
    /// The name as `docker tag` writes it: `kv:1.0`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.registry {
            Some(registry) => write!(f, "{registry}/{}:{}", self.repository, self.tag),
            None => write!(f, "{}:{}", self.repository, self.tag),
        }
    }
}
