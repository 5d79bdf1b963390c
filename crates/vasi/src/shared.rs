//! One [`WasiCtx`] used by several guest threads at once (wasi-threads).
//!
//! A [`SharedCtx`] holds the context behind one lock. Each hostcall of a
//! thread takes the lock for the time the call runs, so the fd table, the
//! mounts, stdio, clocks, randomness, hooks and the trace see the calls of
//! all threads one after the other, each whole. A call that has to wait (a
//! stdin read, a sleep or a poll, `sock_accept`, `sock_recv`) does not wait
//! holding the lock: the hostcall hands what it waits on (handles cloned out
//! of the context) back to [`SharedCtx`], which drops the lock, waits, and
//! runs the call again with the lock taken once more (see RATIONALE.md,
//! "Why one lock for a threaded guest's context, released around waits?").
//! A [`Hook`](crate::hook::Hook)'s `before` sees such a call again each time
//! it runs again; its `after` sees it once, when it completes, with the time
//! from its first start.
//!
//! ```
//! use vasi::shared::{self, SharedCtx};
//! let ctx = SharedCtx::new(vasi::WasiCtxBuilder::new().build()?);
//! let mut bytes = [0u8; 16];
//! let mut mem = vasi::GuestMemory::new(&mut bytes);
//! // clock_time_get(MONOTONIC, 1, &time), as guest thread 1
//! shared::dispatch::clock_time_get(&ctx, 1, &mut mem, 1, 1, 8).unwrap();
//! assert!(mem.read_u64(8).unwrap() > 0);
//! # Ok::<(), vasi::BuildError>(())
//! ```

use crate::clocks::Stamp;
use crate::{Errno, Error, GuestMemory, InterruptHandle, WasiCtx};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// The waiting state of a context: whether it is shared (its hostcalls then
/// hand their waits back instead of waiting), and the wait handed back.
#[derive(Default)]
pub(crate) struct Waits {
    /// Set by [`SharedCtx::new`].
    pub(crate) shared: bool,
    /// What the call in progress would wait for; the call returns
    /// [`deferred`] right after setting it. Boxed: a context of a single
    /// thread carries one pointer for it.
    deferred: Option<Box<Wait>>,
    /// Set while a call runs again after its wait: when it first started.
    resumed: Option<Stamp>,
    /// Set while a call runs again after a [`Wait::Sleep`]: how long.
    slept: Option<Duration>,
}

impl Waits {
    /// At a point where a call must wait, in a shared context: records
    /// `wait` and returns the error the call returns as it is (the shared
    /// context waits with its lock dropped and runs the call again).
    #[cold]
    pub(crate) fn defer(&mut self, wait: Wait) -> Error {
        self.deferred = Some(Box::new(wait));
        deferred()
    }

    /// Forgets a wait handed back (the call returns something else after
    /// all, such as the bytes it moved before it had to wait).
    pub(crate) fn cancel(&mut self) {
        self.deferred = None;
    }

    /// Whether the call handed back a wait.
    pub(crate) fn is_deferred(&self) -> bool {
        self.deferred.is_some()
    }

    /// When the call in progress first started, if it runs again after a
    /// wait (`None` on its first run).
    pub(crate) fn resumed(&self) -> Option<Stamp> {
        self.resumed
    }

    /// How long the call in progress slept, if it runs again after a
    /// [`Wait::Sleep`].
    pub(crate) fn slept(&self) -> Option<Duration> {
        self.slept
    }
}

/// The error a call returns after [`Waits::defer`]; never reaches a guest.
fn deferred() -> Error {
    Error::Errno(Errno::Again)
}

/// What a hostcall of a shared context waits for, with the lock dropped:
/// handles cloned out of the context, so that the wait touches nothing
/// another thread may change.
pub(crate) enum Wait {
    /// The context's clocks sleep this long ([`Clocks::sleep`](crate::Clocks::sleep)).
    Sleep(Arc<dyn crate::Clocks>, Duration),
    /// Until a stream has input (or ends), a host descriptor is ready, or
    /// the time is up (`None`: no limit).
    Ready {
        inputs: Vec<crate::stdio::InputWaiter>,
        #[cfg(all(feature = "host", unix))]
        fds: Vec<(std::os::fd::OwnedFd, rustix::event::PollFlags)>,
        timeout: Option<Duration>,
    },
}

