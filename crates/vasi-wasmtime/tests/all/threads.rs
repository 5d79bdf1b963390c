//! The wasm32-wasip1-threads guest programs (tests/threads-programs), run
//! through vasi_wasmtime::threads on HostDir and MemFs; and the API's own
//! guarantees (limits, stopping, the trace, wasmi's refusal).

use crate::harness::{run_threads, threads_engine, threads_module, Backend, Guest};
use crate::on_threads_backends;
use std::time::{Duration, Instant};
use test_programs_artifacts as programs;
use vasi::{CaptureBuffer, WasiCtxBuilder};
use vasi_wasmtime::threads::ThreadedGuest;

// Every threads guest program must have a test module of the same name here.
macro_rules! assert_test_exists {
    ($name:ident) => {
        #[allow(unused_imports, reason = "only checks that the module exists")]
        use self::$name as _;
    };
}
test_programs_artifacts::foreach_threads_program!(assert_test_exists);

on_threads_backends! {
    fn threads_spawn_join(backend: Backend) {
        let out = Guest::new(programs::THREADS_SPAWN_JOIN, backend).run();
        out.success();
        assert_eq!(out.stdout, "ok 8\n");
    }
}

on_threads_backends! {
    fn threads_condvar(backend: Backend) {
        let out = Guest::new(programs::THREADS_CONDVAR, backend).arg("2000").run();
        out.success();
        assert_eq!(out.stdout, "pingpong 2000\n");
    }
}

on_threads_backends! {
    fn threads_rayon(backend: Backend) {
        let out = Guest::new(programs::THREADS_RAYON, backend)
            .env("RAYON_NUM_THREADS", "4")
            .run();
        out.success();
        assert_eq!(out.stdout, "rayon ok 4\n");
    }
}

on_threads_backends! {
    fn threads_files(backend: Backend) {
        const THREADS: usize = 8;
        const SIZE: usize = 300_000;
        let out = Guest::new(programs::THREADS_FILES, backend)
            .args(["/sandbox", &THREADS.to_string(), &SIZE.to_string()])
            .run();
        out.success();
        assert_eq!(out.stdout, format!("files {THREADS} x {SIZE}\n"));
        // The guest checked every byte through vasi; on a host directory,
        // check them again from outside.
        if let Some(parent) = &out.host_dir {
            for t in 0..THREADS {
                let got = std::fs::read(parent.path().join(format!("sandbox/t{t}.bin"))).unwrap();
                assert_eq!(got.len(), SIZE);
                for (i, b) in got.iter().enumerate() {
                    let want = (t * 31 + i * 7 + i / 251) as u8;
                    assert_eq!(*b, want, "t{t}.bin byte {i}");
                }
            }
        }
    }
}

on_threads_backends! {
    fn threads_stdio(backend: Backend) {
        let input: String = (0..2000).map(|i| format!("line {i}\n")).collect();
        let out = Guest::new(programs::THREADS_STDIO, backend)
            .args(["4", "300"])
            .stdin(input.as_bytes())
            .run();
        out.success();
        let lines: Vec<&str> = out.stdout.lines().collect();
        assert_eq!(lines.last(), Some(&"stdin 2000"));
        // stdin came through whole and in order, and every writer's lines
        // arrived whole, each once.
        let echoed: Vec<&str> = lines.iter().filter_map(|l| l.strip_prefix("in: ")).collect();
        let want: Vec<String> = (0..2000).map(|i| format!("line {i}")).collect();
        assert_eq!(echoed, want);
        for w in 0..4 {
            let mine: Vec<&str> = lines
                .iter()
                .copied()
                .filter(|l| l.starts_with(&format!("w{w} ")))
                .collect();
            let want: Vec<String> = (0..300).map(|n| format!("w{w} {n}")).collect();
            assert_eq!(mine, want, "writer {w}");
        }
        assert_eq!(lines.len(), 2000 + 4 * 300 + 1);
    }
}

on_threads_backends! {
    fn threads_exit(backend: Backend) {
        let t = Instant::now();
        let out = Guest::new(programs::THREADS_EXIT, backend).arg("42").run();
        assert_eq!(out.exit, Ok(42), "{}", out.stderr);
        assert_eq!(out.stdout, "exiting with 42\n");
        // Four threads sleep for an hour meanwhile; none holds the guest up.
        assert!(t.elapsed() < Duration::from_secs(10), "{:?}", t.elapsed());
    }
}

