//! The `vasi` command, run as a subprocess: flags, exit codes and error lines.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use test_programs_artifacts as programs;

mod common;
use common::{stderr, stdout, vasi, vasi_command};

/// Asserts that vasi failed with `code` and one error line containing `what`.
#[track_caller]
fn assert_error_line(o: &Output, code: i32, what: &str) {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(code), "stderr: {err}");
    assert_eq!(
        err.lines().count(),
        1,
        "one error line expected, got: {err}"
    );
    assert!(err.contains(what), "{err:?} should mention {what:?}");
}

#[test]
fn exits_with_the_guests_code() {
    for code in [0, 3, 42, 255] {
        let o = vasi(&["run", programs::P1_EXIT_CODE, &code.to_string()]);
        assert_eq!(o.status.code(), Some(code), "stderr: {}", stderr(&o));
        assert_eq!(stdout(&o), format!("exiting with {code}\n"));
    }
}

#[test]
fn args_env_and_argv0() {
    let o = vasi(&[
        "run",
        "--argv0",
        "app",
        "--env",
        "A=1",
        "--env",
        "B=x=y",
        programs::P1_PRINT,
        "one",
        "--env",
        "--",
        "two",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        "arg: app\narg: one\narg: --env\narg: --\narg: two\nenv: A=1\nenv: B=x=y\n"
    );
    // `--` right after the module passes flags through without itself.
    let o = vasi(&["run", programs::P1_PRINT, "--", "--dir", "x"]);
    assert!(
        stdout(&o).contains("arg: --dir\narg: x\n"),
        "{}",
        stdout(&o)
    );
    assert!(!stdout(&o).contains("arg: --\n"), "{}", stdout(&o));
}

#[test]
fn inherit_env_and_env_from_host() {
    let o = vasi_command()
        .args(["run", "--inherit-env", programs::P1_PRINT])
        .env_clear()
        .env("VASI_TEST_VAR", "inherited")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("env: VASI_TEST_VAR=inherited\n"),
        "{}",
        stdout(&o)
    );

    let o = vasi_command()
        .args(["run", "--env", "VASI_TEST_VAR", programs::P1_PRINT])
        .env("VASI_TEST_VAR", "taken")
        .env("OTHER_VAR", "not passed")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).ends_with("env: VASI_TEST_VAR=taken\n"),
        "{}",
        stdout(&o)
    );
    assert!(!stdout(&o).contains("OTHER_VAR"));

    let o = vasi(&["run", "--env", "VASI_NO_SUCH_VAR_42", programs::P1_PRINT]);
    assert_error_line(&o, 125, "VASI_NO_SUCH_VAR_42");
}

#[test]
fn stdin_from_a_file() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("in.txt");
    let mut bytes = b"line one\nline two\n".to_vec();
    bytes.extend(std::iter::repeat_n(b'x', 100_000));
    bytes.extend_from_slice(b"\nEND\n");
    std::fs::write(&input, bytes).unwrap();
    let o = vasi(&[
        "run",
        "--stdin",
        input.to_str().unwrap(),
        programs::P1_STDIO,
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "stdin bytes: 100023\nLINE ONE\nLINE TWO\n");
    assert_eq!(stderr(&o), "to stderr\n");
}

#[test]
fn host_and_memory_mounts() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("outside.txt"), "secret").unwrap();
    let programs = [programs::P1_FILE_RW, programs::P1_DIRS, programs::P1_ESCAPE];
    for (i, program) in programs.into_iter().enumerate() {
        // Each program expects an empty sandbox.
        let sandbox = tmp.path().join(format!("sandbox{i}"));
        std::fs::create_dir(&sandbox).unwrap();
        let dir = format!("{}::/sandbox", sandbox.display());
        let o = vasi(&["run", "--dir", &dir, program]);
        assert!(o.status.success(), "{program}: {}", stderr(&o));
        let o = vasi(&["run", "--mem-dir", "/sandbox", program]);
        assert!(o.status.success(), "{program} on --mem-dir: {}", stderr(&o));
    }
    assert_eq!(
        std::fs::read_to_string(tmp.path().join("outside.txt")).unwrap(),
        "secret"
    );
    let entries = std::fs::read_dir(tmp.path()).unwrap().count();
    assert_eq!(entries, 4, "nothing may appear beside the sandboxes");
}

