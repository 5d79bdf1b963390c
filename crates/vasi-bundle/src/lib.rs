//! One file that carries its world: a WASI program bundled with its
//! filesystem images and its run configuration.
//!
//! A bundle is a plain core wasm module (the guest, unchanged) with one more
//! custom section, `vasi.bundle`, holding filesystem images (each with the
//! guest path it mounts at, read-only or copy-on-write) and the run
//! configuration: arguments, environment, argv0, deterministic mode and seed,
//! globals, limits. Any wasm engine still loads it as the original module;
//! a vasi host also gives it its world. The format is specified, for other
//! implementers, in `docs/bundle.md`.
//!
//! Images are read in place: [`Bundle::parse`] checks the section's index
//! (sizes, names, tree shape, symlink targets) without reading file data, and
//! the guest's reads copy straight from the bytes the bundle was parsed from
//! (a `Vec`, an `Arc<[u8]>`, a memory map...).
//!
//! ```
//! use vasi::WasiCtxBuilder;
//! use vasi_bundle::{Bundle, BundleBuilder, Config, ImageBuilder, MountMode};
//!
//! // Pack: a module (here an empty one) with a file at /etc/motd.
//! let module = b"\0asm\x01\0\0\0";
//! let mut image = ImageBuilder::new();
//! image.add_file("motd", b"hello\n".to_vec(), 0)?;
//! let mut config = Config::default();
//! config.args = vec!["--verbose".into()];
//! config.env = vec![("LANG".into(), "C".into())];
//! let mut builder = BundleBuilder::new(config);
//! builder.mount("/etc", MountMode::ReadOnly, image)?;
//! let mut bytes = Vec::new();
//! builder.write(module, &mut bytes)?;
//!
//! // Run: parse it (no copy: the images are read from `bytes`), apply its
//! // world to a context, and compile `bundle.module()` with any engine.
//! let bundle = Bundle::parse(bytes)?;
//! let mut ctx = WasiCtxBuilder::new();
//! bundle.apply(&mut ctx);
//! let ctx = ctx.build()?;
//! assert_eq!(bundle.mounts()[0].guest_path(), "/etc");
//! assert_eq!(bundle.mounts()[0].image().stats().files, 1);
//! # drop(ctx);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;
use std::sync::Arc;
use std::time::Duration;
use vasi::vfs::{Dir, MemFs, MemFsOptions, Overlay, ReadOnly};
use vasi::WasiCtxBuilder;

mod image;
mod wasm;
#[cfg(feature = "pack")]
mod writer;

pub use image::ImageStats;
pub use wasm::SECTION_NAME;
#[cfg(feature = "pack")]
pub use writer::{BundleBuilder, ImageBuilder, PackError};

/// The bundle format version this crate reads and writes.
pub const FORMAT_VERSION: u32 = 1;

/// The first bytes of a `vasi.bundle` section's payload.
pub const MAGIC: [u8; 8] = *b"vasibndl";

/// The bytes a bundle is read from: anything that derefs to a byte slice
/// and can be shared between threads (`Vec<u8>`, `Arc<[u8]>`, a memory map).
pub type Source = Arc<dyn AsRef<[u8]> + Send + Sync>;

/// Record tags of a bundle section (see docs/bundle.md).
pub(crate) mod tag {
    pub(crate) const ARG: u8 = 0x01;
    pub(crate) const ENV: u8 = 0x02;
    pub(crate) const ARGV0: u8 = 0x03;
    pub(crate) const DETERMINISTIC: u8 = 0x04;
    pub(crate) const GLOBAL: u8 = 0x05;
    pub(crate) const MAX_MEMORY: u8 = 0x06;
    pub(crate) const MAX_OPEN_FILES: u8 = 0x07;
    pub(crate) const TIMEOUT: u8 = 0x08;
    pub(crate) const FUEL: u8 = 0x09;
    pub(crate) const MOUNT: u8 = 0x10;
    /// Tags from here on are optional: a reader skips those it does not know.
    pub(crate) const FIRST_OPTIONAL: u8 = 0x80;
}

