//! `MemFs`: an in-memory filesystem.

use super::{Dir, DirEntry, File, FileType, Node, OpenOptions, ReadDir, SetTime, Stat};
use crate::clocks::{now_realtime, ClockId, Clocks};
use crate::Errno;
use std::any::Any;
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

const ROOT_INO: u64 = 1;

/// How to build a [`MemFs`] ([`MemFs::with_options`]).
#[derive(Clone)]
pub struct MemFsOptions {
    /// The byte quota: everything the filesystem keeps, file buffers and
    /// fixed charges for metadata (see [`MemFs::with_quota`]).
    pub bytes: u64,
    /// The most files, directories and symlinks (the root included).
    pub inodes: u64,
    /// Where file times come from: the host's wall clock if `None`; a shared
    /// [`DeterministicClocks`](crate::clocks::DeterministicClocks) for
    /// reproducible runs.
    pub clock: Option<Arc<dyn Clocks>>,
}

impl Default for MemFsOptions {
    fn default() -> Self {
        MemFsOptions {
            bytes: MemFs::DEFAULT_QUOTA,
            inodes: u64::MAX,
            clock: None,
        }
    }
}

impl std::fmt::Debug for MemFsOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemFsOptions")
            .field("bytes", &self.bytes)
            .field("inodes", &self.inodes)
            .field("clock", &self.clock.is_some())
            .finish()
    }
}

/// An in-memory filesystem.
///
/// Cheap to clone: clones share the same tree. Everything a guest makes it
/// keep (file buffers, names, directories, symlink targets) counts against a
/// byte quota ([`MemFs::DEFAULT_QUOTA`] unless set with
/// [`MemFs::with_quota`], which says what each costs); a change that would
/// exceed it fails with `ENOSPC` and changes nothing.
///
/// Directory listings have stable cookies (an entry keeps its cookie while others
/// come and go), and resuming a listing from a cookie costs `O(log n)`.
///
/// ```
/// use vasi::vfs::MemFs;
/// let fs = MemFs::new();
/// fs.write("config/app.toml", b"answer = 42")?;
/// assert_eq!(fs.read("config/app.toml")?, b"answer = 42");
/// # Ok::<(), vasi::Errno>(())
/// ```
#[derive(Clone)]
pub struct MemFs {
    inner: Arc<Inner>,
}

struct Inner {
    tree: Mutex<Tree>,
    quota: Arc<Quota>,
    next_ino: AtomicU64,
    dev: u64,
}

/// A budget of bytes or inodes: reservations fail with `ENOSPC` beyond `limit`.
struct Budget {
    limit: u64,
    used: AtomicU64,
}

impl Budget {
    fn new(limit: u64) -> Self {
        Budget {
            limit,
            used: AtomicU64::new(0),
        }
    }

    /// Reserves `n` more units, or fails with `ENOSPC` reserving nothing.
    fn reserve(&self, n: u64) -> Result<(), Errno> {
        let mut used = self.used.load(Ordering::Relaxed);
        loop {
            let new = used.checked_add(n).ok_or(Errno::Nospc)?;
            if new > self.limit {
                return Err(Errno::Nospc);
            }
            match self
                .used
                .compare_exchange_weak(used, new, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => return Ok(()),
                Err(actual) => used = actual,
            }
        }
    }

    fn release(&self, n: u64) {
        self.used.fetch_sub(n, Ordering::Relaxed);
    }

    fn used(&self) -> u64 {
        self.used.load(Ordering::Relaxed)
    }
}

/// The byte and inode budgets of one `MemFs`.
struct Quota {
    /// Everything charged: metadata, and the capacity of every file's buffer
    /// (its contents and the room it has for growing, which is host memory
    /// too).
    bytes: Budget,
    /// Bytes of file contents (within `bytes`).
    content: AtomicU64,
    inodes: Budget,
    /// Where file times come from (the host's wall clock if `None`).
    clock: Option<Arc<dyn Clocks>>,
    /// Buffers of emptied or deleted files, kept for the next file that grows
    /// from nothing: rewriting memory that is already mapped is several times
    /// faster than faulting in fresh pages. Content plus pooled capacity stays
    /// within the byte quota; the pool is dropped first when content needs
    /// the room.
    pool: Mutex<Vec<Vec<u8>>>,
    pooled: AtomicU64,
}

impl Quota {
    /// The time to stamp a change with.
    fn now(&self) -> u64 {
        match &self.clock {
            Some(c) => c.now(ClockId::Realtime).unwrap_or(0),
            None => now_realtime(),
        }
    }

    fn reserve(&self, bytes: u64) -> Result<(), Errno> {
        self.bytes.reserve(bytes)?;
        // Content first: pooled buffers give way to it.
        if self.bytes.used() + self.pooled.load(Ordering::Relaxed) > self.bytes.limit {
            let drained = std::mem::take(&mut *lock(&self.pool));
            let freed: u64 = drained.iter().map(|b| b.capacity() as u64).sum();
            self.pooled.fetch_sub(freed, Ordering::Relaxed);
        }
        Ok(())
    }

    fn release(&self, bytes: u64) {
        self.bytes.release(bytes)
    }

    /// Charges `bytes` of metadata, or fails with `ENOSPC` charging nothing.
    fn charge(&self, bytes: u64) -> Result<(), Errno> {
        self.reserve(bytes)
    }

    /// Gives back `bytes` of metadata.
    fn uncharge(&self, bytes: u64) {
        self.bytes.release(bytes);
    }

    /// Reserves an inode and its byte charge `bytes`, or nothing.
    fn charge_inode(&self, bytes: u64) -> Result<(), Errno> {
        self.inodes.reserve(1)?;
        if let Err(e) = self.charge(bytes) {
            self.inodes.release(1);
            return Err(e);
        }
        Ok(())
    }

    fn uncharge_inode(&self, bytes: u64) {
        self.uncharge(bytes);
        self.inodes.release(1);
    }

