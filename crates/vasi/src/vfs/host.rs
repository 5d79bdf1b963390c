//! `HostDir`: a host directory, confined with cap-std.

use super::{Dir, DirEntry, File, FileType, Node, OpenOptions, ReadDir, SetTime, Stat};
use crate::Errno;
use cap_fs_ext::{
    DirExt, FollowSymlinks, OpenOptionsFollowExt, OpenOptionsMaybeDirExt, OsMetadataExt,
};
use cap_std::fs::{Dir as CapDir, File as CapFile, FileExt as _, Metadata};
use std::any::Any;
use std::io;
use std::os::unix::fs::DirEntryExt as _;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

/// A directory of the host's filesystem.
///
/// Every operation goes through cap-std on a handle to this directory, and takes
/// a single name that the core's path walker has already checked, so a guest can
/// reach nothing outside it: not with `..`, not with absolute paths, not through
/// symlinks (which the core follows itself, within the mount).
///
/// ```
/// let tmp = tempfile::tempdir()?;
/// std::fs::write(tmp.path().join("hello.txt"), "hi")?;
/// let dir = vasi::vfs::HostDir::open_ambient(tmp.path())?;
/// let ctx = vasi::WasiCtxBuilder::new()
///     .preopen_dir(std::sync::Arc::new(dir), "/work")
///     .build()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct HostDir {
    dir: CapDir,
}

impl HostDir {
    /// Opens the host directory `path`.
    ///
    /// # Ambient authority
    /// This uses the process's own access to the host filesystem to open `path`;
    /// everything done through the returned handle stays beneath it.
    pub fn open_ambient(path: impl AsRef<Path>) -> io::Result<Self> {
        let dir = CapDir::open_ambient_dir(path, cap_std::ambient_authority())?;
        Ok(HostDir { dir })
    }

    /// Wraps an already open cap-std directory.
    pub fn from_cap_std(dir: CapDir) -> Self {
        HostDir { dir }
    }
}

fn errno(e: io::Error) -> Errno {
    e.into()
}

/// A host time as preview1's nanoseconds since the epoch, clamped to what a
/// `u64` of them can say: a time before 1970 is the epoch itself (0), one
/// after 2554 is `u64::MAX`. Never a panic, whatever the host file says.
fn nanos(secs: i64, nsec: i64) -> u64 {
    let Ok(secs) = u64::try_from(secs) else {
        return 0;
    };
    secs.saturating_mul(1_000_000_000)
        .saturating_add(u64::try_from(nsec).unwrap_or(0))
}

fn stat_of(md: &Metadata) -> Stat {
    let ft = md.file_type();
    let filetype = if ft.is_dir() {
        FileType::Directory
    } else if ft.is_file() {
        FileType::RegularFile
    } else if ft.is_symlink() {
        FileType::SymbolicLink
    } else {
        use cap_fs_ext::FileTypeExt;
        if ft.is_block_device() {
            FileType::BlockDevice
        } else if ft.is_char_device() {
            FileType::CharacterDevice
        } else if ft.is_socket() {
            FileType::SocketStream
        } else {
            FileType::Unknown
        }
    };
    Stat {
        dev: md.dev(),
        ino: md.ino(),
        filetype,
        nlink: md.nlink(),
        size: md.len(),
        atim: nanos(md.atime(), md.atime_nsec()),
        mtim: nanos(md.mtime(), md.mtime_nsec()),
        ctim: nanos(md.ctime(), md.ctime_nsec()),
    }
}

fn time_spec(t: Option<SetTime>) -> Option<fs_set_times::SystemTimeSpec> {
    t.map(|t| match t {
        SetTime::Now => fs_set_times::SystemTimeSpec::SymbolicNow,
        SetTime::At(ns) => {
            fs_set_times::SystemTimeSpec::Absolute(UNIX_EPOCH + Duration::from_nanos(ns))
        }
    })
}

fn cap_time_spec(t: Option<SetTime>) -> Option<cap_fs_ext::SystemTimeSpec> {
    time_spec(t).map(cap_fs_ext::SystemTimeSpec::from_std)
}

