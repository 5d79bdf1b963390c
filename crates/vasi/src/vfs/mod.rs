//! The filesystem abstraction: directory and file handles that backends implement.
//!
//! A backend implements two object-safe traits: [`Dir`], a directory handle whose
//! operations each take ONE name relative to it, and [`File`], a file handle with
//! positional I/O. The core walks guest paths itself, component by component,
//! through [`Dir::open`] and [`Dir::read_link`] (see `resolve`), so a backend never
//! parses a path and can never be asked for a name containing `/`, nor for `.` or
//! `..`: every backend, including one written by a user, is confined by
//! construction.
//!
//! Errors are [`Errno`]s: a backend says exactly what went wrong.
//!
//! Backends shipped here: [`MemFs`] (in memory), with the `host` feature
//! `HostDir` (a host directory, confined by cap-std), and with the `tar` feature
//! `TarFs` (a tar archive, read-only). Two more are built from other
//! directories:
//! - [`ReadOnly`] wraps any directory and refuses every change with `EROFS`
//!   (as a read-only mount does);
//! - [`Overlay`] is a copy-on-write view of a lower directory tree that is never
//!   written: changes go to an upper directory (typically an empty `MemFs`),
//!   lower files are copied up when first changed, and deleted lower names are
//!   hidden by whiteouts kept in memory, as Linux's overlayfs does.
//!
//! Both are plain [`Dir`]s, so they nest: an overlay over a `ReadOnly` host
//! directory, or a read-only view of an overlay.

use crate::Errno;
use std::any::Any;
use std::sync::Arc;

mod mem;
pub(crate) mod mount;
mod overlay;
mod readonly;
pub(crate) mod resolve;

// HostDir speaks the host's Unix filesystem (names, modes, times, `openat`):
// on any other host it is refused at build time, never silently allowed, so
// that Windows' drive prefixes and `:` streams never meet a guest path.
#[cfg(all(feature = "host", not(unix)))]
compile_error!(
    "vasi's `host` feature (HostDir) supports Unix hosts only; \
     build vasi with `default-features = false` (and `tar` if needed) elsewhere"
);

#[cfg(feature = "host")]
mod host;
#[cfg(feature = "tar")]
mod tar;

#[cfg(feature = "host")]
pub use host::HostDir;
pub use mem::{MemFs, MemFsOptions};
pub use overlay::Overlay;
pub use readonly::ReadOnly;
pub use resolve::MAX_SYMLINK_HOPS;
#[cfg(feature = "tar")]
pub use tar::{TarError, TarFs};

/// The longest symlink target, in bytes: `PATH_MAX` (4096) less its NUL, as
/// on Linux. The core refuses a longer `path_symlink` target with
/// `ENAMETOOLONG` before any backend sees it, and [`MemFs`] refuses one from
/// any caller, so a guest cannot make the host keep an arbitrarily long
/// string per link.
pub const MAX_SYMLINK_LEN: usize = 4095;

/// Opens the directory `parts` below `root` one name at a time (no symlinks
/// followed), creating missing ones if `create` is set. For host-side helpers
/// that build trees (`MemFs::write`, `TarFs`); guest paths go through `resolve`.
pub(crate) fn open_dirs(
    root: &Arc<dyn Dir>,
    parts: &[&str],
    create: bool,
) -> Result<Arc<dyn Dir>, Errno> {
    let mut dir = root.clone();
    for part in parts {
        if create {
            match dir.create_dir(part) {
                Ok(()) | Err(Errno::Exist) => {}
                Err(e) => return Err(e),
            }
        }
        dir = match dir.open(part, &OpenOptions::lookup_dir())? {
            Node::Dir(d) => d,
            Node::File(_) => return Err(Errno::Notdir),
        };
    }
    Ok(dir)
}

/// A device number for a new in-process filesystem ([`MemFs`], [`Overlay`]),
/// distinct from every other one handed out in this process.
pub(crate) fn new_dev() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT_DEV: AtomicU64 = AtomicU64::new(1);
    NEXT_DEV.fetch_add(1, Ordering::Relaxed)
}

/// The type of a filesystem object, as preview1's `filetype`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FileType {
    /// Unknown, or not one of the others.
    Unknown,
    /// A block device.
    BlockDevice,
    /// A character device.
    CharacterDevice,
    /// A directory.
    Directory,
    /// A regular file.
    RegularFile,
    /// A datagram socket.
    SocketDgram,
    /// A stream socket.
    SocketStream,
    /// A symbolic link.
    SymbolicLink,
}

