//! Compiled code on disk: the compile cache of `vasi run` and the `.cwasm`
//! files of `vasi compile`, in one format.
//!
//! A file is a header followed by wasmtime's serialized module:
//!
//! ```text
//! MAGIC (8 bytes) | header length (u32 LE) | header | artifact
//! header = vasi version, wasmtime version, settings (length-prefixed UTF-8)
//!          | engine fingerprint (32) | module hash (32)
//!          | artifact length (u64 LE) | SHA-256 of the artifact (32)
//! ```
//!
//! Loading compiled code runs it as native code, so nothing reaches
//! wasmtime's `Module::deserialize` that was not first read whole into
//! memory and checked: magic, lengths, versions, fingerprint and checksum.
//! The check and the deserialisation use the same buffer, so the file
//! cannot change between them. This is the only module of the crate that
//! may use `unsafe` (for that one call).

#![allow(
    unsafe_code,
    reason = "Module::deserialize of a verified artifact; see `load`"
)]

use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::{Path, PathBuf};
use wasmtime::{Engine, Module};

/// The first bytes of every file of this format.
pub(crate) const MAGIC: &[u8; 8] = b"vasi-cw\x01";

/// The wasmtime vasi is built with (pinned in the root Cargo.toml; a unit
/// test keeps the two equal).
pub(crate) const WASMTIME_VERSION: &str = "48.0.8";

/// What a file says about how its code was compiled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Header {
    /// The vasi that compiled it.
    pub(crate) vasi: String,
    /// The wasmtime that compiled it.
    pub(crate) wasmtime: String,
    /// The engine settings, readable (`fuel=n timeout=n wasm=...`).
    pub(crate) settings: String,
    /// A hash of everything about the engine that compiled code depends on.
    pub(crate) engine: [u8; 32],
    /// The SHA-256 of the wasm binary it was compiled from.
    pub(crate) module: [u8; 32],
}

/// A SHA-256.
pub(crate) fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// Feeds a `Hash` value into a SHA-256 (the engine's compatibility hash has
/// no byte form of its own).
struct ShaHasher(Sha256);

impl std::hash::Hasher for ShaHasher {
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
    fn finish(&self) -> u64 {
        0 // never used: the digest is taken from the inner state
    }
}

/// The fingerprint of `engine`: vasi's and wasmtime's versions, vasi's
/// settings, and wasmtime's hash of every engine setting that compiled code
/// depends on (target, CPU features, tunables, wasm features).
pub(crate) fn engine_fingerprint(engine: &Engine, settings: &str) -> [u8; 32] {
    use std::hash::Hash;
    let mut h = ShaHasher(Sha256::new());
    for part in [
        "vasi compiled code v1",
        env!("CARGO_PKG_VERSION"),
        WASMTIME_VERSION,
        settings,
    ] {
        h.0.update((part.len() as u64).to_le_bytes());
        h.0.update(part.as_bytes());
    }
    engine.precompile_compatibility_hash().hash(&mut h);
    h.0.finalize().into()
}

/// Header and artifact as one file's bytes.
pub(crate) fn encode(header: &Header, artifact: &[u8]) -> Vec<u8> {
    let mut h = Vec::new();
    for s in [&header.vasi, &header.wasmtime, &header.settings] {
        h.extend_from_slice(&(s.len() as u32).to_le_bytes());
        h.extend_from_slice(s.as_bytes());
    }
    h.extend_from_slice(&header.engine);
    h.extend_from_slice(&header.module);
    h.extend_from_slice(&(artifact.len() as u64).to_le_bytes());
    h.extend_from_slice(&sha256(artifact));
    let mut out = Vec::with_capacity(MAGIC.len() + 4 + h.len() + artifact.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&(h.len() as u32).to_le_bytes());
    out.extend_from_slice(&h);
    out.extend_from_slice(artifact);
    out
}

/// An artifact whose length and checksum matched its header.
pub(crate) struct Verified<'a>(&'a [u8]);

/// Why a file could not be used.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Bad {
    /// Not this format at all.
    NotOurs,
    /// Truncated, or its header does not parse.
    Truncated,
    /// The artifact's checksum does not match.
    Corrupt,
}

impl std::fmt::Display for Bad {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Bad::NotOurs => "not compiled by vasi",
            Bad::Truncated => "truncated",
            Bad::Corrupt => "corrupt (its checksum does not match)",
        })
    }
}

