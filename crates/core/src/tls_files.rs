//! Where `root_cert_file`, `client_cert_file` and `client_key_file` may
//! point: a file inside the package's source tree (never outside it, never
//! through a symbolic link), or inside the directory an operator names in
//! `CCAAS_TLS_DIR`, so that one package can serve peers whose TLS material
//! differs.
//!
//! ```
//! use ccaas_core::TlsFiles;
//!
//! let src = tempfile::tempdir()?;
//! std::fs::create_dir(src.path().join("tls"))?;
//! std::fs::write(src.path().join("tls/ca.pem"), "pem text")?;
//! let files = TlsFiles::new(src.path(), None);
//! assert_eq!(files.read("tls/ca.pem")?.1, "pem text");
//! assert!(files.read("../outside.pem").is_err());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use crate::fs::{self, EntryKind, FsError};
use std::path::{Component, Path, PathBuf};

/// The environment variable naming an operator's TLS directory.
pub const TLS_DIR_ENV: &str = "CCAAS_TLS_DIR";

/// The largest TLS file we read.
pub const MAX_TLS_FILE_BYTES: u64 = 1024 * 1024;

crate::report::debug_as_chain!(TlsFileError);

/// Why a TLS file reference cannot be used.
#[derive(thiserror::Error)]
pub enum TlsFileError {
    /// Empty reference.
    #[error("the path is empty")]
    Empty,
    /// `..`, or an absolute path without `CCAAS_TLS_DIR` containing it.
    #[error("`{path}` is outside the package{hint}")]
    Outside {
        /// The reference.
        path: String,
        /// How to make it work.
        hint: &'static str,
    },
    /// Not in the package nor in `CCAAS_TLS_DIR`.
    #[error("`{path}` was not found in {searched}")]
    NotFound {
        /// The reference.
        path: String,
        /// Where it was looked for.
        searched: String,
    },
    /// A symbolic link inside the package on the way to the file.
    #[error("`{path}` is a symbolic link inside the package; refusing to follow it")]
    Symlink {
        /// The link, relative to the package.
        path: String,
    },
    /// Not UTF-8 text.
    #[error("`{path}` is not UTF-8 text (expected PEM)")]
    NotText {
        /// The file.
        path: PathBuf,
    },
    /// Reading failed.
    #[error(transparent)]
    Io(#[from] FsError),
}

/// The places `*_file` references are resolved in: directories on disk
/// ([`TlsFiles::new`]) or PEM bytes in memory ([`TlsFiles::in_memory`]).
#[derive(Clone)]
pub struct TlsFiles {
    package_dir: PathBuf,
    tls_dir: Option<PathBuf>,
    memory: Option<std::collections::BTreeMap<String, Vec<u8>>>,
}

impl std::fmt::Debug for TlsFiles {
    // The PEM bytes may be a private key: never print them.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.memory {
            Some(files) => write!(
                f,
                "TlsFiles(in memory: {:?})",
                files.keys().collect::<Vec<_>>()
            ),
            None => write!(f, "TlsFiles({:?}, {:?})", self.package_dir, self.tls_dir),
        }
    }
}

impl TlsFiles {
    /// References resolve in `package_dir`, then in `tls_dir`.
    pub fn new(package_dir: &Path, tls_dir: Option<&Path>) -> Self {
        TlsFiles {
            package_dir: package_dir.to_owned(),
            tls_dir: tls_dir.map(Path::to_owned),
            memory: None,
        }
    }

