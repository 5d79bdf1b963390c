//! `sock_*`: TCP listeners preopened by the host, and the connections accepted
//! from them.

use super::abi::fdflags;
use super::fd::{retry_io, stream_io};
use crate::memory::Iovecs;
#[cfg(all(feature = "host", unix))]
use crate::shared::Wait;
use crate::shared::Waits;
use crate::table::{Descriptor, Table};
use crate::{Errno, Error, GuestMemory, InterruptHandle, Pieces, WasiCtx};
use std::io::Write;
use std::net::{Shutdown, TcpStream};

/// `riflags::recv_peek`
const RECV_PEEK: u32 = 1 << 0;
/// `riflags::recv_waitall`
const RECV_WAITALL: u32 = 1 << 1;
/// `sdflags::rd`
const SHUT_RD: u32 = 1 << 0;
/// `sdflags::wr`
const SHUT_WR: u32 = 1 << 1;

/// The connection behind `fd` and its `fdflags`: `EBADF` if closed, `ENOTSOCK`
/// if not a socket.
fn socket(table: &mut Table, fd: u32) -> Result<(&mut TcpStream, u16), Error> {
    match table.get(fd)? {
        Descriptor::Socket(s, flags) => Ok((s, *flags)),
        Descriptor::Listener(..) => Err(Errno::Notconn.into()),
        _ => Err(Errno::Notsock.into()),
    }
}

/// Before a blocking operation on the socket `s` (with `fdflags` `flags`):
/// once an interrupt handle is out, waits until `s` is ready in slices, so that
/// the wait can be interrupted. Nonblocking sockets never wait.
///
/// In a shared context the wait is handed back
/// ([`Waits::defer`](crate::shared::Waits::defer)) when `s` is not ready now.
#[cfg(all(feature = "host", unix))]
pub(crate) fn wait_ready(
    s: &impl std::os::fd::AsFd,
    flags: u16,
    write: bool,
    interrupt: &InterruptHandle,
    waits: &mut Waits,
) -> Result<(), Error> {
    use rustix::event::{poll, PollFd, PollFlags};
    if !interrupt.armed() || flags & fdflags::NONBLOCK != 0 {
        return Ok(());
    }
    let want = if write { PollFlags::OUT } else { PollFlags::IN };
    if waits.shared {
        interrupt.check()?;
        let now = rustix::time::Timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        let mut fds = [PollFd::new(s, want)];
        return match poll(&mut fds, Some(&now)) {
            Ok(0) | Err(rustix::io::Errno::INTR) => Err(waits.defer(Wait::Ready {
                inputs: Vec::new(),
                fds: vec![(crate::shared::dup_fd(s)?, want)],
                timeout: None,
            })),
            Ok(_) => Ok(()),
            Err(e) => Err(Errno::from(std::io::Error::from(e)).into()),
        };
    }
    let slice = rustix::time::Timespec {
        tv_sec: 0,
        tv_nsec: crate::interrupt::SLICE.as_nanos() as i64,
    };
    loop {
        interrupt.check()?;
        let mut fds = [PollFd::new(s, want)];
        match poll(&mut fds, Some(&slice)) {
            Ok(0) | Err(rustix::io::Errno::INTR) => continue,
            Ok(_) => return Ok(()),
            Err(e) => return Err(Errno::from(std::io::Error::from(e)).into()),
        }
    }
}

/// Without host access sockets cannot exist.
#[cfg(not(all(feature = "host", unix)))]
pub(crate) fn wait_ready<S>(
    _s: &S,
    _flags: u16,
    _write: bool,
    interrupt: &InterruptHandle,
    _waits: &mut Waits,
) -> Result<(), Error> {
    interrupt.check()
}

