//! wasi-threads: guests built for `wasm32-wasip1-threads` (Rust's
//! `std::thread`, rayon, wasi-sdk's pthreads), on today's wasmtime.
//!
//! Such a guest imports a shared memory and `wasi::thread-spawn(start_arg:
//! i32) -> i32`, and exports `wasi_thread_start(tid: i32, start_arg: i32)`.
//! [`ThreadedGuest`] runs it: the main thread calls `_start`; each
//! `thread-spawn` makes a new instance of the same module over the same
//! [`SharedMemory`], in a store of its own on an OS thread of its own, and
//! enters it at `wasi_thread_start(tid, start_arg)`. Thread ids are positive
//! and unique (at most 2^29 - 1 of them, as the proposal says); a spawn that
//! cannot be served (the [`max_threads`](ThreadedGuestBuilder::max_threads)
//! cap, no `wasi_thread_start` export, no instance, no OS thread) returns a
//! negative value to the guest.
//!
//! All threads share one [`vasi::WasiCtx`] (through a
//! [`vasi::shared::SharedCtx`]): the same descriptors, mounts, stdio,
//! clocks, randomness, hooks and trace. The guest ends as a process does:
//! when `_start` returns (exit code 0), when any thread calls `proc_exit`
//! (its code), or when any thread traps (the trap); the other threads are then
//! stopped, also when they are blocked in WASI (through the context's
//! interrupt handle) or running wasm code (through epoch interruption, when
//! the engine has it on). [`ThreadedGuest::stopper`] ends it from outside.
//!
//! # Example
//!
//! ```
//! use vasi_wasmtime::threads::ThreadedGuest;
//! use wasmtime::{Config, Engine, Module};
//!
//! let mut config = Config::new();
//! config.shared_memory(true); // wasmtime makes no shared memory without it
//! config.epoch_interruption(true); // lets the end of the guest stop running threads
//! let engine = Engine::new(&config)?;
//! // A thread writes "hi\n", then the main thread returns.
//! let module = Module::new(&engine, r#"(module
//!     (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
//!     (import "wasi" "thread-spawn" (func $spawn (param i32) (result i32)))
//!     (import "env" "memory" (memory 1 1 shared))
//!     (data (i32.const 0) "\10\00\00\00\03\00\00\00")
//!     (data (i32.const 16) "hi\n")
//!     (func (export "wasi_thread_start") (param i32 i32)
//!         (drop (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
//!         (drop (i32.atomic.rmw.xchg (i32.const 32) (i32.const 1)))
//!         (drop (memory.atomic.notify (i32.const 32) (i32.const 1))))
//!     (func (export "_start")
//!         (if (i32.lt_s (call $spawn (i32.const 0)) (i32.const 0)) (then unreachable))
//!         (drop (memory.atomic.wait32 (i32.const 32) (i32.const 0) (i64.const -1)))))"#)?;
//! let out = vasi::CaptureBuffer::new();
//! let ctx = vasi::WasiCtxBuilder::new().stdout(out.clone()).build()?;
//! let mut guest = ThreadedGuest::builder(&engine, &module).max_threads(4).build(ctx)?;
//! assert_eq!(guest.run()?, 0);
//! assert_eq!(out.to_string_lossy(), "hi\n");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use crate::GuestTrap;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use vasi::shared::SharedCtx;
use vasi::{GuestMemory, InterruptHandle, StopReason, Stopped, WasiCtx};
use wasmtime::{
    Caller, Engine, ExternType, InstancePre, Linker, MemoryType, Module, SharedMemory, Store,
    UpdateDeadline,
};

/// The import module and name of the spawn function.
pub const SPAWN_MODULE: &str = "wasi";
/// See [`SPAWN_MODULE`].
pub const SPAWN_NAME: &str = "thread-spawn";
/// The export every spawned thread starts at.
pub const THREAD_START: &str = "wasi_thread_start";
/// The default cap on live spawned threads ([`ThreadedGuestBuilder::max_threads`]).
pub const DEFAULT_MAX_THREADS: u32 = 1024;
/// The largest thread id (the proposal keeps ids below 2^29).
const MAX_TID: u32 = (1 << 29) - 1;

