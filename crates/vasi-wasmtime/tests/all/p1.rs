//! One test module per guest program, each run on every backend.

use crate::harness::{Backend, Guest, OUTSIDE, OUTSIDE_CONTENTS};
use crate::on_each_backend;
use test_programs_artifacts as programs;

// Every guest program must have a test module of the same name here.
macro_rules! assert_test_exists {
    ($name:ident) => {
        #[allow(unused_imports, reason = "only checks that the module exists")]
        use self::$name as _;
    };
}
test_programs_artifacts::foreach_program!(assert_test_exists);

on_each_backend! {
    fn p1_args_env(backend: Backend) {
        Guest::new(programs::P1_ARGS_ENV, backend)
            .arg("hello")
            .arg("wörld")
            .arg("")
            .arg("a b")
            .env("FOO", "bar")
            .env("EMPTY", "")
            .env("UNICODE", "ünï")
            .run()
            .success();
    }
}

on_each_backend! {
    fn p1_clocks(backend: Backend) {
        Guest::new(programs::P1_CLOCKS, backend).run().success();
        // The same checks hold on deterministic clocks, whose first realtime
        // reading is 2020-01-01T00:00:00Z exactly.
        Guest::new(programs::P1_CLOCKS, backend)
            .configure(|b| {
                b.deterministic(7);
            })
            .run()
            .success();
    }
}

on_each_backend! {
    fn p1_random(backend: Backend) {
        Guest::new(programs::P1_RANDOM, backend).run().success();
    }
}

on_each_backend! {
    fn p1_stdio(backend: Backend) {
        let mut stdin = b"line one\nline two\n".to_vec();
        stdin.extend(std::iter::repeat_n(b'x', 100_000));
        stdin.extend_from_slice(b"\nEND\n");
        let out = Guest::new(programs::P1_STDIO, backend).stdin(&stdin).run();
        out.success();
        assert_eq!(out.stdout, "stdin bytes: 100023\nLINE ONE\nLINE TWO\n");
        assert_eq!(out.stderr, "to stderr\n");
    }
}

on_each_backend! {
    fn p1_file_rw(backend: Backend) {
        Guest::new(programs::P1_FILE_RW, backend).run().success();
    }
}

on_each_backend! {
    fn p1_dirs(backend: Backend) {
        Guest::new(programs::P1_DIRS, backend).run().success();
    }
}

on_each_backend! {
    fn p1_escape(backend: Backend) {
        let out = Guest::new(programs::P1_ESCAPE, backend).run();
        out.success();
        if let Some(parent) = &out.host_dir {
            let mut names: Vec<_> = std::fs::read_dir(parent.path())
                .unwrap()
                .map(|e| e.unwrap().file_name().into_string().unwrap())
                .collect();
            names.sort();
            assert_eq!(names, [OUTSIDE, "sandbox"], "something was created outside the sandbox");
            let outside = std::fs::read_to_string(parent.path().join(OUTSIDE)).unwrap();
            assert_eq!(outside, OUTSIDE_CONTENTS);
        }
    }
}

on_each_backend! {
    fn p1_exit_code(backend: Backend) {
        for code in [0, 1, 3, 42, 125, 255] {
            let out = Guest::new(programs::P1_EXIT_CODE, backend)
                .arg(&code.to_string())
                .run();
            assert_eq!(out.exit, Ok(code), "stderr: {}", out.stderr);
            assert_eq!(out.stdout, format!("exiting with {code}\n"));
        }
    }
}

on_each_backend! {
    fn p1_hostile(backend: Backend) {
        Guest::new(programs::P1_HOSTILE, backend).arg("errnos").run().success();
        let cases = [
            ("trap-iovs-oob", "fd_write", "out-of-bounds"),
            ("trap-buf-oob", "fd_write", "out-of-bounds"),
            ("trap-result-oob", "fd_write", "out-of-bounds"),
            ("trap-misaligned", "fd_write", "misaligned"),
            ("trap-path-oob", "path_open", "out-of-bounds"),
            ("trap-len-overflow", "fd_write", "out-of-bounds"),
            ("trap-readdir-oob", "fd_readdir", "out-of-bounds"),
        ];
        for (case, call, what) in cases {
            let out = Guest::new(programs::P1_HOSTILE, backend).arg(case).run();
            let msg = match &out.exit {
                Err(msg) => msg,
                Ok(code) => panic!("{case}: no trap, exit code {code}; stderr: {}", out.stderr),
            };
            assert!(
                msg.contains(&format!("{call}: ")) && msg.contains(what),
                "{case}: trap message {msg:?} should name {call} and say {what}"
            );
            assert!(!out.stderr.contains("NOT TRAPPED"), "{case}: {}", out.stderr);
        }
    }
}

