//! Runs a guest program through vasi-wasmtime with a fresh scratch directory
//! preopened at `/sandbox`, on the chosen backend, capturing stdout and stderr.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use vasi::vfs::{HostDir, MemFs, Overlay};
use vasi::{CaptureBuffer, WasiCtx, WasiCtxBuilder};
use wasmtime::{Engine, Linker, Module, Store};

/// The file beside a host sandbox, which guests must never reach.
pub(crate) const OUTSIDE: &str = "outside.txt";
/// Its contents.
pub(crate) const OUTSIDE_CONTENTS: &str = "host secret";

/// The engine a guest runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Runtime {
    Wasmtime,
    Wasmi,
    /// wasmtime through vasi_wasmtime::threads (wasm32-wasip1-threads guests).
    Threads,
}

thread_local! {
    /// The runtime of the test running on this thread (each test has its own).
    static RUNTIME: std::cell::Cell<Runtime> = const { std::cell::Cell::new(Runtime::Wasmtime) };
}

/// Runs the rest of this test on `runtime`.
pub(crate) fn use_runtime(runtime: Runtime) {
    RUNTIME.with(|r| r.set(runtime));
}

/// Where `/sandbox` lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Backend {
    /// A fresh host temporary directory (`HostDir`).
    Host,
    /// A fresh `MemFs`.
    Mem,
    /// A fresh `MemFs` over an empty host temporary directory (`Overlay`); the
    /// host directory must still be empty after the run.
    Overlay,
    /// A fresh `MemFs` with byte and inode quotas.
    MemQuota { bytes: u64, inodes: u64 },
}

/// How a run ended.
#[derive(Debug)]
pub(crate) struct Outcome {
    /// The exit code, or the trap's message.
    pub(crate) exit: Result<i32, String>,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
    /// The parent of the host sandbox (`sandbox/` and [`OUTSIDE`]), kept alive
    /// for inspection.
    pub(crate) host_dir: Option<tempfile::TempDir>,
}

impl Outcome {
    /// Asserts a clean exit with code 0, printing the guest's output otherwise.
    #[track_caller]
    pub(crate) fn success(&self) {
        assert_eq!(
            self.exit,
            Ok(0),
            "guest failed\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout,
            self.stderr
        );
    }
}

pub(crate) fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(Engine::default)
}

fn module(path: &str) -> Module {
    static CACHE: OnceLock<Mutex<HashMap<String, Module>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(m) = cache.lock().unwrap().get(path) {
        return m.clone();
    }
    let m = Module::from_file(engine(), path).unwrap_or_else(|e| panic!("{path}: {e}"));
    cache.lock().unwrap().insert(path.to_string(), m.clone());
    m
}

/// Changes a context's builder.
type Configure = Box<dyn FnOnce(&mut WasiCtxBuilder)>;
/// Sees a built context.
type OnCtx = Box<dyn FnOnce(&WasiCtx)>;

/// A guest run to set up.
pub(crate) struct Guest {
    path: &'static str,
    args: Vec<String>,
    env: Vec<(String, String)>,
    stdin: Vec<u8>,
    stdin_reader: Option<Box<dyn std::io::Read + Send>>,
    configure: Option<Configure>,
    on_ctx: Option<OnCtx>,
    backend: Backend,
    max_threads: Option<u32>,
}

impl Guest {
    /// Runs `path` (a constant of `test_programs_artifacts`) with argv[0] set to
    /// the program's name.
    pub(crate) fn new(path: &'static str, backend: Backend) -> Self {
        let name = std::path::Path::new(path)
            .file_stem()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        Guest {
            path,
            args: vec![name],
            env: Vec::new(),
            stdin: Vec::new(),
            stdin_reader: None,
            configure: None,
            on_ctx: None,
            backend,
            max_threads: None,
        }
    }

    pub(crate) fn arg(mut self, a: &str) -> Self {
        self.args.push(a.to_string());
        self
    }

