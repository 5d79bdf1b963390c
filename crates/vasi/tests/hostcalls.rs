//! Hostcalls called directly over a byte-vector memory, on MemFs and HostDir:
//! path resolution and its confinement, symlinks, readdir cookies and their
//! linear cost, and errno choices.

use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use vasi::p1::abi::{filetype, lookupflags, oflags, rights};
use vasi::vfs::{Dir, DirEntry, HostDir, MemFs, Node, OpenOptions, ReadDir, SetTime, Stat};
use vasi::{p1, CopyMemory, Errno, Error, GuestMemory, WasiCtx, WasiCtxBuilder};

const SANDBOX: u32 = 3;
const PATH: u32 = 1024;
const PATH2: u32 = 4096;
const OUT: u32 = 64;
const BUF: u32 = 8192;

struct Env {
    ctx: WasiCtx,
    mem: Vec<u8>,
    kind: MemKind,
    _tmp: Option<tempfile::TempDir>,
}

/// Which kind of [`GuestMemory`] the calls see.
#[derive(Clone, Copy, Debug)]
enum MemKind {
    /// An exclusive slice, as the native bindings pass.
    Slice,
    /// Reached only by copies, as in a JS host.
    Copying,
    /// A shared memory (wasi-threads), reached with raw-pointer copies.
    Shared,
}

/// A memory reached only through [`CopyMemory`].
struct Copies<'a> {
    bytes: &'a mut [u8],
}

impl CopyMemory for Copies<'_> {
    fn len(&self) -> usize {
        self.bytes.len()
    }
    fn read(&self, offset: usize, dst: &mut [u8]) {
        dst.copy_from_slice(&self.bytes[offset..offset + dst.len()]);
    }
    fn write(&mut self, offset: usize, src: &[u8]) {
        self.bytes[offset..offset + src.len()].copy_from_slice(src);
    }
}

#[derive(Clone, Copy, Debug)]
enum Backend {
    Mem,
    Host,
}

impl Env {
    fn new(backend: Backend) -> Self {
        let (dir, tmp): (Arc<dyn Dir>, _) = match backend {
            Backend::Mem => (MemFs::new().root(), None),
            Backend::Host => {
                let tmp = tempfile::tempdir().unwrap();
                std::fs::create_dir(tmp.path().join("sandbox")).unwrap();
                std::fs::write(tmp.path().join("outside"), "secret").unwrap();
                let d = HostDir::open_ambient(tmp.path().join("sandbox")).unwrap();
                (Arc::new(d), Some(tmp))
            }
        };
        Self::with_dir(dir, tmp)
    }

    fn with_dir(dir: Arc<dyn Dir>, tmp: Option<tempfile::TempDir>) -> Self {
        let ctx = WasiCtxBuilder::new()
            .preopen_dir(dir, "/sandbox")
            .build()
            .unwrap();
        Env {
            ctx,
            mem: vec![0; 1 << 16],
            kind: MemKind::Slice,
            _tmp: tmp,
        }
    }

    /// `ctx` over a zeroed memory of `size` bytes, of `kind`.
    fn from_ctx(ctx: WasiCtx, size: usize, kind: MemKind) -> Self {
        Env {
            ctx,
            mem: vec![0; size],
            kind,
            _tmp: None,
        }
    }

