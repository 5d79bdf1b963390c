//! `Overlay`: a copy-on-write directory tree over a lower layer that is never
//! written.
//!
//! # How it works
//!
//! The merged view is made of two directory trees, as in Linux's overlayfs:
//!
//! - Lookups ask the upper layer first, then the lower one. A directory present
//!   in both is *merged*: its entries are the union of the two.
//! - Every change happens in the upper layer. Before a lower object changes it is
//!   *copied up*: its parent directories are created in the upper layer (with the
//!   lower ones' times), then the object itself (a file's contents and times, a
//!   symlink's target, an empty directory).
//! - A lower name that is removed (or renamed away) gets a *whiteout* that hides
//!   it. A directory created over a whiteout is *opaque*: nothing of the lower
//!   layer shows through it.
//!
//! Whiteouts and opaque marks live in the overlay's own memory, never in the
//! upper layer (where a guest could see marker files). They are keyed by the
//! upper directory's `(dev, ino)`, which is where Linux keeps them too (as
//! xattrs and special files of that directory): a name can only be whited out
//! in a directory that has an upper copy, and an upper directory keeps its marks
//! when it is renamed. So the upper layer must give each directory a stable,
//! unique inode number, as [`MemFs`](super::MemFs) and `HostDir` do.
//!
//! Renaming a directory that has anything in the lower layer first copies the
//! whole subtree up (each of its directories becomes opaque, since its upper
//! copy now holds everything), then renames it within the upper layer.
//!
//! # Listing cookies
//!
//! A listing has two phases. First the upper directory's entries whose names do
//! not exist in the lower directory, with the upper layer's own cookies (which
//! must be below 2^62). Then the lower directory's entries that are not whited
//! out, with cookie `2^62 | lower cookie`; a name that exists in both layers is
//! listed here, as the upper object it now is. Which phase lists a name depends
//! only on the lower layer, which never changes, so copying up, replacing or
//! deleting entries while a listing is under way never lists a name twice nor
//! skips one that was there all along.
//!
//! # Inode numbers
//!
//! Every object reports the overlay's own device number. A lower object keeps its
//! lower inode number with bit 63 set, an upper object its upper inode number
//! with bit 63 clear, so the two layers never collide (as long as neither uses
//! bit 63). A path's inode number is therefore stable until the object is copied
//! up: from then on it is the upper copy's number (as on Linux's overlayfs
//! without `xino`/`index`). Hard links in the lower layer are copied up as
//! separate files, as Linux does without `index=on`. A merged directory reports
//! `nlink == 1`, as Linux does: counting subdirectories across layers is not
//! worth it, and 1 tells tools such as `find` that the count means nothing.
//!
//! # Open handles
//!
//! A file opened for reading in the lower layer reads it in place. If the file is
//! copied up while the handle is open (another handle writes it, a rename moves
//! it), the handle follows the copy, as on Linux since 4.19. A handle on a lower
//! file that is then deleted keeps reading it, as POSIX says, but can no longer
//! change it (`ENOENT`).
//!
//! A directory handle follows its upper copy through renames. A handle opened on
//! a directory that had no upper copy yet finds one later through its parent
//! handle and its name. So if such a directory is renamed away (by another
//! handle) while it still has no upper copy, the handle keeps showing the lower
//! directory, and changes through it fail with `ENOENT`; if another directory is
//! then created under the old name, the handle shows that one.
//!
//! # Limits
//!
//! - A lower device, socket or FIFO cannot be copied up: opening one for writing
//!   is `ENOTSUP` (reading works).
//! - The lower layer must not change while the overlay uses it (as with Linux's
//!   overlayfs); if it does, the merged view is unspecified, but still confined.
//! - Whiteouts and opaque marks live as long as the overlay: they are not saved
//!   anywhere, so a new overlay over the same upper directory does not see them.

use super::{Dir, DirEntry, File, FileType, Node, OpenOptions, ReadDir, SetTime, Stat};
use crate::Errno;
use std::any::Any;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, RwLock, Weak};

/// Set in the inode number of a lower object.
const LOWER_INO: u64 = 1 << 63;
/// Set in a listing cookie of the lower phase.
const LOWER_PHASE: u64 = 1 << 62;
/// How much of a file one copy-up step reads at a time.
const COPY_CHUNK: usize = 64 * 1024;
/// `DirNode::absent_at` before any lookup.
const NEVER: u64 = u64::MAX;

/// A directory's identity in one layer: `(dev, ino)`.
type Key = (u64, u64);

/// A copy-on-write view of a `lower` directory tree: changes go to `upper`, and
/// the lower layer is never written (see the module docs for the full story).
///
/// `upper` is typically an empty [`MemFs`](super::MemFs) root and `lower` a
/// `HostDir` or any other [`Dir`]. The upper layer belongs to the
/// overlay: changing it behind the overlay's back gives unspecified (but safe)
/// results.
///
/// ```
/// use std::sync::Arc;
/// use vasi::vfs::{Dir, MemFs, Overlay};
/// let image = MemFs::new();
/// image.write("etc/app.conf", b"debug = false")?;
/// let scratch = MemFs::new();
/// let root = Overlay::new(scratch.root(), image.root());
/// // A guest may now rewrite etc/app.conf: the change lands in `scratch`.
/// let ctx = vasi::WasiCtxBuilder::new()
///     .preopen_dir(Arc::new(root), "/")
///     .build()?;
/// # drop(ctx);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Overlay {
    node: Arc<DirNode>,
}

impl std::fmt::Debug for Overlay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Overlay")
            .field("dev", &self.node.fs.dev)
            .finish_non_exhaustive()
    }
}

impl Overlay {
    /// The merged view of `upper` over `lower`; only `upper` is ever changed.
    pub fn new(upper: Arc<dyn Dir>, lower: Arc<dyn Dir>) -> Overlay {
        let fs = Arc::new(Shared {
            dev: super::new_dev(),
            upper_root: upper,
            upper_gen: AtomicU64::new(0),
            state: Mutex::new(State::default()),
        });
        Overlay {
            node: Arc::new(DirNode::new(fs, None, Some(lower))),
        }
    }
}

/// What all handles of one overlay share.
struct Shared {
    dev: u64,
    upper_root: Arc<dyn Dir>,
    /// Bumped whenever a directory appears in the upper layer, so that a handle
    /// that saw none under its name knows when to look again.
    upper_gen: AtomicU64,
    /// Every change holds this lock from its first lookup to its last step.
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// Whiteouts and opaque marks, by upper directory.
    marks: HashMap<Key, Marks>,
    /// Open read handles on lower files, by lower parent directory and name: a
    /// copy-up switches them to the copy.
    readers: HashMap<(Key, String), Vec<Weak<RwLock<Layer>>>>,
    /// While a multi-step change runs: what it created, to take back if a
    /// later step fails.
    undo: Option<Undo>,
}

/// What a multi-step change (a rename or a link that copies its source up
/// first) created in the upper layer, so that a failure gives it all back:
/// a rename that runs out of room half way through copying a directory up
/// must not leave the copied half charging the upper layer's quota.
#[derive(Default)]
struct Undo {
    /// Objects created, in order: (upper directory, name, is a directory).
    created: Vec<(Arc<dyn Dir>, String, bool)>,
    /// Marks replaced, with what they were before.
    marks: Vec<(Key, Option<Marks>)>,
}

