//! Nested mounts: a directory with other filesystems mounted at names below it.
//!
//! When one preopen's guest path lies below another's (`/data` and
//! `/data/cache`), the outer directory is wrapped in a [`Mounted`] view, so that
//! walking `/data` into `cache` reaches the inner mount, as on a Unix system;
//! the inner mount is also a preopen of its own.

use super::{Dir, DirEntry, FileType, Node, OpenOptions, ReadDir, SetTime, Stat};
use crate::Errno;
use std::any::Any;
use std::collections::BTreeMap;
use std::sync::Arc;

/// The mount points below one directory: by name, a mounted directory and/or
/// deeper mount points.
#[derive(Default, Clone)]
pub(crate) struct MountTree {
    children: BTreeMap<String, MountNode>,
}

#[derive(Default, Clone)]
struct MountNode {
    mount: Option<Arc<dyn Dir>>,
    below: MountTree,
}

impl MountTree {
    /// Records `dir` as mounted at `path` (components relative to this tree).
    pub(crate) fn insert(&mut self, path: &[&str], dir: Arc<dyn Dir>) {
        let Some((first, rest)) = path.split_first() else {
            return;
        };
        let node = self.children.entry(first.to_string()).or_default();
        if rest.is_empty() {
            node.mount = Some(dir);
        } else {
            node.below.insert(rest, dir);
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.children.is_empty()
    }
}

/// `inner` with the mount points of `mounts` laid over it.
pub(crate) struct Mounted {
    inner: Arc<dyn Dir>,
    mounts: MountTree,
}

impl Mounted {
    /// Wraps `inner` if anything is mounted below it.
    pub(crate) fn wrap(inner: Arc<dyn Dir>, mounts: MountTree) -> Arc<dyn Dir> {
        if mounts.is_empty() {
            inner
        } else {
            Arc::new(Mounted { inner, mounts })
        }
    }

    fn busy(&self, name: &str) -> Result<(), Errno> {
        if self.mounts.children.contains_key(name) {
            return Err(Errno::Busy);
        }
        Ok(())
    }
}

impl Dir for Mounted {
    fn open(&self, name: &str, options: &OpenOptions) -> Result<Node, Errno> {
        let Some(node) = self.mounts.children.get(name) else {
            return self.inner.open(name, options);
        };
        let dir = match &node.mount {
            Some(mount) => {
                if options.create_new {
                    return Err(Errno::Exist);
                }
                if options.write || options.truncate {
                    return Err(Errno::Isdir);
                }
                mount.clone()
            }
            None => match self.inner.open(name, options)? {
                Node::Dir(d) => d,
                file @ Node::File(_) => return Ok(file),
            },
        };
        Ok(Node::Dir(Mounted::wrap(dir, node.below.clone())))
    }

    fn stat_at(&self, name: &str) -> Result<Stat, Errno> {
        match self
            .mounts
            .children
            .get(name)
            .and_then(|n| n.mount.as_ref())
        {
            Some(mount) => mount.stat(),
            None => self.inner.stat_at(name),
        }
    }

    fn stat(&self) -> Result<Stat, Errno> {
        self.inner.stat()
    }

    fn create_dir(&self, name: &str) -> Result<(), Errno> {
        if self.mounts.children.contains_key(name) {
            return Err(Errno::Exist);
        }
        self.inner.create_dir(name)
    }

    fn remove_dir(&self, name: &str) -> Result<(), Errno> {
        self.busy(name)?;
        self.inner.remove_dir(name)
    }

    fn unlink(&self, name: &str) -> Result<(), Errno> {
        if self.mounts.children.contains_key(name) {
            return Err(Errno::Isdir);
        }
        self.inner.unlink(name)
    }

    /// `EBUSY` if `name` or `to_name` (in `to`) is a mount point; the core
    /// checks the target too, for renames from a directory without mounts.
    fn rename(&self, name: &str, to: &dyn Dir, to_name: &str) -> Result<(), Errno> {
        self.busy(name)?;
        if to.is_mount_point(to_name) {
            return Err(Errno::Busy);
        }
        self.inner.rename(name, to, to_name)
    }

    fn symlink(&self, target: &str, name: &str) -> Result<(), Errno> {
        if self.mounts.children.contains_key(name) {
            return Err(Errno::Exist);
        }
        self.inner.symlink(target, name)
    }

    fn hard_link(&self, name: &str, to: &dyn Dir, to_name: &str) -> Result<(), Errno> {
        self.busy(name)?;
        if to.is_mount_point(to_name) {
            return Err(Errno::Exist);
        }
        self.inner.hard_link(name, to, to_name)
    }

    fn read_link(&self, name: &str) -> Result<String, Errno> {
        match self.mounts.children.get(name) {
            Some(n) if n.mount.is_some() => Err(Errno::Inval),
            _ => self.inner.read_link(name),
        }
    }

    fn set_times_at(
        &self,
        name: &str,
        atime: Option<SetTime>,
        mtime: Option<SetTime>,
    ) -> Result<(), Errno> {
        match self
            .mounts
            .children
            .get(name)
            .and_then(|n| n.mount.as_ref())
        {
            Some(mount) => mount.set_times(atime, mtime),
            None => self.inner.set_times_at(name, atime, mtime),
        }
    }

    fn set_times(&self, atime: Option<SetTime>, mtime: Option<SetTime>) -> Result<(), Errno> {
        self.inner.set_times(atime, mtime)
    }

    /// Mount points first (cookies `1..=k`), then the inner directory's entries
    /// with their cookies shifted by `k`, minus names hidden by a mount.
    fn entries(&self, cookie: u64) -> Result<Box<dyn ReadDir>, Errno> {
        let mounts: Vec<DirEntry> = self
            .mounts
            .children
            .iter()
            .filter_map(|(name, n)| Some((name, n.mount.as_ref()?)))
            .enumerate()
            .map(|(i, (name, mount))| {
                Ok(DirEntry {
                    name: name.clone(),
                    filetype: FileType::Directory,
                    ino: mount.stat()?.ino,
                    next: i as u64 + 1,
                })
            })
            .collect::<Result<_, Errno>>()?;
        let k = mounts.len() as u64;
        let hidden: Vec<String> = mounts.iter().map(|m| m.name.clone()).collect();
        let inner = self.inner.entries(cookie.saturating_sub(k))?;
        let mounts = mounts
            .into_iter()
            .skip(cookie.min(k) as usize)
            .collect::<Vec<_>>()
            .into_iter();
        Ok(Box::new(MountedReadDir {
            mounts,
            hidden,
            inner,
            shift: k,
        }))
    }

    fn sync(&self) -> Result<(), Errno> {
        self.inner.sync()
    }

    fn is_mount_point(&self, name: &str) -> bool {
        self.mounts.children.contains_key(name)
    }

    /// The inner directory's `Any`, so that its backend still recognises it as
    /// a rename or link target.
    fn as_any(&self) -> &dyn Any {
        self.inner.as_any()
    }
}

struct MountedReadDir {
    mounts: std::vec::IntoIter<DirEntry>,
    hidden: Vec<String>,
    inner: Box<dyn ReadDir>,
    shift: u64,
}

impl ReadDir for MountedReadDir {
    fn next_entry(&mut self) -> Option<Result<DirEntry, Errno>> {
        if let Some(m) = self.mounts.next() {
            return Some(Ok(m));
        }
        loop {
            let mut e = match self.inner.next_entry()? {
                Ok(e) => e,
                Err(e) => return Some(Err(e)),
            };
            if self.hidden.contains(&e.name) {
                continue;
            }
            e.next += self.shift;
            return Some(Ok(e));
        }
    }
}
