//! `threads_rayon [check|bench N]`: `check` (the default) computes a parallel
//! sum and a parallel sort with rayon and compares them with the sequential
//! results, printing `rayon ok THREADS`; `bench N` runs a CPU-bound parallel
//! job of size N (no hostcalls in its loop) and prints its checksum. rayon's
//! pool size comes from `RAYON_NUM_THREADS`.

use rayon::prelude::*;

fn mix(mut x: u64) -> u64 {
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    x = x.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    x ^ (x >> 33)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        None | Some("check") => {
            let v: Vec<u64> = (0..1_000_000u64).map(mix).collect();
            let par: u64 = v.par_iter().map(|x| x % 1000).sum();
            let seq: u64 = v.iter().map(|x| x % 1000).sum();
            assert_eq!(par, seq);
            let mut a = v.clone();
            let mut b = v;
            a.par_sort_unstable();
            b.sort_unstable();
            assert!(a == b, "parallel sort differs");
            assert!(a.windows(2).all(|w| w[0] <= w[1]));
            println!("rayon ok {}", rayon::current_num_threads());
        }
        Some("bench") => {
            let n: u64 = args.get(2).map_or(4_000, |s| s.parse().expect("N"));
            // Each item: a few hundred thousand rounds of mixing, pure CPU.
            let sum = (0..n)
                .into_par_iter()
                .map(|i| (0..20_000u64).fold(i, |acc, j| mix(acc ^ j)))
                .reduce(|| 0, u64::wrapping_add);
            println!("{sum:016x} on {}", rayon::current_num_threads());
        }
        Some(other) => panic!("unknown mode {other}"),
    }
}
