//! Dense hosting: many short- or long-lived guests of a few modules in one
//! process, each with a world of its own, at a small cost per instance.
//!
//! Three pieces, each made once and shared by every instance:
//!
//! - [`DenseHost`]: a wasmtime [`Engine`] on the pooling instance allocator,
//!   with memory reservations capped so that thousands of live instances fit
//!   in the address space (wasmtime's default reserves 4 GiB plus guards per
//!   linear memory). Its knobs are in [`DenseConfig`].
//! - [`DenseModule`]: a module compiled once and linked once with vasi, kept
//!   as an [`InstancePre`]; [`DenseModule::instantiate`] only allocates a pool
//!   slot and a `Store`.
//! - [`Template`]: what every instance's [`WasiCtx`] has in common (arguments,
//!   environment, mounts) and a filesystem *image* shared read-only by all of
//!   them. Each instance sees the image through its own copy-on-write layer (a
//!   [`vasi::vfs::Overlay`] over a fresh, quota-capped [`MemFs`]): it may
//!   change anything, no other instance sees the change, the image never
//!   changes, and no byte of it is copied until an instance writes that file.
//!
//! [`DenseInstance`] holds one live guest; dropping it returns its slot to
//! the pool. Past [`DenseConfig::max_instances`] live instances,
//! instantiation fails with [`PoolFull`] (and succeeds again once one is
//! dropped).
//!
//! # Example: an instance per request
//!
//! ```
//! use vasi::CaptureBuffer;
//! use vasi::vfs::MemFs;
//! use vasi_wasmtime::dense::{DenseConfig, DenseHost, Template};
//!
//! // The guest copies stdin (the request) to stdout (the response).
//! let wat = r#"(module
//!   (import "wasi_snapshot_preview1" "fd_read" (func $r (param i32 i32 i32 i32) (result i32)))
//!   (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
//!   (memory (export "memory") 1)
//!   (data (i32.const 0) "\10\00\00\00\00\01\00\00")
//!   (func (export "_start")
//!     (drop (call $r (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 4)))
//!     (drop (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))"#;
//! let host = DenseHost::new(&DenseConfig::default().max_instances(100))?;
//! let module = host.compile(wat.as_bytes())?;
//! let image = MemFs::new();
//! image.write("etc/greeting", b"hello")?;
//! let mut template = Template::new();
//! template.arg("echo").image(image.root(), "/");
//! for request in ["one", "two"] {
//!     let response = CaptureBuffer::new();
//!     let mut ctx = template.builder();
//!     ctx.stdin(std::io::Cursor::new(request.as_bytes().to_vec()))
//!         .stdout(response.clone());
//!     let mut guest = module.instantiate(ctx.build()?)?;
//!     assert_eq!(guest.run()?, 0);
//!     assert_eq!(response.to_string_lossy(), request);
//! } // each guest is dropped here: its pool slot is reused by the next one
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use vasi::vfs::{Dir, MemFs, MemFsOptions, Overlay};
use vasi::{WasiCtx, WasiCtxBuilder};
use wasmtime::{
    Config, Engine, InstanceAllocationStrategy, InstancePre, Linker, Module,
    PoolingAllocationConfig, Store,
};

/// The knobs of a [`DenseHost`]'s engine. The defaults suit preview1 guests
/// compiled from Rust, C or Go (a linear memory of a few MiB, one table of a
/// few thousand entries) at up to a thousand live instances; every setter
/// documents its default.
///
/// The address space a host reserves up front is about
/// `max_instances × (memory_reservation + 2 × memory_guard_size)`: 1,000 ×
/// (64 MiB + 128 KiB), about 63 GiB, by default, out of the 128 TiB a 64-bit
/// Linux process has. Only the pages guests touch become resident.
///
/// ```
/// use vasi_wasmtime::dense::DenseConfig;
/// let config = DenseConfig::default()
///     .max_instances(10_000)
///     .max_memory_size(16 << 20);
/// assert_eq!(config.reserved_address_space(), 10_000 * ((16 << 20) + 2 * (64 << 10)));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DenseConfig {
    max_instances: u32,
    max_memory_size: usize,
    memory_reservation: Option<u64>,
    memory_guard_size: u64,
    table_elements: usize,
    max_core_instance_size: usize,
    max_unused_warm_slots: u32,
    linear_memory_keep_resident: usize,
}

