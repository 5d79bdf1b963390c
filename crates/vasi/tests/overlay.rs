//! `Overlay` and `ReadOnly` driven through the hostcalls, as a guest would:
//! copy-up, whiteouts, opaque directories, merged listings and their cookies,
//! and proof that the lower layer is never written, byte for byte.

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt as _;
use std::path::Path;
use std::sync::Arc;
use vasi::p1::abi::{filetype, fstflags, lookupflags, oflags, rights};
use vasi::vfs::{Dir, HostDir, MemFs, Node, OpenOptions, Overlay, ReadOnly};
use vasi::{p1, Errno, Error, GuestMemory, WasiCtx, WasiCtxBuilder};

const ROOT: u32 = 3;
const PATH: u32 = 1024;
const PATH2: u32 = 4096;
const OUT: u32 = 64;
const IOV: u32 = 128;
const BUF: u32 = 8192;
const DATA: u32 = 32768;

/// A guest's view: one preopen (fd 3) over a byte-vector memory.
struct Env {
    ctx: WasiCtx,
    mem: Vec<u8>,
}

/// The parts of a `filestat` the tests look at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileStat {
    dev: u64,
    ino: u64,
    filetype: u8,
    nlink: u64,
    size: u64,
    mtim: u64,
}

impl Env {
    fn new(dir: Arc<dyn Dir>) -> Self {
        let ctx = WasiCtxBuilder::new().preopen_dir(dir, "/").build().unwrap();
        Env {
            ctx,
            mem: vec![0; 1 << 17],
        }
    }

