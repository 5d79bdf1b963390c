//! The start-up benchmark's guest: an ordinary Rust hello-world (std's
//! `println!`, so one `fd_write` to stdout behind std's own start-up).

fn main() {
    println!("hello");
}