/// Reads a file's header and checks its artifact against it.
pub(crate) fn decode(bytes: &[u8]) -> Result<(Header, Verified<'_>), Bad> {
    let rest = bytes.strip_prefix(&MAGIC[..]).ok_or(Bad::NotOurs)?;
    let mut r = Reader(rest);
    let len = r.u32()? as usize;
    let mut h = Reader(r.take(len)?);
    let artifact = r.0;
    let mut string = || -> Result<String, Bad> {
        let n = h.u32()? as usize;
        String::from_utf8(h.take(n)?.to_vec()).map_err(|_| Bad::Truncated)
    };
    let (vasi, wasmtime, settings) = (string()?, string()?, string()?);
    let engine = h.array()?;
    let module = h.array()?;
    let artifact_len = h.u64()?;
    let checksum: [u8; 32] = h.array()?;
    if artifact.len() as u64 != artifact_len {
        return Err(Bad::Truncated);
    }
    if sha256(artifact) != checksum {
        return Err(Bad::Corrupt);
    }
    let header = Header {
        vasi,
        wasmtime,
        settings,
        engine,
        module,
    };
    Ok((header, Verified(artifact)))
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], Bad> {
        if self.0.len() < n {
            return Err(Bad::Truncated);
        }
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        Ok(a)
    }
    fn array<const N: usize>(&mut self) -> Result<[u8; N], Bad> {
        self.take(N)?.try_into().map_err(|_| Bad::Truncated)
    }
    fn u32(&mut self) -> Result<u32, Bad> {
        Ok(u32::from_le_bytes(self.array()?))
    }
    fn u64(&mut self) -> Result<u64, Bad> {
        Ok(u64::from_le_bytes(self.array()?))
    }
}

/// Loads verified compiled code into `engine`.
///
/// The caller has compared the header's fingerprint with `engine`'s;
/// wasmtime checks its own version and settings again and refuses code for
/// another engine with an error.
pub(crate) fn load(engine: &Engine, artifact: Verified<'_>) -> wasmtime::Result<Module> {
    // SAFETY: `Module::deserialize` requires bytes produced by wasmtime's
    // serialisation and not modified since. `Verified` is only made by
    // `decode`, after the SHA-256 of exactly these in-memory bytes matched
    // the checksum written with them by `encode`, which vasi calls only on
    // the output of `Module::serialize` (the cache) or
    // `Engine::precompile_module` (`vasi compile`). A truncated or corrupt
    // file therefore never gets here; the bytes cannot change between the
    // check and this call (they are our own buffer, not a mapping of the
    // file). What remains trusted is whoever can write the file: the
    // user's own cache directory, or a `.cwasm` the user chose to run (as
    // trusted as any native executable they run).
    unsafe { Module::deserialize(engine, artifact.0) }
}

/// The compile cache of `vasi run`.
pub(crate) struct Cache {
    dir: PathBuf,
    max_bytes: u64,
    log: bool,
}

/// The default bound on the cache's size.
pub(crate) const DEFAULT_MAX_BYTES: u64 = 1 << 30;

