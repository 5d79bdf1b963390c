//! The three wasm hosts on one shared wasmtime `Engine`: vasi on `HostDir`,
//! vasi on `MemFs`, and wasmtime-wasi's own preview1 (`p1`, blocking allowed
//! on the current thread, as `wasmtime run` configures it).
//!
//! Every run builds a fresh context and `Store` and instantiates from an
//! `InstancePre` made once per (host, module), so linking is not counted but
//! everything else of an instance's life is.

use crate::fixtures::Fixtures;
use anyhow::{anyhow, bail, Context as _, Result};
use std::sync::Arc;
use std::time::{Duration, Instant};
use vasi::vfs::{Dir, HostDir};
use wasmtime::{Caller, Engine, InstancePre, Linker, Module, Store};
use wasmtime_wasi::p1::WasiP1Ctx;
use wasmtime_wasi::p2::pipe::SinkOutputStream;

/// The path the fixtures directory is preopened at (fd 3 in every host).
pub(crate) const GUEST_DIR: &str = "/bench";

/// A wasm host.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Host {
    /// wasmtime-wasi 48's preview1, the reference.
    WasmtimeWasi,
    /// vasi with the fixtures in a host directory.
    VasiHostDir,
    /// vasi with the fixtures in a `MemFs`.
    VasiMemFs,
}

impl Host {
    /// Every host, in table order.
    pub(crate) const ALL: [Host; 3] = [Host::WasmtimeWasi, Host::VasiHostDir, Host::VasiMemFs];

    /// The name used on the command line (`--instances <name>`).
    pub(crate) fn name(self) -> &'static str {
        match self {
            Host::WasmtimeWasi => "wasmtime-wasi",
            Host::VasiHostDir => "vasi-hostdir",
            Host::VasiMemFs => "vasi-memfs",
        }
    }

    /// The host named `name`.
    pub(crate) fn from_name(name: &str) -> Option<Host> {
        Host::ALL.into_iter().find(|h| h.name() == name)
    }
}

/// What a guest is given besides its preopen.
#[derive(Default)]
pub(crate) struct GuestEnv {
    /// `argv`, program name first.
    pub(crate) args: Vec<String>,
    /// Environment variables.
    pub(crate) env: Vec<(String, String)>,
}

/// A store's data: the host's WASI context plus what the guest reports
/// through the `vasi_bench` imports.
pub(crate) struct State<W> {
    wasi: W,
    /// The host's clock at each `vasi_bench.mark()`.
    marks: Vec<Instant>,
    /// The values passed to `vasi_bench.check(value)`.
    checks: Vec<u64>,
}

/// The outcome of one guest run.
pub(crate) struct Run {
    /// The time between the guest's two marks.
    pub(crate) elapsed: Duration,
    /// The value the guest reported with `vasi_bench.check`.
    pub(crate) check: u64,
}

/// Both preview1 implementations, linked once, and the guest modules.
pub(crate) struct Hosts {
    vasi_bench: InstancePre<State<vasi::WasiCtx>>,
    vasi_hello: InstancePre<State<vasi::WasiCtx>>,
    wasi_bench: InstancePre<State<WasiP1Ctx>>,
    wasi_hello: InstancePre<State<WasiP1Ctx>>,
    /// The hello module with every import a trap stub.
    bare_hello: InstancePre<()>,
}

impl Hosts {
    /// Compiles the two guest modules on `engine` and links them with both
    /// preview1 implementations.
    pub(crate) fn new(engine: &Engine) -> Result<Hosts> {
        let bench = Module::from_file(engine, env!("BENCH_WASM"))?;
        let hello = Module::from_file(engine, env!("HELLO_WASM"))?;
        let wasi = wasmtime_wasi_linker(engine)?;
        let mut bare = Linker::new(engine);
        bare.define_unknown_imports_as_traps(&hello)?;
        Ok(Hosts {
            bare_hello: bare.instantiate_pre(&hello)?,
            vasi_bench: vasi_linker(engine, &bench)?.instantiate_pre(&bench)?,
            vasi_hello: vasi_linker(engine, &hello)?.instantiate_pre(&hello)?,
            wasi_bench: wasi.instantiate_pre(&bench)?,
            wasi_hello: wasi.instantiate_pre(&hello)?,
        })
    }

