//! How `vasi run` gets from a file to running code, run as a subprocess: the
//! compile cache, `vasi compile` and `.cwasm` files, `--invoke`, unknown
//! imports, wasm proposals. Every run uses a cache directory of its own
//! test, never the user's.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use test_programs_artifacts as programs;

mod common;
use common::{stderr, stdout};

/// `vasi ARGS` with the cache in `cache` (and hits and misses logged).
fn vasi_in(cache: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vasi"))
        .args(args)
        .env("VASI_CACHE_DIR", cache)
        .env("VASI_CACHE_LOG", "1")
        .env_remove("VASI_CACHE_MAX_SIZE")
        .stdin(Stdio::null())
        .output()
        .expect("run vasi")
}

/// The lines of stderr that are not the cache's log.
fn errors(o: &Output) -> Vec<String> {
    stderr(o)
        .lines()
        .filter(|l| !l.starts_with("vasi: cache: "))
        .map(String::from)
        .collect()
}

/// Asserts that vasi failed with `code` and one error line containing `what`.
#[track_caller]
fn assert_error_line(o: &Output, code: i32, what: &str) {
    let errs = errors(o);
    assert_eq!(o.status.code(), Some(code), "stderr: {}", stderr(o));
    assert_eq!(errs.len(), 1, "one error line expected, got: {errs:?}");
    assert!(
        errs[0].contains(what),
        "{:?} should mention {what:?}",
        errs[0]
    );
}

/// The cache's entries.
fn entries(cache: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(cache)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    v.retain(|p| p.extension().is_some_and(|e| e == "cwasm"));
    v.sort();
    v
}

/// Writes the text-format module `wat` as a binary to `dir/name`.
fn module(dir: &Path, name: &str, wat: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, wat::parse_str(wat).expect("valid wat")).unwrap();
    path.to_str().unwrap().to_string()
}

#[test]
fn a_second_run_hits_the_cache_and_no_cache_stores_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    let first = vasi_in(&cache, &["run", programs::P1_PRINT, "a"]);
    assert!(first.status.success(), "{}", stderr(&first));
    assert!(
        stderr(&first).contains("vasi: cache: miss"),
        "{}",
        stderr(&first)
    );
    assert!(
        stderr(&first).contains("vasi: cache: stored"),
        "{}",
        stderr(&first)
    );
    assert_eq!(entries(&cache).len(), 1);
    let second = vasi_in(&cache, &["run", programs::P1_PRINT, "a"]);
    assert!(second.status.success(), "{}", stderr(&second));
    assert!(
        stderr(&second).contains("vasi: cache: hit"),
        "{}",
        stderr(&second)
    );
    assert!(!stderr(&second).contains("miss"), "{}", stderr(&second));
    assert_eq!(stdout(&first), stdout(&second));
    assert_eq!(
        stdout(&second),
        format!("arg: {}\narg: a\n", programs::P1_PRINT)
    );

    // Another module is another entry.
    let o = vasi_in(&cache, &["run", programs::P1_EXIT_CODE, "0"]);
    assert!(stderr(&o).contains("vasi: cache: miss"), "{}", stderr(&o));
    assert_eq!(entries(&cache).len(), 2);

    let other = tmp.path().join("other");
    let o = vasi_in(&other, &["run", "--no-cache", programs::P1_PRINT]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!stderr(&o).contains("vasi: cache"), "{}", stderr(&o));
    assert!(!other.exists(), "--no-cache created the cache directory");
}