    /// Keeps the emptied buffer `buf` for reuse if it fits within the quota
    /// beside the content; frees it otherwise.
    fn offer(&self, mut buf: Vec<u8>) {
        let cap = buf.capacity() as u64;
        const MIN_POOLED: u64 = 1 << 20;
        if cap < MIN_POOLED {
            return;
        }
        let mut pool = lock(&self.pool);
        let pooled = self.pooled.load(Ordering::Relaxed);
        if self.bytes.used() + pooled + cap > self.bytes.limit || pool.len() >= 16 {
            return;
        }
        buf.clear();
        pool.push(buf);
        self.pooled.fetch_add(cap, Ordering::Relaxed);
    }

    /// The largest pooled buffer, if it holds at least `want` bytes, its
    /// capacity now charged to the quota.
    fn take(&self, want: usize) -> Option<Vec<u8>> {
        if self.pooled.load(Ordering::Relaxed) == 0 {
            return None;
        }
        let mut pool = lock(&self.pool);
        let (i, _) = pool
            .iter()
            .enumerate()
            .max_by_key(|(_, b)| b.capacity())
            .filter(|(_, b)| b.capacity() >= want)?;
        let buf = pool.swap_remove(i);
        drop(pool);
        let cap = buf.capacity() as u64;
        self.pooled.fetch_sub(cap, Ordering::Relaxed);
        // From the pool to a file: still within the quota, unless content
        // grew meanwhile (then the buffer is freed).
        self.bytes.reserve(cap).ok()?;
        Some(buf)
    }
}

struct Tree {
    dirs: HashMap<u64, DirData>,
    quota: Arc<Quota>,
}

struct DirData {
    parent: u64,
    /// Entries by cookie: a cookie is the entry's insertion number, so it stays
    /// valid while other entries come and go.
    entries: BTreeMap<u64, Entry>,
    by_name: HashMap<Arc<str>, u64>,
    next_cookie: u64,
    subdirs: u64,
    times: Times,
}

struct Entry {
    /// Shared with `DirData::by_name`: one allocation per name.
    name: Arc<str>,
    node: NodeRef,
}

/// Halves a hash table that is less than a quarter full (amortized: each
/// shrink follows at least as many removals as it frees slots for).
fn shrink_if_sparse<K: std::hash::Hash + Eq, V>(map: &mut HashMap<K, V>) {
    if map.capacity() > 64 && map.len() < map.capacity() / 4 {
        map.shrink_to(map.len() * 2);
    }
}

/// What a directory entry named `name` is charged.
fn entry_cost(name: &str) -> u64 {
    MemFs::ENTRY_COST + name.len() as u64
}

#[derive(Clone)]
enum NodeRef {
    Dir(u64),
    File(Arc<FileNode>),
    Symlink(Arc<SymlinkNode>),
}

#[derive(Clone, Copy)]
struct Times {
    atim: u64,
    mtim: u64,
    ctim: u64,
}

impl Times {
    fn at(t: u64) -> Self {
        Times {
            atim: t,
            mtim: t,
            ctim: t,
        }
    }

    fn set(&mut self, atime: Option<SetTime>, mtime: Option<SetTime>, now: u64) {
        let resolve = |t: SetTime| match t {
            SetTime::Now => now,
            SetTime::At(ns) => ns,
        };
        if let Some(a) = atime {
            self.atim = resolve(a);
        }
        if let Some(m) = mtime {
            self.mtim = resolve(m);
        }
        self.ctim = now;
    }
}

struct FileNode {
    ino: u64,
    dev: u64,
    data: RwLock<Vec<u8>>,
    meta: Mutex<FileMeta>,
    quota: Arc<Quota>,
}

struct FileMeta {
    nlink: u64,
    times: Times,
}

impl Drop for FileNode {
    fn drop(&mut self) {
        let data = match self.data.get_mut() {
            Ok(d) => std::mem::take(d),
            Err(e) => std::mem::take(e.into_inner()),
        };
        self.quota
            .content
            .fetch_sub(data.len() as u64, Ordering::Relaxed);
        self.quota.release(data.capacity() as u64);
        self.quota.uncharge_inode(MemFs::INODE_COST);
        self.quota.offer(data);
    }
}

struct SymlinkNode {
    ino: u64,
    target: Box<str>,
    times: Mutex<Times>,
    quota: Arc<Quota>,
}

impl SymlinkNode {
    /// What a symlink with `target` is charged.
    fn cost(target: &str) -> u64 {
        MemFs::INODE_COST + target.len() as u64
    }
}

impl Drop for SymlinkNode {
    fn drop(&mut self) {
        self.quota.uncharge_inode(SymlinkNode::cost(&self.target));
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock cannot leave the tree inconsistent (every
    // mutation is completed before anything that can panic), so poisoning is
    // ignored rather than turned into a second panic.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl std::fmt::Debug for MemFs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemFs")
            .field("used_bytes", &self.used_bytes())
            .field("quota", &self.inner.quota.bytes.limit)
            .field("inodes", &self.inner.quota.inodes.used())
            .field("max_inodes", &self.inner.quota.inodes.limit)
            .finish_non_exhaustive()
    }
}

impl Default for MemFs {
    fn default() -> Self {
        Self::new()
    }
}

impl MemFs {
    /// The longest name a directory entry may have, in bytes (as on most host
    /// filesystems): longer names give `ENAMETOOLONG`.
    pub const MAX_NAME_LEN: usize = 255;

    /// The default byte quota: 1 GiB.
    pub const DEFAULT_QUOTA: u64 = 1 << 30;

    /// The inode quota `vasi run` gives each in-memory mount (`--mem-dir`,
    /// `--mem-copy`, an `--overlay`'s upper layer): about a million files,
    /// directories and symlinks. The library's own default is no inode limit
    /// (the byte quota still bounds them, see [`MemFs::with_quota`]).
    pub const DEFAULT_INODE_QUOTA: u64 = 1 << 20;

    /// Bytes of the quota charged for each file and each symlink (plus its
    /// target's length), for the host memory its node takes.
    pub const INODE_COST: u64 = 256;