/// Writes the buffers of `iovs` to `stream` (with `fdflags` `flags`), at
/// most `u32::MAX` bytes, which is all a call can count. A blocking socket
/// takes everything; a nonblocking one stops at the first short write. Empty
/// buffers send nothing and never wait.
///
/// While an interrupt handle is out, a blocking socket is written without
/// blocking (`MSG_DONTWAIT`) between waits for room in slices, so a peer that
/// never reads cannot hold the call past an interrupt.
pub(crate) fn send(
    stream: &mut TcpStream,
    flags: u16,
    mem: &GuestMemory<'_>,
    iovs: Iovecs,
    interrupt: &InterruptHandle,
    waits: &mut Waits,
) -> Result<usize, Error> {
    let interruptible = interrupt.armed() && flags & fdflags::NONBLOCK == 0;
    let sent = crate::memory::each_iovec(&mut &*mem, iovs, |mem, _, buf, len| {
        mem.drain(buf, len, Pieces::UntilShort, |src| {
            if interruptible {
                send_interruptibly(stream, src, interrupt, waits)
            } else {
                retry_io(|| stream.write(src).map_err(stream_io))
            }
        })
    });
    if sent.is_ok() {
        // Bytes went out before a piece (or a buffer) had to wait: they are
        // the answer, not a wait after which the call would send them again.
        waits.cancel();
    }
    sent
}

/// Sends all of `src` on a blocking socket, never blocking for longer than a
/// slice (see [`send`]).
#[cfg(all(feature = "host", unix))]
fn send_interruptibly(
    stream: &TcpStream,
    src: &[u8],
    interrupt: &InterruptHandle,
    waits: &mut Waits,
) -> Result<usize, Error> {
    use rustix::net::SendFlags;
    let mut done = 0;
    while done < src.len() {
        if let Err(e) = wait_ready(stream, 0, true, interrupt, waits) {
            if done > 0 && waits.is_deferred() {
                // A short send rather than a wait that would send it again.
                waits.cancel();
                break;
            }
            return Err(e);
        }
        match rustix::net::send(
            stream,
            &src[done..],
            SendFlags::DONTWAIT | SendFlags::NOSIGNAL,
        ) {
            Ok(n) => done += n,
            Err(rustix::io::Errno::INTR | rustix::io::Errno::AGAIN) => {}
            Err(_) if done > 0 => break,
            Err(e) => return Err(Errno::from(std::io::Error::from(e)).into()),
        }
    }
    Ok(done)
}

#[cfg(not(all(feature = "host", unix)))]
fn send_interruptibly(
    stream: &mut TcpStream,
    src: &[u8],
    interrupt: &InterruptHandle,
    _waits: &mut Waits,
) -> Result<usize, Error> {
    interrupt.check()?;
    retry_io(|| stream.write(src).map_err(stream_io))
}

/// Accepts a connection on the listener `fd`; writes the new fd to
/// `result_fd`. `flags` may hold `fdflags::nonblock` for the new connection.
/// On a nonblocking listener with nothing pending: `EAGAIN`.
///
/// This corresponds to `sock_accept` in `wasi_snapshot_preview1`.
pub fn sock_accept(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    fd: u32,
    flags: u32,
    result_fd: u32,
) -> Result<(), Error> {
    let (listener, lflags) = match ctx.table.get(fd)? {
        Descriptor::Listener(l, f) => (l, *f),
        Descriptor::Socket(..) => return Err(Error::inval()),
        _ => return Err(Errno::Notsock.into()),
    };
    if flags & !u32::from(fdflags::NONBLOCK) != 0 {
        return Err(Error::inval());
    }
    mem.check(result_fd, 4, 4)?;
    wait_ready(listener, lflags, false, &ctx.interrupt, &mut ctx.waits)?;
    let (stream, _) = loop {
        match listener.accept() {
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            other => break other.map_err(stream_io)?,
        }
    };
    let nonblock = flags & u32::from(fdflags::NONBLOCK) != 0;
    stream.set_nonblocking(nonblock).map_err(stream_io)?;
    let fl = if nonblock { fdflags::NONBLOCK } else { 0 };
    let new_fd = ctx.push_fd(Descriptor::Socket(stream, fl))?;
    mem.write_u32(result_fd, new_fd)
}

