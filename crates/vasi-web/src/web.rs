//! The `wasm32-unknown-unknown` side of vasi-web: exports the JS loader calls,
//! imports it provides.
//!
//! Unsafe code: talking to JS needs `extern "C"` imports (whose pointer
//! arguments name vasi's own buffers, which the loader copies from or into)
//! and `#[no_mangle]` exports (each name is a preview1 function or starts with
//! `vasi_`, so none can clash with another symbol of this module). Nothing
//! else here is unsafe.
#![allow(unsafe_code, reason = "the JS boundary: see the module docs")]

use std::cell::RefCell;
use std::io::{self, Read, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use vasi::clocks::DeterministicClocks;
use vasi::hook::{Call, Hook, Verdict};
use vasi::vfs::{Dir, MemFs, MemFsOptions, Overlay, ReadOnly, TarFs};
use vasi::{
    ClockId, Clocks, CopyMemory, DirectWrite, Errno, Error, GuestMemory, InterruptHandle, Random,
    StopReason, Stopped, WasiCtx, WasiCtxBuilder,
};

/// What the JS loader provides (`js/vasi.js`, `imports.vasi`).
mod js {
    #[link(wasm_import_module = "vasi")]
    unsafe extern "C" {
        /// Copies `len` guest bytes at `offset` to vasi's `dst`.
        pub(super) fn guest_read(offset: u32, dst: *mut u8, len: u32);
        /// Copies `len` bytes of vasi's `src` to the guest at `offset`.
        pub(super) fn guest_write(offset: u32, src: *const u8, len: u32);
        /// Nanoseconds on a monotonic clock (`performance.now()`).
        pub(super) safe fn now_monotonic() -> f64;
        /// Nanoseconds since the Unix epoch.
        pub(super) safe fn now_realtime() -> f64;
        /// Blocks for `ns` nanoseconds (`Atomics.wait` where allowed).
        pub(super) safe fn sleep(ns: f64);
        /// Hands `len` bytes of vasi's at `src` to the output `fd` (3: the
        /// trace).
        pub(super) fn output(fd: u32, src: *const u8, len: u32);
        /// Hands the `len` guest bytes at `offset` (checked) to the output
        /// `fd` (1 stdout, 2 stderr), copied once, from the guest's memory.
        pub(super) safe fn output_guest(fd: u32, offset: u32, len: u32);
        /// Reads stdin into `dst` (blocking); the bytes read, 0 at its end,
        /// negative on error.
        pub(super) fn stdin_read(dst: *mut u8, len: u32) -> i32;
        /// Fills `dst` with random bytes (`crypto.getRandomValues`).
        pub(super) fn random_fill(dst: *mut u8, len: u32);
        /// Asks JS hook `hook` about a call described at `desc` (`name`,
        /// NUL, parameter names joined by commas) with `nargs` raw arguments
        /// at `args`: -1 run it, -2 stop the guest (the reason in vasi's
        /// buffer), 0 or an errno to return without running it.
        pub(super) fn hook_before(
            hook: u32,
            desc: *const u8,
            desc_len: u32,
            args: *const u64,
            nargs: u32,
        ) -> i32;
        /// Tells JS hook `hook` how a call ended: `kind` 0 returned `errno`,
        /// 1 exit (`errno` the code), 2 trap, 3 stop (the message after the
        /// parameter names, after a NUL); `ns` how long it took.
        pub(super) fn hook_after(
            hook: u32,
            desc: *const u8,
            desc_len: u32,
            args: *const u64,
            nargs: u32,
            kind: i32,
            errno: i32,
            ns: f64,
        );
    }
}

/// The guest-memory accessors: the exports of a small wasm module the
/// loader instantiates over the guest's memory (`accessModule` in
/// `js/vasi.js`) and puts in vasi's function table. They are wasm functions,
/// so a small access (an iovec, a result, a struct) is a wasm-to-wasm call
/// that never enters JS; bulk copies go through the loader's `guest_read` and
/// `guest_write`, which move many bytes per call.
#[derive(Clone, Copy)]
struct Access {
    /// The guest memory's size in 64 KiB pages.
    pages: extern "C" fn() -> u32,
    load8: extern "C" fn(u32) -> u32,
    load32: extern "C" fn(u32) -> u32,
    load64: extern "C" fn(u32) -> u64,
    store8: extern "C" fn(u32, u32),
    store32: extern "C" fn(u32, u32),
    store64: extern "C" fn(u32, u64),
}

/// The most bytes moved through [`Access`] rather than the loader's bulk
/// copy: below this, word calls (about 2 ns per 8 bytes) are cheaper than a
/// call into JS.
const SMALL: usize = 128;

/// The guest's memory, reached by copies: through [`Access`] for small
/// ranges and the loader for bulk ones. The core checks every range against
/// [`len`](CopyMemory::len) first, so no access here can fault.
struct JsMemory {
    len: usize,
    access: Access,
}

impl CopyMemory for JsMemory {
    fn len(&self) -> usize {
        self.len
    }

    #[inline]
    fn read(&self, offset: usize, dst: &mut [u8]) {
        if dst.len() > SMALL {
            // SAFETY: the loader writes `dst.len()` bytes into `dst`, which
            // is ours to write for the duration of the call.
            unsafe { js::guest_read(offset as u32, dst.as_mut_ptr(), dst.len() as u32) };
            return;
        }
        let a = self.access;
        let mut at = offset as u32;
        if let Ok(word) = <&mut [u8; 8]>::try_from(&mut *dst) {
            // An iovec, a u64: the most common small read.
            *word = (a.load64)(at).to_le_bytes();
            return;
        }
        let mut words = dst.chunks_exact_mut(8);
        for w in &mut words {
            w.copy_from_slice(&(a.load64)(at).to_le_bytes());
            at += 8;
        }
        let mut rest = words.into_remainder();
        if rest.len() >= 4 {
            let (w, tail) = rest.split_at_mut(4);
            w.copy_from_slice(&(a.load32)(at).to_le_bytes());
            at += 4;
            rest = tail;
        }
        for b in rest {
            *b = (a.load8)(at) as u8;
            at += 1;
        }
    }

    #[inline]
    fn write(&mut self, offset: usize, src: &[u8]) {
        if src.len() > SMALL {
            // SAFETY: the loader only reads `src`.
            unsafe { js::guest_write(offset as u32, src.as_ptr(), src.len() as u32) };
            return;
        }
        let a = self.access;
        let mut at = offset as u32;
        if let Ok(word) = <[u8; 4]>::try_from(src) {
            // A count, an fd: the most common small write.
            (a.store32)(at, u32::from_le_bytes(word));
            return;
        }
        let mut words = src.chunks_exact(8);
        for w in &mut words {
            (a.store64)(at, u64::from_le_bytes(w.try_into().unwrap_or_default()));
            at += 8;
        }
        let mut rest = words.remainder();
        if rest.len() >= 4 {
            let (w, tail) = rest.split_at(4);
            (a.store32)(at, u32::from_le_bytes(w.try_into().unwrap_or_default()));
            at += 4;
            rest = tail;
        }
        for &b in rest {
            (a.store8)(at, u32::from(b));
            at += 1;
        }
    }
}

/// Takes the guest-memory accessors the loader put in vasi's function table
/// at `base..base + 7` (in the order of [`Access`]'s fields); called once,
/// after the guest is instantiated and before it runs. Without it (a guest
/// that exports no memory) the guest's memory is empty to vasi, and every
/// pointer the guest passes traps.
#[no_mangle]
pub extern "C" fn vasi_guest_access(base: u32) {
    // SAFETY: on wasm32 a function pointer is an index into the module's
    // function table, and the loader has put there, at these indices,
    // functions of exactly these signatures (`call_indirect` checks each
    // signature again at every call, trapping on a mismatch).
    let access = unsafe {
        let f = |k: u32| (base + k) as usize;
        Access {
            pages: std::mem::transmute::<usize, extern "C" fn() -> u32>(f(0)),
            load8: std::mem::transmute::<usize, extern "C" fn(u32) -> u32>(f(1)),
            load32: std::mem::transmute::<usize, extern "C" fn(u32) -> u32>(f(2)),
            load64: std::mem::transmute::<usize, extern "C" fn(u32) -> u64>(f(3)),
            store8: std::mem::transmute::<usize, extern "C" fn(u32, u32)>(f(4)),
            store32: std::mem::transmute::<usize, extern "C" fn(u32, u32)>(f(5)),
            store64: std::mem::transmute::<usize, extern "C" fn(u32, u64)>(f(6)),
        }
    };
    with_state(|st| st.access = Some(access));
}

/// The guest memory's size now. 4 GiB (65,536 pages) does not fit a wasm32
/// `usize`: vasi then sees one byte less.
fn guest_len(access: &Access) -> usize {
    let bytes = u64::from((access.pages)()) * 65536;
    bytes.min(usize::MAX as u64) as usize
}

/// A deadline (`performance.now()` nanoseconds as f64 bits; 0: none).
static DEADLINE: AtomicU64 = AtomicU64::new(0);

fn deadline() -> Option<f64> {
    let d = f64::from_bits(DEADLINE.load(Ordering::Relaxed));
    (d > 0.0).then_some(d)
}

/// The JS engine's clocks; sleeps block in the loader.
struct JsClocks;

impl Clocks for JsClocks {
    fn now(&self, id: ClockId) -> Result<u64, Errno> {
        Ok(match id {
            ClockId::Realtime => js::now_realtime() as u64,
            _ => js::now_monotonic() as u64,
        })
    }

    fn resolution(&self, _id: ClockId) -> Result<u64, Errno> {
        Ok(1_000)
    }

    fn sleep(&self, duration: Duration, interrupt: &InterruptHandle) {
        let mut ns = duration.as_nanos() as f64;
        if let Some(d) = deadline() {
            let left = d - js::now_monotonic();
            if left < ns {
                ns = left.max(0.0);
                interrupt.interrupt();
            }
        }
        if ns > 0.0 {
            js::sleep(ns);
        }
    }
}

/// `crypto.getRandomValues`.
struct JsRandom;

impl Random for JsRandom {
    fn fill(&mut self, buf: &mut [u8]) -> Result<(), Errno> {
        // SAFETY: the loader writes `buf.len()` bytes into `buf`.
        unsafe { js::random_fill(buf.as_mut_ptr(), buf.len() as u32) };
        Ok(())
    }
}

/// stdout or stderr: the loader copies the guest's bytes from the guest's
/// memory straight into what its callback gets.
struct JsDirect(u32);

impl DirectWrite for JsDirect {
    fn write_direct(&mut self, _mem: &GuestMemory<'_>, ptr: u32, len: u32) -> Result<usize, Error> {
        // `_mem` is the guest memory the loader holds (see `call`), and vasi
        // checked the range against it. In pieces, as the core's own bulk
        // transfers: a callback never gets more than `PIECE` bytes at once,
        // so one write makes JS hold at most that much more.
        let piece = vasi::PIECE as u32;
        let mut at = 0;
        while at < len {
            let n = piece.min(len - at);
            js::output_guest(self.0, ptr + at, n);
            at += n;
        }
        Ok(len as usize)
    }
}

/// The trace, handed to the loader's callback.
struct JsOut(u32);

impl Write for JsOut {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if !buf.is_empty() {
            // SAFETY: the loader only reads `buf`.
            unsafe { js::output(self.0, buf.as_ptr(), buf.len() as u32) };
        }
        Ok(buf.len())
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.write(buf).map(drop)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// stdin from the loader's callback (which may block on `Atomics.wait`).
struct JsStdin;

impl Read for JsStdin {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        // SAFETY: the loader writes at most `buf.len()` bytes into `buf`.
        let n = unsafe { js::stdin_read(buf.as_mut_ptr(), buf.len() as u32) };
        usize::try_from(n).map_err(|_| io::Error::other("the stdin callback failed"))
    }
}

/// One of the loader's hooks (`options.hooks`, by index): each call's name,
/// parameters and arguments go to JS, which decides and observes.
struct JsHook {
    index: u32,
    /// The call's description, rebuilt in place for each call.
    desc: String,
}

impl JsHook {
    fn describe(&mut self, call: &Call<'_>) {
        self.desc.clear();
        self.desc.push_str(call.name());
        self.desc.push('\0');
        for (i, p) in call.params().iter().enumerate() {
            if i > 0 {
                self.desc.push(',');
            }
            self.desc.push_str(p);
        }
    }
}

impl Hook for JsHook {
    fn before(&mut self, _: &WasiCtx, call: &Call<'_>, _: &mut GuestMemory<'_>) -> Verdict {
        self.describe(call);
        let args = call.args();
        // SAFETY: the loader only reads `desc` and `args`.
        let v = unsafe {
            js::hook_before(
                self.index,
                self.desc.as_ptr(),
                self.desc.len() as u32,
                args.as_ptr(),
                args.len() as u32,
            )
        };
        match v {
            -1 => Verdict::Run,
            -2 => {
                let why = take_string().unwrap_or_default();
                Verdict::Stop(if why.is_empty() {
                    "stopped by a hook".into()
                } else {
                    why.into()
                })
            }
            0 => Verdict::Return(Ok(())),
            // Anything else the loader checked is an errno.
            e => Verdict::Return(Err(u16::try_from(e)
                .ok()
                .and_then(Errno::from_raw)
                .unwrap_or(Errno::Inval))),
        }
    }

    fn after(
        &mut self,
        _: &WasiCtx,
        call: &Call<'_>,
        _: &GuestMemory<'_>,
        outcome: &Result<(), Error>,
        elapsed: Duration,
    ) {
        self.describe(call);
        let (kind, errno) = match outcome {
            Ok(()) => (0, 0),
            Err(Error::Errno(e)) => (0, i32::from(e.raw())),
            Err(Error::Exit(code)) => (1, code.0),
            Err(Error::Trap(t)) => {
                self.desc.push('\0');
                self.desc.push_str(t.message());
                (2, 0)
            }
            Err(Error::Stopped(s)) => {
                self.desc.push('\0');
                self.desc.push_str(&s.to_string());
                (3, 0)
            }
        };
        let args = call.args();
        // SAFETY: the loader only reads `desc` and `args`.
        unsafe {
            js::hook_after(
                self.index,
                self.desc.as_ptr(),
                self.desc.len() as u32,
                args.as_ptr(),
                args.len() as u32,
                kind,
                errno,
                elapsed.as_nanos() as f64,
            )
        };
    }
}

/// A filesystem given to the guest at `path`.
struct Mount {
    path: String,
    dir: Arc<dyn Dir>,
    /// The filesystem files can be added to (an in-memory mount).
    mem: Option<MemFs>,
    read_only: bool,
}

/// How the run ended, when vasi ended it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Running = 0,
    Exit = 1,
    Trap = 2,
    Stopped = 3,
}

