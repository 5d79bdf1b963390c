//! `fd_*`: operations on open descriptors.

use super::abi::{self, fdflags, filetype, fstflags, rights, whence};
use crate::memory::each_iovec;
use crate::table::{Descriptor, DirCursor, OpenFile};
use crate::vfs::{FileType, SetTime, Stat};
use crate::{Errno, Error, GuestMemory, Pieces, WasiCtx};
use std::io::{self, Read};

/// The open regular file behind `fd`: `EBADF` for a closed fd or a directory,
/// `ESPIPE` for a stream (stdio), which cannot be positioned.
fn seekable(ctx: &mut WasiCtx, fd: u32) -> Result<&mut OpenFile, Error> {
    match ctx.table.get_settled(fd)? {
        Descriptor::File(f) => Ok(f),
        Descriptor::Reader(..)
        | Descriptor::Writer(..)
        | Descriptor::Listener(..)
        | Descriptor::Socket(..) => Err(Errno::Spipe.into()),
        Descriptor::Dir(_) => Err(Error::badf()),
    }
}

/// `ENOTCAPABLE` unless `rights` holds `right`.
fn require(rights: u64, right: u64) -> Result<(), Error> {
    if rights & right == right {
        Ok(())
    } else {
        Err(Errno::Notcapable.into())
    }
}

/// Retries an I/O call interrupted by a signal.
pub(crate) fn retry_io(mut f: impl FnMut() -> Result<usize, Error>) -> Result<usize, Error> {
    loop {
        match f() {
            Err(Error::Errno(Errno::Intr)) => continue,
            other => return other,
        }
    }
}

pub(crate) fn stream_io(e: io::Error) -> Error {
    Error::Errno(e.into())
}

/// Reads from `fd` into the buffers of the `iovs` array; writes the byte count to
/// `nread`. Files read at and advance the fd's position; stdin reads once into
/// the first non-empty buffer (a short read, as a pipe gives).
///
/// This corresponds to `fd_read` in `wasi_snapshot_preview1`.
pub fn fd_read(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    fd: u32,
    iovs: u32,
    iovs_len: u32,
    nread: u32,
) -> Result<(), Error> {
    let iovs = mem.iovecs(iovs, iovs_len)?;
    // Every pointer is checked before any byte moves.
    mem.check(nread, 4, 4)?;
    let n = match ctx.table.get(fd)? {
        Descriptor::File(f) => {
            if !f.read {
                return Err(Error::badf());
            }
            sync_before_read(f)?;
            let n = read_file_at(f, mem, iovs, f.position)?;
            f.position += n as u64;
            n
        }
        Descriptor::Reader(r, _) => {
            let mut n = 0;
            for i in 0..iovs.count() {
                let (buf, len) = mem.iovec(iovs, i);
                if len == 0 {
                    continue;
                }
                let (interrupt, waits) = (&ctx.interrupt, &mut ctx.waits);
                n = mem.fill(buf, len, Pieces::Once, |dst| r.read(dst, interrupt, waits))?;
                break;
            }
            n
        }
        Descriptor::Socket(stream, flags) => {
            let mut n = 0;
            for i in 0..iovs.count() {
                let (buf, len) = mem.iovec(iovs, i);
                if len > 0 {
                    super::sock::wait_ready(stream, *flags, false, &ctx.interrupt, &mut ctx.waits)?;
                    n = mem.fill(buf, len, Pieces::Once, |dst| {
                        retry_io(|| stream.read(dst).map_err(stream_io))
                    })?;
                    break;
                }
            }
            n
        }
        Descriptor::Writer(..) | Descriptor::Dir(_) | Descriptor::Listener(..) => {
            return Err(Error::badf())
        }
    };
    mem.write_u32(nread, n as u32)
}

/// Reads at `offset` into successive buffers until one is not filled.
fn read_file_at(
    f: &OpenFile,
    mem: &mut GuestMemory<'_>,
    iovs: crate::memory::Iovecs,
    offset: u64,
) -> Result<usize, Error> {
    let read = each_iovec(&mut &mut *mem, iovs, |mem, total, buf, len| {
        let mut at = offset + total as u64;
        mem.fill(buf, len, Pieces::UntilShort, |dst| {
            let n = f.file.read_at(dst, at)?;
            at += n as u64;
            Ok(n)
        })
    });
    match read {
        // A directory opened unchecked: as for any directory fd.
        Err(Error::Errno(Errno::Isdir)) if f.unchecked.is_some() => Err(Error::badf()),
        r => r,
    }
}

