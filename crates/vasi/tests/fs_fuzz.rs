//! Random sequences of path and fd hostcalls against a small-quota `MemFs` and
//! an `Overlay` whose upper layer is one, checking after every call that:
//!
//! - nothing panics;
//! - the quota holds: what the upper layer is charged never exceeds it, and
//!   its contents never exceed what it is charged;
//! - a failed call gives back what it took: on `MemFs` it leaves the charge
//!   exactly as it was; on `Overlay` at most the parent directories it copied
//!   up stay (as on Linux);
//! - at the end, once every fd is closed and the merged tree is emptied,
//!   nothing is charged at all (no leak), and the process's resident set grew
//!   by no more than the quotas plus a few MiB.
//!
//! The arguments are drawn from small pools (a few names, nested paths,
//! offsets and sizes around the quota) so that calls collide, fill the
//! filesystem and fail often. Deterministic seeds; the whole test runs in a
//! few seconds.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use vasi::p1::abi::{fdflags, oflags, rights};
use vasi::vfs::{Dir, MemFs, Node, OpenOptions, Overlay};
use vasi::{p1, Errno, Error, GuestMemory, WasiCtx, WasiCtxBuilder};

const ROOT: u32 = 3;
const PATH: u32 = 1024;
const PATH2: u32 = 2048;
const OUT: u32 = 64;
const IOV: u32 = 128;
const DATA: u32 = 16384;
const MEM: usize = 256 << 10;
const QUOTA: u64 = 1 << 20;

#[path = "support/rng.rs"]
mod rng;
use rng::Rng;

impl Rng {
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

const NAMES: &[&str] = &[
    "a",
    "b",
    "c",
    "d",
    "e",
    "lower",
    "lower/x",
    "lower/y",
    "lower/deep",
    "lower/deep/z",
    "a/b",
    "a/c",
    "b/a",
    "d/e/f",
    "a/b/c",
    "lower/new",
    "lower/deep/new",
];

/// Sizes and offsets: small, around the quota, and beyond it.
fn size(rng: &mut Rng) -> u64 {
    match rng.below(6) {
        0 => 0,
        1 => rng.below(64),
        2 => rng.below(64 << 10),
        3 => rng.below(QUOTA),
        4 => QUOTA - rng.below(4096),
        _ => rng.below(4 * QUOTA),
    }
}

struct Fuzz {
    ctx: WasiCtx,
    mem: Vec<u8>,
    fds: Vec<u32>,
}

fn errno(r: Result<(), Error>) -> Result<(), Errno> {
    match r {
        Ok(()) => Ok(()),
        Err(Error::Errno(e)) => Err(e),
        Err(other) => panic!("not an errno: {other:?}"),
    }
}

impl Fuzz {
    fn put(&mut self, at: u32, bytes: &[u8]) -> u32 {
        self.mem[at as usize..at as usize + bytes.len()].copy_from_slice(bytes);
        bytes.len() as u32
    }

    fn iov(&mut self, len: u64) {
        let len = len.min((MEM as u32 - DATA) as u64) as u32;
        let iov = [DATA.to_le_bytes(), len.to_le_bytes()].concat();
        self.put(IOV, &iov);
    }