    fn call(
        &mut self,
        f: impl FnOnce(&mut WasiCtx, &mut GuestMemory<'_>) -> Result<(), Error>,
    ) -> Result<(), Errno> {
        let mut mem = GuestMemory::new(&mut self.mem);
        match f(&mut self.ctx, &mut mem) {
            Ok(()) => Ok(()),
            Err(Error::Errno(e)) => Err(e),
            Err(e) => panic!("unexpected {e:?}"),
        }
    }

    fn put(&mut self, at: u32, bytes: &[u8]) -> u32 {
        self.mem[at as usize..at as usize + bytes.len()].copy_from_slice(bytes);
        bytes.len() as u32
    }

    fn u32_at(&self, at: u32) -> u32 {
        u32::from_le_bytes(self.mem[at as usize..at as usize + 4].try_into().unwrap())
    }

    fn u64_at(&self, at: u32) -> u64 {
        u64::from_le_bytes(self.mem[at as usize..at as usize + 8].try_into().unwrap())
    }

    fn open_with(&mut self, dirfd: u32, path: &str, o: u16, rights: u64) -> Result<u32, Errno> {
        let len = self.put(PATH, path.as_bytes());
        self.call(|c, m| p1::path_open(c, m, dirfd, 0, PATH, len, o.into(), rights, 0, 0, OUT))?;
        Ok(self.u32_at(OUT))
    }

    fn open_following(&mut self, path: &str, rights: u64) -> Result<u32, Errno> {
        let len = self.put(PATH, path.as_bytes());
        let follow = lookupflags::SYMLINK_FOLLOW;
        self.call(|c, m| p1::path_open(c, m, ROOT, follow, PATH, len, 0, rights, 0, 0, OUT))?;
        Ok(self.u32_at(OUT))
    }

    fn open_dir(&mut self, path: &str) -> Result<u32, Errno> {
        self.open_with(
            ROOT,
            path,
            oflags::DIRECTORY,
            rights::DIRECTORY | rights::FD_READ,
        )
    }

    fn close(&mut self, fd: u32) {
        self.call(|c, m| p1::fd_close(c, m, fd)).unwrap();
    }

    /// Writes `bytes` at the fd's position.
    fn write_fd(&mut self, fd: u32, bytes: &[u8]) -> Result<(), Errno> {
        let n = self.put(DATA, bytes);
        self.put(IOV, &DATA.to_le_bytes());
        self.put(IOV + 4, &n.to_le_bytes());
        self.call(|c, m| p1::fd_write(c, m, fd, IOV, 1, OUT))?;
        assert_eq!(self.u32_at(OUT), n);
        Ok(())
    }

    fn pwrite(&mut self, fd: u32, bytes: &[u8], offset: u64) -> Result<(), Errno> {
        let n = self.put(DATA, bytes);
        self.put(IOV, &DATA.to_le_bytes());
        self.put(IOV + 4, &n.to_le_bytes());
        self.call(|c, m| p1::fd_pwrite(c, m, fd, IOV, 1, offset, OUT))
    }

    /// Reads what is left from the fd's position.
    fn read_fd(&mut self, fd: u32) -> Result<Vec<u8>, Errno> {
        let mut out = Vec::new();
        loop {
            self.put(IOV, &DATA.to_le_bytes());
            self.put(IOV + 4, &4096u32.to_le_bytes());
            self.call(|c, m| p1::fd_read(c, m, fd, IOV, 1, OUT))?;
            let n = self.u32_at(OUT) as usize;
            if n == 0 {
                return Ok(out);
            }
            out.extend_from_slice(&self.mem[DATA as usize..DATA as usize + n]);
        }
    }

    fn pread_all(&mut self, fd: u32) -> Result<Vec<u8>, Errno> {
        self.put(IOV, &DATA.to_le_bytes());
        self.put(IOV + 4, &4096u32.to_le_bytes());
        self.call(|c, m| p1::fd_pread(c, m, fd, IOV, 1, 0, OUT))?;
        let n = self.u32_at(OUT) as usize;
        Ok(self.mem[DATA as usize..DATA as usize + n].to_vec())
    }

    /// Creates or replaces `path` with `bytes`.
    fn write(&mut self, path: &str, bytes: &[u8]) -> Result<(), Errno> {
        let fd = self.open_with(
            ROOT,
            path,
            oflags::CREAT | oflags::TRUNC,
            rights::FILE_READ | rights::FILE_WRITE,
        )?;
        let r = self.write_fd(fd, bytes);
        self.close(fd);
        r
    }

    /// Reads all of `path`, following symlinks.
    fn read(&mut self, path: &str) -> Result<Vec<u8>, Errno> {
        let fd = self.open_following(path, rights::FILE_READ)?;
        let r = self.read_fd(fd);
        self.close(fd);
        r
    }

    fn stat(&mut self, path: &str) -> Result<FileStat, Errno> {
        let len = self.put(PATH, path.as_bytes());
        self.call(|c, m| p1::path_filestat_get(c, m, ROOT, 0, PATH, len, BUF))?;
        Ok(self.filestat_at(BUF))
    }

    fn fstat(&mut self, fd: u32) -> Result<FileStat, Errno> {
        self.call(|c, m| p1::fd_filestat_get(c, m, fd, BUF))?;
        Ok(self.filestat_at(BUF))
    }

    fn filestat_at(&self, at: u32) -> FileStat {
        FileStat {
            dev: self.u64_at(at),
            ino: self.u64_at(at + 8),
            filetype: self.mem[at as usize + 16],
            nlink: self.u64_at(at + 24),
            size: self.u64_at(at + 32),
            mtim: self.u64_at(at + 48),
        }
    }

    fn mkdir(&mut self, path: &str) -> Result<(), Errno> {
        let len = self.put(PATH, path.as_bytes());
        self.call(|c, m| p1::path_create_directory(c, m, ROOT, PATH, len))
    }

    fn rmdir(&mut self, path: &str) -> Result<(), Errno> {
        let len = self.put(PATH, path.as_bytes());
        self.call(|c, m| p1::path_remove_directory(c, m, ROOT, PATH, len))
    }

    fn unlink(&mut self, path: &str) -> Result<(), Errno> {
        let len = self.put(PATH, path.as_bytes());
        self.call(|c, m| p1::path_unlink_file(c, m, ROOT, PATH, len))
    }

    fn rename(&mut self, from: &str, to: &str) -> Result<(), Errno> {
        let l1 = self.put(PATH, from.as_bytes());
        let l2 = self.put(PATH2, to.as_bytes());
        self.call(|c, m| p1::path_rename(c, m, ROOT, PATH, l1, ROOT, PATH2, l2))
    }

    fn link(&mut self, from: &str, to: &str) -> Result<(), Errno> {
        let l1 = self.put(PATH, from.as_bytes());
        let l2 = self.put(PATH2, to.as_bytes());
        self.call(|c, m| p1::path_link(c, m, ROOT, 0, PATH, l1, ROOT, PATH2, l2))
    }

    fn symlink(&mut self, target: &str, path: &str) -> Result<(), Errno> {
        let tlen = self.put(PATH2, target.as_bytes());
        let len = self.put(PATH, path.as_bytes());
        self.call(|c, m| p1::path_symlink(c, m, PATH2, tlen, ROOT, PATH, len))
    }

    fn readlink(&mut self, path: &str) -> Result<String, Errno> {
        let len = self.put(PATH, path.as_bytes());
        self.call(|c, m| p1::path_readlink(c, m, ROOT, PATH, len, BUF, 256, OUT))?;
        let n = self.u32_at(OUT) as usize;
        Ok(String::from_utf8(self.mem[BUF as usize..BUF as usize + n].to_vec()).unwrap())
    }

    fn set_mtime(&mut self, path: &str, mtim: u64) -> Result<(), Errno> {
        let len = self.put(PATH, path.as_bytes());
        let flags = fstflags::MTIM.into();
        self.call(|c, m| p1::path_filestat_set_times(c, m, ROOT, 0, PATH, len, 0, mtim, flags))
    }

    /// One `fd_readdir` call from `cookie`: the whole records (name, d_ino,
    /// d_type, d_next) and whether the buffer was full.
    fn readdir_page(
        &mut self,
        fd: u32,
        buf_len: u32,
        cookie: u64,
    ) -> (Vec<(String, u64, u8, u64)>, bool) {
        self.call(|c, m| p1::fd_readdir(c, m, fd, BUF, buf_len, cookie, OUT))
            .unwrap();
        let used = self.u32_at(OUT) as usize;
        let buf = &self.mem[BUF as usize..BUF as usize + used];
        let mut out = Vec::new();
        let mut at = 0;
        while at + 24 <= used {
            let next = u64::from_le_bytes(buf[at..at + 8].try_into().unwrap());
            let ino = u64::from_le_bytes(buf[at + 8..at + 16].try_into().unwrap());
            let namlen = u32::from_le_bytes(buf[at + 16..at + 20].try_into().unwrap()) as usize;
            let kind = buf[at + 20];
            if at + 24 + namlen > used {
                break;
            }
            let name = String::from_utf8(buf[at + 24..at + 24 + namlen].to_vec()).unwrap();
            out.push((name, ino, kind, next));
            at += 24 + namlen;
        }
        (out, used == buf_len as usize)
    }

    /// Lists `fd` from the start in pages of `buf_len` bytes, resuming as
    /// wasi-libc does, and calling `between` after each page with the names so
    /// far; returns the names (without `.` and `..`) with their d_ino, d_type
    /// and d_next.
    fn list_with(
        &mut self,
        fd: u32,
        buf_len: u32,
        mut between: impl FnMut(&mut Env, &[String]),
    ) -> Vec<(String, u64, u8, u64)> {
        let mut all = Vec::new();
        let mut names = Vec::new();
        let mut cookie = 0;
        loop {
            let (page, full) = self.readdir_page(fd, buf_len, cookie);
            assert!(!full || !page.is_empty(), "{buf_len} bytes hold no record");
            for e in page {
                cookie = e.3;
                if e.0 != "." && e.0 != ".." {
                    names.push(e.0.clone());
                    all.push(e);
                }
            }
            if !full {
                return all;
            }
            between(self, &names);
        }
    }

    fn list(&mut self, path: &str, buf_len: u32) -> Vec<String> {
        let fd = self.open_dir(path).unwrap();
        let names = self
            .list_with(fd, buf_len, |_, _| {})
            .into_iter()
            .map(|e| e.0)
            .collect();
        self.close(fd);
        names
    }
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

fn strs(v: &[&str]) -> Vec<String> {
    sorted(v.iter().map(|s| s.to_string()).collect())
}

/// The lower tree every scenario starts from.
const FILES: &[(&str, &str)] = &[
    ("keep.txt", "unchanged"),
    ("rewrite.txt", "old contents, longer than the new ones"),
    ("patch.txt", "0123456789"),
    ("move-me.txt", "moving"),
    ("delete-me.txt", "bye"),
    ("dir/a.txt", "a"),
    ("dir/b.txt", "b"),
    ("dir/sub/c.txt", "c"),
    ("tree/x.txt", "x"),
    ("tree/deep/y.txt", "y"),
    ("linked.txt", "hard"),
];

/// Lower layers: a host directory or a MemFs, filled with `FILES`, a symlink
/// `link -> keep.txt`, and `extra` more files.
enum Lower {
    Host(tempfile::TempDir),
    Mem(MemFs),
}

impl Lower {
    fn host(extra: &[(&str, &str)]) -> Self {
        let tmp = tempfile::tempdir().unwrap();
        for (path, contents) in FILES.iter().chain(extra) {
            let p = tmp.path().join(path);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, contents).unwrap();
        }
        std::os::unix::fs::symlink("keep.txt", tmp.path().join("link")).unwrap();
        Lower::Host(tmp)
    }

    fn mem(extra: &[(&str, &str)]) -> Self {
        let fs = MemFs::new();
        for (path, contents) in FILES.iter().chain(extra) {
            fs.write(path, contents.as_bytes()).unwrap();
        }
        fs.root().symlink("keep.txt", "link").unwrap();
        Lower::Mem(fs)
    }

    fn dir(&self) -> Arc<dyn Dir> {
        match self {
            Lower::Host(tmp) => Arc::new(HostDir::open_ambient(tmp.path()).unwrap()),
            Lower::Mem(fs) => fs.root(),
        }
    }

    /// Everything observable about the tree: per path, its type, contents (or
    /// link target), size, inode and modification time.
    fn snapshot(&self) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        match self {
            Lower::Host(tmp) => host_snapshot(tmp.path(), "", &mut out),
            Lower::Mem(fs) => dir_snapshot(&*fs.root(), "", &mut out),
        }
        out
    }
}

