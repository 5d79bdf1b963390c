//! Guests for limits, interrupts and deterministic runs: each mode does one
//! thing a host must be able to bound or reproduce.
//!
//! Host contract: args `["p1_limits", MODE, ...]`:
//! - `spin`: loops for ever in wasm code (no hostcalls); never exits.
//! - `sleep`: sleeps for an hour in `poll_oneoff`; prints `slept\n` if it ever
//!   wakes.
//! - `stdin`: reads stdin to its end, then prints `read N bytes\n`.
//! - `alloc`: allocates (and touches) 1 MiB blocks until allocation fails
//!   (which aborts, a trap); prints `allocated N MiB\n` after every 16 MiB.
//! - `open N`: opens `/sandbox/f0`, `/sandbox/f1`, ... (created) keeping them
//!   open, up to N files; prints `opened K\n` and, if an open failed,
//!   `then ERRNO\n` with the errno's name. Exits 0.
//! - `mtime`: creates `/sandbox/stamped`, writes to it and prints
//!   `mtime NANOS\n` (its modification time); exits 0.
//! - `timerand`: prints the realtime and monotonic clocks, sleeps 1 s,
//!   prints the monotonic clock again and 16 random bytes in hex; exits 0.

use std::io::{Read, Write};
use test_programs::{clock_time_get, errno_name, random_get, Check};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("spin") => {
            let mut n = 0u64;
            loop {
                n = std::hint::black_box(n.wrapping_add(1));
            }
        }
        Some("sleep") => {
            std::thread::sleep(std::time::Duration::from_secs(3600));
            println!("slept");
        }
        Some("stdin") => {
            let mut all = Vec::new();
            std::io::stdin().read_to_end(&mut all).expect("read stdin");
            println!("read {} bytes", all.len());
        }
        Some("alloc") => {
            let mut blocks: Vec<Vec<u8>> = Vec::new();
            loop {
                blocks.push(vec![1u8; 1 << 20]);
                if blocks.len() % 16 == 0 {
                    println!("allocated {} MiB", blocks.len());
                    std::io::stdout().flush().unwrap();
                }
            }
        }
        Some("open") => {
            let max: usize = args[2].parse().expect("a count");
            let mut files = Vec::new();
            let mut failure = None;
            for i in 0..max {
                match std::fs::File::create(format!("/sandbox/f{i}")) {
                    Ok(f) => files.push(f),
                    Err(e) => {
                        failure = e.raw_os_error();
                        break;
                    }
                }
            }
            println!("opened {}", files.len());
            if let Some(errno) = failure {
                println!("then {}", errno_name(errno));
            }
        }
        Some("mtime") => {
            std::fs::write("/sandbox/stamped", b"x").expect("write /sandbox/stamped");
            let modified = std::fs::metadata("/sandbox/stamped")
                .and_then(|m| m.modified())
                .expect("stat /sandbox/stamped");
            let nanos = modified
                .duration_since(std::time::UNIX_EPOCH)
                .expect("after 1970")
                .as_nanos();
            println!("mtime {nanos}");
        }
        Some("timerand") => {
            let real = clock_time_get(0).check("clock_time_get(REALTIME)");
            let mono = clock_time_get(1).check("clock_time_get(MONOTONIC)");
            println!("realtime {real}");
            println!("monotonic {mono}");
            std::thread::sleep(std::time::Duration::from_secs(1));
            let after = clock_time_get(1).check("clock_time_get(MONOTONIC)");
            assert!(after >= mono + 1_000_000_000, "slept less than 1 s");
            println!("monotonic after sleep {after}");
            let mut bytes = [0u8; 16];
            random_get(&mut bytes).check("random_get");
            let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
            println!("random {hex}");
        }
        other => panic!("unknown mode {other:?}"),
    }
}
