//! Start-up of a bundle against the same program over the unpacked tree,
//! with the module compiled once, so that only the guest's world differs:
//!
//! `cargo run --release -p vasi-bundle --example bench_bundle -- APP.bundle.wasm HOST_DIR [RUNS]`
//!
//! The bundle must have one mount; the `--dir` variant mounts the host
//! directory HOST_DIR (the unpacked tree) at the same guest path, read-only
//! when the bundle's mount is, with the bundle's configuration otherwise.
//! Each run builds a context (the bundle variant parses the bundle again,
//! from bytes already in memory), instantiates and runs `_start`, capturing
//! stdout; the two variants must print the same. With `--drop-caches` as
//! the fourth argument (root only), the page cache is dropped before the
//! first run of each variant. Prints the first run and the median of the
//! others, in milliseconds, after the median time of `Bundle::parse` (the
//! whole check of the index) over 100 parses; with RUNS 0, only that.

use std::sync::Arc;
use std::time::Instant;
use vasi::vfs::{Dir, HostDir, ReadOnly};
use vasi::{CaptureBuffer, WasiCtx, WasiCtxBuilder};
use vasi_bundle::{Bundle, MountMode};
use wasmtime::{Engine, InstancePre, Linker, Module, Store};

fn run(pre: &InstancePre<WasiCtx>, engine: &Engine, mut b: WasiCtxBuilder) -> String {
    let out = CaptureBuffer::new();
    let ctx = b.stdout(out.clone()).build().expect("context");
    let mut store = Store::new(engine, ctx);
    let instance = pre.instantiate(&mut store).expect("instantiate");
    let start = instance
        .get_typed_func::<(), ()>(&mut store, "_start")
        .expect("_start");
    let code = vasi_wasmtime::exit_code(start.call(&mut store, ())).expect("run");
    assert_eq!(code, 0, "the guest failed");
    out.to_string_lossy()
}

fn drop_caches() {
    let _ = std::fs::write("/proc/sys/vm/drop_caches", "1");
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [path, host, rest @ ..] = &args[..] else {
        return Err("usage: bench_bundle APP.bundle.wasm HOST_DIR [RUNS] [--drop-caches]".into());
    };
    let runs: usize = rest.first().map_or(Ok(10), |r| r.parse())?;
    let cold = rest.get(1).is_some_and(|a| a == "--drop-caches");
    let bytes: Arc<[u8]> = std::fs::read(path)?.into();
    let bundle = Bundle::parse_source(Arc::new(bytes.clone()))?;
    let [mount] = bundle.mounts() else {
        return Err("the bundle must have exactly one mount".into());
    };
    let (guest, read_only) = (
        mount.guest_path().to_string(),
        mount.mode() == MountMode::ReadOnly,
    );

    let mut parses: Vec<f64> = (0..100)
        .map(|_| {
            let t = Instant::now();
            let b = Bundle::parse_source(Arc::new(bytes.clone())).expect("parse");
            let us = t.elapsed().as_secs_f64() * 1e6;
            drop(b);
            us
        })
        .collect();
    parses.sort_by(f64::total_cmp);
    let s = mount.image().stats();
    println!(
        "parse (index check of {} files, {} directories): median {:.1} us",
        s.files, s.dirs, parses[50]
    );
    if runs == 0 {
        return Ok(());
    }

    let engine = Engine::default();
    let mut linker = Linker::new(&engine);
    vasi_wasmtime::add_to_linker(&mut linker, |ctx: &mut WasiCtx| ctx)?;
    let module = Module::new(&engine, bundle.module())?;
    let pre = linker.instantiate_pre(&module)?;

    let packed = || {
        let bundle = Bundle::parse_source(Arc::new(bytes.clone())).expect("parse");
        let mut b = WasiCtxBuilder::new();
        bundle.apply(&mut b);
        b
    };
    let unpacked = || {
        let mut b = WasiCtxBuilder::new();
        let c = bundle.config();
        b.arg(c.argv0.clone().unwrap_or_else(|| "main.wasm".into()));
        b.args(c.args.iter().cloned());
        for (k, v) in &c.env {
            b.env(k.clone(), v.clone());
        }
        let dir: Arc<dyn Dir> = Arc::new(HostDir::open_ambient(host).expect("host dir"));
        let dir: Arc<dyn Dir> = if read_only {
            Arc::new(ReadOnly::new(dir))
        } else {
            dir
        };
        b.preopen_dir(dir, guest.clone());
        b
    };
    let mut times = [Vec::new(), Vec::new()];
    let mut outputs = [String::new(), String::new()];
    for i in 0..runs {
        for (v, make) in [&packed as &dyn Fn() -> WasiCtxBuilder, &unpacked]
            .into_iter()
            .enumerate()
        {
            if i == 0 && cold {
                drop_caches();
            }
            let t = Instant::now();
            let out = run(&pre, &engine, make());
            times[v].push(t.elapsed().as_secs_f64() * 1e3);
            if i == 0 {
                outputs[v] = out;
            } else {
                assert_eq!(out, outputs[v], "a run printed something else");
            }
        }
    }
    assert_eq!(outputs[0], outputs[1], "packed and unpacked outputs differ");
    for (v, name) in ["bundle", "--dir"].into_iter().enumerate() {
        let first = times[v][0];
        let mut rest = times[v][1..].to_vec();
        rest.sort_by(f64::total_cmp);
        let median = rest.get(rest.len() / 2).copied().unwrap_or(first);
        println!(
            "{name}: first run {first:.1} ms, median of the next {} {median:.1} ms",
            rest.len()
        );
    }
    println!("same output ({} lines)", outputs[0].lines().count());
    Ok(())
}