    /// Runs the benchmark guest on `host` with a fresh context, store and
    /// instance; returns the time between its marks and its check value.
    pub(crate) fn run_bench(&self, host: Host, fx: &Fixtures, env: &GuestEnv) -> Result<Run> {
        let (marks, checks) = match host {
            Host::WasmtimeWasi => {
                let s = run(&self.wasi_bench, wasmtime_wasi_ctx(fx.dir(), env, true)?)?;
                (s.marks, s.checks)
            }
            Host::VasiHostDir | Host::VasiMemFs => {
                let s = run(&self.vasi_bench, vasi_ctx(preopen(host, fx)?, env, true)?)?;
                (s.marks, s.checks)
            }
        };
        let [start, stop] = marks[..] else {
            bail!("the guest marked {} times instead of 2", marks.len());
        };
        let [check] = checks[..] else {
            bail!(
                "the guest reported {} check values instead of 1",
                checks.len()
            );
        };
        Ok(Run {
            elapsed: stop - start,
            check,
        })
    }

    /// One whole hello-world instance on `host`: context (with the fixtures
    /// preopened), store, instance, `_start`, drop.
    pub(crate) fn hello(&self, host: Host, fx: &Fixtures) -> Result<()> {
        let env = hello_env();
        match host {
            Host::WasmtimeWasi => {
                run(&self.wasi_hello, wasmtime_wasi_ctx(fx.dir(), &env, false)?)?;
            }
            Host::VasiHostDir | Host::VasiMemFs => {
                run(&self.vasi_hello, vasi_ctx(preopen(host, fx)?, &env, false)?)?;
            }
        }
        Ok(())
    }

    /// wasmtime's own share of a hello instance: a `Store` without WASI
    /// context, instantiation of the hello module (imports are trap stubs),
    /// drop; `_start` is not run.
    pub(crate) fn floor(&self) -> Result<()> {
        let mut store = Store::new(self.bare_hello.module().engine(), ());
        self.bare_hello.instantiate(&mut store)?;
        Ok(())
    }

    /// Runs one hello-world instance on `host` and keeps its store alive (in
    /// `keep`), for the many-instances memory measurement.
    pub(crate) fn hello_kept(
        &self,
        host: Host,
        dir: &std::path::Path,
        mem: &Arc<dyn Dir>,
        keep: &mut Vec<Box<dyn std::any::Any>>,
    ) -> Result<()> {
        let env = hello_env();
        match host {
            Host::WasmtimeWasi => {
                let store = run_store(&self.wasi_hello, wasmtime_wasi_ctx(dir, &env, false)?)?;
                keep.push(Box::new(store));
            }
            Host::VasiHostDir => {
                let dir: Arc<dyn Dir> = Arc::new(HostDir::open_ambient(dir)?);
                let store = run_store(&self.vasi_hello, vasi_ctx(dir, &env, false)?)?;
                keep.push(Box::new(store));
            }
            Host::VasiMemFs => {
                let store = run_store(&self.vasi_hello, vasi_ctx(mem.clone(), &env, false)?)?;
                keep.push(Box::new(store));
            }
        }
        Ok(())
    }
}

/// The arguments of the hello-world guest.
fn hello_env() -> GuestEnv {
    GuestEnv {
        args: vec!["hello".into()],
        env: Vec::new(),
    }
}

/// The fixtures directory as vasi sees it on `host`. A `HostDir` is opened
/// anew for every context, as an embedder building a context from a path does.
fn preopen(host: Host, fx: &Fixtures) -> Result<Arc<dyn Dir>> {
    Ok(match host {
        Host::VasiMemFs => fx.mem_root(),
        _ => Arc::new(HostDir::open_ambient(fx.dir())?),
    })
}

/// Instantiates from `pre` with `wasi` as the context and calls `_start`;
/// returns the store's data.
fn run<W: 'static>(pre: &InstancePre<State<W>>, wasi: W) -> Result<State<W>> {
    Ok(run_store(pre, wasi)?.into_data())
}