    pub(crate) fn args<'a>(mut self, args: impl IntoIterator<Item = &'a str>) -> Self {
        self.args.extend(args.into_iter().map(String::from));
        self
    }

    pub(crate) fn env(mut self, k: &str, v: &str) -> Self {
        self.env.push((k.to_string(), v.to_string()));
        self
    }

    pub(crate) fn stdin(mut self, bytes: &[u8]) -> Self {
        self.stdin = bytes.to_vec();
        self
    }

    /// Stdin from `reader` instead of bytes.
    pub(crate) fn stdin_reader(mut self, reader: impl std::io::Read + Send + 'static) -> Self {
        self.stdin_reader = Some(Box::new(reader));
        self
    }

    /// Changes the context's builder after the harness set it up.
    pub(crate) fn configure(mut self, f: impl FnOnce(&mut WasiCtxBuilder) + 'static) -> Self {
        self.configure = Some(Box::new(f));
        self
    }

    /// Sees the built context before the guest runs (to take an interrupt
    /// handle, say).
    /// Caps the live threads of a threads guest.
    pub(crate) fn max_threads(mut self, n: u32) -> Self {
        self.max_threads = Some(n);
        self
    }

    pub(crate) fn on_ctx(mut self, f: impl FnOnce(&WasiCtx) + 'static) -> Self {
        self.on_ctx = Some(Box::new(f));
        self
    }

    pub(crate) fn run(self) -> Outcome {
        let stdout = CaptureBuffer::new();
        let stderr = CaptureBuffer::new();
        let mut b = WasiCtxBuilder::new();
        b.args(self.args.iter().cloned())
            .stdin(std::io::Cursor::new(self.stdin))
            .stdout(stdout.clone())
            .stderr(stderr.clone());
        for (k, v) in &self.env {
            b.env(k.clone(), v.clone());
        }
        let host_dir = match self.backend {
            Backend::Host => {
                // The sandbox is a subdirectory, next to a file that no guest may
                // reach, so tests can check that nothing escaped.
                let parent = tempfile::tempdir().unwrap();
                std::fs::create_dir(parent.path().join("sandbox")).unwrap();
                std::fs::write(parent.path().join(OUTSIDE), OUTSIDE_CONTENTS).unwrap();
                let dir = HostDir::open_ambient(parent.path().join("sandbox")).unwrap();
                b.preopen_dir(Arc::new(dir), "/sandbox");
                Some(parent)
            }
            Backend::Overlay => {
                let parent = tempfile::tempdir().unwrap();
                std::fs::create_dir(parent.path().join("sandbox")).unwrap();
                std::fs::write(parent.path().join(OUTSIDE), OUTSIDE_CONTENTS).unwrap();
                let lower = HostDir::open_ambient(parent.path().join("sandbox")).unwrap();
                let overlay = Overlay::new(MemFs::new().root(), Arc::new(lower));
                b.preopen_dir(Arc::new(overlay), "/sandbox");
                Some(parent)
            }
            Backend::Mem | Backend::MemQuota { .. } => {
                let fs = match self.backend {
                    Backend::MemQuota { bytes, inodes } => MemFs::with_quotas(bytes, inodes),
                    _ => MemFs::new(),
                };
                b.preopen_dir(fs.root(), "/sandbox");
                None
            }
        };
        if let Some(reader) = self.stdin_reader {
            b.stdin(reader);
        }
        if matches!(self.backend, Backend::Mem | Backend::Overlay) {
            // Half the runs let the binding remember the memory.
            b.single_instance();
        }
        if let Some(f) = self.configure {
            f(&mut b);
        }
        let ctx = b.build().unwrap();
        if let Some(f) = self.on_ctx {
            f(&ctx);
        }
        let exit = match RUNTIME.with(|r| r.get()) {
            Runtime::Wasmtime => run_ctx(self.path, ctx),
            Runtime::Wasmi => run_wasmi(self.path, ctx),
            Runtime::Threads => run_threads(self.path, ctx, self.max_threads),
        };
        if let (Backend::Overlay, Some(parent)) = (self.backend, &host_dir) {
            let lower = std::fs::read_dir(parent.path().join("sandbox"))
                .unwrap()
                .count();
            assert_eq!(lower, 0, "an overlay wrote to its lower layer");
        }
        Outcome {
            exit,
            stdout: stdout.to_string_lossy(),
            stderr: stderr.to_string_lossy(),
            host_dir,
        }
    }
}

/// Instantiates `path` over `ctx` and runs `_start`.
pub(crate) fn run_ctx(path: &str, ctx: WasiCtx) -> Result<i32, String> {
    let module = module(path);
    let mut linker: Linker<WasiCtx> = Linker::new(engine());
    vasi_wasmtime::add_to_linker(&mut linker, |c| c).unwrap();
    let mut store = Store::new(engine(), ctx);
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let start = instance
        .get_typed_func::<(), ()>(&mut store, "_start")
        .unwrap();
    vasi_wasmtime::exit_code(start.call(&mut store, ())).map_err(|e| format!("{e:?}"))
}

