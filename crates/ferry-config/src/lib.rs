//! Ferry's settings. Defaults come from a commented TOML file embedded in
//! the binary (so the documentation and the code cannot drift), then a
//! `ferry.toml`, then overrides the binary collects from `FERRY_*`
//! variables and flags. This crate never reads the environment itself.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The commented default configuration file.
pub const DEFAULT_TOML: &str = include_str!("default.toml");

/// Every setting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Data directory.
    pub data_dir: PathBuf,
    /// HTTP listen address.
    pub listen: String,
    /// SFTP listen address.
    pub sftp_listen: String,
    /// "" (embedded SQLite) or a Postgres URL.
    pub store: String,
    /// "" (local files) or an object store URL.
    pub blobs: String,
    /// Virtual-host base domains.
    pub domains: Vec<String>,
    /// Request limits.
    pub limits: LimitSettings,
}

/// Request limits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitSettings {
    /// Largest buffered body.
    pub max_body_bytes: usize,
    /// Largest header section.
    pub max_header_bytes: usize,
    /// Body read timeout.
    pub body_timeout_secs: u64,
    /// Grace period at shutdown.
    pub shutdown_grace_secs: u64,
}

/// Values given by environment or flags; `None` keeps the file's value.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// `--data-dir` / `FERRY_DATA_DIR`.
    pub data_dir: Option<PathBuf>,
    /// `--listen` / `FERRY_LISTEN`.
    pub listen: Option<String>,
    /// `--sftp-listen` / `FERRY_SFTP_LISTEN`.
    pub sftp_listen: Option<String>,
    /// `--store` / `FERRY_STORE`.
    pub store: Option<String>,
    /// `--blobs` / `FERRY_BLOBS`.
    pub blobs: Option<String>,
    /// `--domain` (repeatable) / `FERRY_DOMAIN` (comma-separated).
    pub domains: Vec<String>,
}

/// A settings file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// It could not be read.
    #[error("reading {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// It is not valid TOML or has unknown or mistyped keys.
    #[error("{path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A value is out of range.
    #[error("invalid setting {key}: {message}")]
    Invalid {
        /// The key.
        key: &'static str,
        /// What is wrong.
        message: String,
    },
}

fn merge(base: &mut toml::Table, over: toml::Table) {
    for (k, v) in over {
        match (base.get_mut(&k), v) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => merge(b, o),
            (_, v) => {
                base.insert(k, v);
            }
        }
    }
}

impl Settings {
    /// The defaults alone.
    pub fn defaults() -> Self {
        #[allow(clippy::expect_used)]
        toml::from_str(DEFAULT_TOML).expect("the embedded default config parses (tested)")
    }

