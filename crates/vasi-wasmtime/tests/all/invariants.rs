//! Random hostcalls through the real wasmtime binding, on every backend, with
//! invariants checked after every call (a fuzz-style test that runs in CI in
//! seconds; `VASI_FUZZ_CALLS=N` runs N calls per backend instead).
//!
//! A module exports a wasm function calling each preview1 import, so the
//! host drives each hostcall with random arguments over a memory it fills with a mix of random
//! bytes, plausible paths and iovecs. After every call:
//! - the call returned a defined errno, or trapped with a message naming it
//!   (bad pointers), never anything else, and the host did not panic;
//! - a successful write to stdout wrote exactly what it reported, and the
//!   capture buffer holds exactly the bytes reported written (no more host
//!   memory than the guest was told);
//! - a count written back never exceeds what the iovecs could hold;
//! - stdio and the preopen still answer `fd_fdstat_get` (fds 0-3 are never
//!   closed or renumbered by the generator, so they must stay intact);
//! - a MemFs never holds more than its byte and inode quotas;
//! - nothing appears beside a host sandbox, the file there is unchanged, and
//!   an overlay's lower directory stays empty.

use crate::harness::{OUTSIDE, OUTSIDE_CONTENTS};
use std::sync::Arc;
use vasi::vfs::{HostDir, MemFs, Overlay};
use vasi::{CaptureBuffer, WasiCtx, WasiCtxBuilder};
use wasmtime::{Engine, Func, Instance, Linker, Memory, Module, Store, Val};

const PAGES: u32 = 4;
const MEM: u32 = PAGES * 65536;
/// Byte quota of the quota'd MemFs.
const QUOTA: u64 = 256 * 1024;
/// Inode quota of the quota'd MemFs.
const INODES: u64 = 64;

/// The preview1 hostcalls with their wasm parameter types (`true`: `i64`).
fn hostcalls() -> Vec<(&'static str, Vec<bool>)> {
    macro_rules! list {
        ($($name:ident($($arg:ident: $ty:ident),*);)*) => {
            vec![$((stringify!($name), vec![$(stringify!($ty) == "i64"),*])),*]
        };
    }
    vasi::for_each_hostcall!(list)
}

/// A module importing every hostcall and exporting a function calling each,
/// `h_NAME`.
fn module(engine: &Engine) -> Module {
    let mut imports = String::new();
    let mut funcs = String::new();
    for (name, params) in hostcalls() {
        let ps: String = params
            .iter()
            .map(|&wide| if wide { " i64" } else { " i32" })
            .collect();
        let ps = if ps.is_empty() {
            String::new()
        } else {
            format!("(param{ps})")
        };
        imports.push_str(&format!(
            "(import \"wasi_snapshot_preview1\" \"{name}\" (func ${name} {ps} (result i32)))\n"
        ));
        // A wasm function calls the import, so that the host sees a call
        // from the instance (with its memory), as from any guest.
        let gets: String = (0..params.len())
            .map(|i| format!(" local.get {i}"))
            .collect();
        funcs.push_str(&format!(
            "(func (export \"h_{name}\") {ps} (result i32){gets} call ${name})\n"
        ));
    }
    let wat = format!("(module\n{imports}{funcs}(memory (export \"memory\") {PAGES} {PAGES}))");
    Module::new(engine, wat).unwrap()
}

#[path = "../../../vasi/tests/support/rng.rs"]
mod rng;
use rng::Rng;

/// Where the plausible things live in guest memory.
const PATHS: u32 = 0x1000;
const IOVS: u32 = 0x2000;
const DATA: u32 = 0x3000;
const OUT: u32 = 0x8000;

const NAMES: &[&str] = &[
    "a",
    "b",
    "a/b",
    "d",
    "d/e",
    "d/../a",
    "..",
    ".",
    "a/",
    "l",
    "d/l",
    "x/y/z",
    "../outside.txt",
    "/etc/passwd",
    "d/.",
    "a/b/c/d",
    "long-name-of-a-file",
    "",
];