#[test]
fn a_corrupt_or_truncated_entry_is_recompiled_never_run() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    let run = || vasi_in(&cache, &["run", programs::P1_EXIT_CODE, "7"]);
    assert_eq!(run().status.code(), Some(7));
    let entry = entries(&cache).pop().expect("an entry");
    let good = std::fs::read(&entry).unwrap();

    // One flipped bit in the compiled code (which comes before vasi's
    // trailer).
    let mut bad = good.clone();
    let at = bad.len() / 2;
    bad[at] ^= 0x01;
    std::fs::write(&entry, &bad).unwrap();
    let o = run();
    assert_eq!(o.status.code(), Some(7), "{}", stderr(&o));
    assert!(stderr(&o).contains("corrupt"), "{}", stderr(&o));
    assert!(stderr(&o).contains("vasi: cache: stored"), "{}", stderr(&o));
    assert_eq!(
        std::fs::read(&entry).unwrap(),
        good,
        "the entry was not rewritten"
    );

    // Cut short, at several places: in the code and in the trailer.
    for len in [3, 20, good.len() / 2, good.len() - 1] {
        std::fs::write(&entry, &good[..len]).unwrap();
        let o = run();
        assert_eq!(o.status.code(), Some(7), "{}", stderr(&o));
        assert!(stderr(&o).contains("miss"), "{len}: {}", stderr(&o));
        assert_eq!(std::fs::read(&entry).unwrap(), good);
    }
    // Junk of the right length.
    std::fs::write(&entry, vec![0xa5; good.len()]).unwrap();
    assert_eq!(run().status.code(), Some(7));
    assert!(stderr(&run()).contains("vasi: cache: hit"));
}

#[test]
fn concurrent_runs_on_a_fresh_cache_all_succeed() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    let children: Vec<_> = (0..4)
        .map(|i| {
            Command::new(env!("CARGO_BIN_EXE_vasi"))
                .args(["run", programs::P1_EXIT_CODE, &i.to_string()])
                .env("VASI_CACHE_DIR", &cache)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for (i, child) in children.into_iter().enumerate() {
        let o = child.wait_with_output().unwrap();
        assert_eq!(o.status.code(), Some(i as i32), "{}", stderr(&o));
        assert_eq!(stdout(&o), format!("exiting with {i}\n"));
    }
    // One whole entry, no temporary file left, and it is a hit.
    let names: Vec<_> = std::fs::read_dir(&cache).unwrap().flatten().collect();
    assert_eq!(names.len(), 1, "{names:?}");
    let o = vasi_in(&cache, &["run", programs::P1_EXIT_CODE, "5"]);
    assert_eq!(o.status.code(), Some(5));
    assert!(stderr(&o).contains("vasi: cache: hit"), "{}", stderr(&o));
}

#[test]
fn another_engine_setting_or_vasi_version_is_a_miss() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    let o = vasi_in(&cache, &["run", programs::P1_EXIT_CODE, "1"]);
    assert_eq!(o.status.code(), Some(1));
    // Fuel metering, epoch checks and a wasm proposal change the code: each
    // is an entry of its own, not a hit on the plain one.
    for flags in [
        &["--fuel", "100000000"][..],
        &["--timeout", "1m"],
        &["--wasm", "simd=n"],
    ] {
        let before = entries(&cache).len();
        let mut args = vec!["run"];
        args.extend_from_slice(flags);
        args.extend_from_slice(&[programs::P1_EXIT_CODE, "1"]);
        let o = vasi_in(&cache, &args);
        assert_eq!(o.status.code(), Some(1), "{flags:?}: {}", stderr(&o));
        assert!(stderr(&o).contains("miss"), "{flags:?}: {}", stderr(&o));
        assert_eq!(entries(&cache).len(), before + 1, "{flags:?}");
        let o = vasi_in(&cache, &args);
        assert!(
            stderr(&o).contains("vasi: cache: hit"),
            "{flags:?}: {}",
            stderr(&o)
        );
    }
    // An entry written by another vasi version (its header says so) under
    // this one's name is a miss and is replaced.
    let o = vasi_in(&cache, &["run", programs::P1_PRINT]);
    assert!(o.status.success());
    let before: Vec<PathBuf> = entries(&cache);
    let o = vasi_in(&cache, &["run", programs::P1_PRINT]);
    let line = stderr(&o);
    let entry = before
        .iter()
        .find(|p| line.contains(p.to_str().unwrap()))
        .expect("the hit names its entry")
        .clone();
    let good = std::fs::read(&entry).unwrap();
    let version = env!("CARGO_PKG_VERSION").as_bytes();
    let mut other = good.clone();
    let at = other
        .windows(version.len())
        .rposition(|w| w == version)
        .expect("the version in the trailer");
    other[at] = if other[at] == b'9' { b'8' } else { b'9' };
    std::fs::write(&entry, &other).unwrap();
    let o = vasi_in(&cache, &["run", programs::P1_PRINT]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("another vasi or engine"),
        "{}",
        stderr(&o)
    );
    assert_eq!(std::fs::read(&entry).unwrap(), good);
}

