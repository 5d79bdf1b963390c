//! Compiled code on disk: the compile cache of `vasi run` and the `.cwasm`
//! files of `vasi compile`, in one format.
//!
//! A file is wasmtime's serialized module followed by vasi's trailer:
//!
//! ```text
//! artifact | header | header length (u32 LE) | MAGIC (8 bytes)
//! header = vasi version, wasmtime version, settings (u32-length-prefixed UTF-8)
//!          | engine fingerprint (32) | module hash (32)
//!          | artifact length (u64 LE) | checksum of the artifact (32)
//! ```
//!
//! The artifact comes first so that wasmtime can map the file itself
//! (`Module::deserialize_open_file`: no copy, and only the code a run
//! touches is read). Loading compiled code runs it as native code, so a
//! file reaches wasmtime only after its trailer and the checksum of all its
//! artifact bytes have been checked, through the same open file that
//! wasmtime then maps. This is the only module of the crate that may use
//! `unsafe` (for that one call).

#![allow(
    unsafe_code,
    reason = "Module::deserialize_open_file of a verified artifact; see `load`"
)]

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use wasmtime::{Engine, Module};

/// The last bytes of every file of this format.
pub(crate) const MAGIC: &[u8; 8] = b"vasi-cw\x03";

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
    /// The hash ([`hash`]) of the wasm binary it was compiled from.
    pub(crate) module: [u8; 32],
}

/// Bytes hashed per piece: pieces are hashed on several threads.
const PIECE: usize = 4 << 20;

/// Where the bytes to hash come from.
enum Source<'a> {
    Slice(&'a [u8]),
    /// `len` bytes of a file from offset 0.
    File(&'a File, u64),
}

impl Source<'_> {
    fn len(&self) -> u64 {
        match self {
            Source::Slice(s) => s.len() as u64,
            Source::File(_, len) => *len,
        }
    }

    /// Piece `i`, read into `buf` if it is not in memory.
    fn piece<'b>(&'b self, i: u64, buf: &'b mut Vec<u8>) -> std::io::Result<&'b [u8]> {
        let start = i * PIECE as u64;
        let n = (self.len() - start).min(PIECE as u64) as usize;
        match self {
            Source::Slice(s) => Ok(&s[start as usize..start as usize + n]),
            Source::File(f, _) => {
                if buf.len() < n {
                    *buf = vec![0; PIECE]; // zeroed pages from the allocator, once
                }
                std::os::unix::fs::FileExt::read_exact_at(*f, &mut buf[..n], start)?;
                Ok(&buf[..n])
            }
        }
    }
}

/// A tree hash: the BLAKE3 of the length and of the BLAKE3s of each 4 MiB
/// piece, the pieces hashed on up to four threads (the same value on any
/// number of them).
fn tree_hash(src: &Source<'_>) -> std::io::Result<[u8; 32]> {
    let pieces = src.len().div_ceil(PIECE as u64).max(1);
    // Small inputs on this thread alone: a thread costs more than it saves.
    let threads = if pieces <= 2 {
        1
    } else {
        std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .clamp(1, 4)
            .min(pieces as usize) as u64
    };
    let work = |t: u64| -> std::io::Result<Vec<(u64, [u8; 32])>> {
        let mut buf = Vec::new();
        let mut out = Vec::new();
        let mut i = t;
        while i < pieces {
            out.push((i, *blake3::hash(src.piece(i, &mut buf)?).as_bytes()));
            i += threads;
        }
        Ok(out)
    };
    // Worker 0 is this thread; the others are spawned.
    let digests: Vec<Vec<(u64, [u8; 32])>> = std::thread::scope(|scope| {
        let others: Vec<_> = (1..threads).map(|t| scope.spawn(move || work(t))).collect();
        let mut all = vec![work(0)];
        for w in others {
            all.push(w.join().unwrap_or_else(|p| std::panic::resume_unwind(p)));
        }
        all.into_iter().collect::<std::io::Result<_>>()
    })?;
    let mut all: Vec<(u64, [u8; 32])> = digests.into_iter().flatten().collect();
    all.sort_unstable_by_key(|(i, _)| *i);
    let mut h = blake3::Hasher::new();
    h.update(&src.len().to_le_bytes());
    for (_, d) in all {
        h.update(&d);
    }
    Ok(*h.finalize().as_bytes())
}