on_each_backend! {
    fn p1_print(backend: Backend) {
        let out = Guest::new(programs::P1_PRINT, backend)
            .arg("one")
            .arg("--two")
            .env("B", "1")
            .env("A", "x=y")
            .run();
        out.success();
        assert_eq!(out.stdout, "arg: p1_print\narg: one\narg: --two\nenv: B=1\nenv: A=x=y\n");
    }
}

on_each_backend! {
    fn p1_cat(backend: Backend) {
        let out = Guest::new(programs::P1_CAT, backend)
            .arg("/sandbox")
            .arg("/sandbox/missing")
            .run();
        assert_eq!(out.exit, Ok(1), "stderr: {}", out.stderr);
        assert_eq!(out.stdout, "");
        assert!(out.stderr.starts_with("/sandbox/missing: "), "{}", out.stderr);
    }
}

on_each_backend! {
    fn p1_links(backend: Backend) {
        let out = Guest::new(programs::P1_LINKS, backend).run();
        out.success();
        if let Some(parent) = &out.host_dir {
            let outside = std::fs::read_to_string(parent.path().join(OUTSIDE)).unwrap();
            assert_eq!(outside, OUTSIDE_CONTENTS);
        }
    }
}

/// Quotas are a MemFs feature: a host directory has the host's own limits.
mod p1_quota {
    use super::*;

    #[test]
    fn mem() {
        Guest::new(
            programs::P1_QUOTA,
            Backend::MemQuota {
                bytes: 65_536,
                inodes: 20,
            },
        )
        .arg("65536")
        .arg("20")
        .run()
        .success();
    }
}

on_each_backend! {
    fn p1_rights(backend: Backend) {
        Guest::new(programs::P1_RIGHTS, backend).run().success();
    }
}

on_each_backend! {
    fn p1_readdir_rewind(backend: Backend) {
        Guest::new(programs::P1_READDIR_REWIND, backend).run().success();
    }
}

on_each_backend! {
    fn p1_fd_misc(backend: Backend) {
        Guest::new(programs::P1_FD_MISC, backend).run().success();
    }
}

/// A guest TCP echo server serves concurrent clients on loopback.
mod p1_echo_server {
    use crate::harness::{run_ctx, run_wasmi};
    use std::io::{Read, Write};
    use std::net::{Shutdown, TcpListener, TcpStream};
    use std::time::Duration;
    use test_programs_artifacts as programs;
    use vasi::{CaptureBuffer, WasiCtxBuilder};

    const CLIENTS: usize = 8;

