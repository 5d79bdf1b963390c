//! The in-memory filesystems' quotas bound host memory: a guest that creates
//! files, directories, links and symlinks until `ENOSPC` makes the host hold
//! no more than the quota (plus a small constant), on `MemFs` and on an
//! `Overlay`'s `MemFs` upper layer; a failed multi-step change gives back what
//! it took. Everything goes through the hostcalls, as a guest's calls do.
//!
//! These tests measure the process's resident memory, so they live in their
//! own test binary and run one at a time (a lock), away from other tests'
//! allocations.

use std::sync::{Arc, Mutex};
use vasi::p1::abi::{oflags, rights};
use vasi::vfs::{Dir, MemFs, Overlay};
use vasi::{p1, Errno, Error, GuestMemory, WasiCtx, WasiCtxBuilder};

const ROOT: u32 = 3;
const PATH: u32 = 1024;
const PATH2: u32 = 8192;
const OUT: u32 = 64;
const IOV: u32 = 128;
const DATA: u32 = 16384;
const MEM: usize = 1 << 20;
const MIB: u64 = 1 << 20;

/// One test at a time: they measure the whole process.
static SERIAL: Mutex<()> = Mutex::new(());

struct Env {
    ctx: WasiCtx,
    mem: Vec<u8>,
}

fn errno(e: Error) -> Errno {
    match e {
        Error::Errno(e) => e,
        other => panic!("not an errno: {other:?}"),
    }
}

impl Env {
    fn new(dir: Arc<dyn Dir>) -> Self {
        let ctx = WasiCtxBuilder::new().preopen_dir(dir, "/").build().unwrap();
        Env {
            ctx,
            mem: vec![0; MEM],
        }
    }

    fn put(&mut self, at: u32, bytes: &[u8]) -> u32 {
        self.mem[at as usize..at as usize + bytes.len()].copy_from_slice(bytes);
        bytes.len() as u32
    }

    fn create(&mut self, path: &str) -> Result<u32, Errno> {
        let len = self.put(PATH, path.as_bytes());
        let mut mem = GuestMemory::new(&mut self.mem);
        p1::path_open(
            &mut self.ctx,
            &mut mem,
            ROOT,
            0,
            PATH,
            len,
            u32::from(oflags::CREAT),
            rights::FD_READ | rights::FD_WRITE,
            0,
            0,
            OUT,
        )
        .map_err(errno)?;
        Ok(u32::from_le_bytes(
            self.mem[OUT as usize..OUT as usize + 4].try_into().unwrap(),
        ))
    }

    fn close(&mut self, fd: u32) {
        let mut mem = GuestMemory::new(&mut self.mem);
        p1::fd_close(&mut self.ctx, &mut mem, fd).unwrap();
    }

    /// Creates the empty file `path`.
    fn touch(&mut self, path: &str) -> Result<(), Errno> {
        let fd = self.create(path)?;
        self.close(fd);
        Ok(())
    }

    fn write(&mut self, path: &str, len: usize) -> Result<(), Errno> {
        let fd = self.create(path)?;
        let iov = [DATA.to_le_bytes(), (len as u32).to_le_bytes()].concat();
        self.put(IOV, &iov);
        let mut mem = GuestMemory::new(&mut self.mem);
        let r = p1::fd_write(&mut self.ctx, &mut mem, fd, IOV, 1, OUT).map_err(errno);
        self.close(fd);
        r
    }

    fn mkdir(&mut self, path: &str) -> Result<(), Errno> {
        let len = self.put(PATH, path.as_bytes());
        let mut mem = GuestMemory::new(&mut self.mem);
        p1::path_create_directory(&mut self.ctx, &mut mem, ROOT, PATH, len).map_err(errno)
    }

    fn symlink(&mut self, target: &[u8], path: &str) -> Result<(), Errno> {
        let tlen = self.put(PATH2, target);
        let len = self.put(PATH, path.as_bytes());
        let mut mem = GuestMemory::new(&mut self.mem);
        p1::path_symlink(&mut self.ctx, &mut mem, PATH2, tlen, ROOT, PATH, len).map_err(errno)
    }