impl Default for DenseConfig {
    fn default() -> Self {
        DenseConfig {
            max_instances: 1_000,
            max_memory_size: 64 << 20,
            memory_reservation: None,
            memory_guard_size: 64 << 10,
            table_elements: 20_000,
            max_core_instance_size: 1 << 20,
            max_unused_warm_slots: 100,
            linear_memory_keep_resident: 0,
        }
    }
}

impl DenseConfig {
    /// The most instances alive at once (default 1,000): the pool has this
    /// many instance, memory and table slots, and
    /// [`DenseModule::instantiate`] fails with [`PoolFull`] beyond it.
    pub fn max_instances(mut self, n: u32) -> Self {
        self.max_instances = n;
        self
    }

    /// The most bytes a guest's linear memory may hold (default 64 MiB): a
    /// `memory.grow` beyond it fails (returns -1, as the guest's allocator
    /// expects), and a module whose memory starts bigger is rejected by
    /// [`DenseHost::compile`]. A module may have one memory and one table.
    pub fn max_memory_size(mut self, bytes: usize) -> Self {
        self.max_memory_size = bytes;
        self
    }

    /// The address space reserved per linear memory (default: the
    /// [`max_memory_size`](Self::max_memory_size), the least it may be).
    /// Below 4 GiB, compiled code checks memory accesses against the
    /// memory's bounds explicitly (a few percent slower on memory-heavy
    /// code); 4 GiB plus a 32 MiB guard removes the checks but limits a
    /// process to about 30,000 memories.
    pub fn memory_reservation(mut self, bytes: u64) -> Self {
        self.memory_reservation = Some(bytes);
        self
    }

    /// The inaccessible bytes after (and before) each linear memory (default
    /// 64 KiB): an access past the end traps there; a larger guard lets the
    /// compiler merge bounds checks.
    pub fn memory_guard_size(mut self, bytes: u64) -> Self {
        self.memory_guard_size = bytes;
        self
    }

    /// The most elements a module's table may hold (default 20,000, as in
    /// wasmtime).
    pub fn table_elements(mut self, n: usize) -> Self {
        self.table_elements = n;
        self
    }

    /// The most bytes of wasmtime's own per-instance state (default 1 MiB,
    /// as in wasmtime; it grows with a module's functions and globals).
    pub fn max_core_instance_size(mut self, bytes: usize) -> Self {
        self.max_core_instance_size = bytes;
        self
    }

    /// How many freed slots keep their pages for the next instance (default
    /// 100, as in wasmtime).
    pub fn max_unused_warm_slots(mut self, n: u32) -> Self {
        self.max_unused_warm_slots = n;
        self
    }

    /// How many bytes of a freed memory slot are zeroed in place instead of
    /// given back to the kernel (default 0: all given back). A few hundred
    /// KiB speeds up instance-per-request loops at the cost of resident
    /// memory per idle slot.
    pub fn linear_memory_keep_resident(mut self, bytes: usize) -> Self {
        self.linear_memory_keep_resident = bytes;
        self
    }

    /// The address space reserved per memory slot.
    fn reservation(&self) -> u64 {
        let max = u64::try_from(self.max_memory_size).unwrap_or(u64::MAX);
        self.memory_reservation.unwrap_or(max).max(max)
    }

    /// About how much address space the pool's memories reserve:
    /// `max_instances × (reservation + 2 × guard)`.
    pub fn reserved_address_space(&self) -> u64 {
        u64::from(self.max_instances)
            .saturating_mul(self.reservation() + 2 * self.memory_guard_size)
    }

