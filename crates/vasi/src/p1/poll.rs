//! `poll_oneoff`.

use super::abi::{self, eventtype, subclockflags, EVENT_SIZE, SUBSCRIPTION_SIZE};
use crate::clocks::ClockId;
use crate::clocks::Stamp;
use crate::stdio::Readiness;
use crate::table::Descriptor;
use crate::{Errno, Error, GuestMemory, WasiCtx};
use std::time::Duration;

/// Waits for the first of `nsubscriptions` subscriptions at `in_` to fire;
/// writes one `event` per fired subscription to `out` and their number to
/// `nevents`.
///
/// Files are always ready (with the bytes left to read as `nbytes`), and so are
/// stdout and stderr; stdin is read ahead by a helper thread from the first
/// poll on, so its readiness is real for any reader (`nbytes` buffered, or the
/// `hangup` flag at its end); TCP listeners and connections are polled for
/// real (with `hangup` when the peer is gone). If anything is ready, the call returns
/// at once; otherwise it waits until a socket is ready or the earliest clock
/// subscription, relative or absolute, is due (sleeping on the context's
/// clocks when no socket is involved), and reports every clock due by then.
/// Subscriptions on a bad fd or clock give an event with that error.
///
/// This corresponds to `poll_oneoff` in `wasi_snapshot_preview1`.
pub fn poll_oneoff(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    in_: u32,
    out: u32,
    nsubscriptions: u32,
    nevents: u32,
) -> Result<(), Error> {
    if nsubscriptions == 0 {
        return Err(Error::inval());
    }
    let in_len = nsubscriptions
        .checked_mul(SUBSCRIPTION_SIZE)
        .ok_or_else(|| Error::trap("out-of-bounds subscription array"))?;
    let out_len = nsubscriptions
        .checked_mul(EVENT_SIZE)
        .ok_or_else(|| Error::trap("out-of-bounds event array"))?;
    // Check both arrays (bounds and 8-byte alignment) before any work.
    mem.check(in_, in_len, 8)?;
    mem.check(out, out_len, 8)?;
    mem.check(nevents, 4, 4)?;

    let mut written = 0u32;
    let emit = |mem: &mut GuestMemory<'_>, written: &mut u32, event: [u8; 32]| {
        let at = out + *written * EVENT_SIZE;
        *written += 1;
        mem.write_struct(at, 8, &event)
    };

    // First pass: fd readiness, and the earliest clock deadline. Files and
    // outputs are ready at once; stdin and sockets may have to be waited for.
    let mut earliest: Option<u64> = None; // nanoseconds to wait
    let mut sockets: Vec<(u64, u8, u32)> = Vec::new(); // (userdata, kind, fd)
    let mut inputs: Vec<(u64, u32)> = Vec::new(); // stdin-like: (userdata, fd)
    for i in 0..nsubscriptions {
        let sub: [u8; 48] = mem.read_struct(in_ + i * SUBSCRIPTION_SIZE, 8)?;
        let userdata = u64::from_le_bytes(sub[0..8].try_into().expect("8 bytes"));
        match sub[8] {
            eventtype::CLOCK => match clock_wait(ctx, &sub) {
                Ok(wait) => earliest = Some(earliest.map_or(wait, |e| e.min(wait))),
                Err(e) => emit(
                    mem,
                    &mut written,
                    abi::event(userdata, e.raw(), eventtype::CLOCK, 0, 0),
                )?,
            },
            kind @ (eventtype::FD_READ | eventtype::FD_WRITE) => {
                let fd = u32::from_le_bytes(sub[16..20].try_into().expect("4 bytes"));
                match ctx.table.get_ref(fd) {
                    Some(Descriptor::Listener(..) | Descriptor::Socket(..)) => {
                        sockets.push((userdata, kind, fd));
                        continue;
                    }
                    Some(Descriptor::Reader(r, _)) if kind == eventtype::FD_READ => {
                        if r.is_empty() {
                            // No stdin: at its end now, nothing to wait for.
                            let hangup = abi::eventrwflags::FD_READWRITE_HANGUP;
                            let event = abi::event(userdata, 0, kind, 0, hangup);
                            emit(mem, &mut written, event)?;
                        } else {
                            inputs.push((userdata, fd));
                        }
                        continue;
                    }
                    _ => {}
                }
                let (error, nbytes) = match fd_ready(ctx, fd, kind) {
                    Ok(n) => (0, n),
                    Err(e) => (e.raw(), 0),
                };
                emit(
                    mem,
                    &mut written,
                    abi::event(userdata, error, kind, nbytes, 0),
                )?;
            }
            _ => return Err(Error::inval()),
        }
    }

    // A call run again after its wait (shared contexts) counts from its
    // first start.
    let started = ctx.waits.resumed().unwrap_or_else(Stamp::now);
    let shared = ctx.waits.shared;
    let waitable = !sockets.is_empty() || !inputs.is_empty();
    if waitable {
        // Wait for stdin or a socket, up to the earliest clock (not at all if
        // something is already ready; for ever if there is no clock). With both
        // kinds to watch, alternate in short slices.
        // With an interrupt handle out, no wait lasts longer than a slice.
        let cap = if ctx.interrupt.armed() {
            crate::interrupt::SLICE.as_nanos() as u64
        } else {
            u64::MAX
        };
        loop {
            ctx.interrupt.check()?;
            let remaining = earliest.map(|e| {
                e.saturating_sub(u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX))
            });
            // Shared: only look (the wait is handed back, below).
            let now_only = written > 0 || remaining == Some(0) || shared;
            let slice = |limit: u64| -> u64 {
                if now_only {
                    0
                } else {
                    remaining.unwrap_or(u64::MAX).min(limit)
                }
            };
            let input_wait = if sockets.is_empty() {
                slice(1_000_000_000.min(cap))
            } else {
                0
            };
            for &(userdata, fd) in &inputs {
                let Ok(Descriptor::Reader(r, _)) = ctx.table.get(fd) else {
                    continue;
                };
                let (nbytes, flags) = match r.readiness(Duration::from_nanos(input_wait)) {
                    Readiness::Bytes(n) => (n, 0),
                    Readiness::Hangup => (0, abi::eventrwflags::FD_READWRITE_HANGUP),
                    Readiness::Pending => continue,
                };
                emit(
                    mem,
                    &mut written,
                    abi::event(userdata, 0, eventtype::FD_READ, nbytes, flags),
                )?;
            }
            if !sockets.is_empty() {
                let timeout = if inputs.is_empty() {
                    if now_only || written > 0 {
                        Some(0)
                    } else if cap == u64::MAX {
                        remaining
                    } else {
                        Some(remaining.unwrap_or(cap).min(cap))
                    }
                } else {
                    Some(if written > 0 { 0 } else { slice(10_000_000) })
                };
                for (userdata, kind, flags) in poll_sockets(ctx, &sockets, timeout)? {
                    emit(mem, &mut written, abi::event(userdata, 0, kind, 0, flags))?;
                }
            }
            if written > 0 || now_only {
                break;
            }
        }
        let due = earliest
            .is_some_and(|e| u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX) >= e);
        if shared && written == 0 && !due {
            let remaining =
                earliest.map(|e| Duration::from_nanos(e).saturating_sub(started.elapsed()));
            let wait = ready_wait(ctx, &inputs, &sockets, remaining)?;
            return Err(ctx.waits.defer(wait));
        }
    }
    if written == 0 {
        let mut wait = earliest.unwrap_or(0);
        if !waitable && wait > 0 {
            if !shared {
                ctx.clocks.sleep(Duration::from_nanos(wait), &ctx.interrupt);
            } else if let Some(slept) = ctx.waits.slept() {
                // Run again after its sleep: what counts is what it slept.
                wait = u64::try_from(slept.as_nanos()).unwrap_or(u64::MAX);
            } else {
                let sleep =
                    crate::shared::Wait::Sleep(ctx.clocks.clone(), Duration::from_nanos(wait));
                return Err(ctx.waits.defer(sleep));
            }
            ctx.interrupt.check()?;
        }
        let waited = if waitable {
            u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX)
        } else {
            wait
        };
        // Second pass: every clock due within the time waited.
        for i in 0..nsubscriptions {
            let sub: [u8; 48] = mem.read_struct(in_ + i * SUBSCRIPTION_SIZE, 8)?;
            if sub[8] != eventtype::CLOCK {
                continue;
            }
            let userdata = u64::from_le_bytes(sub[0..8].try_into().expect("8 bytes"));
            if matches!(clock_wait_at(ctx, &sub, waited), Ok(true)) {
                emit(
                    mem,
                    &mut written,
                    abi::event(userdata, 0, eventtype::CLOCK, 0, 0),
                )?;
            }
        }
    }
    mem.write_u32(nevents, written)
}