#[test]
fn the_cache_is_bounded_least_recently_used_first() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    // Three modules of the same size, differing in one constant.
    let m: Vec<String> = (0..3)
        .map(|i| {
            let wat = format!(
                r#"(module (func (export "_start")) (func (export "k") (result i32) i32.const {}))"#,
                100 + i
            );
            module(tmp.path(), &format!("m{i}.wasm"), &wat)
        })
        .collect();
    let run = |m: &str, max: Option<&str>| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_vasi"));
        c.args(["run", m])
            .env("VASI_CACHE_DIR", &cache)
            .env("VASI_CACHE_LOG", "1");
        if let Some(max) = max {
            c.env("VASI_CACHE_MAX_SIZE", max);
        }
        let o = c.output().unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
        stderr(&o)
    };
    run(&m[0], None);
    let one = entries(&cache)[0].metadata().unwrap().len();
    // Room for two entries, not three.
    let max = (one * 5 / 2).to_string();
    let pause = || std::thread::sleep(std::time::Duration::from_millis(50));
    pause();
    run(&m[1], Some(&max));
    assert_eq!(entries(&cache).len(), 2);
    pause();
    // A hit makes m0's entry the most recently used.
    assert!(run(&m[0], Some(&max)).contains("vasi: cache: hit"));
    pause();
    let log = run(&m[2], Some(&max));
    assert!(log.contains("vasi: cache: evicted"), "{log}");
    assert_eq!(entries(&cache).len(), 2);
    // m1 (least recently used) went; m0 and m2 stayed.
    assert!(run(&m[0], Some(&max)).contains("vasi: cache: hit"));
    assert!(run(&m[2], Some(&max)).contains("vasi: cache: hit"));
    assert!(run(&m[1], Some(&max)).contains("vasi: cache: miss"));
    // A bad bound is one line, not a silent default.
    let o = Command::new(env!("CARGO_BIN_EXE_vasi"))
        .args(["run", &m[0]])
        .env("VASI_CACHE_DIR", &cache)
        .env("VASI_CACHE_MAX_SIZE", "lots")
        .output()
        .unwrap();
    assert_error_line(&o, 125, "VASI_CACHE_MAX_SIZE");
}

const INVOKE_WAT: &str = r#"(module
  (global $ready (mut i32) (i32.const 0))
  (func (export "_initialize") (global.set $ready (i32.const 1)))
  (func (export "ready") (result i32) (global.get $ready))
  (func (export "add") (param i32 i32) (result i32)
    (i32.add (local.get 0) (local.get 1)))
  (func (export "each") (param i32 i64 f32 f64) (result i32 i64 f32 f64)
    (local.get 0) (local.get 1) (local.get 2) (local.get 3))
  (func (export "nothing"))
  (func (export "v") (param v128))
)"#;

