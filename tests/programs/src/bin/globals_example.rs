//! The guest of the example in docs/globals-abi.md (the tests check that the
//! document shows this code): it prints what it sees of three globals, once
//! at start and again each time the host calls its `report` export.

// DOCS:begin
use std::time::Duration;
use vasi_globals_sdk::Global;

static TEST_BOOL: Global<bool> = Global::new("TEST_BOOL", true);
static TEST_UINT64: Global<u64> = Global::new("TEST_UINT64", 42);
static TEST_DURATION: Global<Duration> = Global::new("TEST_DURATION", Duration::from_secs(60));

/// Prints the current values; the host calls this after each change.
#[no_mangle]
pub extern "C" fn report() {
    println!(
        "TEST_BOOL={} TEST_UINT64={} TEST_DURATION={:?}",
        TEST_BOOL.get(),
        TEST_UINT64.get(),
        TEST_DURATION.get()
    );
}

fn main() {
    report();
}
// DOCS:end
