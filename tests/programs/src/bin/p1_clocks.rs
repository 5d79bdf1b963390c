//! Clocks: realtime is plausible, monotonic never goes back, resolutions are
//! positive, sleeping (`poll_oneoff`) advances time, unknown clock ids fail.
//!
//! Host contract: no args beyond argv[0], no env, empty stdin; stdout and
//! stderr empty; exit code 0. Needs real (or at least advancing) clocks.

use std::time::{Duration, Instant};
use test_programs::{
    addr_mut, assert_errno, clock_res_get, clock_time_get, raw, Check, CLOCK_MONOTONIC,
    CLOCK_REALTIME, EINVAL,
};

const NS: u64 = 1_000_000_000;
/// 2020-01-01T00:00:00Z
const Y2020: u64 = 1_577_836_800 * NS;
/// 2100-01-01T00:00:00Z
const Y2100: u64 = 4_102_444_800 * NS;

fn main() {
    // Realtime.
    let now = clock_time_get(CLOCK_REALTIME).check("clock_time_get(REALTIME)");
    // `>=`: a deterministic run's clock starts at 2020-01-01T00:00:00Z exactly.
    assert!(now >= Y2020, "realtime {now} ns is before 2020-01-01");
    assert!(now < Y2100, "realtime {now} ns is after 2100-01-01");
    let sys = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("SystemTime before the epoch")
        .as_nanos() as u64;
    assert!(
        sys.abs_diff(now) < 10 * NS,
        "SystemTime::now {sys} far from raw realtime {now}"
    );

    // Monotonic: non-decreasing over 1000 reads.
    let mut prev = clock_time_get(CLOCK_MONOTONIC).check("clock_time_get(MONOTONIC)");
    let first = prev;
    for i in 0..1000 {
        let t = clock_time_get(CLOCK_MONOTONIC).check("clock_time_get(MONOTONIC)");
        assert!(t >= prev, "monotonic went back at read {i}: {prev} -> {t}");
        prev = t;
    }

    // Resolutions.
    for id in [CLOCK_REALTIME, CLOCK_MONOTONIC] {
        let r = clock_res_get(id).check("clock_res_get");
        assert!(r > 0, "clock_res_get({id}) = 0");
        assert!(r <= NS, "clock_res_get({id}) = {r} ns, more than a second");
    }

    // Sleeping through poll_oneoff advances both Instant and the raw clock.
    let start = Instant::now();
    std::thread::sleep(Duration::from_millis(20));
    let slept = start.elapsed();
    assert!(
        slept >= Duration::from_millis(20),
        "sleep(20ms) took only {slept:?}"
    );
    assert!(
        slept < Duration::from_secs(10),
        "sleep(20ms) took {slept:?}"
    );
    let after = clock_time_get(CLOCK_MONOTONIC).check("clock_time_get(MONOTONIC)");
    assert!(
        after - first >= 20_000_000,
        "monotonic advanced {} ns across a 20ms sleep",
        after - first
    );

    // Unknown clock ids.
    let mut t = 0u64;
    // SAFETY: `t` is a valid, aligned u64 out-pointer.
    assert_errno!(
        unsafe { raw::clock_time_get(99, 1, addr_mut(&mut t)) },
        EINVAL
    );
    // SAFETY: as above.
    assert_errno!(unsafe { raw::clock_res_get(99, addr_mut(&mut t)) }, EINVAL);
    assert_eq!(t, 0, "failed clock call wrote its result");
}