#[test]
fn invoke_parses_each_type_and_prints_results() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    let m = module(tmp.path(), "lib.wasm", INVOKE_WAT);
    let o = vasi_in(&cache, &["run", "--invoke", "add", &m, "40", "2"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "42\n");
    let o = vasi_in(
        &cache,
        &[
            "run",
            "--invoke",
            "each",
            &m,
            "--",
            "-1",
            "0x7fffffffffffffff",
            "1.5",
            "-0.25",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "-1\n9223372036854775807\n1.5\n-0.25\n");
    // `_initialize` ran first.
    let o = vasi_in(&cache, &["run", "--invoke", "ready", &m]);
    assert_eq!(stdout(&o), "1\n");
    let o = vasi_in(&cache, &["run", "--invoke", "nothing", &m]);
    assert_eq!((o.status.code(), stdout(&o).as_str()), (Some(0), ""));
    // Without parameters, the arguments are the guest's argv alone.
    let o = vasi_in(&cache, &["run", "--invoke", "nothing", &m, "-c", "x"]);
    assert_eq!(
        (o.status.code(), stdout(&o).as_str()),
        (Some(0), ""),
        "{}",
        stderr(&o)
    );
    // The i32 result as the exit code, not printed.
    let o = vasi_in(
        &cache,
        &[
            "run",
            "--invoke",
            "add",
            "--invoke-exit-code",
            &m,
            "40",
            "3",
        ],
    );
    assert_eq!(o.status.code(), Some(43), "{}", stderr(&o));
    assert_eq!(stdout(&o), "");
}

#[test]
fn a_bad_invoke_is_one_line_before_compiling() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    let m = module(tmp.path(), "lib.wasm", INVOKE_WAT);
    let cases: [(&[&str], i32, &str); 8] = [
        (&["add", "1", "x"], 2, "argument 2 (\"x\") is not an i32"),
        (&["add", "1", "4294967296"], 2, "is not an i32"),
        (&["each", "1", "1", "1", "z"], 2, "argument 4 (\"z\") is not an f64"),
        (&["each", "1", "2.5", "1", "1"], 2, "argument 2 (\"2.5\") is not an i64"),
        (&["each", "1", "1", "nope", "1"], 2, "is not an f32"),
        (&["add", "1"], 2, "takes 2 arguments (i32, i32), 1 given"),
        (&["v", "0"], 2, "cannot be given on the command line"),
        (&["missing"], 125, "exports no function `missing` (its exported functions: _initialize, ready, add, each, nothing, v)"),
    ];
    for (invoke, code, what) in cases {
        let mut args = vec!["run", "--invoke", invoke[0], &m];
        args.extend_from_slice(&invoke[1..]);
        let o = vasi_in(&cache, &args);
        assert_error_line(&o, code, what);
        assert!(
            !stderr(&o).contains("vasi: cache"),
            "compiled first: {}",
            stderr(&o)
        );
    }
    let o = vasi_in(
        &cache,
        &[
            "run",
            "--invoke",
            "each",
            "--invoke-exit-code",
            &m,
            "1",
            "1",
            "1",
            "1",
        ],
    );
    assert_error_line(&o, 2, "must return exactly one i32");
    let bad_start = module(
        tmp.path(),
        "start.wasm",
        r#"(module (func (export "_start") (param i32)))"#,
    );
    assert_error_line(
        &vasi_in(&cache, &["run", &bad_start]),
        125,
        "`_start` takes or returns values",
    );
    // A reactor without --invoke: one line listing what it exports.
    let o = vasi_in(&cache, &["run", &m]);
    assert_error_line(&o, 125, "exports no `_start` function");
    assert!(
        errors(&o)[0].contains("--invoke NAME: _initialize, ready, add"),
        "{:?}",
        errors(&o)
    );
}

/// Imports two functions, a global and a memory nobody provides; `call_a`
/// calls the first and returns its result plus the global.
const UNKNOWN_WAT: &str = r#"(module
  (import "env" "a" (func $a (result i32)))
  (import "host" "b" (func $b (param i64)))
  (import "env" "g" (global $g i32))
  (func (export "call_a") (result i32) (i32.add (call $a) (global.get $g)))
  (func (export "safe") (result i32) (i32.const 5))
)"#;