on_threads_backends! {
    fn threads_panic(backend: Backend) {
        let t = Instant::now();
        let out = Guest::new(programs::THREADS_PANIC, backend).run();
        let err = out.exit.expect_err("a panic aborts the guest");
        assert!(err.contains("unreachable"), "{err}");
        assert!(out.stderr.contains("spawned thread gives up"), "{}", out.stderr);
        assert_eq!(out.stdout, "");
        assert!(t.elapsed() < Duration::from_secs(10), "{:?}", t.elapsed());
    }
}

on_threads_backends! {
    fn threads_many(backend: Backend) {
        let out = Guest::new(programs::THREADS_MANY, backend)
            .args(["200", "3", "/sandbox"])
            .max_threads(64)
            .run();
        out.success();
        assert_eq!(
            out.stdout,
            "round 0: 64 started, 136 refused\n\
             round 1: 64 started, 136 refused\n\
             round 2: 64 started, 136 refused\n\
             fds ok\n"
        );
    }
}

on_threads_backends! {
    fn threads_full_stdout(backend: Backend) {
        // Into a capture buffer (which never fills): every byte arrives
        // unless main's exit came first. A full pipe is in the CLI's tests.
        let out = Guest::new(programs::THREADS_FULL_STDOUT, backend)
            .arg("65536")
            .run();
        out.success();
        assert_eq!(out.stderr, "main done\n");
        assert!(out.stdout.len() <= 65536 && out.stdout.bytes().all(|b| b == b'x'));
    }
}

/// A module with one thread-spawn import, a shared memory and the two
/// entry points, whose `_start` runs `start` and whose threads run `thread`.
fn wat_guest(start: &str, thread: &str) -> wasmtime::Module {
    let wat = format!(
        r#"(module
            (import "wasi" "thread-spawn" (func $spawn (param i32) (result i32)))
            (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll (param i32 i32 i32 i32) (result i32)))
            (import "wasi_snapshot_preview1" "fd_read" (func $read (param i32 i32 i32 i32) (result i32)))
            (import "env" "memory" (memory 1 1 shared))
            (func (export "wasi_thread_start") (param $tid i32) (param $arg i32) {thread})
            (func (export "_start") {start}))"#
    );
    wasmtime::Module::new(threads_engine(), wat).unwrap()
}

#[test]
fn thread_ids_are_positive_and_unique_and_the_cap_refuses_with_a_negative_value() {
    // _start spawns 5 threads under a cap of 3 (the threads spin on a flag
    // at 0, so none ends early), keeps the results, and traps unless the
    // first three are positive and distinct and the last two negative.
    let module = wat_guest(
        r#"(local $a i32) (local $b i32) (local $c i32) (local $d i32) (local $e i32)
           (local.set $a (call $spawn (i32.const 0)))
           (local.set $b (call $spawn (i32.const 0)))
           (local.set $c (call $spawn (i32.const 0)))
           (local.set $d (call $spawn (i32.const 0)))
           (local.set $e (call $spawn (i32.const 0)))
           (i32.atomic.store (i32.const 0) (i32.const 1))
           (if (i32.le_s (local.get $a) (i32.const 0)) (then unreachable))
           (if (i32.le_s (local.get $b) (i32.const 0)) (then unreachable))
           (if (i32.le_s (local.get $c) (i32.const 0)) (then unreachable))
           (if (i32.eq (local.get $a) (local.get $b)) (then unreachable))
           (if (i32.eq (local.get $b) (local.get $c)) (then unreachable))
           (if (i32.eq (local.get $a) (local.get $c)) (then unreachable))
           (if (i32.ge_s (local.get $d) (i32.const 0)) (then unreachable))
           (if (i32.ge_s (local.get $e) (i32.const 0)) (then unreachable))"#,
        r#"(loop $l (br_if $l (i32.eqz (i32.atomic.load (i32.const 0)))))"#,
    );
    let mut b = ThreadedGuest::builder(threads_engine(), &module);
    b.max_threads(3);
    let mut guest = b.build(WasiCtxBuilder::new().build().unwrap()).unwrap();
    assert_eq!(guest.run().unwrap(), 0);
}

#[test]
fn a_module_without_wasi_thread_start_runs_and_cannot_spawn() {
    // As wasi-testsuite's wasi_threads_noop (no thread entry at all), plus a
    // spawn, which must fail rather than the whole guest.
    let module = wasmtime::Module::new(
        threads_engine(),
        r#"(module
            (import "wasi" "thread-spawn" (func $spawn (param i32) (result i32)))
            (memory (export "memory") (import "foo" "bar") 1 1 shared)
            (func (export "_start")
              (if (i32.ge_s (call $spawn (i32.const 0)) (i32.const 0)) (then unreachable))))"#,
    )
    .unwrap();
    let mut guest = ThreadedGuest::builder(threads_engine(), &module)
        .build(WasiCtxBuilder::new().build().unwrap())
        .unwrap();
    assert_eq!(guest.run().unwrap(), 0);
}