/// The engine of threads guests: shared memories on, epoch interruption on
/// (so that the end of a guest stops its threads that run wasm code).
pub(crate) fn threads_engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let mut config = wasmtime::Config::new();
        config.shared_memory(true).epoch_interruption(true);
        Engine::new(&config).unwrap()
    })
}

/// A threads guest's module, compiled once per test binary.
pub(crate) fn threads_module(path: &str) -> Module {
    static CACHE: OnceLock<Mutex<HashMap<String, Module>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(m) = cache.lock().unwrap().get(path) {
        return m.clone();
    }
    let m = Module::from_file(threads_engine(), path).unwrap_or_else(|e| panic!("{path}: {e}"));
    cache.lock().unwrap().insert(path.to_string(), m.clone());
    m
}

/// Runs the wasi-threads guest `path` over `ctx` (vasi_wasmtime::threads).
pub(crate) fn run_threads(
    path: &str,
    ctx: WasiCtx,
    max_threads: Option<u32>,
) -> Result<i32, String> {
    let module = threads_module(path);
    let mut b = vasi_wasmtime::threads::ThreadedGuest::builder(threads_engine(), &module);
    if let Some(n) = max_threads {
        b.max_threads(n);
    }
    let mut guest = b.build(ctx).map_err(|e| format!("{e:?}"))?;
    guest.run().map_err(|e| format!("{e:?}"))
}

/// Instantiates `path` over `ctx` on wasmi and runs `_start`.
pub(crate) fn run_wasmi(path: &str, ctx: WasiCtx) -> Result<i32, String> {
    static ENGINE: OnceLock<wasmi::Engine> = OnceLock::new();
    let engine = ENGINE.get_or_init(wasmi::Engine::default);
    let bytes = std::fs::read(path).unwrap();
    let module = match vasi_wasmi::new_module(engine, &bytes[..]) {
        Ok(m) => m,
        Err(e) => return Err(e.to_string()),
    };
    let mut linker: wasmi::Linker<WasiCtx> = wasmi::Linker::new(engine);
    vasi_wasmi::add_to_linker(&mut linker, |c| c).unwrap();
    let mut store = wasmi::Store::new(engine, ctx);
    let instance = linker.instantiate_and_start(&mut store, &module).unwrap();
    let start = instance.get_typed_func::<(), ()>(&store, "_start").unwrap();
    vasi_wasmi::exit_code(start.call(&mut store, ())).map_err(|e| e.to_string())
}

/// Defines `$name` as two tests of a threads guest: `$name::host` and
/// `$name::mem`, through vasi_wasmtime::threads.
#[macro_export]
macro_rules! on_threads_backends {
    ($(#[$m:meta])* fn $name:ident($backend:ident: Backend) $body:block) => {
        mod $name {
            #[allow(unused_imports, reason = "not every test uses every name")]
            use super::*;
            fn run($backend: Backend) $body
            #[test]
            fn host() {
                $crate::harness::use_runtime($crate::harness::Runtime::Threads);
                run(Backend::Host)
            }
            #[test]
            fn mem() {
                $crate::harness::use_runtime($crate::harness::Runtime::Threads);
                run(Backend::Mem)
            }
        }
    };
}

/// Defines `$name` as one test per backend: `$name::host`, `$name::mem` and
/// `$name::overlay` on wasmtime, and `$name::wasmi_host` and `$name::wasmi_mem`
/// on wasmi.
#[macro_export]
macro_rules! on_each_backend {
    ($(#[$m:meta])* fn $name:ident($backend:ident: Backend) $body:block) => {
        mod $name {
            #[allow(unused_imports, reason = "not every test uses every name")]
            use super::*;
            fn run($backend: Backend) $body
            #[test]
            fn host() {
                run(Backend::Host)
            }
            #[test]
            fn mem() {
                run(Backend::Mem)
            }
            #[test]
            fn overlay() {
                run(Backend::Overlay)
            }
            #[test]
            fn wasmi_host() {
                $crate::harness::use_runtime($crate::harness::Runtime::Wasmi);
                run(Backend::Host)
            }
            #[test]
            fn wasmi_mem() {
                $crate::harness::use_runtime($crate::harness::Runtime::Wasmi);
                run(Backend::Mem)
            }
        }
    };
}
