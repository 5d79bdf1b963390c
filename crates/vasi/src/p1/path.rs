//! `path_*`: operations on paths relative to a directory fd.
//!
//! Every path goes through the one walker in `vfs::resolve`, which keeps it
//! inside the directory it starts from.

use super::abi::{fdflags, lookupflags, oflags, rights};
use crate::table::{Descriptor, OpenDir, OpenFile};
use crate::vfs::resolve::{Last, Resolved, Resolver};
use crate::vfs::{Dir, FileType, Node, OpenOptions, Stat};
use crate::{Errno, Error, GuestMemory, WasiCtx};
use std::sync::Arc;

/// The directory behind `fd`, which must hold `right`: `EBADF` if closed,
/// `ENOTDIR` if not a directory, `ENOTCAPABLE` if the right was dropped.
fn dir_fd(ctx: &mut WasiCtx, fd: u32, right: u64) -> Result<Arc<dyn Dir>, Error> {
    Ok(dir_fd_rights(ctx, fd, right)?.0)
}

/// As [`dir_fd`], with the rights new descriptors opened from it may have.
fn dir_fd_rights(ctx: &mut WasiCtx, fd: u32, right: u64) -> Result<(Arc<dyn Dir>, u64), Error> {
    match ctx.table.get_settled(fd)? {
        Descriptor::Dir(d) => {
            if d.rights_base & right != right {
                return Err(Errno::Notcapable.into());
            }
            Ok((d.dir.clone(), d.rights_inheriting))
        }
        _ => Err(Errno::Notdir.into()),
    }
}

/// Decodes `lookupflags`: whether to follow a final symlink.
fn follow(flags: u32) -> Result<bool, Error> {
    if flags & !lookupflags::SYMLINK_FOLLOW != 0 {
        return Err(Error::inval());
    }
    Ok(flags & lookupflags::SYMLINK_FOLLOW != 0)
}

/// Resolves `path` and, if asked (or if the path ends in `/`), follows a final
/// symlink, until the final component is not a symlink. Returns the resolution
/// and, when the final component is a name, its `lstat`.
fn resolve_final<'p>(
    res: &mut Resolver,
    path: &'p str,
    follow: bool,
) -> Result<(Resolved<'p>, Option<Stat>), Error> {
    let mut r = res.walk(path)?;
    loop {
        let Last::Name(name) = &r.last else {
            return Ok((r, None));
        };
        let st = r.dir.stat_at(name)?;
        if st.filetype == FileType::SymbolicLink && (follow || r.trailing_slash) {
            let target = r.dir.read_link(name)?;
            r = res.follow(&r, &target)?;
            continue;
        }
        if r.trailing_slash && st.filetype != FileType::Directory {
            return Err(Errno::Notdir.into());
        }
        return Ok((r, Some(st)));
    }
}

/// Writes the `filestat` of `path` (relative to `fd`) to `buf`, following a final
/// symlink if `flags` says so.
///
/// This corresponds to `path_filestat_get` in `wasi_snapshot_preview1`.
pub fn path_filestat_get(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    fd: u32,
    flags: u32,
    path: u32,
    path_len: u32,
    buf: u32,
) -> Result<(), Error> {
    let dir = dir_fd(ctx, fd, rights::PATH_FILESTAT_GET)?;
    let follow = follow(flags)?;
    let path = &*mem.read_str(path, path_len)?;
    let stat = stat_path(dir, path, follow)?;
    mem.write_struct(buf, 8, &super::abi::filestat(&stat))
}

fn stat_path(dir: Arc<dyn Dir>, path: &str, follow: bool) -> Result<Stat, Error> {
    let mut res = Resolver::new(dir);
    match resolve_final(&mut res, path, follow)? {
        (_, Some(st)) => Ok(st),
        (r, None) => Ok(r.dir.stat()?),
    }
}

/// Sets the access and/or modification time of `path`.
///
/// This corresponds to `path_filestat_set_times` in `wasi_snapshot_preview1`.
#[allow(clippy::too_many_arguments, reason = "the preview1 signature")]
pub fn path_filestat_set_times(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    fd: u32,
    flags: u32,
    path: u32,
    path_len: u32,
    atim: u64,
    mtim: u64,
    fst_flags: u32,
) -> Result<(), Error> {
    let dir = dir_fd(ctx, fd, rights::PATH_FILESTAT_SET_TIMES)?;
    let follow = follow(flags)?;
    let (a, m) = super::fd::set_times(atim, mtim, fst_flags)?;
    let path = &*mem.read_str(path, path_len)?;
    let mut res = Resolver::new(dir);
    let (r, _) = resolve_final(&mut res, path, follow)?;
    match r.name() {
        Some(name) => r.dir.set_times_at(name, a, m)?,
        None => r.dir.set_times(a, m)?,
    }
    Ok(())
}