impl Undo {
    /// Removes what was created, newest first, and restores the marks. The
    /// directories it removes from keep their times, as a copy-up does.
    /// Read handles switched to a removed copy keep reading it (it has the
    /// lower file's contents).
    fn rollback(self, st: &mut State) {
        for (key, old) in self.marks.into_iter().rev() {
            match old {
                Some(m) => st.marks.insert(key, m),
                None => st.marks.remove(&key),
            };
        }
        for (dir, name, is_dir) in self.created.into_iter().rev() {
            let keep = KeepTimes::new(&*dir);
            // Best effort: the first error is the one the guest sees.
            let _ = if is_dir {
                dir.remove_dir(&name)
            } else {
                dir.unlink(&name)
            };
            if let Ok(keep) = keep {
                let _ = keep.restore();
            }
        }
    }
}

#[derive(Default)]
struct Marks {
    /// Nothing of the lower layer shows through this directory.
    opaque: bool,
    /// Lower names hidden here.
    whiteouts: HashSet<String>,
}

impl State {
    fn is_whiteout(&self, dir: Key, name: &str) -> bool {
        self.marks
            .get(&dir)
            .is_some_and(|m| m.whiteouts.contains(name))
    }

    fn is_opaque(&self, dir: Key) -> bool {
        self.marks.get(&dir).is_some_and(|m| m.opaque)
    }

    fn add_whiteout(&mut self, dir: Key, name: &str) {
        self.marks
            .entry(dir)
            .or_default()
            .whiteouts
            .insert(name.to_string());
    }

    /// Removes a whiteout; returns whether there was one.
    fn remove_whiteout(&mut self, dir: Key, name: &str) -> bool {
        let Some(m) = self.marks.get_mut(&dir) else {
            return false;
        };
        let had = m.whiteouts.remove(name);
        if !m.opaque && m.whiteouts.is_empty() {
            self.marks.remove(&dir);
        }
        had
    }

    /// Marks `dir` opaque; its whiteouts no longer matter.
    fn set_opaque(&mut self, dir: Key) {
        let old = self.marks.insert(
            dir,
            Marks {
                opaque: true,
                whiteouts: HashSet::new(),
            },
        );
        if let Some(undo) = &mut self.undo {
            undo.marks.push((dir, old));
        }
    }

    /// Notes that `name` was just created in the upper directory `dir`.
    fn created(&mut self, dir: &Arc<dyn Dir>, name: &str, is_dir: bool) {
        if let Some(undo) = &mut self.undo {
            undo.created.push((dir.clone(), name.to_string(), is_dir));
        }
    }

    /// Runs `step` so that, if it fails, everything it created in the upper
    /// layer is removed again (see [`Undo`]).
    fn undoable<T>(
        &mut self,
        step: impl FnOnce(&mut State) -> Result<T, Errno>,
    ) -> Result<T, Errno> {
        let outer = self.undo.replace(Undo::default());
        let r = step(self);
        let undo = std::mem::replace(&mut self.undo, outer).unwrap_or_default();
        if r.is_err() {
            undo.rollback(self);
        } else if let Some(outer) = &mut self.undo {
            // Part of a larger change: that one may still have to undo it.
            outer.created.extend(undo.created);
            outer.marks.extend(undo.marks);
        }
        r
    }

    /// Drops the marks of an upper directory that no longer exists (its inode
    /// number may be reused).
    fn forget(&mut self, dir: Key) {
        self.marks.remove(&dir);
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Every change to the state is completed before anything that can panic, so
    // a poisoned lock holds consistent data.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn key_of(st: &Stat) -> Key {
    (st.dev, st.ino)
}

/// An upper directory and its identity.
struct UpperDir {
    dir: Arc<dyn Dir>,
    key: Key,
}

/// One merged directory, as reached through a handle.
struct DirNode {
    fs: Arc<Shared>,
    /// The parent and this directory's name in it; `None` for the root.
    parent: Option<(Arc<DirNode>, String)>,
    /// The upper copy, once known to exist (it never goes away for a handle).
    upper: OnceLock<UpperDir>,
    /// `upper_gen` when the upper copy was last found missing.
    absent_at: AtomicU64,
    /// The lower directory, if there was one when this handle was opened; it is
    /// hidden once the upper copy is opaque.
    lower: Option<Arc<dyn Dir>>,
    lower_key: OnceLock<Key>,
}

/// Where a name was found in the merged view.
enum Found {
    /// In the upper layer (which hides any lower object of that name).
    Upper(Stat),
    /// Only in the lower layer.
    Lower(Stat),
    /// Nowhere (or whited out).
    Missing,
}

/// Keeps an upper directory's times across a copy-up into it: copying up does
/// not change the merged directory's entries, so it must not look modified
/// (Linux restores them too).
struct KeepTimes<'a> {
    dir: &'a dyn Dir,
    times: Stat,
}

impl<'a> KeepTimes<'a> {
    fn new(dir: &'a dyn Dir) -> Result<Self, Errno> {
        Ok(KeepTimes {
            dir,
            times: dir.stat()?,
        })
    }

    fn restore(self) -> Result<(), Errno> {
        let t = self.times;
        ignore_notsup(
            self.dir
                .set_times(Some(SetTime::At(t.atim)), Some(SetTime::At(t.mtim))),
        )
    }
}

/// Copying times is part of a faithful copy-up, but an upper backend that
/// cannot set times (`ENOTSUP`) still gets a correct copy of the contents.
fn ignore_notsup(r: Result<(), Errno>) -> Result<(), Errno> {
    match r {
        Err(Errno::Notsup) => Ok(()),
        other => other,
    }
}

fn lookup_result(r: Result<Node, Errno>) -> Result<Option<Arc<dyn Dir>>, Errno> {
    match r {
        Ok(Node::Dir(d)) => Ok(Some(d)),
        Ok(Node::File(_)) | Err(Errno::Noent | Errno::Notdir | Errno::Loop) => Ok(None),
        Err(e) => Err(e),
    }
}

impl DirNode {
    fn new(
        fs: Arc<Shared>,
        parent: Option<(Arc<DirNode>, String)>,
        lower: Option<Arc<dyn Dir>>,
    ) -> Self {
        DirNode {
            fs,
            parent,
            upper: OnceLock::new(),
            absent_at: AtomicU64::new(NEVER),
            lower,
            lower_key: OnceLock::new(),
        }
    }

    /// A handle on the subdirectory `name`, given its upper and lower
    /// directories.
    fn child(
        self: &Arc<Self>,
        name: &str,
        upper: Option<Arc<dyn Dir>>,
        lower: Option<Arc<dyn Dir>>,
    ) -> Result<Arc<DirNode>, Errno> {
        let node = DirNode::new(
            self.fs.clone(),
            Some((self.clone(), name.to_string())),
            lower,
        );
        if let Some(dir) = upper {
            let key = key_of(&dir.stat()?);
            // A fresh cell: it cannot be set already.
            let _ = node.upper.set(UpperDir { dir, key });
        }
        Ok(Arc::new(node))
    }

    /// The upper copy of this directory, if it exists.
    fn upper(&self) -> Result<Option<&UpperDir>, Errno> {
        if let Some(u) = self.upper.get() {
            return Ok(Some(u));
        }
        let generation = self.fs.upper_gen.load(Ordering::Acquire);
        if self.absent_at.load(Ordering::Acquire) == generation {
            return Ok(None);
        }
        let dir = match &self.parent {
            None => self.fs.upper_root.clone(),
            Some((parent, name)) => {
                let found = match parent.upper()? {
                    Some(pu) => lookup_result(pu.dir.open(name, &OpenOptions::lookup_dir()))?,
                    None => None,
                };
                match found {
                    Some(d) => d,
                    None => {
                        self.absent_at.store(generation, Ordering::Release);
                        return Ok(None);
                    }
                }
            }
        };
        let key = key_of(&dir.stat()?);
        Ok(Some(self.upper.get_or_init(|| UpperDir { dir, key })))
    }