    fn call(
        &mut self,
        f: impl FnOnce(&mut WasiCtx, &mut GuestMemory<'_>) -> Result<(), Error>,
    ) -> Result<(), Errno> {
        let r = match self.kind {
            MemKind::Slice => f(&mut self.ctx, &mut GuestMemory::new(&mut self.mem)),
            MemKind::Copying => {
                let mut copies = Copies {
                    bytes: &mut self.mem,
                };
                f(&mut self.ctx, &mut GuestMemory::copying(&mut copies))
            }
            MemKind::Shared => {
                let cells: Vec<UnsafeCell<u8>> =
                    self.mem.iter().map(|&b| UnsafeCell::new(b)).collect();
                let r = f(&mut self.ctx, &mut GuestMemory::shared(&cells));
                self.mem = cells.into_iter().map(UnsafeCell::into_inner).collect();
                r
            }
        };
        match r {
            Ok(()) => Ok(()),
            Err(Error::Errno(e)) => Err(e),
            Err(e) => panic!("unexpected {e:?}"),
        }
    }

    fn with_memory(mut self, kind: MemKind) -> Self {
        self.kind = kind;
        self
    }

    fn put(&mut self, at: u32, bytes: &[u8]) -> u32 {
        self.mem[at as usize..at as usize + bytes.len()].copy_from_slice(bytes);
        bytes.len() as u32
    }

    fn u32_at(&self, at: u32) -> u32 {
        u32::from_le_bytes(self.mem[at as usize..at as usize + 4].try_into().unwrap())
    }

    fn open(&mut self, dirfd: u32, path: &str, o: u16, follow: bool) -> Result<u32, Errno> {
        let len = self.put(PATH, path.as_bytes());
        let lookup = if follow {
            lookupflags::SYMLINK_FOLLOW
        } else {
            0
        };
        // As wasi-libc: a directory is opened read-only, a file read-write.
        let rights = if o & oflags::DIRECTORY != 0 {
            rights::DIRECTORY | rights::FD_READ
        } else {
            rights::FILE_READ | rights::FILE_WRITE
        };
        self.call(|c, m| {
            p1::path_open(c, m, dirfd, lookup, PATH, len, o.into(), rights, 0, 0, OUT)
        })?;
        Ok(self.u32_at(OUT))
    }

    fn stat(&mut self, dirfd: u32, path: &str, follow: bool) -> Result<u8, Errno> {
        let len = self.put(PATH, path.as_bytes());
        let lookup = if follow {
            lookupflags::SYMLINK_FOLLOW
        } else {
            0
        };
        self.call(|c, m| p1::path_filestat_get(c, m, dirfd, lookup, PATH, len, BUF))?;
        Ok(self.mem[BUF as usize + 16])
    }

    fn mkdir(&mut self, path: &str) -> Result<(), Errno> {
        let len = self.put(PATH, path.as_bytes());
        self.call(|c, m| p1::path_create_directory(c, m, SANDBOX, PATH, len))
    }

    fn symlink(&mut self, target: &str, path: &str) -> Result<(), Errno> {
        let tlen = self.put(PATH2, target.as_bytes());
        let len = self.put(PATH, path.as_bytes());
        self.call(|c, m| p1::path_symlink(c, m, PATH2, tlen, SANDBOX, PATH, len))
    }

    fn create(&mut self, path: &str) {
        let fd = self.open(SANDBOX, path, oflags::CREAT, false).unwrap();
        self.call(|c, m| p1::fd_close(c, m, fd)).unwrap();
    }

    /// Lists `fd` with a buffer of `buf_len`, resuming as wasi-libc does;
    /// returns the names and the number of `fd_readdir` calls.
    fn list(&mut self, fd: u32, buf_len: u32) -> (Vec<String>, usize) {
        let mut names = Vec::new();
        let mut cookie = 0u64;
        let mut calls = 0;
        loop {
            calls += 1;
            self.call(|c, m| p1::fd_readdir(c, m, fd, BUF, buf_len, cookie, OUT))
                .unwrap();
            let used = self.u32_at(OUT) as usize;
            let buf = &self.mem[BUF as usize..BUF as usize + used];
            let mut at = 0;
            let mut progressed = false;
            while at + 24 <= used {
                let next = u64::from_le_bytes(buf[at..at + 8].try_into().unwrap());
                let namlen = u32::from_le_bytes(buf[at + 16..at + 20].try_into().unwrap()) as usize;
                if at + 24 + namlen > used {
                    break;
                }
                names.push(String::from_utf8(buf[at + 24..at + 24 + namlen].to_vec()).unwrap());
                cookie = next;
                progressed = true;
                at += 24 + namlen;
            }
            if used < buf_len as usize {
                return (names, calls);
            }
            assert!(progressed, "a {buf_len}-byte buffer holds no whole entry");
        }
    }
}

macro_rules! on_both {
    ($(fn $name:ident($env:ident: Env) $body:block)*) => {$(
        mod $name {
            use super::*;
            fn run(mut $env: Env) $body
            #[test]
            fn mem() { run(Env::new(Backend::Mem)) }
            #[test]
            fn host() { run(Env::new(Backend::Host)) }
            // The same calls over the other kinds of guest memory.
            #[test]
            fn mem_copying() { run(Env::new(Backend::Mem).with_memory(MemKind::Copying)) }
            #[test]
            fn host_shared() { run(Env::new(Backend::Host).with_memory(MemKind::Shared)) }
        }
    )*};
}

on_both! {
    fn escapes_are_refused(env: Env) {
        env.mkdir("a").unwrap();
        env.mkdir("a/b").unwrap();
        for path in ["..", "../outside", "a/../..", "a/b/../../../outside", "/", "/etc", "./.."] {
            assert_eq!(env.stat(SANDBOX, path, true), Err(Errno::Perm), "{path}");
            assert_eq!(env.open(SANDBOX, path, 0, true), Err(Errno::Perm), "{path}");
        }
        assert_eq!(env.mkdir("../x"), Err(Errno::Perm));
        assert_eq!(env.stat(SANDBOX, "a/b/../..", true), Ok(filetype::DIRECTORY));
        // A directory fd is confined to its own subtree.
        let a = env.open(SANDBOX, "a", oflags::DIRECTORY, false).unwrap();
        assert_eq!(env.stat(a, "b/..", false), Ok(filetype::DIRECTORY));
        assert_eq!(env.stat(a, "..", false), Err(Errno::Perm));
    }

    fn symlinks_are_followed_inside_only(env: Env) {
        env.mkdir("d").unwrap();
        env.create("d/f");
        env.symlink("d/f", "to_f").unwrap();
        env.symlink("d", "to_d").unwrap();
        env.symlink("../../..", "up").unwrap();
        env.symlink("d/../../outside", "sneaky").unwrap();
        env.symlink("loop2", "loop1").unwrap();
        env.symlink("loop1", "loop2").unwrap();
        assert_eq!(env.symlink("/etc/passwd", "abs"), Err(Errno::Perm));
        assert_eq!(env.symlink("x", "to_f"), Err(Errno::Exist));

        assert_eq!(env.stat(SANDBOX, "to_f", false), Ok(filetype::SYMBOLIC_LINK));
        assert_eq!(env.stat(SANDBOX, "to_f", true), Ok(filetype::REGULAR_FILE));
        assert_eq!(env.stat(SANDBOX, "to_d/f", false), Ok(filetype::REGULAR_FILE));
        assert_eq!(env.stat(SANDBOX, "to_d/", false), Ok(filetype::DIRECTORY));
        assert_eq!(env.stat(SANDBOX, "to_f/", false), Err(Errno::Notdir));
        assert!(env.open(SANDBOX, "to_f", 0, true).is_ok());
        assert_eq!(env.open(SANDBOX, "to_f", 0, false), Err(Errno::Loop));
        assert_eq!(env.open(SANDBOX, "up", 0, true), Err(Errno::Perm));
        assert_eq!(env.stat(SANDBOX, "up/x", false), Err(Errno::Perm));
        assert_eq!(env.stat(SANDBOX, "sneaky", true), Err(Errno::Perm));
        assert_eq!(env.stat(SANDBOX, "loop1", true), Err(Errno::Loop));
        assert_eq!(env.stat(SANDBOX, "loop1/x", false), Err(Errno::Loop));
        assert_eq!(env.open(SANDBOX, "to_f", oflags::CREAT | oflags::EXCL, true), Err(Errno::Exist));

        let len = env.put(PATH, b"to_d");
        env.call(|c, m| p1::path_readlink(c, m, SANDBOX, PATH, len, BUF, 2, OUT)).unwrap();
        assert_eq!(env.u32_at(OUT), 1, "a short buffer gets a cut target");
        assert_eq!(env.mem[BUF as usize], b'd');
        let len = env.put(PATH, b"d/f");
        let r = env.call(|c, m| p1::path_readlink(c, m, SANDBOX, PATH, len, BUF, 64, OUT));
        assert_eq!(r, Err(Errno::Inval));
    }

    fn trailing_slashes_and_dots(env: Env) {
        env.create("f");
        env.mkdir("d").unwrap();
        assert_eq!(env.open(SANDBOX, "f/", 0, false), Err(Errno::Notdir));
        assert_eq!(env.open(SANDBOX, "new/", oflags::CREAT, false), Err(Errno::Isdir));
        assert_eq!(env.open(SANDBOX, "f", oflags::DIRECTORY, false), Err(Errno::Notdir));
        assert_eq!(env.open(SANDBOX, "d", oflags::CREAT | oflags::DIRECTORY, false), Err(Errno::Inval));
        assert_eq!(env.open(SANDBOX, ".", oflags::CREAT | oflags::EXCL, false), Err(Errno::Exist));
        assert_eq!(env.open(SANDBOX, "", 0, false), Err(Errno::Noent));
        assert_eq!(env.mkdir("d/"), Err(Errno::Exist));
        assert_eq!(env.mkdir("."), Err(Errno::Exist));
        let len = env.put(PATH, b"f/");
        assert_eq!(env.call(|c, m| p1::path_unlink_file(c, m, SANDBOX, PATH, len)), Err(Errno::Notdir));
        let len = env.put(PATH, b"d");
        assert_eq!(env.call(|c, m| p1::path_unlink_file(c, m, SANDBOX, PATH, len)), Err(Errno::Isdir));
        let len = env.put(PATH, b".");
        assert_eq!(env.call(|c, m| p1::path_remove_directory(c, m, SANDBOX, PATH, len)), Err(Errno::Inval));
        let len = env.put(PATH, b"f");
        assert_eq!(env.call(|c, m| p1::path_remove_directory(c, m, SANDBOX, PATH, len)), Err(Errno::Notdir));
        let len = env.put(PATH, b"d/");
        assert_eq!(env.call(|c, m| p1::path_remove_directory(c, m, SANDBOX, PATH, len)), Ok(()));
    }

    fn rename_rules(env: Env) {
        env.mkdir("a").unwrap();
        env.mkdir("a/b").unwrap();
        env.create("f");
        let rename = |env: &mut Env, from: &str, to: &str| {
            let l1 = env.put(PATH, from.as_bytes());
            let l2 = env.put(PATH2, to.as_bytes());
            env.call(|c, m| p1::path_rename(c, m, SANDBOX, PATH, l1, SANDBOX, PATH2, l2))
        };
        assert_eq!(rename(&mut env, "a", "a/b/c"), Err(Errno::Inval));
        assert_eq!(rename(&mut env, "f", "a"), Err(Errno::Isdir));
        assert_eq!(rename(&mut env, "a", "f"), Err(Errno::Notdir));
        assert_eq!(rename(&mut env, "f/", "g"), Err(Errno::Notdir));
        assert_eq!(rename(&mut env, "missing", "g"), Err(Errno::Noent));
        assert_eq!(rename(&mut env, "f", "../g"), Err(Errno::Perm));
        assert_eq!(rename(&mut env, "f", "a/b/g"), Ok(()));
        assert_eq!(env.stat(SANDBOX, "a/b/g", false), Ok(filetype::REGULAR_FILE));
        assert_eq!(env.stat(SANDBOX, "f", false), Err(Errno::Noent));
        env.mkdir("e").unwrap();
        assert_eq!(rename(&mut env, "e", "a"), Err(Errno::Notempty));
        assert_eq!(rename(&mut env, "a", "e"), Ok(()));
        assert_eq!(env.stat(SANDBOX, "e/b/g", false), Ok(filetype::REGULAR_FILE));
    }

    fn hard_links_share_contents(env: Env) {
        let fd = env.open(SANDBOX, "f", oflags::CREAT, false).unwrap();
        let n = env.put(BUF, b"shared");
        env.put(0, &BUF.to_le_bytes());
        env.put(4, &n.to_le_bytes());
        env.call(|c, m| p1::fd_write(c, m, fd, 0, 1, OUT)).unwrap();
        let l1 = env.put(PATH, b"f");
        let l2 = env.put(PATH2, b"g");
        env.call(|c, m| p1::path_link(c, m, SANDBOX, 0, PATH, l1, SANDBOX, PATH2, l2)).unwrap();
        env.call(|c, m| p1::path_filestat_get(c, m, SANDBOX, 0, PATH2, l2, BUF)).unwrap();
        let nlink = u64::from_le_bytes(env.mem[BUF as usize + 24..BUF as usize + 32].try_into().unwrap());
        let size = u64::from_le_bytes(env.mem[BUF as usize + 32..BUF as usize + 40].try_into().unwrap());
        assert_eq!((nlink, size), (2, 6));
        env.mkdir("d").unwrap();
        let l1 = env.put(PATH, b"d");
        let r = env.call(|c, m| p1::path_link(c, m, SANDBOX, 0, PATH, l1, SANDBOX, PATH2, l2));
        assert_eq!(r, Err(Errno::Perm));
    }

    fn names_over_255_bytes_are_too_long(env: Env) {
        // Looking one up is ENAMETOOLONG too, not ENOENT (Linux; MemFs said ENOENT).
        let long = "n".repeat(256);
        assert_eq!(env.stat(SANDBOX, &long, false), Err(Errno::Nametoolong));
        assert_eq!(env.stat(SANDBOX, &format!("{long}/x"), false), Err(Errno::Nametoolong));
        assert_eq!(env.open(SANDBOX, &long, 0, false), Err(Errno::Nametoolong));
        assert_eq!(env.open(SANDBOX, &long, oflags::CREAT, false), Err(Errno::Nametoolong));
        assert_eq!(env.mkdir(&long), Err(Errno::Nametoolong));
        assert_eq!(env.stat(SANDBOX, &long[1..], false), Err(Errno::Noent));
        env.create(&long[1..]);
        assert_eq!(env.stat(SANDBOX, &long[1..], false), Ok(filetype::REGULAR_FILE));
    }

    fn readdir_lists_everything_once(env: Env) {
        env.mkdir("big").unwrap();
        for i in 0..300 {
            env.create(&format!("big/entry-with-a-longish-name-{i:04}"));
        }
        let fd = env.open(SANDBOX, "big", oflags::DIRECTORY, false).unwrap();
        for buf_len in [64, 100, 4096] {
            let (mut names, _) = env.list(fd, buf_len);
            names.sort();
            assert_eq!(names.len(), 302, "buffer {buf_len}");
            assert_eq!(names[0], ".");
            assert_eq!(names[1], "..");
            names.dedup();
            assert_eq!(names.len(), 302, "duplicates with buffer {buf_len}");
        }
        let r = env.call(|c, m| p1::fd_readdir(c, m, 0, BUF, 100, 0, OUT));
        assert_eq!(r, Err(Errno::Notdir));
    }
}

/// A MemFs directory that counts how often it is listed.
struct Counting {
    inner: Arc<dyn Dir>,
    listings: Arc<AtomicUsize>,
    entries: Arc<AtomicUsize>,
}

struct CountingIter {
    inner: Box<dyn ReadDir>,
    entries: Arc<AtomicUsize>,
}

impl ReadDir for CountingIter {
    fn next_entry(&mut self) -> Option<Result<DirEntry, Errno>> {
        self.entries.fetch_add(1, Ordering::Relaxed);
        self.inner.next_entry()
    }
}

impl Dir for Counting {
    fn open(&self, name: &str, o: &OpenOptions) -> Result<Node, Errno> {
        self.inner.open(name, o)
    }
    fn stat_at(&self, name: &str) -> Result<Stat, Errno> {
        self.inner.stat_at(name)
    }
    fn stat(&self) -> Result<Stat, Errno> {
        self.inner.stat()
    }
    fn set_times(&self, a: Option<SetTime>, m: Option<SetTime>) -> Result<(), Errno> {
        self.inner.set_times(a, m)
    }
    fn entries(&self, cookie: u64) -> Result<Box<dyn ReadDir>, Errno> {
        self.listings.fetch_add(1, Ordering::Relaxed);
        Ok(Box::new(CountingIter {
            inner: self.inner.entries(cookie)?,
            entries: self.entries.clone(),
        }))
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

#[test]
fn a_full_readdir_scan_is_linear() {
    let fs = MemFs::new();
    for i in 0..1000 {
        fs.write(&format!("f{i:04}"), b"").unwrap();
    }
    let listings = Arc::new(AtomicUsize::new(0));
    let entries = Arc::new(AtomicUsize::new(0));
    let dir = Counting {
        inner: fs.root(),
        listings: listings.clone(),
        entries: entries.clone(),
    };
    let mut env = Env::with_dir(Arc::new(dir), None);
    let (names, calls) = env.list(SANDBOX, 128);
    assert_eq!(names.len(), 1002);
    assert!(calls > 100, "small buffers take many calls ({calls})");
    assert_eq!(
        listings.load(Ordering::Relaxed),
        1,
        "resuming must not re-list"
    );
    let pulled = entries.load(Ordering::Relaxed);
    assert!(
        pulled <= 1000 + 1,
        "each entry is fetched once, got {pulled}"
    );
}

#[test]
fn memfs_cookies_survive_unlinks() {
    let fs = MemFs::new();
    for name in ["a", "b", "c", "d"] {
        fs.write(name, b"").unwrap();
    }
    let root = fs.root();
    let mut it = root.entries(0).unwrap();
    let first = it.next_entry().unwrap().unwrap();
    assert_eq!(first.name, "a");
    root.unlink("b").unwrap();
    root.unlink("a").unwrap();
    let rest: Vec<String> = std::iter::from_fn(|| root.entries(first.next).unwrap().next_entry())
        .take(1)
        .map(|e| e.unwrap().name)
        .collect();
    assert_eq!(rest, ["c"]);
    let mut it = root.entries(first.next).unwrap();
    let names: Vec<String> = std::iter::from_fn(|| it.next_entry())
        .map(|e| e.unwrap().name)
        .collect();
    assert_eq!(names, ["c", "d"]);
}

#[test]
fn memfs_quota_never_half_writes() {
    // 100 bytes of contents, and the charges for the files "a" and "b".
    let fs = MemFs::with_quota(100 + 2 * (MemFs::INODE_COST + MemFs::ENTRY_COST + 1));
    fs.write("a", &[1; 60]).unwrap();
    assert_eq!(fs.write("b", &[2; 50]), Err(Errno::Nospc));
    assert_eq!(fs.read("a").unwrap(), vec![1; 60]);
    let Node::File(f) = fs
        .root()
        .open(
            "a",
            &OpenOptions {
                write: true,
                ..Default::default()
            },
        )
        .unwrap()
    else {
        panic!("a file");
    };
    assert_eq!(
        f.write_at(&[3; 10], 95),
        Err(Errno::Nospc),
        "a sparse write past the quota"
    );
    assert_eq!(f.stat().unwrap().size, 60);
    assert_eq!(f.write_at(&[3; 10], 60), Ok(10));
    assert_eq!(
        fs.used_bytes(),
        70 + fs.read("b").map(|b| b.len() as u64).unwrap_or(0)
    );
    fs.root().unlink("a").unwrap();
    drop(f);
    assert_eq!(
        fs.used_bytes(),
        fs.read("b").map(|b| b.len() as u64).unwrap_or(0)
    );
}

#[test]
fn host_symlinks_pointing_outside_are_not_followed() {
    let tmp = tempfile::tempdir().unwrap();
    let sandbox = tmp.path().join("sandbox");
    std::fs::create_dir(&sandbox).unwrap();
    std::fs::write(tmp.path().join("outside"), "secret").unwrap();
    std::os::unix::fs::symlink(tmp.path().join("outside"), sandbox.join("abs")).unwrap();
    std::os::unix::fs::symlink("../outside", sandbox.join("rel")).unwrap();
    std::os::unix::fs::symlink("/etc", sandbox.join("etc")).unwrap();
    let dir = HostDir::open_ambient(&sandbox).unwrap();
    let mut env = Env::with_dir(Arc::new(dir), Some(tmp));
    for path in ["abs", "rel", "etc/passwd", "etc"] {
        assert_eq!(env.open(SANDBOX, path, 0, true), Err(Errno::Perm), "{path}");
        assert_eq!(env.stat(SANDBOX, path, true), Err(Errno::Perm), "{path}");
    }
    assert_eq!(env.stat(SANDBOX, "abs", false), Ok(filetype::SYMBOLIC_LINK));
}

#[test]
fn bad_fds_and_flags() {
    let mut env = Env::new(Backend::Mem);
    assert_eq!(env.open(99, "x", 0, false), Err(Errno::Badf));
    assert_eq!(env.open(1, "x", 0, false), Err(Errno::Notdir));
    assert_eq!(env.open(SANDBOX, "x", 0x10, false), Err(Errno::Inval));
    let len = env.put(PATH, b"x");
    let r = env.call(|c, m| p1::path_open(c, m, SANDBOX, 2, PATH, len, 0, 0, 0, 0, OUT));
    assert_eq!(r, Err(Errno::Inval), "unknown lookupflags");
    let r = env.call(|c, m| p1::path_open(c, m, SANDBOX, 0, PATH, len, 0, 0, 0, 0x20, OUT));
    assert_eq!(r, Err(Errno::Inval), "unknown fdflags");
    env.put(PATH, &[b'a', 0xff]);
    assert_eq!(
        env.call(|c, m| p1::path_create_directory(c, m, SANDBOX, PATH, 2)),
        Err(Errno::Ilseq)
    );
    assert_eq!(env.call(|c, m| p1::fd_close(c, m, 77)), Err(Errno::Badf));
    assert_eq!(
        env.call(|c, m| p1::clock_time_get(c, m, 9, 0, OUT)),
        Err(Errno::Inval)
    );
    assert_eq!(
        env.call(|c, m| p1::fd_seek(c, m, 1, 0, 0, OUT)),
        Err(Errno::Spipe)
    );
    assert_eq!(
        env.call(|c, m| p1::sock_accept(c, m, 1, 0, OUT)),
        Err(Errno::Notsock)
    );
    assert_eq!(
        env.call(|c, m| p1::sock_shutdown(c, m, 50, 0)),
        Err(Errno::Badf)
    );
    // fd_renumber moves a descriptor and frees the old number.
    let fd = env.open(SANDBOX, "y", oflags::CREAT, false).unwrap();
    assert_eq!(env.call(|c, m| p1::fd_renumber(c, m, fd, 1)), Ok(()));
    assert_eq!(env.call(|c, m| p1::fd_close(c, m, fd)), Err(Errno::Badf));
    let r = env.call(|c, m| p1::fd_filestat_get(c, m, 1, BUF));
    assert_eq!(
        (r, env.mem[BUF as usize + 16]),
        (Ok(()), filetype::REGULAR_FILE)
    );
}

#[test]
fn out_of_bounds_pointers_trap() {
    let mut env = Env::new(Backend::Mem);
    let size = env.mem.len() as u32;
    let mut mem = GuestMemory::new(&mut env.mem);
    let r = p1::fd_write(&mut env.ctx, &mut mem, 1, size - 4, 1, OUT);
    assert!(matches!(r, Err(Error::Trap(_))), "{r:?}");
    let r = p1::clock_time_get(&mut env.ctx, &mut mem, 0, 0, OUT + 4);
    assert!(
        matches!(r, Err(Error::Trap(ref t)) if t.message().contains("misaligned")),
        "{r:?}"
    );
    let r = p1::random_get(&mut env.ctx, &mut mem, size - 1, 2);
    assert!(matches!(r, Err(Error::Trap(_))), "{r:?}");
    let r = p1::args_sizes_get(&mut env.ctx, &mut mem, size, 0);
    assert!(matches!(r, Err(Error::Trap(_))), "{r:?}");
    let r = p1::poll_oneoff(&mut env.ctx, &mut mem, size - 8, OUT, 1, 0);
    assert!(matches!(r, Err(Error::Trap(_))), "{r:?}");
    let r = p1::proc_exit(&mut env.ctx, &mut mem, 7);
    assert_eq!(r, Err(Error::Exit(vasi::I32Exit(7))));
}

#[test]
fn nested_mounts_appear_inside_outer_ones() {
    let outer = MemFs::new();
    outer.write("cache/hidden", b"outer's own").unwrap();
    outer.write("file", b"x").unwrap();
    let inner = MemFs::new();
    inner.write("item", b"from the inner mount").unwrap();
    let deep = MemFs::new();
    deep.write("deep-item", b"").unwrap();
    let ctx = WasiCtxBuilder::new()
        .preopen_dir(outer.root(), "/data")
        .preopen_dir(inner.root(), "/data/cache")
        .preopen_dir(deep.root(), "/data/cache/more/deep")
        .build()
        .unwrap();
    let mut env = Env::from_ctx(ctx, 1 << 16, MemKind::Slice);
    assert_eq!(
        env.stat(SANDBOX, "cache/item", false),
        Ok(filetype::REGULAR_FILE)
    );
    assert_eq!(env.stat(SANDBOX, "cache/hidden", false), Err(Errno::Noent));
    // An intermediate directory that exists nowhere is not invented...
    assert_eq!(
        env.stat(SANDBOX, "cache/more/deep", false),
        Err(Errno::Noent)
    );
    inner.create_dir_all("more").unwrap();
    // ...but once it exists, the deeper mount shows through it.
    assert_eq!(
        env.stat(SANDBOX, "cache/more/deep/deep-item", false),
        Ok(filetype::REGULAR_FILE)
    );
    assert_eq!(
        env.stat(4, "more/deep/deep-item", false),
        Ok(filetype::REGULAR_FILE)
    );
    let (mut names, _) = env.list(SANDBOX, 64);
    names.sort();
    assert_eq!(names, [".", "..", "cache", "file"]);
    let len = env.put(PATH, b"cache");
    let r = env.call(|c, m| p1::path_remove_directory(c, m, SANDBOX, PATH, len));
    assert_eq!(r, Err(Errno::Busy));
    // Writes through the outer path land in the inner filesystem.
    let fd = env
        .open(SANDBOX, "cache/new", oflags::CREAT, false)
        .unwrap();
    env.call(|c, m| p1::fd_close(c, m, fd)).unwrap();
    assert_eq!(inner.read("new").unwrap(), b"");
    assert_eq!(outer.read("cache/new"), Err(Errno::Noent));
}

#[test]
fn symlink_times_are_their_own() {
    // Found by wasi-testsuite's symlink_filestat on an Overlay (MemFs upper).
    for backend in [Backend::Mem, Backend::Host] {
        let mut env = Env::new(backend);
        env.create("f");
        env.symlink("f", "l").unwrap();
        let len = env.put(PATH, b"l");
        let set = p1::abi::fstflags::MTIM.into();
        env.call(|c, m| p1::path_filestat_set_times(c, m, SANDBOX, 0, PATH, len, 0, 1_000, set))
            .unwrap();
        let mtime = |env: &mut Env, follow: u32| {
            env.call(|c, m| p1::path_filestat_get(c, m, SANDBOX, follow, PATH, len, BUF))
                .unwrap();
            u64::from_le_bytes(
                env.mem[BUF as usize + 48..BUF as usize + 56]
                    .try_into()
                    .unwrap(),
            )
        };
        assert_eq!(
            mtime(&mut env, 0),
            1_000,
            "{backend:?}: the link's own mtime"
        );
        assert_ne!(
            mtime(&mut env, 1),
            1_000,
            "{backend:?}: the target is untouched"
        );
    }
}

#[test]
fn proc_raise_reaches_the_embedder_only() {
    let mut env = Env::new(Backend::Mem);
    assert_eq!(env.call(|c, m| p1::proc_raise(c, m, 15)), Err(Errno::Nosys));
    assert_eq!(env.call(|c, m| p1::proc_raise(c, m, 0)), Err(Errno::Inval));
    assert_eq!(env.call(|c, m| p1::proc_raise(c, m, 31)), Err(Errno::Inval));
    let raised = Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = raised.clone();
    let ctx = WasiCtxBuilder::new()
        .on_proc_raise(move |sig| {
            seen.lock().unwrap().push(sig);
            if sig == 9 {
                Err(Errno::Perm)
            } else {
                Ok(())
            }
        })
        .build()
        .unwrap();
    let mut env = Env::from_ctx(ctx, 1024, MemKind::Slice);
    assert_eq!(env.call(|c, m| p1::proc_raise(c, m, 2)), Ok(()));
    assert_eq!(env.call(|c, m| p1::proc_raise(c, m, 9)), Err(Errno::Perm));
    assert_eq!(*raised.lock().unwrap(), [2, 9]);
}

#[test]
fn poll_sees_stdin_data_and_its_end() {
    let ctx = WasiCtxBuilder::new()
        .stdin(std::io::Cursor::new(b"abc".to_vec()))
        .build()
        .unwrap();
    let mut env = Env::from_ctx(ctx, 1 << 16, MemKind::Slice);
    // One fd_read subscription on fd 0 at 2048, its event at 4096.
    let mut sub = [0u8; 48];
    sub[0] = 7; // userdata
    sub[8] = 1; // fd_read
    env.put(2048, &sub);
    let poll = |env: &mut Env| {
        env.call(|c, m| p1::poll_oneoff(c, m, 2048, 4096, 1, OUT))
            .unwrap();
        assert_eq!(env.u32_at(OUT), 1);
        let nbytes = u64::from_le_bytes(env.mem[4096 + 16..4096 + 24].try_into().unwrap());
        let flags = u16::from_le_bytes([env.mem[4096 + 24], env.mem[4096 + 25]]);
        (env.mem[4096], nbytes, flags)
    };
    assert_eq!(poll(&mut env), (7, 3, 0));
    env.put(0, &BUF.to_le_bytes());
    env.put(4, &16u32.to_le_bytes());
    env.call(|c, m| p1::fd_read(c, m, 0, 0, 1, OUT)).unwrap();
    assert_eq!(env.u32_at(OUT), 3);
    assert_eq!(&env.mem[BUF as usize..BUF as usize + 3], b"abc");
    assert_eq!(poll(&mut env), (7, 0, 1), "the end of stdin is a hangup");
    env.call(|c, m| p1::fd_read(c, m, 0, 0, 1, OUT)).unwrap();
    assert_eq!(env.u32_at(OUT), 0);
}

/// Transfers larger than the pieces that copying and shared memories move at
/// once ([`vasi::PIECE`]) arrive whole, in order, on every kind of memory:
/// files written and read through several iovecs, a readdir buffer far larger
/// than a piece, and random bytes (the same stream from the same seed).
#[test]
fn bulk_transfers_are_whole_on_every_memory() {
    let big = 3 * vasi::PIECE + 5;
    let data: Vec<u8> = (0..big).map(|i| (i * 7 % 251) as u8).collect();
    let mut seen = Vec::new();
    for kind in [MemKind::Slice, MemKind::Copying, MemKind::Shared] {
        let fs = MemFs::new();
        for i in 0..300 {
            fs.write(&format!("entry-{i:03}"), b"").unwrap();
        }
        let ctx = WasiCtxBuilder::new()
            .preopen_dir(fs.root(), "/sandbox")
            .deterministic(7)
            .build()
            .unwrap();
        let mut env = Env::from_ctx(ctx, 1 << 20, kind);
        let fd = env.open(SANDBOX, "big", oflags::CREAT, false).unwrap();
        // Two iovecs: `data` split unevenly, at 64 KiB and 400 KiB.
        let (a, b) = data.split_at(vasi::PIECE + 1);
        let iov = 256u32;
        let (pa, pb) = (0x1_0000u32, 0x8_0000u32);
        env.put(pa, a);
        env.put(pb, b);
        for (i, (p, l)) in [(pa, a.len()), (pb, b.len())].into_iter().enumerate() {
            env.put(iov + 8 * i as u32, &p.to_le_bytes());
            env.put(iov + 8 * i as u32 + 4, &(l as u32).to_le_bytes());
        }
        env.call(|c, m| p1::fd_write(c, m, fd, iov, 2, OUT))
            .unwrap();
        assert_eq!(env.u32_at(OUT) as usize, big, "{kind:?}");
        assert_eq!(fs.read("big").unwrap(), data, "{kind:?}");
        // Read it back into fresh buffers with pread.
        env.mem[pa as usize..pa as usize + a.len()].fill(0);
        env.mem[pb as usize..pb as usize + b.len()].fill(0);
        env.call(|c, m| p1::fd_pread(c, m, fd, iov, 2, 0, OUT))
            .unwrap();
        assert_eq!(env.u32_at(OUT) as usize, big, "{kind:?}");
        assert_eq!(&env.mem[pa as usize..pa as usize + a.len()], a, "{kind:?}");
        assert_eq!(&env.mem[pb as usize..pb as usize + b.len()], b, "{kind:?}");
        // A short file fills a prefix only, and says so.
        env.call(|c, m| p1::fd_pread(c, m, fd, iov, 2, big as u64 - 10, OUT))
            .unwrap();
        assert_eq!(env.u32_at(OUT), 10, "{kind:?}");
        // One readdir call into a 512 KiB buffer lists every entry.
        let dir = env.open(SANDBOX, ".", oflags::DIRECTORY, false).unwrap();
        let buf_len = 512 * 1024;
        env.call(|c, m| p1::fd_readdir(c, m, dir, pb, buf_len, 0, OUT))
            .unwrap();
        let used = env.u32_at(OUT) as usize;
        assert!(used < buf_len as usize, "{kind:?}");
        // `.`, `..`, `big` and 300 entries of 24 + 9 bytes.
        assert_eq!(used, 2 * 24 + 3 + (24 + 3) + 300 * (24 + 9), "{kind:?}");
        // random_get of more than a piece.
        env.call(|c, m| p1::random_get(c, m, pa, big as u32))
            .unwrap();
        seen.push(env.mem[pa as usize..pa as usize + big].to_vec());
    }
    assert!(seen.windows(2).all(|w| w[0] == w[1]));
    assert!(seen[0].iter().any(|&b| b != 0));
}

/// What a [`vasi::DirectWrite`] stdout saw: each range, and its bytes.
#[derive(Default)]
struct Direct {
    ranges: Vec<(u32, u32)>,
    bytes: Vec<u8>,
}

/// A direct writer that takes at most `limit` bytes a call, and fails its
/// `fail_at`th call (counting from 0).
struct DirectOut {
    seen: Arc<std::sync::Mutex<Direct>>,
    limit: u32,
    fail_at: Option<usize>,
}

impl vasi::DirectWrite for DirectOut {
    fn write_direct(&mut self, mem: &GuestMemory<'_>, ptr: u32, len: u32) -> Result<usize, Error> {
        let mut seen = self.seen.lock().unwrap();
        if self.fail_at == Some(seen.ranges.len()) {
            return Err(Error::Errno(Errno::Pipe));
        }
        seen.ranges.push((ptr, len));
        let n = len.min(self.limit);
        mem.drain(ptr, n, vasi::Pieces::UntilShort, |b| {
            seen.bytes.extend_from_slice(b);
            Ok(b.len())
        })
    }
}

/// A context whose stdout is a [`DirectOut`], over a memory of `kind`.
fn direct_env(
    kind: MemKind,
    limit: u32,
    fail_at: Option<usize>,
) -> (Env, Arc<std::sync::Mutex<Direct>>) {
    let seen = Arc::new(std::sync::Mutex::new(Direct::default()));
    let out = DirectOut {
        seen: seen.clone(),
        limit,
        fail_at,
    };
    let ctx = WasiCtxBuilder::new().stdout_direct(out).build().unwrap();
    let env = Env::from_ctx(ctx, 1 << 16, kind);
    (env, seen)
}

#[test]
fn direct_writers_get_guest_ranges_on_every_memory() {
    for kind in [MemKind::Slice, MemKind::Copying, MemKind::Shared] {
        let run = |limit: u32, fail_at: Option<usize>, count: u32| {
            let (mut env, seen) = direct_env(kind, limit, fail_at);
            // Three iovecs: "hello", an empty one, "world!".
            let iov = 256u32;
            env.put(BUF, b"hello");
            env.put(BUF + 100, b"world!");
            for (i, (p, l)) in [(BUF, 5u32), (BUF + 50, 0), (BUF + 100, 6)]
                .into_iter()
                .enumerate()
            {
                env.put(iov + 8 * i as u32, &p.to_le_bytes());
                env.put(iov + 8 * i as u32 + 4, &l.to_le_bytes());
            }
            let r = env.call(|c, m| p1::fd_write(c, m, 1, iov, count, OUT));
            let n = env.u32_at(OUT);
            let seen = std::mem::take(&mut *seen.lock().unwrap());
            (r, n, seen)
        };
        // Whole: every non-empty buffer, as its own range.
        let (r, n, seen) = run(u32::MAX, None, 3);
        assert_eq!((r, n), (Ok(()), 11), "{kind:?}");
        assert_eq!(seen.ranges, [(BUF, 5), (BUF + 100, 6)], "{kind:?}");
        assert_eq!(seen.bytes, b"helloworld!", "{kind:?}");
        // A short write ends the call with what it took.
        let (r, n, seen) = run(3, None, 3);
        assert_eq!((r, n, seen.ranges.len()), (Ok(()), 3, 1), "{kind:?}");
        assert_eq!(seen.bytes, b"hel", "{kind:?}");
        // An error after some bytes: the count so far; before any: the error.
        let (r, n, _) = run(u32::MAX, Some(1), 3);
        assert_eq!((r, n), (Ok(()), 5), "{kind:?}");
        let (r, _, seen) = run(u32::MAX, Some(0), 3);
        assert_eq!(r, Err(Errno::Pipe), "{kind:?}");
        assert!(seen.bytes.is_empty());
    }
    // A buffer out of bounds traps before the writer sees anything.
    let (mut env, seen) = direct_env(MemKind::Slice, u32::MAX, None);
    env.put(256, &BUF.to_le_bytes());
    env.put(260, &5u32.to_le_bytes());
    env.put(264, &0xffff_0000u32.to_le_bytes());
    env.put(268, &5u32.to_le_bytes());
    let mut mem = std::mem::take(&mut env.mem);
    let r = p1::fd_write(
        &mut env.ctx,
        &mut GuestMemory::new(&mut mem),
        1,
        256,
        2,
        OUT,
    );
    assert!(matches!(r, Err(Error::Trap(_))), "{r:?}");
    assert!(seen.lock().unwrap().ranges.is_empty());
}

#[test]
fn a_mount_without_a_descriptor_hides_what_is_below_it() {
    let outer = MemFs::new();
    outer.write("proc/self/environ", b"SECRET=1").unwrap();
    outer.write("file", b"x").unwrap();
    let empty = MemFs::new();
    let ctx = WasiCtxBuilder::new()
        .preopen_dir(outer.root(), "/sandbox")
        .mount_dir(
            Arc::new(vasi::vfs::ReadOnly::new(empty.root())),
            "/sandbox/proc",
        )
        .build()
        .unwrap();
    let mut env = Env::from_ctx(ctx, 1 << 16, MemKind::Slice);
    // Not a preopen: fd 4 does not exist.
    assert_eq!(
        env.call(|c, m| p1::fd_prestat_get(c, m, 4, OUT)),
        Err(Errno::Badf)
    );
    // Walking into it reaches the (empty, read-only) mount, not the outer files.
    assert_eq!(env.stat(SANDBOX, "proc", false), Ok(filetype::DIRECTORY));
    assert_eq!(
        env.stat(SANDBOX, "proc/self/environ", false),
        Err(Errno::Noent)
    );
    assert_eq!(
        env.open(SANDBOX, "proc/new", oflags::CREAT, false),
        Err(Errno::Rofs)
    );
    assert_eq!(env.stat(SANDBOX, "file", false), Ok(filetype::REGULAR_FILE));
    // A mount point, as any: not removable.
    let len = env.put(PATH, b"proc");
    let r = env.call(|c, m| p1::path_remove_directory(c, m, SANDBOX, PATH, len));
    assert_eq!(r, Err(Errno::Busy));
}
