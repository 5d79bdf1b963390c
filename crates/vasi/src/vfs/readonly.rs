//! `ReadOnly`: any directory, with every change refused.

use super::{Dir, File, Node, OpenOptions, ReadDir, SetTime, Stat};
use crate::Errno;
use std::any::Any;
use std::sync::Arc;

/// A read-only view of any directory.
///
/// Reads (`open` for reading, `stat`, `read_link`, listing, `read_at`) go to the
/// wrapped directory unchanged; every change is refused with the errno POSIX
/// gives on a read-only filesystem, `EROFS`, except where the change would fail
/// for another reason on a writable filesystem too and Linux reports that reason
/// first (each method says which). Directories opened through it come back
/// wrapped, and files come back as read-only handles, so nothing reachable from
/// a `ReadOnly` can change the wrapped tree.
///
/// ```
/// use std::sync::Arc;
/// use vasi::vfs::{MemFs, ReadOnly};
/// let assets = MemFs::new();
/// assets.write("logo.svg", b"<svg/>")?;
/// let ctx = vasi::WasiCtxBuilder::new()
///     .preopen_dir(Arc::new(ReadOnly::new(assets.root())), "/assets")
///     .build()?;
/// # drop(ctx);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct ReadOnly {
    inner: Arc<dyn Dir>,
}

impl std::fmt::Debug for ReadOnly {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReadOnly").finish_non_exhaustive()
    }
}

impl ReadOnly {
    /// A read-only view of `root` and everything below it.
    pub fn new(root: Arc<dyn Dir>) -> ReadOnly {
        ReadOnly { inner: root }
    }
}

impl Dir for ReadOnly {
    /// Opens `name` for reading only.
    ///
    /// # Errors
    /// As Linux's `openat` on a read-only mount, which checks in this order:
    /// - `ENOENT`, `ELOOP`, `ENOTDIR`: as the wrapped directory says.
    /// - `EROFS`: `create` or `create_new` and `name` does not exist.
    /// - `EEXIST`: `create_new` and `name` exists (it would fail on a writable
    ///   filesystem too).
    /// - `EISDIR`: `name` is a directory and `write` or `truncate` is set.
    /// - `EROFS`: `name` is a file and `write` or `truncate` is set.
    ///
    /// `create` of an existing name without `write` or `truncate` changes nothing
    /// and succeeds, as POSIX says.
    fn open(&self, name: &str, options: &OpenOptions) -> Result<Node, Errno> {
        let read_only = OpenOptions {
            read: options.read,
            directory: options.directory,
            ..OpenOptions::default()
        };
        let node = match self.inner.open(name, &read_only) {
            Ok(node) => node,
            // Nothing there: creating it is the change refused.
            // Pinned by readonly::tests::opens_that_would_change_are_refused.
            Err(Errno::Noent) if options.create || options.create_new => return Err(Errno::Rofs),
            // A symlink exists, so exclusive creation fails as anywhere.
            Err(Errno::Loop) if options.create_new => return Err(Errno::Exist),
            Err(e) => return Err(e),
        };
        if options.create_new {
            return Err(Errno::Exist);
        }
        match node {
            Node::Dir(d) => {
                if options.write || options.truncate {
                    // Linux's may_open says EISDIR before it asks for write access.
                    return Err(Errno::Isdir);
                }
                Ok(Node::Dir(Arc::new(ReadOnly::new(d))))
            }
            Node::File(f) => {
                if options.write || options.truncate {
                    return Err(Errno::Rofs);
                }
                Ok(Node::File(Box::new(ReadOnlyFile { inner: f })))
            }
        }
    }

    fn stat_at(&self, name: &str) -> Result<Stat, Errno> {
        self.inner.stat_at(name)
    }

    fn stat(&self) -> Result<Stat, Errno> {
        self.inner.stat()
    }

