//! Interposition: observe, deny, answer or stop any hostcall.
//!
//! A [`Hook`] added with [`WasiCtxBuilder::hook`](crate::WasiCtxBuilder::hook)
//! sees every hostcall the guest makes: [`Hook::before`] gets the call's name
//! and raw arguments (and the guest memory, to decode them) and returns a
//! [`Verdict`]: run the call, return an errno (or success) without running it,
//! or stop the guest. [`Hook::after`] gets the outcome and how long the call
//! took. The hostcall trace ([`Tracer`](crate::trace::Tracer)) is a hook.
//!
//! A context without hooks pays one branch per call for this.
//!
//! # Example: deny the network, log file opens
//!
//! ```
//! use std::sync::{Arc, Mutex};
//! use vasi::hook::{Call, Hook, Verdict};
//! use vasi::{Errno, GuestMemory, WasiCtx};
//!
//! /// No sockets for this guest.
//! struct NoNetwork;
//! impl Hook for NoNetwork {
//!     fn before(&mut self, _: &WasiCtx, call: &Call<'_>, _: &mut GuestMemory<'_>) -> Verdict {
//!         if call.family() == "sock" {
//!             Verdict::Return(Err(Errno::Acces))
//!         } else {
//!             Verdict::Run
//!         }
//!     }
//! }
//!
//! /// Records the path of every file the guest opens.
//! struct OpenLog(Arc<Mutex<Vec<String>>>);
//! impl Hook for OpenLog {
//!     fn before(&mut self, _: &WasiCtx, call: &Call<'_>, mem: &mut GuestMemory<'_>) -> Verdict {
//!         if call.name() == "path_open" {
//!             let (ptr, len) = (call.arg("path").unwrap(), call.arg("path_len").unwrap());
//!             if let Ok(path) = mem.read_str(ptr as u32, len as u32) {
//!                 self.0.lock().unwrap().push(path.to_string());
//!             }
//!         }
//!         Verdict::Run
//!     }
//! }
//!
//! let opened = Arc::new(Mutex::new(Vec::new()));
//! let mut ctx = vasi::WasiCtxBuilder::new()
//!     .preopen_dir(vasi::vfs::MemFs::new().root(), "/data")
//!     .hook(NoNetwork)
//!     .hook(OpenLog(opened.clone()))
//!     .build()?;
//!
//! // What a binding does when the guest calls: path_open(3, 0, "notes.txt", CREAT, ...)
//! let mut bytes = vec![0u8; 64];
//! bytes[..9].copy_from_slice(b"notes.txt");
//! let mut mem = GuestMemory::new(&mut bytes);
//! let r = vasi::p1::dispatch::path_open(&mut ctx, &mut mem, 3, 0, 0, 9, 1, -1, -1, 0, 16);
//! assert!(r.is_ok());
//! assert_eq!(*opened.lock().unwrap(), ["notes.txt"]);
//! // sock_accept(3, 0, 16): denied before it runs.
//! let r = vasi::p1::dispatch::sock_accept(&mut ctx, &mut mem, 3, 0, 16);
//! assert_eq!(r, Err(vasi::Error::Errno(Errno::Acces)));
//! # Ok::<(), vasi::BuildError>(())
//! ```

use crate::{Errno, Error, GuestMemory, StopReason, Stopped, WasiCtx};
use std::borrow::Cow;
use std::time::Duration;

/// One hostcall as the guest made it: its name and its raw arguments (`i32`
/// as `u32`, `i64` as `u64`), in the order of the preview1 signature.
#[derive(Debug, Clone, Copy)]
pub struct Call<'a> {
    name: &'static str,
    params: &'static [&'static str],
    args: &'a [u64],
}

impl<'a> Call<'a> {
    /// A call of `name` whose parameters are `params`, with `args`.
    pub fn new(name: &'static str, params: &'static [&'static str], args: &'a [u64]) -> Self {
        Call { name, params, args }
    }

    /// The hostcall's name, such as `"fd_write"`.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Its family, the part of the name before the first `_`: `args`,
    /// `environ`, `clock`, `fd`, `path`, `poll`, `proc`, `random`, `sched` or
    /// `sock`.
    pub fn family(&self) -> &'static str {
        family_of(self.name)
    }

    /// The parameter names, as in the preview1 signature (`fd`, `iovs`, ...).
    pub fn params(&self) -> &'static [&'static str] {
        self.params
    }

    /// The raw arguments, one per parameter.
    pub fn args(&self) -> &'a [u64] {
        self.args
    }

    /// The argument of the parameter called `param`.
    pub fn arg(&self, param: &str) -> Option<u64> {
        let i = self.params.iter().position(|p| *p == param)?;
        self.args.get(i).copied()
    }
}