    fn lower_key(&self) -> Result<Key, Errno> {
        if let Some(k) = self.lower_key.get() {
            return Ok(*k);
        }
        let lower = self.lower.as_ref().ok_or(Errno::Noent)?;
        let key = key_of(&lower.stat()?);
        Ok(*self.lower_key.get_or_init(|| key))
    }

    /// The lower directory as far as `name` (or, for `None`, the directory
    /// itself) is concerned: `None` if there is none, if this directory is
    /// opaque, or if `name` is whited out.
    fn lower_in(&self, st: &State, name: Option<&str>) -> Result<Option<&Arc<dyn Dir>>, Errno> {
        let Some(lower) = &self.lower else {
            return Ok(None);
        };
        if let Some(u) = self.upper()? {
            if st.is_opaque(u.key) || name.is_some_and(|n| st.is_whiteout(u.key, n)) {
                return Ok(None);
            }
        }
        Ok(Some(lower))
    }

    /// As `lower_in`, taking the lock for the check only.
    fn visible_lower(&self, name: Option<&str>) -> Result<Option<&Arc<dyn Dir>>, Errno> {
        // Resolve the upper copy first: it may call into the backend.
        self.upper()?;
        let st = lock(&self.fs.state);
        self.lower_in(&st, name)
    }

    /// Whether the lower layer has something visible under `name`.
    fn lower_has(&self, st: &State, name: &str) -> Result<bool, Errno> {
        match self.lower_in(st, Some(name))? {
            Some(l) => match l.stat_at(name) {
                Ok(_) => Ok(true),
                Err(Errno::Noent) => Ok(false),
                Err(e) => Err(e),
            },
            None => Ok(false),
        }
    }

    fn find(&self, st: &State, name: &str) -> Result<Found, Errno> {
        if let Some(u) = self.upper()? {
            match u.dir.stat_at(name) {
                Ok(s) => return Ok(Found::Upper(s)),
                Err(Errno::Noent) => {}
                Err(e) => return Err(e),
            }
        }
        match self.lower_in(st, Some(name))? {
            Some(l) => match l.stat_at(name) {
                Ok(s) => Ok(Found::Lower(s)),
                Err(Errno::Noent) => Ok(Found::Missing),
                Err(e) => Err(e),
            },
            None => Ok(Found::Missing),
        }
    }

    /// The lower directory that merges with the subdirectory `name`.
    fn lower_child_dir(&self, st: &State, name: &str) -> Result<Option<Arc<dyn Dir>>, Errno> {
        match self.lower_in(st, Some(name))? {
            Some(l) => lookup_result(l.open(name, &OpenOptions::lookup_dir())),
            None => Ok(None),
        }
    }

    /// A handle on the existing subdirectory `name`.
    fn child_dir(self: &Arc<Self>, st: &State, name: &str) -> Result<Arc<DirNode>, Errno> {
        let upper = match self.upper()? {
            Some(u) => lookup_result(u.dir.open(name, &OpenOptions::lookup_dir()))?,
            None => None,
        };
        let lower = self.lower_child_dir(st, name)?;
        if upper.is_none() && lower.is_none() {
            return Err(Errno::Noent);
        }
        self.child(name, upper, lower)
    }

    /// Identity of this merged directory: its upper copy, or its lower one.
    fn identity(&self) -> Result<(bool, Key), Errno> {
        match self.upper()? {
            Some(u) => Ok((true, u.key)),
            None => Ok((false, self.lower_key()?)),
        }
    }

    fn dir_appeared(&self) {
        self.fs.upper_gen.fetch_add(1, Ordering::AcqRel);
    }

    /// Makes sure this directory has an upper copy (and so do its parents);
    /// a new copy gets the lower directory's times.
    ///
    /// # Errors
    /// - `ENOENT`: this handle's directory has been removed from the merged view.
    fn copy_up(&self, st: &mut State) -> Result<&UpperDir, Errno> {
        if let Some(u) = self.upper()? {
            return Ok(u);
        }
        // The root always has its upper copy, so there is a parent here.
        let (Some((parent, name)), Some(lower)) = (&self.parent, &self.lower) else {
            return Err(Errno::Noent);
        };
        let pu = parent.copy_up(st)?;
        if st.is_opaque(pu.key) || st.is_whiteout(pu.key, name) {
            return Err(Errno::Noent);
        }
        let times = lower.stat()?;
        let keep = KeepTimes::new(&*pu.dir)?;
        pu.dir.create_dir(name)?;
        st.created(&pu.dir, name, true);
        self.dir_appeared();
        ignore_notsup(pu.dir.set_times_at(
            name,
            Some(SetTime::At(times.atim)),
            Some(SetTime::At(times.mtim)),
        ))?;
        keep.restore()?;
        self.upper()?.ok_or(Errno::Noent)
    }

    /// Copies the lower regular file `name` up (empty if `truncate`), switches
    /// the read handles open on it to the copy, and returns the copy, open for
    /// reading and writing.
    fn copy_up_file(
        &self,
        st: &mut State,
        name: &str,
        truncate: bool,
    ) -> Result<Arc<dyn File>, Errno> {
        let lower = self.lower_in(st, Some(name))?.ok_or(Errno::Noent)?;
        let lower_key = self.lower_key()?;
        let Node::File(src) = lower.open(name, &OpenOptions::default())? else {
            return Err(Errno::Isdir);
        };
        let meta = src.stat()?;
        if meta.filetype != FileType::RegularFile {
            // A device, socket or FIFO cannot be recreated through `Dir`.
            return Err(Errno::Notsup);
        }
        let pu = self.copy_up(st)?;
        let keep = KeepTimes::new(&*pu.dir)?;
        let create = OpenOptions {
            read: true,
            write: true,
            create_new: true,
            ..OpenOptions::default()
        };
        let Node::File(copy) = pu.dir.open(name, &create)? else {
            return Err(Errno::Isdir);
        };
        st.created(&pu.dir, name, false);
        let copied = if truncate {
            // A truncated file is new content: its times are now.
            Ok(())
        } else {
            copy_contents(&*src, &*copy).and_then(|()| {
                ignore_notsup(
                    copy.set_times(Some(SetTime::At(meta.atim)), Some(SetTime::At(meta.mtim))),
                )
            })
        };
        if let Err(e) = copied {
            // A half copy would be visible: remove it. The copy's error is
            // the one to report, whatever the removal says.
            pu.dir.unlink(name).ok();
            if let Some(undo) = &mut st.undo {
                undo.created.pop();
            }
            return Err(e);
        }
        keep.restore()?;
        let copy: Arc<dyn File> = Arc::from(copy);
        if let Some(readers) = st.readers.remove(&(lower_key, name.to_string())) {
            for cell in readers.iter().filter_map(Weak::upgrade) {
                *write_layer(&cell) = Layer::Upper(copy.clone());
            }
        }
        Ok(copy)
    }

    /// Copies the lower symlink `name` up.
    fn copy_up_symlink(&self, st: &mut State, name: &str) -> Result<(), Errno> {
        let lower = self.lower_in(st, Some(name))?.ok_or(Errno::Noent)?;
        let target = lower.read_link(name)?;
        let meta = lower.stat_at(name)?;
        let pu = self.copy_up(st)?;
        let keep = KeepTimes::new(&*pu.dir)?;
        pu.dir.symlink(&target, name)?;
        st.created(&pu.dir, name, false);
        ignore_notsup(pu.dir.set_times_at(
            name,
            Some(SetTime::At(meta.atim)),
            Some(SetTime::At(meta.mtim)),
        ))?;
        keep.restore()
    }

    /// Copies up the lower object `name` (a directory: only itself, empty).
    fn copy_up_entry(
        self: &Arc<Self>,
        st: &mut State,
        name: &str,
        meta: &Stat,
    ) -> Result<(), Errno> {
        match meta.filetype {
            FileType::Directory => {
                let lower = self.lower_child_dir(st, name)?;
                self.child(name, None, lower)?.copy_up(st).map(drop)
            }
            FileType::SymbolicLink => self.copy_up_symlink(st, name),
            _ => self.copy_up_file(st, name, false).map(drop),
        }
    }