/// Creates the directory `path`.
///
/// This corresponds to `path_create_directory` in `wasi_snapshot_preview1`.
pub fn path_create_directory(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    fd: u32,
    path: u32,
    path_len: u32,
) -> Result<(), Error> {
    let dir = dir_fd(ctx, fd, rights::PATH_CREATE_DIRECTORY)?;
    let path = &*mem.read_str(path, path_len)?;
    let mut res = Resolver::new(dir);
    let r = res.walk(path)?;
    match r.name() {
        Some(name) => Ok(r.dir.create_dir(name)?),
        None => Err(Errno::Exist.into()),
    }
}

/// Removes the empty directory `path`.
///
/// This corresponds to `path_remove_directory` in `wasi_snapshot_preview1`.
pub fn path_remove_directory(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    fd: u32,
    path: u32,
    path_len: u32,
) -> Result<(), Error> {
    let dir = dir_fd(ctx, fd, rights::PATH_REMOVE_DIRECTORY)?;
    let path = &*mem.read_str(path, path_len)?;
    let mut res = Resolver::new(dir);
    let r = res.walk(path)?;
    match &r.last {
        Last::Name(name) => Ok(r.dir.remove_dir(name)?),
        // As rmdir(2): "." is EINVAL, ".." ENOTEMPTY.
        Last::Dot => Err(Error::inval()),
        Last::DotDot => Err(Errno::Notempty.into()),
    }
}

/// Removes the file (or symlink) `path`; `EISDIR` for a directory.
///
/// This corresponds to `path_unlink_file` in `wasi_snapshot_preview1`.
pub fn path_unlink_file(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    fd: u32,
    path: u32,
    path_len: u32,
) -> Result<(), Error> {
    let dir = dir_fd(ctx, fd, rights::PATH_UNLINK_FILE)?;
    let path = &*mem.read_str(path, path_len)?;
    let mut res = Resolver::new(dir);
    let r = res.walk(path)?;
    let Some(name) = r.name() else {
        return Err(Errno::Isdir.into());
    };
    if r.trailing_slash {
        // "file/" names no file: a directory is EISDIR, anything else ENOTDIR.
        return Err(match r.dir.stat_at(name)?.filetype {
            FileType::Directory => Errno::Isdir,
            _ => Errno::Notdir,
        }
        .into());
    }
    Ok(r.dir.unlink(name)?)
}

/// Renames `old_path` (relative to `fd`) to `new_path` (relative to `new_fd`).
///
/// This corresponds to `path_rename` in `wasi_snapshot_preview1`.
#[allow(clippy::too_many_arguments, reason = "the preview1 signature")]
pub fn path_rename(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    fd: u32,
    old_path: u32,
    old_path_len: u32,
    new_fd: u32,
    new_path: u32,
    new_path_len: u32,
) -> Result<(), Error> {
    let old_dir = dir_fd(ctx, fd, rights::PATH_RENAME_SOURCE)?;
    let new_dir = dir_fd(ctx, new_fd, rights::PATH_RENAME_TARGET)?;
    let old_path = &*mem.read_str(old_path, old_path_len)?;
    let new_path = &*mem.read_str(new_path, new_path_len)?;
    let mut old_res = Resolver::new(old_dir);
    let old = old_res.walk(old_path)?;
    let mut new_res = Resolver::new(new_dir);
    let new = new_res.walk(new_path)?;
    let (Some(old_name), Some(new_name)) = (old.name(), new.name()) else {
        return Err(Errno::Busy.into());
    };
    if old.trailing_slash || new.trailing_slash {
        // A trailing slash demands a directory source.
        if old.dir.stat_at(old_name)?.filetype != FileType::Directory {
            return Err(Errno::Notdir.into());
        }
    }
    if old.dir.is_mount_point(old_name) {
        return Err(Errno::Busy.into());
    }
    if new.dir.is_mount_point(new_name) {
        // As rename(2): a file onto a (mounted) directory is EISDIR, a
        // directory onto a mount point EBUSY; the mount is never written.
        return Err(match old.dir.stat_at(old_name)?.filetype {
            FileType::Directory => Errno::Busy,
            _ => Errno::Isdir,
        }
        .into());
    }
    Ok(old.dir.rename(old_name, &*new.dir, new_name)?)
}

