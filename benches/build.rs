//! Builds the guest benchmarks in `guest/` for wasm32-wasip1 and passes the
//! paths of the modules to the harnesses as `BENCH_WASM`, `HELLO_WASM` and
//! `FILERW_WASM`.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    let manifest_dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").unwrap());
    let guest = manifest_dir.join("guest");
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").unwrap());
    let target_dir = out_dir.join("guest-target");

    println!("cargo:rerun-if-changed=guest/src");
    println!("cargo:rerun-if-changed=guest/Cargo.toml");
    check_target_installed();

    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(cargo)
        .args([
            "build",
            "--release",
            "--target=wasm32-wasip1",
            "--manifest-path",
        ])
        .arg(guest.join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", &target_dir)
        .env("RUSTFLAGS", "-D warnings")
        // The outer build's flags are for the host, not for the guest.
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_BUILD_RUSTFLAGS")
        .env_remove("RUSTC_WORKSPACE_WRAPPER")
        .status()
        .expect("failed to run cargo for benches/guest");
    assert!(
        status.success(),
        "building benches/guest for wasm32-wasip1 failed"
    );

    let wasm_dir = target_dir.join("wasm32-wasip1/release");
    for (var, name) in [
        ("BENCH_WASM", "bench"),
        ("HELLO_WASM", "hello"),
        ("FILERW_WASM", "filerw"),
    ] {
        let path = wasm_dir.join(format!("{name}.wasm"));
        assert!(path.exists(), "{} was not built", path.display());
        println!("cargo:rustc-env={var}={}", path.display());
    }
}

/// Fails with a one-line fix when the wasm32-wasip1 standard library is missing.
fn check_target_installed() {
    let rustc = env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let out = Command::new(rustc)
        .args(["--print", "sysroot"])
        .output()
        .expect("failed to run rustc");
    let sysroot = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if !Path::new(&sysroot)
        .join("lib/rustlib/wasm32-wasip1")
        .exists()
    {
        panic!("the wasm32-wasip1 target is not installed: run `rustup target add wasm32-wasip1`");
    }
}
