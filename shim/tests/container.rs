//! The shim's sandbox inside real containers (namespaces, pivot_root into the
//! rootfs, stdio files), through containerd-shim-wasm's own test helpers, as
//! runwasi's shims are tested. Needs root. The helpers fork a zygote process,
//! so these tests run one at a time (a lock; the binary also runs with
//! `--test-threads=1` in CI).

mod common;

use containerd_shim_vasi::VasiShim;
use containerd_shim_wasm::testing::WasiTest;
use std::sync::Mutex;
use std::time::{Duration, Instant};

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn lock() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

const EROFS: u32 = 69;

#[test]
fn hello_and_exit_code() -> anyhow::Result<()> {
    let _l = lock();
    let (code, stdout, _) = WasiTest::<VasiShim>::builder()?
        .with_wasm(common::hello_exit(42))?
        .build()?
        .start()?
        .wait(Duration::from_secs(20))?;
    assert_eq!(code, 42);
    assert_eq!(stdout, "hello\n");
    Ok(())
}

#[test]
fn args_and_env_come_from_the_spec() -> anyhow::Result<()> {
    let _l = lock();
    // The helpers' spec: args ["/hello.wasm"], oci-spec's default env.
    let (code, stdout, _) = WasiTest::<VasiShim>::builder()?
        .with_wasm(common::args_env())?
        .build()?
        .start()?
        .wait(Duration::from_secs(20))?;
    assert_eq!(code, 0);
    assert_eq!(
        stdout,
        "/hello.wasm\nPATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\nTERM=xterm\n"
    );
    Ok(())
}

#[test]
fn the_rootfs_is_read_only() -> anyhow::Result<()> {
    let _l = lock();
    let test = WasiTest::<VasiShim>::builder()?
        .with_wasm(common::create_file(3, "written.txt"))?
        .build()?;
    let rootfs = test.root().join("rootfs");
    let (code, _, stderr) = test.start()?.wait(Duration::from_secs(20))?;
    assert_eq!(code, EROFS, "{stderr}");
    assert!(!rootfs.join("written.txt").exists());
    assert!(rootfs.join("hello.wasm").exists(), "the rootfs is the one");
    Ok(())
}

#[test]
fn a_trap_is_a_failure() -> anyhow::Result<()> {
    let _l = lock();
    let (code, _, _) = WasiTest::<VasiShim>::builder()?
        .with_wasm(wat::parse_str(
            r#"(module (memory (export "memory") 1) (func (export "_start") unreachable))"#,
        )?)?
        .build()?
        .start()?
        .wait(Duration::from_secs(20))?;
    assert_eq!(code, containerd_shim_vasi::EXIT_TRAP as u32);
    Ok(())
}

/// Starts `wasm`, waits until it printed `ready`, sends `signal`, and returns
/// the exit code and how long the container took to end.
fn signal_when(
    wasm: Vec<u8>,
    ready: &str,
    signal: fn(&WasiTest<VasiShim>) -> anyhow::Result<&WasiTest<VasiShim>>,
) -> anyhow::Result<(u32, Duration)> {
    let test = WasiTest::<VasiShim>::builder()?.with_wasm(wasm)?.build()?;
    test.start()?;
    let t = Instant::now();
    while test.read_stdout()?.unwrap_or_default() != ready {
        assert!(t.elapsed() < Duration::from_secs(20), "never got ready");
        std::thread::sleep(Duration::from_millis(20));
    }
    // The guest is in its blocking call (or its loop) once it printed.
    std::thread::sleep(Duration::from_millis(100));
    let t = Instant::now();
    signal(&test)?;
    let (code, _, _) = test.wait(Duration::from_secs(10))?;
    Ok((code, t.elapsed()))
}

#[test]
fn sigterm_ends_a_guest_sleeping_in_wasi_within_a_second() -> anyhow::Result<()> {
    let _l = lock();
    let (code, took) = signal_when(common::sleep_hour(), "sleeping\n", |t| t.terminate())?;
    assert_eq!(code, 128 + 15);
    assert!(took < Duration::from_secs(1), "took {took:?}");
    Ok(())
}

#[test]
fn sigint_ends_a_guest_spinning_in_wasm_within_a_second() -> anyhow::Result<()> {
    let _l = lock();
    let (code, took) = signal_when(common::spin(), "spinning\n", |t| t.ctrl_c())?;
    assert_eq!(code, 128 + 2);
    assert!(took < Duration::from_secs(1), "took {took:?}");
    Ok(())
}

#[test]
fn sigkill_ends_a_sleeping_guest() -> anyhow::Result<()> {
    let _l = lock();
    let (code, took) = signal_when(common::sleep_hour(), "sleeping\n", |t| t.kill())?;
    assert_eq!(code, 128 + 9);
    assert!(took < Duration::from_secs(1), "took {took:?}");
    Ok(())
}