impl HostDir {
    /// Opens `name` (never following a symlink) as `options` asks; returns
    /// the handle and whether it was opened for writing.
    fn open_file(&self, name: &str, options: &OpenOptions) -> Result<(CapFile, bool), Errno> {
        let mut o = cap_std::fs::OpenOptions::new();
        // The host handle needs write access to create or truncate; the core's
        // descriptor still refuses writes the guest did not ask for.
        let write = options.write || options.create || options.create_new || options.truncate;
        o.read(options.read || !write)
            .write(write)
            .create(options.create)
            .create_new(options.create_new)
            .truncate(options.truncate)
            .follow(FollowSymlinks::No)
            .maybe_dir(true);
        // Never wait in open(2): a FIFO without a peer would block it for
        // ever, out of reach of any interrupt. O_NONBLOCK changes nothing for
        // regular files and directories; a FIFO opened this way can then be
        // neither read nor written (ESPIPE: host files are read and written
        // at offsets), and a FIFO opened for writing without a reader is
        // ENXIO, as open(2) says.
        cap_std::fs::OpenOptionsExt::custom_flags(
            &mut o,
            rustix::fs::OFlags::NONBLOCK.bits() as i32,
        );
        let file = self.dir.open_with(name, &o).map_err(errno)?;
        Ok((file, write))
    }

    /// `ENOTDIR` or `ELOOP` from an open that demanded a directory: `ELOOP` if
    /// `name` is a symlink (so that the core follows it), else the error.
    fn dir_open_error(&self, name: &str, e: io::Error) -> Errno {
        let e = errno(e);
        if matches!(e, Errno::Notdir | Errno::Loop) {
            if let Ok(md) = self.dir.symlink_metadata(name) {
                if md.file_type().is_symlink() {
                    return Errno::Loop;
                }
            }
            return Errno::Notdir;
        }
        e
    }
}

impl Dir for HostDir {
    fn open(&self, name: &str, options: &OpenOptions) -> Result<Node, Errno> {
        if options.directory && !options.write && !options.create && !options.create_new {
            return match self.dir.open_dir_nofollow(name) {
                Ok(dir) => Ok(Node::Dir(Arc::new(HostDir { dir }))),
                Err(e) => Err(self.dir_open_error(name, e)),
            };
        }
        let (file, write) = self.open_file(name, options)?;
        if write && !options.directory {
            // The kernel refuses to open a directory for writing (EISDIR).
            return Ok(Node::File(Box::new(HostFile {
                file,
                maybe_dir: false,
            })));
        }
        let md = file.metadata().map_err(errno)?;
        if md.is_dir() {
            if write {
                return Err(Errno::Isdir);
            }
            return Ok(Node::Dir(Arc::new(HostDir {
                dir: CapDir::from_std_file(file.into_std()),
            })));
        }
        if options.directory {
            return Err(Errno::Notdir);
        }
        Ok(Node::File(Box::new(HostFile {
            file,
            maybe_dir: false,
        })))
    }

    /// A read-only open without `directory` skips the `stat` that tells a
    /// directory from a file (one system call less per open); the core asks
    /// [`File::as_dir`] when it matters.
    fn open_unchecked(&self, name: &str, options: &OpenOptions) -> Result<Node, Errno> {
        if options.directory {
            return self.open(name, options);
        }
        let (file, write) = self.open_file(name, options)?;
        // A writable open cannot be a directory (EISDIR): nothing to check.
        Ok(Node::File(Box::new(HostFile {
            file,
            maybe_dir: !write,
        })))
    }

    fn stat_at(&self, name: &str) -> Result<Stat, Errno> {
        let md = self.dir.symlink_metadata(name).map_err(errno)?;
        Ok(stat_of(&md))
    }

    fn stat(&self) -> Result<Stat, Errno> {
        Ok(stat_of(&self.dir.dir_metadata().map_err(errno)?))
    }

    fn create_dir(&self, name: &str) -> Result<(), Errno> {
        self.dir.create_dir(name).map_err(errno)
    }