    /// Bytes of the quota charged for each directory (the root excepted):
    /// its node, its slot in the directory table and its own entry tables.
    pub const DIR_COST: u64 = 1024;

    /// Bytes of the quota charged for each directory entry (each hard link
    /// is one), plus the name's length.
    pub const ENTRY_COST: u64 = 256;

    /// A new, empty filesystem with the default quota ([`MemFs::DEFAULT_QUOTA`]).
    pub fn new() -> Self {
        Self::with_quota(Self::DEFAULT_QUOTA)
    }

    /// A new, empty filesystem that may hold at most `bytes` of host memory
    /// on a guest's behalf.
    ///
    /// The quota is charged with every byte a guest can make the filesystem
    /// keep: file buffers (contents, and the room a growing file is given
    /// ahead of its contents, as a `Vec` grows; near the quota that room
    /// shrinks to what is left), and fixed amounts for metadata that cover
    /// what it takes in host memory: [`INODE_COST`](MemFs::INODE_COST) per file
    /// or symlink (plus the target's length), [`DIR_COST`](MemFs::DIR_COST)
    /// per directory, and [`ENTRY_COST`](MemFs::ENTRY_COST) plus the name's
    /// length per directory entry. So a file `a` with 60 bytes costs
    /// `60 + INODE_COST + ENTRY_COST + 1`. Only the root directory and the
    /// filesystem's own fixed structures (a few KiB) are outside the quota.
    /// Symlink targets are at most [`MAX_SYMLINK_LEN`](super::MAX_SYMLINK_LEN)
    /// bytes and names [`MAX_NAME_LEN`](MemFs::MAX_NAME_LEN).
    ///
    /// A change that would go past the quota fails with `ENOSPC` and changes
    /// nothing.
    ///
    /// ```
    /// use vasi::vfs::MemFs;
    /// let fs = MemFs::with_quota(100 + MemFs::INODE_COST + MemFs::ENTRY_COST + 1);
    /// fs.write("a", &[1; 100])?;
    /// assert_eq!(fs.used_bytes(), 100);
    /// assert_eq!(fs.charged_bytes(), 100 + MemFs::INODE_COST + MemFs::ENTRY_COST + 1);
    /// assert_eq!(fs.write("b", b""), Err(vasi::Errno::Nospc));
    /// # Ok::<(), vasi::Errno>(())
    /// ```
    pub fn with_quota(bytes: u64) -> Self {
        Self::with_quotas(bytes, u64::MAX)
    }

    /// A new, empty filesystem with the byte quota `bytes` (as
    /// [`with_quota`](MemFs::with_quota)) and at most `inodes` files,
    /// directories and symlinks (the root included). Beyond either, creating
    /// or growing fails with `ENOSPC` and changes nothing.
    ///
    /// ```
    /// use vasi::vfs::MemFs;
    /// let fs = MemFs::with_quotas(1 << 20, 3); // the root and two more
    /// fs.write("a", b"1")?;
    /// fs.write("b", b"2")?;
    /// assert_eq!(fs.write("c", b"3"), Err(vasi::Errno::Nospc));
    /// assert_eq!(fs.used_inodes(), 3);
    /// # Ok::<(), vasi::Errno>(())
    /// ```
    pub fn with_quotas(bytes: u64, inodes: u64) -> Self {
        Self::with_options(MemFsOptions {
            bytes,
            inodes,
            clock: None,
        })
    }

    /// A new, empty filesystem with the quotas and the clock of `options`.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use vasi::clocks::DeterministicClocks;
    /// use vasi::vfs::{Dir, MemFs, MemFsOptions};
    /// let clock = Arc::new(DeterministicClocks::new().with_step(std::time::Duration::ZERO));
    /// let fs = MemFs::with_options(MemFsOptions { clock: Some(clock), ..Default::default() });
    /// fs.write("a", b"1")?;
    /// assert_eq!(fs.root().stat_at("a")?.mtim, DeterministicClocks::DEFAULT_START);
    /// # Ok::<(), vasi::Errno>(())
    /// ```
    pub fn with_options(options: MemFsOptions) -> Self {
        let MemFsOptions {
            bytes,
            inodes,
            clock,
        } = options;
        let quota = Arc::new(Quota {
            bytes: Budget::new(bytes),
            content: AtomicU64::new(0),
            inodes: Budget::new(inodes),
            clock,
            pool: Mutex::new(Vec::new()),
            pooled: AtomicU64::new(0),
        });
        let now = quota.now();
        // The root directory is an inode too.
        let _ = quota.inodes.reserve(1);
        let mut dirs = HashMap::new();
        dirs.insert(
            ROOT_INO,
            DirData {
                parent: ROOT_INO,
                entries: BTreeMap::new(),
                by_name: HashMap::new(),
                next_cookie: 1,
                subdirs: 0,
                times: Times::at(now),
            },
        );
        MemFs {
            inner: Arc::new(Inner {
                tree: Mutex::new(Tree {
                    dirs,
                    quota: quota.clone(),
                }),
                quota,
                next_ino: AtomicU64::new(ROOT_INO + 1),
                dev: super::new_dev(),
            }),
        }
    }

    /// The root directory, to mount into a guest.
    pub fn root(&self) -> Arc<dyn Dir> {
        Arc::new(MemDir {
            fs: self.inner.clone(),
            ino: ROOT_INO,
        })
    }

    /// Bytes of file content currently stored.
    pub fn used_bytes(&self) -> u64 {
        self.inner.quota.content.load(Ordering::Relaxed)
    }

    /// Bytes currently charged against the quota: the metadata charges (see
    /// [`with_quota`](MemFs::with_quota)) and the files' buffers, which is
    /// their contents plus the room a growing file has been given ahead (at
    /// most as much again, less near the quota).
    pub fn charged_bytes(&self) -> u64 {
        self.inner.quota.bytes.used()
    }