    /// Copies everything of the lower layer in this directory's subtree up, and
    /// marks each of its directories opaque: the upper copy then holds the whole
    /// merged subtree and can be renamed within the upper layer.
    fn materialize(self: &Arc<Self>, st: &mut State) -> Result<(), Errno> {
        let created = self.upper()?.is_none();
        let u = self.copy_up(st)?;
        let (dir, key) = (u.dir.clone(), u.key);
        if let Some(lower) = self.lower_in(st, None)?.cloned() {
            let mut entries = lower.entries(0)?;
            while let Some(entry) = entries.next_entry() {
                let entry = entry?;
                let name = entry.name.as_str();
                if st.is_whiteout(key, name) {
                    continue;
                }
                let in_upper = match dir.stat_at(name) {
                    Ok(s) => Some(s),
                    Err(Errno::Noent) => None,
                    Err(e) => return Err(e),
                };
                let meta = lower.stat_at(name)?;
                match in_upper {
                    None if meta.filetype == FileType::Directory => {
                        let child = self.child(name, None, self.lower_child_dir(st, name)?)?;
                        child.materialize(st)?;
                    }
                    None => self.copy_up_entry(st, name, &meta)?,
                    Some(s)
                        if s.filetype == FileType::Directory
                            && meta.filetype == FileType::Directory =>
                    {
                        self.child_dir(st, name)?.materialize(st)?;
                    }
                    // The upper object hides the lower one.
                    Some(_) => {}
                }
            }
            if created {
                // Filling the copy touched it; it stands for the lower directory.
                let meta = lower.stat()?;
                ignore_notsup(
                    dir.set_times(Some(SetTime::At(meta.atim)), Some(SetTime::At(meta.mtim))),
                )?;
            }
        }
        st.set_opaque(key);
        Ok(())
    }

    /// Whether the merged directory has no entries.
    fn is_empty(&self, st: &State) -> Result<bool, Errno> {
        let upper_key = match self.upper()? {
            Some(u) => {
                if u.dir.entries(0)?.next_entry().transpose()?.is_some() {
                    return Ok(false);
                }
                Some(u.key)
            }
            None => None,
        };
        let Some(lower) = self.lower_in(st, None)? else {
            return Ok(true);
        };
        let mut entries = lower.entries(0)?;
        while let Some(entry) = entries.next_entry() {
            let entry = entry?;
            if !upper_key.is_some_and(|k| st.is_whiteout(k, &entry.name)) {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Marks `name` (which is no longer in the upper directory) whited out if
    /// the lower layer has it, and touches the directory as a removal does.
    fn hide_lower(&self, st: &mut State, name: &str, lower_had: bool) -> Result<(), Errno> {
        if lower_had {
            let u = self.copy_up(st)?;
            st.add_whiteout(u.key, name);
            ignore_notsup(u.dir.set_times(None, Some(SetTime::Now)))?;
        }
        Ok(())
    }

    fn tag(&self, mut st: Stat, lower: bool) -> Stat {
        st.dev = self.fs.dev;
        st.ino = tag_ino(st.ino, lower);
        st
    }

    /// The merged stat of the upper object `name` whose upper stat is `s`.
    fn upper_child_stat(&self, name: &str, s: Stat) -> Result<Stat, Errno> {
        let mut out = self.tag(s, false);
        if s.filetype == FileType::Directory {
            let st = lock(&self.fs.state);
            if !st.is_opaque(key_of(&s)) {
                if let Some(l) = self.lower_in(&st, Some(name))? {
                    if l.stat_at(name)
                        .is_ok_and(|m| m.filetype == FileType::Directory)
                    {
                        out.nlink = 1;
                    }
                }
            }
        }
        Ok(out)
    }

    /// Wraps what the upper layer opened under `name`.
    fn wrap_upper(self: &Arc<Self>, st: &State, name: &str, node: Node) -> Result<Node, Errno> {
        Ok(match node {
            Node::Dir(d) => {
                let lower = self.lower_child_dir(st, name)?;
                Node::Dir(Arc::new(Overlay {
                    node: self.child(name, Some(d), lower)?,
                }))
            }
            Node::File(f) => Node::File(Box::new(OverlayFile {
                dev: self.fs.dev,
                layer: Arc::new(RwLock::new(Layer::Upper(Arc::from(f)))),
                origin: None,
            })),
        })
    }

    /// Opens the existing `name` without changing anything.
    fn open_existing(
        self: &Arc<Self>,
        st: &mut State,
        name: &str,
        options: &OpenOptions,
    ) -> Result<Node, Errno> {
        let read_only = OpenOptions {
            read: options.read,
            directory: options.directory,
            ..OpenOptions::default()
        };
        if let Some(u) = self.upper()? {
            match u.dir.open(name, &read_only) {
                Ok(node) => return self.wrap_upper(st, name, node),
                Err(Errno::Noent) => {}
                Err(e) => return Err(e),
            }
        }
        let lower = self.lower_in(st, Some(name))?.ok_or(Errno::Noent)?;
        match lower.open(name, &read_only)? {
            Node::Dir(d) => Ok(Node::Dir(Arc::new(Overlay {
                node: self.child(name, None, Some(d))?,
            }))),
            Node::File(f) => {
                let key = (self.lower_key()?, name.to_string());
                let layer = Arc::new(RwLock::new(Layer::Lower(f)));
                let readers = st.readers.entry(key.clone()).or_default();
                readers.retain(|w| w.strong_count() > 0);
                readers.push(Arc::downgrade(&layer));
                Ok(Node::File(Box::new(OverlayFile {
                    dev: self.fs.dev,
                    layer,
                    origin: Some(Origin {
                        dir: self.clone(),
                        name: key.1,
                        key: key.0,
                    }),
                })))
            }
        }
    }

    fn open(self: &Arc<Self>, name: &str, options: &OpenOptions) -> Result<Node, Errno> {
        let mut st = lock(&self.fs.state);
        let st = &mut *st;
        let changes = options.write || options.truncate || options.create || options.create_new;
        if !changes {
            return self.open_existing(st, name, options);
        }
        match self.find(st, name)? {
            Found::Upper(_) => {
                let u = self.upper()?.ok_or(Errno::Noent)?;
                let node = u.dir.open(name, options)?;
                self.wrap_upper(st, name, node)
            }
            Found::Lower(meta) => {
                // The errno order is MemFs's (and Linux's).
                if options.create_new {
                    return Err(Errno::Exist);
                }
                let writes = options.write || options.truncate;
                match meta.filetype {
                    FileType::SymbolicLink => Err(Errno::Loop),
                    FileType::Directory if writes => Err(Errno::Isdir),
                    _ if options.directory && meta.filetype != FileType::Directory => {
                        Err(Errno::Notdir)
                    }
                    FileType::RegularFile if writes => {
                        let copy = self.copy_up_file(st, name, options.truncate)?;
                        Ok(Node::File(Box::new(OverlayFile {
                            dev: self.fs.dev,
                            layer: Arc::new(RwLock::new(Layer::Upper(copy))),
                            origin: None,
                        })))
                    }
                    // Special files cannot be copied up (see copy_up_file).
                    _ if writes => Err(Errno::Notsup),
                    _ => self.open_existing(st, name, options),
                }
            }
            Found::Missing => {
                if !(options.create || options.create_new) || options.directory {
                    return Err(Errno::Noent);
                }
                let u = self.copy_up(st)?;
                let node = u.dir.open(name, options)?;
                st.remove_whiteout(u.key, name);
                self.wrap_upper(st, name, node)
            }
        }
    }
}

/// Copies all of `src` into `dst` (which is empty).
fn copy_contents(src: &dyn File, dst: &dyn File) -> Result<(), Errno> {
    let mut buf = vec![0; COPY_CHUNK];
    let mut offset = 0u64;
    loop {
        let n = src.read_at(&mut buf, offset)?;
        if n == 0 {
            return Ok(());
        }
        dst.write_at(&buf[..n], offset)?;
        offset += n as u64;
    }
}

impl Overlay {
    /// The other directory, if it belongs to this same overlay.
    fn same_overlay<'a>(&self, to: &'a dyn Dir) -> Result<&'a Overlay, Errno> {
        match to.as_any().downcast_ref::<Overlay>() {
            Some(o) if Arc::ptr_eq(&o.node.fs, &self.node.fs) => Ok(o),
            _ => Err(Errno::Xdev),
        }
    }
}

impl Dir for Overlay {
    /// Opens `name`: the upper object if there is one, else the lower one.
    /// Opening a lower file for writing or truncation copies it up first;
    /// creating a file creates it in the upper layer.
    ///
    /// # Errors
    /// As [`Dir::open`], and:
    /// - `ENOTSUP`: a lower device, socket or FIFO opened for writing (it
    ///   cannot be copied up).
    /// - `ENOENT`: this directory has been removed.
    /// - whatever the upper layer says while copying up (e.g. `ENOSPC`).
    fn open(&self, name: &str, options: &OpenOptions) -> Result<Node, Errno> {
        self.node.open(name, options)
    }

