//! The wasmtime engine `vasi run` and `vasi compile` use: wasm proposals
//! (`--wasm NAME=y|n`, `-W NAME=y|n`), fuel and epoch interruption.

use wasmtime::{Config, Engine};

/// A wasm proposal vasi lets the user turn on or off, by wasmtime's `-W`
/// name.
struct Feature {
    name: &'static str,
    set: fn(&mut Config, bool),
}

/// Every proposal `--wasm` knows. All but `memory64`, `custom-page-sizes`,
/// `wide-arithmetic` and `stack-switching` are on by default, as in
/// wasmtime 48 with `exceptions` (wasmtime's own default too, given its
/// `gc` cargo feature, which vasi builds with).
const FEATURES: &[Feature] = &[
    Feature {
        name: "bulk-memory",
        set: |c, on| {
            c.wasm_bulk_memory(on);
        },
    },
    Feature {
        name: "custom-page-sizes",
        set: |c, on| {
            c.wasm_custom_page_sizes(on);
        },
    },
    Feature {
        name: "exceptions",
        set: |c, on| {
            c.wasm_exceptions(on);
        },
    },
    Feature {
        name: "extended-const",
        set: |c, on| {
            c.wasm_extended_const(on);
        },
    },
    Feature {
        name: "function-references",
        set: |c, on| {
            c.wasm_function_references(on);
        },
    },
    Feature {
        name: "gc",
        set: |c, on| {
            c.wasm_gc(on);
        },
    },
    Feature {
        name: "memory64",
        set: |c, on| {
            c.wasm_memory64(on);
        },
    },
    Feature {
        name: "multi-memory",
        set: |c, on| {
            c.wasm_multi_memory(on);
        },
    },
    Feature {
        name: "multi-value",
        set: |c, on| {
            c.wasm_multi_value(on);
        },
    },
    Feature {
        name: "reference-types",
        set: |c, on| {
            c.wasm_reference_types(on);
        },
    },
    Feature {
        name: "relaxed-simd",
        set: |c, on| {
            c.wasm_relaxed_simd(on);
        },
    },
    Feature {
        name: "simd",
        set: |c, on| {
            c.wasm_simd(on);
        },
    },
    Feature {
        name: "tail-call",
        set: |c, on| {
            c.wasm_tail_call(on);
        },
    },
    Feature {
        name: "threads",
        set: |c, on| {
            c.wasm_threads(on);
        },
    },
    Feature {
        name: "wide-arithmetic",
        set: |c, on| {
            c.wasm_wide_arithmetic(on);
        },
    },
];

/// The names `--wasm` accepts, for help and errors.
pub(crate) fn feature_names() -> String {
    FEATURES
        .iter()
        .map(|f| f.name)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Whether `name` is a proposal `--wasm` knows.
pub(crate) fn is_feature(name: &str) -> bool {
    FEATURES.iter().any(|f| f.name == name)
}

/// Everything about the engine that compiled code depends on and that the
/// command line chooses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Settings {
    /// Compile with fuel metering (`--fuel`).
    pub(crate) fuel: bool,
    /// Compile with epoch checks (`--timeout`).
    pub(crate) epoch: bool,
    /// Proposals turned on or off, in command-line order (the last word on
    /// one wins).
    pub(crate) features: Vec<(String, bool)>,
}

impl Settings {
    /// The settings, readable and canonical: `fuel=n timeout=n` and the
    /// proposals changed from the default, sorted.
    pub(crate) fn describe(&self) -> String {
        let yn = |b: bool| if b { "y" } else { "n" };
        let mut out = format!("fuel={} timeout={}", yn(self.fuel), yn(self.epoch));
        let mut last: Vec<(&str, bool)> = Vec::new();
        for (name, on) in &self.features {
            last.retain(|(n, _)| n != name);
            last.push((name, *on));
        }
        last.sort();
        if !last.is_empty() {
            let list: Vec<String> = last
                .iter()
                .map(|(n, on)| format!("{n}={}", yn(*on)))
                .collect();
            out.push_str(" wasm=");
            out.push_str(&list.join(","));
        }
        out
    }