    /// One random call; returns whether it failed.
    fn step(&mut self, rng: &mut Rng) -> Result<(), Errno> {
        let name = rng.pick(NAMES).to_string();
        let other = rng.pick(NAMES).to_string();
        let fd = if self.fds.is_empty() {
            ROOT
        } else {
            *rng.pick(&self.fds)
        };
        let len = self.put(PATH, name.as_bytes());
        let len2 = self.put(PATH2, other.as_bytes());
        let ctx = &mut self.ctx;
        match rng.below(17) {
            0 | 1 => {
                if self.fds.len() >= 32 {
                    let fd = self.fds.swap_remove(0);
                    let mut mem = GuestMemory::new(&mut self.mem);
                    return errno(p1::fd_close(ctx, &mut mem, fd));
                }
                let o = *rng.pick(&[
                    oflags::CREAT,
                    oflags::CREAT | oflags::TRUNC,
                    oflags::CREAT | oflags::EXCL,
                    0,
                    oflags::TRUNC,
                    oflags::DIRECTORY,
                ]);
                let flags = *rng.pick(&[0, fdflags::APPEND]);
                let mut mem = GuestMemory::new(&mut self.mem);
                errno(p1::path_open(
                    ctx,
                    &mut mem,
                    ROOT,
                    0,
                    PATH,
                    len,
                    u32::from(o),
                    rights::FD_READ
                        | rights::FD_WRITE
                        | rights::FD_SEEK
                        | rights::FD_FILESTAT_SET_SIZE
                        | rights::FD_ALLOCATE
                        | rights::FD_READDIR,
                    0,
                    u32::from(flags),
                    OUT,
                ))?;
                let new = u32::from_le_bytes(
                    self.mem[OUT as usize..OUT as usize + 4].try_into().unwrap(),
                );
                self.fds.push(new);
                Ok(())
            }
            2 | 3 => {
                let n = size(rng);
                self.iov(n);
                let mut mem = GuestMemory::new(&mut self.mem);
                errno(p1::fd_write(&mut self.ctx, &mut mem, fd, IOV, 1, OUT))
            }
            4 => {
                let (n, at) = (size(rng), size(rng));
                self.iov(n);
                let mut mem = GuestMemory::new(&mut self.mem);
                errno(p1::fd_pwrite(&mut self.ctx, &mut mem, fd, IOV, 1, at, OUT))
            }
            5 => {
                let mut mem = GuestMemory::new(&mut self.mem);
                errno(p1::fd_seek(ctx, &mut mem, fd, size(rng), 0, OUT))
            }
            6 => {
                let mut mem = GuestMemory::new(&mut self.mem);
                errno(p1::fd_filestat_set_size(ctx, &mut mem, fd, size(rng)))
            }
            7 => {
                let mut mem = GuestMemory::new(&mut self.mem);
                errno(p1::fd_allocate(ctx, &mut mem, fd, size(rng), size(rng)))
            }
            8 => {
                let mut mem = GuestMemory::new(&mut self.mem);
                errno(p1::path_create_directory(ctx, &mut mem, ROOT, PATH, len))
            }
            9 => {
                let mut mem = GuestMemory::new(&mut self.mem);
                errno(p1::path_remove_directory(ctx, &mut mem, ROOT, PATH, len))
            }
            10 => {
                let mut mem = GuestMemory::new(&mut self.mem);
                errno(p1::path_unlink_file(ctx, &mut mem, ROOT, PATH, len))
            }
            11 | 12 => {
                let mut mem = GuestMemory::new(&mut self.mem);
                errno(p1::path_rename(
                    ctx, &mut mem, ROOT, PATH, len, ROOT, PATH2, len2,
                ))
            }
            13 => {
                let mut mem = GuestMemory::new(&mut self.mem);
                errno(p1::path_link(
                    ctx, &mut mem, ROOT, 0, PATH, len, ROOT, PATH2, len2,
                ))
            }
            14 => {
                // A target of any length, up to twice the limit.
                let tlen = rng.below(2 * vasi::vfs::MAX_SYMLINK_LEN as u64) as u32;
                let mut mem = GuestMemory::new(&mut self.mem);
                errno(p1::path_symlink(
                    ctx, &mut mem, DATA, tlen, ROOT, PATH2, len2,
                ))
            }
            15 => {
                // Copies a lower object up on an overlay.
                let mut mem = GuestMemory::new(&mut self.mem);
                errno(p1::path_filestat_set_times(
                    ctx, &mut mem, ROOT, 0, PATH, len, 1, 2, 0b101,
                ))
            }
            _ => {
                let mut mem = GuestMemory::new(&mut self.mem);
                errno(p1::fd_readdir(ctx, &mut mem, fd, DATA, 4096, 0, OUT))
            }
        }
    }
}

/// Removes everything below `dir`, as a guest's `rm -rf` would.
fn empty(dir: &dyn Dir) {
    let mut it = dir.entries(0).unwrap();
    let entries: Vec<_> = std::iter::from_fn(|| it.next_entry())
        .map(Result::unwrap)
        .collect();
    for e in entries {
        if e.filetype == vasi::vfs::FileType::Directory {
            let Node::Dir(d) = dir.open(&e.name, &OpenOptions::lookup_dir()).unwrap() else {
                panic!("{} is not a directory", e.name);
            };
            empty(&*d);
            dir.remove_dir(&e.name).unwrap();
        } else {
            dir.unlink(&e.name).unwrap();
        }
    }
}

fn rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace()
        .nth(1)
        .unwrap()
        .parse::<u64>()
        .unwrap()
        * 1024
}

