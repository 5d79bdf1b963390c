//! `vasi run` of wasm32-wasip1-threads guests: recognised by their imports,
//! run with no extra flag, within --max-threads, --max-memory and --timeout.

use std::time::{Duration, Instant};
use test_programs_artifacts as programs;

mod common;
use common::{stderr, stdout, vasi};

#[test]
fn a_threads_module_runs_with_no_flag() {
    let o = vasi(&["run", programs::THREADS_SPAWN_JOIN]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "ok 8\n");
    let o = vasi(&[
        "run",
        "--env",
        "RAYON_NUM_THREADS=2",
        programs::THREADS_RAYON,
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "rayon ok 2\n");
}

#[test]
fn files_from_threads_land_in_a_dir_and_a_mem_dir() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = format!("{}::/d", tmp.path().display());
    for mount in [["--dir", dir.as_str()], ["--mem-dir", "/d"]] {
        let o = vasi(&[
            "run",
            mount[0],
            mount[1],
            programs::THREADS_FILES,
            "/d",
            "4",
            "65537",
        ]);
        assert!(o.status.success(), "{mount:?}: {}", stderr(&o));
        assert_eq!(stdout(&o), "files 4 x 65537\n");
    }
    for t in 0..4 {
        let bytes = std::fs::read(tmp.path().join(format!("t{t}.bin"))).unwrap();
        assert_eq!(bytes.len(), 65537);
        assert!(bytes
            .iter()
            .enumerate()
            .all(|(i, b)| *b == (t * 31 + i * 7 + i / 251) as u8));
    }
}

#[test]
fn exit_from_a_thread_is_the_exit_code_and_a_trap_is_134() {
    let t = Instant::now();
    let o = vasi(&["run", programs::THREADS_EXIT, "5"]);
    assert_eq!(o.status.code(), Some(5), "{}", stderr(&o));
    let o = vasi(&["run", programs::THREADS_PANIC]);
    assert_eq!(o.status.code(), Some(134), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("spawned thread gives up"),
        "{}",
        stderr(&o)
    );
    assert!(t.elapsed() < Duration::from_secs(20), "{:?}", t.elapsed());
}

#[test]
fn max_threads_refuses_the_excess_and_the_host_stays_up() {
    let o = vasi(&[
        "run",
        "--mem-dir",
        "/m",
        "--max-threads",
        "64",
        programs::THREADS_MANY,
        "200",
        "2",
        "/m",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        "round 0: 64 started, 136 refused\nround 1: 64 started, 136 refused\nfds ok\n"
    );
}

#[test]
fn the_limits_reach_every_thread() {
    // A module that starts with 2 MiB of shared memory, under a 1 MiB cap.
    let tmp = tempfile::tempdir().unwrap();
    let big = tmp.path().join("big.wat");
    std::fs::write(
        &big,
        r#"(module (import "env" "memory" (memory 32 64 shared)) (func (export "_start")))"#,
    )
    .unwrap();
    let o = vasi(&["run", "--max-memory", "1M", big.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(121), "{}", stderr(&o));
    assert!(stderr(&o).contains("--max-memory"), "{}", stderr(&o));
    // Threads spinning in wasm code and threads asleep in WASI: --timeout
    // stops them all.
    let spin = tmp.path().join("spin.wat");
    std::fs::write(
        &spin,
        r#"(module
            (import "wasi" "thread-spawn" (func $spawn (param i32) (result i32)))
            (import "env" "memory" (memory 1 1 shared))
            (func (export "wasi_thread_start") (param i32 i32) (loop $l (br $l)))
            (func (export "_start") (drop (call $spawn (i32.const 0))) (loop $l (br $l))))"#,
    )
    .unwrap();
    let t = Instant::now();
    let o = vasi(&["run", "--timeout", "300ms", spin.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(124), "{}", stderr(&o));
    let o = vasi(&["run", "--timeout", "300ms", programs::THREADS_EXIT, "3"]);
    // Exit wins if it comes first (100 ms); either way, nothing hangs.
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(t.elapsed() < Duration::from_secs(20), "{:?}", t.elapsed());
}

#[test]
fn the_trace_names_the_thread_and_unsupported_flags_are_one_line() {
    let o = vasi(&[
        "run",
        "--trace",
        "--mem-dir",
        "/m",
        programs::THREADS_FILES,
        "/m",
        "2",
        "10",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let trace = stderr(&o);
    assert!(
        trace.lines().any(|l| l.starts_with("[thread 0] ")),
        "{trace}"
    );
    assert!(
        trace.lines().any(|l| l.starts_with("[thread ")
            && !l.starts_with("[thread 0]")
            && l.contains("path_open(")),
        "{trace}"
    );
    let o = vasi(&["run", "--invoke", "_start", programs::THREADS_SPAWN_JOIN]);
    assert_eq!(o.status.code(), Some(125), "{}", stderr(&o));
    assert_eq!(stderr(&o).lines().count(), 1, "{}", stderr(&o));
    assert!(stderr(&o).contains("wasi-threads module"), "{}", stderr(&o));
}
