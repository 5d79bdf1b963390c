//! Reads the global `LIVE` in a loop and prints every new state it sees, with
//! the host's generation, until the host sets `STOP`.
//!
//! The host changes `LIVE` from another thread, each time after it saw the
//! previous state printed, so every change must show here, without a restart,
//! and a deleted `LIVE` must read as its default again. A guest that sees
//! nothing new for a minute exits with code 2, so a broken host fails the test
//! instead of hanging it.

use std::time::{Duration, Instant};
use vasi_globals_sdk::Global;

/// The value the host changes; 7 while unset.
static LIVE: Global<u64> = Global::new("LIVE", 7);

vasi_globals_sdk::globals! {
    /// Set by the host when the test is over.
    fn stop() -> bool = "STOP" or false;
}

fn main() {
    let mut last: Option<Option<u64>> = None;
    let mut last_generation = 0;
    let mut deadline = Instant::now() + Duration::from_secs(60);
    while !stop() {
        let seen = LIVE.lookup();
        if last != Some(seen) {
            let generation = vasi_globals_sdk::generation();
            if last.is_some() {
                // The host changes LIVE only after it saw the previous line.
                assert!(
                    generation > last_generation,
                    "LIVE changed but the generation stayed at {generation}"
                );
            }
            match seen {
                Some(v) => println!("LIVE={v} (generation {generation})"),
                None => println!(
                    "LIVE unset, default {} (generation {generation})",
                    LIVE.get()
                ),
            }
            last = Some(seen);
            last_generation = generation;
            deadline = Instant::now() + Duration::from_secs(60);
        } else if Instant::now() > deadline {
            eprintln!("no change for a minute: giving up");
            std::process::exit(2);
        }
        std::thread::yield_now();
    }
    println!("stopped");
}