    /// The wasmtime configuration these knobs make, for an embedder that
    /// wants to change more of it before [`DenseHost::with_config`].
    pub fn wasmtime_config(&self) -> Config {
        let n = self.max_instances;
        let mut pool = PoolingAllocationConfig::default();
        pool.total_core_instances(n)
            .total_memories(n)
            .total_tables(n)
            .max_memories_per_module(1)
            .max_tables_per_module(1)
            .max_memory_size(self.max_memory_size)
            .table_elements(self.table_elements)
            .max_core_instance_size(self.max_core_instance_size)
            .max_unused_warm_slots(self.max_unused_warm_slots.min(n))
            .linear_memory_keep_resident(self.linear_memory_keep_resident);
        let mut config = Config::new();
        config
            .allocation_strategy(InstanceAllocationStrategy::Pooling(pool))
            .memory_reservation(self.reservation())
            .memory_guard_size(self.memory_guard_size)
            .memory_reservation_for_growth(0)
            // Data segments are mapped copy-on-write from one image per module.
            .memory_init_cow(true);
        config
    }
}

/// A live [`DenseInstance`] beyond [`DenseConfig::max_instances`] was asked
/// for. Returned (inside a [`wasmtime::Error`], see
/// [`downcast_ref`](wasmtime::Error::downcast_ref)) by
/// [`DenseModule::instantiate`]; dropping an instance frees its slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolFull {
    /// The pool's size.
    pub max_instances: u32,
}

impl fmt::Display for PoolFull {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "all {} instance slots of the dense host are in use (drop an instance or raise \
             DenseConfig::max_instances)",
            self.max_instances
        )
    }
}

impl std::error::Error for PoolFull {}

/// Counts live instances against the pool's size.
#[derive(Debug)]
struct Slots {
    live: AtomicU32,
    max: u32,
}

/// One live instance's claim on a slot; gives it back when dropped.
struct SlotGuard(Arc<Slots>);

impl SlotGuard {
    fn take(slots: &Arc<Slots>) -> Result<SlotGuard, PoolFull> {
        slots
            .live
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < slots.max).then_some(n + 1)
            })
            .map(|_| SlotGuard(slots.clone()))
            .map_err(|_| PoolFull {
                max_instances: slots.max,
            })
    }
}

impl Drop for SlotGuard {
    fn drop(&mut self) {
        self.0.live.fetch_sub(1, Ordering::AcqRel);
    }
}

/// An engine for many instances: the pooling allocator sized by a
/// [`DenseConfig`]. Cheap to clone (clones share the engine and the pool).
/// See the [module docs](self) for an example.
#[derive(Clone)]
pub struct DenseHost {
    engine: Engine,
    slots: Arc<Slots>,
}

impl fmt::Debug for DenseHost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DenseHost")
            .field("live", &self.live_instances())
            .field("max_instances", &self.slots.max)
            .finish()
    }
}

impl DenseHost {
    /// A host with `config`'s pool. Reserves the pool's address space (see
    /// [`DenseConfig::reserved_address_space`]) now.
    ///
    /// # Errors
    /// wasmtime rejects the configuration, or cannot reserve the address
    /// space.
    pub fn new(config: &DenseConfig) -> wasmtime::Result<DenseHost> {
        Self::with_config(config, &config.wasmtime_config())
    }

    /// Like [`new`](Self::new), with a wasmtime configuration of the
    /// embedder's (typically [`DenseConfig::wasmtime_config`] changed
    /// further: fuel, epochs, a compilation cache). `dense` gives the pool's
    /// size for [`PoolFull`].
    ///
    /// # Errors
    /// As [`new`](Self::new).
    pub fn with_config(dense: &DenseConfig, config: &Config) -> wasmtime::Result<DenseHost> {
        Ok(DenseHost {
            engine: Engine::new(config)?,
            slots: Arc::new(Slots {
                live: AtomicU32::new(0),
                max: dense.max_instances,
            }),
        })
    }

    /// The engine, to compile modules or link extra host functions with.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// How many [`DenseInstance`]s are alive.
    pub fn live_instances(&self) -> u32 {
        self.slots.live.load(Ordering::Acquire)
    }

    /// Compiles `wasm` (binary, or text with wasmtime's `wat` feature) and
    /// links it with vasi, once for all its instances.
    ///
    /// # Errors
    /// The module is invalid, does not fit the pool's limits (a memory
    /// that starts above [`DenseConfig::max_memory_size`], more than one
    /// memory or table), or imports something other than
    /// `wasi_snapshot_preview1`.
    pub fn compile(&self, wasm: &[u8]) -> wasmtime::Result<DenseModule> {
        self.module(&Module::new(&self.engine, wasm)?)
    }