/// Like [`run`], but returns the store itself.
fn run_store<W: 'static>(pre: &InstancePre<State<W>>, wasi: W) -> Result<Store<State<W>>> {
    let mut store = Store::new(
        pre.module().engine(),
        State {
            wasi,
            marks: Vec::with_capacity(2),
            checks: Vec::with_capacity(1),
        },
    );
    let instance = pre.instantiate(&mut store)?;
    let start = instance.get_typed_func::<(), ()>(&mut store, "_start")?;
    if let Err(e) = start.call(&mut store, ()) {
        // A guest may end with `proc_exit(0)`; anything else is a failure.
        let code = e
            .downcast_ref::<vasi::I32Exit>()
            .map(|e| e.0)
            .or_else(|| e.downcast_ref::<wasmtime_wasi::I32Exit>().map(|e| e.0));
        if code != Some(0) {
            return Err(anyhow::Error::from(e).context("the guest failed"));
        }
    }
    Ok(store)
}

/// Defines `vasi_bench.mark` and `vasi_bench.check` (see `guest/src/bin/bench.rs`).
fn add_bench_imports<W: 'static>(linker: &mut Linker<State<W>>) -> Result<()> {
    linker.func_wrap("vasi_bench", "mark", |mut c: Caller<'_, State<W>>| {
        c.data_mut().marks.push(Instant::now());
    })?;
    linker.func_wrap(
        "vasi_bench",
        "check",
        |mut c: Caller<'_, State<W>>, value: i64| {
            c.data_mut().checks.push(value as u64);
        },
    )?;
    Ok(())
}

/// vasi's linker for `module`: its hostcalls find `module`'s memory by export
/// index (`add_to_linker_for`), as an embedder that knows its module does.
fn vasi_linker(engine: &Engine, module: &Module) -> Result<Linker<State<vasi::WasiCtx>>> {
    let mut linker = Linker::new(engine);
    vasi_wasmtime::add_to_linker_for(&mut linker, module, |s: &mut State<vasi::WasiCtx>| {
        &mut s.wasi
    })?;
    add_bench_imports(&mut linker)?;
    Ok(linker)
}

fn wasmtime_wasi_linker(engine: &Engine) -> Result<Linker<State<WasiP1Ctx>>> {
    let mut linker = Linker::new(engine);
    wasmtime_wasi::p1::add_to_linker_sync(&mut linker, |s: &mut State<WasiP1Ctx>| &mut s.wasi)?;
    add_bench_imports(&mut linker)?;
    Ok(linker)
}

/// A vasi context: `env`, stdout into a sink, stderr inherited (so a failing
/// guest's panic message shows), `dir` preopened at [`GUEST_DIR`].
fn vasi_ctx(dir: Arc<dyn Dir>, env: &GuestEnv, stderr: bool) -> Result<vasi::WasiCtx> {
    let mut b = vasi::WasiCtxBuilder::new();
    // One store per instance, as everywhere here: let the binding remember
    // the guest's memory.
    b.single_instance();
    b.args(env.args.iter().cloned());
    for (k, v) in &env.env {
        b.env(k.clone(), v.clone());
    }
    b.stdout(std::io::sink());
    if stderr {
        b.stderr(std::io::stderr());
    }
    b.preopen_dir(dir, GUEST_DIR);
    b.build().map_err(|e| anyhow!("vasi: {e}"))
}

/// The same context for wasmtime-wasi: blocking on the current thread allowed
/// (as `wasmtime run` does), stdout into its sink stream.
fn wasmtime_wasi_ctx(dir: &std::path::Path, env: &GuestEnv, stderr: bool) -> Result<WasiP1Ctx> {
    let mut b = wasmtime_wasi::WasiCtxBuilder::new();
    b.allow_blocking_current_thread(true);
    b.args(&env.args);
    b.envs(&env.env);
    b.stdout(SinkOutputStream);
    if stderr {
        b.inherit_stderr();
    }
    b.preopened_dir(dir, GUEST_DIR, wasmtime_wasi::FsPerms::ReadWrite)
        .map_err(anyhow::Error::from)
        .context("wasmtime-wasi: preopen")?;
    Ok(b.build_p1())
}
