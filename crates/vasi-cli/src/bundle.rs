//! Running bundles: the module's bytes memory-mapped, and the bundle's
//! configuration and mounts folded into `vasi run`'s arguments, below the
//! command line's.

use crate::args::{Mount, RunArgs};
use std::path::Path;
use std::sync::Arc;
use vasi::vfs::Dir;
use vasi_bundle::{normalize_guest_path, Bundle, Source};

/// Memory-maps a file, the one place the CLI uses `unsafe`.
#[allow(
    unsafe_code,
    reason = "memmap2::Mmap::map is unsafe; see the SAFETY comment"
)]
mod mmap {
    /// Maps `file` read-only.
    pub(super) fn map(file: &std::fs::File) -> std::io::Result<memmap2::Mmap> {
        // SAFETY: the mapping is read-only and private to this process, and
        // vasi never writes the file. What Rust cannot rule out is another
        // process changing or truncating the file while vasi runs: the guest
        // would then read the new bytes (a change after `Bundle::parse` has
        // checked the index can only make reads fail or return other data,
        // since every access is bounds-checked against the mapping's fixed
        // length), and a truncation makes later reads of the lost pages
        // raise SIGBUS. docs/bundle.md tells users not to replace a bundle
        // in place while it runs (write a new file and rename it, as
        // `vasi pack` does).
        unsafe { memmap2::Mmap::map(file) }
    }
}

/// The bytes of the file at `path`, memory-mapped (read, for files that
/// cannot be mapped such as pipes, or empty ones).
pub(crate) fn map_file(path: &Path) -> Result<Source, String> {
    let name = path.display();
    let file = std::fs::File::open(path).map_err(|e| format!("cannot read {name}: {e}"))?;
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    if len > 0 {
        if let Ok(map) = mmap::map(&file) {
            return Ok(Arc::new(map));
        }
    }
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {name}: {e}"))?;
    Ok(Arc::new(bytes))
}

/// The bundle that `src` (a module's bytes, see `load::read`) is, if it is
/// one; a bundle section that cannot be read is a one-line error.
pub(crate) fn detect(src: &Source, wasm_name: &str) -> Result<Option<Arc<Bundle>>, String> {
    let bytes: &[u8] = (**src).as_ref();
    // Not wasm at all, or a component: leave the message to the module
    // check, which knows more.
    if bytes.len() < 8 || bytes[..8] != *b"\0asm\x01\0\0\0" {
        return Ok(None);
    }
    match Bundle::parse_optional(src.clone()) {
        Ok(bundle) => Ok(bundle.map(Arc::new)),
        Err(e) => Err(format!("{wasm_name}: {e}")),
    }
}

fn guest_of(m: &Mount) -> &str {
    match m {
        Mount::Host { guest, .. }
        | Mount::Mem { guest, .. }
        | Mount::MemCopy { guest, .. }
        | Mount::Tar { guest, .. }
        | Mount::Overlay { guest, .. }
        | Mount::Bundle { guest, .. } => guest,
    }
}

/// `cli` with `bundle`'s configuration below it: the command line adds
/// arguments (after the bundle's), environment variables, globals and
/// mounts, and overrides argv0, the seed, the limits, and a bundle mount at
/// the same guest path. The bundle's mounts come first (fds 3, 4, ...).
pub(crate) fn merge(bundle: Arc<Bundle>, cli: &RunArgs) -> RunArgs {
    let c = bundle.config();
    let mut a = cli.clone();
    a.args = c.args.iter().chain(&cli.args).cloned().collect();
    a.envs = c
        .env
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .chain(cli.envs.iter().cloned())
        .collect();
    a.argv0 = cli.argv0.clone().or_else(|| c.argv0.clone());
    a.deterministic = cli.deterministic || c.deterministic.is_some();
    a.seed = cli.seed.or(c.deterministic);
    a.globals = c.globals.iter().chain(&cli.globals).cloned().collect();
    a.max_memory = cli.max_memory.or(c.max_memory);
    a.max_open_files = cli.max_open_files.or(c.max_open_files);
    a.fuel = cli.fuel.or(c.fuel);
    a.timeout = cli.timeout.or(c.timeout);
    let replaced: Vec<String> = cli
        .mounts
        .iter()
        .filter_map(|m| normalize_guest_path(guest_of(m)).ok())
        .collect();
    a.mounts = bundle
        .mounts()
        .iter()
        .enumerate()
        .filter(|(_, m)| !replaced.iter().any(|p| p == m.guest_path()))
        .map(|(index, m)| Mount::Bundle {
            index,
            guest: m.guest_path().to_string(),
        })
        .chain(cli.mounts.iter().cloned())
        .collect();
    a.bundle = Some(bundle);
    a
}

/// The directory of the bundle's mount `index`, copy-on-write ones over
/// `upper`.
pub(crate) fn mount_dir(
    args: &RunArgs,
    index: usize,
    upper: impl FnOnce() -> Arc<dyn Dir>,
) -> Result<Arc<dyn Dir>, String> {
    args.bundle
        .as_ref()
        .and_then(|b| b.mounts().get(index))
        .map(|m| m.dir_with_upper(upper))
        .ok_or_else(|| format!("the bundle has no mount {index}"))
}
