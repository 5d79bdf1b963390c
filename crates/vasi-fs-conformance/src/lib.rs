//! A conformance suite for vasi filesystem backends.
//!
//! It runs the same named checks on any [`vasi::vfs::Dir`] implementation, end
//! to end through the core's hostcalls (so path walking, symlink following,
//! trailing slashes and escape attempts are part of what is checked), and
//! reports how many ran, passed, failed and were skipped. A backend declares its
//! [`Capabilities`]; checks that need something it lacks are *skipped* with the
//! reason, never passed silently.
//!
//! # Example
//!
//! ```
//! use std::sync::Arc;
//! use vasi::vfs::{Dir, MemFs};
//! use vasi_fs_conformance::{fixture, run, Capabilities, Subject};
//!
//! struct Mine;
//! impl Subject for Mine {
//!     fn name(&self) -> String {
//!         "MemFs".into()
//!     }
//!     fn capabilities(&self) -> Capabilities {
//!         Capabilities::FULL
//!     }
//!     fn with_fixture(&self) -> Arc<dyn Dir> {
//!         let fs = MemFs::new();
//!         fixture::populate(&*fs.root(), Capabilities::FULL).expect("the fixture");
//!         fs.root()
//!     }
//! }
//!
//! let report = run(&Mine);
//! report.assert_ok();
//! assert_eq!(report.run, report.passed);
//! assert!(report.passed > 20);
//! ```

use std::fmt;
use std::sync::Arc;
use vasi::vfs::Dir;

mod checks;
mod env;
pub mod fixture;

/// What a backend can do; checks needing more are skipped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Capabilities {
    /// Files and directories can be created, changed and removed. A backend
    /// without it must refuse every change with `EROFS` (checked).
    pub writable: bool,
    /// Symlinks exist (the fixture has some) and, when writable, can be made.
    pub symlinks: bool,
    /// Hard links exist (the fixture has a pair) and, when writable, can be made.
    pub hard_links: bool,
}

impl Capabilities {
    /// Everything: writable, with symlinks and hard links.
    pub const FULL: Capabilities = Capabilities {
        writable: true,
        symlinks: true,
        hard_links: true,
    };
    /// Read-only, with symlinks and hard links in the image.
    pub const READ_ONLY: Capabilities = Capabilities {
        writable: false,
        symlinks: true,
        hard_links: true,
    };
}

/// A backend under test.
pub trait Subject {
    /// A name for the report.
    fn name(&self) -> String;
    /// What it supports.
    fn capabilities(&self) -> Capabilities;
    /// A fresh instance whose root holds exactly the fixture tree (see
    /// [`fixture`]); called once per check, so checks cannot disturb each
    /// other.
    fn with_fixture(&self) -> Arc<dyn Dir>;
}

/// The outcome of [`run`].
#[derive(Debug, Default, Clone)]
pub struct Report {
    /// The subject's name.
    pub subject: String,
    /// Checks that ran.
    pub run: usize,
    /// Checks that ran and passed.
    pub passed: usize,
    /// Checks not run, with the reason.
    pub skipped: Vec<(&'static str, &'static str)>,
    /// Checks that failed, with what went wrong.
    pub failures: Vec<(&'static str, String)>,
}

impl Report {
    /// Panics listing every failure, if there is one.
    #[track_caller]
    pub fn assert_ok(&self) {
        assert!(self.failures.is_empty(), "{self}");
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{}: {} checks run, {} passed, {} failed, {} skipped",
            self.subject,
            self.run,
            self.passed,
            self.failures.len(),
            self.skipped.len()
        )?;
        for (name, why) in &self.failures {
            writeln!(f, "  FAILED {name}: {why}")?;
        }
        for (name, why) in &self.skipped {
            writeln!(f, "  skipped {name}: {why}")?;
        }
        Ok(())
    }
}

/// Runs every check on `subject`.
pub fn run(subject: &dyn Subject) -> Report {
    let caps = subject.capabilities();
    let mut report = Report {
        subject: subject.name(),
        ..Report::default()
    };
    for check in checks::ALL {
        if let Some(why) = check.needs.missing(caps) {
            report.skipped.push((check.name, why));
            continue;
        }
        report.run += 1;
        let mut env = env::Env::new(subject.with_fixture());
        let outcome =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| (check.run)(&mut env, caps)));
        match outcome {
            Ok(Ok(())) => report.passed += 1,
            Ok(Err(msg)) => report.failures.push((check.name, msg)),
            Err(panic) => {
                let msg = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_else(|| "panicked".into());
                report
                    .failures
                    .push((check.name, format!("panicked: {msg}")));
            }
        }
    }
    report
}