    /// Links an already compiled `module` (compiled by this host's
    /// [`engine`](Self::engine), or deserialized with it) with vasi.
    ///
    /// # Errors
    /// As [`compile`](Self::compile).
    pub fn module(&self, module: &Module) -> wasmtime::Result<DenseModule> {
        let mut linker = Linker::new(&self.engine);
        crate::add_to_linker_for(&mut linker, module, |ctx: &mut WasiCtx| ctx)?;
        self.module_with(&linker, module)
    }

    /// Like [`module`](Self::module), with the embedder's own linker and
    /// store data `T` (vasi added with [`add_to_linker_for`](crate::add_to_linker_for),
    /// plus any host functions of the embedder's).
    ///
    /// ```
    /// use vasi::WasiCtx;
    /// use vasi_wasmtime::dense::{DenseConfig, DenseHost, Template};
    /// use wasmtime::{Caller, Linker, Module};
    ///
    /// struct Tenant {
    ///     wasi: WasiCtx,
    ///     calls: u32,
    /// }
    /// let host = DenseHost::new(&DenseConfig::default().max_instances(10))?;
    /// let module = Module::new(host.engine(), r#"(module
    ///     (import "app" "tick" (func $tick))
    ///     (memory (export "memory") 1)
    ///     (func (export "_start") (call $tick) (call $tick)))"#)?;
    /// let mut linker = Linker::new(host.engine());
    /// vasi_wasmtime::add_to_linker_for(&mut linker, &module, |t: &mut Tenant| &mut t.wasi)?;
    /// linker.func_wrap("app", "tick", |mut c: Caller<'_, Tenant>| c.data_mut().calls += 1)?;
    /// let module = host.module_with(&linker, &module)?;
    /// let template = Template::new();
    /// let mut guest = module.instantiate(Tenant { wasi: template.build()?, calls: 0 })?;
    /// assert_eq!(guest.run()?, 0);
    /// assert_eq!(guest.store().data().calls, 2);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// An import of `module` is not in `linker`.
    pub fn module_with<T: 'static>(
        &self,
        linker: &Linker<T>,
        module: &Module,
    ) -> wasmtime::Result<DenseModule<T>> {
        Ok(DenseModule {
            pre: linker.instantiate_pre(module)?,
            slots: self.slots.clone(),
        })
    }
}

/// A module compiled and linked once, ready for many instances (an
/// [`InstancePre`]). Cheap to clone; may be shared across threads.
pub struct DenseModule<T: 'static = WasiCtx> {
    pre: InstancePre<T>,
    slots: Arc<Slots>,
}

impl<T: 'static> Clone for DenseModule<T> {
    fn clone(&self) -> Self {
        DenseModule {
            pre: self.pre.clone(),
            slots: self.slots.clone(),
        }
    }
}

impl<T: 'static> fmt::Debug for DenseModule<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DenseModule")
            .field("name", &self.pre.module().name())
            .finish_non_exhaustive()
    }
}

impl<T: 'static> DenseModule<T> {
    /// The compiled module.
    pub fn module(&self) -> &Module {
        self.pre.module()
    }

    /// A new instance with `data` as its store's data (for the default `T`,
    /// a [`WasiCtx`], typically from [`Template::build`]). Runs the module's
    /// start function, not `_start`: see [`DenseInstance::run`].
    ///
    /// # Errors
    /// [`PoolFull`] when [`DenseConfig::max_instances`] instances are alive;
    /// wasmtime's error if instantiation fails (a trap in the start
    /// function).
    pub fn instantiate(&self, data: T) -> wasmtime::Result<DenseInstance<T>> {
        let slot = SlotGuard::take(&self.slots).map_err(wasmtime::Error::new)?;
        let mut store = Store::new(self.pre.module().engine(), data);
        let instance = self.pre.instantiate(&mut store)?;
        Ok(DenseInstance {
            store,
            instance,
            _slot: slot,
        })
    }
}

/// One live guest. Dropping it frees its pool slot.
pub struct DenseInstance<T: 'static = WasiCtx> {
    // Dropped before the slot guard: the pool slot is free once the count
    // says so.
    store: Store<T>,
    instance: wasmtime::Instance,
    _slot: SlotGuard,
}