fn host_snapshot(dir: &Path, prefix: &str, out: &mut BTreeMap<String, String>) {
    let md = std::fs::symlink_metadata(dir).unwrap();
    out.insert(
        format!("{prefix}/"),
        format!(
            "dir ino={} mtime={}.{}",
            md.ino(),
            md.mtime(),
            md.mtime_nsec()
        ),
    );
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().into_string().unwrap();
        let path = entry.path();
        let rel = format!("{prefix}/{name}");
        let md = std::fs::symlink_metadata(&path).unwrap();
        let stamp = format!(
            "ino={} size={} nlink={} mtime={}.{}",
            md.ino(),
            md.len(),
            md.nlink(),
            md.mtime(),
            md.mtime_nsec()
        );
        if md.is_dir() {
            host_snapshot(&path, &rel, out);
        } else if md.file_type().is_symlink() {
            let target = std::fs::read_link(&path).unwrap();
            out.insert(rel, format!("link {} {stamp}", target.display()));
        } else {
            let bytes = std::fs::read(&path).unwrap();
            out.insert(rel, format!("file {bytes:?} {stamp}"));
        }
    }
}

fn dir_snapshot(dir: &dyn Dir, prefix: &str, out: &mut BTreeMap<String, String>) {
    out.insert(
        format!("{prefix}/"),
        format!("dir {:?}", dir.stat().unwrap()),
    );
    let mut it = dir.entries(0).unwrap();
    while let Some(entry) = it.next_entry() {
        let name = entry.unwrap().name;
        let rel = format!("{prefix}/{name}");
        let st = dir.stat_at(&name).unwrap();
        match dir.open(&name, &OpenOptions::default()) {
            Ok(Node::Dir(d)) => dir_snapshot(&*d, &rel, out),
            Ok(Node::File(f)) => {
                let mut buf = vec![0; st.size as usize];
                assert_eq!(f.read_at(&mut buf, 0).unwrap(), buf.len());
                out.insert(rel, format!("file {buf:?} {st:?}"));
            }
            Err(Errno::Loop) => {
                let target = dir.read_link(&name).unwrap();
                out.insert(rel, format!("link {target} {st:?}"));
            }
            Err(e) => panic!("{rel}: {e:?}"),
        }
    }
}