/// Metadata of a filesystem object, as preview1's `filestat`. Times are nanoseconds
/// since the Unix epoch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stat {
    /// Device id of the filesystem holding the object.
    pub dev: u64,
    /// Inode number, unique within `dev`.
    pub ino: u64,
    /// The object's type.
    pub filetype: FileType,
    /// Number of hard links.
    pub nlink: u64,
    /// Size in bytes (for a symlink, the length of its target).
    pub size: u64,
    /// Last access time.
    pub atim: u64,
    /// Last data modification time.
    pub mtim: u64,
    /// Last status change time.
    pub ctim: u64,
}

/// A new value for a timestamp in `set_times`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SetTime {
    /// The backend's current time.
    Now,
    /// This many nanoseconds since the Unix epoch.
    At(u64),
}

/// How [`Dir::open`] opens (and possibly creates) a name.
///
/// The core has already decided what to do with the final component; `open` never
/// follows a symlink: if `name` is a symlink (and `create_new` is not set) it
/// returns `ELOOP`, and the core follows the link itself.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OpenOptions {
    /// Open for reading.
    pub read: bool,
    /// Open for writing.
    pub write: bool,
    /// Create a regular file if `name` does not exist.
    pub create: bool,
    /// Fail with `EEXIST` if `name` exists (implies `create`).
    pub create_new: bool,
    /// Truncate a regular file to length zero.
    pub truncate: bool,
    /// `name` must be a directory (`ENOTDIR` otherwise).
    pub directory: bool,
}

impl OpenOptions {
    /// Options to look up an existing directory, as the path walker does for every
    /// intermediate component.
    pub const fn lookup_dir() -> Self {
        OpenOptions {
            read: false,
            write: false,
            create: false,
            create_new: false,
            truncate: false,
            directory: true,
        }
    }
}

/// What [`Dir::open`] found.
pub enum Node {
    /// A regular file (or other non-directory object).
    File(Box<dyn File>),
    /// A directory.
    Dir(Arc<dyn Dir>),
}

impl std::fmt::Debug for Node {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Node::File(_) => f.write_str("Node::File"),
            Node::Dir(_) => f.write_str("Node::Dir"),
        }
    }
}

/// One directory entry, as listed by [`Dir::entries`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirEntry {
    /// The entry's name (one component).
    pub name: String,
    /// Its type (without following symlinks).
    pub filetype: FileType,
    /// Its inode number.
    pub ino: u64,
    /// The cookie that resumes the listing just after this entry.
    pub next: u64,
}

/// A directory listing in progress (see [`Dir::entries`]).
pub trait ReadDir: Send {
    /// The next entry, or `None` at the end.
    fn next_entry(&mut self) -> Option<Result<DirEntry, Errno>>;
}

