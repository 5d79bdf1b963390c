//! The dense-hosting benchmark's file guest: `filerw READ WRITE` reads the
//! file READ (a small file of a 50 MB image) and writes what it read, with a
//! line of its own, to WRITE.

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (read, write) = match &args[..] {
        [_, read, write] => (read, write),
        _ => panic!("usage: filerw READ WRITE"),
    };
    let mut data = std::fs::read(read).unwrap_or_else(|e| panic!("read {read}: {e}"));
    data.extend_from_slice(b"written by one instance\n");
    std::fs::write(write, &data).unwrap_or_else(|e| panic!("write {write}: {e}"));
}