/// Reads from the file `fd` at `offset` without moving its position.
///
/// This corresponds to `fd_pread` in `wasi_snapshot_preview1`.
pub fn fd_pread(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    fd: u32,
    iovs: u32,
    iovs_len: u32,
    offset: u64,
    nread: u32,
) -> Result<(), Error> {
    let iovs = mem.iovecs(iovs, iovs_len)?;
    mem.check(nread, 4, 4)?;
    let f = seekable(ctx, fd)?;
    if !f.read {
        return Err(Error::badf());
    }
    sync_before_read(f)?;
    let n = read_file_at(f, mem, iovs, offset)?;
    mem.write_u32(nread, n as u32)
}

/// Writes the buffers of the `iovs` array to `fd`; writes the byte count to
/// `nwritten`. Files write at the fd's position (or at the end, with the
/// `append` flag) and advance it; stdout and stderr take every byte. A call
/// never writes more than its `u32` result can count: past `u32::MAX` bytes
/// the write is short.
///
/// This corresponds to `fd_write` in `wasi_snapshot_preview1`.
pub fn fd_write(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    fd: u32,
    iovs: u32,
    iovs_len: u32,
    nwritten: u32,
) -> Result<(), Error> {
    let iovs = mem.iovecs(iovs, iovs_len)?;
    // Every pointer is checked before any byte moves.
    mem.check(nwritten, 4, 4)?;
    let n = match ctx.table.get(fd)? {
        Descriptor::File(f) => {
            if !f.write {
                return Err(Error::badf());
            }
            let n = if f.flags & fdflags::APPEND != 0 {
                // As write(2), an empty buffer moves, grows and stamps
                // nothing: `each_iovec` skips it.
                let file = &f.file;
                let mut end = None;
                let n = each_iovec(&mut &*mem, iovs, |mem, _, buf, len| {
                    mem.drain(buf, len, Pieces::UntilShort, |src| {
                        let (n, e) = file.append(src)?;
                        end = Some(e);
                        Ok(n)
                    })
                });
                if let Some(end) = end {
                    f.position = end;
                }
                n?
            } else {
                let n = write_file_at(f, mem, iovs, f.position)?;
                f.position += n as u64;
                n
            };
            sync_after_write(f, n)?;
            n
        }
        Descriptor::Writer(w, _) => w.write_iovecs(mem, iovs, &ctx.interrupt, &mut ctx.waits)?,
        Descriptor::Socket(stream, flags) => {
            super::sock::send(stream, *flags, mem, iovs, &ctx.interrupt, &mut ctx.waits)?
        }
        Descriptor::Reader(..) | Descriptor::Dir(_) | Descriptor::Listener(..) => {
            return Err(Error::badf())
        }
    };
    mem.write_u32(nwritten, n as u32)
}

/// Makes a write on a descriptor opened with `sync` or `dsync` durable before
/// the call returns, as `O_SYNC` and `O_DSYNC` do.
#[inline]
fn sync_after_write(f: &OpenFile, n: usize) -> Result<(), Error> {
    if n > 0 && f.flags & (fdflags::SYNC | fdflags::DSYNC) != 0 {
        flush_to_storage(f)?;
    }
    Ok(())
}

/// Before a read on a descriptor opened with `rsync`: what was written to the
/// file reaches storage first (its data, or everything with `sync`), as
/// POSIX's `O_RSYNC` asks.
#[inline]
fn sync_before_read(f: &OpenFile) -> Result<(), Error> {
    if f.flags & fdflags::RSYNC != 0 {
        flush_to_storage(f)?;
    }
    Ok(())
}

/// Data and metadata with `sync`, data alone otherwise (`dsync`, `rsync`).
fn flush_to_storage(f: &OpenFile) -> Result<(), Error> {
    if f.flags & fdflags::SYNC != 0 {
        f.file.sync()?;
    } else {
        f.file.datasync()?;
    }
    Ok(())
}

