//! `containerd-shim-vasi`: a containerd shim (runtime `io.containerd.vasi.v1`)
//! that runs WASI preview1 containers with vasi on wasmtime.
//!
//! Built on runwasi's `containerd-shim-wasm`: it sets up the container (the
//! namespaces, cgroups and rootfs of the OCI spec) and calls
//! [`Sandbox::run_wasi`] inside it; this crate builds the guest's world there.
//! Unlike runwasi's wasmtime shim, the rootfs is read-only by default, and a
//! container chooses its directories, in-memory scratch, deterministic mode
//! and limits ([`options`]); a vasi bundle runs with its own mounts and
//! configuration; SIGTERM or SIGINT to the container ends a guest blocked in
//! WASI (sleep, stdin, accept) or spinning in wasm code.

use anyhow::{bail, Context, Result};
use containerd_shim_wasm::sandbox::context::{RuntimeContext, Source};
use containerd_shim_wasm::sandbox::Sandbox;
use containerd_shim_wasm::shim::{Shim, Version};
use std::io::{Read, Write};
use std::path::Path;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;
use vasi::vfs::{Dir, HostDir, MemFs, MemFsOptions, ReadOnly};
use vasi::{StopReason, WasiCtx, WasiCtxBuilder};
use vasi_bundle::Bundle;
use wasmtime::{Config, Engine, Linker, Module, Store, StoreLimits, StoreLimitsBuilder};

pub mod options;

pub use options::{Options, RootfsMode, CONFIG_LAYER};

/// The media type of a layer holding a vasi bundle (`vasi pack`). A bundle is
/// also recognised in a plain wasm layer or a rootfs file: it is a wasm
/// module with a `vasi.bundle` section.
pub const BUNDLE_LAYER: &str = "application/vnd.vasi.bundle.v1+wasm";

/// The exit code of a guest that trapped (as `wasmtime run`: 128 + SIGABRT).
pub const EXIT_TRAP: i32 = 134;
/// The exit code of a guest that ran out of fuel (as `vasi run`).
pub const EXIT_FUEL: i32 = 123;
/// The exit code of a guest that ran past its timeout (as `vasi run`).
pub const EXIT_TIMEOUT: i32 = 124;
/// The exit code of a guest stopped at its open-files cap (as `vasi run`).
pub const EXIT_OPEN_FILES: i32 = 122;

/// The shim: its name and the layer types it takes from an image.
pub struct VasiShim;

/// Runs one container's guest.
#[derive(Default)]
pub struct VasiSandbox;

impl Shim for VasiShim {
    type Sandbox = VasiSandbox;

    fn name() -> &'static str {
        "vasi"
    }

    fn version() -> Version {
        containerd_shim_wasm::shim::version!()
    }

    fn supported_layers_types() -> &'static [&'static str] {
        &[
            "application/vnd.bytecodealliance.wasm.component.layer.v0+wasm",
            "application/wasm",
            BUNDLE_LAYER,
            CONFIG_LAYER,
        ]
    }
}

impl Sandbox for VasiSandbox {
    async fn run_wasi(&self, ctx: &impl RuntimeContext) -> Result<i32> {
        // Inside the container: `/` is its rootfs, fds 0-2 its stdio.
        let job = Job::from_context(ctx)?;
        let code = job.run(Path::new("/"), Stdio::Inherit, true);
        // The guest's output must be out before the process exits.
        let _ = std::io::stdout().flush();
        let _ = std::io::stderr().flush();
        code
    }
}

/// The guest's standard streams.
pub enum Stdio {
    /// The process's own (the container's).
    Inherit,
    /// Given streams (for tests).
    Given {
        /// The guest's stdin.
        stdin: Box<dyn Read + Send>,
        /// The guest's stdout.
        stdout: Box<dyn Write + Send>,
        /// The guest's stderr.
        stderr: Box<dyn Write + Send>,
    },
}

/// Everything a run needs, read from the container's spec and image.
pub struct Job {
    /// The module's bytes (a bundle's included).
    pub module: Vec<u8>,
    /// The function to call (`_start` unless the entry point says `#name`).
    pub func: String,
    /// The guest's arguments, argv0 first.
    pub args: Vec<String>,
    /// The guest's environment, without the `VASI_*` options.
    pub env: Vec<(String, String)>,
    /// The vasi options (config layer, then environment).
    pub options: Options,
}

impl Job {
    /// Reads the module, the arguments, the environment and the options
    /// from the container's runtime context.
    pub fn from_context(ctx: &impl RuntimeContext) -> Result<Job> {
        let entry = ctx.entrypoint();
        let mut options = Options::default();
        let module = match &entry.source {
            Source::File(_) => entry.source.as_bytes()?.into_owned(),
            Source::Oci(layers) => {
                let mut modules = Vec::new();
                for layer in layers.iter() {
                    let ty = layer.config.media_type().to_string();
                    if ty == CONFIG_LAYER {
                        options.merge(Options::from_json(&layer.layer)?);
                    } else if layer.precompiled {
                        bail!("precompiled layers are not supported by the vasi shim");
                    } else {
                        modules.push(&layer.layer);
                    }
                }
                match modules.as_slice() {
                    [one] => one.to_vec(),
                    [] => bail!("the image has no wasm layer"),
                    _ => bail!("the image has {} wasm layers; vasi runs one", modules.len()),
                }
            }
        };
        let (from_env, env) = Options::from_env(ctx.envs())?;
        options.merge(from_env);
        Ok(Job {
            module,
            func: entry.func,
            args: ctx.args().to_vec(),
            env,
            options,
        })
    }