/// The run configuration a bundle carries.
///
/// Everything is optional; an empty configuration is the default.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Config {
    /// The program name the guest sees as its first argument.
    pub argv0: Option<String>,
    /// Arguments after argv0.
    pub args: Vec<String>,
    /// Environment variables, in order (a later value of a name wins).
    pub env: Vec<(String, String)>,
    /// Deterministic mode with this seed: fixed start time, virtual clock,
    /// seeded randomness (as `WasiCtxBuilder::deterministic`).
    pub deterministic: Option<u64>,
    /// Values of the guest's `vasi_globals_v1` globals.
    pub globals: Vec<(String, u64)>,
    /// A cap on the guest's linear memory, in bytes (the engine enforces it).
    pub max_memory: Option<u64>,
    /// A cap on open descriptors.
    pub max_open_files: Option<u32>,
    /// A cap on wall time (the engine and the host enforce it).
    pub timeout: Option<Duration>,
    /// Units of fuel (about one per wasm instruction; the engine enforces it).
    pub fuel: Option<u64>,
}

/// How a mounted image may be changed by the guest.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MountMode {
    /// Every change is refused with `EROFS`.
    ReadOnly,
    /// The guest may change anything; changes stay in memory (an
    /// [`Overlay`] with an in-memory upper layer) and the bundle never
    /// changes.
    CopyOnWrite,
}

impl fmt::Display for MountMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            MountMode::ReadOnly => "read-only",
            MountMode::CopyOnWrite => "copy-on-write",
        })
    }
}

/// A filesystem image of a bundle, read in place from its bytes.
#[derive(Clone)]
pub struct Image {
    inner: Arc<image::ImageInner>,
}

impl fmt::Debug for Image {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Image")
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

impl Image {
    /// The image's root directory, read-only (every change is `EROFS`).
    pub fn root(&self) -> Arc<dyn Dir> {
        Arc::new(ReadOnly::new(self.raw_root()))
    }

    /// The root without the `ReadOnly` view (it refuses changes itself, with
    /// less exact errnos): the lower layer of copy-on-write mounts.
    fn raw_root(&self) -> Arc<dyn Dir> {
        Arc::new(image::ImageDir::root(self.inner.clone()))
    }

    /// What the image holds.
    pub fn stats(&self) -> ImageStats {
        self.inner.stats()
    }
}

/// One image of a bundle and where it mounts.
#[derive(Clone, Debug)]
pub struct Mount {
    guest_path: String,
    mode: MountMode,
    image: Image,
}

impl Mount {
    /// The guest path it mounts at, normalized (see [`normalize_guest_path`]).
    pub fn guest_path(&self) -> &str {
        &self.guest_path
    }

    /// Read-only or copy-on-write.
    pub fn mode(&self) -> MountMode {
        self.mode
    }

    /// The image.
    pub fn image(&self) -> &Image {
        &self.image
    }

    /// The directory to preopen: the image, read-only or under a fresh
    /// in-memory copy-on-write layer ([`MemFs`] with its default quota).
    pub fn dir(&self) -> Arc<dyn Dir> {
        self.dir_with_upper(|| MemFs::new().root())
    }

    /// As [`dir`](Mount::dir), with the upper layer of a copy-on-write mount
    /// made by `upper` (e.g. a `MemFs` with another quota or a deterministic
    /// clock). `upper` is not called for read-only mounts.
    pub fn dir_with_upper(&self, upper: impl FnOnce() -> Arc<dyn Dir>) -> Arc<dyn Dir> {
        match self.mode {
            MountMode::ReadOnly => self.image.root(),
            MountMode::CopyOnWrite => Arc::new(Overlay::new(upper(), self.image.raw_root())),
        }
    }
}

/// Why bytes could not be read as a bundle. Each message is one line.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum BundleError {
    /// The bytes are not a core wasm module.
    NotWasm(String),
    /// A valid module without a `vasi.bundle` section.
    NotABundle,
    /// The bundle was written in a format version this crate does not read.
    UnsupportedVersion(u32),
    /// The section is truncated or malformed.
    Corrupt(String),
    /// An image entry would reach outside its mount: a name that is `..`,
    /// absolute or holds `/`, or a symlink whose target climbs out.
    Escape {
        /// The mount's guest path.
        mount: String,
        /// The entry's path inside the image.
        path: String,
        /// What is wrong with it.
        why: String,
    },
    /// Two images mount at the same guest path.
    MountClash(String),
}