impl Wait {
    /// Waits; `Err(Stopped)` if interrupted.
    fn run(self, interrupt: &InterruptHandle) -> Result<(), Error> {
        match self {
            Wait::Sleep(clocks, d) => clocks.sleep(d, interrupt),
            Wait::Ready {
                inputs,
                #[cfg(all(feature = "host", unix))]
                fds,
                timeout,
            } => {
                let start = Stamp::now();
                loop {
                    interrupt.check()?;
                    let left = timeout.map(|t| t.saturating_sub(start.elapsed()));
                    if left == Some(Duration::ZERO) {
                        break;
                    }
                    let slice =
                        left.map_or(crate::interrupt::SLICE, |l| l.min(crate::interrupt::SLICE));
                    #[cfg(all(feature = "host", unix))]
                    if !fds.is_empty() {
                        // Sockets in slices; stdin (if any) looked at between.
                        let slice = if inputs.is_empty() {
                            slice
                        } else {
                            slice.min(Duration::from_millis(5))
                        };
                        if poll_fds(&fds, slice)? {
                            break;
                        }
                        if inputs.iter().any(|i| i.ready(Duration::ZERO)) {
                            break;
                        }
                        continue;
                    }
                    match inputs.first() {
                        Some(input) if input.ready(slice) => break,
                        Some(_) => {}
                        None => {
                            interrupt.wait_timeout(slice);
                        }
                    }
                }
            }
        }
        interrupt.check()
    }
}

/// Whether one of `fds` became ready within `timeout`.
#[cfg(all(feature = "host", unix))]
fn poll_fds(
    fds: &[(std::os::fd::OwnedFd, rustix::event::PollFlags)],
    timeout: Duration,
) -> Result<bool, Error> {
    use rustix::event::{poll, PollFd};
    let mut pfds: Vec<PollFd<'_>> = fds.iter().map(|(fd, f)| PollFd::new(fd, *f)).collect();
    let ts = rustix::time::Timespec {
        tv_sec: timeout.as_secs() as i64,
        tv_nsec: i64::from(timeout.subsec_nanos()),
    };
    match poll(&mut pfds, Some(&ts)) {
        Ok(n) => Ok(n > 0),
        Err(rustix::io::Errno::INTR) => Ok(false),
        Err(e) => Err(Errno::from(std::io::Error::from(e)).into()),
    }
}

/// A copy of the host descriptor `s`, for a wait without the context's lock.
#[cfg(all(feature = "host", unix))]
pub(crate) fn dup_fd(s: &impl std::os::fd::AsFd) -> Result<std::os::fd::OwnedFd, Error> {
    rustix::io::fcntl_dupfd_cloexec(s, 0).map_err(|e| Errno::from(std::io::Error::from(e)).into())
}

/// A [`WasiCtx`] shared by the threads of one guest (see the [module docs](self)).
pub struct SharedCtx {
    ctx: Mutex<WasiCtx>,
    interrupt: InterruptHandle,
}

impl std::fmt::Debug for SharedCtx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedCtx").finish_non_exhaustive()
    }
}

impl SharedCtx {
    /// Shares `ctx`. Its interrupt handle is armed (every wait of a shared
    /// context can be interrupted, as the end of a threaded guest needs).
    pub fn new(mut ctx: WasiCtx) -> Self {
        let interrupt = ctx.interrupt_handle();
        ctx.waits.shared = true;
        SharedCtx {
            ctx: Mutex::new(ctx),
            interrupt,
        }
    }

    /// The context's [`InterruptHandle`]: ends the blocking hostcalls of
    /// every thread.
    pub fn interrupt_handle(&self) -> InterruptHandle {
        self.interrupt.clone()
    }

    /// Runs `f` with the context locked (for the embedder's own work on it,
    /// between hostcalls).
    pub fn with<R>(&self, f: impl FnOnce(&mut WasiCtx) -> R) -> R {
        f(&mut self.lock())
    }

    /// The context back, once no thread uses it.
    pub fn into_inner(self) -> WasiCtx {
        self.ctx.into_inner().unwrap_or_else(|e| e.into_inner())
    }