/// A lower layer with files to copy up (some too big for the upper quota
/// alone) and a nested directory.
fn lower() -> MemFs {
    let fs = MemFs::new();
    fs.write("lower/x", &vec![1; 300 << 10]).unwrap();
    fs.write("lower/y", b"y").unwrap();
    fs.write("lower/deep/z", &vec![2; 600 << 10]).unwrap();
    fs.write("e", &vec![3; 2 << 20]).unwrap();
    fs
}

fn run(seed: u64, overlay: bool, steps: usize) {
    let upper = MemFs::with_quota(QUOTA);
    let root: Arc<dyn Dir> = if overlay {
        Arc::new(Overlay::new(upper.root(), lower().root()))
    } else {
        upper.root()
    };
    let mut f = Fuzz {
        ctx: WasiCtxBuilder::new()
            .preopen_dir(root.clone(), "/")
            .build()
            .unwrap(),
        mem: vec![0x61; MEM],
        fds: Vec::new(),
    };
    let mut rng = Rng(seed);
    let mut seen: std::collections::BTreeMap<String, u32> = Default::default();
    let mut peak = 0;
    // A copy-up of at most this many parent directories may stay.
    let parents = 4 * (MemFs::DIR_COST + MemFs::ENTRY_COST + 8);
    for i in 0..steps {
        let before = upper.charged_bytes();
        let r = catch_unwind(AssertUnwindSafe(|| f.step(&mut rng)))
            .unwrap_or_else(|_| panic!("seed {seed:#x} step {i} panicked"));
        let after = upper.charged_bytes();
        peak = peak.max(after);
        *seen
            .entry(match &r {
                Ok(()) => "ok".to_string(),
                Err(e) => format!("{e:?}"),
            })
            .or_default() += 1;
        assert!(after <= QUOTA, "seed {seed:#x} step {i}: {after} > {QUOTA}");
        assert!(upper.used_bytes() <= after, "seed {seed:#x} step {i}");
        if let Err(e) = r {
            let kept = after.saturating_sub(before);
            let allowed = if overlay { parents } else { 0 };
            assert!(
                kept <= allowed,
                "seed {seed:#x} step {i}: a call failing with {e:?} kept {kept} bytes"
            );
        }
    }
    eprintln!("seed {seed:#x} overlay {overlay}: peak {peak}, {seen:?}");
    for fd in std::mem::take(&mut f.fds) {
        let mut mem = GuestMemory::new(&mut f.mem);
        p1::fd_close(&mut f.ctx, &mut mem, fd).unwrap();
    }
    drop(f);
    empty(&*root);
    assert_eq!(upper.charged_bytes(), 0, "seed {seed:#x}: a leak");
    assert_eq!(upper.used_bytes(), 0, "seed {seed:#x}");
}

#[test]
fn random_calls_keep_the_quota_on_memfs_and_overlay() {
    let before = rss();
    for seed in 1..=6u64 {
        let seed = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15);
        run(seed, false, 4000);
        run(seed, true, 4000);
    }
    // Twelve filesystems of 1 MiB each, one after the other, and the lower
    // layers (about 3 MiB each, also one at a time).
    let grown = rss().saturating_sub(before);
    assert!(
        grown < 24 << 20,
        "the resident set grew by {} MiB",
        grown >> 20
    );
}