    /// # Errors
    /// - `ENOENT`: `name` is in neither layer, or is whited out.
    fn stat_at(&self, name: &str) -> Result<Stat, Errno> {
        let n = &self.node;
        if let Some(u) = n.upper()? {
            match u.dir.stat_at(name) {
                Ok(s) => return n.upper_child_stat(name, s),
                Err(Errno::Noent) => {}
                Err(e) => return Err(e),
            }
        }
        let lower = n.visible_lower(Some(name))?.ok_or(Errno::Noent)?;
        Ok(n.tag(lower.stat_at(name)?, true))
    }

    /// The upper copy's metadata if there is one, else the lower directory's;
    /// `nlink` is 1 for a merged directory.
    fn stat(&self) -> Result<Stat, Errno> {
        let n = &self.node;
        match n.upper()? {
            Some(u) => {
                let mut s = n.tag(u.dir.stat()?, false);
                if n.visible_lower(None)?.is_some() {
                    s.nlink = 1;
                }
                Ok(s)
            }
            None => {
                let lower = n.lower.as_ref().ok_or(Errno::Noent)?;
                Ok(n.tag(lower.stat()?, true))
            }
        }
    }

    /// Creates `name` in the upper layer (copying this directory up first). Over
    /// a whiteout, the new directory is opaque: it starts empty.
    ///
    /// # Errors
    /// - `EEXIST`: `name` exists in the merged view.
    fn create_dir(&self, name: &str) -> Result<(), Errno> {
        let n = &self.node;
        let mut st = lock(&n.fs.state);
        let st = &mut *st;
        if !matches!(n.find(st, name)?, Found::Missing) {
            return Err(Errno::Exist);
        }
        let u = n.copy_up(st)?;
        u.dir.create_dir(name)?;
        n.dir_appeared();
        if st.remove_whiteout(u.key, name) {
            let key = key_of(&u.dir.stat_at(name)?);
            st.set_opaque(key);
        }
        Ok(())
    }

    /// Removes the directory `name` from the merged view: from the upper layer,
    /// and with a whiteout if the lower layer has it.
    ///
    /// # Errors
    /// - `ENOENT`: `name` does not exist.
    /// - `ENOTDIR`: `name` is not a directory.
    /// - `ENOTEMPTY`: the merged directory has entries.
    fn remove_dir(&self, name: &str) -> Result<(), Errno> {
        let n = &self.node;
        let mut st = lock(&n.fs.state);
        let st = &mut *st;
        let meta = match n.find(st, name)? {
            Found::Missing => return Err(Errno::Noent),
            Found::Upper(m) | Found::Lower(m) => m,
        };
        if meta.filetype != FileType::Directory {
            return Err(Errno::Notdir);
        }
        let child = n.child_dir(st, name)?;
        if !child.is_empty(st)? {
            return Err(Errno::Notempty);
        }
        let lower_had = n.lower_has(st, name)?;
        if let Some(cu) = child.upper()? {
            let key = cu.key;
            n.upper()?.ok_or(Errno::Noent)?.dir.remove_dir(name)?;
            st.forget(key);
        }
        n.hide_lower(st, name, lower_had)
    }

    /// Removes the non-directory `name` from the merged view: from the upper
    /// layer, and with a whiteout if the lower layer has it.
    ///
    /// # Errors
    /// - `ENOENT`: `name` does not exist.
    /// - `EISDIR`: `name` is a directory.
    fn unlink(&self, name: &str) -> Result<(), Errno> {
        let n = &self.node;
        let mut st = lock(&n.fs.state);
        let st = &mut *st;
        let found = n.find(st, name)?;
        let meta = match &found {
            Found::Missing => return Err(Errno::Noent),
            Found::Upper(m) | Found::Lower(m) => m,
        };
        if meta.filetype == FileType::Directory {
            return Err(Errno::Isdir);
        }
        let lower_had = n.lower_has(st, name)?;
        if let Found::Upper(_) = found {
            n.upper()?.ok_or(Errno::Noent)?.dir.unlink(name)?;
        }
        n.hide_lower(st, name, lower_had)
    }

    /// Renames `name` to `to_name` in `to`, a directory of this same overlay.
    /// A lower source is copied up first (a directory with its whole subtree),
    /// then renamed within the upper layer, and its old name whited out.
    ///
    /// # Errors
    /// - `EXDEV`: `to` is not a directory of this overlay.
    /// - otherwise as [`Dir::rename`], judged on the merged view (`ENOTEMPTY`
    ///   if the target directory has entries in either layer).
    fn rename(&self, name: &str, to: &dyn Dir, to_name: &str) -> Result<(), Errno> {
        let to = self.same_overlay(to)?;
        let (n, t) = (&self.node, &to.node);
        let mut st = lock(&n.fs.state);
        let st = &mut *st;
        let src = match n.find(st, name)? {
            Found::Missing => return Err(Errno::Noent),
            Found::Upper(m) => (m, false),
            Found::Lower(m) => (m, true),
        };
        let src_is_dir = src.0.filetype == FileType::Directory;
        if name == to_name && n.identity()? == t.identity()? {
            return Ok(());
        }
        if src_is_dir {
            // A directory cannot move into itself: walk up from `to`.
            let mut at = Some(t);
            while let Some(node) = at {
                if let Some((parent, pname)) = &node.parent {
                    if pname == name && parent.identity()? == n.identity()? {
                        return Err(Errno::Inval);
                    }
                }
                at = node.parent.as_ref().map(|(p, _)| p);
            }
        }
        let mut replaced = None;
        let dst = match t.find(st, to_name)? {
            Found::Missing => None,
            Found::Upper(d) => Some((d, false)),
            Found::Lower(d) => Some((d, true)),
        };
        if let Some((d, dst_in_lower)) = dst {
            match (src_is_dir, d.filetype == FileType::Directory) {
                (true, true) => {
                    let child = t.child_dir(st, to_name)?;
                    if !child.is_empty(st)? {
                        return Err(Errno::Notempty);
                    }
                    if !dst_in_lower {
                        replaced = Some(key_of(&d));
                    }
                }
                (false, true) => return Err(Errno::Isdir),
                (true, false) => return Err(Errno::Notdir),
                (false, false) => {
                    if src.1 == dst_in_lower && key_of(&src.0) == key_of(&d) {
                        // Two links to one file: POSIX says do nothing.
                        return Ok(());
                    }
                }
            }
        }
        let lower_had = n.lower_has(st, name)?;
        // The parents first: they stay copied up whatever happens next, as
        // on Linux (and handles may already know their copies).
        let su = n.copy_up(st)?;
        let tu = t.copy_up(st)?;
        st.undoable(|st| {
            // Bring the source wholly into the upper layer.
            if src_is_dir {
                n.child_dir(st, name)?.materialize(st)?;
            } else if src.1 {
                n.copy_up_entry(st, name, &src.0)?;
            }
            su.dir.rename(name, &*tu.dir, to_name)
        })?;
        if src_is_dir {
            n.dir_appeared();
        }
        if let Some(key) = replaced {
            st.forget(key);
        }
        st.remove_whiteout(tu.key, to_name);
        n.hide_lower(st, name, lower_had)
    }