/// Fills memory: random bytes, then NUL-padded paths at `PATHS + 64 * i`,
/// iovecs at `IOVS` over `DATA`, and a few random ones.
fn fill(rng: &mut Rng, mem: &mut [u8]) {
    for chunk in mem.chunks_mut(8) {
        let r = rng.next().to_le_bytes();
        chunk.copy_from_slice(&r[..chunk.len()]);
    }
    for (i, name) in NAMES.iter().enumerate() {
        let at = PATHS as usize + 64 * i;
        mem[at..at + 64].fill(0);
        mem[at..at + name.len()].copy_from_slice(name.as_bytes());
    }
    for i in 0..16u32 {
        let at = (IOVS + 8 * i) as usize;
        let (buf, len) = if rng.below(4) == 0 {
            (rng.below(u64::from(MEM)) as u32, rng.below(1 << 20) as u32)
        } else {
            (DATA + 512 * i, rng.below(600) as u32)
        };
        mem[at..at + 4].copy_from_slice(&buf.to_le_bytes());
        mem[at + 4..at + 8].copy_from_slice(&len.to_le_bytes());
    }
}

/// One argument for parameter `index` of `name`: mostly plausible, sometimes
/// wild.
fn arg(rng: &mut Rng, name: &str, index: usize, wide: bool) -> (Val, u64) {
    let pick = rng.below(16);
    let v: u64 = if wide {
        match pick {
            0..=5 => rng.below(64),
            6..=9 => rng.below(1 << 20),
            10 => u64::MAX,
            11 => i64::MAX as u64,
            _ => rng.next(),
        }
    } else {
        let is_fd = index == 0
            || (name == "path_link" && index == 4)
            || (name == "path_rename" && index == 3)
            || (name == "path_symlink" && index == 2)
            || (name == "fd_renumber" && index == 1);
        if is_fd {
            let fd = match pick {
                0..=11 => rng.below(10),
                12..=14 => rng.below(64),
                _ => rng.next() as u32 as u64,
            };
            // fds 0-3 (stdio and the preopen) are never closed or moved.
            if matches!(name, "fd_close" | "fd_renumber") && fd < 4 {
                fd + 4
            } else {
                fd
            }
        } else {
            match pick {
                0..=3 => u64::from(PATHS + 64 * rng.below(NAMES.len() as u64) as u32),
                4..=5 => u64::from(IOVS + 8 * rng.below(8) as u32),
                6..=7 => u64::from(OUT + 8 * rng.below(64) as u32),
                8..=10 => rng.below(32),
                11 => rng.below(u64::from(MEM)),
                12 => u64::from(MEM - rng.below(16) as u32),
                13 => u64::from(u32::MAX - rng.below(16) as u32),
                _ => rng.next() as u32 as u64,
            }
        }
    };
    let val = if wide {
        Val::I64(v as i64)
    } else {
        Val::I32(v as u32 as i32)
    };
    (val, v)
}

#[derive(Clone, Copy, Debug)]
enum Backend {
    Host,
    Mem,
    MemQuota,
    Overlay,
}