    fn serve(wasmi: bool) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let stdout = CaptureBuffer::new();
        let ctx = WasiCtxBuilder::new()
            .args(["p1_echo_server".to_string(), CLIENTS.to_string()])
            .stdout(stdout.clone())
            .preopen_listener(listener)
            .build()
            .unwrap();
        let server = std::thread::spawn(move || {
            if wasmi {
                run_wasmi(programs::P1_ECHO_SERVER, ctx)
            } else {
                run_ctx(programs::P1_ECHO_SERVER, ctx)
            }
        });
        // All clients connect at once; the server takes them one by one.
        let clients: Vec<_> = (0..CLIENTS)
            .map(|i| {
                std::thread::spawn(move || {
                    let mut s = TcpStream::connect(addr).unwrap();
                    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
                    let msg = format!("hello from client {i}\n").repeat(50);
                    s.write_all(msg.as_bytes()).unwrap();
                    s.shutdown(Shutdown::Write).unwrap();
                    let mut reply = String::new();
                    s.read_to_string(&mut reply).unwrap();
                    assert_eq!(reply, format!("echo: {msg}"), "client {i}");
                })
            })
            .collect();
        for c in clients {
            c.join().expect("a client");
        }
        assert_eq!(server.join().unwrap(), Ok(0));
        assert_eq!(stdout.to_string_lossy(), format!("served {CLIENTS}\n"));
    }

    #[test]
    fn wasmtime() {
        serve(false);
    }

    #[test]
    fn wasmi() {
        serve(true);
    }

    /// poll_oneoff waits for a real connection, and times out without one.
    fn poll(wasmi: bool) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let stdout = CaptureBuffer::new();
        let ctx = WasiCtxBuilder::new()
            .args(["p1_echo_server", "poll"])
            .stdout(stdout.clone())
            .preopen_listener(listener)
            .build()
            .unwrap();
        let server = std::thread::spawn(move || {
            if wasmi {
                run_wasmi(programs::P1_ECHO_SERVER, ctx)
            } else {
                run_ctx(programs::P1_ECHO_SERVER, ctx)
            }
        });
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while stdout.to_string_lossy() != "waiting\n" {
            assert!(
                std::time::Instant::now() < deadline,
                "the guest never polled"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        std::thread::sleep(Duration::from_millis(50)); // let it block in poll
        let mut s = TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        s.write_all(b"ping").unwrap();
        s.shutdown(Shutdown::Write).unwrap();
        let mut reply = String::new();
        s.read_to_string(&mut reply).unwrap();
        assert_eq!(reply, "echo: ping");
        assert_eq!(server.join().unwrap(), Ok(0));
    }

    #[test]
    fn poll_wasmtime() {
        poll(false);
    }

    #[test]
    fn poll_wasmi() {
        poll(true);
    }

    #[test]
    fn errors() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let ctx = WasiCtxBuilder::new()
            .args(["p1_echo_server", "errors"])
            .preopen_listener(listener)
            .build()
            .unwrap();
        assert_eq!(run_ctx(programs::P1_ECHO_SERVER, ctx), Ok(0));
    }
}

/// Interrupts, limits and deterministic runs (see tests/programs/src/bin/p1_limits.rs).
mod p1_limits {
    use super::*;
    use crate::harness::Outcome;
    use std::sync::{Arc, Mutex};
    use std::time::{Duration, Instant};
    use vasi::WasiCtx;

