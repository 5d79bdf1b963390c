//! Builds the guest programs in tests/programs for wasm32-wasip1 and emits a
//! constant with the path of each module, plus `foreach_program!`.

use std::env;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

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
            name.starts_with("p1_") || name.starts_with("demo"),
            "unclassified guest program {name}: name it p1_<behaviour>"
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
    writeln!(
        src,
        "/// Calls `$m!(name)` for every guest program, so that a host test module\n\
         /// can make an untested program a compile error.\n\
         #[macro_export]\nmacro_rules! foreach_program {{\n    ($m:ident) => {{\n{}    }};\n}}",
        names
            .iter()
            .map(|n| format!("        $m!({n});\n"))
            .collect::<String>()
    )
    .unwrap();
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