fn write_file_at(
    f: &OpenFile,
    mem: &GuestMemory<'_>,
    iovs: crate::memory::Iovecs,
    offset: u64,
) -> Result<usize, Error> {
    // An empty write past the end grows nothing (as pwrite(2)), on every
    // backend: `each_iovec` does not ask the backend at all.
    each_iovec(&mut &*mem, iovs, |mem, total, buf, len| {
        let mut at = offset + total as u64;
        mem.drain(buf, len, Pieces::UntilShort, |src| {
            let n = f.file.write_at(src, at)?;
            at += n as u64;
            Ok(n)
        })
    })
}

/// Writes to the file `fd` at `offset` without moving its position.
///
/// This corresponds to `fd_pwrite` in `wasi_snapshot_preview1`.
pub fn fd_pwrite(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    fd: u32,
    iovs: u32,
    iovs_len: u32,
    offset: u64,
    nwritten: u32,
) -> Result<(), Error> {
    let iovs = mem.iovecs(iovs, iovs_len)?;
    mem.check(nwritten, 4, 4)?;
    let f = seekable(ctx, fd)?;
    if !f.write {
        return Err(Error::badf());
    }
    let n = write_file_at(f, mem, iovs, offset)?;
    sync_after_write(f, n)?;
    mem.write_u32(nwritten, n as u32)
}

/// Moves the position of the file `fd`; writes the new position (a `u64`) to
/// `newoffset`. A position before the start is `EINVAL`.
///
/// This corresponds to `fd_seek` in `wasi_snapshot_preview1`.
pub fn fd_seek(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    fd: u32,
    offset: u64,
    whence: u32,
    newoffset: u32,
) -> Result<(), Error> {
    mem.check(newoffset, 8, 8)?;
    let f = seekable(ctx, fd)?;
    require(f.rights_base, rights::FD_SEEK)?;
    let base = match whence {
        whence::SET => 0,
        whence::CUR => f.position,
        whence::END => f.file.stat()?.size,
        _ => return Err(Error::inval()),
    };
    let new = i128::from(base) + i128::from(offset as i64);
    if new < 0 || new > i128::from(i64::MAX) {
        return Err(Error::inval());
    }
    f.position = new as u64;
    mem.write_u64(newoffset, f.position)
}

/// Writes the position of the file `fd` (a `u64`) to `offset`.
///
/// This corresponds to `fd_tell` in `wasi_snapshot_preview1`.
pub fn fd_tell(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    fd: u32,
    offset: u32,
) -> Result<(), Error> {
    let f = seekable(ctx, fd)?;
    require(f.rights_base, rights::FD_TELL)?;
    let pos = f.position;
    mem.write_u64(offset, pos)
}

/// Closes `fd` (any fd, preopens and stdio included).
///
/// This corresponds to `fd_close` in `wasi_snapshot_preview1`.
pub fn fd_close(ctx: &mut WasiCtx, _mem: &mut GuestMemory<'_>, fd: u32) -> Result<(), Error> {
    ctx.table.remove(fd)?;
    Ok(())
}

/// Flushes the file or directory `fd` to storage; `EINVAL` for a stream.
///
/// This corresponds to `fd_sync` in `wasi_snapshot_preview1`.
pub fn fd_sync(ctx: &mut WasiCtx, _mem: &mut GuestMemory<'_>, fd: u32) -> Result<(), Error> {
    match ctx.table.get_settled(fd)? {
        Descriptor::File(f) => f.file.sync()?,
        Descriptor::Dir(d) => d.dir.sync()?,
        Descriptor::Reader(..)
        | Descriptor::Writer(..)
        | Descriptor::Listener(..)
        | Descriptor::Socket(..) => return Err(Error::inval()),
    }
    Ok(())
}