    fn remove_dir(&self, name: &str) -> Result<(), Errno> {
        self.dir.remove_dir(name).map_err(errno)
    }

    fn unlink(&self, name: &str) -> Result<(), Errno> {
        match self.dir.remove_file_or_symlink(name) {
            Ok(()) => Ok(()),
            // unlink(2) of a directory is EISDIR on Linux but EPERM by POSIX;
            // say EISDIR everywhere.
            Err(e) => match errno(e) {
                Errno::Perm | Errno::Acces
                    if self.dir.symlink_metadata(name).is_ok_and(|m| m.is_dir()) =>
                {
                    Err(Errno::Isdir)
                }
                e => Err(e),
            },
        }
    }

    fn rename(&self, name: &str, to: &dyn Dir, to_name: &str) -> Result<(), Errno> {
        let Some(to) = to.as_any().downcast_ref::<HostDir>() else {
            return Err(Errno::Xdev);
        };
        self.dir.rename(name, &to.dir, to_name).map_err(errno)
    }

    fn read_link(&self, name: &str) -> Result<String, Errno> {
        let target = self.dir.read_link_contents(name).map_err(errno)?;
        target
            .into_os_string()
            .into_string()
            .map_err(|_| Errno::Ilseq)
    }

    fn symlink(&self, target: &str, name: &str) -> Result<(), Errno> {
        self.dir.symlink(target, name).map_err(errno)
    }

    fn hard_link(&self, name: &str, to: &dyn Dir, to_name: &str) -> Result<(), Errno> {
        let Some(to) = to.as_any().downcast_ref::<HostDir>() else {
            return Err(Errno::Xdev);
        };
        self.dir.hard_link(name, &to.dir, to_name).map_err(errno)
    }

    fn set_times_at(
        &self,
        name: &str,
        atime: Option<SetTime>,
        mtime: Option<SetTime>,
    ) -> Result<(), Errno> {
        self.dir
            .set_symlink_times(name, cap_time_spec(atime), cap_time_spec(mtime))
            .map_err(errno)
    }

    fn set_times(&self, atime: Option<SetTime>, mtime: Option<SetTime>) -> Result<(), Errno> {
        // cap-std may hold a directory as an `O_PATH` descriptor, on which
        // futimens(2) is EBADF; "." through the directory works on any handle.
        self.dir
            .set_times(".", cap_time_spec(atime), cap_time_spec(mtime))
            .map_err(errno)
    }

    fn entries(&self, cookie: u64) -> Result<Box<dyn ReadDir>, Errno> {
        let mut iter = self.dir.entries().map_err(errno)?;
        // Host cookies are positions in the listing. The core keeps the listing
        // between calls, so this skip only happens when a guest seeks back.
        for _ in 0..cookie {
            if iter.next().is_none() {
                break;
            }
        }
        Ok(Box::new(HostReadDir {
            iter,
            position: cookie,
        }))
    }

