//! `threads_condvar [ROUNDS]`: two threads pass a counter back and forth
//! through a Mutex and a Condvar ROUNDS times (default 1000), each checking
//! that it only ever sees the other's move. Prints `pingpong ROUNDS`.

use std::sync::{Arc, Condvar, Mutex};

fn main() {
    let rounds: u32 = std::env::args()
        .nth(1)
        .map_or(1000, |s| s.parse().expect("ROUNDS"));
    let state = Arc::new((Mutex::new(0u32), Condvar::new()));
    let other = state.clone();
    // The main thread moves on even counts, the other on odd ones.
    let pong = std::thread::spawn(move || {
        let (lock, cv) = &*other;
        let mut n = lock.lock().unwrap();
        while *n < 2 * rounds {
            while *n % 2 == 0 {
                n = cv.wait(n).unwrap();
            }
            assert_eq!(*n % 2, 1);
            *n += 1;
            cv.notify_all();
        }
    });
    {
        let (lock, cv) = &*state;
        let mut n = lock.lock().unwrap();
        while *n < 2 * rounds {
            assert_eq!(*n % 2, 0);
            *n += 1;
            cv.notify_all();
            while *n % 2 == 1 {
                n = cv.wait(n).unwrap();
            }
        }
    }
    pong.join().unwrap();
    let n = *state.0.lock().unwrap();
    assert_eq!(n, 2 * rounds);
    println!("pingpong {rounds}");
}