/// Flushes the data of the file `fd` to storage; `EINVAL` for a stream.
///
/// This corresponds to `fd_datasync` in `wasi_snapshot_preview1`.
pub fn fd_datasync(ctx: &mut WasiCtx, _mem: &mut GuestMemory<'_>, fd: u32) -> Result<(), Error> {
    match ctx.table.get_settled(fd)? {
        Descriptor::File(f) => f.file.datasync()?,
        Descriptor::Dir(d) => d.dir.sync()?,
        Descriptor::Reader(..)
        | Descriptor::Writer(..)
        | Descriptor::Listener(..)
        | Descriptor::Socket(..) => return Err(Error::inval()),
    }
    Ok(())
}

/// Writes the `fdstat` (type, flags, rights) of `fd` to `stat`.
///
/// This corresponds to `fd_fdstat_get` in `wasi_snapshot_preview1`.
pub fn fd_fdstat_get(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    fd: u32,
    stat: u32,
) -> Result<(), Error> {
    let bytes = match ctx.table.get_settled(fd)? {
        Descriptor::File(f) => abi::fdstat(
            filetype::REGULAR_FILE,
            f.flags,
            f.rights_base,
            f.rights_inheriting,
        ),
        Descriptor::Dir(d) => {
            abi::fdstat(filetype::DIRECTORY, 0, d.rights_base, d.rights_inheriting)
        }
        Descriptor::Reader(r, t) => {
            let flags = if r.nonblocking() {
                fdflags::NONBLOCK
            } else {
                0
            };
            abi::fdstat(*t, flags, rights::STDIN, 0)
        }
        Descriptor::Writer(_, t) => abi::fdstat(*t, 0, rights::STDOUT, 0),
        Descriptor::Listener(_, flags) => {
            abi::fdstat(filetype::SOCKET_STREAM, *flags, rights::LISTENER, 0)
        }
        Descriptor::Socket(_, flags) => {
            abi::fdstat(filetype::SOCKET_STREAM, *flags, rights::SOCKET, 0)
        }
    };
    mem.write_struct(stat, 8, &bytes)
}

/// Sets the flags of `fd`, and only ones that then hold:
/// - a file takes every flag: `append` decides where writes go, `sync` and
///   `dsync` make each write durable before the call returns, `rsync` makes
///   what was written durable before each read (the core calls the backend's
///   `sync`/`datasync`), and `nonblock` is kept (a regular file never blocks);
/// - a socket takes `nonblock`, and so does stdin (a read with nothing
///   there is then `EAGAIN`);
/// - stdout and stderr take no flag: asking for the flags they have (none)
///   succeeds, anything else is `ENOTSUP`, as are flags other than
///   `nonblock` on a socket or stdin;
/// - a directory is `EBADF` (as wasmtime).
///
/// Undefined bits are `EINVAL`. [`fd_fdstat_get`] reports what is in effect.
///
/// This corresponds to `fd_fdstat_set_flags` in `wasi_snapshot_preview1`.
pub fn fd_fdstat_set_flags(
    ctx: &mut WasiCtx,
    _mem: &mut GuestMemory<'_>,
    fd: u32,
    flags: u32,
) -> Result<(), Error> {
    let desc = ctx.table.get_settled(fd)?;
    let flags = u16::try_from(flags).map_err(|_| Error::inval())?;
    if flags & !fdflags::ALL != 0 {
        return Err(Error::inval());
    }
    match desc {
        Descriptor::File(f) => f.flags = flags,
        Descriptor::Listener(l, f) => {
            if flags & !fdflags::NONBLOCK != 0 {
                return Err(Errno::Notsup.into());
            }
            l.set_nonblocking(flags != 0).map_err(stream_io)?;
            *f = flags;
        }
        Descriptor::Socket(s, f) => {
            if flags & !fdflags::NONBLOCK != 0 {
                return Err(Errno::Notsup.into());
            }
            s.set_nonblocking(flags != 0).map_err(stream_io)?;
            *f = flags;
        }
        Descriptor::Reader(r, _) => {
            if flags & !fdflags::NONBLOCK != 0 {
                return Err(Errno::Notsup.into());
            }
            r.set_nonblocking(flags != 0);
        }
        Descriptor::Writer(..) => {
            if flags != 0 {
                return Err(Errno::Notsup.into());
            }
        }
        Descriptor::Dir(_) => return Err(Error::badf()),
    }
    Ok(())
}