    /// fsync(2) of the directory, which makes the creations, removals and
    /// renames of its entries durable. The handle may be an `O_PATH`
    /// descriptor (which cannot be synced), so the directory is opened again
    /// for reading, through this handle.
    fn sync(&self) -> Result<(), Errno> {
        let mut o = cap_std::fs::OpenOptions::new();
        o.read(true).maybe_dir(true);
        cap_std::fs::OpenOptionsExt::custom_flags(
            &mut o,
            rustix::fs::OFlags::DIRECTORY.bits() as i32,
        );
        let dir = self.dir.open_with(".", &o).map_err(errno)?;
        retry(|| dir.sync_all())
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

struct HostReadDir {
    iter: cap_std::fs::ReadDir,
    position: u64,
}

impl ReadDir for HostReadDir {
    /// Host names that are not UTF-8 are skipped: a guest could not name
    /// them in any call (its paths are UTF-8), and one such file must not
    /// make the rest of the directory unlistable.
    fn next_entry(&mut self) -> Option<Result<DirEntry, Errno>> {
        let (entry, name) = loop {
            let entry = match self.iter.next()? {
                Ok(e) => e,
                Err(e) => return Some(Err(errno(e))),
            };
            self.position += 1;
            if let Ok(n) = entry.file_name().into_string() {
                break (entry, n);
            }
        };
        let filetype = match entry.file_type() {
            Ok(t) if t.is_dir() => FileType::Directory,
            Ok(t) if t.is_file() => FileType::RegularFile,
            Ok(t) if t.is_symlink() => FileType::SymbolicLink,
            Ok(_) => FileType::Unknown,
            Err(e) => return Some(Err(errno(e))),
        };
        Some(Ok(DirEntry {
            name,
            filetype,
            ino: entry.ino(),
            next: self.position,
        }))
    }
}

struct HostFile {
    file: CapFile,
    /// Opened by `open_unchecked` without finding out whether it is a
    /// directory.
    maybe_dir: bool,
}

fn retry<T>(mut f: impl FnMut() -> io::Result<T>) -> Result<T, Errno> {
    loop {
        match f() {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => return other.map_err(errno),
        }
    }
}

impl File for HostFile {
    fn as_dir(&self) -> Result<Option<Arc<dyn Dir>>, Errno> {
        if !self.maybe_dir {
            return Ok(None);
        }
        let md = self.file.metadata().map_err(errno)?;
        if !md.is_dir() {
            return Ok(None);
        }
        let dup = self.file.try_clone().map_err(errno)?;
        Ok(Some(Arc::new(HostDir {
            dir: CapDir::from_std_file(dup.into_std()),
        })))
    }

    fn read_at(&self, buf: &mut [u8], offset: u64) -> Result<usize, Errno> {
        retry(|| self.file.read_at(buf, offset))
    }

    fn write_at(&self, buf: &[u8], offset: u64) -> Result<usize, Errno> {
        let mut done = 0;
        while done < buf.len() {
            let n = retry(|| self.file.write_at(&buf[done..], offset + done as u64))?;
            if n == 0 {
                return Err(Errno::Io);
            }
            done += n;
        }
        Ok(done)
    }

    fn stat(&self) -> Result<Stat, Errno> {
        Ok(stat_of(&self.file.metadata().map_err(errno)?))
    }

    fn set_len(&self, size: u64) -> Result<(), Errno> {
        self.file.set_len(size).map_err(errno)
    }

    fn set_times(&self, atime: Option<SetTime>, mtime: Option<SetTime>) -> Result<(), Errno> {
        fs_set_times::SetTimes::set_times(&self.file, time_spec(atime), time_spec(mtime))
            .map_err(errno)
    }

    fn sync(&self) -> Result<(), Errno> {
        self.file.sync_all().map_err(errno)
    }

    fn datasync(&self) -> Result<(), Errno> {
        self.file.sync_data().map_err(errno)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_times_are_clamped_to_what_preview1_can_say() {
        assert_eq!(nanos(-1, 500_000_000), 0, "before 1970: the epoch");
        assert_eq!(nanos(i64::MIN, 0), 0);
        assert_eq!(nanos(1, 5), 1_000_000_005);
        assert_eq!(nanos(i64::MAX, 999_999_999), u64::MAX, "after 2554");
        assert_eq!(nanos(20_000_000_000, 0), u64::MAX);
    }

    #[test]
    fn directory_times_can_be_set_through_any_handle() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::create_dir(tmp.path().join("d")).unwrap();
        let root = HostDir::open_ambient(tmp.path()).unwrap();
        let Node::Dir(d) = root.open("d", &OpenOptions::lookup_dir()).unwrap() else {
            panic!("a directory");
        };
        let t = 1_234_000_000_000;
        assert_eq!(d.set_times(None, Some(SetTime::At(t))), Ok(()));
        assert_eq!(d.stat().unwrap().mtim, t);
        assert_eq!(root.stat_at("d").unwrap().mtim, t);
        assert_eq!(root.set_times(Some(SetTime::At(t)), None), Ok(()));
        assert_eq!(root.stat().unwrap().atim, t);
    }
}