#[test]
fn unknown_imports_under_each_policy() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    let m = module(tmp.path(), "u.wasm", UNKNOWN_WAT);
    // error (the default): every one named, in one line, before compiling.
    let o = vasi_in(&cache, &["run", "--invoke", "safe", &m]);
    assert_error_line(
        &o,
        125,
        "imports 3 items vasi does not provide: `env::a` (a function), `host::b` (a function), `env::g` (a global)",
    );
    assert!(
        !stderr(&o).contains("vasi: cache"),
        "compiled first: {}",
        stderr(&o)
    );
    // trap: a global cannot trap.
    let o = vasi_in(
        &cache,
        &["run", "--unknown-imports=trap", "--invoke", "safe", &m],
    );
    assert_error_line(&o, 125, "`env::g` (a global)");
    // default: zeros.
    let o = vasi_in(
        &cache,
        &["run", "--unknown-imports=default", "--invoke", "call_a", &m],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "0\n");

    let f = module(
        tmp.path(),
        "f.wasm",
        r#"(module
          (import "env" "a" (func $a (result i32)))
          (func (export "call_a") (result i32) (call $a))
          (func (export "safe") (result i32) (i32.const 5)))"#,
    );
    for trap in [
        &["--unknown-imports=trap"][..],
        &["-W", "unknown-imports-trap=y"],
    ] {
        let run = |name: &str| {
            let mut args = vec!["run"];
            args.extend_from_slice(trap);
            args.extend_from_slice(&["--invoke", name, &f]);
            vasi_in(&cache, &args)
        };
        // Not called: runs.
        let o = run("safe");
        assert!(o.status.success(), "{trap:?}: {}", stderr(&o));
        assert_eq!(stdout(&o), "5\n");
        // Called: a trap naming it.
        assert_error_line(&run("call_a"), 134, "the guest called `env::a`");
    }
    let o = vasi_in(
        &cache,
        &[
            "run",
            "-W",
            "unknown-imports-default=y",
            "--invoke",
            "call_a",
            &f,
        ],
    );
    assert_eq!(stdout(&o), "0\n", "{}", stderr(&o));
    // The explicit flag wins over -W.
    let o = vasi_in(
        &cache,
        &[
            "run",
            "-W",
            "unknown-imports-trap=y",
            "--unknown-imports=error",
            "--invoke",
            "safe",
            &f,
        ],
    );
    assert_error_line(
        &o,
        125,
        "`env::a` (a function), which vasi does not provide",
    );
    // Unknown imports are found before a function body is validated: this
    // module's body is invalid, and the message is about its import.
    let bad = module(
        tmp.path(),
        "bad.wasm",
        r#"(module (import "env" "x" (func)) (func (export "_start") (i64.const 1)))"#,
    );
    assert_error_line(&vasi_in(&cache, &["run", &bad]), 125, "`env::x`");
}