/// Whether `module` is a wasi-threads guest: it imports a shared memory or
/// `wasi::thread-spawn`.
///
/// ```
/// # let engine = wasmtime::Engine::default();
/// let plain = wasmtime::Module::new(&engine, "(module (memory (export \"memory\") 1))")?;
/// let threaded = wasmtime::Module::new(&engine, r#"(module (import "env" "memory" (memory 1 1 shared)))"#)?;
/// assert!(!vasi_wasmtime::threads::is_threaded(&plain));
/// assert!(vasi_wasmtime::threads::is_threaded(&threaded));
/// # Ok::<(), wasmtime::Error>(())
/// ```
pub fn is_threaded(module: &Module) -> bool {
    module.imports().any(|i| {
        (i.module() == SPAWN_MODULE && i.name() == SPAWN_NAME)
            || matches!(i.ty(), ExternType::Memory(m) if m.is_shared())
    })
}

/// The store data of each thread of a [`ThreadedGuest`]: the shared WASI
/// world, the shared memory and the thread's id (0 for the main thread).
pub struct ThreadData {
    shared: Arc<Shared>,
    tid: u32,
}

impl std::fmt::Debug for ThreadData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ThreadData")
            .field("tid", &self.tid)
            .finish_non_exhaustive()
    }
}

impl ThreadData {
    /// The thread's id: 0 for the main thread, the id `thread-spawn`
    /// returned for the others.
    pub fn tid(&self) -> u32 {
        self.tid
    }

    /// The WASI context all threads share.
    pub fn wasi(&self) -> &SharedCtx {
        &self.shared.ctx
    }
}

/// How a guest ended: the first of these wins.
enum Outcome {
    Exit(i32),
    Error(wasmtime::Error),
}

/// What every thread of one guest shares.
struct Shared {
    ctx: SharedCtx,
    memory: SharedMemory,
    engine: Engine,
    /// Set once, right after the main thread's store exists (defining the
    /// memory in the linker takes a store).
    pre: OnceLock<InstancePre<ThreadData>>,
    max_threads: u32,
    live: AtomicU32,
    next_tid: AtomicU32,
    /// Set once the guest has ended: no more spawns, hostcalls stop.
    ended: AtomicBool,
    outcome: Mutex<Option<Outcome>>,
    done: Condvar,
    interrupt: InterruptHandle,
}

impl Shared {
    /// Records how the guest ended (if nothing did before) and stops every
    /// thread.
    fn finish(&self, outcome: Outcome) {
        let mut slot = self.outcome.lock().unwrap_or_else(|e| e.into_inner());
        if slot.is_none() {
            *slot = Some(outcome);
        }
        drop(slot);
        self.stop_all();
        self.done.notify_all();
    }

    fn stop_all(&self) {
        if !self.ended.swap(true, Ordering::SeqCst) {
            // Blocking hostcalls end; wasm code traps at its next epoch check.
            self.interrupt.interrupt();
            self.engine.increment_epoch();
        }
    }

    /// A thread's wasm call returned `result`.
    fn thread_returned(&self, result: wasmtime::Result<()>, main: bool) {
        match result {
            Ok(()) if main => self.finish(Outcome::Exit(0)),
            Ok(()) => {}
            Err(e) => match e.downcast_ref::<vasi::I32Exit>() {
                Some(exit) => self.finish(Outcome::Exit(exit.0)),
                None => self.finish(Outcome::Error(e)),
            },
        }
    }

    fn new_store(self: &Arc<Self>, tid: u32) -> Store<ThreadData> {
        let mut store = Store::new(
            &self.engine,
            ThreadData {
                shared: self.clone(),
                tid,
            },
        );
        // With epoch interruption on, a thread running wasm code stops at
        // its next check once the guest has ended; otherwise it runs on.
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(|cx| {
            if cx.data().shared.ended.load(Ordering::SeqCst) {
                Ok(UpdateDeadline::Interrupt)
            } else {
                Ok(UpdateDeadline::Continue(1))
            }
        });
        store
    }

