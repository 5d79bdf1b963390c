//! Exits with the code given in argv[1] through `std::process::exit`
//! (`proc_exit`).
//!
//! Host contract: args `["p1_exit_code", "<N>"]` with N in 0..=255 (the host
//! tests at least 0, 3, 42, 255); no env, empty stdin. stdout is exactly
//! `exiting with <N>\n`, stderr is empty, and the exit code is N.

use std::io::Write;

fn main() {
    let arg = std::env::args()
        .nth(1)
        .expect("argv[1] (the exit code) is missing");
    let code: i32 = arg
        .parse()
        .unwrap_or_else(|_| panic!("argv[1] {arg:?} is not an integer"));
    let mut out = std::io::stdout().lock();
    writeln!(out, "exiting with {code}").expect("write stdout");
    out.flush().expect("flush stdout");
    std::process::exit(code);
}
