//! A guest reads a global in a loop while the host changes and deletes it
//! from another thread: the guest sees every change, without a restart.

use crate::harness::{Instance, Link, State};
use crate::on_each_engine;
use std::time::{Duration, Instant};
use test_programs_artifacts as programs;
use vasi::CaptureBuffer;
use vasi_globals::Globals;

/// How long the host waits for the guest to report a state.
const TIMEOUT: Duration = Duration::from_secs(30);

/// Waits until the guest printed `lines` lines; panics on timeout (after
/// telling the guest to stop, so that its thread ends too).
#[track_caller]
fn wait_for_lines(out: &CaptureBuffer, globals: &Globals, lines: usize) -> String {
    let start = Instant::now();
    loop {
        let text = out.to_string_lossy();
        if text.lines().count() >= lines {
            return text;
        }
        if start.elapsed() > TIMEOUT {
            globals.set("STOP", true).unwrap();
            panic!(
                "the guest did not report state {lines} within {TIMEOUT:?}; it printed:\n{text}"
            );
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

on_each_engine! {
    fn globals_live(engine: Engine) {
        let globals = Globals::new();
        let out = CaptureBuffer::new();
        let guest = {
            let (globals, out) = (globals.clone(), out.clone());
            std::thread::spawn(move || {
                let wasm = std::fs::read(programs::GLOBALS_LIVE).unwrap();
                let state = State::new(&globals, &out);
                let mut instance = Instance::new(engine, &wasm, state, Link::WithGlobals)?;
                instance.run("_start")
            })
        };
        // The host changes LIVE only after the guest reported the previous
        // state: no change can be missed, and each one must show.
        let mut expected = vec!["LIVE unset, default 7 (generation 0)".to_string()];
        wait_for_lines(&out, &globals, expected.len());
        for (i, value) in [1u64, 2, 7, u64::MAX, 0].into_iter().enumerate() {
            globals.set("LIVE", value).unwrap();
            expected.push(format!("LIVE={value} (generation {})", i + 1));
            wait_for_lines(&out, &globals, expected.len());
        }
        assert_eq!(globals.del("LIVE"), Some(0));
        expected.push("LIVE unset, default 7 (generation 6)".to_string());
        let seen = wait_for_lines(&out, &globals, expected.len());
        globals.set("STOP", true).unwrap();
        let exit = guest.join().unwrap();
        expected.push("stopped".to_string());
        let seen_after = out.to_string_lossy();
        assert_eq!(exit, Ok(0), "{seen_after}");
        assert_eq!(seen_after.lines().collect::<Vec<_>>(), expected, "before STOP:\n{seen}");
    }
}

on_each_engine! {
    /// The benchmark's guest reads what it should, and its cached typed reads
    /// follow every change made between two calls into the same instance.
    fn globals_bench(engine: Engine) {
        let globals = Globals::new();
        let wasm = std::fs::read(programs::GLOBALS_BENCH).unwrap();
        let state = State::new(&globals, &CaptureBuffer::new());
        let mut guest = Instance::new(engine, &wasm, state, Link::WithGlobals).unwrap();
        for read in ["typed_reads", "raw_reads"] {
            assert_eq!(guest.call_n(read, 10), Ok(420), "{read}: the default");
        }
        globals.set("TEST_UINT64", 43u64).unwrap();
        for read in ["typed_reads", "raw_reads"] {
            assert_eq!(guest.call_n(read, 10), Ok(430), "{read}: set");
        }
        globals.set("TEST_UINT64", 44u64).unwrap();
        for read in ["typed_reads", "raw_reads"] {
            assert_eq!(guest.call_n(read, 10), Ok(440), "{read}: changed");
        }
        globals.del("TEST_UINT64");
        for read in ["typed_reads", "raw_reads"] {
            assert_eq!(guest.call_n(read, 10), Ok(420), "{read}: deleted");
        }
        assert!(guest.call_n("clock_reads", 10).unwrap() > 0);
    }
}
