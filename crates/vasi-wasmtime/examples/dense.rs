//! An instance per request: every request body is one guest's stdin, its
//! stdout is the response, and every guest sees the same filesystem image
//! through a private copy-on-write layer.
//!
//! `cargo run --release -p vasi-wasmtime --example dense -- [APP.wasm] [REQUESTS]`
//!
//! Without `APP.wasm`, a small built-in guest answers each request with the
//! image's `/etc/greeting` followed by the request body, and leaves a file in
//! `/tmp` that no other request sees.

use std::io::Cursor;
use std::time::Instant;
use vasi::vfs::MemFs;
use vasi::CaptureBuffer;
use vasi_wasmtime::dense::{DenseConfig, DenseHost, Template};

/// Prints `etc/greeting`, then copies stdin to stdout and to `tmp/last`.
const GUEST: &str = r#"(module
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_open"
    (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 0x40) "etc/greeting")
  (data (i32.const 0x50) "tmp/last")
  (func $check (param $errno i32)
    (if (local.get $errno) (then (call $proc_exit (local.get $errno)))))
  ;; Reads fd into 0x100.. (up to 3 KiB) and writes what it read to fd $to.
  (func $copy (param $from i32) (param $to i32) (result i32)
    (i32.store (i32.const 0x20) (i32.const 0x100))
    (i32.store (i32.const 0x24) (i32.const 3072))
    (call $check (call $fd_read (local.get $from) (i32.const 0x20) (i32.const 1) (i32.const 0x24)))
    (call $check (call $fd_write (local.get $to) (i32.const 0x20) (i32.const 1) (i32.const 0x28)))
    (i32.load (i32.const 0x24)))
  (func $open (param $path i32) (param $len i32) (param $oflags i32) (result i32)
    (call $check (call $path_open (i32.const 3) (i32.const 0) (local.get $path) (local.get $len)
      (local.get $oflags) (i64.const 0x1fffffff) (i64.const 0x1fffffff) (i32.const 0) (i32.const 0x10)))
    (i32.load (i32.const 0x10)))
  (func (export "_start")
    (drop (call $copy (call $open (i32.const 0x40) (i32.const 12) (i32.const 0)) (i32.const 1)))
    ;; The body: to stdout, then (the same iovec, now of its length) to tmp/last.
    (drop (call $copy (i32.const 0) (i32.const 1)))
    (call $check (call $fd_write (call $open (i32.const 0x50) (i32.const 8) (i32.const 9))
      (i32.const 0x20) (i32.const 1) (i32.const 0x28)))))"#;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (wasm, requests) = match args.as_slice() {
        [] => (None, 10_000),
        [n] if n.parse::<usize>().is_ok() => (None, n.parse()?),
        [path] => (Some(path.clone()), 10_000),
        [path, n, ..] => (Some(path.clone()), n.parse()?),
    };

    // Once: the engine and its pool, the module, the image, the template.
    let host = DenseHost::new(&DenseConfig::default().max_instances(64))?;
    let module = match &wasm {
        Some(path) => host.compile(&std::fs::read(path)?)?,
        None => host.compile(GUEST.as_bytes())?,
    };
    let image = MemFs::new();
    image.write("etc/greeting", b"hello, ")?;
    image.create_dir_all("tmp")?;
    let mut template = Template::new();
    template
        .arg("app")
        .env("SERVER", "vasi-dense")
        .image(image.root(), "/");

    // Per request: a context from the template, an instance, a run.
    let start = Instant::now();
    let mut last = String::new();
    for i in 0..requests {
        let body = format!("request {i}\n");
        let response = CaptureBuffer::new();
        let mut ctx = template.builder();
        ctx.stdin(Cursor::new(body.into_bytes()))
            .stdout(response.clone());
        let mut guest = module.instantiate(ctx.build()?)?;
        let code = guest.run()?;
        if code != 0 {
            return Err(format!("request {i}: the guest exited with {code}").into());
        }
        last = response.to_string_lossy();
    } // the guest is dropped here, and its pool slot reused
    let elapsed = start.elapsed();
    print!("last response: {last}");
    println!(
        "{requests} requests in {:.1} ms: {:.0} instances/s",
        elapsed.as_secs_f64() * 1e3,
        requests as f64 / elapsed.as_secs_f64()
    );
    // No request's /tmp/last reached the image.
    assert!(image.read("tmp/last").is_err());
    Ok(())
}