    /// The symlink's target, from the upper layer if it has `name`.
    fn read_link(&self, name: &str) -> Result<String, Errno> {
        let n = &self.node;
        if let Some(u) = n.upper()? {
            match u.dir.read_link(name) {
                Err(Errno::Noent) => {}
                other => return other,
            }
        }
        let lower = n.visible_lower(Some(name))?.ok_or(Errno::Noent)?;
        lower.read_link(name)
    }

    /// Creates the symlink in the upper layer.
    ///
    /// # Errors
    /// - `EEXIST`: `name` exists in the merged view.
    fn symlink(&self, target: &str, name: &str) -> Result<(), Errno> {
        let n = &self.node;
        let mut st = lock(&n.fs.state);
        let st = &mut *st;
        if !matches!(n.find(st, name)?, Found::Missing) {
            return Err(Errno::Exist);
        }
        let u = n.copy_up(st)?;
        u.dir.symlink(target, name)?;
        st.remove_whiteout(u.key, name);
        Ok(())
    }

    /// Links `to_name` in `to`, a directory of this same overlay, to `name`; a
    /// lower source is copied up first (so the link is to the copy).
    ///
    /// # Errors
    /// - `EXDEV`: `to` is not a directory of this overlay.
    /// - `ENOENT`: `name` does not exist.
    /// - `EEXIST`: `to_name` exists in the merged view.
    /// - `EPERM`: `name` is a directory.
    fn hard_link(&self, name: &str, to: &dyn Dir, to_name: &str) -> Result<(), Errno> {
        let to = self.same_overlay(to)?;
        let (n, t) = (&self.node, &to.node);
        let mut st = lock(&n.fs.state);
        let st = &mut *st;
        let src = n.find(st, name)?;
        let (Found::Upper(meta) | Found::Lower(meta)) = &src else {
            return Err(Errno::Noent);
        };
        if !matches!(t.find(st, to_name)?, Found::Missing) {
            return Err(Errno::Exist);
        }
        if meta.filetype == FileType::Directory {
            return Err(Errno::Perm);
        }
        let su = n.copy_up(st)?;
        let tu = t.copy_up(st)?;
        st.undoable(|st| {
            if let Found::Lower(meta) = &src {
                n.copy_up_entry(st, name, meta)?;
            }
            su.dir.hard_link(name, &*tu.dir, to_name)
        })?;
        st.remove_whiteout(tu.key, to_name);
        Ok(())
    }

    /// Sets the times of `name`, copying a lower object up first.
    fn set_times_at(
        &self,
        name: &str,
        atime: Option<SetTime>,
        mtime: Option<SetTime>,
    ) -> Result<(), Errno> {
        let n = &self.node;
        let mut st = lock(&n.fs.state);
        let st = &mut *st;
        match n.find(st, name)? {
            Found::Missing => Err(Errno::Noent),
            Found::Upper(_) => {
                let u = n.upper()?.ok_or(Errno::Noent)?;
                u.dir.set_times_at(name, atime, mtime)
            }
            Found::Lower(meta) => {
                let u = n.copy_up(st)?;
                // If the upper layer refuses the times, the copy goes again.
                st.undoable(|st| {
                    n.copy_up_entry(st, name, &meta)?;
                    u.dir.set_times_at(name, atime, mtime)
                })
            }
        }
    }

    /// Sets this directory's times, copying it up first.
    fn set_times(&self, atime: Option<SetTime>, mtime: Option<SetTime>) -> Result<(), Errno> {
        let n = &self.node;
        let mut st = lock(&n.fs.state);
        n.copy_up(&mut st)?.dir.set_times(atime, mtime)
    }

    /// Lists the merged directory (see the module docs for the cookies).
    ///
    /// # Errors
    /// - `EOVERFLOW` (from the listing): a layer gave a cookie of 2^62 or more.
    fn entries(&self, cookie: u64) -> Result<Box<dyn ReadDir>, Errno> {
        let n = &self.node;
        let (upper, lower_from) = if cookie & LOWER_PHASE == 0 {
            let upper = match n.upper()? {
                Some(u) => Some(u.dir.entries(cookie)?),
                None => None,
            };
            (upper, 0)
        } else {
            (None, cookie & !LOWER_PHASE)
        };
        Ok(Box::new(OverlayReadDir {
            node: n.clone(),
            upper,
            lower: None,
            lower_from,
            done: false,
        }))
    }

