//! `threads_files DIR THREADS SIZE`: THREADS threads each write their own
//! file `DIR/t<i>.bin` of SIZE bytes concurrently, in small writes, with a
//! pattern unique to the thread; then the main thread reads every file back
//! and checks every byte. Prints `files THREADS x SIZE`.

use std::io::Write;

fn byte(thread: usize, at: usize) -> u8 {
    (thread * 31 + at * 7 + at / 251) as u8
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let dir = args[1].clone();
    let threads: usize = args[2].parse().expect("THREADS");
    let size: usize = args[3].parse().expect("SIZE");
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let path = format!("{dir}/t{t}.bin");
            std::thread::spawn(move || {
                let mut f = std::fs::File::create(&path).expect("create");
                let mut at = 0;
                while at < size {
                    let n = (size - at).min(997);
                    let chunk: Vec<u8> = (at..at + n).map(|i| byte(t, i)).collect();
                    f.write_all(&chunk).expect("write");
                    at += n;
                }
                f.sync_all().expect("sync");
            })
        })
        .collect();
    for h in handles {
        h.join().expect("writer");
    }
    for t in 0..threads {
        let got = std::fs::read(format!("{dir}/t{t}.bin")).expect("read back");
        assert_eq!(got.len(), size, "t{t}.bin size");
        for (i, b) in got.iter().enumerate() {
            assert_eq!(*b, byte(t, i), "t{t}.bin byte {i}");
        }
    }
    println!("files {threads} x {size}");
}
