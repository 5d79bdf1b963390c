//! From a file to a compiled module: read, inspect (before compiling), and
//! compile or take the compiled code from the cache or a `.cwasm`.

use crate::cache::{self, Cache, Header};
use crate::engine::Settings;
use crate::interface::{self, Interface, Kind, Signature, Ty};
use crate::run::Failure;
use std::path::Path;
use std::sync::Arc;
use vasi_bundle::Source;
use wasmtime::{Engine, Module};

fn cannot(msg: impl Into<String>) -> Failure {
    Failure::CannotRun(msg.into())
}

/// What `vasi run` was given.
pub(crate) enum Input {
    /// A wasm module (perhaps a bundle), binary or text: memory-mapped from
    /// its file, or read from stdin.
    Wasm(Source),
    /// A file from `vasi compile` (read only as wasmtime maps it).
    Compiled(std::fs::File),
}

/// The module, and the name to call it by in messages.
pub(crate) fn read(path: &Path) -> Result<(String, Input), Failure> {
    if path.as_os_str() == "-" {
        let name = "the module read from stdin".to_string();
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut bytes)
            .map_err(|e| cannot(format!("cannot read the module from stdin: {e}")))?;
        if bytes.ends_with(cache::MAGIC) {
            return Err(cannot(format!(
                "{name} is compiled code from `vasi compile`: give its path instead"
            )));
        }
        return Ok((name, Input::Wasm(Arc::new(bytes))));
    }
    let name = path.display().to_string();
    let unreadable = |e: std::io::Error| cannot(format!("cannot read {name}: {e}"));
    let file = std::fs::File::open(path).map_err(unreadable)?;
    if file.metadata().is_ok_and(|m| m.is_dir()) {
        return Err(cannot(format!("cannot read {name}: it is a directory")));
    }
    if cache::is_ours(&file) {
        return Ok((name, Input::Compiled(file)));
    }
    drop(file);
    let bytes = crate::bundle::map_file(path).map_err(cannot)?;
    Ok((name, Input::Wasm(bytes)))
}

/// The wasm binary of `bytes`: binary as it is, the text format converted.
/// Compiled code (a `.cwasm`) is not for this function.
pub(crate) fn binary(name: &str, src: Source) -> Result<Source, Failure> {
    let bytes: &[u8] = (*src).as_ref();
    if bytes.len() >= 8 && bytes[..4] == *b"\0asm" && bytes[4..8] != [1, 0, 0, 0] {
        return Err(cannot(format!(
            "{name} is a WebAssembly component, not a core module: vasi runs WASI preview1 modules"
        )));
    }
    if bytes.starts_with(b"\0asm") {
        return Ok(src);
    }
    if Engine::detect_precompiled(bytes).is_some() {
        return Err(cannot(format!(
            "{name} is compiled code vasi cannot check: not from `vasi compile` (from `wasmtime compile`?) \
             or cut short; run the .wasm it was made from (vasi caches compiled code itself) or compile \
             that with `vasi compile`"
        )));
    }
    let text = std::str::from_utf8(bytes).ok();
    match text.map(wat::parse_str) {
        Some(Ok(b)) => Ok(Arc::new(b)),
        // Text that looks like the text format: say what is wrong with it.
        Some(Err(e)) if text.is_some_and(|t| t.trim_start().starts_with('(')) => {
            let msg = e.to_string();
            let first = msg.lines().next().unwrap_or("").trim();
            Err(cannot(format!(
                "{name} is not a valid wasm module: {first}"
            )))
        }
        _ => Err(cannot(format!(
            "{name} is not a valid wasm module: it is neither a wasm binary nor the text format"
        ))),
    }
}

/// What identifies the compiled code of `wasm` for `engine` and
/// `settings`: the cache's key, and the trailer of a `.cwasm`.
fn header(engine: &Engine, settings: &Settings, wasm: &[u8]) -> Header {
    let describe = settings.describe();
    Header {
        vasi: env!("CARGO_PKG_VERSION").to_string(),
        wasmtime: cache::WASMTIME_VERSION.to_string(),
        engine: cache::engine_fingerprint(engine, &describe),
        settings: describe,
        module: cache::hash(wasm),
    }
}

/// A module ready to instantiate.
pub(crate) struct Loaded {
    pub(crate) engine: Engine,
    pub(crate) module: Module,
}

/// Loads `bytes` (a wasm binary or text, or a `.cwasm` from `vasi compile`)
/// for `settings`. `check` sees the module's interface before anything is
/// compiled and may refuse it; its answer is returned with the module.
pub(crate) fn load<T>(
    name: &str,
    input: Input,
    settings: &Settings,
    cache: Option<&Cache>,
    check: impl FnOnce(&Interface) -> Result<T, Failure>,
) -> Result<(Loaded, T), Failure> {
    let bytes = match input {
        Input::Compiled(file) => return load_compiled(name, file, settings, check),
        Input::Wasm(bytes) => bytes,
    };
    let src = binary(name, bytes)?;
    let wasm: &[u8] = (*src).as_ref();
    let interface = interface::interface(wasm)
        .map_err(|e| cannot(format!("{name} is not a valid wasm module: {e}")))?;
    let answer = check(&interface)?;
    let engine = settings.engine().map_err(cannot)?;
    let header = header(&engine, settings, wasm);
    if let Some(module) = cache.and_then(|c| c.get(&engine, &header)) {
        return Ok((Loaded { engine, module }, answer));
    }
    let module = Module::new(&engine, wasm).map_err(|e| {
        cannot(format!(
            "{name} is not a valid wasm module: {}",
            crate::run::one_line(&e)
        ))
    })?;
    if let Some(cache) = cache {
        if let Ok(artifact) = module.serialize() {
            cache.put(&header, &artifact);
        }
    }
    Ok((Loaded { engine, module }, answer))
}