/// The hash of `bytes` that names a module in the cache and checks an
/// artifact (a BLAKE3 tree hash, computed on several threads).
pub(crate) fn hash(bytes: &[u8]) -> [u8; 32] {
    tree_hash(&Source::Slice(bytes)).unwrap_or([0; 32]) // a slice cannot fail
}

/// Feeds a `Hash` value into a BLAKE3 (the engine's compatibility hash has
/// no byte form of its own).
struct Blake3Hasher(blake3::Hasher);

impl std::hash::Hasher for Blake3Hasher {
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
    let mut h = Blake3Hasher(blake3::Hasher::new());
    for part in [
        "vasi compiled code v3",
        env!("CARGO_PKG_VERSION"),
        WASMTIME_VERSION,
        settings,
    ] {
        h.0.update(&(part.len() as u64).to_le_bytes());
        h.0.update(part.as_bytes());
    }
    engine.precompile_compatibility_hash().hash(&mut h);
    *h.0.finalize().as_bytes()
}

/// The trailer that follows `artifact` in a file.
pub(crate) fn trailer(header: &Header, artifact: &[u8]) -> Vec<u8> {
    let mut h = Vec::new();
    for s in [&header.vasi, &header.wasmtime, &header.settings] {
        h.extend_from_slice(&(s.len() as u32).to_le_bytes());
        h.extend_from_slice(s.as_bytes());
    }
    h.extend_from_slice(&header.engine);
    h.extend_from_slice(&header.module);
    h.extend_from_slice(&(artifact.len() as u64).to_le_bytes());
    h.extend_from_slice(&hash(artifact));
    let len = h.len() as u32;
    h.extend_from_slice(&len.to_le_bytes());
    h.extend_from_slice(MAGIC);
    h
}

/// Writes `artifact` and its trailer to `path`, atomically: a temporary
/// file in the same directory renamed into place, so a reader sees the old
/// file, the new one or none, never part of one.
pub(crate) fn write_atomically(
    path: &Path,
    header: &Header,
    artifact: &[u8],
    mode: u32,
) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mut builder = tempfile::Builder::new();
    builder.prefix(".tmp-");
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(mode));
    let mut tmp = builder.tempfile_in(dir)?;
    tmp.write_all(artifact)?;
    tmp.write_all(&trailer(header, artifact))?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// Whether the file (of `len` bytes) ends with this format's magic.
pub(crate) fn is_ours(file: &File) -> bool {
    let Ok(len) = file.metadata().map(|m| m.len()) else {
        return false;
    };
    let mut tail = [0u8; 8];
    len >= 8
        && std::os::unix::fs::FileExt::read_exact_at(file, &mut tail, len - 8).is_ok()
        && tail == *MAGIC
}

/// An open file whose artifact's length and checksum matched its trailer.
pub(crate) struct Verified(File);

/// Why a file could not be used.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Bad {
    /// Not this format at all.
    NotOurs,
    /// Truncated, or its trailer does not parse.
    Truncated,
    /// The artifact's checksum does not match.
    Corrupt,
    /// It could not be read.
    Unreadable(String),
}

impl std::fmt::Display for Bad {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Bad::NotOurs => f.write_str("not compiled by vasi"),
            Bad::Truncated => f.write_str("truncated"),
            Bad::Corrupt => f.write_str("corrupt (its checksum does not match)"),
            Bad::Unreadable(e) => write!(f, "unreadable ({e})"),
        }
    }
}