    /// Runs the guest with `root` as the container's root filesystem; returns
    /// its exit code. With `signals`, SIGTERM and SIGINT end the guest (exit
    /// code 128 + the signal).
    pub fn run(self, root: &Path, stdio: Stdio, signals: bool) -> Result<i32> {
        let src: Arc<Vec<u8>> = Arc::new(self.module);
        let bundle = Bundle::parse_optional(src.clone()).context("bad vasi bundle")?;
        let o = &self.options;
        let mut b = WasiCtxBuilder::new();
        let rootfs = o.rootfs.unwrap_or(if bundle.is_some() {
            RootfsMode::None
        } else {
            RootfsMode::Ro
        });
        let open = |path: &Path| -> Result<Arc<dyn Dir>> {
            let dir = HostDir::open_ambient(path)
                .with_context(|| format!("cannot open {}", path.display()))?;
            Ok(Arc::new(dir))
        };
        match rootfs {
            RootfsMode::Ro => {
                b.preopen_dir(Arc::new(ReadOnly::new(open(root)?)), "/");
            }
            RootfsMode::Rw => {
                b.preopen_dir(open(root)?, "/");
            }
            RootfsMode::None => {}
        }
        // A bundle's world (argv0, args, env, mounts) goes under the
        // container's: its args first, the container's env over its env.
        // Without one, argv0 is the entry point as the spec gives it.
        match &bundle {
            Some(bundle) => {
                bundle.apply(&mut b);
            }
            None => {
                b.arg(self.args.first().cloned().unwrap_or_default());
            }
        }
        b.args(self.args.iter().skip(1).cloned());
        for (k, v) in &self.env {
            b.env(k.clone(), v.clone());
        }
        for d in &o.dirs {
            let inside = d.path.as_deref().unwrap_or(&d.guest);
            let host = root.join(inside.trim_start_matches('/'));
            let dir = open(&host)?;
            let dir = if d.writable {
                dir
            } else {
                Arc::new(ReadOnly::new(dir))
            };
            b.preopen_dir(dir, d.guest.clone());
        }
        let clock = o
            .deterministic
            .map(|_| Arc::new(vasi::clocks::DeterministicClocks::new()));
        for s in &o.scratch {
            let fs = MemFs::with_options(MemFsOptions {
                bytes: s.size.unwrap_or(MemFs::DEFAULT_QUOTA),
                clock: clock.clone().map(|c| c as Arc<dyn vasi::clocks::Clocks>),
                ..MemFsOptions::default()
            });
            b.preopen_dir(fs.root(), s.guest.clone());
        }
        for addr in &o.listen {
            let l = std::net::TcpListener::bind(addr.as_str())
                .with_context(|| format!("cannot listen on {addr}"))?;
            b.preopen_listener(l);
        }
        if rootfs != RootfsMode::None {
            mask_kernel_filesystems(&mut b, root);
        }
        if let (Some(seed), Some(clock)) = (o.deterministic, clock) {
            b.clocks(clock)
                .random(vasi::random::SeededRandom::new(seed));
        }
        let config = bundle.as_ref().map(|b| b.config().clone());
        let max_open_files = o
            .max_open_files
            .or(config.as_ref().and_then(|c| c.max_open_files));
        if let Some(n) = max_open_files {
            b.max_open_files(n).stop_at_open_files_limit(true);
        }
        match stdio {
            Stdio::Inherit => {
                b.inherit_stdio();
            }
            Stdio::Given {
                stdin,
                stdout,
                stderr,
            } => {
                b.stdin(stdin).stdout(stdout).stderr(stderr);
            }
        }
        let wasi = b.build()?;
        // A bundle's `vasi_globals_v1` values.
        let globals = vasi_globals::Globals::new();
        for (name, value) in config.iter().flat_map(|c| &c.globals) {
            globals
                .set(name, *value)
                .with_context(|| format!("the bundle's global {name}"))?;
        }

        let fuel = o.fuel.or(config.as_ref().and_then(|c| c.fuel));
        let timeout = o.timeout().or(config.as_ref().and_then(|c| c.timeout));
        let max_memory = o.max_memory.or(config.as_ref().and_then(|c| c.max_memory));
        let mut cfg = Config::new();
        cfg.epoch_interruption(true).consume_fuel(fuel.is_some());
        let engine = Engine::new(&cfg)?;
        let module = Module::new(&engine, src.as_slice())?;
        run_module(
            &engine,
            &module,
            &self.func,
            wasi,
            globals,
            Limits {
                fuel,
                timeout,
                max_memory,
            },
            signals,
        )
    }
}