    fn link(&mut self, old: &str, new: &str) -> Result<(), Errno> {
        let olen = self.put(PATH2, old.as_bytes());
        let len = self.put(PATH, new.as_bytes());
        let mut mem = GuestMemory::new(&mut self.mem);
        p1::path_link(
            &mut self.ctx,
            &mut mem,
            ROOT,
            0,
            PATH2,
            olen,
            ROOT,
            PATH,
            len,
        )
        .map_err(errno)
    }

    fn rename(&mut self, old: &str, new: &str) -> Result<(), Errno> {
        let olen = self.put(PATH2, old.as_bytes());
        let len = self.put(PATH, new.as_bytes());
        let mut mem = GuestMemory::new(&mut self.mem);
        p1::path_rename(&mut self.ctx, &mut mem, ROOT, PATH2, olen, ROOT, PATH, len).map_err(errno)
    }
}

/// The process's resident set, in bytes.
fn rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    let kb: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kb * 1024
}

/// Runs `fill` (which must end in ENOSPC) and checks that the resident set
/// grew by no more than `quota` plus `slack`.
fn assert_bounded(quota: u64, slack: u64, fill: impl FnOnce()) {
    let before = rss();
    fill();
    let grown = rss().saturating_sub(before);
    assert!(
        grown <= quota + slack,
        "host memory grew by {} KiB under a quota of {} KiB",
        grown / 1024,
        quota / 1024
    );
}

/// A name of about `len` bytes, unique for `i`.
fn name(i: u64, len: usize) -> String {
    let mut s = format!("f{i}_");
    while s.len() < len {
        s.push('x');
    }
    s
}

/// Creates entries with `make` until the filesystem says ENOSPC; returns how
/// many it made.
fn until_full(mut make: impl FnMut(u64) -> Result<(), Errno>) -> u64 {
    for i in 0.. {
        match make(i) {
            Ok(()) => {}
            Err(Errno::Nospc) => return i,
            Err(e) => panic!("entry {i}: {e:?}"),
        }
        assert!(i < 10_000_000, "no ENOSPC after ten million entries");
    }
    unreachable!()
}

#[test]
fn empty_files_fill_a_memfs() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    const QUOTA: u64 = 32 * MIB;
    // Files with short names.
    let fs = MemFs::with_quota(QUOTA);
    let mut env = Env::new(fs.root());
    assert_bounded(QUOTA, 4 * MIB, || {
        let n = until_full(|i| env.touch(&name(i, 8)));
        assert!(n > 10_000, "only {n} files");
        assert!(fs.charged_bytes() <= QUOTA);
    });
    drop(env);
    drop(fs);
    // Files with long names.
    let fs = MemFs::with_quota(QUOTA);
    let mut env = Env::new(fs.root());
    assert_bounded(QUOTA, 4 * MIB, || {
        let n = until_full(|i| env.touch(&name(i, 250)));
        assert!(n > 1000, "only {n} files");
        assert!(fs.charged_bytes() <= QUOTA);
    });
}

#[test]
fn directories_fill_a_memfs() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    const QUOTA: u64 = 32 * MIB;
    // Side by side, and each in the one before: a deep chain.
    let fs = MemFs::with_quota(QUOTA);
    let mut env = Env::new(fs.root());
    assert_bounded(QUOTA, 4 * MIB, || {
        let n = until_full(|i| env.mkdir(&format!("d{i}")));
        assert!(n > 1000, "only {n} directories");
        assert!(fs.charged_bytes() <= QUOTA);
    });
}

#[test]
fn a_deep_chain_of_directories_fills_a_memfs() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    // Each directory holds one entry, the next one: the worst case for the
    // per-directory tables. (The walk is quadratic, hence the small quota.)
    const QUOTA: u64 = 3 * MIB;
    let fs = MemFs::with_quota(QUOTA);
    let mut env = Env::new(fs.root());
    assert_bounded(QUOTA, 2 * MIB, || {
        let mut path = String::from("d");
        let n = until_full(|_| {
            let r = env.mkdir(&path);
            path.push_str("/d");
            r
        });
        assert!(n > 1000, "only {n} directories");
        assert!(fs.charged_bytes() <= QUOTA);
    });
}