/// Drops rights from `fd`; asking for a right it does not have is
/// `ENOTCAPABLE` (rights can only shrink). Dropped rights are enforced: reads
/// and writes without `fd_read`/`fd_write` are `EBADF`, other calls without
/// their right `ENOTCAPABLE`.
///
/// This corresponds to `fd_fdstat_set_rights` in `wasi_snapshot_preview1`.
pub fn fd_fdstat_set_rights(
    ctx: &mut WasiCtx,
    _mem: &mut GuestMemory<'_>,
    fd: u32,
    base: u64,
    inheriting: u64,
) -> Result<(), Error> {
    let (cur_base, cur_inh) = match ctx.table.get_settled(fd)? {
        Descriptor::File(f) => {
            if base & !f.rights_base != 0 || inheriting & !f.rights_inheriting != 0 {
                return Err(Errno::Notcapable.into());
            }
            // Without the right, the fd can no longer read or write (EBADF).
            f.read &= base & rights::FD_READ != 0;
            f.write &= base & rights::FD_WRITE != 0;
            (&mut f.rights_base, &mut f.rights_inheriting)
        }
        Descriptor::Dir(d) => (&mut d.rights_base, &mut d.rights_inheriting),
        Descriptor::Reader(..)
        | Descriptor::Writer(..)
        | Descriptor::Listener(..)
        | Descriptor::Socket(..) => {
            return Err(Errno::Notcapable.into());
        }
    };
    if base & !*cur_base != 0 || inheriting & !*cur_inh != 0 {
        return Err(Errno::Notcapable.into());
    }
    *cur_base = base;
    *cur_inh = inheriting;
    Ok(())
}

fn stream_stat(filetype: u8) -> Stat {
    Stat {
        dev: 0,
        ino: 0,
        filetype: if filetype == filetype::CHARACTER_DEVICE {
            FileType::CharacterDevice
        } else {
            FileType::Unknown
        },
        nlink: 1,
        size: 0,
        atim: 0,
        mtim: 0,
        ctim: 0,
    }
}

/// Writes the `filestat` of `fd` to `buf`.
///
/// This corresponds to `fd_filestat_get` in `wasi_snapshot_preview1`.
pub fn fd_filestat_get(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    fd: u32,
    buf: u32,
) -> Result<(), Error> {
    let stat = match ctx.table.get_settled(fd)? {
        Descriptor::File(f) => f.file.stat()?,
        Descriptor::Dir(d) => d.dir.stat()?,
        Descriptor::Reader(_, t) | Descriptor::Writer(_, t) => stream_stat(*t),
        Descriptor::Listener(..) | Descriptor::Socket(..) => Stat {
            filetype: FileType::SocketStream,
            ..stream_stat(filetype::UNKNOWN)
        },
    };
    mem.write_struct(buf, 8, &abi::filestat(&stat))
}

/// Truncates or extends the file `fd`, which must be open for writing
/// (`EINVAL` otherwise, as `ftruncate`); a directory or a stream is `EBADF`.
///
/// This corresponds to `fd_filestat_set_size` in `wasi_snapshot_preview1`.
pub fn fd_filestat_set_size(
    ctx: &mut WasiCtx,
    _mem: &mut GuestMemory<'_>,
    fd: u32,
    size: u64,
) -> Result<(), Error> {
    match ctx.table.get_settled(fd)? {
        Descriptor::File(f) if f.write => {
            require(f.rights_base, rights::FD_FILESTAT_SET_SIZE)?;
            Ok(f.file.set_len(size)?)
        }
        Descriptor::File(_) => Err(Error::inval()),
        _ => Err(Error::badf()),
    }
}

/// Decodes `fstflags` and the two timestamps into backend terms.
pub(crate) fn set_times(
    atim: u64,
    mtim: u64,
    flags: u32,
) -> Result<(Option<SetTime>, Option<SetTime>), Error> {
    let flags = u16::try_from(flags).map_err(|_| Error::inval())?;
    if flags & !fstflags::ALL != 0 {
        return Err(Error::inval());
    }
    let pick = |set: u16, now: u16, t: u64| -> Result<Option<SetTime>, Error> {
        match (flags & set != 0, flags & now != 0) {
            (true, true) => Err(Error::inval()),
            (true, false) => Ok(Some(SetTime::At(t))),
            (false, true) => Ok(Some(SetTime::Now)),
            (false, false) => Ok(None),
        }
    };
    Ok((
        pick(fstflags::ATIM, fstflags::ATIM_NOW, atim)?,
        pick(fstflags::MTIM, fstflags::MTIM_NOW, mtim)?,
    ))
}