/// The guest-level scenario of the brief, on one lower layer.
fn rewrite_rename_delete_create(lower: Lower) {
    let before = lower.snapshot();
    let upper = MemFs::new();
    let overlay = Overlay::new(upper.root(), lower.dir());
    let mut env = Env::new(Arc::new(overlay));

    // A lower file opened for reading before it is rewritten.
    let early = env
        .open_with(ROOT, "rewrite.txt", 0, rights::FILE_READ)
        .unwrap();
    let early_ino = env.fstat(early).unwrap().ino;
    assert_eq!(env.stat("rewrite.txt").unwrap().ino, early_ino);

    // Rewrite one lower file, patch another in the middle.
    env.write("rewrite.txt", b"new").unwrap();
    let fd = env
        .open_with(ROOT, "patch.txt", 0, rights::FILE_READ | rights::FILE_WRITE)
        .unwrap();
    env.pwrite(fd, b"AB", 3).unwrap();
    env.close(fd);
    assert_eq!(
        env.pread_all(early).unwrap(),
        b"new",
        "an open read handle follows the copy-up"
    );
    env.close(early);

    // Rename one into a new directory, delete another.
    env.mkdir("new-dir").unwrap();
    env.write("new-dir/new.txt", b"fresh").unwrap();
    env.rename("move-me.txt", "new-dir/moved.txt").unwrap();
    env.unlink("delete-me.txt").unwrap();

    // Delete a lower directory: not while it has entries, in either layer.
    env.write("dir/sub/upper-only.txt", b"u").unwrap();
    assert_eq!(env.rmdir("dir"), Err(Errno::Notempty));
    assert_eq!(env.rmdir("dir/sub"), Err(Errno::Notempty));
    env.unlink("dir/sub/c.txt").unwrap();
    assert_eq!(env.rmdir("dir/sub"), Err(Errno::Notempty));
    env.unlink("dir/sub/upper-only.txt").unwrap();
    env.rmdir("dir/sub").unwrap();
    env.unlink("dir/a.txt").unwrap();
    env.unlink("dir/b.txt").unwrap();
    assert_eq!(env.list("dir", 4096), Vec::<String>::new());
    env.rmdir("dir").unwrap();

    // Rename a lower directory with its subtree.
    env.rename("tree", "tree2").unwrap();
    // Hard-link a lower file.
    env.link("linked.txt", "new-dir/linked-too.txt").unwrap();

    // Contents.
    assert_eq!(env.read("keep.txt").unwrap(), b"unchanged");
    assert_eq!(
        env.read("link").unwrap(),
        b"unchanged",
        "through the lower symlink"
    );
    assert_eq!(env.readlink("link").unwrap(), "keep.txt");
    assert_eq!(env.read("rewrite.txt").unwrap(), b"new");
    assert_eq!(env.read("patch.txt").unwrap(), b"012AB56789");
    assert_eq!(env.read("new-dir/new.txt").unwrap(), b"fresh");
    assert_eq!(env.read("new-dir/moved.txt").unwrap(), b"moving");
    assert_eq!(env.read("new-dir/linked-too.txt").unwrap(), b"hard");
    assert_eq!(env.read("tree2/x.txt").unwrap(), b"x");
    assert_eq!(env.read("tree2/deep/y.txt").unwrap(), b"y");
    assert_eq!(
        env.stat("linked.txt").unwrap().nlink,
        2,
        "linked to its copy"
    );

    // Gone.
    for path in [
        "move-me.txt",
        "delete-me.txt",
        "dir",
        "dir/a.txt",
        "dir/sub/c.txt",
        "tree",
        "tree/x.txt",
    ] {
        assert_eq!(env.stat(path).err(), Some(Errno::Noent), "{path}");
        assert_eq!(env.read(path).err(), Some(Errno::Noent), "{path}");
    }

    // Listings: each name once.
    let expected_root = strs(&[
        "keep.txt",
        "rewrite.txt",
        "patch.txt",
        "new-dir",
        "tree2",
        "link",
        "linked.txt",
    ]);
    for buf_len in [40, 64, 4096] {
        assert_eq!(
            sorted(env.list(".", buf_len)),
            expected_root,
            "page {buf_len}"
        );
    }
    assert_eq!(
        sorted(env.list("new-dir", 64)),
        strs(&["new.txt", "moved.txt", "linked-too.txt"])
    );
    assert_eq!(sorted(env.list("tree2", 64)), strs(&["x.txt", "deep"]));

    // A directory created where a lower one was deleted starts empty.
    env.mkdir("dir").unwrap();
    assert_eq!(env.list("dir", 4096), Vec::<String>::new());
    assert_eq!(env.stat("dir/a.txt").err(), Some(Errno::Noent));
    assert_eq!(env.read("dir/sub/c.txt").err(), Some(Errno::Noent));
    env.write("delete-me.txt", b"again").unwrap();
    assert_eq!(env.read("delete-me.txt").unwrap(), b"again");

    // The changes live in the upper layer, and only they.
    assert_eq!(upper.read("rewrite.txt").unwrap(), b"new");
    assert_eq!(upper.read("tree2/deep/y.txt").unwrap(), b"y");
    assert_eq!(
        upper.read("keep.txt").err(),
        Some(Errno::Noent),
        "never copied"
    );
    // The lower layer: byte for byte, inode for inode, time for time.
    assert_eq!(lower.snapshot(), before);
}

