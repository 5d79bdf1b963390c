//! What a container can ask of vasi beyond args and env (runwasi#413): which
//! directories the guest sees and whether it may change them, in-memory
//! scratch directories, deterministic mode, and limits.
//!
//! Two sources, the later winning field by field:
//! 1. a config layer in the image (media type [`CONFIG_LAYER`]), JSON, for
//!    the image's author;
//! 2. `VASI_*` variables in the container's environment, for whoever deploys
//!    it (a Kubernetes pod's `env`). They are taken out of the guest's
//!    environment.

use anyhow::{bail, Context, Result};
use serde::Deserialize;
use std::time::Duration;

/// The media type of an image layer holding [`Options`] as JSON.
pub const CONFIG_LAYER: &str = "application/vnd.vasi.config.v1+json";

/// How the container's root filesystem is shown to the guest at `/`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RootfsMode {
    /// Readable; every change is refused with `EROFS` (the default).
    Ro,
    /// Readable and writable (what runwasi's wasmtime shim does).
    Rw,
    /// Not shown: the guest sees only `dirs`, `scratch` and a bundle's mounts.
    None,
}

/// A directory of the container (its rootfs or a volume mounted in it) shown
/// to the guest.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DirOption {
    /// Where the guest sees it.
    pub guest: String,
    /// The directory in the container; the guest path if absent.
    #[serde(default)]
    pub path: Option<String>,
    /// Whether the guest may change it (default: read-only).
    #[serde(default)]
    pub writable: bool,
}

/// An in-memory directory, empty at start and gone at exit.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScratchOption {
    /// Where the guest sees it.
    pub guest: String,
    /// A cap on the bytes it may hold (none if absent).
    #[serde(default)]
    pub size: Option<u64>,
}

/// The container's vasi options.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Options {
    /// How the rootfs is shown at `/` (default: read-only; none for a bundle,
    /// whose own mounts are its world).
    #[serde(default)]
    pub rootfs: Option<RootfsMode>,
    /// More directories of the container to show.
    #[serde(default)]
    pub dirs: Vec<DirOption>,
    /// In-memory scratch directories.
    #[serde(default)]
    pub scratch: Vec<ScratchOption>,
    /// TCP addresses to listen on, each a preopened listener (after the
    /// directories) the guest accepts connections from.
    #[serde(default)]
    pub listen: Vec<String>,
    /// Deterministic mode with this seed: fixed start time, virtual clock,
    /// seeded randomness.
    #[serde(default)]
    pub deterministic: Option<u64>,
    /// A cap on each linear memory, in bytes (growth past it fails).
    #[serde(default)]
    pub max_memory: Option<u64>,
    /// A cap on open descriptors.
    #[serde(default)]
    pub max_open_files: Option<u32>,
    /// Units of fuel (about one per wasm instruction).
    #[serde(default)]
    pub fuel: Option<u64>,
    /// A cap on wall time, in milliseconds.
    #[serde(default)]
    pub timeout_ms: Option<u64>,
}

impl Options {
    /// Parses a config layer.
    pub fn from_json(bytes: &[u8]) -> Result<Options> {
        serde_json::from_slice(bytes).context("bad vasi config layer")
    }

    /// The timeout, if any.
    pub fn timeout(&self) -> Option<Duration> {
        self.timeout_ms.map(Duration::from_millis)
    }

    /// Lays `other` over these options: its set fields win, its lists add.
    pub fn merge(&mut self, other: Options) {
        self.rootfs = other.rootfs.or(self.rootfs);
        self.dirs.extend(other.dirs);
        self.scratch.extend(other.scratch);
        self.listen.extend(other.listen);
        self.deterministic = other.deterministic.or(self.deterministic);
        self.max_memory = other.max_memory.or(self.max_memory);
        self.max_open_files = other.max_open_files.or(self.max_open_files);
        self.fuel = other.fuel.or(self.fuel);
        self.timeout_ms = other.timeout_ms.or(self.timeout_ms);
    }

