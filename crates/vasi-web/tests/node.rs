//! Runs `tests/node/web.test.mjs` under Node: our guest programs and the JS
//! API on vasi-web. Builds `vasi_web.wasm` first (cargo, wasm32-unknown-unknown,
//! profile `web`, in a target dir of its own below this build's, so that it
//! never waits for the outer build's lock). Without `node` on PATH the test
//! fails unless `VASI_WEB_SKIP_NODE=1` says to skip it.

use std::path::{Path, PathBuf};
use std::process::Command;

fn node_available() -> bool {
    Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Builds vasi_web.wasm; returns its path.
fn build_vasi_web() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let exe = std::env::current_exe().unwrap();
    // target/debug/deps/node-xxxx -> target/vasi-web
    let target = exe.ancestors().nth(3).unwrap().join("vasi-web");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(cargo)
        .args(["build", "--quiet", "-p", "vasi-web", "--profile", "web"])
        .args(["--target", "wasm32-unknown-unknown"])
        .current_dir(manifest)
        .env("CARGO_TARGET_DIR", &target)
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("RUSTFLAGS")
        .status()
        .expect("failed to run cargo for vasi_web.wasm");
    assert!(status.success(), "building vasi_web.wasm failed");
    target.join("wasm32-unknown-unknown/web/vasi_web.wasm")
}

#[test]
fn vasi_web_under_node() {
    if !node_available() {
        assert!(
            std::env::var_os("VASI_WEB_SKIP_NODE").is_some(),
            "node is not on PATH (install Node 20, or set VASI_WEB_SKIP_NODE=1 to skip)"
        );
        eprintln!("skipped: no node");
        return;
    }
    let wasm = build_vasi_web();
    let programs = Path::new(test_programs_artifacts::P1_PRINT)
        .parent()
        .unwrap()
        .to_path_buf();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/node/web.test.mjs");
    let out = Command::new("node")
        .arg("--test")
        .arg("--test-reporter=spec")
        .arg(&script)
        .env("VASI_WEB_WASM", &wasm)
        .env("VASI_PROGRAMS", &programs)
        .output()
        .expect("failed to run node");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "node --test {} failed:\n{stdout}\n{stderr}",
        script.display()
    );
    // Every test ran (node:test reports skipped and todo tests as passing).
    assert!(stdout.contains("ℹ fail 0"), "{stdout}");
    assert!(!stdout.contains("ℹ pass 0"), "{stdout}");
}