#[test]
fn proc_exit_ends_a_thread_blocked_in_fd_read() {
    // As wasi-testsuite's wasi_threads_exit_main_wasi_read: a thread blocks
    // reading a stdin that stays open; _start waits 300 ms and exits 99.
    let read = r#"(i32.store (i32.const 32) (i32.const 64)) (i32.store (i32.const 36) (i32.const 8))
                  (drop (call $read (i32.const 0) (i32.const 32) (i32.const 1) (i32.const 40)))
                  unreachable"#;
    let wat = format!(
        r#"(module
            (import "wasi" "thread-spawn" (func $spawn (param i32) (result i32)))
            (import "wasi_snapshot_preview1" "fd_read" (func $read (param i32 i32 i32 i32) (result i32)))
            (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
            (memory (export "memory") (import "foo" "bar") 1 1 shared)
            (func (export "wasi_thread_start") (param i32 i32) {read})
            (func (export "_start")
              (if (i32.le_s (call $spawn (i32.const 0)) (i32.const 0)) (then unreachable))
              (drop (memory.atomic.wait32 (i32.const 0) (i32.const 0) (i64.const 300000000)))
              (call $exit (i32.const 99))))"#
    );
    let module = wasmtime::Module::new(threads_engine(), wat).unwrap();
    let (never, _keep) = std::io::pipe().unwrap();
    let mut guest = ThreadedGuest::builder(threads_engine(), &module)
        .build(WasiCtxBuilder::new().stdin(never).build().unwrap())
        .unwrap();
    let t = Instant::now();
    assert_eq!(guest.run().unwrap(), 99);
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
}

#[test]
fn the_stopper_ends_threads_blocked_in_wasi() {
    // Every thread blocks reading a stdin that never ends; _start too.
    let read = r#"(i32.store (i32.const 32) (i32.const 64)) (i32.store (i32.const 36) (i32.const 8))
                  (drop (call $read (i32.const 0) (i32.const 32) (i32.const 1) (i32.const 40)))"#;
    let module = wat_guest(
        &format!("(drop (call $spawn (i32.const 0))) (drop (call $spawn (i32.const 0))) {read}"),
        read,
    );
    let (never, _keep) = std::io::pipe().unwrap();
    let ctx = WasiCtxBuilder::new().stdin(never).build().unwrap();
    let mut guest = ThreadedGuest::builder(threads_engine(), &module)
        .build(ctx)
        .unwrap();
    let stopper = guest.stopper();
    let t = Instant::now();
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(200));
        stopper.stop("stopped by the test");
    });
    let err = guest.run().unwrap_err();
    let stopped = err
        .downcast_ref::<vasi::Stopped>()
        .expect("a Stopped error");
    assert_eq!(stopped.reason(), vasi::StopReason::Interrupted);
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    // The threads leave their waits and end.
    let deadline = Instant::now() + Duration::from_secs(5);
    while guest.live_threads() > 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(guest.live_threads(), 0);
}

#[test]
fn a_sleeping_thread_does_not_stop_the_others() {
    // A thread sleeps 3 s in poll_oneoff; _start meanwhile does 200 short
    // polls of 1 ms, which must not wait for the sleeper.
    let sub = |at: u32, ns: u64| {
        format!(
            "(i64.store (i32.const {at}) (i64.const 0)) (i32.store8 (i32.const {}) (i32.const 0))
             (i32.store (i32.const {}) (i32.const 1)) (i64.store (i32.const {}) (i64.const {ns}))
             (i32.store16 (i32.const {}) (i32.const 0))",
            at + 8,
            at + 16,
            at + 24,
            at + 40
        )
    };
    let module = wat_guest(
        &format!(
            r#"(local $i i32)
               (drop (call $spawn (i32.const 0)))
               (loop $l
                 {}
                 (drop (call $poll (i32.const 256) (i32.const 512) (i32.const 1) (i32.const 600)))
                 (local.set $i (i32.add (local.get $i) (i32.const 1)))
                 (br_if $l (i32.lt_u (local.get $i) (i32.const 200))))"#,
            sub(256, 1_000_000)
        ),
        &format!(
            "{} (drop (call $poll (i32.const 128) (i32.const 192) (i32.const 1) (i32.const 240)))",
            sub(128, 3_000_000_000)
        ),
    );
    let mut guest = ThreadedGuest::builder(threads_engine(), &module)
        .build(WasiCtxBuilder::new().build().unwrap())
        .unwrap();
    let t = Instant::now();
    assert_eq!(guest.run().unwrap(), 0);
    let took = t.elapsed();
    assert!(took >= Duration::from_millis(200), "{took:?}");
    assert!(
        took < Duration::from_millis(2500),
        "the sleeper held the others: {took:?}"
    );
}

