//! `threads_many TOTAL ROUNDS`: per round, tries to spawn TOTAL threads that
//! each open a file, then wait at a gate; counts how many spawns succeeded
//! and how many failed, opens the gate, joins all, and prints
//! `round R: S started, F refused`. Between rounds it waits until every
//! thread of the last one has ended, so the host has freed their slots.
//! With DIR, the threads' files are opened there, and at the end a new file
//! must get the same fd as one opened before the first round (no fd leaked):
//! prints `fds ok`.

use std::sync::{Arc, Condvar, Mutex};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let total: usize = args[1].parse().expect("TOTAL");
    let rounds: usize = args[2].parse().expect("ROUNDS");
    let dir = args.get(3).cloned();
    let probe = |d: &str| {
        use std::os::fd::AsRawFd;
        std::fs::File::create(format!("{d}/probe"))
            .expect("probe")
            .as_raw_fd()
    };
    let first_fd = dir.as_deref().map(probe);
    for round in 0..rounds {
        let gate = Arc::new((Mutex::new(false), Condvar::new()));
        let mut started = Vec::new();
        let mut refused = 0;
        for i in 0..total {
            let gate = gate.clone();
            let file = dir.as_ref().map(|d| format!("{d}/f{i}"));
            let spawned = std::thread::Builder::new()
                .stack_size(64 * 1024)
                .spawn(move || {
                    let f = file.map(|p| std::fs::File::create(p).expect("create"));
                    let (lock, cv) = &*gate;
                    let mut open = lock.lock().unwrap();
                    while !*open {
                        open = cv.wait(open).unwrap();
                    }
                    drop(f);
                    i
                });
            match spawned {
                Ok(h) => started.push(h),
                Err(_) => refused += 1,
            }
        }
        *gate.0.lock().unwrap() = true;
        gate.1.notify_all();
        let n = started.len();
        for h in started {
            h.join().expect("thread");
        }
        println!("round {round}: {n} started, {refused} refused");
        // Joined threads may still be leaving the host; give them a moment.
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    if let Some(d) = dir.as_deref() {
        assert_eq!(Some(probe(d)), first_fd, "an fd leaked");
        println!("fds ok");
    }
}