#[test]
fn hard_links_and_symlinks_fill_a_memfs() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    const QUOTA: u64 = 32 * MIB;
    let fs = MemFs::with_quota(QUOTA);
    let mut env = Env::new(fs.root());
    env.touch("target").unwrap();
    assert_bounded(QUOTA, 4 * MIB, || {
        let n = until_full(|i| env.link("target", &name(i, 100)));
        assert!(n > 1000, "only {n} links");
        assert!(fs.charged_bytes() <= QUOTA);
    });
    drop(env);
    drop(fs);
    let fs = MemFs::with_quota(QUOTA);
    let mut env = Env::new(fs.root());
    let target = vec![b'a'; vasi::vfs::MAX_SYMLINK_LEN];
    assert_bounded(QUOTA, 4 * MIB, || {
        let n = until_full(|i| env.symlink(&target, &name(i, 20)));
        assert!(n > 1000, "only {n} symlinks");
        assert!(fs.charged_bytes() <= QUOTA);
    });
}

/// The case: eight symlinks with 128 MiB targets under a 1 MiB quota
/// took 1.2 GB. Now each is ENAMETOOLONG, and neither a MemFs nor an overlay
/// upper keeps anything.
#[test]
fn huge_symlink_targets_are_refused() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let upper = MemFs::with_quota(MIB);
    let lower = MemFs::new();
    let mem = MemFs::with_quota(MIB);
    let roots: [(Arc<dyn Dir>, &MemFs); 2] = [
        (mem.root(), &mem),
        (Arc::new(Overlay::new(upper.root(), lower.root())), &upper),
    ];
    for (root, fs) in roots {
        let mut env = Env::new(root);
        env.mem = vec![b'x'; 16 * MIB as usize];
        let before = rss();
        for i in 0..8 {
            let len = env.put(PATH, format!("l{i}").as_bytes());
            let mut mem = GuestMemory::new(&mut env.mem);
            // A 15 MiB target, straight out of guest memory.
            let r = p1::path_symlink(&mut env.ctx, &mut mem, PATH2, 15 << 20, ROOT, PATH, len);
            assert_eq!(r.map_err(errno), Err(Errno::Nametoolong));
        }
        assert!(rss().saturating_sub(before) < 4 * MIB);
        assert_eq!(fs.charged_bytes(), 0);
        // The longest allowed target fits, and is charged.
        let target = vec![b'y'; vasi::vfs::MAX_SYMLINK_LEN];
        env.symlink(&target, "ok").unwrap();
        assert!(fs.charged_bytes() >= target.len() as u64);
    }
}

/// The same fills on an overlay's MemFs upper layer, over a MemFs lower layer
/// with files to copy up, whiteout and rename.
#[test]
fn an_overlay_upper_fills_within_its_quota() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    const QUOTA: u64 = 16 * MIB;
    let lower = MemFs::new();
    for i in 0..2000 {
        lower
            .write(&format!("lower/{}", name(i, 40)), b"lower")
            .unwrap();
    }
    let upper = MemFs::with_quota(QUOTA);
    let ov = Overlay::new(upper.root(), lower.root());
    let mut env = Env::new(Arc::new(ov));
    assert_bounded(QUOTA, 4 * MIB, || {
        // Whiteouts of every lower file, then files until full.
        for i in 0..2000 {
            let len = env.put(PATH, format!("lower/{}", name(i, 40)).as_bytes());
            let mut mem = GuestMemory::new(&mut env.mem);
            p1::path_unlink_file(&mut env.ctx, &mut mem, ROOT, PATH, len).unwrap();
        }
        let n = until_full(|i| env.touch(&name(i, 8)));
        assert!(n > 1000, "only {n} files");
        assert!(upper.charged_bytes() <= QUOTA);
    });
}

