//! `threads_stdio WRITERS LINES`: one thread copies stdin to stdout as lines
//! prefixed `in: ` while WRITERS threads each print LINES lines `w<i> <n>`
//! (whole lines, one write each) at the same time; the main thread joins them
//! and prints `stdin LINES_READ`.

use std::io::{BufRead, Write};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let writers: usize = args[1].parse().expect("WRITERS");
    let lines: usize = args[2].parse().expect("LINES");
    let reader = std::thread::spawn(|| {
        let mut n = 0;
        for line in std::io::stdin().lock().lines() {
            let line = line.expect("stdin");
            let mut out = std::io::stdout().lock();
            writeln!(out, "in: {line}").expect("stdout");
            n += 1;
        }
        n
    });
    let handles: Vec<_> = (0..writers)
        .map(|w| {
            std::thread::spawn(move || {
                for n in 0..lines {
                    let line = format!("w{w} {n}\n");
                    std::io::stdout()
                        .write_all(line.as_bytes())
                        .expect("stdout");
                }
            })
        })
        .collect();
    for h in handles {
        h.join().expect("writer");
    }
    let read = reader.join().expect("reader");
    println!("stdin {read}");
}