    /// References resolve in `files`, a map from the path a `*_file` key
    /// names (`tls/ca.pem`) to the PEM bytes: TLS material held in memory
    /// (a secret store, a test), never on disk.
    ///
    /// ```
    /// use ccaas_core::connection::{self, LoadOptions};
    /// use ccaas_core::TlsFiles;
    ///
    /// let ca = std::fs::read("../../fixtures/tls/ca.pem")?;
    /// let files = TlsFiles::in_memory([("tls/ca.pem".to_owned(), ca)].into());
    /// let options = LoadOptions { tls_files: Some(&files), ..LoadOptions::default() };
    /// let json = br#"{"address": "cc:9999", "tls_required": true, "root_cert_file": "tls/ca.pem"}"#;
    /// let checked = connection::load(json, &options)?;
    /// assert!(checked.connection.root_cert.is_some());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn in_memory(files: std::collections::BTreeMap<String, Vec<u8>>) -> Self {
        TlsFiles {
            package_dir: PathBuf::new(),
            tls_dir: None,
            memory: Some(files),
        }
    }

    /// Reads the file `reference` names, returning its path and text.
    pub fn read(&self, reference: &str) -> Result<(PathBuf, String), TlsFileError> {
        if reference.is_empty() {
            return Err(TlsFileError::Empty);
        }
        if let Some(files) = &self.memory {
            let relative = normal_relative(reference)?;
            let key = relative.to_string_lossy();
            let Some(bytes) = files.get(key.as_ref()) else {
                return Err(TlsFileError::NotFound {
                    path: reference.to_owned(),
                    searched: format!(
                        "the TLS files given in memory (they are: {})",
                        files
                            .keys()
                            .map(|k| format!("`{}`", crate::report::shorten(k)))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                });
            };
            if bytes.len() as u64 > MAX_TLS_FILE_BYTES {
                return Err(FsError::TooLarge {
                    path: relative,
                    limit: MAX_TLS_FILE_BYTES,
                }
                .into());
            }
            let text = String::from_utf8(bytes.clone()).map_err(|_| TlsFileError::NotText {
                path: relative.clone(),
            })?;
            return Ok((relative, text));
        }
        let path = Path::new(reference);
        let path = if path.is_absolute() {
            self.inside_tls_dir(reference, path)?
        } else {
            let relative = normal_relative(reference)?;
            match self.inside_package(&relative)? {
                Some(found) => found,
                None => match &self.tls_dir {
                    Some(dir) => self.inside_tls_dir(reference, &dir.join(&relative))?,
                    None => {
                        return Err(TlsFileError::NotFound {
                            path: reference.to_owned(),
                            searched: format!(
                                "the package (`{}`), and `{TLS_DIR_ENV}` is not set{}",
                                self.package_dir.display(),
                                self.near_miss(&relative)
                            ),
                        })
                    }
                },
            }
        };
        let bytes = fs::read_limited(&path, MAX_TLS_FILE_BYTES)?;
        let text =
            String::from_utf8(bytes).map_err(|_| TlsFileError::NotText { path: path.clone() })?;
        Ok((path, text))
    }

    /// `; the package has `certs/ca.pem`...` when a file of the same name is
    /// in the package under another folder.
    pub(crate) fn near_miss(&self, relative: &Path) -> String {
        let Some(name) = relative
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
        else {
            return String::new();
        };
        let Ok(files) = fs::walk_files(&self.package_dir) else {
            return String::new();
        };
        let same: Vec<String> = files
            .into_iter()
            .map(|(r, _)| r)
            .filter(|r| r.rsplit('/').next() == Some(name.as_str()))
            .take(3)
            .collect();
        if same.is_empty() {
            return String::new();
        }
        format!(
            "; the package has {}: name that path (paths are relative to the top of code.tar.gz)",
            same.iter()
                .map(|r| format!("`{}`", crate::report::shorten(r)))
                .collect::<Vec<_>>()
                .join(", ")
        )
    }

    /// The file at `relative` in the package, walking each component without
    /// following symbolic links.
    fn inside_package(&self, relative: &Path) -> Result<Option<PathBuf>, TlsFileError> {
        let mut at = self.package_dir.clone();
        for part in relative.components() {
            at.push(part);
            match fs::entry_kind(&at)? {
                None => return Ok(None),
                Some(EntryKind::Symlink) => {
                    return Err(TlsFileError::Symlink {
                        path: relative.display().to_string(),
                    })
                }
                Some(_) => {}
            }
        }
        Ok(Some(at))
    }

    fn inside_tls_dir(&self, reference: &str, path: &Path) -> Result<PathBuf, TlsFileError> {
        let Some(dir) = &self.tls_dir else {
            return Err(TlsFileError::Outside {
                path: reference.to_owned(),
                hint: " (an absolute path must be inside the directory named by `CCAAS_TLS_DIR`; set it in the peer's environment and `propagateEnvironment`)",
            });
        };
        let not_found = || TlsFileError::NotFound {
            path: reference.to_owned(),
            searched: format!("the package nor in `{TLS_DIR_ENV}` (`{}`)", dir.display()),
        };
        // Operators' directories (Kubernetes secrets, for one) use symbolic
        // links internally; follow them, but the target must stay inside.
        // Lexically outside: say so before looking at the disk.
        if path.is_absolute() && dir.is_absolute() && !path.starts_with(dir) {
            return Err(TlsFileError::Outside {
                path: reference.to_owned(),
                hint: " and outside `CCAAS_TLS_DIR`",
            });
        }
        let real_dir = dir
            .canonicalize()
            .map_err(|e| FsError::io("resolve", dir, e))?;
        let real = match path.canonicalize() {
            Ok(real) => real,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(not_found()),
            Err(e) => return Err(FsError::io("resolve", path, e).into()),
        };
        if !real.starts_with(&real_dir) {
            return Err(TlsFileError::Outside {
                path: reference.to_owned(),
                hint: " and outside `CCAAS_TLS_DIR`",
            });
        }
        Ok(real)
    }
}

