//! What a module imports and exports, read with `wasmparser` straight from
//! its bytes: milliseconds even for a 30 MB module, so unknown imports and a
//! missing entry point are reported before anything is compiled.

use wasmparser::{CompositeInnerType, ExternalKind, Parser, Payload, TypeRef, ValType};

/// A module's interface, as far as `vasi run` needs it.
#[derive(Debug, Default)]
pub(crate) struct Interface {
    /// Every import: module, name and what kind of item it is.
    pub(crate) imports: Vec<Import>,
    /// Every export, in the module's order.
    pub(crate) exports: Vec<Export>,
}

/// One import.
#[derive(Debug)]
pub(crate) struct Import {
    pub(crate) module: String,
    pub(crate) name: String,
    pub(crate) kind: Kind,
    /// A shared memory (the memory of a wasi-threads module).
    pub(crate) shared: bool,
}

/// One export.
#[derive(Debug)]
pub(crate) struct Export {
    pub(crate) name: String,
    pub(crate) kind: Kind,
    /// The signature, for a function of a plain (non-GC) function type.
    pub(crate) signature: Option<Signature>,
}

/// The kind of an import or export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Func,
    Table,
    Memory,
    Global,
    Tag,
}

impl Kind {
    /// "a function", "a memory"...
    pub(crate) fn article(self) -> &'static str {
        match self {
            Kind::Func => "a function",
            Kind::Table => "a table",
            Kind::Memory => "a memory",
            Kind::Global => "a global",
            Kind::Tag => "a tag",
        }
    }
}

/// A value type, as far as the command line can speak of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ty {
    I32,
    I64,
    F32,
    F64,
    V128,
    /// A reference of any kind.
    Ref,
}

impl Ty {
    fn of(v: &ValType) -> Ty {
        match v {
            ValType::I32 => Ty::I32,
            ValType::I64 => Ty::I64,
            ValType::F32 => Ty::F32,
            ValType::F64 => Ty::F64,
            ValType::V128 => Ty::V128,
            ValType::Ref(_) => Ty::Ref,
        }
    }

    /// Its name in the text format.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Ty::I32 => "i32",
            Ty::I64 => "i64",
            Ty::F32 => "f32",
            Ty::F64 => "f64",
            Ty::V128 => "v128",
            Ty::Ref => "a reference",
        }
    }
}

/// A function's parameter and result types.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Signature {
    pub(crate) params: Vec<Ty>,
    pub(crate) results: Vec<Ty>,
}

impl Interface {
    /// The export `name`, if there is one.
    pub(crate) fn export(&self, name: &str) -> Option<&Export> {
        self.exports.iter().find(|e| e.name == name)
    }

    /// The names of the exported functions, comma-separated (or "none"),
    /// the first 12 of them on a long list.
    pub(crate) fn exported_functions(&self) -> String {
        const SHOWN: usize = 12;
        let names: Vec<&str> = self
            .exports
            .iter()
            .filter(|e| e.kind == Kind::Func)
            .map(|e| e.name.as_str())
            .collect();
        match names.len() {
            0 => "none".to_string(),
            n if n > SHOWN => format!("{} and {} more", names[..SHOWN].join(", "), n - SHOWN),
            _ => names.join(", "),
        }
    }
}