/// Loads a `.cwasm`: refused, with one line naming the difference, unless
/// this vasi and engine compiled it.
fn load_compiled<T>(
    name: &str,
    file: std::fs::File,
    settings: &Settings,
    check: impl FnOnce(&Interface) -> Result<T, Failure>,
) -> Result<(Loaded, T), Failure> {
    let (header, artifact) =
        cache::verify(file).map_err(|bad| cannot(format!("{name} cannot be run: it is {bad}")))?;
    let ours = env!("CARGO_PKG_VERSION");
    if header.vasi != ours || header.wasmtime != cache::WASMTIME_VERSION {
        return Err(cannot(format!(
            "{name} was compiled by vasi {} (wasmtime {}), this is vasi {ours} (wasmtime {}): \
             compile it again with this vasi's `vasi compile`",
            header.vasi,
            header.wasmtime,
            cache::WASMTIME_VERSION
        )));
    }
    let engine = settings.engine().map_err(cannot)?;
    let describe = settings.describe();
    if header.engine != cache::engine_fingerprint(&engine, &describe) {
        if header.settings != describe {
            return Err(cannot(format!(
                "{name} was compiled for `{}`, this run needs `{describe}`: compile it again \
                 with matching flags (vasi compile --for-fuel, --for-timeout, --wasm)",
                header.settings
            )));
        }
        return Err(cannot(format!(
            "{name} was compiled for another CPU or engine configuration: compile it again on this machine"
        )));
    }
    let module = cache::load(&engine, artifact).map_err(|e| {
        cannot(format!(
            "{name} cannot be run: {}",
            crate::run::one_line(&e)
        ))
    })?;
    let answer = check(&interface_of(&module))?;
    Ok((Loaded { engine, module }, answer))
}

/// The interface of a compiled module, from wasmtime's types.
fn interface_of(module: &Module) -> Interface {
    use wasmtime::ExternType;
    let kind = |t: &ExternType| match t {
        ExternType::Func(_) => Kind::Func,
        ExternType::Table(_) => Kind::Table,
        ExternType::Memory(_) => Kind::Memory,
        ExternType::Global(_) => Kind::Global,
        ExternType::Tag(_) => Kind::Tag,
    };
    let ty = |v: wasmtime::ValType| match v {
        wasmtime::ValType::I32 => Ty::I32,
        wasmtime::ValType::I64 => Ty::I64,
        wasmtime::ValType::F32 => Ty::F32,
        wasmtime::ValType::F64 => Ty::F64,
        wasmtime::ValType::V128 => Ty::V128,
        wasmtime::ValType::Ref(_) => Ty::Ref,
    };
    Interface {
        imports: module
            .imports()
            .map(|i| interface::Import {
                module: i.module().to_string(),
                name: i.name().to_string(),
                kind: kind(&i.ty()),
                shared: matches!(i.ty(), ExternType::Memory(m) if m.is_shared()),
            })
            .collect(),
        exports: module
            .exports()
            .map(|e| {
                let t = e.ty();
                interface::Export {
                    name: e.name().to_string(),
                    kind: kind(&t),
                    signature: t.func().map(|f| Signature {
                        params: f.params().map(ty).collect(),
                        results: f.results().map(ty).collect(),
                    }),
                }
            })
            .collect(),
    }
}

/// `vasi compile`: writes the compiled module, atomically.
pub(crate) fn compile(args: &crate::args::CompileArgs) -> Result<(), Failure> {
    let (name, input) = read(&args.wasm)?;
    let Input::Wasm(bytes) = input else {
        return Err(cannot(format!("{name} is already compiled")));
    };
    let src = binary(&name, bytes)?;
    let wasm: &[u8] = (*src).as_ref();
    interface::interface(wasm)
        .map_err(|e| cannot(format!("{name} is not a valid wasm module: {e}")))?;
    let settings = Settings {
        fuel: args.for_fuel,
        epoch: args.for_timeout,
        features: args.features.clone(),
    };
    let engine = settings.engine().map_err(cannot)?;
    let artifact = engine.precompile_module(wasm).map_err(|e| {
        cannot(format!(
            "{name} is not a valid wasm module: {}",
            crate::run::one_line(&e)
        ))
    })?;
    let header = header(&engine, &settings, wasm);
    let out = args
        .output
        .clone()
        .unwrap_or_else(|| args.wasm.with_extension("cwasm"));
    // A file for others to run too, as a compiler's output is (the umask
    // still applies).
    cache::write_atomically(&out, &header, &artifact, 0o644)
        .map_err(|e| cannot(format!("cannot write {}: {e}", out.display())))
}