/// Opens (or creates) `path` and writes the new fd to `fd_out`.
///
/// `oflags` may create, truncate, demand a directory or exclusive creation;
/// `fs_rights_base` decides whether the file is readable (`fd_read`,
/// `fd_readdir`) and/or writable (`fd_write`, `fd_allocate`,
/// `fd_filestat_set_size`); `fdflags` may set `append`. Undefined bits in any of
/// the flags are `EINVAL`.
///
/// This corresponds to `path_open` in `wasi_snapshot_preview1`.
#[allow(clippy::too_many_arguments, reason = "the preview1 signature")]
pub fn path_open(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    fd: u32,
    dirflags: u32,
    path: u32,
    path_len: u32,
    o_flags: u32,
    fs_rights_base: u64,
    _fs_rights_inheriting: u64,
    fd_flags: u32,
    fd_out: u32,
) -> Result<(), Error> {
    let o_flags = u16::try_from(o_flags).map_err(|_| Error::inval())?;
    // The directory must allow opening, and creating or truncating if asked.
    let mut needed = rights::PATH_OPEN;
    if o_flags & oflags::CREAT != 0 {
        needed |= rights::PATH_CREATE_FILE;
    }
    if o_flags & oflags::TRUNC != 0 {
        needed |= rights::PATH_FILESTAT_SET_SIZE;
    }
    let (dir, inheriting) = dir_fd_rights(ctx, fd, needed)?;
    let follow = follow(dirflags)?;
    let fd_flags = u16::try_from(fd_flags).map_err(|_| Error::inval())?;
    if o_flags & !oflags::ALL != 0 || fd_flags & !fdflags::ALL != 0 {
        return Err(Error::inval());
    }
    let creat = o_flags & oflags::CREAT != 0;
    let excl = o_flags & oflags::EXCL != 0;
    let trunc = o_flags & oflags::TRUNC != 0;
    let directory = o_flags & oflags::DIRECTORY != 0;
    if directory && (creat || trunc) {
        return Err(Error::inval());
    }
    let write = fs_rights_base
        & (rights::FD_WRITE | rights::FD_ALLOCATE | rights::FD_FILESTAT_SET_SIZE)
        != 0;
    let read = fs_rights_base & (rights::FD_READ | rights::FD_READDIR) != 0 || !write;

    let path = &*mem.read_str(path, path_len)?;
    // Checked before anything is opened or created.
    mem.check(fd_out, 4, 4)?;
    let mut res = Resolver::new(dir);
    let mut r = res.walk(path)?;
    let mut unchecked = false;
    let node = loop {
        let name = match &r.last {
            Last::Dot | Last::DotDot => {
                if creat && excl {
                    return Err(Errno::Exist.into());
                }
                if write || trunc || creat {
                    return Err(Errno::Isdir.into());
                }
                break Node::Dir(r.dir.clone());
            }
            Last::Name(name) => name,
        };
        if r.trailing_slash && creat {
            // As open(2): "name/" with O_CREAT never creates a file.
            return Err(match r.dir.open(name, &OpenOptions::lookup_dir()) {
                Err(Errno::Notdir) => Errno::Notdir,
                _ => Errno::Isdir,
            }
            .into());
        }
        let opts = OpenOptions {
            read,
            write,
            create: creat,
            create_new: creat && excl,
            truncate: trunc,
            directory: directory || r.trailing_slash,
        };
        unchecked = !opts.directory;
        let opened = if opts.directory {
            r.dir.open(name, &opts)
        } else {
            r.dir.open_unchecked(name, &opts)
        };
        match opened {
            Ok(node) => break node,
            Err(Errno::Loop) if follow || r.trailing_slash => {
                let target = r.dir.read_link(name)?;
                r = res.follow(&r, &target)?;
            }
            Err(e) => return Err(e.into()),
        }
    };
    let desc = match node {
        Node::File(file) => {
            // A new fd has at most the rights its directory passes on.
            let rights_base = (if read { rights::FILE_READ } else { 0 }
                | if write { rights::FILE_WRITE } else { 0 })
                & inheriting;
            Descriptor::File(OpenFile {
                file,
                position: 0,
                read: read && rights_base & rights::FD_READ != 0,
                write: write && rights_base & rights::FD_WRITE != 0,
                flags: fd_flags,
                rights_base,
                rights_inheriting: rights_base,
                // The backend knows whether it skipped a check (File::as_dir).
                unchecked: unchecked.then_some(inheriting),
            })
        }
        Node::Dir(dir) => {
            if write {
                return Err(Errno::Isdir.into());
            }
            Descriptor::Dir(OpenDir {
                dir,
                preopen: None,
                cursor: None,
                rights_base: rights::DIRECTORY & inheriting,
                rights_inheriting: inheriting,
            })
        }
    };
    let new_fd = ctx.push_fd(desc)?;
    mem.write_u32(fd_out, new_fd)
}

