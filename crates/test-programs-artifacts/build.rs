//! Builds the guest programs in tests/programs for wasm32-wasip1 and emits a
//! constant with the path of each module, plus one `foreach_*!` macro per
//! suite of programs (see `SUITES`).

use std::env;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A group of guest programs: the prefixes of their names, the macro that
/// lists them, and the tests that must run each of them.
struct Suite {
    prefixes: &'static [&'static str],
    macro_name: &'static str,
    tested_by: &'static str,
}

/// Every guest program belongs to exactly one suite.
const SUITES: &[Suite] = &[
    Suite {
        prefixes: &["p1_", "demo"],
        macro_name: "foreach_program",
        tested_by: "vasi-wasmtime's tests/all/p1.rs",
    },
    Suite {
        prefixes: &["globals_"],
        macro_name: "foreach_globals_program",
        tested_by: "vasi-globals' tests/all",
    },
];

impl Suite {
    fn has(&self, name: &str) -> bool {
        self.prefixes.iter().any(|p| name.starts_with(p))
    }
}

fn main() {
    let manifest_dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").unwrap());
    let root = manifest_dir.ancestors().nth(2).unwrap().to_path_buf();
    let programs = root.join("tests/programs");
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").unwrap());
    let target_dir = out_dir.join("target");

    // Relative to this package, so that another clone sharing the target dir
    // (as CI does) is checked against its own sources.
    println!("cargo:rerun-if-changed=../../tests/programs/src");
    println!("cargo:rerun-if-changed=../../tests/programs/Cargo.toml");
    println!("cargo:rerun-if-changed=../../guest/vasi-globals-sdk/src");
    println!("cargo:rerun-if-changed=../../guest/vasi-globals-sdk/Cargo.toml");
    check_target_installed();

    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.arg("build")
        .arg("--release")
        .arg("--target=wasm32-wasip1")
        .arg("--manifest-path")
        .arg(programs.join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", &target_dir)
        .env("RUSTFLAGS", "-D warnings")
        // The outer build's flags are for the host, not for the guests.
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_BUILD_RUSTFLAGS")
        .env_remove("RUSTC_WORKSPACE_WRAPPER");
    let status = cmd
        .status()
        .expect("failed to run cargo for tests/programs");
    assert!(
        status.success(),
        "building tests/programs for wasm32-wasip1 failed"
    );

    let mut names: Vec<String> = fs::read_dir(programs.join("src/bin"))
        .unwrap()
        .filter_map(|e| {
            let p = e.unwrap().path();
            (p.extension()? == "rs").then(|| p.file_stem().unwrap().to_str().unwrap().to_string())
        })
        .collect();
    names.sort();

    let wasm_dir = target_dir.join("wasm32-wasip1/release");
    let mut src = String::new();
    for name in &names {
        assert!(
            SUITES.iter().any(|suite| suite.has(name)),
            "unclassified guest program {name}: name it p1_<behaviour> or globals_<behaviour>"
        );
        let path = wasm_dir.join(format!("{name}.wasm"));
        assert!(path.exists(), "{} was not built", path.display());
        writeln!(
            src,
            "/// The wasm module built from `tests/programs/src/bin/{name}.rs`.\npub const {}: &str = {:?};",
            name.to_uppercase(),
            path.display().to_string()
        )
        .unwrap();
    }
    writeln!(
        src,
        "/// Every guest program: `(name, path of its module)`.\npub const PROGRAMS: &[(&str, &str)] = &[{}];",
        names
            .iter()
            .map(|n| format!("({n:?}, {})", n.to_uppercase()))
            .collect::<Vec<_>>()
            .join(", ")
    )
    .unwrap();
    for suite in SUITES {
        writeln!(
            src,
            "/// Calls `$m!(name)` for every guest program that {} runs, so\n\
             /// that an untested program is a compile error there.\n\
             #[macro_export]\nmacro_rules! {} {{\n    ($m:ident) => {{\n{}    }};\n}}",
            suite.tested_by,
            suite.macro_name,
            names
                .iter()
                .filter(|n| suite.has(n))
                .map(|n| format!("        $m!({n});\n"))
                .collect::<String>()
        )
        .unwrap();
    }
    fs::write(out_dir.join("programs.rs"), src).unwrap();
}

/// Fails with a one-line fix when the wasm32-wasip1 standard library is missing.
fn check_target_installed() {
    let rustc = env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let out = Command::new(rustc)
        .args(["--print", "sysroot"])
        .output()
        .expect("failed to run rustc");
    let sysroot = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let lib = Path::new(&sysroot).join("lib/rustlib/wasm32-wasip1");
    if !lib.exists() {
        panic!("the wasm32-wasip1 target is not installed: run `rustup target add wasm32-wasip1`");
    }
}