/// Reads the interface of the core module `bytes` (binary; the text format
/// is converted by the caller). Stops at the code section: function bodies
/// are left to the compiler, which validates everything.
pub(crate) fn interface(bytes: &[u8]) -> Result<Interface, String> {
    let mut out = Interface::default();
    // The signature of each type index (None: not a function type).
    let mut types: Vec<Option<Signature>> = Vec::new();
    // The type index of each function index.
    let mut funcs: Vec<u32> = Vec::new();
    let mut exports: Vec<(String, ExternalKind, u32)> = Vec::new();
    for payload in Parser::new(0).parse_all(bytes) {
        match payload.map_err(|e| e.message().to_string())? {
            Payload::Version { encoding, .. } if encoding != wasmparser::Encoding::Module => {
                return Err("it is a WebAssembly component, not a core module".into());
            }
            Payload::TypeSection(reader) => {
                for group in reader {
                    let group = group.map_err(|e| e.message().to_string())?;
                    for sub in group.into_types() {
                        types.push(match &sub.composite_type.inner {
                            CompositeInnerType::Func(f) => Some(Signature {
                                params: f.params().iter().map(Ty::of).collect(),
                                results: f.results().iter().map(Ty::of).collect(),
                            }),
                            _ => None,
                        });
                    }
                }
            }
            Payload::ImportSection(reader) => {
                for import in reader.into_imports() {
                    let import = import.map_err(|e| e.message().to_string())?;
                    let shared = matches!(import.ty, TypeRef::Memory(m) if m.shared);
                    let kind = match import.ty {
                        TypeRef::Func(t) | TypeRef::FuncExact(t) => {
                            funcs.push(t);
                            Kind::Func
                        }
                        TypeRef::Table(_) => Kind::Table,
                        TypeRef::Memory(_) => Kind::Memory,
                        TypeRef::Global(_) => Kind::Global,
                        TypeRef::Tag(_) => Kind::Tag,
                    };
                    out.imports.push(Import {
                        module: import.module.to_string(),
                        name: import.name.to_string(),
                        kind,
                        shared,
                    });
                }
            }
            Payload::FunctionSection(reader) => {
                for t in reader {
                    funcs.push(t.map_err(|e| e.message().to_string())?);
                }
            }
            Payload::ExportSection(reader) => {
                for export in reader {
                    let e = export.map_err(|e| e.message().to_string())?;
                    exports.push((e.name.to_string(), e.kind, e.index));
                }
            }
            // Everything `vasi run` needs comes before the code.
            Payload::CodeSectionStart { .. } => break,
            _ => {}
        }
    }
    for (name, kind, index) in exports {
        let (kind, signature) = match kind {
            ExternalKind::Func | ExternalKind::FuncExact => {
                let sig = funcs
                    .get(index as usize)
                    .and_then(|t| types.get(*t as usize))
                    .and_then(|s| s.clone());
                (Kind::Func, sig)
            }
            ExternalKind::Table => (Kind::Table, None),
            ExternalKind::Memory => (Kind::Memory, None),
            ExternalKind::Global => (Kind::Global, None),
            ExternalKind::Tag => (Kind::Tag, None),
        };
        out.exports.push(Export {
            name,
            kind,
            signature,
        });
    }
    Ok(out)
}

/// What `vasi run` provides for an import, or why it does not.
pub(crate) enum Provided {
    /// A WASI preview1 function (needs the exported `memory`).
    Wasi,
    /// A function of the globals module; `true` if it needs the memory.
    Globals(bool),
    /// What a wasi-threads module imports: `wasi::thread-spawn` or its
    /// shared memory (vasi_wasmtime::threads provides both).
    Threads,
    /// Nothing: the reason, in a few words.
    Missing(String),
}

/// Whether vasi provides `import`.
pub(crate) fn provided(import: &Import) -> Provided {
    let (m, name) = (import.module.as_str(), import.name.as_str());
    if import.shared {
        return Provided::Threads;
    }
    match m {
        vasi_wasmtime::threads::SPAWN_MODULE
            if import.kind == Kind::Func && name == vasi_wasmtime::threads::SPAWN_NAME =>
        {
            Provided::Threads
        }
        vasi::p1::MODULE if import.kind == Kind::Func && vasi::p1::HOSTCALLS.contains(&name) => {
            Provided::Wasi
        }
        vasi_globals::abi::MODULE
            if import.kind == Kind::Func && matches!(name, "get" | "generation") =>
        {
            Provided::Globals(name == "get")
        }
        vasi_globals::abi::MODULE => {
            Provided::Missing("not a function of the globals module".into())
        }
        vasi::p1::MODULE => Provided::Missing("not a WASI preview1 function".into()),
        "wasi_unstable" => Provided::Missing(format!(
            "WASI preview0; vasi runs preview1 (`{}`)",
            vasi::p1::MODULE
        )),
        _ => Provided::Missing(import.kind.article().to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_imports_exports_and_signatures() {
        let wasm = wat::parse_str(
            r#"(module
                (type (func (param i32 i64) (result f32)))
                (import "env" "f" (func (type 0)))
                (import "env" "m" (memory 1))
                (func $g (param f64) (result i32 i64) unreachable)
                (export "g" (func $g))
                (export "f" (func 0))
                (export "memory" (memory 0)))"#,
        )
        .unwrap();
        let i = interface(&wasm).unwrap();
        assert_eq!(i.imports.len(), 2);
        assert_eq!(
            (i.imports[1].name.as_str(), i.imports[1].kind),
            ("m", Kind::Memory)
        );
        let g = i.export("g").unwrap();
        assert_eq!(
            g.signature,
            Some(Signature {
                params: vec![Ty::F64],
                results: vec![Ty::I32, Ty::I64]
            })
        );
        let f = i.export("f").unwrap();
        assert_eq!(f.signature.as_ref().unwrap().params, [Ty::I32, Ty::I64]);
        assert_eq!(i.export("memory").unwrap().kind, Kind::Memory);
        assert_eq!(i.exported_functions(), "g, f");
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for bytes in [&b""[..], b"\0asm", b"\0asm\x01\0\0\0\x02\xff\xff", b"hello"] {
            assert!(interface(bytes).is_err(), "{bytes:?}");
        }
    }
}