struct World {
    store: Store<WasiCtx>,
    memory: Memory,
    funcs: Vec<(&'static str, Vec<bool>, Func)>,
    stdout: CaptureBuffer,
    stderr: CaptureBuffer,
    /// A MemFs whose quotas (bytes, inodes) must hold.
    quota_fs: Option<(MemFs, u64, u64)>,
    host: Option<tempfile::TempDir>,
}

fn world(engine: &Engine, module: &Module, backend: Backend, seed: u64) -> World {
    let stdout = CaptureBuffer::new();
    let stderr = CaptureBuffer::new();
    let mut b = WasiCtxBuilder::new();
    b.args(["fuzz", "--arg"])
        .env("K", "V")
        .stdin(std::io::Cursor::new(vec![b'i'; 1000]))
        .stdout(stdout.clone())
        .stderr(stderr.clone())
        .deterministic(seed)
        .max_open_files(32);
    let mut quota_fs = None;
    let mut host = None;
    match backend {
        Backend::Host | Backend::Overlay => {
            let parent = tempfile::tempdir().unwrap();
            std::fs::create_dir(parent.path().join("sandbox")).unwrap();
            std::fs::write(parent.path().join(OUTSIDE), OUTSIDE_CONTENTS).unwrap();
            let dir = HostDir::open_ambient(parent.path().join("sandbox")).unwrap();
            if matches!(backend, Backend::Host) {
                b.preopen_dir(Arc::new(dir), "/sandbox");
            } else {
                let overlay = Overlay::new(MemFs::with_quota(8 << 20).root(), Arc::new(dir));
                b.preopen_dir(Arc::new(overlay), "/sandbox");
            }
            host = Some(parent);
        }
        Backend::Mem => {
            // A quota well below the default 1 GiB: a random set_size must
            // not make the test allocate a gigabyte.
            let fs = MemFs::with_quota(8 << 20);
            fs.write("a", b"hello").unwrap();
            fs.write("d/e", b"nested").unwrap();
            b.preopen_dir(fs.root(), "/sandbox");
            quota_fs = Some((fs, 8 << 20, u64::MAX));
        }
        Backend::MemQuota => {
            let fs = MemFs::with_quotas(QUOTA, INODES);
            b.preopen_dir(fs.root(), "/sandbox");
            quota_fs = Some((fs, QUOTA, INODES));
        }
    }
    let ctx = b.build().unwrap();
    let mut linker: Linker<WasiCtx> = Linker::new(engine);
    vasi_wasmtime::add_to_linker(&mut linker, |c| c).unwrap();
    let mut store = Store::new(engine, ctx);
    let instance: Instance = linker.instantiate(&mut store, module).unwrap();
    let memory = instance.get_memory(&mut store, "memory").unwrap();
    let funcs = hostcalls()
        .into_iter()
        // proc_raise has no handler here (ENOSYS); sched_yield is harmless.
        .map(|(name, params)| {
            let f = instance.get_func(&mut store, &format!("h_{name}")).unwrap();
            (name, params, f)
        })
        .collect();
    World {
        store,
        memory,
        funcs,
        stdout,
        stderr,
        quota_fs,
        host,
    }
}

/// The highest preview1 errno (`ENOTCAPABLE`).
const MAX_ERRNO: i32 = 76;

fn run_backend(backend: Backend, calls: u64, seed: u64) {
    let engine = crate::harness::engine();
    let module = module(engine);
    let mut rng = Rng(seed | 1);
    let mut w = world(engine, &module, backend, seed);
    let mut reported_stdout = 0u64;
    let mut reported_stderr = 0u64;
    let mut errnos = [0u64; MAX_ERRNO as usize + 1];
    let mut traps = 0u64;
    for i in 0..calls {
        if i % 200 == 0 {
            fill(&mut rng, w.memory.data_mut(&mut w.store));
        }
        let (name, params, func) = {
            let k = rng.below(w.funcs.len() as u64) as usize;
            let (n, p, f) = &w.funcs[k];
            (*n, p.clone(), *f)
        };
        let mut args = Vec::with_capacity(params.len());
        let mut raw = Vec::with_capacity(params.len());
        for (j, &wide) in params.iter().enumerate() {
            let (v, r) = arg(&mut rng, name, j, wide);
            args.push(v);
            raw.push(r);
        }
        let mut result = [Val::I32(0)];
        match func.call(&mut w.store, &args, &mut result) {
            Ok(()) => {
                let errno = result[0].unwrap_i32();
                assert!(
                    (0..=MAX_ERRNO).contains(&errno),
                    "{name}{raw:?} returned {errno}"
                );
                errnos[errno as usize] += 1;
                if errno == 0 && name == "fd_write" && raw[0] <= 2 {
                    let data = w.memory.data(&w.store);
                    let (iovs, n, out) = (raw[1] as usize, raw[2] as usize, raw[3] as usize);
                    let written =
                        u64::from(u32::from_le_bytes(data[out..out + 4].try_into().unwrap()));
                    let room: u64 = (0..n)
                        .map(|k| {
                            let at = iovs + 8 * k;
                            u64::from(u32::from_le_bytes(data[at + 4..at + 8].try_into().unwrap()))
                        })
                        .sum();
                    assert!(written <= room, "{name}{raw:?}: {written} > {room}");
                    match raw[0] {
                        1 => reported_stdout += written,
                        2 => reported_stderr += written,
                        _ => {}
                    }
                }
            }
            Err(e) => {
                let msg = format!("{e:?}");
                assert!(
                    msg.contains(&format!("{name}: "))
                        && (msg.contains("out-of-bounds") || msg.contains("misaligned")),
                    "{name}{raw:?} failed other than by a bad pointer: {msg}"
                );
                traps += 1;
            }
        }
        // Invariants after every call.
        assert_eq!(
            w.stdout.contents().len() as u64,
            reported_stdout,
            "stdout holds what the guest was told it wrote (after {name}{raw:?})"
        );
        assert_eq!(w.stderr.contents().len() as u64, reported_stderr);
        if let Some((fs, bytes, inodes)) = &w.quota_fs {
            assert!(
                fs.used_bytes() <= *bytes,
                "{} > {bytes} bytes after {name}{raw:?}",
                fs.used_bytes()
            );
            assert!(
                fs.used_inodes() <= *inodes,
                "{} > {inodes} inodes after {name}{raw:?}",
                fs.used_inodes()
            );
        }
        if i % 50 == 0 {
            let fdstat = w.funcs.iter().find(|f| f.0 == "fd_fdstat_get").unwrap().2;
            for fd in 0..4 {
                let mut r = [Val::I32(0)];
                fdstat
                    .call(&mut w.store, &[Val::I32(fd), Val::I32(OUT as i32)], &mut r)
                    .unwrap();
                assert_eq!(r[0].unwrap_i32(), 0, "fd {fd} lost after {name}{raw:?}");
            }
        }
    }
    if let Some(parent) = &w.host {
        let mut names: Vec<_> = std::fs::read_dir(parent.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(names, [OUTSIDE, "sandbox"], "{backend:?}: written outside");
        assert_eq!(
            std::fs::read_to_string(parent.path().join(OUTSIDE)).unwrap(),
            OUTSIDE_CONTENTS
        );
        if matches!(backend, Backend::Overlay) {
            let lower = std::fs::read_dir(parent.path().join("sandbox"))
                .unwrap()
                .count();
            assert_eq!(lower, 0, "the overlay wrote to its lower layer");
        }
    }
    // The run exercised more than errors: some calls succeeded, some trapped.
    assert!(
        errnos[0] > calls / 50,
        "{backend:?}: only {} successes",
        errnos[0]
    );
    assert!(traps > 0, "{backend:?}: no call trapped");
}

fn calls() -> u64 {
    std::env::var("VASI_FUZZ_CALLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000)
}

#[test]
fn random_hostcalls_keep_the_invariants_on_host_dir() {
    run_backend(Backend::Host, calls(), 0x0123_4567_89ab_cdef);
}

#[test]
fn random_hostcalls_keep_the_invariants_on_mem_fs() {
    run_backend(Backend::Mem, calls(), 0x1111_2222_3333_4444);
}

#[test]
fn random_hostcalls_keep_the_invariants_on_a_quota_mem_fs() {
    run_backend(Backend::MemQuota, calls(), 0x5555_6666_7777_8888);
}

#[test]
fn random_hostcalls_keep_the_invariants_on_an_overlay() {
    run_backend(Backend::Overlay, calls(), 0x9999_aaaa_bbbb_cccc);
}