    /// # Errors
    /// - `EEXIST`: `name` exists (Linux looks the name up before asking for
    ///   write access, and the call would fail anywhere).
    /// - `EROFS`: otherwise.
    fn create_dir(&self, name: &str) -> Result<(), Errno> {
        exists_or_rofs(&*self.inner, name)
    }

    /// # Errors
    /// - `EROFS`: always, even for a missing name (Linux asks for write access
    ///   before it looks the name up).
    fn remove_dir(&self, name: &str) -> Result<(), Errno> {
        let _ = name;
        Err(Errno::Rofs)
    }

    /// # Errors
    /// - `EROFS`: always, even for a missing name (as `remove_dir`).
    fn unlink(&self, name: &str) -> Result<(), Errno> {
        let _ = name;
        Err(Errno::Rofs)
    }

    /// # Errors
    /// - `EROFS`: always, whatever `to` is. Linux would say `EXDEV` first when
    ///   `to` is on another mount, but the source can never leave a read-only
    ///   filesystem, and `EROFS` says why.
    fn rename(&self, name: &str, to: &dyn Dir, to_name: &str) -> Result<(), Errno> {
        let _ = (name, to, to_name);
        Err(Errno::Rofs)
    }

    fn read_link(&self, name: &str) -> Result<String, Errno> {
        self.inner.read_link(name)
    }

    /// # Errors
    /// - `EEXIST`: `name` exists (as `create_dir`).
    /// - `EROFS`: otherwise.
    fn symlink(&self, target: &str, name: &str) -> Result<(), Errno> {
        let _ = target;
        exists_or_rofs(&*self.inner, name)
    }

    /// # Errors
    /// - `EROFS`: always, whatever `to` is. A link from a read-only file into a
    ///   writable directory would let the file be written through the new name,
    ///   so this is refused even when `to` is writable.
    fn hard_link(&self, name: &str, to: &dyn Dir, to_name: &str) -> Result<(), Errno> {
        let _ = (name, to, to_name);
        Err(Errno::Rofs)
    }

    /// # Errors
    /// - `ENOENT`: `name` does not exist (`utimensat` looks it up first).
    /// - `EROFS`: otherwise.
    fn set_times_at(
        &self,
        name: &str,
        atime: Option<SetTime>,
        mtime: Option<SetTime>,
    ) -> Result<(), Errno> {
        let _ = (atime, mtime);
        self.inner.stat_at(name)?;
        Err(Errno::Rofs)
    }

    /// # Errors
    /// - `EROFS`: always.
    fn set_times(&self, atime: Option<SetTime>, mtime: Option<SetTime>) -> Result<(), Errno> {
        let _ = (atime, mtime);
        Err(Errno::Rofs)
    }

    fn entries(&self, cookie: u64) -> Result<Box<dyn ReadDir>, Errno> {
        self.inner.entries(cookie)
    }

