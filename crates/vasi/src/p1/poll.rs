//! `poll_oneoff`.

use super::abi::{self, eventtype, subclockflags, EVENT_SIZE, SUBSCRIPTION_SIZE};
use crate::clocks::ClockId;
use crate::table::Descriptor;
use crate::{Errno, Error, GuestMemory, WasiCtx};
use std::time::Duration;

/// Waits for the first of `nsubscriptions` subscriptions at `in_` to fire;
/// writes one `event` per fired subscription to `out` and their number to
/// `nevents`.
///
/// Files are always ready (with the bytes left to read as `nbytes`), and so are
/// stdio streams; if any fd subscription is ready, the call returns at once.
/// Otherwise it sleeps (on the context's clocks) until the earliest clock
/// subscription, relative or absolute, is due, and reports every clock that is
/// due by then. Subscriptions on a bad fd or clock give an event with that
/// error.
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

    let mut written = 0u32;
    let emit = |mem: &mut GuestMemory<'_>, written: &mut u32, event: [u8; 32]| {
        let at = out + *written * EVENT_SIZE;
        *written += 1;
        mem.write_struct(at, 8, &event)
    };

    // First pass: fd readiness, and the earliest clock deadline.
    let mut earliest: Option<u64> = None; // nanoseconds to wait
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

    if written == 0 {
        let wait = earliest.unwrap_or(0);
        if wait > 0 {
            ctx.clocks.sleep(Duration::from_nanos(wait));
        }
        // Second pass: every clock due within the time waited.
        for i in 0..nsubscriptions {
            let sub: [u8; 48] = mem.read_struct(in_ + i * SUBSCRIPTION_SIZE, 8)?;
            if sub[8] != eventtype::CLOCK {
                continue;
            }
            let userdata = u64::from_le_bytes(sub[0..8].try_into().expect("8 bytes"));
            if matches!(clock_wait_at(ctx, &sub, wait), Ok(true)) {
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
    match (ctx.table.get(fd)?, kind) {
        (Descriptor::File(f), eventtype::FD_READ) => {
            Ok(f.file.stat()?.size.saturating_sub(f.position))
        }
        (Descriptor::File(_), _) => Ok(0),
        (Descriptor::Reader(..), eventtype::FD_READ) => Ok(1),
        (Descriptor::Writer(..), eventtype::FD_WRITE) => Ok(0),
        (Descriptor::Reader(..) | Descriptor::Writer(..), _) => Err(Errno::Badf),
        // Sockets are reported ready; a blocking read then waits for data.
        (Descriptor::Listener(..) | Descriptor::Socket(..), _) => Ok(0),
        (Descriptor::Dir(_), _) => Err(Errno::Badf),
    }
}