#[test]
fn scenario_over_host_dir() {
    rewrite_rename_delete_create(Lower::host(&[]));
}

#[test]
fn scenario_over_memfs() {
    rewrite_rename_delete_create(Lower::mem(&[]));
}

fn big_lower(host: bool) -> Lower {
    let names: Vec<(String, String)> = (0..40)
        .map(|i| (format!("big/lower-entry-{i:02}"), format!("{i}")))
        .collect();
    let extra: Vec<(&str, &str)> = names
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    if host {
        Lower::host(&extra)
    } else {
        Lower::mem(&extra)
    }
}

/// Upper-only names, copied-up names, replaced and deleted ones, listed with
/// small pages: every name exactly once, with cookies that resume anywhere.
fn readdir_across_layers(lower: Lower) {
    let before = lower.snapshot();
    let mut env = Env::new(Arc::new(Overlay::new(MemFs::new().root(), lower.dir())));
    for i in 0..30 {
        env.write(&format!("big/upper-entry-{i:02}"), b"").unwrap();
    }
    for i in [0, 7, 39] {
        env.write(&format!("big/lower-entry-{i:02}"), b"rewritten")
            .unwrap();
    }
    for i in [3, 4, 20] {
        env.unlink(&format!("big/lower-entry-{i:02}")).unwrap();
    }
    env.unlink("big/lower-entry-5").unwrap_err();
    env.unlink("big/lower-entry-05").unwrap();
    env.mkdir("big/lower-entry-05").unwrap(); // a directory over a whiteout
    let mut expected: Vec<String> = (0..30).map(|i| format!("upper-entry-{i:02}")).collect();
    expected.extend(
        (0..40)
            .filter(|i| ![3, 4, 20].contains(i))
            .map(|i| format!("lower-entry-{i:02}")),
    );
    let expected = sorted(expected);

    let fd = env.open_dir("big").unwrap();
    for buf_len in [40, 48, 64, 100, 4096] {
        let entries = env.list_with(fd, buf_len, |_, _| {});
        let names = sorted(entries.iter().map(|e| e.0.clone()).collect());
        assert_eq!(names, expected, "page {buf_len}");
    }

    // Each entry's d_ino and d_type are those of path_filestat_get.
    let entries = env.list_with(fd, 4096, |_, _| {});
    for (name, ino, kind, _) in &entries {
        let st = env.stat(&format!("big/{name}")).unwrap();
        assert_eq!((st.ino, st.filetype), (*ino, *kind), "{name}");
    }
    let dir_entry = entries.iter().find(|e| e.0 == "lower-entry-05").unwrap();
    assert_eq!(dir_entry.2, filetype::DIRECTORY);

    // Resuming from any entry's cookie, on a fresh descriptor (so a fresh
    // listing), gives exactly the rest.
    for k in 0..entries.len() {
        let fresh = env.open_dir("big").unwrap();
        let mut rest = Vec::new();
        let mut cookie = entries[k].3;
        loop {
            let (page, full) = env.readdir_page(fresh, 100, cookie);
            for e in page {
                cookie = e.3;
                rest.push(e.0);
            }
            if !full {
                break;
            }
        }
        env.close(fresh);
        let want: Vec<String> = entries[k + 1..].iter().map(|e| e.0.clone()).collect();
        assert_eq!(rest, want, "resuming after entry {k}");
    }
    env.close(fd);
    assert_eq!(lower.snapshot(), before);
}