    /// Files, directories and symlinks currently stored (the root included).
    pub fn used_inodes(&self) -> u64 {
        self.inner.quota.inodes.used()
    }

    /// Creates (or replaces) the file at `path` (relative to the root, `/`
    /// separated) with `contents`, creating missing parent directories.
    ///
    /// # Errors
    /// `ENOTDIR` if a parent is a file, `ENOSPC` over quota, `EISDIR` if `path`
    /// is a directory, `EINVAL` for an empty path or a `..` component.
    pub fn write(&self, path: &str, contents: &[u8]) -> Result<(), Errno> {
        let (dir, name) = self.parent_of(path, true)?;
        let opts = OpenOptions {
            write: true,
            create: true,
            truncate: true,
            ..OpenOptions::default()
        };
        match dir.open(name, &opts)? {
            Node::File(f) => {
                f.write_at(contents, 0)?;
                Ok(())
            }
            Node::Dir(_) => Err(Errno::Isdir),
        }
    }

    /// Creates the directory `path` and its missing parents.
    pub fn create_dir_all(&self, path: &str) -> Result<(), Errno> {
        let (dir, name) = self.parent_of(path, true)?;
        match dir.create_dir(name) {
            Ok(()) | Err(Errno::Exist) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// The contents of the file at `path`.
    pub fn read(&self, path: &str) -> Result<Vec<u8>, Errno> {
        let (dir, name) = self.parent_of(path, false)?;
        match dir.open(name, &OpenOptions::default())? {
            Node::File(f) => {
                let mut buf = vec![0; f.stat()?.size as usize];
                let n = f.read_at(&mut buf, 0)?;
                buf.truncate(n);
                Ok(buf)
            }
            Node::Dir(_) => Err(Errno::Isdir),
        }
    }

    /// The directory holding `path`'s last component, and that component.
    fn parent_of<'p>(&self, path: &'p str, create: bool) -> Result<(Arc<dyn Dir>, &'p str), Errno> {
        let mut parts: Vec<&str> = path
            .split('/')
            .filter(|c| !c.is_empty() && *c != ".")
            .collect();
        let name = parts.pop().ok_or(Errno::Inval)?;
        if name == ".." || parts.contains(&"..") {
            return Err(Errno::Inval);
        }
        Ok((super::open_dirs(&self.root(), &parts, create)?, name))
    }
}

struct MemDir {
    fs: Arc<Inner>,
    ino: u64,
}

fn check_name(name: &str) -> Result<(), Errno> {
    if name.len() > MemFs::MAX_NAME_LEN {
        return Err(Errno::Nametoolong);
    }
    Ok(())
}

impl Tree {
    fn dir(&self, ino: u64) -> Result<&DirData, Errno> {
        self.dirs.get(&ino).ok_or(Errno::Noent)
    }

    fn dir_mut(&mut self, ino: u64) -> Result<&mut DirData, Errno> {
        self.dirs.get_mut(&ino).ok_or(Errno::Noent)
    }

    fn lookup(&self, dir: u64, name: &str) -> Result<NodeRef, Errno> {
        // As on Linux, a name no entry can have is ENAMETOOLONG, not ENOENT.
        check_name(name)?;
        let d = self.dir(dir)?;
        let cookie = d.by_name.get(name).ok_or(Errno::Noent)?;
        Ok(d.entries[cookie].node.clone())
    }

    /// Adds the entry `name`, charging the quota for it.
    fn insert(&mut self, dir: u64, name: &str, node: NodeRef) -> Result<(), Errno> {
        self.dir(dir)?;
        self.quota.charge(entry_cost(name))?;
        self.insert_charged(dir, name, node)
    }

    /// Adds the entry `name`, already charged for.
    fn insert_charged(&mut self, dir: u64, name: &str, node: NodeRef) -> Result<(), Errno> {
        let is_dir = matches!(node, NodeRef::Dir(_));
        let now = self.quota.now();
        let d = self.dir_mut(dir)?;
        let cookie = d.next_cookie;
        d.next_cookie += 1;
        let name: Arc<str> = name.into();
        d.by_name.insert(name.clone(), cookie);
        d.entries.insert(cookie, Entry { name, node });
        if is_dir {
            d.subdirs += 1;
        }
        d.times.mtim = now;
        d.times.ctim = now;
        Ok(())
    }

    fn remove(&mut self, dir: u64, name: &str) -> Result<NodeRef, Errno> {
        let now = self.quota.now();
        let d = self.dir_mut(dir)?;
        let cookie = d.by_name.remove(name).ok_or(Errno::Noent)?;
        let entry = d.entries.remove(&cookie).ok_or(Errno::Noent)?;
        if matches!(entry.node, NodeRef::Dir(_)) {
            d.subdirs -= 1;
        }
        d.times.mtim = now;
        d.times.ctim = now;
        // A hash table never shrinks by itself: give its room back once it
        // is mostly empty, or a directory emptied of a million names would
        // keep their slots beyond what the quota now counts.
        shrink_if_sparse(&mut d.by_name);
        self.quota.uncharge(entry_cost(name));
        Ok(entry.node)
    }

    /// Forgets the (empty, unlinked) directory `ino` and gives back its charge.
    fn drop_dir(&mut self, ino: u64) {
        if self.dirs.remove(&ino).is_some() {
            shrink_if_sparse(&mut self.dirs);
            self.quota.uncharge_inode(MemFs::DIR_COST);
        }
    }

    fn stat_dir(&self, ino: u64, dev: u64) -> Result<Stat, Errno> {
        let d = self.dir(ino)?;
        Ok(Stat {
            dev,
            ino,
            filetype: FileType::Directory,
            nlink: 2 + d.subdirs,
            size: 4096,
            atim: d.times.atim,
            mtim: d.times.mtim,
            ctim: d.times.ctim,
        })
    }