/// `reference` as a relative path of plain components (`./` dropped), or an
/// error for `..`.
fn normal_relative(reference: &str) -> Result<PathBuf, TlsFileError> {
    let mut out = PathBuf::new();
    for part in Path::new(reference).components() {
        match part {
            Component::Normal(p) => out.push(p),
            Component::CurDir => {}
            _ => {
                return Err(TlsFileError::Outside {
                    path: reference.to_owned(),
                    hint: " (`..` is not allowed; name a file inside the package or inside `CCAAS_TLS_DIR`)",
                })
            }
        }
    }
    if out.as_os_str().is_empty() {
        return Err(TlsFileError::Empty);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs as stdfs;

    type Result = std::result::Result<(), Box<dyn std::error::Error>>;

    #[test]
    fn package_file_then_tls_dir() -> Result {
        let src = tempfile::tempdir()?;
        let ops = tempfile::tempdir()?;
        stdfs::write(src.path().join("a.pem"), "from package")?;
        stdfs::write(ops.path().join("a.pem"), "from operator")?;
        stdfs::write(ops.path().join("b.pem"), "only operator")?;
        let files = TlsFiles::new(src.path(), Some(ops.path()));
        assert_eq!(files.read("a.pem")?.1, "from package");
        assert_eq!(files.read("./b.pem")?.1, "only operator");
        let abs = ops.path().join("b.pem");
        assert_eq!(files.read(&abs.display().to_string())?.1, "only operator");
        Ok(())
    }

    #[test]
    fn absolute_outside_tls_dir_is_refused() -> Result {
        let src = tempfile::tempdir()?;
        let other = tempfile::tempdir()?;
        let secret = other.path().join("x.pem");
        stdfs::write(&secret, "x")?;
        let reference = secret.display().to_string();
        assert!(matches!(
            TlsFiles::new(src.path(), None).read(&reference),
            Err(TlsFileError::Outside { .. })
        ));
        let ops = tempfile::tempdir()?;
        assert!(matches!(
            TlsFiles::new(src.path(), Some(ops.path())).read(&reference),
            Err(TlsFileError::Outside { .. })
        ));
        Ok(())
    }

    #[test]
    fn dotdot_is_refused() -> Result {
        let src = tempfile::tempdir()?;
        assert!(matches!(
            TlsFiles::new(src.path(), None).read("tls/../../x"),
            Err(TlsFileError::Outside { .. })
        ));
        Ok(())
    }

    // TLS material in memory: found by the path a `*_file` key names,
    // `./` and all; a name it does not hold lists the ones it does; `..`
    // is refused as on disk.
    #[test]
    fn in_memory_files_resolve_like_files_on_disk() -> Result {
        let files = TlsFiles::in_memory(
            [
                ("tls/ca.pem".to_owned(), b"ca text".to_vec()),
                ("tls/client.key".to_owned(), b"key text".to_vec()),
            ]
            .into(),
        );
        assert_eq!(files.read("tls/ca.pem")?.1, "ca text");
        assert_eq!(files.read("./tls/client.key")?.1, "key text");
        let missing = files.read("tls/other.pem").map_err(|e| e.to_string());
        assert_eq!(
            missing,
            Err("`tls/other.pem` was not found in the TLS files given in memory (they are: `tls/ca.pem`, `tls/client.key`)".to_owned())
        );
        assert!(files.read("../tls/ca.pem").is_err());
        // Debug never shows the bytes.
        assert!(!format!("{files:?}").contains("key text"));
        Ok(())
    }

    #[test]
    fn symlink_in_package_is_refused() -> Result {
        let src = tempfile::tempdir()?;
        let other = tempfile::tempdir()?;
        stdfs::write(other.path().join("x.pem"), "x")?;
        std::os::unix::fs::symlink(other.path(), src.path().join("tls"))?;
        assert!(matches!(
            TlsFiles::new(src.path(), None).read("tls/x.pem"),
            Err(TlsFileError::Symlink { .. })
        ));
        Ok(())
    }

    #[test]
    fn symlink_escaping_tls_dir_is_refused() -> Result {
        let src = tempfile::tempdir()?;
        let ops = tempfile::tempdir()?;
        let other = tempfile::tempdir()?;
        stdfs::write(other.path().join("x.pem"), "x")?;
        std::os::unix::fs::symlink(other.path().join("x.pem"), ops.path().join("x.pem"))?;
        assert!(matches!(
            TlsFiles::new(src.path(), Some(ops.path())).read("x.pem"),
            Err(TlsFileError::Outside { .. })
        ));
        Ok(())
    }

    #[test]
    fn missing_everywhere_says_where_it_looked() -> Result {
        let src = tempfile::tempdir()?;
        let err = TlsFiles::new(src.path(), None)
            .read("ca.pem")
            .map(|_| ())
            .unwrap_err()
            .to_string();
        assert!(err.contains("CCAAS_TLS_DIR"), "{err}");
        Ok(())
    }
}