#[test]
fn readdir_across_layers_over_host_dir() {
    readdir_across_layers(big_lower(true));
}

#[test]
fn readdir_across_layers_over_memfs() {
    readdir_across_layers(big_lower(false));
}

/// Copying up and deleting entries while a listing is under way (as `rm -r`
/// or a tool touching every file does) neither repeats nor skips a name that
/// stays.
fn readdir_while_changing(lower: Lower) {
    let mut env = Env::new(Arc::new(Overlay::new(MemFs::new().root(), lower.dir())));
    for i in 0..10 {
        env.write(&format!("big/upper-entry-{i:02}"), b"").unwrap();
    }
    let fd = env.open_dir("big").unwrap();
    let mut deleted = Vec::new();
    let (mut pages, mut copied_while_listing_lower) = (0, 0);
    let entries = env.list_with(fd, 64, |env, seen| {
        pages += 1;
        let listing_lower = seen.iter().any(|n| n.starts_with("lower"));
        let pending = (0..40)
            .map(|i| format!("lower-entry-{i:02}"))
            .filter(|n| !seen.contains(n) && !deleted.contains(n))
            .collect::<Vec<_>>();
        // Copy up a lower entry not listed yet (not the next one: the core may
        // already hold that one, fetched for a page it did not fit in).
        if let Some(name) = pending.get(pending.len() / 2) {
            env.write(&format!("big/{name}"), b"copied up").unwrap();
            copied_while_listing_lower += usize::from(listing_lower);
        }
        // Touch (so copy up) the last one listed. A deleted name may still be
        // listed, for the same reason, as POSIX allows: skip those.
        let listed = seen
            .iter()
            .rev()
            .find(|n| n.starts_with("lower") && !deleted.contains(n));
        if let Some(name) = listed {
            env.set_mtime(&format!("big/{name}"), 1_000_000_000)
                .unwrap();
        }
        // Now and then, delete one not listed yet.
        if pages % 4 == 0 {
            if let Some(name) = pending.last() {
                env.unlink(&format!("big/{name}")).unwrap();
                deleted.push(name.clone());
            }
        }
    });
    assert!(
        copied_while_listing_lower >= 5,
        "{copied_while_listing_lower}"
    );
    assert!(!deleted.is_empty());
    let names: Vec<String> = entries.into_iter().map(|e| e.0).collect();
    let mut unique = names.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), names.len(), "a name listed twice: {names:?}");
    for i in 0..40 {
        let name = format!("lower-entry-{i:02}");
        if !deleted.contains(&name) {
            assert!(names.contains(&name), "{name} was skipped: {names:?}");
        }
    }
    for i in 0..10 {
        let name = format!("upper-entry-{i:02}");
        assert!(names.contains(&name), "{name} was skipped");
    }
}

#[test]
fn readdir_while_changing_over_host_dir() {
    readdir_while_changing(big_lower(true));
}

#[test]
fn readdir_while_changing_over_memfs() {
    readdir_while_changing(big_lower(false));
}

/// Errno rules, judged on the merged view, for sources in the lower layer.
fn errnos_on_the_merged_view(lower: Lower) {
    let before = lower.snapshot();
    let mut env = Env::new(Arc::new(Overlay::new(MemFs::new().root(), lower.dir())));
    assert_eq!(env.mkdir("dir"), Err(Errno::Exist));
    assert_eq!(env.mkdir("keep.txt"), Err(Errno::Exist));
    assert_eq!(env.symlink("x", "keep.txt"), Err(Errno::Exist));
    assert_eq!(env.link("keep.txt", "patch.txt"), Err(Errno::Exist));
    assert_eq!(env.link("dir", "dir-link"), Err(Errno::Perm));
    assert_eq!(env.unlink("dir"), Err(Errno::Isdir));
    assert_eq!(env.rmdir("keep.txt"), Err(Errno::Notdir));
    assert_eq!(env.rmdir("missing"), Err(Errno::Noent));
    assert_eq!(env.unlink("missing"), Err(Errno::Noent));
    assert_eq!(env.rename("missing", "x"), Err(Errno::Noent));
    assert_eq!(env.rename("keep.txt", "dir"), Err(Errno::Isdir));
    assert_eq!(env.rename("dir", "keep.txt"), Err(Errno::Notdir));
    assert_eq!(env.rename("tree", "dir"), Err(Errno::Notempty));
    assert_eq!(env.rename("tree", "tree/deep/inside"), Err(Errno::Inval));
    assert_eq!(env.rename("tree", "tree"), Ok(()));
    assert_eq!(
        env.open_with(
            ROOT,
            "keep.txt",
            oflags::CREAT | oflags::EXCL,
            rights::FILE_WRITE
        ),
        Err(Errno::Exist)
    );
    assert_eq!(
        env.open_with(ROOT, "dir", 0, rights::FILE_WRITE),
        Err(Errno::Isdir)
    );
    assert_eq!(
        env.open_with(ROOT, "keep.txt", oflags::DIRECTORY, rights::DIRECTORY),
        Err(Errno::Notdir)
    );
    assert_eq!(
        env.open_with(ROOT, "link", 0, rights::FILE_WRITE),
        Err(Errno::Loop)
    );
    // Following a lower symlink to write copies its target up.
    let fd = env
        .open_following("link", rights::FILE_READ | rights::FILE_WRITE)
        .unwrap();
    env.write_fd(fd, b"UN").unwrap();
    env.close(fd);
    assert_eq!(env.read("keep.txt").unwrap(), b"UNchanged");
    assert_eq!(env.readlink("link").unwrap(), "keep.txt");
    // A directory emptied in the merged view may replace another.
    for f in ["dir/a.txt", "dir/b.txt", "dir/sub/c.txt"] {
        env.unlink(f).unwrap();
    }
    env.rmdir("dir/sub").unwrap();
    env.rename("tree", "dir").unwrap();
    assert_eq!(sorted(env.list("dir", 4096)), strs(&["x.txt", "deep"]));
    // Renaming over a lower file replaces it.
    env.rename("patch.txt", "keep.txt").unwrap();
    assert_eq!(env.read("keep.txt").unwrap(), b"0123456789");
    assert_eq!(env.stat("patch.txt").err(), Some(Errno::Noent));
    if let Lower::Host(tmp) = &lower {
        if tmp.path().join("hard-link.txt").exists() {
            // Two names of one lower file: renaming one onto the other does
            // nothing, as POSIX says.
            let a = env.stat("linked.txt").unwrap();
            assert_eq!(env.stat("hard-link.txt").unwrap(), a);
            assert_eq!(a.nlink, 2);
            env.rename("linked.txt", "hard-link.txt").unwrap();
            assert_eq!(env.read("linked.txt").unwrap(), b"hard");
            assert_eq!(env.read("hard-link.txt").unwrap(), b"hard");
        }
    }
    assert_eq!(lower.snapshot(), before);
}