    fn stat_node(&self, node: &NodeRef, dev: u64) -> Result<Stat, Errno> {
        match node {
            NodeRef::Dir(ino) => self.stat_dir(*ino, dev),
            NodeRef::File(f) => Ok(f.stat()),
            NodeRef::Symlink(s) => {
                let times = *lock(&s.times);
                Ok(Stat {
                    dev,
                    ino: s.ino,
                    filetype: FileType::SymbolicLink,
                    nlink: 1,
                    size: s.target.len() as u64,
                    atim: times.atim,
                    mtim: times.mtim,
                    ctim: times.ctim,
                })
            }
        }
    }

    /// Whether `ino` is `ancestor` or lies below it.
    fn is_within(&self, mut ino: u64, ancestor: u64) -> bool {
        loop {
            if ino == ancestor {
                return true;
            }
            match self.dirs.get(&ino) {
                Some(d) if d.parent != ino => ino = d.parent,
                _ => return false,
            }
        }
    }
}

impl FileNode {
    fn stat(&self) -> Stat {
        let size = self.data.read().map(|d| d.len()).unwrap_or(0) as u64;
        let meta = lock(&self.meta);
        Stat {
            dev: self.dev,
            ino: self.ino,
            filetype: FileType::RegularFile,
            nlink: meta.nlink,
            size,
            atim: meta.times.atim,
            mtim: meta.times.mtim,
            ctim: meta.times.ctim,
        }
    }

    fn touch_mtime(&self) {
        let now = self.quota.now();
        let mut meta = lock(&self.meta);
        meta.times.mtim = now;
        meta.times.ctim = now;
    }

    fn resize(&self, data: &mut Vec<u8>, len: u64) -> Result<(), Errno> {
        let old = data.len() as u64;
        if len > old {
            self.make_room(data, len)?;
            data.resize(len as usize, 0);
            self.quota.content.fetch_add(len - old, Ordering::Relaxed);
        } else {
            data.truncate(len as usize);
            self.quota.content.fetch_sub(old - len, Ordering::Relaxed);
            // Give memory back too, or a truncated file would keep holding
            // what it no longer needs: an emptied buffer to the pool (within
            // the quota), a mostly empty one shrunk.
            if data.is_empty() {
                let buf = std::mem::take(data);
                self.quota.release(buf.capacity() as u64);
                self.quota.offer(buf);
            } else if data.capacity() / 4 > data.len() {
                let cap = data.capacity();
                data.shrink_to(data.len().saturating_mul(2));
                self.quota
                    .release(cap.saturating_sub(data.capacity()) as u64);
            }
        }
        Ok(())
    }

    /// Makes `data`'s buffer hold at least `len` bytes, charging the quota
    /// for every byte of capacity it adds: a buffer's capacity is host
    /// memory, contents or not. It grows as a `Vec` does (doubling) while the
    /// quota has room for that, and only as much as needed near the limit.
    fn make_room(&self, data: &mut Vec<u8>, len: u64) -> Result<(), Errno> {
        let len = usize::try_from(len).map_err(|_| Errno::Fbig)?;
        let cap = data.capacity();
        if len <= cap {
            return Ok(());
        }
        if cap == 0 {
            if let Some(buf) = self.quota.take(len) {
                *data = buf;
                return Ok(());
            }
        }
        let need = (len - cap) as u64;
        let ahead = (cap as u64).max(need);
        let by = if self.quota.reserve(ahead).is_ok() {
            ahead
        } else {
            // Near the limit: half of what is left, so that a file appended
            // to in small steps still moves (and copies) itself only a
            // logarithmic number of times.
            let room = self
                .quota
                .bytes
                .limit
                .saturating_sub(self.quota.bytes.used());
            let half = (room / 2).max(need);
            if self.quota.reserve(half).is_ok() {
                half
            } else {
                self.quota.reserve(need)?;
                need
            }
        };
        let additional = cap + by as usize - data.len();
        if data.try_reserve_exact(additional).is_err() {
            self.quota.release(by);
            return Err(Errno::Nospc);
        }
        // The allocator may round up; what it gave is held, so charge it.
        let extra = (data.capacity() - cap) as u64 - by;
        if extra > 0 {
            self.quota.bytes.used.fetch_add(extra, Ordering::Relaxed);
        }
        Ok(())
    }

    /// Writes `buf` at `offset`: overwrites what is there and appends the
    /// rest, zero-filling only a gap before `offset` (new bytes are written
    /// once, not zeroed first).
    fn write_into(&self, data: &mut Vec<u8>, buf: &[u8], offset: u64) -> Result<(), Errno> {
        let end = offset + buf.len() as u64;
        let old = data.len() as u64;
        if end > old {
            self.make_room(data, end)?;
            if offset > old {
                data.resize(offset as usize, 0);
            }
            self.quota.content.fetch_add(end - old, Ordering::Relaxed);
        }
        let at = offset as usize;
        let overlap = data.len().saturating_sub(at).min(buf.len());
        data[at..at + overlap].copy_from_slice(&buf[..overlap]);
        data.extend_from_slice(&buf[overlap..]);
        Ok(())
    }
}

impl MemDir {
    fn tree(&self) -> MutexGuard<'_, Tree> {
        lock(&self.fs.tree)
    }

    fn new_ino(&self) -> u64 {
        self.fs.next_ino.fetch_add(1, Ordering::Relaxed)
    }