/// Every file below `dir`, with its contents, sorted: to prove a tree unchanged.
fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            let name = p.strip_prefix(dir).unwrap().display().to_string();
            if p.is_dir() {
                out.push((format!("{name}/"), Vec::new()));
                stack.push(p);
            } else {
                out.push((name, std::fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn read_only_overlay_and_copied_mounts_leave_the_host_unchanged() {
    let tmp = tempfile::tempdir().unwrap();
    let host = tmp.path().join("host");
    std::fs::create_dir_all(host.join("sub")).unwrap();
    std::fs::write(host.join("sub/kept.txt"), "original\n").unwrap();
    let before = snapshot(&host);

    // Read-only: reads work, the first write makes the guest fail.
    let ro = format!("{}::/sandbox:ro", host.display());
    let o = vasi(&[
        "run",
        "--dir",
        &ro,
        programs::P1_CAT,
        "/sandbox/sub/kept.txt",
    ]);
    assert_eq!(stdout(&o), "original\n", "{}", stderr(&o));
    let o = vasi(&["run", "--dir", &ro, programs::P1_DIRS]);
    assert_ne!(o.status.code(), Some(0), "writes to a :ro mount must fail");

    // Overlay: the guest may change anything; the host never sees it. The
    // programs expect an empty sandbox, so mount the empty `sub2`.
    std::fs::create_dir(host.join("sub2")).unwrap();
    let before2 = snapshot(&host);
    let overlay = format!("{}::/sandbox", host.join("sub2").display());
    for program in [programs::P1_FILE_RW, programs::P1_DIRS, programs::P1_LINKS] {
        let o = vasi(&["run", "--overlay", &overlay, program]);
        assert!(o.status.success(), "{program} on --overlay: {}", stderr(&o));
    }
    // Overwriting a host file through an overlay only changes the guest's view.
    let o = vasi(&[
        "run",
        "--overlay",
        &format!("{}::/sandbox", host.display()),
        programs::P1_CAT,
        "/sandbox/sub",
    ]);
    assert_eq!(stdout(&o), "kept.txt\n");
    // An in-memory copy reads the same, and takes changes that stay in memory.
    std::os::unix::fs::symlink("sub/kept.txt", host.join("link")).unwrap();
    let copy = format!("{}::/sandbox", host.display());
    let o = vasi(&[
        "run",
        "--mem-copy",
        &copy,
        programs::P1_CAT,
        "/sandbox/link",
        "/sandbox",
    ]);
    assert_eq!(
        stdout(&o),
        "original\nlink\nsub/\nsub2/\n",
        "{}",
        stderr(&o)
    );
    let empty = format!("{}::/sandbox", host.join("sub2").display());
    let o = vasi(&["run", "--mem-copy", &empty, programs::P1_DIRS]);
    assert!(o.status.success(), "{}", stderr(&o));
    std::fs::remove_file(host.join("link")).unwrap();
    assert_eq!(snapshot(&host), before2);
    assert_eq!(before.len() + 1, before2.len());
}

#[test]
fn tar_images_and_memory_quotas() {
    let tmp = tempfile::tempdir().unwrap();
    let image = tmp.path().join("image.tar");
    let mut b = tar::Builder::new(std::fs::File::create(&image).unwrap());
    let mut h = tar::Header::new_gnu();
    h.set_size(6);
    h.set_mode(0o644);
    h.set_mtime(1_600_000_000);
    b.append_data(&mut h, "etc/motd", &b"hello\n"[..]).unwrap();
    let mut l = tar::Header::new_gnu();
    l.set_entry_type(tar::EntryType::Symlink);
    l.set_size(0);
    b.append_link(&mut l, "motd-link", "etc/motd").unwrap();
    b.finish().unwrap();
    drop(b);
    let spec = format!("{}::/img", image.display());
    let o = vasi(&[
        "run",
        "--tar",
        &spec,
        programs::P1_CAT,
        "/img",
        "/img/motd-link",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "etc/\nmotd-link\nhello\n");

    let o = vasi(&[
        "run",
        "--tar",
        &format!("{}::/img", tmp.path().join("no.tar").display()),
        programs::P1_CAT,
    ]);
    assert_error_line(&o, 125, "cannot mount");

    let o = vasi(&[
        "run",
        "--mem-dir",
        "/sandbox:64K",
        programs::P1_QUOTA,
        "65536",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = vasi(&["run", "--mem-dir", "/sandbox:lots", programs::P1_PRINT]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("invalid size"), "{}", stderr(&o));
}

#[test]
fn a_guest_server_serves_concurrent_clients() {
    use std::io::{Read, Write};
    use std::net::{Shutdown, TcpListener, TcpStream};
    use std::time::{Duration, Instant};
    // A free port: bound, noted, released (vasi binds it again).
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    let server = vasi_command()
        .args(["run", "--listen", &addr, programs::P1_ECHO_SERVER, "4"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let clients: Vec<_> = (0..4)
        .map(|i| {
            let addr = addr.clone();
            std::thread::spawn(move || {
                let deadline = Instant::now() + Duration::from_secs(20);
                let mut s = loop {
                    match TcpStream::connect(&addr) {
                        Ok(s) => break s,
                        Err(e) if Instant::now() < deadline => {
                            let _ = e;
                            std::thread::sleep(Duration::from_millis(50));
                        }
                        Err(e) => panic!("connect: {e}"),
                    }
                };
                s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
                s.write_all(format!("request {i}").as_bytes()).unwrap();
                s.shutdown(Shutdown::Write).unwrap();
                let mut reply = String::new();
                s.read_to_string(&mut reply).unwrap();
                assert_eq!(reply, format!("echo: request {i}"));
            })
        })
        .collect();
    for c in clients {
        c.join().expect("a client");
    }
    let out = server.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "served 4\n");

    let o = vasi(&["run", "--listen", "256.0.0.1:1", programs::P1_PRINT]);
    assert_error_line(&o, 125, "cannot listen on 256.0.0.1:1");
}

#[test]
fn a_trap_is_one_line_naming_the_call() {
    let o = vasi(&[
        "run",
        "--mem-dir",
        "/sandbox",
        programs::P1_HOSTILE,
        "trap-iovs-oob",
    ]);
    assert_error_line(&o, 134, "fd_write: out-of-bounds pointer");
}

#[test]
fn errors_are_one_clear_line() {
    let tmp = tempfile::tempdir().unwrap();
    let path = |name: &str| tmp.path().join(name).to_str().unwrap().to_string();

    assert_error_line(&vasi(&["run", &path("missing.wasm")]), 125, "cannot read");

    std::fs::write(path("garbage.wasm"), b"this is not wasm").unwrap();
    assert_error_line(
        &vasi(&["run", &path("garbage.wasm")]),
        125,
        "not a valid wasm module",
    );

    // A valid module with no `_start`.
    std::fs::write(path("empty.wasm"), b"\0asm\x01\0\0\0").unwrap();
    assert_error_line(
        &vasi(&["run", &path("empty.wasm")]),
        125,
        "exports no `_start`",
    );

    // A module importing `env::foo`, which nobody provides.
    let mut m = b"\0asm\x01\0\0\0".to_vec();
    m.extend_from_slice(&[0x01, 0x04, 0x01, 0x60, 0x00, 0x00]);
    m.extend_from_slice(&[
        0x02, 0x0b, 0x01, 0x03, b'e', b'n', b'v', 0x03, b'f', b'o', b'o', 0x00, 0x00,
    ]);
    std::fs::write(path("import.wasm"), m).unwrap();
    assert_error_line(&vasi(&["run", &path("import.wasm")]), 125, "env::foo");

    let o = vasi(&["run", "--dir", &path("no-such-dir"), programs::P1_PRINT]);
    assert_error_line(&o, 125, "cannot mount");

    let o = vasi(&["run", "--stdin", &path("no-such-file"), programs::P1_PRINT]);
    assert_error_line(&o, 125, "cannot open stdin file");

    let o = vasi(&["run", "--bogus-flag", programs::P1_PRINT]);
    assert_eq!(o.status.code(), Some(2));
    assert!(!stderr(&o).contains("panicked"));
}

#[test]
fn version_and_help() {
    let o = vasi(&["--version"]);
    assert!(o.status.success());
    assert_eq!(stdout(&o), format!("vasi {}\n", env!("CARGO_PKG_VERSION")));
    let o = vasi(&["run", "--help"]);
    assert!(o.status.success());
    let help = stdout(&o);
    for needle in [
        "--dir",
        "--mem-dir",
        "--env",
        "--inherit-env",
        "--stdin",
        "Exit codes",
        "134",
        "--trace",
        "--trace-filter",
        "--deterministic",
        "--seed",
        "--max-memory",
        "--max-open-files",
        "--fuel",
        "--timeout",
        "121",
        "122",
        "123",
        "124",
        "vasi run -- app.wasm",
    ] {
        assert!(help.contains(needle), "help lacks {needle}:\n{help}");
    }
    assert!(Path::new(env!("CARGO_BIN_EXE_vasi")).exists());
}

/// Runs vasi with `stdin` as its standard input (kept open if `None`) and
/// returns its output and how long it took.
fn vasi_with_stdin(args: &[&str], stdin: Option<&[u8]>) -> (Output, std::time::Duration) {
    use std::io::Write;
    let started = std::time::Instant::now();
    let mut child = vasi_command()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run vasi");
    let mut pipe = child.stdin.take().unwrap();
    if let Some(bytes) = stdin {
        pipe.write_all(bytes).unwrap();
        drop(pipe);
        let o = child.wait_with_output().unwrap();
        return (o, started.elapsed());
    }
    // Keep stdin open until vasi is done.
    let o = child.wait_with_output().unwrap();
    drop(pipe);
    (o, started.elapsed())
}

#[test]
fn trace_shows_every_call_decoded() {
    let o = vasi(&[
        "run",
        "--trace",
        "--mem-dir",
        "/sandbox",
        programs::P1_LIMITS,
        "open",
        "2",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "opened 2\n");
    let trace = stderr(&o);
    for needle in [
        "args_sizes_get() = 0 -> argc=3 ",
        "fd_prestat_dir_name(fd=3</sandbox>) = 0 -> \"/sandbox\" <",
        "fd_prestat_get(fd=4) = EBADF <",
        "path_open(fd=3</sandbox>, dirflags=SYMLINK_FOLLOW, path=\"f0\", oflags=CREAT|TRUNC, ",
        ") = 0 -> fd=4</sandbox/f0> <",
        "fd_write(fd=1<stdout>, iovs=[\"opened 2\\n\"]) = 0 -> nwritten=9 <",
        "fd_close(fd=5</sandbox/f1>) = 0 <",
    ] {
        assert!(trace.contains(needle), "trace lacks {needle:?}:\n{trace}");
    }
    // Every line ends with a duration in seconds.
    for line in trace.lines() {
        let (_, d) = line.rsplit_once(" <").expect("a duration");
        let d = d.strip_suffix('>').expect("a closing >");
        assert!(d.parse::<f64>().is_ok(), "bad duration in {line}");
    }

    // To a file, one family only.
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("trace.txt");
    let o = vasi(&[
        "run",
        &format!("--trace={}", file.display()),
        "--trace-filter",
        "path",
        "--mem-dir",
        "/sandbox",
        programs::P1_LIMITS,
        "open",
        "2",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stderr(&o), "");
    let trace = std::fs::read_to_string(&file).unwrap();
    assert_eq!(trace.lines().count(), 2, "{trace}");
    assert!(
        trace.lines().all(|l| l.starts_with("path_open(")),
        "{trace}"
    );

    let o = vasi(&[
        "run",
        "--trace",
        "--trace-filter",
        "fd,files",
        programs::P1_PRINT,
    ]);
    assert_error_line(&o, 125, "unknown hostcall family \"files\"");
}

#[test]
fn deterministic_runs_are_byte_identical_and_follow_the_seed() {
    let run = |seed: &str| {
        let o = vasi(&[
            "run",
            "--deterministic",
            "--seed",
            seed,
            "--trace",
            programs::P1_LIMITS,
            "timerand",
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        (stdout(&o), stderr(&o))
    };
    let (out1, trace1) = run("7");
    let (out2, trace2) = run("7");
    assert_eq!(out1, out2);
    assert_eq!(trace1, trace2);
    assert!(
        out1.starts_with(
            "realtime 1577836800000000000\nmonotonic 1000\nmonotonic after sleep 1000002000\nrandom "
        ),
        "{out1}"
    );
    assert!(trace1.contains("poll_oneoff("), "{trace1}");
    let (out3, _) = run("8");
    assert_ne!(out1, out3, "another seed gave the same random bytes");
    assert_eq!(
        out1.lines().take(3).collect::<Vec<_>>(),
        out3.lines().take(3).collect::<Vec<_>>()
    );
    // In-memory files are stamped from the same virtual timeline.
    let mtime = || {
        let o = vasi(&[
            "run",
            "--deterministic",
            "--mem-dir",
            "/sandbox",
            programs::P1_LIMITS,
            "mtime",
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        stdout(&o)
    };
    let (m1, m2) = (mtime(), mtime());
    assert_eq!(m1, m2);
    let nanos: u64 = m1.trim().strip_prefix("mtime ").unwrap().parse().unwrap();
    assert!(
        (1_577_836_800_000_000_000..1_577_836_801_000_000_000).contains(&nanos),
        "{m1}"
    );
    // --seed without --deterministic is a usage error.
    let o = vasi(&["run", "--seed", "1", programs::P1_PRINT]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn timeout_stops_a_spinning_guest() {
    let (o, took) = vasi_with_stdin(
        &["run", "--timeout", "1s", programs::P1_LIMITS, "spin"],
        Some(b""),
    );
    assert_error_line(&o, 124, "--timeout");
    assert!(took < std::time::Duration::from_secs(15), "{took:?}");
}

#[test]
fn timeout_stops_a_guest_sleeping_for_an_hour() {
    let (o, took) = vasi_with_stdin(
        &["run", "--timeout", "1s", programs::P1_LIMITS, "sleep"],
        Some(b""),
    );
    assert_error_line(&o, 124, "ran longer than --timeout");
    assert_eq!(stdout(&o), "");
    assert!(took < std::time::Duration::from_secs(15), "{took:?}");
}

#[test]
fn timeout_stops_a_guest_waiting_on_an_open_stdin() {
    let (o, took) = vasi_with_stdin(
        &["run", "--timeout", "1s", programs::P1_LIMITS, "stdin"],
        None,
    );
    assert_error_line(&o, 124, "ran longer than --timeout");
    assert!(took < std::time::Duration::from_secs(15), "{took:?}");
    // Without a timeout the same guest reads to the end.
    let (o, _) = vasi_with_stdin(&["run", programs::P1_LIMITS, "stdin"], Some(b"12345"));
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "read 5 bytes\n");
}

#[test]
fn timeout_stops_a_guest_waiting_in_accept() {
    let (o, took) = vasi_with_stdin(
        &[
            "run",
            "--timeout",
            "1s",
            "--listen",
            "127.0.0.1:0",
            programs::P1_ECHO_SERVER,
            "1",
        ],
        Some(b""),
    );
    assert_error_line(&o, 124, "ran longer than --timeout");
    assert!(took < std::time::Duration::from_secs(15), "{took:?}");
}

#[test]
fn fuel_stops_a_spinning_guest() {
    let o = vasi(&["run", "--fuel", "1000000", programs::P1_LIMITS, "spin"]);
    assert_error_line(&o, 123, "ran out of fuel (--fuel 1000000)");
    // Enough fuel: a short guest finishes.
    let o = vasi(&["run", "--fuel", "100000000", programs::P1_PRINT]);
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn max_memory_stops_a_growing_guest() {
    let o = vasi(&["run", "--max-memory", "32M", programs::P1_LIMITS, "alloc"]);
    assert_error_line(&o, 121, "beyond --max-memory (33554432 bytes)");
    assert!(stdout(&o).contains("allocated 16 MiB"), "{}", stdout(&o));
    // Below what the module declares at start: refused at instantiation.
    let o = vasi(&["run", "--max-memory", "64K", programs::P1_PRINT]);
    assert_error_line(&o, 121, "--max-memory");
}

#[test]
fn max_open_files_stops_a_guest_at_the_limit() {
    let o = vasi(&[
        "run",
        "--max-open-files",
        "6",
        "--mem-dir",
        "/sandbox",
        programs::P1_LIMITS,
        "open",
        "100",
    ]);
    assert_error_line(&o, 122, "limit of 6 open files (--max-open-files)");
    // Within the limit, nothing happens.
    let o = vasi(&[
        "run",
        "--max-open-files",
        "6",
        "--mem-dir",
        "/sandbox",
        programs::P1_LIMITS,
        "open",
        "2",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "opened 2\n");
}

#[test]
fn shell_niceties() {
    // Flags after `--` go to the guest.
    let o = vasi(&["run", "--", programs::P1_PRINT, "--dir", "x", "--timeout"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        format!(
            "arg: {}\narg: --dir\narg: x\narg: --timeout\n",
            programs::P1_PRINT
        )
    );
    // The module from stdin.
    let module = std::fs::read(programs::P1_PRINT).unwrap();
    let (o, _) = vasi_with_stdin(&["run", "--argv0", "app", "-", "a"], Some(&module));
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "arg: app\narg: a\n");
    let (o, _) = vasi_with_stdin(&["run", "-"], Some(b"junk"));
    assert_error_line(
        &o,
        125,
        "the module read from stdin is not a valid wasm module",
    );
}

#[test]
fn modules_vasi_cannot_run_are_named_with_their_imports() {
    let tmp = tempfile::tempdir().unwrap();
    let write = |name: &str, import_module: &str, import_name: &str| {
        // (module (type (func)) (import MODULE NAME (func (type 0))))
        let mut m = b"\0asm\x01\0\0\0".to_vec();
        m.extend_from_slice(&[0x01, 0x04, 0x01, 0x60, 0x00, 0x00]);
        let mut body = vec![0x01, import_module.len() as u8];
        body.extend_from_slice(import_module.as_bytes());
        body.push(import_name.len() as u8);
        body.extend_from_slice(import_name.as_bytes());
        body.extend_from_slice(&[0x00, 0x00]);
        m.push(0x02);
        m.push(body.len() as u8);
        m.extend_from_slice(&body);
        let path = tmp.path().join(name);
        std::fs::write(&path, m).unwrap();
        path.to_str().unwrap().to_string()
    };
    let p = write("p0.wasm", "wasi_unstable", "fd_write");
    assert_error_line(&vasi(&["run", &p]), 125, "built for WASI preview0");
    let p = write("typo.wasm", "wasi_snapshot_preview1", "fd_writ");
    assert_error_line(
        &vasi(&["run", &p]),
        125,
        "imports `wasi_snapshot_preview1::fd_writ`, which is not a WASI preview1 function",
    );
    let p = write("other.wasm", "my_host", "hello");
    assert_error_line(
        &vasi(&["run", &p]),
        125,
        "imports `my_host::hello` (a function), which vasi does not provide",
    );
    let p = write("nomem.wasm", "wasi_snapshot_preview1", "fd_write");
    assert_error_line(&vasi(&["run", &p]), 125, "exports no memory named `memory`");
    // A component (layer 1) is not a core module.
    let component = tmp.path().join("c.wasm");
    std::fs::write(&component, b"\0asm\x0d\0\x01\0").unwrap();
    assert_error_line(
        &vasi(&["run", component.to_str().unwrap()]),
        125,
        "is a WebAssembly component",
    );
    // A directory as stdin.
    let o = vasi(&[
        "run",
        "--stdin",
        tmp.path().to_str().unwrap(),
        programs::P1_PRINT,
    ]);
    assert_error_line(&o, 125, "it is a directory");
}

#[test]
fn globals_from_the_command_line() {
    // Without --global, the guest reads its defaults.
    let o = vasi(&["run", programs::GLOBALS_EXAMPLE]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        "TEST_BOOL=true TEST_UINT64=42 TEST_DURATION=60s\n"
    );
    let o = vasi(&[
        "run",
        "--global",
        "TEST_BOOL=false",
        "--global",
        "TEST_UINT64=43",
        "--global",
        "TEST_DURATION=250ms",
        programs::GLOBALS_EXAMPLE,
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        "TEST_BOOL=false TEST_UINT64=43 TEST_DURATION=250ms\n"
    );
    // The encodings, as a u64 reader sees them: i64 bits, f64 bits, nanoseconds.
    for (value, seen) in [
        ("-1", "18446744073709551615"),
        ("1.5", "4609434218613702656"),
        ("2h", "7200000000000"),
        ("0x2a", "42"),
    ] {
        let o = vasi(&[
            "run",
            "--global",
            &format!("TEST_UINT64={value}"),
            programs::GLOBALS_EXAMPLE,
        ]);
        assert!(
            stdout(&o).contains(&format!(" TEST_UINT64={seen} ")),
            "{value}: {}",
            stdout(&o)
        );
    }
}

#[test]
fn bad_globals_are_usage_errors() {
    for (spec, what) in [
        ("TEST_UINT64", "NAME=VALUE"),
        ("=1", "name"),
        ("TEST_UINT64=lots", "invalid value"),
        ("TEST_DURATION=1.5s", "invalid value"),
    ] {
        let o = vasi(&["run", "--global", spec, programs::GLOBALS_EXAMPLE]);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{spec}: {err}");
        assert!(
            err.contains("--global") && err.contains(what),
            "{spec}: {err}"
        );
        assert!(stdout(&o).is_empty(), "{spec}: the guest must not run");
    }
}

/// Spawns vasi with its stdout a pipe nobody reads; returns its exit code,
/// stderr and how long it ran (killed after 60 s).
fn vasi_unread_stdout(args: &[&str]) -> (Option<i32>, String, std::time::Duration) {
    use std::io::Read;
    use std::time::{Duration, Instant};
    let started = Instant::now();
    let mut child = vasi_command()
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run vasi");
    // Held, never read: the pipe fills up and writes block.
    let unread = child.stdout.take();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if started.elapsed() > Duration::from_secs(60) {
            child.kill().unwrap();
            child.wait().unwrap();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let took = started.elapsed();
    drop(unread);
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    (status.and_then(|s| s.code()), err, took)
}

#[test]
fn timeout_stops_a_guest_blocked_writing_a_full_stdout_pipe() {
    // As `vasi run --timeout 2s app.wasm | sleep 15`.
    let (code, err, took) =
        vasi_unread_stdout(&["run", "--timeout", "2s", programs::P1_EXACT, "spew"]);
    assert_eq!(code, Some(124), "after {took:?}: {err}");
    assert!(err.contains("ran longer than --timeout"), "{err}");
    assert!(took < std::time::Duration::from_secs(6), "{took:?}");
}

#[test]
fn a_thread_blocked_on_a_full_stdout_pipe_does_not_hold_up_the_others() {
    // A wasi-threads guest's writer thread fills a pipe nobody reads and
    // blocks; its main thread's 100 sleeps and exit must still happen: the
    // blocked write waits with the context's lock released.
    let (code, err, took) = vasi_unread_stdout(&[
        "run",
        "--timeout",
        "20s",
        programs::THREADS_FULL_STDOUT,
        "10000000",
    ]);
    assert_eq!(code, Some(0), "after {took:?}: {err}");
    assert_eq!(err, "main done\n");
    assert!(took < std::time::Duration::from_secs(10), "{took:?}");
}

#[test]
fn timeout_stops_a_guest_sending_to_a_peer_that_never_reads() {
    use std::net::{TcpListener, TcpStream};
    use std::time::{Duration, Instant};
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    let peer = std::thread::spawn({
        let addr = addr.clone();
        move || {
            let deadline = Instant::now() + Duration::from_secs(20);
            loop {
                match TcpStream::connect(&addr) {
                    // Connected, and never reads; kept open until vasi is gone.
                    Ok(s) => {
                        std::thread::sleep(Duration::from_secs(8));
                        return drop(s);
                    }
                    Err(_) if Instant::now() < deadline => {
                        std::thread::sleep(Duration::from_millis(20))
                    }
                    Err(e) => panic!("connect: {e}"),
                }
            }
        }
    });
    let (o, took) = vasi_with_stdin(
        &[
            "run",
            "--timeout",
            "2s",
            "--listen",
            &addr,
            programs::P1_EXACT,
            "send",
        ],
        Some(b""),
    );
    assert_error_line(&o, 124, "ran longer than --timeout");
    assert!(took < Duration::from_secs(6), "{took:?}");
    peer.join().unwrap();
}

#[test]
fn a_fifo_in_a_host_directory_never_blocks_open() {
    let tmp = tempfile::tempdir().unwrap();
    let status = Command::new("mkfifo")
        .arg(tmp.path().join("fifo"))
        .status()
        .unwrap();
    assert!(status.success());
    let dir = format!("{}::/sandbox", tmp.path().display());
    let (o, took) = vasi_with_stdin(
        &[
            "run",
            "--timeout",
            "5s",
            "--dir",
            &dir,
            programs::P1_EXACT,
            "fifo",
        ],
        Some(b""),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        "read-only open: ok, read ESPIPE\nread-write open: ok\nwrite-only open: ENXIO\n"
    );
    assert!(took < std::time::Duration::from_secs(4), "{took:?}");
}

/// `--max-memory` caps the whole instance: several memories, and tables (8
/// bytes an element), together.
#[test]
fn max_memory_caps_all_memories_and_tables_together() {
    let tmp = tempfile::tempdir().unwrap();
    let module = |name: &str, wat: &str| {
        let path = tmp.path().join(name);
        std::fs::write(&path, wat::parse_str(wat).unwrap()).unwrap();
        path.to_str().unwrap().to_string()
    };
    // Eight memories of 56 MiB (896 pages) each: 448 MiB in all.
    let mut wat = String::from("(module\n");
    for i in 0..8 {
        wat.push_str(&format!("(memory $m{i} 896)\n"));
    }
    wat.push_str("(export \"memory\" (memory $m0))\n(func (export \"_start\")))");
    let eight = module("eight.wasm", &wat);
    let o = vasi(&["run", "--max-memory", "64M", &eight]);
    assert_error_line(&o, 121, "beyond --max-memory (67108864 bytes)");
    // The same module fits in 500M.
    let o = vasi(&["run", "--max-memory", "500M", &eight]);
    assert!(o.status.success(), "{}", stderr(&o));

    // Memories that fit alone but not together, grown at run time: two of
    // 16 MiB each grow by 24 MiB under a 64 MiB cap.
    let grow = module(
        "grow.wasm",
        r#"(module
            (memory $a 256) (memory $b 256)
            (export "memory" (memory $a))
            (func (export "_start")
                (if (i32.eq (memory.grow $a (i32.const 384)) (i32.const -1)) (then unreachable))
                (drop (memory.grow $b (i32.const 384)))))"#,
    );
    let o = vasi(&["run", "--max-memory", "64M", &grow]);
    assert_error_line(&o, 121, "--max-memory");

    // A table grown to 100M elements (800 MB as counted) under 64M.
    let table = module(
        "table.wasm",
        r#"(module
            (memory (export "memory") 1)
            (table $t 1 funcref)
            (func (export "_start")
                (drop (table.grow $t (ref.null func) (i32.const 100000000)))))"#,
    );
    let o = vasi(&["run", "--max-memory", "64M", &table]);
    assert_error_line(&o, 121, "a table");
    // A small table is fine.
    let small = module(
        "small.wasm",
        r#"(module
            (memory (export "memory") 1)
            (table $t 1 funcref)
            (func (export "_start")
                (if (i32.eq (table.grow $t (ref.null func) (i32.const 1000)) (i32.const -1))
                    (then unreachable))))"#,
    );
    let o = vasi(&["run", "--max-memory", "64M", &small]);
    assert!(o.status.success(), "{}", stderr(&o));
}