    /// `thread-spawn`: the new thread's id, or a negative value.
    fn spawn(self: &Arc<Self>, start_arg: i32) -> i32 {
        if self.ended.load(Ordering::SeqCst) {
            return -1;
        }
        // Reserve a slot first, so that racing spawns never exceed the cap.
        let reserved = self
            .live
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                (n < self.max_threads).then_some(n + 1)
            });
        if reserved.is_err() {
            return -1;
        }
        let release = || {
            self.live.fetch_sub(1, Ordering::SeqCst);
        };
        let tid = match self
            .next_tid
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |t| {
                (t <= MAX_TID).then_some(t + 1)
            }) {
            Ok(tid) => tid,
            Err(_) => {
                release();
                return -1;
            }
        };
        let mut store = self.new_store(tid);
        let Some(pre) = self.pre.get() else {
            release();
            return -1;
        };
        let start = match pre.instantiate(&mut store).and_then(|instance| {
            instance.get_typed_func::<(i32, i32), ()>(&mut store, THREAD_START)
        }) {
            Ok(f) => f,
            Err(_) => {
                release();
                return -1;
            }
        };
        let shared = self.clone();
        let spawned = std::thread::Builder::new()
            .name(format!("vasi-thread-{tid}"))
            .spawn(move || {
                let result = start.call(&mut store, (tid as i32, start_arg));
                drop(store);
                shared.live.fetch_sub(1, Ordering::SeqCst);
                shared.thread_returned(result, false);
            });
        match spawned {
            Ok(_) => tid as i32,
            Err(_) => {
                release();
                -1
            }
        }
    }
}

/// Ends a [`ThreadedGuest`] from any thread: every thread stops (also those
/// blocked in WASI) and [`run`](ThreadedGuest::run) returns a
/// [`vasi::Stopped`] error ([`StopReason::Interrupted`]).
#[derive(Clone)]
pub struct Stopper {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Stopper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stopper").finish_non_exhaustive()
    }
}

impl Stopper {
    /// Stops the guest with `message` as the error [`run`](ThreadedGuest::run)
    /// returns (unless it ended already).
    pub fn stop(&self, message: &'static str) {
        self.shared
            .finish(Outcome::Error(wasmtime::Error::new(Stopped::new(
                StopReason::Interrupted,
                message,
            ))));
    }
}

/// Sets up a [`ThreadedGuest`]; from [`ThreadedGuest::builder`].
pub struct ThreadedGuestBuilder {
    engine: Engine,
    module: Module,
    linker: Linker<ThreadData>,
    max_threads: u32,
    max_memory: Option<u64>,
}

impl std::fmt::Debug for ThreadedGuestBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ThreadedGuestBuilder")
            .field("max_threads", &self.max_threads)
            .field("max_memory", &self.max_memory)
            .finish_non_exhaustive()
    }
}

impl ThreadedGuestBuilder {
    /// Caps the spawned threads alive at once (the main thread not counted);
    /// a `thread-spawn` past it returns a negative value (default
    /// [`DEFAULT_MAX_THREADS`]).
    pub fn max_threads(&mut self, max: u32) -> &mut Self {
        self.max_threads = max;
        self
    }

    /// Caps the shared memory at `bytes` (rounded down to whole pages): the
    /// memory is made with at most that maximum, so a `memory.grow` past it
    /// fails in the guest. The memory is one for all threads and counts once.
    pub fn max_memory(&mut self, bytes: u64) -> &mut Self {
        self.max_memory = Some(bytes);
        self
    }

    /// The linker the guest's instances are made with, to define more host
    /// functions on (every WASI function and `thread-spawn` are already in).
    pub fn linker(&mut self) -> &mut Linker<ThreadData> {
        &mut self.linker
    }