/// Receives into the buffers of `ri_data` (one read, or several with
/// `recv_waitall` until they are full or the peer closes; `recv_peek` leaves
/// the data queued); writes the byte count to `ro_datalen` and `0` to
/// `ro_flags`.
///
/// This corresponds to `sock_recv` in `wasi_snapshot_preview1`.
#[allow(clippy::too_many_arguments, reason = "the preview1 signature")]
pub fn sock_recv(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    fd: u32,
    ri_data: u32,
    ri_data_len: u32,
    ri_flags: u32,
    ro_datalen: u32,
    ro_flags: u32,
) -> Result<(), Error> {
    let iovs = mem.iovecs(ri_data, ri_data_len)?;
    mem.check(ro_datalen, 4, 4)?;
    mem.check(ro_flags, 2, 2)?;
    let (stream, flags) = socket(&mut ctx.table, fd)?;
    if ri_flags & !(RECV_PEEK | RECV_WAITALL) != 0 {
        return Err(Error::inval());
    }
    let mut total = 0usize;
    'bufs: for i in 0..iovs.count() {
        let (buf, len) = mem.iovec(iovs, i);
        let len = crate::memory::room(total, len);
        let mut filled = 0u32;
        while filled < len {
            if let Err(e) = wait_ready(stream, flags, false, &ctx.interrupt, &mut ctx.waits) {
                if total > 0 && ctx.waits.is_deferred() {
                    // recv_waitall with some data in: a short count rather
                    // than a wait after which the call would run again.
                    ctx.waits.cancel();
                    break 'bufs;
                }
                return Err(e);
            }
            let n = mem.fill(buf + filled, len - filled, Pieces::Once, |dst| {
                if ri_flags & RECV_PEEK != 0 {
                    retry_io(|| stream.peek(dst).map_err(stream_io))
                } else {
                    retry_io(|| std::io::Read::read(stream, dst).map_err(stream_io))
                }
            })?;
            total += n;
            filled += n as u32;
            if n == 0
                || ri_flags & RECV_WAITALL == 0
                || ri_flags & RECV_PEEK != 0
                || total == crate::memory::MAX_IO
            {
                break 'bufs;
            }
        }
    }
    mem.write_u32(ro_datalen, total as u32)?;
    mem.write_u16(ro_flags, 0)
}

/// Sends the buffers of `si_data`; writes the byte count to `so_datalen`.
/// `si_flags` must be 0.
///
/// This corresponds to `sock_send` in `wasi_snapshot_preview1`.
pub fn sock_send(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    fd: u32,
    si_data: u32,
    si_data_len: u32,
    si_flags: u32,
    so_datalen: u32,
) -> Result<(), Error> {
    let iovs = mem.iovecs(si_data, si_data_len)?;
    mem.check(so_datalen, 4, 4)?;
    let (stream, flags) = socket(&mut ctx.table, fd)?;
    if si_flags != 0 {
        return Err(Error::inval());
    }
    let n = send(stream, flags, mem, iovs, &ctx.interrupt, &mut ctx.waits)?;
    mem.write_u32(so_datalen, n as u32)
}

/// Shuts down the reading (`rd`), writing (`wr`) or both halves of a
/// connection.
///
/// This corresponds to `sock_shutdown` in `wasi_snapshot_preview1`.
pub fn sock_shutdown(
    ctx: &mut WasiCtx,
    _mem: &mut GuestMemory<'_>,
    fd: u32,
    how: u32,
) -> Result<(), Error> {
    let (stream, _) = socket(&mut ctx.table, fd)?;
    let how = match how {
        SHUT_RD => Shutdown::Read,
        SHUT_WR => Shutdown::Write,
        x if x == SHUT_RD | SHUT_WR => Shutdown::Both,
        _ => return Err(Error::inval()),
    };
    stream.shutdown(how).map_err(stream_io)?;
    Ok(())
}