/// The family of a hostcall name (see [`Call::family`]).
pub(crate) fn family_of(name: &'static str) -> &'static str {
    name.split_once('_').map_or(name, |(f, _)| f)
}

/// The hostcall families, as [`Call::family`] names them.
pub const FAMILIES: &[&str] = &[
    "args", "environ", "clock", "fd", "path", "poll", "proc", "random", "sched", "sock",
];

/// What [`Hook::before`] decides about a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Run the hostcall (the next hook, if any, decides too).
    Run,
    /// Do not run it: return this to the guest (`Ok(())` is `ESUCCESS`; a hook
    /// that answers a call itself writes its results into guest memory first).
    Return(Result<(), Errno>),
    /// End the guest: the call fails with [`Error::Stopped`]
    /// ([`StopReason::Hook`]) carrying this message.
    Stop(Cow<'static, str>),
}

/// Sees every hostcall of a context (see the [module docs](self)).
pub trait Hook: Send {
    /// Called before the hostcall runs; decides whether it does.
    fn before(&mut self, ctx: &WasiCtx, call: &Call<'_>, mem: &mut GuestMemory<'_>) -> Verdict {
        let _ = (ctx, call, mem);
        Verdict::Run
    }

    /// Called after the hostcall, also when a hook answered or denied it, with
    /// its outcome and the time it took.
    fn after(
        &mut self,
        ctx: &WasiCtx,
        call: &Call<'_>,
        mem: &GuestMemory<'_>,
        outcome: &Result<(), Error>,
        elapsed: Duration,
    ) {
        let _ = (ctx, call, mem, outcome, elapsed);
    }
}

/// Runs `f`, the hostcall `call`, under the context's hooks.
#[cold]
#[inline(never)]
pub(crate) fn run(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    call: Call<'_>,
    f: impl FnOnce(&mut WasiCtx, &mut GuestMemory<'_>) -> Result<(), Error>,
) -> Result<(), Error> {
    // The hooks are taken out for the call so that they can see the context.
    let mut hooks = std::mem::take(&mut ctx.hooks);
    let mut verdict = Verdict::Run;
    for h in &mut hooks {
        verdict = h.before(ctx, &call, mem);
        if verdict != Verdict::Run {
            break;
        }
    }
    // A call run again after a wait (shared contexts) lasts from its first
    // start.
    let start = ctx
        .waits
        .resumed()
        .unwrap_or_else(crate::clocks::Stamp::now);
    let outcome = match verdict {
        Verdict::Run => f(ctx, mem),
        Verdict::Return(r) => r.map_err(Error::Errno),
        Verdict::Stop(message) => Err(Error::Stopped(Stopped::new(StopReason::Hook, message))),
    };
    let elapsed = start.elapsed();
    // A call that handed back a wait has no outcome yet: the hooks see it
    // once, when it is run again and completes.
    if !ctx.waits.is_deferred() {
        for h in &mut hooks {
            h.after(ctx, &call, mem, &outcome, elapsed);
        }
    }
    ctx.hooks = hooks;
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::p1::dispatch as d;
    use std::sync::{Arc, Mutex};

    /// The outcomes a hook saw, by call.
    type Seen = Arc<Mutex<Vec<(&'static str, Result<(), Error>)>>>;

    /// Answers `clock_time_get` itself with a fixed time; records every
    /// outcome it sees after the calls.
    struct FixedClock(Seen);

    impl Hook for FixedClock {
        fn before(&mut self, _: &WasiCtx, call: &Call<'_>, mem: &mut GuestMemory<'_>) -> Verdict {
            if call.name() != "clock_time_get" {
                return Verdict::Run;
            }
            let out = call.arg("time").expect("a time pointer") as u32;
            match mem.write_u64(out, 42) {
                Ok(()) => Verdict::Return(Ok(())),
                Err(_) => Verdict::Return(Err(Errno::Fault)),
            }
        }

        fn after(
            &mut self,
            _: &WasiCtx,
            call: &Call<'_>,
            _: &GuestMemory<'_>,
            outcome: &Result<(), Error>,
            _: Duration,
        ) {
            self.0.lock().unwrap().push((call.name(), outcome.clone()));
        }
    }

    #[test]
    fn a_hook_answers_a_call_and_sees_every_outcome() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let mut ctx = crate::WasiCtxBuilder::new()
            .hook(FixedClock(seen.clone()))
            .build()
            .unwrap();
        let mut bytes = [0u8; 16];
        let mut mem = GuestMemory::new(&mut bytes);
        d::clock_time_get(&mut ctx, &mut mem, 0, 1, 8).unwrap();
        assert_eq!(mem.read_u64(8).unwrap(), 42);
        assert_eq!(d::fd_close(&mut ctx, &mut mem, 9), Err(Errno::Badf.into()));
        assert_eq!(
            d::proc_exit(&mut ctx, &mut mem, 3),
            Err(Error::Exit(crate::I32Exit(3)))
        );
        assert_eq!(
            *seen.lock().unwrap(),
            [
                ("clock_time_get", Ok(())),
                ("fd_close", Err(Error::Errno(Errno::Badf))),
                ("proc_exit", Err(Error::Exit(crate::I32Exit(3)))),
            ]
        );
    }

    #[test]
    fn the_first_hook_that_decides_wins_and_stop_ends_the_guest() {
        struct Deny;
        impl Hook for Deny {
            fn before(&mut self, _: &WasiCtx, _: &Call<'_>, _: &mut GuestMemory<'_>) -> Verdict {
                Verdict::Stop("policy".into())
            }
        }
        let seen = Arc::new(Mutex::new(Vec::new()));
        let mut ctx = crate::WasiCtxBuilder::new()
            .hook(Deny)
            .hook(FixedClock(seen.clone()))
            .build()
            .unwrap();
        let mut bytes = [0u8; 16];
        let mut mem = GuestMemory::new(&mut bytes);
        let r = d::clock_time_get(&mut ctx, &mut mem, 0, 1, 8);
        match r {
            Err(Error::Stopped(s)) => {
                assert_eq!(s.reason(), StopReason::Hook);
                assert_eq!(s.message(), "policy");
            }
            other => panic!("{other:?}"),
        }
        // The second hook did not answer, but saw the outcome.
        assert_eq!(mem.read_u64(8).unwrap(), 0);
        assert_eq!(seen.lock().unwrap().len(), 1);
    }
}
