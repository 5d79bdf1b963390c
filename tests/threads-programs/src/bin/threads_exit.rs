//! `threads_exit CODE`: starts 4 threads that sleep for an hour, and one that
//! calls `exit(CODE)` after 100 ms while the main thread waits to join the
//! sleepers. The run must end at once with CODE.

fn main() {
    let code: i32 = std::env::args()
        .nth(1)
        .map_or(7, |s| s.parse().expect("CODE"));
    let sleepers: Vec<_> = (0..4)
        .map(|_| std::thread::spawn(|| std::thread::sleep(std::time::Duration::from_secs(3600))))
        .collect();
    std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(100));
        println!("exiting with {code}");
        std::process::exit(code);
    });
    for s in sleepers {
        s.join().expect("sleeper");
    }
    println!("not reached");
}