/// What the engine enforces.
struct Limits {
    fuel: Option<u64>,
    timeout: Option<Duration>,
    max_memory: Option<u64>,
}

struct State {
    wasi: WasiCtx,
    globals: vasi_globals::Globals,
    limits: StoreLimits,
}

/// The signal that ended the guest (0: none yet).
static SIGNALLED: AtomicI32 = AtomicI32::new(0);

fn run_module(
    engine: &Engine,
    module: &Module,
    func: &str,
    wasi: WasiCtx,
    globals: vasi_globals::Globals,
    limits: Limits,
    signals: bool,
) -> Result<i32> {
    let mut linker: Linker<State> = Linker::new(engine);
    vasi_wasmtime::add_to_linker_for(&mut linker, module, |s: &mut State| &mut s.wasi)?;
    vasi_globals::wasmtime::add_to_linker_for(&mut linker, module, |s: &mut State| &s.globals)?;
    let interrupt = wasi.interrupt_handle();
    let mut store_limits = StoreLimitsBuilder::new();
    if let Some(max) = limits.max_memory {
        store_limits = store_limits.memory_size(usize::try_from(max).unwrap_or(usize::MAX));
    }
    let mut store = Store::new(
        engine,
        State {
            wasi,
            globals,
            limits: store_limits.build(),
        },
    );
    store.limiter(|s| &mut s.limits);
    store.set_epoch_deadline(1);
    store.epoch_deadline_trap();
    if let Some(fuel) = limits.fuel {
        store.set_fuel(fuel)?;
    }
    // One watcher ends the guest, in wasm code (the epoch) and in blocking
    // hostcalls (the interrupt handle): on SIGTERM/SIGINT, or at the timeout.
    let (done, finished) = mpsc::channel::<()>();
    let mut handle = None;
    if signals {
        let mut sigs = signal_hook::iterator::Signals::new([
            signal_hook::consts::SIGTERM,
            signal_hook::consts::SIGINT,
        ])?;
        handle = Some(sigs.handle());
        let (engine, interrupt) = (engine.clone(), interrupt.clone());
        std::thread::spawn(move || {
            if let Some(sig) = sigs.forever().next() {
                SIGNALLED.store(sig, Ordering::SeqCst);
                engine.increment_epoch();
                interrupt.interrupt();
            }
        });
    }
    let timed_out = Arc::new(std::sync::atomic::AtomicBool::new(false));
    if let Some(timeout) = limits.timeout {
        let (engine, interrupt, timed_out) = (engine.clone(), interrupt.clone(), timed_out.clone());
        std::thread::spawn(move || {
            if let Err(mpsc::RecvTimeoutError::Timeout) = finished.recv_timeout(timeout) {
                timed_out.store(true, Ordering::SeqCst);
                engine.increment_epoch();
                interrupt.interrupt();
            }
        });
    }
    let result = (|| {
        let instance = linker.instantiate(&mut store, module)?;
        let f = instance.get_func(&mut store, func).ok_or_else(|| {
            wasmtime::Error::msg(format!("the module exports no function `{func}`"))
        })?;
        vasi_wasmtime::exit_code(f.call(&mut store, &[], &mut []))
    })();
    drop(done);
    if let Some(h) = handle {
        h.close();
    }
    let e = match result {
        Ok(code) => return Ok(code),
        Err(e) => e,
    };
    let sig = SIGNALLED.load(Ordering::SeqCst);
    if sig != 0 {
        return Ok(128 + sig);
    }
    if timed_out.load(Ordering::SeqCst) {
        eprintln!("vasi: the guest ran past its timeout");
        return Ok(EXIT_TIMEOUT);
    }
    if let Some(stop) = e.downcast_ref::<vasi::Stopped>() {
        if stop.reason() == StopReason::OpenFilesLimit {
            eprintln!("vasi: {stop}");
            return Ok(EXIT_OPEN_FILES);
        }
    }
    if let Some(wasmtime::Trap::OutOfFuel) = e.downcast_ref::<wasmtime::Trap>() {
        eprintln!("vasi: the guest ran out of fuel");
        return Ok(EXIT_FUEL);
    }
    eprintln!("vasi: {e:?}");
    Ok(EXIT_TRAP)
}

/// The kernel's filesystems a container runtime mounts inside the rootfs.
/// `/proc` would hand the guest the shim's own process: its memory
/// (`/proc/self/mem`, which holds the host's side of the sandbox), its
/// environment and its descriptors; `/sys`, the machine's devices and
/// cgroups. Neither is part of an image, and a wasm guest has no use for
/// them, so each one the rootfs has is covered by an empty read-only
/// directory, mounted without a descriptor of its own (the guest's preopens
/// are as before). `/dev` stays: it holds nothing of the host process
/// (`/dev/null` and the like).
const MASKED: &[&str] = &["proc", "sys"];

fn mask_kernel_filesystems(b: &mut WasiCtxBuilder, root: &Path) {
    for name in MASKED {
        if root.join(name).is_dir() {
            let empty = MemFs::new();
            b.mount_dir(Arc::new(ReadOnly::new(empty.root())), format!("/{name}"));
        }
    }
}