/// A directory handle.
///
/// Every operation takes one `name`: a non-empty UTF-8 string without `/` or NUL
/// that is neither `.` nor `..` (the core guarantees this). Nothing here follows a
/// symlink in `name`.
///
/// Methods with a default body are optional: by default they say the operation is
/// not supported (`ENOTSUP`).
pub trait Dir: Send + Sync + 'static {
    /// Opens the object `name`, creating a regular file if asked.
    ///
    /// This is like `openat(dir, name, flags | O_NOFOLLOW)`.
    ///
    /// # Errors
    /// - `ENOENT`: `name` does not exist and `create` is not set.
    /// - `EEXIST`: `create_new` is set and `name` exists (also a symlink).
    /// - `ELOOP`: `name` is a symlink (and `create_new` is not set).
    /// - `ENOTDIR`: `directory` is set and `name` is not a directory.
    /// - `EISDIR`: `name` is a directory and `write`, `truncate` or `create_new`
    ///   is set.
    /// - `ENOSPC`, `EROFS`, `EACCES`: as the backend sees fit.
    fn open(&self, name: &str, options: &OpenOptions) -> Result<Node, Errno>;

    /// As [`open`](Dir::open), except that the backend may return
    /// [`Node::File`] for `name` without checking that it is not a directory
    /// (a host backend saves a `stat` per open this way). The core asks
    /// [`File::as_dir`] later, when the difference matters. Called by the core
    /// only for opens without `directory`; the default is `open`.
    fn open_unchecked(&self, name: &str, options: &OpenOptions) -> Result<Node, Errno> {
        self.open(name, options)
    }

    /// Metadata of `name`, not following a symlink (`lstat`).
    ///
    /// # Errors
    /// - `ENOENT`: `name` does not exist.
    fn stat_at(&self, name: &str) -> Result<Stat, Errno>;

    /// Metadata of this directory.
    fn stat(&self) -> Result<Stat, Errno>;

    /// Creates the directory `name` (`mkdirat`).
    ///
    /// # Errors
    /// - `EEXIST`: `name` exists.
    fn create_dir(&self, name: &str) -> Result<(), Errno> {
        let _ = name;
        Err(Errno::Notsup)
    }

    /// Removes the empty directory `name` (`unlinkat(AT_REMOVEDIR)`).
    ///
    /// # Errors
    /// - `ENOENT`: `name` does not exist.
    /// - `ENOTDIR`: `name` is not a directory.
    /// - `ENOTEMPTY`: the directory has entries.
    fn remove_dir(&self, name: &str) -> Result<(), Errno> {
        let _ = name;
        Err(Errno::Notsup)
    }

    /// Removes the non-directory `name` (`unlinkat`).
    ///
    /// # Errors
    /// - `ENOENT`: `name` does not exist.
    /// - `EISDIR`: `name` is a directory.
    fn unlink(&self, name: &str) -> Result<(), Errno> {
        let _ = name;
        Err(Errno::Notsup)
    }

    /// Renames `name` to `to_name` in the directory `to` (`renameat`), replacing
    /// a file there, or an empty directory when `name` is a directory.
    ///
    /// # Errors
    /// - `EXDEV`: `to` belongs to another filesystem.
    /// - `ENOENT`: `name` does not exist.
    /// - `EINVAL`: a directory would move into itself or its own subdirectory.
    /// - `ENOTDIR`: `name` is a directory and `to_name` a file.
    /// - `EISDIR`: `name` is a file and `to_name` a directory.
    /// - `ENOTEMPTY`: `to_name` is a non-empty directory.
    fn rename(&self, name: &str, to: &dyn Dir, to_name: &str) -> Result<(), Errno> {
        let _ = (name, to, to_name);
        Err(Errno::Notsup)
    }

    /// The target of the symlink `name`.
    ///
    /// # Errors
    /// - `EINVAL`: `name` is not a symlink.
    fn read_link(&self, name: &str) -> Result<String, Errno> {
        let _ = name;
        Err(Errno::Inval)
    }

    /// Creates the symlink `name` with contents `target` (`symlinkat`). The core
    /// never passes an absolute target.
    ///
    /// # Errors
    /// - `EEXIST`: `name` exists.
    fn symlink(&self, target: &str, name: &str) -> Result<(), Errno> {
        let _ = (target, name);
        Err(Errno::Notsup)
    }

    /// Creates `to_name` in the directory `to` as a new hard link to `name`
    /// (`linkat` without following).
    ///
    /// # Errors
    /// - `EXDEV`: `to` belongs to another filesystem.
    /// - `ENOENT`: `name` does not exist.
    /// - `EEXIST`: `to_name` exists.
    /// - `EPERM`: `name` is a directory.
    fn hard_link(&self, name: &str, to: &dyn Dir, to_name: &str) -> Result<(), Errno> {
        let _ = (name, to, to_name);
        Err(Errno::Notsup)
    }

    /// Sets the access and/or modification time of `name` (not following a
    /// symlink); `None` leaves a time unchanged.
    fn set_times_at(
        &self,
        name: &str,
        atime: Option<SetTime>,
        mtime: Option<SetTime>,
    ) -> Result<(), Errno> {
        let _ = (name, atime, mtime);
        Err(Errno::Notsup)
    }

    /// Sets this directory's access and/or modification time.
    fn set_times(&self, atime: Option<SetTime>, mtime: Option<SetTime>) -> Result<(), Errno> {
        let _ = (atime, mtime);
        Err(Errno::Notsup)
    }

    /// Lists this directory's entries (without `.` and `..`, which the core adds),
    /// starting at `cookie`: `0` is the start, any other value is the
    /// [`DirEntry::next`] of an entry returned earlier.
    ///
    /// Cookies must stay valid while entries are added or removed, and resuming
    /// from one should not re-list the directory from the start: the core keeps
    /// the returned [`ReadDir`] between calls, so a sequential scan is linear.
    /// Cookies must be below `u64::MAX - 2` (the core shifts them to make room for
    /// `.` and `..`).
    fn entries(&self, cookie: u64) -> Result<Box<dyn ReadDir>, Errno>;

    /// Makes this directory's entries durable: once it returns `Ok`, the
    /// creations, removals and renames of names in this directory survive a
    /// crash of the host, as after `fsync(2)` of a directory (which is how
    /// programs make a rename durable). The core calls it for `fd_sync` and
    /// `fd_datasync` on a directory fd.
    ///
    /// A backend without durable storage (`MemFs`, the upper layer of an
    /// `Overlay`) has nothing to flush and returns `Ok` (its contents live
    /// as long as the process). A backend with durable storage must flush
    /// for real or return an error, never `Ok` without doing it. The
    /// default does nothing, for in-memory backends.
    fn sync(&self) -> Result<(), Errno> {
        Ok(())
    }

    /// Whether another filesystem is mounted at `name` in this directory, or
    /// somewhere below it (when one preopen's guest path lies inside
    /// another's). The core never lets such a name be replaced, removed,
    /// renamed or linked over: `EBUSY` as on Linux (`EEXIST` for a link or
    /// symlink onto it, `EISDIR` for a file renamed onto it). Only the
    /// core's own view of nested mounts answers `true`; backends keep this
    /// default.
    fn is_mount_point(&self, name: &str) -> bool {
        let _ = name;
        false
    }

    /// This handle as `Any`, so that [`Dir::rename`] can recognise a directory of
    /// its own backend.
    fn as_any(&self) -> &dyn Any;
}