/// Sets the access and/or modification time of `fd`.
///
/// This corresponds to `fd_filestat_set_times` in `wasi_snapshot_preview1`.
pub fn fd_filestat_set_times(
    ctx: &mut WasiCtx,
    _mem: &mut GuestMemory<'_>,
    fd: u32,
    atim: u64,
    mtim: u64,
    flags: u32,
) -> Result<(), Error> {
    let desc = ctx.table.get_settled(fd)?;
    let (a, m) = set_times(atim, mtim, flags)?;
    match desc {
        Descriptor::File(f) => {
            require(f.rights_base, rights::FD_FILESTAT_SET_TIMES)?;
            f.file.set_times(a, m)?
        }
        Descriptor::Dir(d) => {
            require(d.rights_base, rights::FD_FILESTAT_SET_TIMES)?;
            d.dir.set_times(a, m)?
        }
        Descriptor::Reader(..)
        | Descriptor::Writer(..)
        | Descriptor::Listener(..)
        | Descriptor::Socket(..) => return Err(Error::badf()),
    }
    Ok(())
}

/// Writes the `prestat` of the preopened directory `fd`; `EBADF` if `fd` is not
/// a preopen.
///
/// This corresponds to `fd_prestat_get` in `wasi_snapshot_preview1`.
pub fn fd_prestat_get(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    fd: u32,
    buf: u32,
) -> Result<(), Error> {
    match ctx.table.get_settled(fd)? {
        Descriptor::Dir(d) => match &d.preopen {
            Some(name) => mem.write_struct(buf, 4, &abi::prestat_dir(name.len() as u32)),
            None => Err(Error::badf()),
        },
        _ => Err(Error::badf()),
    }
}

/// Writes the guest path of the preopened directory `fd` (without a NUL) to
/// `path`; `ENAMETOOLONG` if `path_len` is too small.
///
/// This corresponds to `fd_prestat_dir_name` in `wasi_snapshot_preview1`.
pub fn fd_prestat_dir_name(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    fd: u32,
    path: u32,
    path_len: u32,
) -> Result<(), Error> {
    match ctx.table.get_settled(fd)? {
        Descriptor::Dir(d) => match &d.preopen {
            Some(name) => {
                if (path_len as usize) < name.len() {
                    return Err(Errno::Nametoolong.into());
                }
                mem.copy_in(path, name.as_bytes())
            }
            None => Err(Error::badf()),
        },
        _ => Err(Error::badf()),
    }
}

