//! What the CLI's test files share: the `vasi` binary, run with a compile
//! cache of the test build's own (never the user's), and its output as text.

#![allow(dead_code, reason = "each test file uses a part of it")]

use std::ffi::OsStr;
use std::path::Path;
use std::process::{Command, Output, Stdio};

/// The `vasi` command, with a compile cache of the test build's own.
pub(crate) fn vasi_command() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_vasi"));
    c.env(
        "VASI_CACHE_DIR",
        Path::new(env!("CARGO_TARGET_TMPDIR")).join("vasi-cli-test-cache"),
    );
    c
}

/// Runs `vasi ARGS` with no stdin.
pub(crate) fn vasi<S: AsRef<OsStr>>(args: &[S]) -> Output {
    vasi_command()
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run vasi")
}

pub(crate) fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub(crate) fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}