    /// Takes the `VASI_*` variables out of `env` (`NAME=VALUE` strings) and
    /// returns the options they set and the rest of the environment.
    ///
    /// - `VASI_ROOTFS=ro|rw|none`
    /// - `VASI_DIRS=GUEST[=PATH][:ro|:rw],...` (read-only unless `:rw`)
    /// - `VASI_SCRATCH=GUEST[:SIZE],...` (SIZE like `64M`)
    /// - `VASI_LISTEN=ADDR:PORT,...` (TCP listeners)
    /// - `VASI_DETERMINISTIC=SEED`
    /// - `VASI_MAX_MEMORY=SIZE`, `VASI_MAX_OPEN_FILES=N`, `VASI_FUEL=N`,
    ///   `VASI_TIMEOUT=DURATION` (`500ms`, `30s`, `5m`)
    ///
    /// An unknown `VASI_` name is an error, so that a typo does not silently
    /// run the guest with more access than meant.
    pub fn from_env(env: &[String]) -> Result<(Options, Vec<(String, String)>)> {
        let mut o = Options::default();
        let mut rest = Vec::new();
        for pair in env {
            let (k, v) = pair.split_once('=').unwrap_or((pair.as_str(), ""));
            let what = || format!("{k}={v}");
            match k {
                "VASI_ROOTFS" => {
                    o.rootfs = Some(match v {
                        "ro" => RootfsMode::Ro,
                        "rw" => RootfsMode::Rw,
                        "none" => RootfsMode::None,
                        _ => bail!("{}: expected ro, rw or none", what()),
                    })
                }
                "VASI_DIRS" => {
                    for item in v.split(',').filter(|s| !s.is_empty()) {
                        o.dirs.push(parse_dir(item).with_context(what)?);
                    }
                }
                "VASI_SCRATCH" => {
                    for item in v.split(',').filter(|s| !s.is_empty()) {
                        let (guest, size) = match item.rsplit_once(':') {
                            Some((g, s)) => (g, Some(parse_size(s).with_context(what)?)),
                            None => (item, None),
                        };
                        o.scratch.push(ScratchOption {
                            guest: absolute(guest).with_context(what)?,
                            size,
                        });
                    }
                }
                "VASI_LISTEN" => {
                    o.listen
                        .extend(v.split(',').filter(|s| !s.is_empty()).map(String::from));
                }
                "VASI_DETERMINISTIC" => {
                    o.deterministic = Some(v.parse().with_context(what)?);
                }
                "VASI_MAX_MEMORY" => o.max_memory = Some(parse_size(v).with_context(what)?),
                "VASI_MAX_OPEN_FILES" => o.max_open_files = Some(v.parse().with_context(what)?),
                "VASI_FUEL" => o.fuel = Some(v.parse().with_context(what)?),
                "VASI_TIMEOUT" => {
                    let d = parse_duration(v).with_context(what)?;
                    o.timeout_ms = Some(u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
                }
                k if k.starts_with("VASI_") => bail!("unknown vasi option {k}"),
                _ => rest.push((k.to_string(), v.to_string())),
            }
        }
        Ok((o, rest))
    }
}

fn absolute(path: &str) -> Result<String> {
    if !path.starts_with('/') {
        bail!("`{path}` is not an absolute path");
    }
    Ok(path.to_string())
}

/// `GUEST[=PATH][:ro|:rw]`.
fn parse_dir(item: &str) -> Result<DirOption> {
    let (spec, writable) = match item.rsplit_once(':') {
        Some((s, "rw")) => (s, true),
        Some((s, "ro")) => (s, false),
        Some((_, m)) => bail!("`{m}`: expected ro or rw"),
        None => (item, false),
    };
    let (guest, path) = match spec.split_once('=') {
        Some((g, p)) => (g, Some(absolute(p)?)),
        None => (spec, None),
    };
    Ok(DirOption {
        guest: absolute(guest)?,
        path,
        writable,
    })
}

/// `123`, `64K`, `64M`, `2G` (powers of 1024).
pub fn parse_size(s: &str) -> Result<u64> {
    let (num, mult) = match s.as_bytes().last() {
        Some(b'K' | b'k') => (&s[..s.len() - 1], 1u64 << 10),
        Some(b'M' | b'm') => (&s[..s.len() - 1], 1 << 20),
        Some(b'G' | b'g') => (&s[..s.len() - 1], 1 << 30),
        _ => (s, 1),
    };
    let n: u64 = num.parse().with_context(|| format!("bad size `{s}`"))?;
    n.checked_mul(mult)
        .with_context(|| format!("size `{s}` is too large"))
}

/// `500ms`, `30s`, `5m`, or plain seconds.
pub fn parse_duration(s: &str) -> Result<Duration> {
    let bad = || format!("bad duration `{s}`");
    if let Some(ms) = s.strip_suffix("ms") {
        return Ok(Duration::from_millis(ms.parse().with_context(bad)?));
    }
    if let Some(m) = s.strip_suffix('m') {
        let m: u64 = m.parse().with_context(bad)?;
        return Ok(Duration::from_secs(m.saturating_mul(60)));
    }
    let secs = s.strip_suffix('s').unwrap_or(s);
    Ok(Duration::from_secs(secs.parse().with_context(bad)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn env_options_are_parsed_and_removed() {
        let (o, rest) = Options::from_env(&env(&[
            "PATH=/bin",
            "VASI_ROOTFS=none",
            "VASI_DIRS=/data:rw,/etc/app=/config",
            "VASI_SCRATCH=/tmp:64M,/run",
            "VASI_DETERMINISTIC=7",
            "VASI_MAX_MEMORY=32M",
            "VASI_TIMEOUT=1500ms",
            "EMPTY=",
        ]))
        .unwrap();
        assert_eq!(
            rest,
            vec![
                ("PATH".to_string(), "/bin".to_string()),
                ("EMPTY".to_string(), String::new())
            ]
        );
        assert_eq!(o.rootfs, Some(RootfsMode::None));
        assert_eq!(
            o.dirs,
            vec![
                DirOption {
                    guest: "/data".into(),
                    path: None,
                    writable: true
                },
                DirOption {
                    guest: "/etc/app".into(),
                    path: Some("/config".into()),
                    writable: false
                },
            ]
        );
        assert_eq!(o.scratch[0].size, Some(64 << 20));
        assert_eq!(o.scratch[1].size, None);
        assert_eq!(o.deterministic, Some(7));
        assert_eq!(o.max_memory, Some(32 << 20));
        assert_eq!(o.timeout(), Some(Duration::from_millis(1500)));
    }

    #[test]
    fn typos_and_bad_values_are_errors() {
        assert!(Options::from_env(&env(&["VASI_ROOTFS=readonly"])).is_err());
        assert!(Options::from_env(&env(&["VASI_ROOTFSS=ro"])).is_err());
        assert!(Options::from_env(&env(&["VASI_DIRS=data"])).is_err());
        assert!(Options::from_env(&env(&["VASI_DIRS=/data:wr"])).is_err());
        assert!(Options::from_env(&env(&["VASI_MAX_MEMORY=lots"])).is_err());
        assert!(Options::from_env(&env(&["VASI_MAX_MEMORY=99999999999G"])).is_err());
        assert!(Options::from_json(br#"{"rootfs":"ro","dirz":[]}"#).is_err());
    }

    #[test]
    fn env_wins_over_the_config_layer() {
        let mut o = Options::from_json(
            br#"{"rootfs":"rw","scratch":[{"guest":"/tmp","size":1024}],"fuel":10}"#,
        )
        .unwrap();
        let (e, _) = Options::from_env(&env(&["VASI_ROOTFS=ro", "VASI_SCRATCH=/cache"])).unwrap();
        o.merge(e);
        assert_eq!(o.rootfs, Some(RootfsMode::Ro));
        assert_eq!(o.scratch.len(), 2);
        assert_eq!(o.fuel, Some(10));
    }
}