#[test]
fn errnos_over_host_dir() {
    let lower = Lower::host(&[]);
    if let Lower::Host(tmp) = &lower {
        std::fs::hard_link(
            tmp.path().join("linked.txt"),
            tmp.path().join("hard-link.txt"),
        )
        .unwrap();
    }
    errnos_on_the_merged_view(lower);
}

#[test]
fn errnos_over_memfs() {
    errnos_on_the_merged_view(Lower::mem(&[]));
}

#[test]
fn inode_numbers_are_stable_until_copy_up() {
    let lower = Lower::host(&[]);
    let mut env = Env::new(Arc::new(Overlay::new(MemFs::new().root(), lower.dir())));
    let a = env.stat("keep.txt").unwrap();
    let b = env.stat("keep.txt").unwrap();
    assert_eq!(a, b);
    let root = env.stat(".").unwrap();
    assert_eq!(a.dev, root.dev, "one device for the whole overlay");
    let others: Vec<FileStat> = ["patch.txt", "dir", "dir/a.txt", "tree", "new-upper"]
        .iter()
        .map(|p| {
            if *p == "new-upper" {
                env.write(p, b"").unwrap();
            }
            env.stat(p).unwrap()
        })
        .collect();
    let mut inos: Vec<u64> = others.iter().map(|s| s.ino).collect();
    inos.extend([a.ino, root.ino]);
    inos.sort();
    inos.dedup();
    assert_eq!(
        inos.len(),
        others.len() + 2,
        "no two objects share an inode"
    );
    // Reading never changes it; copying up does (to the upper copy's).
    env.read("keep.txt").unwrap();
    assert_eq!(env.stat("keep.txt").unwrap().ino, a.ino);
    env.set_mtime("keep.txt", 5_000_000_000).unwrap();
    let up = env.stat("keep.txt").unwrap();
    assert_ne!(up.ino, a.ino);
    assert_eq!((up.size, up.mtim), (a.size, 5_000_000_000));
    assert_eq!(env.stat("keep.txt").unwrap().ino, up.ino, "stable again");
}

#[test]
fn copy_up_keeps_times_and_merged_dirs_report_one_link() {
    let lower = Lower::mem(&[]);
    let mut env = Env::new(Arc::new(Overlay::new(MemFs::new().root(), lower.dir())));
    let dir_before = env.stat("dir").unwrap();
    let file_before = env.stat("dir/a.txt").unwrap();
    assert_eq!(dir_before.nlink, 3, "a lower-only directory's own count");
    // Appending copies the file up with its times, then changes its mtime; the
    // parent directory's entries did not change, nor does its mtime.
    let fd = env
        .open_with(ROOT, "dir/a.txt", 0, rights::FILE_READ | rights::FILE_WRITE)
        .unwrap();
    let copied = env.fstat(fd).unwrap();
    assert_eq!(
        (copied.size, copied.mtim),
        (file_before.size, file_before.mtim)
    );
    env.close(fd);
    let dir_after = env.stat("dir").unwrap();
    assert_eq!(dir_after.mtim, dir_before.mtim);
    assert_eq!(dir_after.nlink, 1, "a merged directory");
    // Deleting an entry is a change of the directory.
    env.unlink("dir/b.txt").unwrap();
    assert!(env.stat("dir").unwrap().mtim > dir_before.mtim);
}