/// A file handle with positional I/O.
///
/// The core owns the cursor and the append flag of each open descriptor, so a file
/// handle only reads and writes at explicit offsets.
pub trait File: Send + Sync + 'static {
    /// For a handle [`Dir::open_unchecked`] returned: the directory it names,
    /// if it names one. The default, for backends that always check, is
    /// `Ok(None)`.
    fn as_dir(&self) -> Result<Option<Arc<dyn Dir>>, Errno> {
        Ok(None)
    }

    /// Reads at `offset` into `buf`; returns the number of bytes read (`0` at or
    /// past the end).
    fn read_at(&self, buf: &mut [u8], offset: u64) -> Result<usize, Errno>;

    /// Writes `buf` at `offset`, extending the file (with zeros over any gap) if
    /// needed; returns the number of bytes written.
    ///
    /// An empty `buf` changes nothing, wherever `offset` is: the file does not
    /// grow and no time is stamped (as `pwrite(2)` with a count of 0). The core
    /// never passes an empty `buf` (it skips empty writes itself), but other
    /// callers may.
    ///
    /// # Errors
    /// - `EFBIG`: the file would grow beyond the backend's limit.
    /// - `ENOSPC`: no room left.
    fn write_at(&self, buf: &[u8], offset: u64) -> Result<usize, Errno>;

    /// Appends `buf` at the end of the file, atomically with respect to other
    /// appends; returns the number of bytes written and the new end of the file.
    /// An empty `buf` changes nothing, as in [`write_at`](File::write_at).
    fn append(&self, buf: &[u8]) -> Result<(usize, u64), Errno> {
        let end = self.stat()?.size;
        let n = self.write_at(buf, end)?;
        Ok((n, end + n as u64))
    }

    /// Metadata of this file.
    fn stat(&self) -> Result<Stat, Errno>;

    /// Truncates or extends (with zeros) the file to `size` bytes.
    fn set_len(&self, size: u64) -> Result<(), Errno>;

    /// Sets the access and/or modification time; `None` leaves a time unchanged.
    fn set_times(&self, atime: Option<SetTime>, mtime: Option<SetTime>) -> Result<(), Errno> {
        let _ = (atime, mtime);
        Err(Errno::Notsup)
    }

    /// Makes this file's data and metadata durable, as `fsync(2)`: once it
    /// returns `Ok`, everything written so far survives a crash of the host.
    /// The core calls it for `fd_sync`, and after every write on a
    /// descriptor opened with `fdflags::sync` (before every read with
    /// `rsync`).
    ///
    /// As for [`Dir::sync`]: a backend without durable storage returns `Ok`
    /// (the default); one with durable storage flushes for real or fails.
    fn sync(&self) -> Result<(), Errno> {
        Ok(())
    }

    /// Makes this file's data durable (and the metadata needed to read it
    /// back, such as its size), as `fdatasync(2)`. The core calls it for
    /// `fd_datasync`, and after every write on a descriptor opened with
    /// `fdflags::dsync`. The default is [`sync`](File::sync).
    fn datasync(&self) -> Result<(), Errno> {
        self.sync()
    }
}