impl fmt::Display for BundleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BundleError::NotWasm(why) => write!(f, "not a core WebAssembly module: {why}"),
            BundleError::NotABundle => {
                write!(f, "no `{SECTION_NAME}` section: a plain module, not a bundle")
            }
            BundleError::UnsupportedVersion(v) => write!(
                f,
                "bundle format version {v} is not supported: this vasi reads version {FORMAT_VERSION} (made by a newer vasi?)"
            ),
            BundleError::Corrupt(what) => write!(f, "corrupt bundle: {what}"),
            BundleError::Escape { mount, path, why } => {
                write!(f, "unsafe bundle: in the image of {mount}, {path:?} {why}")
            }
            BundleError::MountClash(path) => {
                write!(f, "bad bundle: two images mount at {path}")
            }
        }
    }
}

impl std::error::Error for BundleError {}

/// Normalizes a guest mount path: empty and `.` components and trailing
/// slashes dropped (`/usr//lib/` is `/usr/lib`; a relative path stays
/// relative, `.` alone stays `.`). Two mounts clash when their normalized
/// paths are equal.
///
/// # Errors
/// The path is empty, holds a NUL byte or a `..` component.
pub fn normalize_guest_path(path: &str) -> Result<String, String> {
    if path.is_empty() {
        return Err("an empty guest path".into());
    }
    if path.contains('\0') {
        return Err(format!("guest path {path:?} contains a NUL byte"));
    }
    let mut parts = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => return Err(format!("guest path {path:?} contains `..`")),
            p => parts.push(p),
        }
    }
    Ok(match (path.starts_with('/'), parts.is_empty()) {
        (true, _) => format!("/{}", parts.join("/")),
        (false, true) => ".".to_string(),
        (false, false) => parts.join("/"),
    })
}

/// A parsed bundle: its configuration and mounts, over the bytes it came
/// from.
#[derive(Clone)]
pub struct Bundle {
    src: Source,
    config: Config,
    mounts: Vec<Mount>,
    section: std::ops::Range<usize>,
}

impl fmt::Debug for Bundle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Bundle")
            .field("config", &self.config)
            .field("mounts", &self.mounts)
            .finish_non_exhaustive()
    }
}

/// A cursor over one record's payload.
struct Rd<'a> {
    b: &'a [u8],
    what: &'static str,
}

impl<'a> Rd<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], BundleError> {
        if self.b.len() < n {
            return Err(BundleError::Corrupt(format!(
                "{} record is cut short",
                self.what
            )));
        }
        let (head, rest) = self.b.split_at(n);
        self.b = rest;
        Ok(head)
    }

    fn u8(&mut self) -> Result<u8, BundleError> {
        Ok(self.take(1)?[0])
    }

    fn u32(&mut self) -> Result<u32, BundleError> {
        let mut a = [0; 4];
        a.copy_from_slice(self.take(4)?);
        Ok(u32::from_le_bytes(a))
    }

    fn u64(&mut self) -> Result<u64, BundleError> {
        let mut a = [0; 8];
        a.copy_from_slice(self.take(8)?);
        Ok(u64::from_le_bytes(a))
    }

    fn str(&mut self, n: usize) -> Result<String, BundleError> {
        let what = self.what;
        let b = self.take(n)?;
        let s = std::str::from_utf8(b)
            .map_err(|_| BundleError::Corrupt(format!("{what} record is not UTF-8")))?;
        if s.contains('\0') {
            return Err(BundleError::Corrupt(format!(
                "{what} record contains a NUL byte"
            )));
        }
        Ok(s.to_string())
    }

    fn rest_str(&mut self) -> Result<String, BundleError> {
        self.str(self.b.len())
    }

    fn end(&self) -> Result<(), BundleError> {
        if self.b.is_empty() {
            Ok(())
        } else {
            Err(BundleError::Corrupt(format!(
                "{} record has {} trailing bytes",
                self.what,
                self.b.len()
            )))
        }
    }
}