/// Reads the trailer of `src` and checks the artifact against it.
fn check(src: &Source<'_>, tail: &[u8]) -> Result<(Header, u64), Bad> {
    let rest = tail.strip_suffix(&MAGIC[..]).ok_or(Bad::NotOurs)?;
    let (rest, len) = rest
        .split_at_checked(rest.len().wrapping_sub(4))
        .ok_or(Bad::Truncated)?;
    let len = u32::from_le_bytes(len.try_into().map_err(|_| Bad::Truncated)?) as usize;
    let (_, header) = rest
        .split_at_checked(rest.len().wrapping_sub(len))
        .ok_or(Bad::Truncated)?;
    let mut h = Reader(header);
    let mut string = || -> Result<String, Bad> {
        let n = h.u32()? as usize;
        String::from_utf8(h.take(n)?.to_vec()).map_err(|_| Bad::Truncated)
    };
    let (vasi, wasmtime, settings) = (string()?, string()?, string()?);
    let engine = h.array()?;
    let module = h.array()?;
    let artifact_len = h.u64()?;
    let checksum: [u8; 32] = h.array()?;
    if !h.0.is_empty() || artifact_len.checked_add(len as u64 + 12) != Some(src.len()) {
        return Err(Bad::Truncated);
    }
    let artifact = match src {
        Source::Slice(s) => Source::Slice(&s[..artifact_len as usize]),
        Source::File(f, _) => Source::File(f, artifact_len),
    };
    if tree_hash(&artifact).map_err(|e| Bad::Unreadable(e.to_string()))? != checksum {
        return Err(Bad::Corrupt);
    }
    let header = Header {
        vasi,
        wasmtime,
        settings,
        engine,
        module,
    };
    Ok((header, artifact_len))
}

/// The largest trailer read (versions and settings are short).
const MAX_TRAILER: u64 = 64 << 10;

/// Checks the file `file`: its trailer, and the checksum of all its
/// artifact bytes.
pub(crate) fn verify(file: File) -> Result<(Header, Verified), Bad> {
    let len = file
        .metadata()
        .map_err(|e| Bad::Unreadable(e.to_string()))?
        .len();
    let n = len.min(MAX_TRAILER);
    let mut tail = vec![0u8; n as usize];
    std::os::unix::fs::FileExt::read_exact_at(&file, &mut tail, len - n)
        .map_err(|e| Bad::Unreadable(e.to_string()))?;
    let (header, _) = check(&Source::File(&file, len), &tail)?;
    Ok((header, Verified(file)))
}