    /// Makes the shared memory and prepares the module's instances over it,
    /// with `ctx` as the world of every thread.
    ///
    /// # Errors
    /// The module imports no shared memory, exports no `_start`, needs more
    /// memory than
    /// [`max_memory`](Self::max_memory) allows, or imports something the
    /// linker lacks.
    pub fn build(&mut self, ctx: WasiCtx) -> wasmtime::Result<ThreadedGuest> {
        let mut memory_import = None;
        for import in self.module.imports() {
            if let ExternType::Memory(m) = import.ty() {
                memory_import = Some((import.module().to_string(), import.name().to_string(), m));
            }
        }
        let Some((mem_module, mem_name, ty)) = memory_import else {
            wasmtime::bail!("a wasi-threads module imports its (shared) memory; this one does not");
        };
        if !ty.is_shared() {
            wasmtime::bail!("the memory {mem_module}::{mem_name} the module imports is not shared");
        }
        // `wasi_thread_start` may be missing: spawning then fails.
        if self.module.get_export("_start").is_none() {
            wasmtime::bail!("a wasi-threads command exports `_start`; this one does not");
        }
        let page = ty.page_size();
        let declared = ty.maximum().unwrap_or(ty.minimum());
        let maximum = match self.max_memory {
            Some(bytes) => declared.min(bytes / page),
            None => declared,
        };
        if maximum < ty.minimum() {
            return Err(wasmtime::Error::new(MemoryTooSmall {
                needed: ty.minimum().saturating_mul(page),
            }));
        }
        let ty = MemoryType::shared(
            u32::try_from(ty.minimum()).unwrap_or(u32::MAX),
            u32::try_from(maximum).unwrap_or(u32::MAX),
        );
        let memory = SharedMemory::new(&self.engine, ty)?;
        let ctx = SharedCtx::new(ctx);
        let interrupt = ctx.interrupt_handle();
        let shared = Arc::new(Shared {
            ctx,
            memory,
            engine: self.engine.clone(),
            pre: OnceLock::new(),
            max_threads: self.max_threads,
            live: AtomicU32::new(0),
            next_tid: AtomicU32::new(1),
            ended: AtomicBool::new(false),
            outcome: Mutex::new(None),
            done: Condvar::new(),
            interrupt,
        });
        let main = shared.new_store(0);
        let mut linker = self.linker.clone();
        linker.allow_shadowing(true);
        linker.define(&main, &mem_module, &mem_name, shared.memory.clone())?;
        let pre = linker.instantiate_pre(&self.module)?;
        let _ = shared.pre.set(pre);
        Ok(ThreadedGuest {
            shared,
            main: Some(main),
        })
    }
}

/// The module needs more memory than the cap allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryTooSmall {
    /// The bytes of memory the module starts with.
    pub needed: u64,
}

impl std::fmt::Display for MemoryTooSmall {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the module's shared memory starts at {} bytes, above the memory limit",
            self.needed
        )
    }
}

impl std::error::Error for MemoryTooSmall {}

/// A wasi-threads guest ready to run (see the [module docs](self)).
pub struct ThreadedGuest {
    shared: Arc<Shared>,
    /// The main thread's store, until [`ThreadedGuest::run`].
    main: Option<Store<ThreadData>>,
}

impl std::fmt::Debug for ThreadedGuest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ThreadedGuest").finish_non_exhaustive()
    }
}

impl ThreadedGuest {
    /// A builder for running `module` (a wasi-threads module, see
    /// [`is_threaded`]) on `engine`, with every WASI function and
    /// `thread-spawn` in its linker. The engine must allow shared memories
    /// (`Config::shared_memory(true)`; [`build`](ThreadedGuestBuilder::build)
    /// fails otherwise) and should have epoch interruption on, so that the
    /// end of the guest also stops threads running wasm code.
    pub fn builder(engine: &Engine, module: &Module) -> ThreadedGuestBuilder {
        let mut linker = Linker::new(engine);
        add_wasi(&mut linker).expect("a fresh linker has no functions yet");
        ThreadedGuestBuilder {
            engine: engine.clone(),
            module: module.clone(),
            linker,
            max_threads: DEFAULT_MAX_THREADS,
            max_memory: None,
        }
    }