impl Bundle {
    /// Parses a bundle from `bytes`, which it keeps (images are read from
    /// them in place).
    ///
    /// Checks the whole section, including every image's index, but reads no
    /// file data: its cost grows with the number of files, not their size.
    ///
    /// # Errors
    /// See [`BundleError`]; a module without a bundle section is
    /// [`BundleError::NotABundle`].
    pub fn parse(bytes: impl AsRef<[u8]> + Send + Sync + 'static) -> Result<Bundle, BundleError> {
        Self::parse_source(Arc::new(bytes))
    }

    /// As [`parse`](Bundle::parse), from a shared source.
    ///
    /// # Errors
    /// See [`parse`](Bundle::parse).
    pub fn parse_source(src: Source) -> Result<Bundle, BundleError> {
        Self::parse_optional(src)?.ok_or(BundleError::NotABundle)
    }

    /// Parses `src` as a bundle if it has a bundle section; `Ok(None)` for a
    /// plain module.
    ///
    /// # Errors
    /// `src` is not a core module, or its bundle section is bad.
    pub fn parse_optional(src: Source) -> Result<Option<Bundle>, BundleError> {
        let bytes: &[u8] = (*src).as_ref();
        let Some(found) = wasm::find_bundle(bytes)? else {
            return Ok(None);
        };
        let payload = &bytes[found.payload.clone()];
        if payload.len() < 12 || payload[..8] != MAGIC {
            return Err(BundleError::Corrupt(format!(
                "the `{SECTION_NAME}` section does not start with its magic bytes"
            )));
        }
        let mut version = [0; 4];
        version.copy_from_slice(&payload[8..12]);
        let version = u32::from_le_bytes(version);
        if version != FORMAT_VERSION {
            return Err(BundleError::UnsupportedVersion(version));
        }
        let mut config = Config::default();
        let mut mounts: Vec<Mount> = Vec::new();
        let mut pos = 12;
        let once = |seen: bool, what: &str| {
            if seen {
                Err(BundleError::Corrupt(format!("two {what} records")))
            } else {
                Ok(())
            }
        };
        while pos < payload.len() {
            let head = payload.get(pos..pos + 5).ok_or_else(|| {
                BundleError::Corrupt("a record header is cut short (truncated?)".into())
            })?;
            let t = head[0];
            let len = u32::from_le_bytes([head[1], head[2], head[3], head[4]]) as usize;
            let start = pos + 5;
            let end = start
                .checked_add(len)
                .filter(|&e| e <= payload.len())
                .ok_or_else(|| {
                    BundleError::Corrupt(format!(
                        "record {t:#04x} runs past the end of the section (truncated?)"
                    ))
                })?;
            pos = end;
            let what = match t {
                tag::ARG => "an argument",
                tag::ENV => "an environment",
                tag::ARGV0 => "the argv0",
                tag::DETERMINISTIC => "the deterministic",
                tag::GLOBAL => "a global",
                tag::MAX_MEMORY => "the max-memory",
                tag::MAX_OPEN_FILES => "the max-open-files",
                tag::TIMEOUT => "the timeout",
                tag::FUEL => "the fuel",
                tag::MOUNT => "a mount",
                t if t >= tag::FIRST_OPTIONAL => continue,
                t => {
                    return Err(BundleError::Corrupt(format!(
                        "unknown record type {t:#04x} (made by a newer vasi?)"
                    )))
                }
            };
            let mut r = Rd {
                b: &payload[start..end],
                what,
            };
            match t {
                tag::ARG => config.args.push(r.rest_str()?),
                tag::ENV => {
                    let n = r.u32()? as usize;
                    let name = r.str(n)?;
                    if name.is_empty() || name.contains('=') {
                        return Err(BundleError::Corrupt(format!(
                            "bad environment variable name {name:?}"
                        )));
                    }
                    config.env.push((name, r.rest_str()?));
                }
                tag::ARGV0 => {
                    once(config.argv0.is_some(), what)?;
                    config.argv0 = Some(r.rest_str()?);
                }
                tag::DETERMINISTIC => {
                    once(config.deterministic.is_some(), what)?;
                    config.deterministic = Some(r.u64()?);
                }
                tag::GLOBAL => {
                    let value = r.u64()?;
                    config.globals.push((r.rest_str()?, value));
                }
                tag::MAX_MEMORY => {
                    once(config.max_memory.is_some(), what)?;
                    config.max_memory = Some(r.u64()?);
                }
                tag::MAX_OPEN_FILES => {
                    once(config.max_open_files.is_some(), what)?;
                    config.max_open_files = Some(r.u32()?);
                }
                tag::TIMEOUT => {
                    once(config.timeout.is_some(), what)?;
                    config.timeout = Some(Duration::from_nanos(r.u64()?));
                }
                tag::FUEL => {
                    once(config.fuel.is_some(), what)?;
                    config.fuel = Some(r.u64()?);
                }
                _ => {
                    // tag::MOUNT
                    let flags = r.u8()?;
                    if flags & !1 != 0 {
                        return Err(BundleError::Corrupt(format!(
                            "a mount has unknown flags {flags:#04x}"
                        )));
                    }
                    let n = r.u32()? as usize;
                    let path = r.str(n)?;
                    match normalize_guest_path(&path) {
                        Ok(p) if p == path => {}
                        _ => {
                            return Err(BundleError::Corrupt(format!(
                                "mount path {path:?} is not a normalized guest path"
                            )))
                        }
                    }
                    if mounts.iter().any(|m| m.guest_path == path) {
                        return Err(BundleError::MountClash(path));
                    }
                    let image_start = found.payload.start + (end - r.b.len());
                    let range = image_start..found.payload.start + end;
                    let inner = image::open(&src, range, &path)?;
                    mounts.push(Mount {
                        guest_path: path,
                        mode: if flags & 1 == 1 {
                            MountMode::CopyOnWrite
                        } else {
                            MountMode::ReadOnly
                        },
                        image: Image {
                            inner: Arc::new(inner),
                        },
                    });
                    r.b = &[];
                }
            }
            r.end()?;
        }
        Ok(Some(Bundle {
            src,
            config,
            mounts,
            section: found.section,
        }))
    }