/// How long until the clock subscription `sub` is due, in nanoseconds.
fn clock_wait(ctx: &WasiCtx, sub: &[u8; 48]) -> Result<u64, Errno> {
    let id = ClockId::from_raw(u32::from_le_bytes(sub[16..20].try_into().expect("4 bytes")))?;
    let timeout = u64::from_le_bytes(sub[24..32].try_into().expect("8 bytes"));
    let flags = u16::from_le_bytes(sub[40..42].try_into().expect("2 bytes"));
    if flags & !subclockflags::ABSTIME != 0 {
        return Err(Errno::Inval);
    }
    if flags & subclockflags::ABSTIME != 0 {
        let now = ctx.clocks.now(id)?;
        Ok(timeout.saturating_sub(now))
    } else {
        Ok(timeout)
    }
}

/// Whether the clock subscription `sub` was due within `waited` nanoseconds of
/// the first pass.
fn clock_wait_at(ctx: &WasiCtx, sub: &[u8; 48], waited: u64) -> Result<bool, Errno> {
    let flags = u16::from_le_bytes(sub[40..42].try_into().expect("2 bytes"));
    if flags & subclockflags::ABSTIME != 0 {
        Ok(clock_wait(ctx, sub)? == 0)
    } else {
        Ok(clock_wait(ctx, sub)? <= waited)
    }
}