    fn sync(&self) -> Result<(), Errno> {
        match self.node.upper()? {
            Some(u) => u.dir.sync(),
            None => Ok(()),
        }
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// A merged listing: upper-only names, then the lower layer's visible names.
struct OverlayReadDir {
    node: Arc<DirNode>,
    upper: Option<Box<dyn ReadDir>>,
    lower: Option<Box<dyn ReadDir>>,
    /// The lower cookie to start the lower phase from.
    lower_from: u64,
    done: bool,
}

impl OverlayReadDir {
    fn next_upper(&mut self) -> Result<Option<DirEntry>, Errno> {
        while let Some(it) = &mut self.upper {
            let Some(entry) = it.next_entry().transpose()? else {
                self.upper = None;
                break;
            };
            if entry.next & LOWER_PHASE != 0 {
                return Err(Errno::Overflow);
            }
            // Names the lower layer has are listed in the lower phase.
            let in_lower = {
                let st = lock(&self.node.fs.state);
                self.node.lower_has(&st, &entry.name)?
            };
            if !in_lower {
                let ino = tag_ino(entry.ino, false);
                return Ok(Some(DirEntry { ino, ..entry }));
            }
        }
        Ok(None)
    }

    fn next_lower(&mut self) -> Result<Option<DirEntry>, Errno> {
        if self.lower.is_none() {
            let Some(lower) = self.node.visible_lower(None)? else {
                return Ok(None);
            };
            self.lower = Some(lower.entries(self.lower_from)?);
        }
        let Some(it) = &mut self.lower else {
            return Ok(None);
        };
        while let Some(entry) = it.next_entry().transpose()? {
            if entry.next & LOWER_PHASE != 0 {
                return Err(Errno::Overflow);
            }
            let next = entry.next | LOWER_PHASE;
            let upper = self.node.upper()?;
            if let Some(u) = upper {
                if lock(&self.node.fs.state).is_whiteout(u.key, &entry.name) {
                    continue;
                }
                match u.dir.stat_at(&entry.name) {
                    Ok(s) => {
                        // Replaced or copied up: list the upper object.
                        return Ok(Some(DirEntry {
                            name: entry.name,
                            filetype: s.filetype,
                            ino: self.node.tag(s, false).ino,
                            next,
                        }));
                    }
                    Err(Errno::Noent) => {}
                    Err(e) => return Err(e),
                }
            }
            let ino = tag_ino(entry.ino, true);
            return Ok(Some(DirEntry { ino, next, ..entry }));
        }
        Ok(None)
    }
}

/// The overlay's inode number for a layer's `ino`: bit 63 tells the layers
/// apart.
fn tag_ino(ino: u64, lower: bool) -> u64 {
    if lower {
        ino | LOWER_INO
    } else {
        ino & !LOWER_INO
    }
}

impl ReadDir for OverlayReadDir {
    fn next_entry(&mut self) -> Option<Result<DirEntry, Errno>> {
        if self.done {
            return None;
        }
        let r = match self.next_upper() {
            Ok(None) => self.next_lower(),
            other => other,
        };
        match r {
            Ok(Some(e)) => Some(Ok(e)),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(e) => Some(Err(e)),
        }
    }
}

/// Which layer's file a handle reads.
enum Layer {
    Upper(Arc<dyn File>),
    Lower(Box<dyn File>),
}

fn read_layer(l: &RwLock<Layer>) -> std::sync::RwLockReadGuard<'_, Layer> {
    l.read().unwrap_or_else(|e| e.into_inner())
}

fn write_layer(l: &RwLock<Layer>) -> std::sync::RwLockWriteGuard<'_, Layer> {
    l.write().unwrap_or_else(|e| e.into_inner())
}

/// Where a handle opened on a lower file came from, to copy it up.
struct Origin {
    dir: Arc<DirNode>,
    name: String,
    /// The lower parent directory's identity (the `readers` key).
    key: Key,
}

/// A file of the overlay.
struct OverlayFile {
    dev: u64,
    layer: Arc<RwLock<Layer>>,
    /// Set if the file was opened in the lower layer.
    origin: Option<Origin>,
}

impl OverlayFile {
    /// The upper copy, made now if the handle still reads the lower file.
    ///
    /// # Errors
    /// - `ENOENT`: the lower file was deleted since this handle was opened, so
    ///   there is nothing to copy it up to.
    fn upper(&self) -> Result<Arc<dyn File>, Errno> {
        if let Layer::Upper(f) = &*read_layer(&self.layer) {
            return Ok(f.clone());
        }
        let origin = self.origin.as_ref().ok_or(Errno::Badf)?;
        let dir = &origin.dir;
        let mut st = lock(&dir.fs.state);
        if let Layer::Upper(f) = &*read_layer(&self.layer) {
            return Ok(f.clone());
        }
        match dir.find(&st, &origin.name)? {
            Found::Lower(meta) if meta.filetype == FileType::RegularFile => {
                let copy = dir.copy_up_file(&mut st, &origin.name, false)?;
                *write_layer(&self.layer) = Layer::Upper(copy.clone());
                Ok(copy)
            }
            _ => Err(Errno::Noent),
        }
    }
}

impl Drop for OverlayFile {
    fn drop(&mut self) {
        let Some(origin) = &self.origin else {
            return;
        };
        let mut st = lock(&origin.dir.fs.state);
        let key = (origin.key, origin.name.clone());
        if let Some(readers) = st.readers.get_mut(&key) {
            let me = Arc::downgrade(&self.layer);
            readers.retain(|w| w.strong_count() > 0 && !w.ptr_eq(&me));
            if readers.is_empty() {
                st.readers.remove(&key);
            }
        }
    }
}

impl File for OverlayFile {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> Result<usize, Errno> {
        match &*read_layer(&self.layer) {
            Layer::Upper(f) => f.read_at(buf, offset),
            Layer::Lower(f) => f.read_at(buf, offset),
        }
    }

    /// Writes to the upper copy, copying the file up first if needed.
    /// An empty write changes nothing, so it copies nothing up either.
    fn write_at(&self, buf: &[u8], offset: u64) -> Result<usize, Errno> {
        if buf.is_empty() {
            return Ok(0);
        }
        self.upper()?.write_at(buf, offset)
    }

    fn append(&self, buf: &[u8]) -> Result<(usize, u64), Errno> {
        if buf.is_empty() {
            return Ok((0, self.stat()?.size));
        }
        self.upper()?.append(buf)
    }

    fn stat(&self) -> Result<Stat, Errno> {
        let (mut st, lower) = match &*read_layer(&self.layer) {
            Layer::Upper(f) => (f.stat()?, false),
            Layer::Lower(f) => (f.stat()?, true),
        };
        st.dev = self.dev;
        st.ino = tag_ino(st.ino, lower);
        Ok(st)
    }

    fn set_len(&self, size: u64) -> Result<(), Errno> {
        self.upper()?.set_len(size)
    }

    fn set_times(&self, atime: Option<SetTime>, mtime: Option<SetTime>) -> Result<(), Errno> {
        self.upper()?.set_times(atime, mtime)
    }

    /// Flushes the upper copy; a lower file has nothing of the overlay's to
    /// flush.
    fn sync(&self) -> Result<(), Errno> {
        match &*read_layer(&self.layer) {
            Layer::Upper(f) => f.sync(),
            Layer::Lower(_) => Ok(()),
        }
    }