    /// Defaults, then `file` if given (it must exist), else `./ferry.toml`
    /// if present, then the overrides; validated.
    pub fn load(file: Option<&Path>, overrides: Overrides) -> Result<Self, ConfigError> {
        let parse = |path: &Path, text: &str| {
            text.parse::<toml::Table>().map_err(|e| ConfigError::Parse {
                path: path.to_path_buf(),
                message: e.to_string(),
            })
        };
        let mut table = parse(Path::new("<embedded defaults>"), DEFAULT_TOML)?;
        let path = file
            .map(Path::to_path_buf)
            .or_else(|| Some(PathBuf::from("ferry.toml")).filter(|p| p.exists()));
        if let Some(path) = path {
            let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::Read {
                path: path.clone(),
                source,
            })?;
            merge(&mut table, parse(&path, &text)?);
            let settings: Settings =
                table
                    .clone()
                    .try_into()
                    .map_err(|e: toml::de::Error| ConfigError::Parse {
                        path: path.clone(),
                        message: e.to_string(),
                    })?;
            return settings.with(overrides);
        }
        let settings: Settings =
            table
                .try_into()
                .map_err(|e: toml::de::Error| ConfigError::Parse {
                    path: PathBuf::from("<embedded defaults>"),
                    message: e.to_string(),
                })?;
        settings.with(overrides)
    }

    fn with(mut self, o: Overrides) -> Result<Self, ConfigError> {
        if let Some(v) = o.data_dir {
            self.data_dir = v;
        }
        if let Some(v) = o.listen {
            self.listen = v;
        }
        if let Some(v) = o.sftp_listen {
            self.sftp_listen = v;
        }
        if let Some(v) = o.store {
            self.store = v;
        }
        if let Some(v) = o.blobs {
            self.blobs = v;
        }
        if !o.domains.is_empty() {
            self.domains = o.domains;
        }
        if !self.domains.iter().any(|d| d == "localhost") {
            self.domains.push("localhost".into());
        }
        self.validate()?;
        Ok(self)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        for (key, addr) in [("listen", &self.listen), ("sftp_listen", &self.sftp_listen)] {
            addr.parse::<std::net::SocketAddr>()
                .map_err(|e| ConfigError::Invalid {
                    key,
                    message: format!("{addr:?} is not an address:port ({e})"),
                })?;
        }
        if !(self.store.is_empty()
            || self.store.starts_with("postgres://")
            || self.store.starts_with("postgresql://"))
        {
            return Err(ConfigError::Invalid {
                key: "store",
                message: format!(
                    "{:?}: expected empty (embedded SQLite) or a postgres:// URL",
                    self.store
                ),
            });
        }
        if !(self.blobs.is_empty() || self.blobs.starts_with("s3://")) {
            return Err(ConfigError::Invalid {
                key: "blobs",
                message: format!(
                    "{:?}: expected empty (local files) or an s3://bucket/prefix URL",
                    self.blobs
                ),
            });
        }
        if self.limits.max_body_bytes == 0 || self.limits.max_header_bytes < 1024 {
            return Err(ConfigError::Invalid {
                key: "limits",
                message: "max_body_bytes must be > 0 and max_header_bytes >= 1024".into(),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_defaults_parse_and_match_the_contract() {
        let s = Settings::defaults();
        assert_eq!(s.data_dir, PathBuf::from("./ferry-data"));
        assert_eq!(s.listen, "127.0.0.1:4566");
        assert_eq!(s.sftp_listen, "127.0.0.1:2222");
        assert!(s.store.is_empty());
    }

    #[test]
    fn file_then_overrides() {
        let dir = tempfile::tempdir().expect("tempdir");
        let f = dir.path().join("ferry.toml");
        std::fs::write(
            &f,
            "listen = \"127.0.0.1:5000\"\ndomains = [\"ferry.test\"]\n[limits]\nmax_body_bytes = 99\n",
        )
        .expect("write");
        let s = Settings::load(
            Some(&f),
            Overrides {
                sftp_listen: Some("127.0.0.1:2022".into()),
                ..Default::default()
            },
        )
        .expect("load");
        assert_eq!(s.listen, "127.0.0.1:5000");
        assert_eq!(s.sftp_listen, "127.0.0.1:2022");
        assert_eq!(s.limits.max_body_bytes, 99);
        assert_eq!(s.limits.max_header_bytes, 65536, "unset keys keep defaults");
        assert_eq!(s.domains, ["ferry.test", "localhost"]);
        let s = Settings::load(
            Some(&f),
            Overrides {
                listen: Some("127.0.0.1:6000".into()),
                ..Default::default()
            },
        )
        .expect("load");
        assert_eq!(s.listen, "127.0.0.1:6000", "flags beat the file");
    }

    #[test]
    fn bad_files_are_refused_with_a_reason() {
        let dir = tempfile::tempdir().expect("tempdir");
        let f = dir.path().join("ferry.toml");
        std::fs::write(&f, "lisen = \"x\"\n").expect("write");
        let e = Settings::load(Some(&f), Overrides::default()).expect_err("unknown key");
        assert!(e.to_string().contains("lisen"), "{e}");
        std::fs::write(&f, "listen = \"nowhere\"\n").expect("write");
        assert!(Settings::load(Some(&f), Overrides::default()).is_err());
        std::fs::write(&f, "store = \"mysql://x\"\n").expect("write");
        assert!(Settings::load(Some(&f), Overrides::default()).is_err());
        assert!(
            Settings::load(Some(&dir.path().join("missing.toml")), Overrides::default()).is_err()
        );
    }
}