/// Whether `fd` is ready for `kind`; for reads of a file, the bytes left.
fn fd_ready(ctx: &mut WasiCtx, fd: u32, kind: u8) -> Result<u64, Errno> {
    match (ctx.table.get_settled(fd)?, kind) {
        (Descriptor::File(f), eventtype::FD_READ) => {
            Ok(f.file.stat()?.size.saturating_sub(f.position))
        }
        (Descriptor::File(_), _) => Ok(0),
        (Descriptor::Reader(..), eventtype::FD_READ) => Ok(1), // handled by the caller
        (Descriptor::Writer(..), eventtype::FD_WRITE) => Ok(0),
        (Descriptor::Reader(..) | Descriptor::Writer(..), _) => Err(Errno::Badf),
        // Sockets are reported ready; a blocking read then waits for data.
        (Descriptor::Listener(..) | Descriptor::Socket(..), _) => Ok(0),
        (Descriptor::Dir(_), _) => Err(Errno::Badf),
    }
}

/// What a shared context waits for, without its lock, when nothing of a
/// poll is ready: the stdin-like `inputs`, the `sockets` (copies of their
/// descriptors), up to `timeout`.
fn ready_wait(
    ctx: &mut WasiCtx,
    inputs: &[(u64, u32)],
    sockets: &[(u64, u8, u32)],
    timeout: Option<Duration>,
) -> Result<crate::shared::Wait, Error> {
    let mut waiters = Vec::new();
    for &(_, fd) in inputs {
        if let Ok(Descriptor::Reader(r, _)) = ctx.table.get(fd) {
            waiters.extend(r.waiter());
        }
    }
    #[cfg(all(feature = "host", unix))]
    let fds = {
        use rustix::event::PollFlags;
        let mut fds = Vec::with_capacity(sockets.len());
        for &(_, kind, fd) in sockets {
            let flags = if kind == eventtype::FD_READ {
                PollFlags::IN
            } else {
                PollFlags::OUT
            };
            let copy = match ctx.table.get_ref(fd) {
                Some(Descriptor::Listener(l, _)) => crate::shared::dup_fd(l)?,
                Some(Descriptor::Socket(s, _)) => crate::shared::dup_fd(s)?,
                _ => return Err(Errno::Badf.into()),
            };
            fds.push((copy, flags));
        }
        fds
    };
    #[cfg(not(all(feature = "host", unix)))]
    let _ = sockets;
    Ok(crate::shared::Wait::Ready {
        inputs: waiters,
        #[cfg(all(feature = "host", unix))]
        fds,
        timeout,
    })
}

/// Waits until one of `sockets` is ready or `timeout` nanoseconds pass; returns
/// the ready ones as `(userdata, kind, eventrwflags)`.
#[cfg(all(feature = "host", unix))]
fn poll_sockets(
    ctx: &WasiCtx,
    sockets: &[(u64, u8, u32)],
    timeout: Option<u64>,
) -> Result<Vec<(u64, u8, u16)>, Error> {
    use rustix::event::{poll, PollFd, PollFlags};
    let mut fds: Vec<PollFd<'_>> = Vec::with_capacity(sockets.len());
    for &(_, kind, fd) in sockets {
        let flags = if kind == eventtype::FD_READ {
            PollFlags::IN
        } else {
            PollFlags::OUT
        };
        match ctx.table.get_ref(fd) {
            Some(Descriptor::Listener(l, _)) => fds.push(PollFd::new(l, flags)),
            Some(Descriptor::Socket(s, _)) => fds.push(PollFd::new(s, flags)),
            _ => return Err(Errno::Badf.into()),
        }
    }
    let timeout = timeout.map(|ns| rustix::time::Timespec {
        tv_sec: (ns / 1_000_000_000) as i64,
        tv_nsec: (ns % 1_000_000_000) as i64,
    });
    loop {
        match poll(&mut fds, timeout.as_ref()) {
            Ok(_) => break,
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => return Err(Errno::from(std::io::Error::from(e)).into()),
        }
    }
    let mut ready = Vec::new();
    for (pfd, &(userdata, kind, _)) in fds.iter().zip(sockets) {
        let r = pfd.revents();
        if r.is_empty() {
            continue;
        }
        let hangup = if r.intersects(PollFlags::HUP | PollFlags::ERR) {
            abi::eventrwflags::FD_READWRITE_HANGUP
        } else {
            0
        };
        ready.push((userdata, kind, hangup));
    }
    Ok(ready)
}

/// Without host access sockets cannot exist; report each one ready.
#[cfg(not(all(feature = "host", unix)))]
fn poll_sockets(
    _ctx: &WasiCtx,
    sockets: &[(u64, u8, u32)],
    _timeout: Option<u64>,
) -> Result<Vec<(u64, u8, u16)>, Error> {
    Ok(sockets.iter().map(|&(u, k, _)| (u, k, 0)).collect())
}