/// Lists the directory `fd` into `buf` as `dirent` records followed by their
/// names, starting at `cookie`; writes the bytes used to `bufused`. A record that
/// does not fit is cut off at the end of the buffer (`bufused == buf_len`), and
/// the guest resumes from the last complete record's `d_next`.
///
/// Cookies 0 and 1 are `.` and `..`; then the backend's entries. The listing in
/// progress is kept with the fd, so resuming where the previous call stopped
/// does not re-list the directory: a full scan is linear in its size. A call
/// from cookie 0 or 1 starts a new listing, which sees the directory's current
/// entries.
///
/// This corresponds to `fd_readdir` in `wasi_snapshot_preview1`.
pub fn fd_readdir(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    fd: u32,
    buf: u32,
    buf_len: u32,
    cookie: u64,
    bufused: u32,
) -> Result<(), Error> {
    let od = match ctx.table.get_settled(fd)? {
        Descriptor::Dir(d) => d,
        _ => return Err(Errno::Notdir.into()),
    };
    require(od.rights_base, rights::FD_READDIR)?;
    mem.check(bufused, 4, 4)?;
    mem.check(buf, buf_len, 1)?;
    let mut out = DirentBuf {
        mem,
        buf,
        len: buf_len as usize,
        used: 0,
    };
    let mut cookie = cookie;
    if cookie < 2 {
        // Starting over: list the directory afresh, as it is now.
        od.cursor = None;
        let ino = od.dir.stat()?.ino;
        while cookie < 2 {
            let name: &[u8] = if cookie == 0 { b"." } else { b".." };
            let header = abi::dirent(cookie + 1, ino, name.len() as u32, filetype::DIRECTORY);
            if !out.put(&header, name) {
                let used = out.used as u32;
                return mem.write_u32(bufused, used);
            }
            cookie += 1;
        }
    }
    let mut cursor = match od.cursor.take() {
        Some(c) if c.cookie == cookie => c,
        _ => DirCursor {
            cookie,
            pending: None,
            iter: od.dir.entries(cookie - 2)?,
        },
    };
    loop {
        let entry = match cursor.pending.take() {
            Some(e) => e,
            None => match cursor.iter.next_entry() {
                None => break,
                Some(Ok(e)) => e,
                Some(Err(e)) => return Err(e.into()),
            },
        };
        let next = entry.next.checked_add(2).ok_or(Errno::Overflow)?;
        let header = abi::dirent(
            next,
            entry.ino,
            entry.name.len() as u32,
            abi::filetype_raw(entry.filetype),
        );
        if out.put(&header, entry.name.as_bytes()) {
            cursor.cookie = next;
        } else {
            cursor.pending = Some(entry);
            break;
        }
    }
    od.cursor = Some(cursor);
    let used = out.used as u32;
    mem.write_u32(bufused, used)
}

/// The guest's `fd_readdir` buffer (checked), filled record by record: only
/// the bytes of the records are copied, however large the buffer.
struct DirentBuf<'m, 'a> {
    mem: &'m mut GuestMemory<'a>,
    buf: u32,
    len: usize,
    used: usize,
}

impl DirentBuf<'_, '_> {
    /// Appends a record, cut off at the buffer's end; returns whether it fit
    /// whole.
    fn put(&mut self, header: &[u8], name: &[u8]) -> bool {
        for part in [header, name] {
            let n = part.len().min(self.len - self.used);
            // In bounds: the whole buffer was checked.
            if self
                .mem
                .copy_in(self.buf + self.used as u32, &part[..n])
                .is_err()
            {
                return false;
            }
            self.used += n;
            if n < part.len() {
                return false;
            }
        }
        true
    }
}

/// Moves descriptor `from` to number `to`, closing what `to` held; both must be
/// open.
///
/// This corresponds to `fd_renumber` in `wasi_snapshot_preview1`.
pub fn fd_renumber(
    ctx: &mut WasiCtx,
    _mem: &mut GuestMemory<'_>,
    from: u32,
    to: u32,
) -> Result<(), Error> {
    Ok(ctx.table.renumber(from, to)?)
}

/// Advice about an access pattern: checked and accepted (a virtual file has no
/// cache to tune).
///
/// This corresponds to `fd_advise` in `wasi_snapshot_preview1`.
pub fn fd_advise(
    ctx: &mut WasiCtx,
    _mem: &mut GuestMemory<'_>,
    fd: u32,
    _offset: u64,
    _len: u64,
    advice: u32,
) -> Result<(), Error> {
    seekable(ctx, fd)?;
    if advice > abi::advice::MAX {
        return Err(Error::inval());
    }
    Ok(())
}

/// Makes sure the file `fd` is at least `offset + len` bytes long.
///
/// This corresponds to `fd_allocate` in `wasi_snapshot_preview1`.
pub fn fd_allocate(
    ctx: &mut WasiCtx,
    _mem: &mut GuestMemory<'_>,
    fd: u32,
    offset: u64,
    len: u64,
) -> Result<(), Error> {
    let f = seekable(ctx, fd)?;
    if !f.write {
        return Err(Error::badf());
    }
    let end = offset.checked_add(len).ok_or(Errno::Fbig)?;
    if end > i64::MAX as u64 {
        return Err(Errno::Fbig.into());
    }
    if end > f.file.stat()?.size {
        f.file.set_len(end)?;
    }
    Ok(())
}