#[test]
fn overlays_are_separate_devices() {
    let lower = MemFs::new();
    lower.write("f", b"x").unwrap();
    let a = Overlay::new(MemFs::new().root(), lower.root());
    let b = Overlay::new(MemFs::new().root(), lower.root());
    let plain = MemFs::new().root();
    assert_eq!(a.rename("f", &b, "g"), Err(Errno::Xdev));
    assert_eq!(a.rename("f", &*plain, "g"), Err(Errno::Xdev));
    assert_eq!(a.hard_link("f", &b, "g"), Err(Errno::Xdev));
    assert_eq!(a.hard_link("f", &*lower.root(), "g"), Err(Errno::Xdev));
    assert_eq!(plain.rename("f", &a, "g"), Err(Errno::Xdev));
    assert_eq!(a.rename("f", &a.clone(), "g"), Ok(()));
    assert_ne!(a.stat().unwrap().dev, b.stat().unwrap().dev);
    assert_eq!(lower.read("f").unwrap(), b"x");
    assert_eq!(lower.read("g").err(), Some(Errno::Noent));
}

/// ReadOnly through the hostcalls: every change is refused, reads work.
#[test]
fn read_only_through_hostcalls() {
    let lower = Lower::mem(&[]);
    let before = lower.snapshot();
    let mut env = Env::new(Arc::new(ReadOnly::new(lower.dir())));
    let rw = rights::FILE_READ | rights::FILE_WRITE;
    assert_eq!(env.open_with(ROOT, "keep.txt", 0, rw), Err(Errno::Rofs));
    assert_eq!(
        env.open_with(ROOT, "keep.txt", oflags::TRUNC, rights::FILE_READ),
        Err(Errno::Rofs)
    );
    assert_eq!(
        env.open_with(ROOT, "new", oflags::CREAT, rw),
        Err(Errno::Rofs)
    );
    assert_eq!(env.mkdir("new"), Err(Errno::Rofs));
    assert_eq!(env.mkdir("dir"), Err(Errno::Exist));
    assert_eq!(env.rmdir("dir/sub"), Err(Errno::Rofs));
    assert_eq!(env.unlink("keep.txt"), Err(Errno::Rofs));
    assert_eq!(env.rename("keep.txt", "kept.txt"), Err(Errno::Rofs));
    assert_eq!(env.link("keep.txt", "kept.txt"), Err(Errno::Rofs));
    assert_eq!(env.symlink("keep.txt", "l2"), Err(Errno::Rofs));
    assert_eq!(env.set_mtime("keep.txt", 1), Err(Errno::Rofs));
    assert_eq!(env.set_mtime("dir/a.txt", 1), Err(Errno::Rofs));
    let fd = env.open_with(ROOT, "keep.txt", oflags::CREAT, rights::FILE_READ);
    let fd = fd.expect("O_CREAT of an existing file without writing is allowed");
    let r = env.call(|c, m| p1::fd_filestat_set_times(c, m, fd, 0, 1, fstflags::MTIM.into()));
    assert_eq!(r, Err(Errno::Rofs));
    assert_eq!(env.read_fd(fd).unwrap(), b"unchanged");
    env.close(fd);
    assert_eq!(env.read("link").unwrap(), b"unchanged");
    assert_eq!(env.readlink("link").unwrap(), "keep.txt");
    assert_eq!(
        sorted(env.list("dir", 48)),
        strs(&["a.txt", "b.txt", "sub"])
    );
    assert_eq!(env.stat("dir/sub/c.txt").unwrap().size, 1);
    assert_eq!(lower.snapshot(), before);
}

/// An overlay's upper layer may itself be a host directory.
#[test]
fn host_upper_over_read_only_lower() {
    let lower = Lower::mem(&[]);
    let upper = tempfile::tempdir().unwrap();
    let before = lower.snapshot();
    let ro_lower: Arc<dyn Dir> = Arc::new(ReadOnly::new(lower.dir()));
    let overlay = Overlay::new(
        Arc::new(HostDir::open_ambient(upper.path()).unwrap()),
        ro_lower,
    );
    let mut env = Env::new(Arc::new(overlay));
    env.write("dir/sub/c.txt", b"changed").unwrap();
    env.rename("tree", "tree2").unwrap();
    env.unlink("keep.txt").unwrap();
    assert_eq!(env.read("dir/sub/c.txt").unwrap(), b"changed");
    assert_eq!(env.read("tree2/deep/y.txt").unwrap(), b"y");
    assert_eq!(env.stat("keep.txt").err(), Some(Errno::Noent));
    assert_eq!(
        std::fs::read(upper.path().join("dir/sub/c.txt")).unwrap(),
        b"changed"
    );
    let mut upper_names: Vec<String> = std::fs::read_dir(upper.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    upper_names.sort();
    assert_eq!(
        upper_names,
        ["dir", "tree2"],
        "no marker files in the upper layer"
    );
    assert_eq!(lower.snapshot(), before);
}