/// Checks a file's bytes already in memory (the unit tests').
#[cfg(test)]
fn verify_bytes(bytes: &[u8]) -> Result<(Header, &[u8]), Bad> {
    let tail = &bytes[bytes.len().saturating_sub(MAX_TRAILER as usize)..];
    let (header, artifact_len) = check(&Source::Slice(bytes), tail)?;
    Ok((header, &bytes[..artifact_len as usize]))
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
/// The caller has compared the trailer's fingerprint with `engine`'s;
/// wasmtime checks its own version and settings again and refuses code for
/// another engine with an error.
pub(crate) fn load(engine: &Engine, verified: Verified) -> wasmtime::Result<Module> {
    // SAFETY: `Module::deserialize_open_file` requires a file holding bytes
    // produced by wasmtime's serialisation, not modified while the module
    // lives. `Verified` is only made by `verify`, after the tree BLAKE3 of
    // every artifact byte, read through this same open file, matched the
    // checksum written beside them by `trailer`, which vasi writes only
    // after the output of `Module::serialize` (the cache) or
    // `Engine::precompile_module` (`vasi compile`). A truncated or corrupt
    // file never gets here. Wasmtime maps this open file, the one verified
    // (not a path, which a rename could point elsewhere); vasi never writes
    // a file in place (new entries are new files renamed over old ones, and
    // eviction unlinks, which leaves a mapping intact). wasmtime ignores
    // the trailer after the ELF image. What remains trusted is whoever can
    // write these files in place: the user's own cache directory, or a
    // `.cwasm` the user chose to run (as trusted as any native executable).
    unsafe { Module::deserialize_open_file(engine, verified.0) }
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
    pub(crate) fn path(&self, expected: &Header) -> PathBuf {
        let mut key = blake3::Hasher::new();
        key.update(&expected.engine);
        key.update(&expected.module);
        let key: [u8; 32] = *key.finalize().as_bytes();
        let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
        self.dir.join(format!("{hex}.cwasm"))
    }

    /// The cached module for `expected`, if a valid entry exists. Anything
    /// wrong with an entry (unreadable, truncated, corrupt, another
    /// engine's) is a miss: the caller compiles and stores a fresh entry.
    pub(crate) fn get(&self, engine: &Engine, expected: &Header) -> Option<Module> {
        let path = self.path(expected);
        let started = std::time::Instant::now();
        let file = match File::open(&path) {
            Ok(f) => f,
            Err(e) => {
                self.note(format_args!("miss {} ({e})", path.display()));
                return None;
            }
        };
        let (header, verified) = match verify(file) {
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
        let checked = started.elapsed();
        match load(engine, verified) {
            Ok(module) => {
                let ms = |d: std::time::Duration| d.as_secs_f64() * 1000.0;
                self.note(format_args!(
                    "hit {} (verified in {:.1} ms, loaded in {:.1} ms)",
                    path.display(),
                    ms(checked),
                    ms(started.elapsed() - checked)
                ));
                // Least recently used goes first: a hit is a use.
                if let Ok(f) = File::options().write(true).open(&path) {
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
    /// costs time), atomically, so a reader sees a whole entry or none, and
    /// two runs storing the same entry at once both succeed.
    pub(crate) fn put(&self, expected: &Header, artifact: &[u8]) {
        let path = self.path(expected);
        let result = std::fs::create_dir_all(&self.dir)
            .and_then(|()| write_atomically(&path, expected, artifact, 0o600));
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

    fn file(artifact: &[u8]) -> Vec<u8> {
        let mut f = artifact.to_vec();
        f.extend_from_slice(&trailer(&header(), artifact));
        f
    }

    #[test]
    fn round_trip_and_every_truncation_refused() {
        let f = file(b"artifact bytes");
        let (h, a) = verify_bytes(&f).unwrap();
        assert_eq!(h, header());
        assert_eq!(a, b"artifact bytes");
        for n in 0..f.len() {
            assert!(verify_bytes(&f[..n]).is_err(), "truncated at {n} accepted");
            // Cut at the front: the trailer is whole, the artifact short.
            assert!(verify_bytes(&f[n + 1..]).is_err(), "cut {n} accepted");
        }
    }

    #[test]
    fn any_flipped_artifact_bit_is_corrupt() {
        let artifact: Vec<u8> = (0..(PIECE * 2 + 77)).map(|i| (i * 7) as u8).collect();
        let f = file(&artifact);
        for i in [0, 1, PIECE - 1, PIECE, PIECE * 2, artifact.len() - 1] {
            let mut g = f.clone();
            g[i] ^= 0x10;
            assert_eq!(verify_bytes(&g).err(), Some(Bad::Corrupt), "byte {i}");
        }
        assert_eq!(verify_bytes(b"\x7fELF....").err(), Some(Bad::NotOurs));
    }

    #[test]
    fn the_tree_hash_is_the_same_from_a_file() {
        let artifact: Vec<u8> = (0..(PIECE * 3 + 5)).map(|i| (i % 251) as u8).collect();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.cwasm");
        write_atomically(&path, &header(), &artifact, 0o600).unwrap();
        let (h, _) = verify(File::open(&path).unwrap()).unwrap();
        assert_eq!(h, header());
        assert!(is_ours(&File::open(&path).unwrap()));
        assert_ne!(hash(&artifact), hash(&artifact[1..]));
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
