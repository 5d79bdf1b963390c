//! vasi-globals through real engines: the docs' example, a guest that follows
//! live changes made from another thread, and the error cases, each on
//! wasmtime and on wasmi.

mod errors;
mod example;
mod harness;
mod live;

use example::globals_example;
use live::{globals_bench, globals_live};

// Every globals_* guest program must have a test module of the same name.
macro_rules! assert_test_exists {
    ($name:ident) => {
        #[allow(unused_imports, reason = "only checks that the module exists")]
        use self::$name as _;
    };
}
test_programs_artifacts::foreach_globals_program!(assert_test_exists);