    /// The engine for these settings.
    pub(crate) fn engine(&self) -> Result<Engine, String> {
        let mut config = Config::new();
        config.wasm_exceptions(true);
        config.consume_fuel(self.fuel);
        config.epoch_interruption(self.epoch);
        // wasi-threads guests import a shared memory, which vasi makes
        // (vasi_wasmtime::threads); wasmtime refuses to make one without this.
        config.shared_memory(true);
        for (name, on) in &self.features {
            if let Some(f) = FEATURES.iter().find(|f| f.name == name) {
                (f.set)(&mut config, *on);
            }
        }
        // `simd=n` takes relaxed SIMD (an extension of it) along, unless
        // that is asked for on its own.
        let asked = |n: &str| {
            self.features
                .iter()
                .rev()
                .find(|(f, _)| f == n)
                .map(|(_, on)| *on)
        };
        if asked("simd") == Some(false) && asked("relaxed-simd").is_none() {
            config.wasm_relaxed_simd(false);
        }
        Engine::new(&config).map_err(|e| {
            let msg = e.to_string();
            format!("cannot set up wasmtime with {}: {msg}", self.describe())
        })
    }
}

/// Parses `NAME[=y|n],...` (one `--wasm` or `-W` value) into `out`.
/// `unknown-imports-trap` and `unknown-imports-default` (wasmtime's `-W`
/// spelling) go to `policy`.
pub(crate) fn parse_wasm_flag(
    spec: &str,
    out: &mut Vec<(String, bool)>,
    policy: &mut Option<crate::args::UnknownImports>,
) -> Result<(), String> {
    use crate::args::UnknownImports;
    for item in spec.split(',').filter(|s| !s.is_empty()) {
        let (name, value) = item.split_once('=').unwrap_or((item, "y"));
        let on = match value {
            "y" | "yes" | "true" | "on" => true,
            "n" | "no" | "false" | "off" => false,
            _ => return Err(format!("-W {item}: expected {name}=y or {name}=n")),
        };
        match name {
            "unknown-imports-trap" => {
                *policy = Some(if on { UnknownImports::Trap } else { UnknownImports::Error })
            }
            "unknown-imports-default" => {
                *policy = Some(if on { UnknownImports::Default } else { UnknownImports::Error })
            }
            "component-model" if on => {
                return Err("-W component-model=y: vasi runs core modules (WASI preview1), not components".into())
            }
            _ if is_feature(name) => out.push((name.to_string(), on)),
            _ => {
                return Err(format!(
                    "-W {name}: not a wasm proposal vasi knows (known: {}, unknown-imports-trap, unknown-imports-default)",
                    feature_names()
                ))
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_feature_switches_without_error_on_its_own() {
        for f in FEATURES {
            for on in [true, false] {
                let s = Settings {
                    features: vec![(f.name.to_string(), on)],
                    ..Settings::default()
                };
                // Some combinations are refused by wasmtime (gc off with
                // exceptions on...): a clear error, never a panic.
                let _ = s.engine();
            }
        }
        assert!(Settings::default().engine().is_ok());
    }

    #[test]
    fn flags_parse_and_describe_canonically() {
        let mut f = Vec::new();
        let mut p = None;
        parse_wasm_flag("simd=n,exceptions", &mut f, &mut p).unwrap();
        parse_wasm_flag("unknown-imports-trap=y,simd=y", &mut f, &mut p).unwrap();
        assert_eq!(p, Some(crate::args::UnknownImports::Trap));
        let s = Settings {
            features: f,
            ..Settings::default()
        };
        assert_eq!(s.describe(), "fuel=n timeout=n wasm=exceptions=y,simd=y");
        for bad in ["nope=y", "simd=maybe", "component-model=y"] {
            assert!(
                parse_wasm_flag(bad, &mut Vec::new(), &mut None).is_err(),
                "{bad}"
            );
        }
    }
}