impl<T: 'static> fmt::Debug for DenseInstance<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DenseInstance").finish_non_exhaustive()
    }
}

impl<T: 'static> DenseInstance<T> {
    /// Calls the guest's `_start` (a WASI command's `main`) and returns its
    /// exit code: 0 if it returned, the code it passed to `proc_exit`
    /// otherwise (see [`exit_code`](crate::exit_code)).
    ///
    /// # Errors
    /// The guest exports no `_start`, or trapped, or was stopped by the host
    /// ([`vasi::Stopped`]).
    pub fn run(&mut self) -> wasmtime::Result<i32> {
        let start = self
            .instance
            .get_typed_func::<(), ()>(&mut self.store, "_start")?;
        crate::exit_code(start.call(&mut self.store, ()))
    }

    /// The store, to call other exports, set fuel or read its data.
    pub fn store(&mut self) -> &mut Store<T> {
        &mut self.store
    }

    /// The instance, to look up its exports.
    pub fn instance(&self) -> wasmtime::Instance {
        self.instance
    }
}

/// A mount of a [`Template`].
#[derive(Clone)]
enum Mount {
    /// The same directory for every instance.
    Shared(Arc<dyn Dir>, String),
    /// The image under a private copy-on-write layer.
    Image(Arc<dyn Dir>, String),
    /// A fresh empty `MemFs` per instance.
    Scratch(String),
}

/// What every instance's [`WasiCtx`] has in common, and the filesystem image
/// they share. Building a context from it copies the argument and
/// environment strings and allocates one small [`MemFs`] and [`Overlay`] per
/// image mount; the image itself is shared.
///
/// ```
/// use vasi::vfs::MemFs;
/// use vasi_wasmtime::dense::Template;
/// let image = MemFs::new();
/// image.write("tmp/seed", b"from the image")?;
/// let mut t = Template::new();
/// t.image(image.root(), "/").scratch_quota(1 << 20, 1_000);
/// let (a, b) = (t.build()?, t.build()?);
/// # drop((a, b));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Template {
    args: Vec<String>,
    env: Vec<(String, String)>,
    mounts: Vec<Mount>,
    scratch: MemFsOptions,
    max_open_files: u32,
    configure: Vec<Configure>,
}

/// A [`Template::configure`] step.
type Configure = Arc<dyn Fn(&mut WasiCtxBuilder) + Send + Sync>;

impl fmt::Debug for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Template")
            .field("args", &self.args)
            .field("mounts", &self.mounts.len())
            .field("scratch", &self.scratch)
            .finish_non_exhaustive()
    }
}

impl Default for Template {
    fn default() -> Self {
        Self::new()
    }
}

impl Template {
    /// The byte quota of each instance's private layer by default: 16 MiB.
    pub const DEFAULT_SCRATCH_BYTES: u64 = 16 << 20;
    /// The inode quota of each instance's private layer by default: 4,096.
    pub const DEFAULT_SCRATCH_INODES: u64 = 4_096;
    /// The open-descriptor cap of each instance by default: 128.
    pub const DEFAULT_MAX_OPEN_FILES: u32 = 128;

    /// An empty template: no arguments, environment or mounts; private
    /// layers of [`DEFAULT_SCRATCH_BYTES`](Self::DEFAULT_SCRATCH_BYTES) and
    /// [`DEFAULT_SCRATCH_INODES`](Self::DEFAULT_SCRATCH_INODES).
    pub fn new() -> Self {
        Template {
            args: Vec::new(),
            env: Vec::new(),
            mounts: Vec::new(),
            scratch: MemFsOptions {
                bytes: Self::DEFAULT_SCRATCH_BYTES,
                inodes: Self::DEFAULT_SCRATCH_INODES,
                clock: None,
            },
            max_open_files: Self::DEFAULT_MAX_OPEN_FILES,
            configure: Vec::new(),
        }
    }

    /// Appends one argument (the first is conventionally the program name).
    pub fn arg(&mut self, arg: impl Into<String>) -> &mut Self {
        self.args.push(arg.into());
        self
    }