impl Cache {
    /// The cache the environment asks for: `VASI_CACHE_DIR`, else
    /// `$XDG_CACHE_HOME/vasi`, else `$HOME/.cache/vasi`; at most
    /// `VASI_CACHE_MAX_SIZE` bytes (default 1 GiB). `None` without a home.
    pub(crate) fn from_env() -> Result<Option<Cache>, String> {
        let var = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty());
        let dir = match (var("VASI_CACHE_DIR"), var("XDG_CACHE_HOME"), var("HOME")) {
            (Some(d), _, _) => PathBuf::from(d),
            (None, Some(x), _) => PathBuf::from(x).join("vasi"),
            (None, None, Some(h)) => PathBuf::from(h).join(".cache").join("vasi"),
            (None, None, None) => return Ok(None),
        };
        let max_bytes = match std::env::var("VASI_CACHE_MAX_SIZE") {
            Ok(s) => {
                crate::args::parse_size(&s).map_err(|e| format!("VASI_CACHE_MAX_SIZE: {e}"))?
            }
            Err(_) => DEFAULT_MAX_BYTES,
        };
        let log = std::env::var_os("VASI_CACHE_LOG").is_some_and(|v| v != "0");
        Ok(Some(Cache {
            dir,
            max_bytes,
            log,
        }))
    }

    fn note(&self, what: std::fmt::Arguments<'_>) {
        if self.log {
            eprintln!("vasi: cache: {what}");
        }
    }

    /// The file of the entry for `expected` (module and engine).
    fn path(&self, expected: &Header) -> PathBuf {
        let mut key = Sha256::new();
        key.update(expected.engine);
        key.update(expected.module);
        let key: [u8; 32] = key.finalize().into();
        let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
        self.dir.join(format!("{hex}.cwasm"))
    }

    /// The cached module for `expected`, if a valid entry exists. Anything
    /// wrong with an entry (unreadable, truncated, corrupt, another
    /// engine's) is a miss: the caller compiles and stores a fresh entry.
    pub(crate) fn get(&self, engine: &Engine, expected: &Header) -> Option<Module> {
        let path = self.path(expected);
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) => {
                self.note(format_args!("miss {} ({e})", path.display()));
                return None;
            }
        };
        let (header, artifact) = match decode(&bytes) {
            Ok(x) => x,
            Err(bad) => {
                self.note(format_args!("miss {} (entry {bad})", path.display()));
                return None;
            }
        };
        if header != *expected {
            self.note(format_args!(
                "miss {} (entry of another vasi or engine)",
                path.display()
            ));
            return None;
        }
        match load(engine, artifact) {
            Ok(module) => {
                self.note(format_args!("hit {}", path.display()));
                // Least recently used goes first: a hit is a use.
                if let Ok(f) = std::fs::File::options().write(true).open(&path) {
                    let _ = f.set_modified(std::time::SystemTime::now());
                }
                Some(module)
            }
            Err(e) => {
                self.note(format_args!("miss {} (wasmtime: {e})", path.display()));
                None
            }
        }
    }

    /// Stores an entry (best effort: a cache that cannot be written only
    /// costs time). Written to a temporary file in the same directory and
    /// renamed into place, so a reader sees a whole entry or none, and two
    /// runs storing the same entry at once both succeed.
    pub(crate) fn put(&self, expected: &Header, artifact: &[u8]) {
        let path = self.path(expected);
        let result = (|| -> std::io::Result<()> {
            std::fs::create_dir_all(&self.dir)?;
            let mut tmp = tempfile::Builder::new()
                .prefix(".tmp-")
                .tempfile_in(&self.dir)?;
            tmp.write_all(&encode(expected, artifact))?;
            tmp.persist(&path).map_err(|e| e.error)?;
            Ok(())
        })();
        match result {
            Ok(()) => {
                self.note(format_args!("stored {}", path.display()));
                self.evict(&path);
            }
            Err(e) => self.note(format_args!("cannot store {}: {e}", path.display())),
        }
    }

    /// Deletes the least recently used entries until the cache holds at
    /// most `max_bytes` (never `keep`, the entry just written), and
    /// temporary files an interrupted run left over an hour ago.
    fn evict(&self, keep: &Path) {
        let Ok(dir) = std::fs::read_dir(&self.dir) else {
            return;
        };
        let now = std::time::SystemTime::now();
        let mut entries: Vec<(std::time::SystemTime, u64, PathBuf)> = Vec::new();
        let mut total = 0u64;
        for e in dir.flatten() {
            let (Ok(meta), name) = (e.metadata(), e.file_name()) else {
                continue;
            };
            let name = name.to_string_lossy();
            let mtime = meta.modified().unwrap_or(now);
            if name.starts_with(".tmp-") {
                let age = now.duration_since(mtime).unwrap_or_default();
                if age > std::time::Duration::from_secs(3600) {
                    let _ = std::fs::remove_file(e.path());
                }
                continue;
            }
            if !meta.is_file() || !name.ends_with(".cwasm") {
                continue;
            }
            total += meta.len();
            entries.push((mtime, meta.len(), e.path()));
        }
        entries.sort();
        for (_, len, path) in entries {
            if total <= self.max_bytes {
                break;
            }
            if path == keep {
                continue;
            }
            if std::fs::remove_file(&path).is_ok() {
                self.note(format_args!("evicted {}", path.display()));
                total -= len;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header() -> Header {
        Header {
            vasi: "0.1.0".into(),
            wasmtime: WASMTIME_VERSION.into(),
            settings: "fuel=n".into(),
            engine: [1; 32],
            module: [2; 32],
        }
    }

    #[test]
    fn round_trip_and_every_truncation_refused() {
        let file = encode(&header(), b"artifact bytes");
        let (h, a) = decode(&file).unwrap();
        assert_eq!(h, header());
        assert_eq!(a.0, b"artifact bytes");
        for n in 0..file.len() {
            assert!(decode(&file[..n]).is_err(), "truncated at {n} accepted");
        }
    }

    #[test]
    fn any_flipped_artifact_bit_is_corrupt() {
        let file = encode(&header(), b"artifact bytes");
        let start = file.len() - b"artifact bytes".len();
        for i in start..file.len() {
            let mut f = file.clone();
            f[i] ^= 0x10;
            assert_eq!(decode(&f).err(), Some(Bad::Corrupt), "byte {i}");
        }
        assert_eq!(decode(b"\x7fELF....").err(), Some(Bad::NotOurs));
    }

    #[test]
    fn wasmtime_version_matches_the_workspace_pin() {
        let root = include_str!("../../../Cargo.toml");
        let pin = format!("wasmtime = {{ version = \"={WASMTIME_VERSION}\"");
        assert!(
            root.contains(&pin),
            "update WASMTIME_VERSION: {pin} not in Cargo.toml"
        );
    }
}