    /// A handle that ends the guest from another thread.
    pub fn stopper(&self) -> Stopper {
        Stopper {
            shared: self.shared.clone(),
        }
    }

    /// The shared memory of the guest's threads.
    pub fn memory(&self) -> &SharedMemory {
        &self.shared.memory
    }

    /// The spawned threads alive now.
    pub fn live_threads(&self) -> u32 {
        self.shared.live.load(Ordering::SeqCst)
    }

    /// Runs `_start` on a new OS thread and waits until the guest ends; its
    /// exit code (0 when `_start` returns, else the `proc_exit` code of
    /// whichever thread called it first), or the error that ended it (a
    /// trap in any thread, a [`GuestTrap`], a [`vasi::Stopped`]). Threads
    /// still running then are stopped (see the [module docs](self)); a guest
    /// runs once.
    ///
    /// # Errors
    /// As above; also when no OS thread can be started, or on a second run.
    pub fn run(&mut self) -> wasmtime::Result<i32> {
        let Some(mut main) = self.main.take() else {
            wasmtime::bail!("this guest has run already");
        };
        let shared = self.shared.clone();
        let pre = shared.pre.get().expect("set by build");
        let instance = pre.instantiate(&mut main)?;
        let mut store = main;
        let start = instance.get_typed_func::<(), ()>(&mut store, "_start")?;
        let main = shared.clone();
        std::thread::Builder::new()
            .name("vasi-thread-0".into())
            .spawn(move || {
                let result = start.call(&mut store, ());
                drop(store);
                main.thread_returned(result, true);
            })?;
        let mut outcome = shared.outcome.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            match outcome.take() {
                Some(Outcome::Exit(code)) => return Ok(code),
                Some(Outcome::Error(e)) => return Err(e),
                None => {
                    outcome = shared.done.wait(outcome).unwrap_or_else(|e| e.into_inner());
                }
            }
        }
    }
}

/// Registers every `wasi_snapshot_preview1` function and `wasi::thread-spawn`
/// for the threads of a [`ThreadedGuest`].
fn add_wasi(linker: &mut Linker<ThreadData>) -> wasmtime::Result<()> {
    macro_rules! register {
        ($($name:ident($($arg:ident: $ty:ident),*);)*) => {$(
            linker.func_wrap(
                vasi::p1::MODULE,
                stringify!($name),
                move |caller: Caller<'_, ThreadData>, $($arg: $ty),*| -> wasmtime::Result<i32> {
                    let data = caller.data();
                    let shared = &*data.shared;
                    if shared.ended.load(Ordering::Relaxed) {
                        return Err(ended());
                    }
                    let mut mem = GuestMemory::shared(shared.memory.data());
                    crate::errno(
                        stringify!($name),
                        vasi::shared::dispatch::$name(&shared.ctx, data.tid, &mut mem, $($arg),*),
                    )
                },
            )?;
        )*};
    }
    vasi::for_each_hostcall!(register);
    linker.func_wrap(
        vasi::p1::MODULE,
        "proc_exit",
        move |caller: Caller<'_, ThreadData>, code: i32| -> wasmtime::Result<()> {
            let data = caller.data();
            let shared = &*data.shared;
            let mut mem = GuestMemory::shared(shared.memory.data());
            crate::errno(
                "proc_exit",
                vasi::shared::dispatch::proc_exit(&shared.ctx, data.tid, &mut mem, code),
            )
            .map(drop)
        },
    )?;
    linker.func_wrap(
        SPAWN_MODULE,
        SPAWN_NAME,
        |caller: Caller<'_, ThreadData>, start_arg: i32| -> i32 {
            caller.data().shared.spawn(start_arg)
        },
    )?;
    Ok(())
}

/// The error of a hostcall made after the guest ended (by another thread).
#[cold]
fn ended() -> wasmtime::Error {
    wasmtime::Error::new(GuestTrap {
        call: "wasi",
        message: "the guest has ended (another thread exited or trapped)".into(),
    })
}