    /// Interrupts the context from another thread `after` the guest started.
    fn interrupt_after(after: Duration) -> impl FnOnce(&WasiCtx) + 'static {
        move |ctx: &WasiCtx| {
            let handle = ctx.interrupt_handle();
            std::thread::spawn(move || {
                std::thread::sleep(after);
                handle.interrupt();
            });
        }
    }

    #[track_caller]
    fn assert_interrupted(out: &Outcome, started: Instant) {
        match &out.exit {
            Err(e) => assert!(e.contains("interrupted by the host"), "{e}"),
            Ok(code) => panic!("the guest exited with {code}: {}", out.stdout),
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the interrupt took {:?}",
            started.elapsed()
        );
    }

    on_each_backend! {
        fn an_hour_long_sleep_is_interrupted(backend: Backend) {
            let started = Instant::now();
            let out = Guest::new(programs::P1_LIMITS, backend)
                .arg("sleep")
                .on_ctx(interrupt_after(Duration::from_millis(200)))
                .run();
            assert_interrupted(&out, started);
            assert_eq!(out.stdout, "");
        }
    }

    on_each_backend! {
        fn a_read_of_an_open_stdin_is_interrupted(backend: Backend) {
            // A pipe whose writer stays open: the read would block for ever.
            let (reader, writer) = std::io::pipe().unwrap();
            let started = Instant::now();
            let out = Guest::new(programs::P1_LIMITS, backend)
                .arg("stdin")
                .stdin_reader(reader)
                .on_ctx(interrupt_after(Duration::from_millis(200)))
                .run();
            drop(writer);
            assert_interrupted(&out, started);
        }
    }

    on_each_backend! {
        fn deterministic_runs_repeat_and_depend_on_the_seed(backend: Backend) {
            let run = |seed: u64| {
                let out = Guest::new(programs::P1_LIMITS, backend)
                    .arg("timerand")
                    .configure(move |b| {
                        b.deterministic(seed);
                    })
                    .run();
                out.success();
                out.stdout
            };
            let started = Instant::now();
            let (a, b, c) = (run(1), run(1), run(2));
            assert!(started.elapsed() < Duration::from_secs(3), "a virtual sleep waited");
            assert_eq!(a, b);
            assert!(a.starts_with("realtime 1577836800000000000\nmonotonic "), "{a}");
            let random = |s: &str| s.lines().last().unwrap().to_string();
            assert_ne!(random(&a), random(&c), "another seed gave the same bytes");
            assert_eq!(a.lines().take(3).collect::<Vec<_>>(), c.lines().take(3).collect::<Vec<_>>());
        }
    }

    on_each_backend! {
        fn file_times_follow_the_host_clock(backend: Backend) {
            // Without a virtual clock, new files carry the host's time.
            let before = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64;
            let out = Guest::new(programs::P1_LIMITS, backend).arg("mtime").run();
            out.success();
            let nanos: u64 = out.stdout.trim().strip_prefix("mtime ").unwrap().parse().unwrap();
            assert!(nanos + 5_000_000_000 >= before, "{nanos} vs {before}");
        }
    }

    on_each_backend! {
        fn the_open_files_limit_gives_emfile_or_stops_the_guest(backend: Backend) {
            // 3 stdio + 1 preopen + 4 files = 8.
            let out = Guest::new(programs::P1_LIMITS, backend)
                .args(["open", "100"])
                .configure(|b| {
                    b.max_open_files(8);
                })
                .run();
            out.success();
            assert_eq!(out.stdout, "opened 4\nthen EMFILE\n");
            let out = Guest::new(programs::P1_LIMITS, backend)
                .args(["open", "100"])
                .configure(|b| {
                    b.max_open_files(8).stop_at_open_files_limit(true);
                })
                .run();
            match &out.exit {
                Err(e) => assert!(e.contains("limit of 8 open files"), "{e}"),
                Ok(code) => panic!("exited with {code}: {}", out.stdout),
            }
        }
    }

    on_each_backend! {
        fn a_hook_sees_denies_and_answers_calls(backend: Backend) {
            use vasi::hook::{Call, Hook, Verdict};
            struct Policy(Arc<Mutex<Vec<String>>>);
            impl Hook for Policy {
                fn before(&mut self, _: &WasiCtx, call: &Call<'_>, _: &mut vasi::GuestMemory<'_>) -> Verdict {
                    self.0.lock().unwrap().push(call.name().to_string());
                    match call.name() {
                        // Every open fails: the guest reports EACCES.
                        "path_open" => Verdict::Return(Err(vasi::Errno::Acces)),
                        _ => Verdict::Run,
                    }
                }
            }
            let seen = Arc::new(Mutex::new(Vec::new()));
            let hook = Policy(seen.clone());
            let out = Guest::new(programs::P1_LIMITS, backend)
                .args(["open", "3"])
                .configure(move |b| {
                    b.hook(hook);
                })
                .run();
            out.success();
            assert_eq!(out.stdout, "opened 0\nthen EACCES\n");
            let seen = seen.lock().unwrap();
            assert!(seen.iter().any(|c| c == "path_open"), "{seen:?}");
            assert!(seen.iter().any(|c| c == "fd_write"), "{seen:?}");
        }
    }
}

/// Exact answers (tests/programs/src/bin/p1_exact.rs): flags in effect,
/// byte counts, struct padding, and the documented differences
/// (docs/compatibility.md).
mod p1_exact {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Arc;
    use vasi::vfs::{Dir, HostDir, MemFs, ReadOnly};

    on_each_backend! {
        fn flags(backend: Backend) {
            // Stdin is a pipe that stays open and empty.
            let (reader, writer) = std::io::pipe().unwrap();
            Guest::new(programs::P1_EXACT, backend)
                .arg("flags")
                .stdin_reader(reader)
                .run()
                .success();
            drop(writer);
        }
    }

    on_each_backend! {
        fn padding(backend: Backend) {
            Guest::new(programs::P1_EXACT, backend).arg("padding").run().success();
        }
    }

    /// A stdout that keeps nothing and counts the bytes.
    #[derive(Clone, Default)]
    struct Counted(Arc<AtomicU64>);

    impl std::io::Write for Counted {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.fetch_add(buf.len() as u64, Ordering::SeqCst);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    on_each_backend! {
        fn counts(backend: Backend) {
            let sink = Counted::default();
            let out = sink.clone();
            Guest::new(programs::P1_EXACT, backend)
                .arg("counts")
                .configure(move |b| {
                    b.stdout(out);
                })
                .run()
                .success();
            assert_eq!(sink.0.load(Ordering::SeqCst), u64::from(u32::MAX));
        }
    }