#[test]
fn the_trace_names_the_thread_of_each_call() {
    let trace = CaptureBuffer::new();
    let ctx = WasiCtxBuilder::new()
        .args(["threads_files", "/m", "3", "5000"])
        .stdout(std::io::sink())
        .preopen_dir(vasi::vfs::MemFs::new().root(), "/m")
        .hook(vasi::trace::Tracer::new(trace.clone()).durations(false))
        .build()
        .unwrap();
    assert_eq!(run_threads(programs::THREADS_FILES, ctx, None), Ok(0));
    let text = trace.to_string_lossy();
    assert!(text.lines().all(|l| l.starts_with("[thread ")), "{text}");
    assert!(text.contains("[thread 0] fd_write(fd=1<stdout>"), "{text}");
    // Each of the 3 writers opens its file from its own thread.
    let openers: std::collections::BTreeSet<&str> = text
        .lines()
        .filter(|l| l.contains("path_open(") && l.contains(".bin"))
        .filter_map(|l| l.split(']').next())
        .filter(|t| *t != "[thread 0")
        .collect();
    assert_eq!(openers.len(), 3, "{text}");
}

#[test]
fn memory_counts_once_against_the_cap() {
    let module = threads_module(programs::THREADS_SPAWN_JOIN);
    // Far below what the module starts with: refused before anything runs.
    let mut b = ThreadedGuest::builder(threads_engine(), &module);
    b.max_memory(64 * 1024);
    let err = b.build(WasiCtxBuilder::new().build().unwrap()).unwrap_err();
    assert!(
        err.downcast_ref::<vasi_wasmtime::threads::MemoryTooSmall>()
            .is_some(),
        "{err:?}"
    );
    // 48 MiB for 8 threads and the main one: enough, as the memory is one.
    let mut b = ThreadedGuest::builder(threads_engine(), &module);
    b.max_memory(48 << 20);
    let mut guest = b
        .build(
            WasiCtxBuilder::new()
                .stdout(std::io::sink())
                .build()
                .unwrap(),
        )
        .unwrap();
    assert_eq!(guest.run().unwrap(), 0);
    assert!(guest.memory().data_size() <= 48 << 20);
    assert_eq!(guest.memory().ty().maximum(), Some(768));
}

#[test]
fn wasmi_refuses_a_threads_module_in_one_line() {
    let err = crate::harness::run_wasmi(
        programs::THREADS_SPAWN_JOIN,
        WasiCtxBuilder::new().build().unwrap(),
    )
    .unwrap_err();
    assert!(err.contains("wasi-threads module"), "{err}");
    assert!(err.contains("wasmi does not run threads"), "{err}");
    assert!(!err.contains('\n'), "{err}");
}

#[test]
fn spawning_past_the_cap_leaks_no_threads_and_no_memory() {
    // 200 spawns a round under a cap of 64, 1 round and then 4: the shared
    // memory does not grow with the rounds (the guest's stacks are reused),
    // and every thread's store is gone once the guest has ended.
    let module = threads_module(programs::THREADS_MANY);
    let run = |rounds: &str| {
        let out = CaptureBuffer::new();
        let ctx = WasiCtxBuilder::new()
            .args(["threads_many", "200", rounds])
            .stdout(out.clone())
            .build()
            .unwrap();
        let mut b = ThreadedGuest::builder(threads_engine(), &module);
        b.max_threads(64);
        let mut guest = b.build(ctx).unwrap();
        assert_eq!(guest.run().unwrap(), 0);
        let deadline = Instant::now() + Duration::from_secs(10);
        while guest.live_threads() > 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(guest.live_threads(), 0, "threads left behind");
        let text = out.to_string_lossy();
        assert_eq!(
            text.lines().count(),
            rounds.parse::<usize>().unwrap(),
            "{text}"
        );
        assert!(
            text.lines()
                .all(|l| l.ends_with(": 64 started, 136 refused")),
            "{text}"
        );
        guest.memory().data_size()
    };
    let one = run("1");
    let four = run("4");
    assert!(
        four <= one + (1 << 20),
        "memory grew with the rounds: {one} -> {four}"
    );
}
