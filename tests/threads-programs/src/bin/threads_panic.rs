//! `threads_panic`: a spawned thread panics while the main thread waits for
//! it. wasm32-wasip1-threads aborts on panic, so the whole guest must end
//! with a trap (after the panic message on stderr), not hang.

fn main() {
    let sleeper = std::thread::spawn(|| std::thread::sleep(std::time::Duration::from_secs(3600)));
    let t = std::thread::spawn(|| {
        std::thread::sleep(std::time::Duration::from_millis(50));
        panic!("spawned thread gives up");
    });
    let _ = t.join();
    let _ = sleeper.join();
    println!("not reached");
}