/// The case: a 1 MiB upper, a directory rename that runs out of room
/// half way through copying the directory up. It fails with ENOSPC, leaves
/// the upper layer's usage as it was, and a 500 KiB write then succeeds.
#[test]
fn a_failed_overlay_rename_gives_back_its_copy_ups() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let lower = MemFs::new();
    for i in 0..8 {
        lower
            .write(&format!("tree/sub/f{i}"), &vec![1u8; 200 << 10])
            .unwrap();
    }
    lower.write("tree/link_target", b"t").unwrap();
    let upper = MemFs::with_quota(MIB);
    let ov = Overlay::new(upper.root(), lower.root());
    let mut env = Env::new(Arc::new(ov));
    env.touch("mine").unwrap();
    let before = upper.charged_bytes();
    assert_eq!(env.rename("tree", "moved"), Err(Errno::Nospc));
    assert_eq!(
        upper.charged_bytes(),
        before,
        "the rename kept what it took"
    );
    assert_eq!(env.rename("tree/sub", "sub2"), Err(Errno::Nospc));
    // The parent of the second source stays copied up (as on Linux), and
    // nothing else.
    let parent = MemFs::DIR_COST + MemFs::ENTRY_COST + 4;
    assert_eq!(upper.charged_bytes(), before + parent);
    assert_eq!(env.rename("moved", "x"), Err(Errno::Noent));
    // The room is there.
    env.write("big", 500 << 10).unwrap();

    // A hard link whose source's copy-up fits but whose new entry does not:
    // the copy-up is given back too.
    env.touch("filler").unwrap();
    let copy = MemFs::INODE_COST + MemFs::ENTRY_COST + "link_target".len() as u64 + 1;
    let free = MIB - upper.charged_bytes();
    env.write("filler", (free - copy - 100) as usize).unwrap();
    let before = upper.charged_bytes();
    assert_eq!(env.link("tree/link_target", "l"), Err(Errno::Nospc));
    assert_eq!(upper.charged_bytes(), before);
    // Without the new entry, the copy-up alone fits.
    assert_eq!(env.touch("tree/link_target"), Ok(()));
    assert_eq!(upper.charged_bytes(), before + copy);
}

/// A file grown by small appends gets room ahead (amortized growth), and that
/// room is host memory too: charged, so contents plus room stay within the
/// quota, and the appends still end in ENOSPC close to it.
#[test]
fn a_file_grown_by_appends_stays_within_the_quota() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    const QUOTA: u64 = 24 * MIB;
    let fs = MemFs::with_quota(QUOTA);
    let mut env = Env::new(fs.root());
    let fd = env.create("log").unwrap();
    let iov = [DATA.to_le_bytes(), 4096u32.to_le_bytes()].concat();
    env.put(IOV, &iov);
    assert_bounded(QUOTA, 4 * MIB, || {
        let n = until_full(|_| {
            let mut mem = GuestMemory::new(&mut env.mem);
            p1::fd_write(&mut env.ctx, &mut mem, fd, IOV, 1, OUT)
                .map(drop)
                .map_err(errno)
        });
        assert!(fs.charged_bytes() <= QUOTA);
        assert!(
            fs.used_bytes() > QUOTA - MIB,
            "{n} appends stopped at {} KiB",
            fs.used_bytes() / 1024
        );
    });
    env.close(fd);
}

/// Filling with directories, emptying, and filling with files: the tables
/// the directories took are given back, so the second fill does not stack
/// on top of the first.
#[test]
fn emptied_tables_give_their_memory_back() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    const QUOTA: u64 = 12 * MIB;
    let fs = MemFs::with_quota(QUOTA);
    let mut env = Env::new(fs.root());
    assert_bounded(QUOTA, 4 * MIB, || {
        let dirs = until_full(|i| env.mkdir(&format!("d{i}")));
        for i in 0..dirs {
            let path = format!("d{i}");
            let len = env.put(PATH, path.as_bytes());
            let mut mem = GuestMemory::new(&mut env.mem);
            p1::path_remove_directory(&mut env.ctx, &mut mem, ROOT, PATH, len).unwrap();
        }
        assert_eq!(fs.charged_bytes(), 0);
        let files = until_full(|i| env.touch(&name(i, 8)));
        assert!(files > dirs, "{files} files, {dirs} directories");
        for i in 0..files {
            let path = name(i, 8);
            let len = env.put(PATH, path.as_bytes());
            let mut mem = GuestMemory::new(&mut env.mem);
            p1::path_unlink_file(&mut env.ctx, &mut mem, ROOT, PATH, len).unwrap();
        }
        until_full(|i| env.mkdir(&format!("again{i}")));
    });
}