struct State {
    builder: WasiCtxBuilder,
    ctx: Option<WasiCtx>,
    mounts: Vec<Mount>,
    /// Deterministic mode: the clock the context and in-memory mounts share.
    clock: Option<Arc<DeterministicClocks>>,
    outcome: Outcome,
    exit_code: i32,
    message: String,
    /// The guest-memory accessors, once the loader installed them.
    access: Option<Access>,
}

thread_local! {
    static STATE: RefCell<State> = RefCell::new(State::new());
    /// Where the loader puts the bytes of the next configuration call.
    static BUFFER: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

impl State {
    fn new() -> Self {
        vasi::clocks::set_platform_time(
            || js::now_monotonic() as u64,
            || js::now_realtime() as u64,
        );
        let mut builder = WasiCtxBuilder::new();
        builder
            .clocks(JsClocks)
            .random(JsRandom)
            .stdout_direct(JsDirect(1))
            .stderr_direct(JsDirect(2))
            .single_instance();
        State {
            builder,
            ctx: None,
            mounts: Vec::new(),
            clock: None,
            outcome: Outcome::Running,
            exit_code: 0,
            message: String::new(),
            access: None,
        }
    }

    fn mem_options(&self, quota: f64, inodes: f64) -> MemFsOptions {
        let mut options = MemFsOptions::default();
        if quota > 0.0 {
            options.bytes = quota as u64;
        }
        if inodes > 0.0 {
            options.inodes = inodes as u64;
        }
        options.clock = self.clock.clone().map(|c| c as Arc<dyn Clocks>);
        options
    }

    /// Records a failure of a configuration call; returns -1.
    fn fail(&mut self, message: impl std::fmt::Display) -> i32 {
        self.message = message.to_string();
        -1
    }
}

fn with_state<R>(f: impl FnOnce(&mut State) -> R) -> R {
    STATE.with_borrow_mut(f)
}

/// The bytes the loader put in the buffer, taken.
fn take_buffer() -> Vec<u8> {
    BUFFER.with_borrow_mut(std::mem::take)
}

fn take_string() -> Result<String, std::string::FromUtf8Error> {
    String::from_utf8(take_buffer())
}

/// Makes the buffer `len` bytes long; returns where the loader writes them.
#[no_mangle]
pub extern "C" fn vasi_buffer(len: u32) -> *mut u8 {
    BUFFER.with_borrow_mut(|b| {
        b.clear();
        b.resize(len as usize, 0);
        b.as_mut_ptr()
    })
}

/// Appends the buffer (UTF-8) as an argument.
#[no_mangle]
pub extern "C" fn vasi_arg() -> i32 {
    let s = take_string();
    with_state(|st| match s {
        Ok(s) => {
            st.builder.arg(s);
            0
        }
        Err(_) => st.fail("an argument is not UTF-8"),
    })
}

/// Sets the environment variable in the buffer (`NAME=value`).
#[no_mangle]
pub extern "C" fn vasi_env() -> i32 {
    let s = take_string();
    with_state(
        |st| match s.as_deref().ok().and_then(|s| s.split_once('=')) {
            Some((k, v)) => {
                st.builder.env(k, v);
                0
            }
            None => st.fail("an environment variable is not NAME=value in UTF-8"),
        },
    )
}

/// Applies the bundle in the buffer, if the guest module there is one (see
/// `vasi_bundle::Bundle::apply`): argv0 and its arguments, environment,
/// mounts, deterministic mode, the open-files cap and the timeout, before
/// anything of the loader's options. Returns 0 (not a bundle), 1 (applied)
/// or -1 (`vasi_message` says why: a damaged bundle, or a limit vasi-web
/// cannot enforce).
#[no_mangle]
pub extern "C" fn vasi_bundle() -> i32 {
    let bytes = take_buffer();
    with_state(|st| {
        let bundle = match vasi_bundle::Bundle::parse_optional(Arc::new(bytes)) {
            Ok(Some(b)) => b,
            Ok(None) => return 0,
            Err(e) => return st.fail(format_args!("a bad vasi bundle: {e}")),
        };
        let c = bundle.config();
        // What only a wasm engine can enforce: refused rather than ignored.
        let unenforced = [
            (c.fuel.is_some(), "fuel"),
            (c.max_memory.is_some(), "a memory cap"),
            (!c.globals.is_empty(), "globals"),
        ];
        if let Some((_, what)) = unenforced.iter().find(|(set, _)| *set) {
            return st.fail(format_args!(
                "the bundle sets {what}, which vasi-web cannot enforce (run it with `vasi run`)"
            ));
        }
        bundle.apply(&mut st.builder);
        if let Some(seed) = c.deterministic {
            // The loader's in-memory mounts take their file times from a
            // virtual clock too; the guest reads that one (the bundle's
            // copy-on-write layers keep their own, as deterministic).
            let clock = Arc::new(DeterministicClocks::new());
            st.builder
                .clocks(clock.clone())
                .random(vasi::random::SeededRandom::new(seed));
            st.clock = Some(clock);
        }
        if let Some(t) = c.timeout {
            vasi_timeout(t.as_secs_f64() * 1e3);
        }
        1
    })
}

/// Deterministic clocks and random bytes from `seed` (before any mount).
#[no_mangle]
pub extern "C" fn vasi_deterministic(seed: i64) {
    with_state(|st| {
        let clock = Arc::new(DeterministicClocks::new());
        st.builder
            .clocks(clock.clone())
            .random(vasi::random::SeededRandom::new(seed as u64));
        st.clock = Some(clock);
    })
}

/// Ends the run when `ms` milliseconds (on `performance.now()`) have passed:
/// at the next hostcall, or inside a sleep.
#[no_mangle]
pub extern "C" fn vasi_timeout(ms: f64) {
    let at = js::now_monotonic() + ms * 1e6;
    DEADLINE.store(at.to_bits(), Ordering::Relaxed);
}

/// The buffer as the guest's whole stdin.
#[no_mangle]
pub extern "C" fn vasi_stdin_bytes() {
    let bytes = take_buffer();
    with_state(|st| {
        st.builder.stdin(io::Cursor::new(bytes));
    })
}

/// stdin from the loader's `stdin_read`.
#[no_mangle]
pub extern "C" fn vasi_stdin_callback() {
    with_state(|st| {
        st.builder.stdin(JsStdin);
    })
}

/// Traces every hostcall (or the families listed, comma-separated, in the
/// buffer) to output 3.
#[no_mangle]
pub extern "C" fn vasi_trace(durations: i32) -> i32 {
    let families = take_string().unwrap_or_default();
    with_state(|st| {
        let mut tracer = vasi::trace::Tracer::new(JsOut(3)).durations(durations != 0);
        if !families.is_empty() {
            tracer = match tracer.families(families.split(',')) {
                Ok(t) => t,
                Err(e) => return st.fail(e),
            };
        }
        st.builder.hook(tracer);
        0
    })
}

/// Adds the loader's hook `index` (`options.hooks[index]`), after the trace.
#[no_mangle]
pub extern "C" fn vasi_hook(index: u32) {
    with_state(|st| {
        st.builder.hook(JsHook {
            index,
            desc: String::new(),
        });
    })
}

/// Mounts an empty in-memory filesystem at the path in the buffer, with a
/// byte quota and an inode quota (0: the defaults); returns its index.
#[no_mangle]
pub extern "C" fn vasi_mount_memory(quota: f64, inodes: f64) -> i32 {
    let path = take_string();
    with_state(|st| {
        let Ok(path) = path else {
            return st.fail("a mount path is not UTF-8");
        };
        let fs = MemFs::with_options(st.mem_options(quota, inodes));
        st.mounts.push(Mount {
            path,
            dir: fs.root(),
            mem: Some(fs),
            read_only: false,
        });
        st.mounts.len() as i32 - 1
    })
}

/// Mounts the tar archive in the buffer (`path_len` bytes of mount path, then
/// the archive) read-only, or with `overlay` under an in-memory layer of
/// `quota` bytes that takes the guest's changes; returns its index, or -1
/// (`vasi_message` says why).
#[no_mangle]
pub extern "C" fn vasi_mount_tar(path_len: u32, overlay: i32, quota: f64) -> i32 {
    let mut bytes = take_buffer();
    with_state(|st| {
        let Some(tar) = bytes.get(path_len as usize..) else {
            return st.fail("bad mount call");
        };
        let fs = match TarFs::from_reader(tar) {
            Ok(fs) => fs,
            Err(e) => return st.fail(format_args!("not a usable tar archive: {e}")),
        };
        bytes.truncate(path_len as usize);
        let Ok(path) = String::from_utf8(bytes) else {
            return st.fail("a mount path is not UTF-8");
        };
        let (dir, mem): (Arc<dyn Dir>, _) = if overlay != 0 {
            let upper = MemFs::with_options(st.mem_options(quota, 0.0));
            (Arc::new(Overlay::new(upper.root(), fs.root())), None)
        } else {
            (fs.root(), None)
        };
        st.mounts.push(Mount {
            path,
            dir,
            mem,
            read_only: false,
        });
        st.mounts.len() as i32 - 1
    })
}

/// Makes mount `index` read-only.
#[no_mangle]
pub extern "C" fn vasi_mount_read_only(index: u32) {
    with_state(|st| {
        if let Some(m) = st.mounts.get_mut(index as usize) {
            m.read_only = true;
        }
    })
}

/// Writes a file into in-memory mount `index`: the buffer holds `path_len`
/// bytes of its path (relative to the mount), then its contents. Parent
/// directories are made as needed. Returns 0 or an errno.
#[no_mangle]
pub extern "C" fn vasi_mount_file(index: u32, path_len: u32) -> i32 {
    let bytes = take_buffer();
    with_state(|st| {
        let Some(fs) = st.mounts.get(index as usize).and_then(|m| m.mem.as_ref()) else {
            return i32::from(Errno::Badf.raw());
        };
        let (path, contents) = bytes.split_at((path_len as usize).min(bytes.len()));
        let Ok(path) = std::str::from_utf8(path) else {
            return i32::from(Errno::Ilseq.raw());
        };
        match fs.write(path, contents) {
            Ok(()) => 0,
            Err(e) => i32::from(e.raw()),
        }
    })
}

/// Makes the directory in the buffer (and its parents) in in-memory mount
/// `index`. Returns 0 or an errno.
#[no_mangle]
pub extern "C" fn vasi_mount_dir(index: u32) -> i32 {
    let path = take_string();
    with_state(|st| {
        let Some(fs) = st.mounts.get(index as usize).and_then(|m| m.mem.as_ref()) else {
            return i32::from(Errno::Badf.raw());
        };
        let Ok(path) = path else {
            return i32::from(Errno::Ilseq.raw());
        };
        match fs.create_dir_all(&path) {
            Ok(()) => 0,
            Err(e) => i32::from(e.raw()),
        }
    })
}

/// Builds the context from everything configured; 0, or -1 (`vasi_message`
/// says why).
#[no_mangle]
pub extern "C" fn vasi_build() -> i32 {
    with_state(|st| {
        for m in std::mem::take(&mut st.mounts) {
            let dir: Arc<dyn Dir> = if m.read_only {
                Arc::new(ReadOnly::new(m.dir))
            } else {
                m.dir
            };
            st.builder.preopen_dir(dir, m.path);
        }
        match st.builder.build() {
            Ok(ctx) => {
                st.ctx = Some(ctx);
                0
            }
            Err(e) => st.fail(e),
        }
    })
}

/// How vasi ended the run: 0 it did not (the guest returned or trapped by
/// itself), 1 `proc_exit` (`vasi_exit_code`), 2 a trap, 3 a stop (both
/// described by `vasi_message`).
#[no_mangle]
pub extern "C" fn vasi_outcome() -> i32 {
    with_state(|st| st.outcome as i32)
}

/// The code the guest passed to `proc_exit`.
#[no_mangle]
pub extern "C" fn vasi_exit_code() -> i32 {
    with_state(|st| st.exit_code)
}

/// Where the last message is (UTF-8, `vasi_message_len` bytes).
#[no_mangle]
pub extern "C" fn vasi_message_ptr() -> *const u8 {
    with_state(|st| st.message.as_ptr())
}

/// The last message's length.
#[no_mangle]
pub extern "C" fn vasi_message_len() -> u32 {
    with_state(|st| st.message.len() as u32)
}

/// Runs one hostcall on the context over the guest's memory.
#[inline]
fn call(
    name: &'static str,
    f: impl FnOnce(&mut WasiCtx, &mut GuestMemory<'_>) -> Result<(), Error>,
) -> i32 {
    let r = with_state(|st| {
        let State { ctx, access, .. } = st;
        let Some(ctx) = ctx.as_mut() else {
            return Err(Error::trap("vasi-web: a hostcall before vasi_build"));
        };
        if let Some(d) = deadline() {
            if js::now_monotonic() >= d {
                return Err(Error::Stopped(Stopped::new(
                    StopReason::Interrupted,
                    "timeout",
                )));
            }
        }
        let mut js_mem;
        let mut mem = match access {
            Some(access) => {
                js_mem = JsMemory {
                    len: guest_len(access),
                    access: *access,
                };
                GuestMemory::copying(&mut js_mem)
            }
            // No guest memory (yet): every pointer is out of bounds.
            None => GuestMemory::new(&mut []),
        };
        // One call site of `f`, so that each hostcall is compiled in once.
        f(ctx, &mut mem)
    });
    match r {
        Ok(()) => 0,
        Err(Error::Errno(e)) => i32::from(e.raw()),
        Err(other) => end(name, other),
    }
}

/// Records why the guest ends and ends it: a trap inside vasi unwinds the
/// guest to the loader, which then reads `vasi_outcome`.
#[cold]
fn end(name: &'static str, e: Error) -> ! {
    with_state(|st| match e {
        Error::Exit(code) => {
            st.outcome = Outcome::Exit;
            st.exit_code = code.0;
        }
        Error::Trap(t) => {
            st.outcome = Outcome::Trap;
            st.message = format!("{name}: {}", t.message());
        }
        Error::Stopped(s) => {
            st.outcome = Outcome::Stopped;
            st.message = s.to_string();
        }
        Error::Errno(e) => {
            st.outcome = Outcome::Trap;
            st.message = format!("{name}: {e:?}");
        }
    });
    std::arch::wasm32::unreachable()
}

macro_rules! exports {
    ($($name:ident($($arg:ident: $ty:ident),*);)*) => {$(
        #[doc = concat!("`wasi_snapshot_preview1.", stringify!($name), "`.")]
        #[no_mangle]
        #[allow(clippy::too_many_arguments, reason = "the preview1 signature")]
        pub extern "C" fn $name($($arg: $ty),*) -> i32 {
            call(stringify!($name), |ctx, mem| vasi::p1::dispatch::$name(ctx, mem, $($arg),*))
        }
    )*};
}
vasi::for_each_hostcall!(exports);

/// `wasi_snapshot_preview1.proc_exit`: never returns.
#[no_mangle]
pub extern "C" fn proc_exit(code: i32) {
    call("proc_exit", |ctx, mem| {
        vasi::p1::dispatch::proc_exit(ctx, mem, code)
    });
}