    on_each_backend! {
        fn compat(backend: Backend) {
            // A read-only mount of the same kind as the sandbox, with a file
            // and a directory.
            let tmp = tempfile::tempdir().unwrap();
            std::fs::write(tmp.path().join("f"), "ro").unwrap();
            std::fs::create_dir(tmp.path().join("d")).unwrap();
            let inner: Arc<dyn Dir> = match backend {
                Backend::Host | Backend::Overlay => Arc::new(HostDir::open_ambient(tmp.path()).unwrap()),
                _ => {
                    let fs = MemFs::new();
                    fs.write("f", b"ro").unwrap();
                    fs.write("d/x", b"").unwrap();
                    fs.root()
                }
            };
            Guest::new(programs::P1_EXACT, backend)
                .arg("compat")
                .configure(move |b| {
                    b.preopen_dir(Arc::new(ReadOnly::new(inner)), "/ro");
                })
                .run()
                .success();
            assert_eq!(std::fs::read_to_string(tmp.path().join("f")).unwrap(), "ro");
        }
    }
}

/// Filesystem edge cases (issue 11), each as Linux answers them.
mod p1_fs_exact {
    use super::*;

    on_each_backend! {
        fn empty_writes_change_nothing(backend: Backend) {
            Guest::new(programs::P1_FS_EXACT, backend)
                .arg("empty_writes")
                .run()
                .success();
        }
    }

    on_each_backend! {
        fn colons_and_drive_prefixes_are_plain_names(backend: Backend) {
            let out = Guest::new(programs::P1_FS_EXACT, backend).arg("names").run();
            out.success();
            if let (Backend::Host, Some(parent)) = (backend, &out.host_dir) {
                // Inside the sandbox, under exactly those names.
                let sandbox = parent.path().join("sandbox");
                assert_eq!(std::fs::read(sandbox.join("C:x")).unwrap(), b"C:x");
                assert_eq!(std::fs::read(sandbox.join("D:").join("inner")).unwrap(), b"in");
                let mut beside: Vec<_> = std::fs::read_dir(parent.path())
                    .unwrap()
                    .map(|e| e.unwrap().file_name())
                    .collect();
                beside.sort();
                assert_eq!(beside, [OUTSIDE, "sandbox"]);
            }
        }
    }

    on_each_backend! {
        fn a_nested_mount_point_is_busy(backend: Backend) {
            let inner = vasi::vfs::MemFs::new();
            let seen = inner.clone();
            let out = Guest::new(programs::P1_FS_EXACT, backend)
                .arg("mount_busy")
                .configure(move |b| {
                    b.preopen_dir(inner.root(), "/sandbox/config");
                })
                .run();
            out.success();
            assert_eq!(seen.used_inodes(), 1, "only the root: nothing was written into the mount");
            if let Some(parent) = &out.host_dir {
                // The name under the mount was not created on the host either.
                assert!(!parent.path().join("sandbox/config").exists());
            }
        }
    }

    /// The case: `/app` is host directory X, `/app/config` its own
    /// subdirectory X/config mounted read-only; the host's X/config stays
    /// empty, on both engines.
    #[test]
    fn a_read_only_nested_host_mount_is_never_written() {
        use crate::harness::{run_ctx, run_wasmi};
        use std::sync::Arc;
        use vasi::vfs::{HostDir, ReadOnly};
        for wasmi in [false, true] {
            let x = tempfile::tempdir().unwrap();
            std::fs::create_dir(x.path().join("config")).unwrap();
            let outer = HostDir::open_ambient(x.path()).unwrap();
            let config = HostDir::open_ambient(x.path().join("config")).unwrap();
            let ctx = vasi::WasiCtxBuilder::new()
                .args(["p1_fs_exact", "mount_busy"])
                .preopen_dir(Arc::new(outer), "/sandbox")
                .preopen_dir(Arc::new(ReadOnly::new(Arc::new(config))), "/sandbox/config")
                .build()
                .unwrap();
            let exit = if wasmi {
                run_wasmi(programs::P1_FS_EXACT, ctx)
            } else {
                run_ctx(programs::P1_FS_EXACT, ctx)
            };
            assert_eq!(exit, Ok(0), "wasmi: {wasmi}");
            let in_config = std::fs::read_dir(x.path().join("config")).unwrap().count();
            assert_eq!(in_config, 0, "the guest wrote into the read-only X/config");
            assert_eq!(
                std::fs::read(x.path().join("d/guest.txt")).unwrap(),
                b"guest"
            );
        }
    }