    fn open_node(&self, node: NodeRef, options: &OpenOptions) -> Result<Node, Errno> {
        match node {
            NodeRef::Dir(ino) => {
                if options.create_new {
                    return Err(Errno::Exist);
                }
                if options.write || options.truncate {
                    return Err(Errno::Isdir);
                }
                Ok(Node::Dir(Arc::new(MemDir {
                    fs: self.fs.clone(),
                    ino,
                })))
            }
            NodeRef::File(f) => {
                if options.create_new {
                    return Err(Errno::Exist);
                }
                if options.directory {
                    return Err(Errno::Notdir);
                }
                if options.truncate {
                    let mut data = f.data.write().map_err(|_| Errno::Io)?;
                    if !data.is_empty() {
                        f.resize(&mut data, 0)?;
                        drop(data);
                        f.touch_mtime();
                    }
                }
                Ok(Node::File(Box::new(MemFile { node: f })))
            }
            NodeRef::Symlink(_) => {
                if options.create_new {
                    Err(Errno::Exist)
                } else {
                    Err(Errno::Loop)
                }
            }
        }
    }
}

impl Dir for MemDir {
    fn open(&self, name: &str, options: &OpenOptions) -> Result<Node, Errno> {
        let mut tree = self.tree();
        match tree.lookup(self.ino, name) {
            Ok(node) => {
                drop(tree);
                self.open_node(node, options)
            }
            Err(Errno::Noent) if options.create || options.create_new => {
                check_name(name)?;
                if options.directory {
                    return Err(Errno::Noent);
                }
                tree.dir(self.ino)?;
                // Charged here, given back by the node's drop (also if the
                // entry cannot be added).
                self.fs.quota.charge_inode(MemFs::INODE_COST)?;
                let node = Arc::new(FileNode {
                    ino: self.new_ino(),
                    dev: self.fs.dev,
                    data: RwLock::new(Vec::new()),
                    meta: Mutex::new(FileMeta {
                        nlink: 1,
                        times: Times::at(self.fs.quota.now()),
                    }),
                    quota: self.fs.quota.clone(),
                });
                tree.insert(self.ino, name, NodeRef::File(node.clone()))?;
                Ok(Node::File(Box::new(MemFile { node })))
            }
            Err(e) => Err(e),
        }
    }

    fn stat_at(&self, name: &str) -> Result<Stat, Errno> {
        let tree = self.tree();
        let node = tree.lookup(self.ino, name)?;
        tree.stat_node(&node, self.fs.dev)
    }

    fn stat(&self) -> Result<Stat, Errno> {
        self.tree().stat_dir(self.ino, self.fs.dev)
    }

    fn create_dir(&self, name: &str) -> Result<(), Errno> {
        let mut tree = self.tree();
        tree.dir(self.ino)?;
        if tree.lookup(self.ino, name).is_ok() {
            return Err(Errno::Exist);
        }
        check_name(name)?;
        self.fs.quota.charge_inode(MemFs::DIR_COST)?;
        if let Err(e) = self.fs.quota.charge(entry_cost(name)) {
            self.fs.quota.uncharge_inode(MemFs::DIR_COST);
            return Err(e);
        }
        let ino = self.new_ino();
        tree.dirs.insert(
            ino,
            DirData {
                parent: self.ino,
                entries: BTreeMap::new(),
                by_name: HashMap::new(),
                next_cookie: 1,
                subdirs: 0,
                times: Times::at(self.fs.quota.now()),
            },
        );
        tree.insert_charged(self.ino, name, NodeRef::Dir(ino))
    }

    fn remove_dir(&self, name: &str) -> Result<(), Errno> {
        let mut tree = self.tree();
        match tree.lookup(self.ino, name)? {
            NodeRef::Dir(ino) => {
                if !tree.dir(ino)?.entries.is_empty() {
                    return Err(Errno::Notempty);
                }
                tree.remove(self.ino, name)?;
                tree.drop_dir(ino);
                Ok(())
            }
            NodeRef::File(_) | NodeRef::Symlink(_) => Err(Errno::Notdir),
        }
    }

    fn unlink(&self, name: &str) -> Result<(), Errno> {
        let mut tree = self.tree();
        match tree.lookup(self.ino, name)? {
            NodeRef::Dir(_) => Err(Errno::Isdir),
            NodeRef::File(f) => {
                tree.remove(self.ino, name)?;
                let mut meta = lock(&f.meta);
                meta.nlink -= 1;
                meta.times.ctim = self.fs.quota.now();
                Ok(())
            }
            NodeRef::Symlink(_) => tree.remove(self.ino, name).map(drop),
        }
    }

    fn rename(&self, name: &str, to: &dyn Dir, to_name: &str) -> Result<(), Errno> {
        let to = match to.as_any().downcast_ref::<MemDir>() {
            Some(d) if Arc::ptr_eq(&d.fs, &self.fs) => d,
            _ => return Err(Errno::Xdev),
        };
        check_name(to_name)?;
        let mut tree = self.tree();
        tree.dir(to.ino)?;
        let src = tree.lookup(self.ino, name)?;
        if self.ino == to.ino && name == to_name {
            return Ok(());
        }
        if let NodeRef::Dir(src_ino) = src {
            if tree.is_within(to.ino, src_ino) {
                return Err(Errno::Inval);
            }
        }
        let dst = tree.lookup(to.ino, to_name);
        match (&dst, &src) {
            (Err(Errno::Noent), _) => {}
            (Err(e), _) => return Err(*e),
            (Ok(NodeRef::Dir(dst)), NodeRef::Dir(_)) => {
                if !tree.dir(*dst)?.entries.is_empty() {
                    return Err(Errno::Notempty);
                }
            }
            (Ok(NodeRef::Dir(_)), _) => return Err(Errno::Isdir),
            (Ok(_), NodeRef::Dir(_)) => return Err(Errno::Notdir),
            (Ok(NodeRef::File(a)), NodeRef::File(b)) if Arc::ptr_eq(a, b) => {
                // Two links to one file: POSIX says do nothing.
                return Ok(());
            }
            (Ok(_), _) => {}
        }
        // The new entry is charged before anything changes, so that running
        // out of room changes nothing.
        self.fs.quota.charge(entry_cost(to_name))?;
        match (dst, &src) {
            (Ok(NodeRef::Dir(dst)), NodeRef::Dir(_)) => {
                tree.remove(to.ino, to_name)?;
                tree.drop_dir(dst);
            }
            (Ok(dst), _) => {
                tree.remove(to.ino, to_name)?;
                if let NodeRef::File(f) = dst {
                    lock(&f.meta).nlink -= 1;
                }
            }
            (Err(_), _) => {}
        }
        let node = tree.remove(self.ino, name)?;
        if let NodeRef::Dir(ino) = node {
            tree.dir_mut(ino)?.parent = to.ino;
        }
        tree.insert_charged(to.ino, to_name, node)
    }

