//! The files the benchmarks work on, once in a host temp directory (for
//! native Rust, vasi's `HostDir` and wasmtime-wasi) and once in a `MemFs`.

use anyhow::{bail, Context as _, Result};
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use vasi::vfs::{Dir, MemFs, Node, OpenOptions};

/// The small file of the `stat` and `open_close` benchmarks.
pub(crate) const STAT_FILE: &str = "stat.txt";
/// The file `read1m` reads: [`Fixtures::chunks`] MiB.
pub(crate) const BIG_FILE: &str = "big.bin";
/// The directory `readdir` scans.
pub(crate) const BIG_DIR: &str = "dir10k";
/// How many (empty) files [`BIG_DIR`] holds.
pub(crate) const DIR_ENTRIES: usize = 10_000;
/// One MiB, the chunk of the bulk I/O benchmarks.
pub(crate) const MIB: usize = 1 << 20;

/// The fixtures, in both places.
pub(crate) struct Fixtures {
    tmp: tempfile::TempDir,
    /// The size of [`BIG_FILE`] in MiB; the bulk benchmarks seek back to 0
    /// after this many chunks.
    pub(crate) chunks: u64,
    mem: MemFs,
}

impl Fixtures {
    /// Writes the fixtures into a new temp directory and copies them into a
    /// `MemFs`. `chunks` is the size of [`BIG_FILE`] in MiB.
    pub(crate) fn create(chunks: u64) -> Result<Fixtures> {
        let tmp = tempfile::Builder::new()
            .prefix("vasi-bench-")
            .tempdir()
            .context("cannot create the fixtures' temp dir")?;
        let root = tmp.path();
        fs::write(root.join(STAT_FILE), b"a small file for stat and open\n")?;
        let mut big = fs::File::create(root.join(BIG_FILE))?;
        let chunk: Vec<u8> = (0..MIB).map(|i| (i % 251) as u8).collect();
        for _ in 0..chunks {
            big.write_all(&chunk)?;
        }
        drop(big);
        fs::create_dir(root.join(BIG_DIR))?;
        for i in 0..DIR_ENTRIES {
            fs::File::create(root.join(BIG_DIR).join(entry_name(i)))?;
        }

        let mem = MemFs::new();
        let mroot = mem.root();
        let errno = |what: &str, e: vasi::Errno| anyhow::anyhow!("MemFs: {what}: {e}");
        mem_write(&mroot, STAT_FILE, &fs::read(root.join(STAT_FILE))?)?;
        mem_write(&mroot, BIG_FILE, &fs::read(root.join(BIG_FILE))?)?;
        mroot
            .create_dir(BIG_DIR)
            .map_err(|e| errno("create dir10k", e))?;
        let Node::Dir(sub) = mroot
            .open(BIG_DIR, &OpenOptions::lookup_dir())
            .map_err(|e| errno("open dir10k", e))?
        else {
            bail!("MemFs: dir10k is not a directory");
        };
        for i in 0..DIR_ENTRIES {
            mem_write(&sub, &entry_name(i), b"")?;
        }
        Ok(Fixtures { tmp, chunks, mem })
    }

    /// The host directory holding the fixtures.
    pub(crate) fn dir(&self) -> &Path {
        self.tmp.path()
    }

    /// A path inside the fixtures' host directory.
    pub(crate) fn path(&self, name: &str) -> PathBuf {
        self.tmp.path().join(name)
    }

    /// The root of the `MemFs` copy (shared by every context built from it).
    pub(crate) fn mem_root(&self) -> Arc<dyn Dir> {
        self.mem.root()
    }
}

/// The name of the `i`th file in [`BIG_DIR`] (11 bytes, as short names are
/// the common case).
fn entry_name(i: usize) -> String {
    format!("entry-{i:05}")
}

/// Creates the file `name` in `dir` with `data`.
fn mem_write(dir: &Arc<dyn Dir>, name: &str, data: &[u8]) -> Result<()> {
    let opts = OpenOptions {
        write: true,
        create_new: true,
        ..OpenOptions::default()
    };
    let Node::File(f) = dir
        .open(name, &opts)
        .map_err(|e| anyhow::anyhow!("MemFs: create {name}: {e}"))?
    else {
        bail!("MemFs: {name} is not a file");
    };
    let mut done = 0;
    while done < data.len() {
        let n = f
            .write_at(&data[done..], done as u64)
            .map_err(|e| anyhow::anyhow!("MemFs: write {name}: {e}"))?;
        if n == 0 {
            bail!("MemFs: short write to {name}");
        }
        done += n;
    }
    Ok(())
}