    /// The run configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The images and where they mount, in the bundle's order.
    pub fn mounts(&self) -> &[Mount] {
        &self.mounts
    }

    /// The bytes to compile: the whole bundle, a valid module (engines skip
    /// the bundle section without reading it).
    pub fn module(&self) -> &[u8] {
        (*self.src).as_ref()
    }

    /// The size of the guest module without the bundle section.
    pub fn module_size(&self) -> usize {
        self.module().len() - self.section.len()
    }

    /// The size of the bundle section.
    pub fn section_size(&self) -> usize {
        self.section.len()
    }

    /// Applies the bundle's world to `builder`: argv0 (the bundle's, or
    /// `main.wasm`) and the arguments, the environment, the mounts in order
    /// (copy-on-write ones over a fresh [`MemFs`]), deterministic mode and
    /// the open-files cap.
    ///
    /// What the engine enforces is left to the embedder: the memory cap,
    /// fuel, the timeout and the globals are in [`config`](Bundle::config).
    /// Settings made on `builder` afterwards add to these or override them.
    pub fn apply<'b>(&self, builder: &'b mut WasiCtxBuilder) -> &'b mut WasiCtxBuilder {
        let c = &self.config;
        builder.arg(c.argv0.clone().unwrap_or_else(|| "main.wasm".into()));
        builder.args(c.args.iter().cloned());
        for (k, v) in &c.env {
            builder.env(k.clone(), v.clone());
        }
        // In deterministic mode the copy-on-write layers take their file
        // times from the guest's virtual clock too.
        let clock = c
            .deterministic
            .map(|_| Arc::new(vasi::clocks::DeterministicClocks::new()));
        for m in &self.mounts {
            let upper = || {
                MemFs::with_options(MemFsOptions {
                    clock: clock.clone().map(|c| c as Arc<dyn vasi::clocks::Clocks>),
                    ..MemFsOptions::default()
                })
                .root()
            };
            builder.preopen_dir(m.dir_with_upper(upper), m.guest_path.clone());
        }
        if let (Some(seed), Some(clock)) = (c.deterministic, clock) {
            builder
                .clocks(clock)
                .random(vasi::random::SeededRandom::new(seed));
        }
        if let Some(n) = c.max_open_files {
            builder.max_open_files(n);
        }
        builder
    }
}
