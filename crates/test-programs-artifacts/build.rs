//! Builds the guest programs in tests/programs for wasm32-wasip1 and those in
//! tests/threads-programs for wasm32-wasip1-threads, and emits a constant with
//! the path of each module, plus one `foreach_*!` macro per suite of programs
//! (see `SUITES`).

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
    Suite {
        prefixes: &["threads_"],
        macro_name: "foreach_threads_program",
        tested_by: "vasi-wasmtime's tests/all/threads.rs",
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
    println!("cargo:rerun-if-changed=../../tests/threads-programs/src");
    println!("cargo:rerun-if-changed=../../tests/threads-programs/Cargo.toml");
    let threads = root.join("tests/threads-programs");
    let mut names = Vec::new();
    for (dir, target) in [
        (&programs, "wasm32-wasip1"),
        (&threads, "wasm32-wasip1-threads"),
    ] {
        check_target_installed(target);
        build(dir, target, &target_dir);
        let wasm_dir = target_dir.join(target).join("release");
        for name in bin_names(dir) {
            names.push((name.clone(), wasm_dir.join(format!("{name}.wasm"))));
        }
    }
    names.sort();

    let mut src = String::new();
    for (name, path) in &names {
        assert!(
            SUITES.iter().any(|suite| suite.has(name)),
            "unclassified guest program {name}: name it p1_<behaviour>, globals_<behaviour> \
             or (in tests/threads-programs) threads_<behaviour>"
        );
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
            .map(|(n, _)| format!("({n:?}, {})", n.to_uppercase()))
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
                .map(|(n, _)| n)
                .filter(|n| suite.has(n))
                .map(|n| format!("        $m!({n});\n"))
                .collect::<String>()
        )
        .unwrap();
    }
    fs::write(out_dir.join("programs.rs"), src).unwrap();
}

/// Builds the guest crate in `dir` for `target`, in release mode.
fn build(dir: &Path, target: &str, target_dir: &Path) {
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.arg("build")
        .arg("--release")
        .arg(format!("--target={target}"))
        .arg("--manifest-path")
        .arg(dir.join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", target_dir)
        .env("RUSTFLAGS", "-D warnings")
        // The outer build's flags are for the host, not for the guests.
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_BUILD_RUSTFLAGS")
        .env_remove("RUSTC_WORKSPACE_WRAPPER");
    let status = cmd
        .status()
        .unwrap_or_else(|e| panic!("failed to run cargo for {}: {e}", dir.display()));
    assert!(
        status.success(),
        "building {} for {target} failed",
        dir.display()
    );
}

/// The names of the programs in `dir/src/bin`.
fn bin_names(dir: &Path) -> Vec<String> {
    fs::read_dir(dir.join("src/bin"))
        .unwrap()
        .filter_map(|e| {
            let p = e.unwrap().path();
            (p.extension()? == "rs").then(|| p.file_stem().unwrap().to_str().unwrap().to_string())
        })
        .collect()
}

/// Fails with a one-line fix when the standard library of `target` is missing.
fn check_target_installed(target: &str) {
    let rustc = env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let out = Command::new(rustc)
        .args(["--print", "sysroot"])
        .output()
        .expect("failed to run rustc");
    let sysroot = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let lib = Path::new(&sysroot).join("lib/rustlib").join(target);
    if !lib.exists() {
        panic!("the {target} target is not installed: run `rustup target add {target}`");
    }
}