/// Reads the target of the symlink `path` into `buf` (cut to `buf_len` bytes);
/// writes its length to `bufused`.
///
/// This corresponds to `path_readlink` in `wasi_snapshot_preview1`.
#[allow(clippy::too_many_arguments, reason = "the preview1 signature")]
pub fn path_readlink(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    fd: u32,
    path: u32,
    path_len: u32,
    buf: u32,
    buf_len: u32,
    bufused: u32,
) -> Result<(), Error> {
    let dir = dir_fd(ctx, fd, rights::PATH_READLINK)?;
    let path = &*mem.read_str(path, path_len)?;
    let mut res = Resolver::new(dir);
    let r = res.walk(path)?;
    let Some(name) = r.name() else {
        return Err(Error::inval());
    };
    if r.trailing_slash {
        return Err(Errno::Notdir.into());
    }
    let target = r.dir.read_link(name)?;
    let n = target.len().min(buf_len as usize);
    mem.copy_in(buf, &target.as_bytes()[..n])?;
    mem.write_u32(bufused, n as u32)
}

/// Creates the symlink `new_path` (relative to `fd`) with contents `old_path`.
/// An absolute target is refused with `EPERM` (it could never be followed
/// inside the mount), one longer than [`MAX_SYMLINK_LEN`](crate::vfs::MAX_SYMLINK_LEN)
/// with `ENAMETOOLONG`; a relative one may point anywhere, since following it
/// is confined like any other path.
///
/// This corresponds to `path_symlink` in `wasi_snapshot_preview1`.
pub fn path_symlink(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    old_path: u32,
    old_path_len: u32,
    fd: u32,
    new_path: u32,
    new_path_len: u32,
) -> Result<(), Error> {
    let dir = dir_fd(ctx, fd, rights::PATH_SYMLINK)?;
    let target = &*mem.read_str(old_path, old_path_len)?;
    let new_path = &*mem.read_str(new_path, new_path_len)?;
    if target.is_empty() {
        return Err(Errno::Noent.into());
    }
    if target.starts_with('/') {
        return Err(Error::escape_attempt());
    }
    if target.as_bytes().contains(&0) {
        return Err(Error::inval());
    }
    if target.len() > crate::vfs::MAX_SYMLINK_LEN {
        return Err(Errno::Nametoolong.into());
    }
    let mut res = Resolver::new(dir);
    let r = res.walk(new_path)?;
    let Some(name) = r.name() else {
        return Err(Errno::Exist.into());
    };
    if r.trailing_slash {
        // symlink(2) with "name/": EEXIST if something is there, else ENOENT.
        return Err(match r.dir.stat_at(name) {
            Ok(_) => Errno::Exist,
            Err(_) => Errno::Noent,
        }
        .into());
    }
    Ok(r.dir.symlink(target, name)?)
}

/// Creates `new_path` (relative to `new_fd`) as a hard link to `old_path`
/// (relative to `old_fd`), following a final symlink in `old_path` if
/// `old_flags` says so.
///
/// This corresponds to `path_link` in `wasi_snapshot_preview1`.
#[allow(clippy::too_many_arguments, reason = "the preview1 signature")]
pub fn path_link(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    old_fd: u32,
    old_flags: u32,
    old_path: u32,
    old_path_len: u32,
    new_fd: u32,
    new_path: u32,
    new_path_len: u32,
) -> Result<(), Error> {
    let old_dir = dir_fd(ctx, old_fd, rights::PATH_LINK_SOURCE)?;
    let new_dir = dir_fd(ctx, new_fd, rights::PATH_LINK_TARGET)?;
    let follow = follow(old_flags)?;
    let old_path = &*mem.read_str(old_path, old_path_len)?;
    let new_path = &*mem.read_str(new_path, new_path_len)?;
    let mut old_res = Resolver::new(old_dir);
    let (old, old_stat) = resolve_final(&mut old_res, old_path, follow)?;
    let (Some(old_name), Some(st)) = (old.name(), old_stat) else {
        return Err(Errno::Perm.into());
    };
    if st.filetype == FileType::Directory {
        return Err(Errno::Perm.into());
    }
    let mut new_res = Resolver::new(new_dir);
    let new = new_res.walk(new_path)?;
    let Some(new_name) = new.name() else {
        return Err(Errno::Exist.into());
    };
    if new.trailing_slash {
        return Err(match new.dir.stat_at(new_name) {
            Ok(_) => Errno::Exist,
            Err(_) => Errno::Noent,
        }
        .into());
    }
    if new.dir.is_mount_point(new_name) {
        // It exists (as a directory), whatever the directory below it says.
        return Err(Errno::Exist.into());
    }
    Ok(old.dir.hard_link(old_name, &*new.dir, new_name)?)
}