    /// Runs `p1_fs_exact` with `args` over `ctx`'s preopens on both engines.
    fn on_both_engines(args: &[&str], ctx: impl Fn() -> vasi::WasiCtxBuilder) {
        use crate::harness::{run_ctx, run_wasmi};
        for wasmi in [false, true] {
            let mut b = ctx();
            b.args(std::iter::once("p1_fs_exact").chain(args.iter().copied()));
            let ctx = b.build().unwrap();
            let exit = if wasmi {
                run_wasmi(programs::P1_FS_EXACT, ctx)
            } else {
                run_ctx(programs::P1_FS_EXACT, ctx)
            };
            assert_eq!(exit, Ok(0), "{args:?}, wasmi: {wasmi}");
        }
    }

    /// Limit 1 through the binding: a 1 MiB MemFs, and a 1 MiB overlay upper,
    /// fill up with empty files and directories; huge symlinks keep nothing.
    #[test]
    fn empty_files_fill_a_small_quota() {
        use std::sync::Arc;
        use vasi::vfs::{MemFs, Overlay};
        let made = std::cell::RefCell::new(Vec::new());
        on_both_engines(&["fill", "/m"], || {
            let m = MemFs::with_quota(1 << 20);
            made.borrow_mut().push(m.clone());
            let mut b = vasi::WasiCtxBuilder::new();
            b.preopen_dir(MemFs::new().root(), "/sandbox")
                .preopen_dir(m.root(), "/m");
            b
        });
        on_both_engines(&["fill", "/o"], || {
            let upper = MemFs::with_quota(1 << 20);
            made.borrow_mut().push(upper.clone());
            let ov = Overlay::new(upper.root(), MemFs::new().root());
            let mut b = vasi::WasiCtxBuilder::new();
            b.preopen_dir(MemFs::new().root(), "/sandbox")
                .preopen_dir(Arc::new(ov), "/o");
            b
        });
        let made = made.into_inner();
        assert_eq!(made.len(), 4);
        for fs in made {
            assert!(fs.charged_bytes() <= 1 << 20);
            assert!(fs.used_inodes() > 100);
        }
    }

    /// Limit 6 through the binding: a failed overlay rename gives back what
    /// its copy-ups took.
    #[test]
    fn a_failed_overlay_rename_gives_back_its_copy_ups() {
        use std::sync::Arc;
        use vasi::vfs::{MemFs, Overlay};
        let lower = MemFs::new();
        for i in 0..8 {
            lower
                .write(&format!("tree/sub/f{i}"), &vec![1u8; 200 << 10])
                .unwrap();
        }
        on_both_engines(&["overlay_rename"], || {
            let upper = MemFs::with_quota(1 << 20);
            let ov = Overlay::new(upper.root(), lower.root());
            let mut b = vasi::WasiCtxBuilder::new();
            b.preopen_dir(Arc::new(ov), "/ov");
            b
        });
    }

    /// Limit 7 and the time advisory through the binding, on a host
    /// directory and an overlay over it.
    #[test]
    fn odd_host_names_and_old_times() {
        use std::os::unix::ffi::OsStrExt as _;
        use std::sync::Arc;
        use vasi::vfs::{HostDir, MemFs, Overlay};
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("ok"), b"ok").unwrap();
        std::fs::write(tmp.path().join("old"), b"old").unwrap();
        let odd = std::ffi::OsStr::from_bytes(b"odd\xff\xfe");
        std::fs::write(tmp.path().join(odd), b"?").unwrap();
        let touched = std::process::Command::new("touch")
            .args(["-d", "1960-01-01 00:00:00 UTC"])
            .arg(tmp.path().join("old"))
            .status()
            .unwrap();
        assert!(touched.success());
        for overlay in [false, true] {
            on_both_engines(&["host_odd"], || {
                let host = Arc::new(HostDir::open_ambient(tmp.path()).unwrap());
                let dir: Arc<dyn vasi::vfs::Dir> = if overlay {
                    Arc::new(Overlay::new(MemFs::new().root(), host))
                } else {
                    host
                };
                let mut b = vasi::WasiCtxBuilder::new();
                b.preopen_dir(dir, "/odd");
                b
            });
        }
    }

    on_each_backend! {
        fn symlink_targets_are_capped(backend: Backend) {
            Guest::new(programs::P1_FS_EXACT, backend)
                .arg("symlinks")
                .run()
                .success();
        }
    }
}