    fn read_link(&self, name: &str) -> Result<String, Errno> {
        match self.tree().lookup(self.ino, name)? {
            NodeRef::Symlink(s) => Ok(s.target.to_string()),
            NodeRef::Dir(_) | NodeRef::File(_) => Err(Errno::Inval),
        }
    }

    fn symlink(&self, target: &str, name: &str) -> Result<(), Errno> {
        let mut tree = self.tree();
        tree.dir(self.ino)?;
        if tree.lookup(self.ino, name).is_ok() {
            return Err(Errno::Exist);
        }
        check_name(name)?;
        if target.len() > super::MAX_SYMLINK_LEN {
            return Err(Errno::Nametoolong);
        }
        // Charged here, given back by the node's drop.
        self.fs.quota.charge_inode(SymlinkNode::cost(target))?;
        let node = SymlinkNode {
            ino: self.new_ino(),
            target: target.into(),
            times: Mutex::new(Times::at(self.fs.quota.now())),
            quota: self.fs.quota.clone(),
        };
        tree.insert(self.ino, name, NodeRef::Symlink(Arc::new(node)))
    }

    fn hard_link(&self, name: &str, to: &dyn Dir, to_name: &str) -> Result<(), Errno> {
        let to = match to.as_any().downcast_ref::<MemDir>() {
            Some(d) if Arc::ptr_eq(&d.fs, &self.fs) => d,
            _ => return Err(Errno::Xdev),
        };
        let mut tree = self.tree();
        let node = tree.lookup(self.ino, name)?;
        tree.dir(to.ino)?;
        if tree.lookup(to.ino, to_name).is_ok() {
            return Err(Errno::Exist);
        }
        check_name(to_name)?;
        if let NodeRef::Dir(_) = node {
            return Err(Errno::Perm);
        }
        // The entry first: if the quota says no, the count is unchanged.
        tree.insert(to.ino, to_name, node.clone())?;
        if let NodeRef::File(f) = &node {
            let mut meta = lock(&f.meta);
            meta.nlink += 1;
            meta.times.ctim = self.fs.quota.now();
        }
        Ok(())
    }

    fn set_times_at(
        &self,
        name: &str,
        atime: Option<SetTime>,
        mtime: Option<SetTime>,
    ) -> Result<(), Errno> {
        let mut tree = self.tree();
        match tree.lookup(self.ino, name)? {
            NodeRef::Dir(ino) => tree
                .dir_mut(ino)?
                .times
                .set(atime, mtime, self.fs.quota.now()),
            NodeRef::File(f) => lock(&f.meta).times.set(atime, mtime, self.fs.quota.now()),
            NodeRef::Symlink(s) => lock(&s.times).set(atime, mtime, self.fs.quota.now()),
        }
        Ok(())
    }

    fn set_times(&self, atime: Option<SetTime>, mtime: Option<SetTime>) -> Result<(), Errno> {
        self.tree()
            .dir_mut(self.ino)?
            .times
            .set(atime, mtime, self.fs.quota.now());
        Ok(())
    }

