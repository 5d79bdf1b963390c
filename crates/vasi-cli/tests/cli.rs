//! The `vasi` command, run as a subprocess: flags, exit codes and error lines.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use test_programs_artifacts as programs;

fn vasi(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vasi"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run vasi")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

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
    let o = Command::new(env!("CARGO_BIN_EXE_vasi"))
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

    let o = Command::new(env!("CARGO_BIN_EXE_vasi"))
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
    ] {
        assert!(help.contains(needle), "help lacks {needle}:\n{help}");
    }
    assert!(Path::new(env!("CARGO_BIN_EXE_vasi")).exists());
}
