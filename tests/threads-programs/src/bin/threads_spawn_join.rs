//! `threads_spawn_join`: spawns 8 threads that each sum a range, joins them
//! and checks every result, then does the same with scoped threads borrowing
//! the main thread's data. Prints `ok 8` on success, panics otherwise.

fn main() {
    let handles: Vec<_> = (0..8u64)
        .map(|i| {
            std::thread::spawn(move || {
                let lo = i * 1_000_000;
                (lo..lo + 1_000_000).sum::<u64>()
            })
        })
        .collect();
    for (i, h) in handles.into_iter().enumerate() {
        let lo = i as u64 * 1_000_000;
        let want = (lo + lo + 999_999) * 1_000_000 / 2;
        assert_eq!(h.join().expect("thread ended"), want, "thread {i}");
    }
    let data: Vec<u32> = (0..10_000).collect();
    let mut sums = [0u64; 4];
    std::thread::scope(|s| {
        for (chunk, out) in data.chunks(2500).zip(sums.iter_mut()) {
            s.spawn(move || *out = chunk.iter().map(|&x| u64::from(x)).sum());
        }
    });
    assert_eq!(sums.iter().sum::<u64>(), 9_999 * 10_000 / 2);
    assert!(sums.iter().all(|&s| s > 0));
    println!("ok 8");
}
