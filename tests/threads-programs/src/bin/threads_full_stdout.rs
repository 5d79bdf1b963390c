//! `threads_full_stdout BYTES`: one thread writes BYTES bytes to stdout, 4 KiB
//! a write, while the main thread makes 100 sleeps of 1 ms, then says
//! `main done` on stderr and exits 0 (ending the writer, if it is still
//! writing). With stdout a pipe nobody reads, the writer blocks once the pipe
//! is full; the main thread's calls must not wait behind it.

use std::io::Write;
use std::time::Duration;

fn main() {
    let bytes: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .expect("BYTES");
    std::thread::spawn(move || {
        let piece = [b'x'; 4096];
        let mut out = std::io::stdout();
        let mut left = bytes;
        while left > 0 {
            let n = left.min(piece.len());
            out.write_all(&piece[..n]).expect("stdout");
            left -= n;
        }
    });
    for _ in 0..100 {
        std::thread::sleep(Duration::from_millis(1));
    }
    eprintln!("main done");
    std::process::exit(0);
}