#[test]
fn compile_round_trip_and_refused_cwasm() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    let m = module(tmp.path(), "lib.wasm", INVOKE_WAT);
    let o = vasi_in(&cache, &["compile", &m]);
    assert!(o.status.success(), "{}", stderr(&o));
    let cwasm = tmp.path().join("lib.cwasm");
    let c = cwasm.to_str().unwrap();
    let o = vasi_in(&cache, &["run", "--invoke", "add", c, "2", "3"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "5\n");
    assert!(
        !stderr(&o).contains("vasi: cache"),
        "a .cwasm needs no cache"
    );
    // A WASI command compiled and run with its arguments and exit code.
    let out = tmp.path().join("exit.cwasm");
    let o = vasi_in(
        &cache,
        &[
            "compile",
            programs::P1_EXIT_CODE,
            "-o",
            out.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let o = vasi_in(&cache, &["run", out.to_str().unwrap(), "9"]);
    assert_eq!(o.status.code(), Some(9), "{}", stderr(&o));
    assert_eq!(stdout(&o), "exiting with 9\n");

    // Compiled without fuel metering: a run with --fuel is refused, naming it.
    let o = vasi_in(
        &cache,
        &["run", "--fuel", "1000", "--invoke", "add", c, "2", "3"],
    );
    assert_error_line(
        &o,
        125,
        "compiled for `fuel=n timeout=n`, this run needs `fuel=y timeout=n`",
    );
    let fueled = tmp.path().join("fuel.cwasm");
    let o = vasi_in(
        &cache,
        &["compile", "--for-fuel", &m, "-o", fueled.to_str().unwrap()],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let o = vasi_in(
        &cache,
        &[
            "run",
            "--fuel",
            "1000",
            "--invoke",
            "add",
            fueled.to_str().unwrap(),
            "2",
            "3",
        ],
    );
    assert_eq!(stdout(&o), "5\n", "{}", stderr(&o));

    let bytes = std::fs::read(&cwasm).unwrap();
    let write = |name: &str, b: &[u8]| {
        let p = tmp.path().join(name);
        std::fs::write(&p, b).unwrap();
        p.to_str().unwrap().to_string()
    };
    // From another vasi version.
    let version = env!("CARGO_PKG_VERSION").as_bytes();
    let mut other = bytes.clone();
    let at = other
        .windows(version.len())
        .rposition(|w| w == version)
        .unwrap();
    other[at] = if other[at] == b'9' { b'8' } else { b'9' };
    let p = write("other.cwasm", &other);
    let o = vasi_in(&cache, &["run", "--invoke", "add", &p, "1", "1"]);
    assert_error_line(&o, 125, "was compiled by vasi");
    assert!(errors(&o)[0].contains(&format!("this is vasi {}", env!("CARGO_PKG_VERSION"))));
    // Corrupt: one byte of the code (which comes before vasi's trailer).
    let mut corrupt = bytes.clone();
    let n = corrupt.len();
    corrupt[n / 3] ^= 0xff;
    let p = write("corrupt.cwasm", &corrupt);
    assert_error_line(&vasi_in(&cache, &["run", &p]), 125, "corrupt");
    // Cut at the front: the trailer is whole, the code is not.
    let p = write("front.cwasm", &bytes[4096..]);
    assert_error_line(&vasi_in(&cache, &["run", &p]), 125, "truncated");
    // wasmtime's own compiled code (the .cwasm without vasi's trailer), and
    // one cut short at the end (so that its trailer is gone too).
    let trailer = u32::from_le_bytes(bytes[n - 12..n - 8].try_into().unwrap()) as usize + 12;
    assert!(bytes.starts_with(b"\x7fELF"));
    let p = write("wasmtime.cwasm", &bytes[..n - trailer]);
    assert_error_line(
        &vasi_in(&cache, &["run", &p]),
        125,
        "not from `vasi compile`",
    );
    let p = write("short.cwasm", &bytes[..n - 1]);
    assert_error_line(&vasi_in(&cache, &["run", &p]), 125, "or cut short");
}

#[test]
fn exceptions_load_by_default_and_proposals_switch() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    let m = module(
        tmp.path(),
        "exn.wasm",
        r#"(module
          (tag $e (param i32))
          (func (export "f") (result i32)
            (block $h (result i32)
              (try_table (catch $e $h) (throw $e (i32.const 42)))
              (i32.const 0))))"#,
    );
    let o = vasi_in(&cache, &["run", "--invoke", "f", &m]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "42\n");
    for off in [&["-W", "exceptions=n"][..], &["--wasm", "exceptions=n"]] {
        let mut args = vec!["run"];
        args.extend_from_slice(off);
        args.extend_from_slice(&["--invoke", "f", &m]);
        assert_error_line(&vasi_in(&cache, &args), 125, "not a valid wasm module");
    }
    let simd = module(
        tmp.path(),
        "simd.wasm",
        r#"(module (func (export "f") (result i32)
            (i32x4.extract_lane 0 (i32x4.splat (i32.const 7)))))"#,
    );
    let o = vasi_in(&cache, &["run", "--invoke", "f", &simd]);
    assert_eq!(stdout(&o), "7\n", "{}", stderr(&o));
    let o = vasi_in(&cache, &["run", "--wasm", "simd=n", "--invoke", "f", &simd]);
    assert_error_line(&o, 125, "SIMD");
    // A proposal vasi does not know is a usage error.
    let o = vasi_in(&cache, &["run", "-W", "teleport=y", &simd]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("teleport"), "{}", stderr(&o));
}

#[test]
fn run_help_groups_the_loading_options() {
    let o = Command::new(env!("CARGO_BIN_EXE_vasi"))
        .args(["run", "--help"])
        .output()
        .unwrap();
    let help = stdout(&o);
    for needle in [
        "Entry point:",
        "--invoke <NAME>",
        "--invoke-exit-code",
        "Module:",
        "--unknown-imports <POLICY>",
        "--wasm <NAME=y|n,...>",
        "-W <NAME=y|n,...>",
        "--no-cache",
        "Mounts:",
        "Limits:",
        "VASI_CACHE_DIR",
        "vasi run --invoke add lib.wasm 1 2",
    ] {
        assert!(help.contains(needle), "help lacks {needle}:\n{help}");
    }
    let o = Command::new(env!("CARGO_BIN_EXE_vasi"))
        .args(["compile", "--help"])
        .output()
        .unwrap();
    assert!(stdout(&o).contains("--for-fuel"), "{}", stdout(&o));
}
