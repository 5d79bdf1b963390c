//! The README's embedding example is `examples/capture.rs`, verbatim; this runs
//! it on a real guest and checks that the README still shows the same code.

use test_programs_artifacts as programs;

const EXAMPLE: &str = include_str!("../../examples/capture.rs");
const README: &str = include_str!("../../../../README.md");

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

#[test]
fn capture_example_runs() {
    // The example binary is built by `cargo test` next to this test binary.
    let exe = std::env::current_exe().unwrap();
    let examples = exe.parent().unwrap().parent().unwrap().join("examples");
    let example = examples.join(format!("capture{}", std::env::consts::EXE_SUFFIX));
    let out = std::process::Command::new(&example)
        .arg(programs::P1_EXIT_CODE)
        .arg("7")
        .output()
        .unwrap_or_else(|e| panic!("{}: {e}", example.display()));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(stdout, "exit code 7, stdout: \"exiting with 7\\n\"\n");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
