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
    let bundles = tempfile::tempdir().unwrap();
    write_bundles(bundles.path());
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/node/web.test.mjs");
    let out = Command::new("node")
        .arg("--test")
        .arg("--test-reporter=spec")
        .arg(&script)
        .env("VASI_WEB_WASM", &wasm)
        .env("VASI_PROGRAMS", &programs)
        .env("VASI_BUNDLES", bundles.path())
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

/// The bundles the Node tests run: `cat.wasm`, p1_cat with its world (argv0
/// `cat`, two files to print, a read-only `/data` and a copy-on-write
/// `/work`), and `fuel.wasm`, the same with a fuel limit vasi-web cannot
/// enforce.
fn write_bundles(dir: &Path) {
    use vasi_bundle::{BundleBuilder, Config, ImageBuilder, MountMode};
    let module = std::fs::read(test_programs_artifacts::P1_CAT).unwrap();
    let write = |name: &str, config: Config| {
        let mut data = ImageBuilder::new();
        data.add_file("hello.txt", b"hello from the bundle\n".to_vec(), 0)
            .unwrap();
        data.add_file("sub/a.txt", b"a\n".to_vec(), 0).unwrap();
        let mut work = ImageBuilder::new();
        work.add_file("notes.txt", b"work notes\n".to_vec(), 0)
            .unwrap();
        let mut b = BundleBuilder::new(config);
        b.mount("/data", MountMode::ReadOnly, data).unwrap();
        b.mount("/work", MountMode::CopyOnWrite, work).unwrap();
        let mut out = Vec::new();
        b.write(&module, &mut out).unwrap();
        std::fs::write(dir.join(name), out).unwrap();
    };
    let mut config = Config::default();
    config.argv0 = Some("cat".into());
    config.args = vec!["/data/hello.txt".into(), "/work/notes.txt".into()];
    config.env = vec![("LANG".into(), "C".into())];
    write("cat.wasm", config.clone());
    config.fuel = Some(1_000_000);
    write("fuel.wasm", config);
}