    fn entries(&self, cookie: u64) -> Result<Box<dyn ReadDir>, Errno> {
        self.tree().dir(self.ino)?;
        Ok(Box::new(MemReadDir {
            fs: self.fs.clone(),
            ino: self.ino,
            after: cookie,
        }))
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

struct MemReadDir {
    fs: Arc<Inner>,
    ino: u64,
    /// The cookie of the last entry returned (0: none yet).
    after: u64,
}

impl ReadDir for MemReadDir {
    fn next_entry(&mut self) -> Option<Result<DirEntry, Errno>> {
        let tree = lock(&self.fs.tree);
        let dir = match tree.dir(self.ino) {
            Ok(d) => d,
            Err(e) => return Some(Err(e)),
        };
        let (&cookie, entry) = dir.entries.range(self.after + 1..).next()?;
        self.after = cookie;
        let (filetype, ino) = match &entry.node {
            NodeRef::Dir(ino) => (FileType::Directory, *ino),
            NodeRef::File(f) => (FileType::RegularFile, f.ino),
            NodeRef::Symlink(s) => (FileType::SymbolicLink, s.ino),
        };
        Some(Ok(DirEntry {
            name: entry.name.to_string(),
            filetype,
            ino,
            next: cookie,
        }))
    }
}

struct MemFile {
    node: Arc<FileNode>,
}

impl File for MemFile {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> Result<usize, Errno> {
        let data = self.node.data.read().map_err(|_| Errno::Io)?;
        let Ok(start) = usize::try_from(offset) else {
            return Ok(0);
        };
        if start >= data.len() {
            return Ok(0);
        }
        let n = buf.len().min(data.len() - start);
        buf[..n].copy_from_slice(&data[start..start + n]);
        Ok(n)
    }

    fn write_at(&self, buf: &[u8], offset: u64) -> Result<usize, Errno> {
        let end = offset.checked_add(buf.len() as u64).ok_or(Errno::Fbig)?;
        if end > i64::MAX as u64 {
            return Err(Errno::Fbig);
        }
        if buf.is_empty() {
            // Nothing grows over a gap, nothing is stamped (File::write_at).
            return Ok(0);
        }
        let mut data = self.node.data.write().map_err(|_| Errno::Io)?;
        self.node.write_into(&mut data, buf, offset)?;
        drop(data);
        self.node.touch_mtime();
        Ok(buf.len())
    }

    fn append(&self, buf: &[u8]) -> Result<(usize, u64), Errno> {
        let mut data = self.node.data.write().map_err(|_| Errno::Io)?;
        let start = data.len() as u64;
        if buf.is_empty() {
            return Ok((0, start));
        }
        let end = start + buf.len() as u64;
        self.node.write_into(&mut data, buf, start)?;
        drop(data);
        self.node.touch_mtime();
        Ok((buf.len(), end))
    }

    fn stat(&self) -> Result<Stat, Errno> {
        Ok(self.node.stat())
    }

    fn set_len(&self, size: u64) -> Result<(), Errno> {
        if size > i64::MAX as u64 {
            return Err(Errno::Fbig);
        }
        let mut data = self.node.data.write().map_err(|_| Errno::Io)?;
        self.node.resize(&mut data, size)?;
        drop(data);
        self.node.touch_mtime();
        Ok(())
    }

    fn set_times(&self, atime: Option<SetTime>, mtime: Option<SetTime>) -> Result<(), Errno> {
        lock(&self.node.meta)
            .times
            .set(atime, mtime, self.node.quota.now());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(fs: &MemFs) -> Box<dyn File> {
        let opts = OpenOptions {
            read: true,
            write: true,
            create: true,
            ..OpenOptions::default()
        };
        match fs.root().open("f", &opts).unwrap() {
            Node::File(f) => f,
            Node::Dir(_) => panic!("a directory"),
        }
    }

    #[test]
    fn writes_overwrite_extend_and_zero_fill_gaps() {
        // 100 bytes of contents, and the charges for the file "f".
        let fs = MemFs::with_quota(100 + MemFs::INODE_COST + MemFs::ENTRY_COST + 1);
        let f = file(&fs);
        assert_eq!(f.write_at(b"hello", 0), Ok(5));
        assert_eq!(f.write_at(b"ELLO, world", 1), Ok(11));
        assert_eq!(fs.read("f").unwrap(), b"hELLO, world");
        assert_eq!(f.write_at(b"!", 14), Ok(1));
        assert_eq!(fs.read("f").unwrap(), b"hELLO, world\0\0!");
        assert_eq!(f.append(b"ab"), Ok((2, 17)));
        assert_eq!(fs.used_bytes(), 17);
        // Past the quota: nothing changes.
        assert_eq!(f.write_at(&[1; 91], 10), Err(Errno::Nospc));
        assert_eq!(fs.read("f").unwrap(), b"hELLO, world\0\0!ab");
        assert_eq!(fs.used_bytes(), 17);
    }

    #[test]
    fn emptied_buffers_are_reused_within_the_quota() {
        const MIB: usize = 1 << 20;
        // 4 MiB of contents, and the charges for the files "f" and "c".
        let fs =
            MemFs::with_quota(4 * MIB as u64 + 2 * (MemFs::INODE_COST + MemFs::ENTRY_COST + 1));
        let a = file(&fs);
        a.write_at(&vec![1u8; 3 * MIB], 0).unwrap();
        a.set_len(0).unwrap();
        let quota = &fs.inner.quota;
        let pooled = quota.pooled.load(Ordering::Relaxed);
        assert!(pooled >= 3 * MIB as u64, "{pooled}");
        // Rewriting takes the pooled buffer back.
        a.write_at(&[2u8; 10], 0).unwrap();
        assert_eq!(quota.pooled.load(Ordering::Relaxed), 0);
        assert_eq!(fs.read("f").unwrap(), [2u8; 10]);
        a.set_len(0).unwrap();
        assert_eq!(quota.pooled.load(Ordering::Relaxed), pooled);
        // Content needs the room: the pool gives way, the write succeeds.
        fs.write("b", &vec![3u8; 2 * MIB]).unwrap();
        assert_eq!(quota.pooled.load(Ordering::Relaxed), 0);
        assert_eq!(fs.used_bytes(), 2 * MIB as u64);
        // A deleted file's buffer is offered too, and counted while pooled.
        fs.root().unlink("b").unwrap();
        assert!(quota.pooled.load(Ordering::Relaxed) >= 2 * MIB as u64);
        assert_eq!(fs.used_bytes(), 0);
        // Never more content plus pool than the quota.
        fs.write("c", &vec![4u8; 4 * MIB]).unwrap();
        assert!(fs.used_bytes() + quota.pooled.load(Ordering::Relaxed) <= 4 * MIB as u64);
    }

    #[test]
    fn a_buffers_whole_capacity_is_charged() {
        let fs = MemFs::with_quota(1 << 20);
        let meta = MemFs::INODE_COST + MemFs::ENTRY_COST + 1;
        let f = file(&fs);
        let capacity = || {
            let NodeRef::File(node) = lock(&fs.inner.tree).lookup(ROOT_INO, "f").unwrap() else {
                panic!("not a file");
            };
            let cap = node.data.read().unwrap().capacity() as u64;
            cap
        };
        for i in 0..100u64 {
            f.append(&[1; 1000]).unwrap();
            assert_eq!(fs.used_bytes(), (i + 1) * 1000);
            assert_eq!(fs.charged_bytes(), meta + capacity(), "after {i} appends");
        }
        assert!(capacity() > 100_000, "room ahead, as a Vec grows");
        f.set_len(1000).unwrap();
        assert_eq!(fs.charged_bytes(), meta + capacity());
        assert!(capacity() < 4000);
        // Near the limit, the room ahead shrinks to what is left.
        let g = file(&fs);
        while g.append(&[2; 4096]).is_ok() {}
        assert!(fs.charged_bytes() <= 1 << 20);
        assert!(fs.used_bytes() > (1 << 20) - 8192 - 2 * meta);
        drop((f, g));
        fs.root().unlink("f").unwrap();
        assert_eq!(fs.charged_bytes(), 0);
        assert_eq!(fs.used_bytes(), 0);
    }

    #[test]
    fn truncating_gives_memory_back() {
        let fs = MemFs::new();
        let f = file(&fs);
        f.write_at(&vec![7u8; 1 << 20], 0).unwrap();
        f.set_len(10).unwrap();
        assert_eq!(fs.used_bytes(), 10);
        let NodeRef::File(node) = lock(&fs.inner.tree).lookup(ROOT_INO, "f").unwrap() else {
            panic!("not a file");
        };
        let capacity = node.data.read().unwrap().capacity();
        assert!(
            capacity < 1024,
            "a 10-byte file still holds {capacity} bytes"
        );
    }
}