    /// Appends arguments.
    pub fn args<S: Into<String>>(&mut self, args: impl IntoIterator<Item = S>) -> &mut Self {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// Sets an environment variable.
    pub fn env(&mut self, name: impl Into<String>, value: impl Into<String>) -> &mut Self {
        self.env.push((name.into(), value.into()));
        self
    }

    /// Mounts `image` at `guest_path` in every instance, each behind its own
    /// copy-on-write layer: an instance may create, change and delete
    /// anything there, only it sees the change, and `image` is never
    /// written. `image` (a [`MemFs`] or `TarFs` root, a `HostDir`, any
    /// [`Dir`]) must not change while instances use it.
    pub fn image(&mut self, image: Arc<dyn Dir>, guest_path: impl Into<String>) -> &mut Self {
        self.mounts.push(Mount::Image(image, guest_path.into()));
        self
    }

    /// Mounts `dir` at `guest_path` in every instance *as it is*: what one
    /// instance writes there, the others see. For data meant to be shared,
    /// or read-only data (wrap it in [`vasi::vfs::ReadOnly`]).
    pub fn shared_mount(&mut self, dir: Arc<dyn Dir>, guest_path: impl Into<String>) -> &mut Self {
        self.mounts.push(Mount::Shared(dir, guest_path.into()));
        self
    }

    /// Mounts a fresh, empty in-memory directory at `guest_path` in each
    /// instance, with the private layers' quotas.
    pub fn scratch(&mut self, guest_path: impl Into<String>) -> &mut Self {
        self.mounts.push(Mount::Scratch(guest_path.into()));
        self
    }

    /// The quotas of each instance's private layer (and
    /// [`scratch`](Self::scratch) mounts): at most `bytes` of file contents
    /// and `inodes` files, directories and symlinks (copied-up image files
    /// included); beyond them writes fail with `ENOSPC`.
    pub fn scratch_quota(&mut self, bytes: u64, inodes: u64) -> &mut Self {
        self.scratch.bytes = bytes;
        self.scratch.inodes = inodes;
        self
    }

    /// Caps each instance's open descriptors (default
    /// [`DEFAULT_MAX_OPEN_FILES`](Self::DEFAULT_MAX_OPEN_FILES)).
    pub fn max_open_files(&mut self, max: u32) -> &mut Self {
        self.max_open_files = max;
        self
    }

    /// Runs `f` on every instance's builder after the template's own
    /// settings (for clocks, randomness, hooks, deterministic mode...); steps
    /// run in the order added.
    pub fn configure(
        &mut self,
        f: impl Fn(&mut WasiCtxBuilder) + Send + Sync + 'static,
    ) -> &mut Self {
        self.configure.push(Arc::new(f));
        self
    }

    /// A builder with the template applied and fresh private layers, for the
    /// caller to add per-instance settings (stdin, stdout...) before
    /// [`build`](WasiCtxBuilder::build). Built contexts promise one instance
    /// per context ([`WasiCtxBuilder::single_instance`]), as
    /// [`DenseModule::instantiate`] keeps.
    pub fn builder(&self) -> WasiCtxBuilder {
        let mut b = WasiCtxBuilder::new();
        b.single_instance()
            .args(self.args.iter().cloned())
            .max_open_files(self.max_open_files);
        for (k, v) in &self.env {
            b.env(k.clone(), v.clone());
        }
        for mount in &self.mounts {
            match mount {
                Mount::Shared(dir, path) => b.preopen_dir(dir.clone(), path.clone()),
                Mount::Image(image, path) => {
                    let upper = MemFs::with_options(self.scratch.clone());
                    let overlay = Overlay::new(upper.root(), image.clone());
                    b.preopen_dir(Arc::new(overlay), path.clone())
                }
                Mount::Scratch(path) => b.preopen_dir(
                    MemFs::with_options(self.scratch.clone()).root(),
                    path.clone(),
                ),
            };
        }
        for f in &self.configure {
            f(&mut b);
        }
        b
    }

    /// A context with the template applied: no stdin, stdout and stderr
    /// discarded.
    ///
    /// # Errors
    /// As [`WasiCtxBuilder::build`].
    pub fn build(&self) -> Result<WasiCtx, vasi::BuildError> {
        self.builder().build()
    }
}