    fn sync(&self) -> Result<(), Errno> {
        self.inner.sync()
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// `EEXIST` if `name` exists in `dir` (also as a dangling symlink), else `EROFS`.
fn exists_or_rofs(dir: &dyn Dir, name: &str) -> Result<(), Errno> {
    match dir.stat_at(name) {
        Ok(_) => Err(Errno::Exist),
        Err(_) => Err(Errno::Rofs),
    }
}

/// A file opened through a [`ReadOnly`] directory.
struct ReadOnlyFile {
    inner: Box<dyn File>,
}

impl File for ReadOnlyFile {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> Result<usize, Errno> {
        self.inner.read_at(buf, offset)
    }

    /// # Errors
    /// - `EROFS`: always.
    fn write_at(&self, buf: &[u8], offset: u64) -> Result<usize, Errno> {
        let _ = (buf, offset);
        Err(Errno::Rofs)
    }

    /// # Errors
    /// - `EROFS`: always.
    fn append(&self, buf: &[u8]) -> Result<(usize, u64), Errno> {
        let _ = buf;
        Err(Errno::Rofs)
    }

    fn stat(&self) -> Result<Stat, Errno> {
        self.inner.stat()
    }

    /// # Errors
    /// - `EROFS`: always.
    fn set_len(&self, size: u64) -> Result<(), Errno> {
        let _ = size;
        Err(Errno::Rofs)
    }

    /// # Errors
    /// - `EROFS`: always.
    fn set_times(&self, atime: Option<SetTime>, mtime: Option<SetTime>) -> Result<(), Errno> {
        let _ = (atime, mtime);
        Err(Errno::Rofs)
    }

    fn sync(&self) -> Result<(), Errno> {
        self.inner.sync()
    }

    fn datasync(&self) -> Result<(), Errno> {
        self.inner.datasync()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vfs::{FileType, MemFs};

    fn fixture() -> (MemFs, ReadOnly) {
        let fs = MemFs::new();
        fs.write("f", b"contents").unwrap();
        fs.write("d/inner", b"x").unwrap();
        fs.root().symlink("f", "link").unwrap();
        let ro = ReadOnly::new(fs.root());
        (fs, ro)
    }

    fn opts(f: impl FnOnce(&mut OpenOptions)) -> OpenOptions {
        let mut o = OpenOptions::default();
        f(&mut o);
        o
    }

    fn file(node: Result<Node, Errno>) -> Box<dyn File> {
        match node.unwrap() {
            Node::File(f) => f,
            Node::Dir(_) => panic!("a directory"),
        }
    }

    fn dir(node: Result<Node, Errno>) -> Arc<dyn Dir> {
        match node.unwrap() {
            Node::Dir(d) => d,
            Node::File(_) => panic!("a file"),
        }
    }

    #[test]
    fn opens_that_would_change_are_refused() {
        let (fs, ro) = fixture();
        let write = opts(|o| o.write = true);
        let trunc = opts(|o| o.truncate = true);
        let create = opts(|o| o.create = true);
        let excl = opts(|o| o.create_new = true);
        assert_eq!(ro.open("f", &write).err(), Some(Errno::Rofs));
        assert_eq!(ro.open("f", &trunc).err(), Some(Errno::Rofs));
        assert_eq!(ro.open("new", &create).err(), Some(Errno::Rofs));
        assert_eq!(ro.open("new", &excl).err(), Some(Errno::Rofs));
        assert_eq!(ro.open("f", &excl).err(), Some(Errno::Exist));
        assert_eq!(ro.open("link", &excl).err(), Some(Errno::Exist));
        assert_eq!(ro.open("d", &write).err(), Some(Errno::Isdir));
        assert_eq!(ro.open("link", &write).err(), Some(Errno::Loop));
        assert_eq!(ro.open("missing", &write).err(), Some(Errno::Noent));
        let lookup = OpenOptions::lookup_dir();
        assert_eq!(ro.open("f", &lookup).err(), Some(Errno::Notdir));
        // create of an existing name without write changes nothing: allowed.
        let f = file(ro.open("f", &create));
        let mut buf = [0; 8];
        assert_eq!(f.read_at(&mut buf, 0), Ok(8));
        assert_eq!(&buf, b"contents");
        assert_eq!(fs.read("f").unwrap(), b"contents", "truncate left no trace");
        assert_eq!(fs.root().stat_at("new").err(), Some(Errno::Noent));
    }

    #[test]
    fn every_mutation_is_erofs() {
        let (fs, ro) = fixture();
        let before = fs.root().stat_at("f").unwrap();
        let other = MemFs::new().root();
        assert_eq!(ro.create_dir("new"), Err(Errno::Rofs));
        assert_eq!(ro.create_dir("d"), Err(Errno::Exist));
        assert_eq!(ro.remove_dir("d"), Err(Errno::Rofs));
        assert_eq!(ro.remove_dir("missing"), Err(Errno::Rofs));
        assert_eq!(ro.unlink("f"), Err(Errno::Rofs));
        assert_eq!(ro.unlink("missing"), Err(Errno::Rofs));
        assert_eq!(ro.rename("f", &ro, "g"), Err(Errno::Rofs));
        assert_eq!(ro.rename("f", &*fs.root(), "g"), Err(Errno::Rofs));
        assert_eq!(ro.rename("f", &*other, "g"), Err(Errno::Rofs));
        assert_eq!(ro.symlink("f", "new"), Err(Errno::Rofs));
        assert_eq!(ro.symlink("f", "link"), Err(Errno::Exist));
        assert_eq!(ro.hard_link("f", &ro, "g"), Err(Errno::Rofs));
        assert_eq!(ro.hard_link("f", &*other, "g"), Err(Errno::Rofs));
        let now = Some(SetTime::At(7));
        assert_eq!(ro.set_times_at("f", now, now), Err(Errno::Rofs));
        assert_eq!(ro.set_times_at("missing", now, now), Err(Errno::Noent));
        assert_eq!(ro.set_times(now, now), Err(Errno::Rofs));
        let sub = dir(ro.open("d", &OpenOptions::lookup_dir()));
        assert_eq!(sub.unlink("inner"), Err(Errno::Rofs), "subdirectories too");
        assert_eq!(sub.set_times(now, now), Err(Errno::Rofs));
        assert!(sub.as_any().is::<ReadOnly>());

        let f = file(ro.open("f", &OpenOptions::default()));
        assert_eq!(f.write_at(b"x", 0), Err(Errno::Rofs));
        assert_eq!(f.append(b"x"), Err(Errno::Rofs));
        assert_eq!(f.set_len(0), Err(Errno::Rofs));
        assert_eq!(f.set_times(now, now), Err(Errno::Rofs));
        assert_eq!(f.sync(), Ok(()));

        // Nothing changed underneath.
        assert_eq!(fs.read("f").unwrap(), b"contents");
        assert_eq!(fs.root().stat_at("f").unwrap(), before);
        let names: Vec<String> = {
            let mut it = fs.root().entries(0).unwrap();
            std::iter::from_fn(|| it.next_entry())
                .map(|e| e.unwrap().name)
                .collect()
        };
        assert_eq!(names, ["f", "d", "link"]);
        assert_eq!(other.stat_at("g").err(), Some(Errno::Noent));
    }

    #[test]
    fn reads_are_unchanged() {
        let (fs, ro) = fixture();
        let root = fs.root();
        assert_eq!(ro.stat().unwrap(), root.stat().unwrap());
        for name in ["f", "d", "link"] {
            assert_eq!(ro.stat_at(name), root.stat_at(name), "{name}");
        }
        assert_eq!(ro.stat_at("missing"), Err(Errno::Noent));
        assert_eq!(ro.read_link("link").unwrap(), "f");
        assert_eq!(ro.read_link("f"), Err(Errno::Inval));
        let list = |d: &dyn Dir, cookie| {
            let mut it = d.entries(cookie).unwrap();
            std::iter::from_fn(|| it.next_entry())
                .map(|e| e.unwrap())
                .collect::<Vec<_>>()
        };
        let all = list(&ro, 0);
        assert_eq!(all, list(&*root, 0));
        assert_eq!(list(&ro, all[0].next), list(&*root, all[0].next));
        let sub = dir(ro.open("d", &OpenOptions::lookup_dir()));
        assert_eq!(
            sub.stat_at("inner").unwrap().filetype,
            FileType::RegularFile
        );
        let f = file(ro.open("f", &opts(|o| o.read = true)));
        assert_eq!(f.stat().unwrap(), root.stat_at("f").unwrap());
        let mut buf = [0; 16];
        assert_eq!(f.read_at(&mut buf, 3), Ok(5));
        assert_eq!(&buf[..5], b"tents");
    }
}