    fn datasync(&self) -> Result<(), Errno> {
        match &*read_layer(&self.layer) {
            Layer::Upper(f) => f.datasync(),
            Layer::Lower(_) => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vfs::MemFs;

    fn fixture() -> (MemFs, MemFs, Overlay) {
        let lower = MemFs::new();
        lower.write("dir/a.txt", b"a").unwrap();
        lower.write("dir/b.txt", b"b").unwrap();
        lower.write("dir/sub/c.txt", b"c").unwrap();
        lower.write("big.bin", &[7; 1000]).unwrap();
        let upper = MemFs::new();
        let overlay = Overlay::new(upper.root(), lower.root());
        (upper, lower, overlay)
    }

    fn open(dir: &dyn Dir, name: &str, f: impl FnOnce(&mut OpenOptions)) -> Result<Node, Errno> {
        let mut o = OpenOptions::default();
        f(&mut o);
        dir.open(name, &o)
    }

    fn file(node: Result<Node, Errno>) -> Box<dyn File> {
        match node.unwrap() {
            Node::File(f) => f,
            Node::Dir(_) => panic!("a directory"),
        }
    }

    fn subdir(dir: &dyn Dir, name: &str) -> Arc<dyn Dir> {
        match dir.open(name, &OpenOptions::lookup_dir()).unwrap() {
            Node::Dir(d) => d,
            Node::File(_) => panic!("a file"),
        }
    }

    fn names(dir: &dyn Dir) -> Vec<String> {
        let mut it = dir.entries(0).unwrap();
        let mut v: Vec<String> = std::iter::from_fn(|| it.next_entry())
            .map(|e| e.unwrap().name)
            .collect();
        v.sort();
        v
    }

    fn read_all(f: &dyn File) -> Vec<u8> {
        let mut buf = vec![0; 4096];
        let n = f.read_at(&mut buf, 0).unwrap();
        buf.truncate(n);
        buf
    }

    #[test]
    fn a_read_handle_outlives_unlink_but_cannot_change_the_lower_file() {
        let (upper, lower, ov) = fixture();
        let dir = subdir(&ov, "dir");
        let f = file(open(&*dir, "a.txt", |o| o.read = true));
        dir.unlink("a.txt").unwrap();
        assert_eq!(read_all(&*f), b"a", "still readable, as POSIX says");
        assert_eq!(f.write_at(b"x", 0), Err(Errno::Noent));
        assert_eq!(f.set_times(None, Some(SetTime::Now)), Err(Errno::Noent));
        assert_eq!(dir.stat_at("a.txt"), Err(Errno::Noent));
        assert_eq!(lower.read("dir/a.txt").unwrap(), b"a");
        assert_eq!(upper.read("dir/a.txt"), Err(Errno::Noent));
    }

    #[test]
    fn a_read_handle_copies_up_when_changed_through_it() {
        let (upper, lower, ov) = fixture();
        let dir = subdir(&ov, "dir");
        let before_lower = subdir(&*lower.root(), "dir").stat_at("b.txt").unwrap();
        let f = file(open(&*dir, "b.txt", |o| o.read = true));
        let before = f.stat().unwrap();
        assert_ne!(before.ino & LOWER_INO, 0);
        f.set_times(None, Some(SetTime::At(42))).unwrap();
        let after = f.stat().unwrap();
        assert_eq!(after.ino & LOWER_INO, 0, "now the upper copy");
        assert_eq!(after.mtim, 42);
        assert_eq!(dir.stat_at("b.txt").unwrap(), after);
        assert_eq!(upper.read("dir/b.txt").unwrap(), b"b");
        let lower_b = subdir(&*lower.root(), "dir").stat_at("b.txt").unwrap();
        assert_eq!(lower_b, before_lower, "the lower file is untouched");
    }

    #[test]
    fn a_failed_copy_up_leaves_no_trace() {
        let lower = MemFs::new();
        lower.write("big.bin", &[7; 3000]).unwrap();
        lower.write("d/small", b"s").unwrap();
        // Room for the names and nodes, not for the contents.
        let meta = MemFs::DIR_COST + 3 * (MemFs::INODE_COST + MemFs::ENTRY_COST + 8);
        let upper = MemFs::with_quota(100 + meta);
        let ov = Overlay::new(upper.root(), lower.root());
        let r = open(&ov, "big.bin", |o| o.write = true);
        assert_eq!(r.err(), Some(Errno::Nospc));
        assert_eq!(upper.used_bytes(), 0);
        assert_eq!(upper.charged_bytes(), 0);
        assert_eq!(names(&*upper.root()), Vec::<String>::new());
        let f = file(open(&ov, "big.bin", |o| o.read = true));
        assert_eq!(read_all(&*f), vec![7; 3000]);
        assert_ne!(ov.stat_at("big.bin").unwrap().ino & LOWER_INO, 0);
        // A directory rename that cannot be copied up changes nothing either.
        lower.write("d/big", &[1; 500]).unwrap();
        assert_eq!(ov.rename("d", &ov, "e"), Err(Errno::Nospc));
        assert_eq!(
            upper.charged_bytes(),
            0,
            "the partial copy-up is given back"
        );
        assert_eq!(names(&*subdir(&ov, "d")), ["big", "small"]);
        assert_eq!(ov.stat_at("e"), Err(Errno::Noent));
    }

    #[test]
    fn a_directory_handle_follows_its_rename() {
        let (_upper, _lower, ov) = fixture();
        let dir = subdir(&ov, "dir");
        dir.unlink("b.txt").unwrap();
        let sub = subdir(&*dir, "sub");
        ov.rename("dir", &ov, "moved").unwrap();
        assert_eq!(names(&*dir), ["a.txt", "sub"]);
        assert_eq!(dir.stat_at("b.txt"), Err(Errno::Noent));
        assert_eq!(names(&*subdir(&ov, "moved")), ["a.txt", "sub"]);
        // A handle opened on the lower-only subdirectory before the rename
        // finds the moved copy through its parent handle.
        assert_eq!(names(&*sub), ["c.txt"]);
        sub.unlink("c.txt").unwrap();
        assert_eq!(
            names(&*subdir(&*subdir(&ov, "moved"), "sub")),
            Vec::<String>::new()
        );
    }

    #[test]
    fn a_handle_on_a_lower_only_directory_renamed_away() {
        let (_upper, _lower, ov) = fixture();
        let sub = subdir(&*subdir(&ov, "dir"), "sub");
        let dir = subdir(&ov, "dir");
        dir.rename("sub", &*dir, "moved").unwrap();
        assert_eq!(names(&*subdir(&*dir, "moved")), ["c.txt"]);
        // As documented: the old handle still shows the lower directory, and
        // cannot change it.
        assert_eq!(names(&*sub), ["c.txt"]);
        assert_eq!(sub.unlink("c.txt"), Err(Errno::Noent));
        let created = open(&*sub, "new", |o| o.create = true);
        assert_eq!(created.err(), Some(Errno::Noent));
        assert_eq!(sub.create_dir("new"), Err(Errno::Noent));
        dir.create_dir("sub").unwrap();
        assert_eq!(names(&*sub), Vec::<String>::new(), "the new directory");
        assert_eq!(names(&*subdir(&*dir, "moved")), ["c.txt"]);
    }

    #[test]
    fn threads_share_one_overlay() {
        let lower = MemFs::new();
        for i in 0..8 {
            for j in 0..20 {
                lower.write(&format!("t{i}/f{j}"), b"lower").unwrap();
            }
        }
        let ov = Overlay::new(MemFs::new().root(), lower.root());
        std::thread::scope(|s| {
            for i in 0..8 {
                let ov = &ov;
                s.spawn(move || {
                    let dir = subdir(ov, &format!("t{i}"));
                    let mut readers = Vec::new();
                    for j in 0..20 {
                        let name = format!("f{j}");
                        readers.push(file(open(&*dir, &name, |o| o.read = true)));
                        let w = file(open(&*dir, &name, |o| o.write = true));
                        w.write_at(b"UPPER", 0).unwrap();
                        assert_eq!(read_all(&*readers[j]), b"UPPER");
                        if j % 2 == 0 {
                            dir.unlink(&name).unwrap();
                        }
                        assert_eq!(names(ov).len(), 8);
                    }
                    assert_eq!(names(&*dir).len(), 10);
                });
            }
        });
        for i in 0..8 {
            assert_eq!(lower.read(&format!("t{i}/f0")).unwrap(), b"lower");
        }
    }

    #[test]
    fn opaque_directories_hide_the_lower_layer() {
        let (_upper, lower, ov) = fixture();
        let dir = subdir(&ov, "dir");
        for f in ["a.txt", "b.txt"] {
            dir.unlink(f).unwrap();
        }
        let sub = subdir(&*dir, "sub");
        sub.unlink("c.txt").unwrap();
        dir.remove_dir("sub").unwrap();
        ov.remove_dir("dir").unwrap();
        assert_eq!(ov.stat_at("dir"), Err(Errno::Noent));
        ov.create_dir("dir").unwrap();
        let dir = subdir(&ov, "dir");
        assert_eq!(names(&*dir), Vec::<String>::new());
        assert_eq!(dir.stat().unwrap().nlink, 2, "not merged: its own count");
        dir.create_dir("sub").unwrap();
        assert_eq!(names(&*subdir(&*dir, "sub")), Vec::<String>::new());
        assert_eq!(lower.read("dir/sub/c.txt").unwrap(), b"c");
    }

    #[test]
    fn cookies_resume_in_either_phase() {
        let (_upper, _lower, ov) = fixture();
        let dir = subdir(&ov, "dir");
        file(open(&*dir, "new.txt", |o| o.create = true));
        let mut it = dir.entries(0).unwrap();
        let all: Vec<DirEntry> = std::iter::from_fn(|| it.next_entry())
            .map(Result::unwrap)
            .collect();
        assert_eq!(all[0].name, "new.txt");
        assert_eq!(all[0].next & LOWER_PHASE, 0);
        assert!(all[1..].iter().all(|e| e.next & LOWER_PHASE != 0));
        for (k, e) in all.iter().enumerate() {
            let mut it = dir.entries(e.next).unwrap();
            let rest: Vec<DirEntry> = std::iter::from_fn(|| it.next_entry())
                .map(Result::unwrap)
                .collect();
            assert_eq!(rest, all[k + 1..], "after {}", e.name);
        }
    }
}