    /// A poisoned lock (a hook that panicked) still guards a whole context:
    /// every hostcall leaves the table consistent between two of its steps.
    fn lock(&self) -> MutexGuard<'_, WasiCtx> {
        self.ctx.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs one hostcall of guest thread `thread`: with the lock taken; if
    /// the call hands back a wait, waits with the lock dropped and runs the
    /// call again, until it completes.
    #[inline]
    fn call(
        &self,
        thread: u32,
        mem: &mut GuestMemory<'_>,
        f: impl Fn(&mut WasiCtx, &mut GuestMemory<'_>) -> Result<(), Error>,
    ) -> Result<(), Error> {
        let started = Stamp::now();
        let (mut resumed, mut slept) = (None, None);
        loop {
            let mut ctx = self.lock();
            ctx.thread = Some(thread);
            ctx.waits.resumed = resumed;
            ctx.waits.slept = slept;
            let outcome = f(&mut ctx, mem);
            ctx.waits.resumed = None;
            ctx.waits.slept = None;
            let Some(wait) = ctx.waits.deferred.take() else {
                return outcome;
            };
            drop(ctx);
            resumed = Some(started);
            slept = match &*wait {
                Wait::Sleep(_, d) => Some(*d),
                Wait::Ready { .. } => None,
            };
            wait.run(&self.interrupt)?;
        }
    }
}

/// The entry points of a threaded binding: every hostcall as in
/// [`p1::dispatch`](crate::p1::dispatch), on a [`SharedCtx`], for the guest
/// thread with the given id (which the trace shows).
pub mod dispatch {
    use super::SharedCtx;
    use crate::{Error, GuestMemory};

    macro_rules! entry_points {
        ($($name:ident($($arg:ident: $ty:ident),*);)*) => {$(
            #[doc = concat!("`", stringify!($name), "` of guest thread `thread`; see [`crate::p1::", stringify!($name), "`].")]
            #[inline]
            #[allow(clippy::too_many_arguments, reason = "the preview1 signature")]
            pub fn $name(ctx: &SharedCtx, thread: u32, mem: &mut GuestMemory<'_>, $($arg: $ty),*) -> Result<(), Error> {
                ctx.call(thread, mem, |ctx, mem| crate::p1::dispatch::$name(ctx, mem, $($arg),*))
            }
        )*};
    }
    crate::for_each_hostcall!(entry_points);

    /// `proc_exit` of guest thread `thread`; see [`crate::p1::proc_exit`].
    pub fn proc_exit(
        ctx: &SharedCtx,
        thread: u32,
        mem: &mut GuestMemory<'_>,
        code: i32,
    ) -> Result<(), Error> {
        ctx.call(thread, mem, |ctx, mem| {
            crate::p1::dispatch::proc_exit(ctx, mem, code)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::WasiCtxBuilder;
    use std::time::Instant;

    /// A clock subscription (MONOTONIC) at `at` in `mem`.
    fn clock_sub(mem: &mut GuestMemory<'_>, at: u32, userdata: u64, timeout: u64, abstime: bool) {
        let mut sub = [0u8; 48];
        sub[0..8].copy_from_slice(&userdata.to_le_bytes());
        sub[8] = 0; // eventtype::CLOCK
        sub[16..20].copy_from_slice(&1u32.to_le_bytes());
        sub[24..32].copy_from_slice(&timeout.to_le_bytes());
        sub[40..42].copy_from_slice(&u16::from(abstime).to_le_bytes());
        mem.write_struct(at, 8, &sub).unwrap();
    }

    /// Polls two clocks at once from a shared context: the relative one is
    /// due first and must be reported after the wait, also with an absolute
    /// deadline just behind it.
    fn two_clocks(ctx: WasiCtx) -> (Vec<u64>, Duration) {
        let ctx = SharedCtx::new(ctx);
        let mut bytes = vec![0u8; 1024];
        let mut mem = GuestMemory::new(&mut bytes);
        dispatch::clock_time_get(&ctx, 1, &mut mem, 1, 1, 600).unwrap();
        let now = mem.read_u64(600).unwrap();
        clock_sub(&mut mem, 0, 7, 50_000_000, false);
        // 20 ms behind: closer, and a busy machine's delay between the clock
        // read above and the poll's start makes the absolute one due first
        // (then the poll rightly reports only it).
        clock_sub(&mut mem, 48, 8, now + 70_000_000, true);
        let t = Instant::now();
        dispatch::poll_oneoff(&ctx, 1, &mut mem, 0, 256, 2, 512).unwrap();
        let took = t.elapsed();
        let n = mem.read_u32(512).unwrap();
        let fired = (0..n)
            .map(|i| mem.read_u64(256 + 32 * i).unwrap())
            .collect();
        (fired, took)
    }

    #[test]
    fn a_poll_that_slept_reports_its_clocks() {
        let (fired, took) = two_clocks(WasiCtxBuilder::new().build().unwrap());
        assert!(fired.contains(&7), "{fired:?}");
        assert!(took >= Duration::from_millis(50), "{took:?}");
        // Deterministic clocks advance instead of sleeping: the call is run
        // again once, not for ever.
        let (fired, took) = two_clocks(WasiCtxBuilder::new().deterministic(1).build().unwrap());
        assert!(fired.contains(&7), "{fired:?}");
        assert!(took < Duration::from_secs(5), "{took:?}");
    }
}
