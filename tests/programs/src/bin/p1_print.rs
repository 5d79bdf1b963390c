//! Prints what the guest was given, one item per line: `arg: <argument>` for each
//! argument (argv[0] included), then `env: <NAME=value>` for each environment
//! variable, in the order the host passed them. Exit code 0.
//!
//! Used by the host and CLI tests to check how arguments and environment reach
//! the guest.

fn main() {
    for a in std::env::args() {
        println!("arg: {a}");
    }
    for (k, v) in std::env::vars() {
        println!("env: {k}={v}");
    }
}
