//! The README's embedding example is `examples/capture.rs`, verbatim; this runs
//! it on a real guest and checks that the README still shows the same code.

use test_programs_artifacts as programs;

const EXAMPLE: &str = include_str!("../../examples/capture.rs");
const README: &str = include_str!("../../../../README.md");
const MAP_FS: &str = include_str!("../../examples/map_fs.rs");
const FS_GUIDE: &str = include_str!("../../../../docs/filesystems.md");

#[test]
fn readme_shows_the_capture_example() {
    let body = EXAMPLE
        .split_once("// README:begin\n")
        .and_then(|(_, rest)| rest.split_once("    // README:end"))
        .map(|(body, _)| body)
        .expect("README markers in examples/capture.rs");
    let unindented: String = body
        .lines()
        .map(|l| l.strip_prefix("    ").unwrap_or(l))
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        README.contains(unindented.trim_end()),
        "README.md must show the code of examples/capture.rs between its markers:\n{unindented}"
    );
}

/// Runs an example binary, which `cargo test` builds next to this test binary.
fn run_example(name: &str, args: &[&str]) -> std::process::Output {
    let exe = std::env::current_exe().unwrap();
    let examples = exe.parent().unwrap().parent().unwrap().join("examples");
    let example = examples.join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    std::process::Command::new(&example)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{}: {e}", example.display()))
}

#[test]
fn the_guide_shows_the_map_fs_example() {
    let body = MAP_FS
        .split_once("// FS:begin\n")
        .and_then(|(_, rest)| rest.split_once("// FS:end"))
        .map(|(body, _)| body)
        .expect("FS markers in examples/map_fs.rs");
    assert!(
        FS_GUIDE.contains(body),
        "docs/filesystems.md must show the code of examples/map_fs.rs between its markers"
    );
}

#[test]
fn a_user_written_filesystem_serves_a_guest() {
    let out = run_example(
        "map_fs",
        &[
            programs::P1_CAT,
            "/map",
            "/map/docs",
            "/map/hello.txt",
            "/map/docs/deeper/b.txt",
        ],
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        stdout,
        "docs/\nhello.txt\na.txt\ndeeper/\nHello from a HashMap!\nsecond\n"
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run_example("map_fs", &[programs::P1_CAT, "/map/missing", "/map/../etc"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("/map/missing"), "{stderr}");
}

#[test]
fn capture_example_runs() {
    let out = run_example("capture", &[programs::P1_EXIT_CODE, "7"]);
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(stdout, "exit code 7, stdout: \"exiting with 7\\n\"\n");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn dense_example_serves_requests() {
    let out = run_example("dense", &["200"]);
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.starts_with("last response: hello, request 199\n200 requests in "),
        "{stdout}"
    );
}
