//! The benchmarks and issue 6's targets for each.

/// One benchmark: a loop of one kind of work.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Bench {
    /// `clock_time_get(monotonic)`.
    Clock,
    /// `random_get` of 16 bytes.
    Random,
    /// `fd_write` of 16 bytes to stdout, which goes into a sink.
    Write16,
    /// `fd_write` of 1 MiB extending a file (truncated every 256 MiB).
    Write1m,
    /// `fd_read` of 1 MiB from a file (the 256 MiB fixture).
    Read1m,
    /// `path_filestat_get` of one file.
    Stat,
    /// `path_open` of one file plus `fd_close`.
    OpenClose,
    /// One full `fd_readdir` scan of a 10,000-entry directory, 4 KiB buffer.
    Readdir,
    /// `args_sizes_get` + `args_get` + `environ_sizes_get` + `environ_get`,
    /// 100 environment variables.
    ArgsEnv,
    /// A whole hello-world instance: context + store + instantiate + `_start`
    /// (writes "hello\n") + drop.
    Hello,
}

/// A target of issue 6 for one vasi backend.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Target {
    /// ns/op at most this times wasmtime-wasi's.
    VsWasmtimeWasi(f64),
    /// ns/op at most this times native Rust's.
    VsNative(f64),
    /// Throughput at least this fraction of native Rust's.
    ThroughputVsNative(f64),
}

impl Bench {
    /// Every benchmark, in table order.
    pub(crate) const ALL: [Bench; 10] = [
        Bench::Clock,
        Bench::Random,
        Bench::Write16,
        Bench::Write1m,
        Bench::Read1m,
        Bench::Stat,
        Bench::OpenClose,
        Bench::Readdir,
        Bench::ArgsEnv,
        Bench::Hello,
    ];

    /// The name on the command line and in the guest.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Bench::Clock => "clock",
            Bench::Random => "random",
            Bench::Write16 => "write16",
            Bench::Write1m => "write1m",
            Bench::Read1m => "read1m",
            Bench::Stat => "stat",
            Bench::OpenClose => "open_close",
            Bench::Readdir => "readdir",
            Bench::ArgsEnv => "args_env",
            Bench::Hello => "hello",
        }
    }

    /// The row label in the results table.
    pub(crate) fn label(self) -> &'static str {
        match self {
            Bench::Clock => "clock_time_get",
            Bench::Random => "random_get 16 B",
            Bench::Write16 => "fd_write 16 B (stdout sink)",
            Bench::Write1m => "fd_write 1 MiB to a file",
            Bench::Read1m => "fd_read 1 MiB from a file",
            Bench::Stat => "path_filestat_get",
            Bench::OpenClose => "path_open + fd_close",
            Bench::Readdir => "fd_readdir scan of 10,000 entries",
            Bench::ArgsEnv => "args + environ (100 vars)",
            Bench::Hello => "hello instance",
        }
    }

    /// The benchmark named `name`.
    pub(crate) fn from_name(name: &str) -> Option<Bench> {
        Bench::ALL.into_iter().find(|b| b.name() == name)
    }

    /// Bulk I/O: 1 MiB per op, shown in MB/s too.
    pub(crate) fn is_bulk(self) -> bool {
        matches!(self, Bench::Write1m | Bench::Read1m)
    }

    /// The iterations of the first (calibration) run: small enough to be
    /// quick on the slowest host.
    pub(crate) fn first_n(self) -> u64 {
        match self {
            Bench::Clock | Bench::Random | Bench::Write16 => 10_000,
            Bench::Stat | Bench::OpenClose | Bench::ArgsEnv => 1_000,
            Bench::Write1m | Bench::Read1m => 16,
            Bench::Hello => 20,
            Bench::Readdir => 1,
        }
    }

    /// Issue 6's targets for vasi on `HostDir` (`memfs == false`) or `MemFs`.
    pub(crate) fn targets(self, memfs: bool) -> &'static [Target] {
        use Target::*;
        match self {
            // Hostcall-bound and not about files: the same for both backends.
            Bench::Clock | Bench::Write16 => &[VsWasmtimeWasi(0.5), VsNative(1.5)],
            Bench::Random | Bench::Hello => &[VsWasmtimeWasi(0.5)],
            Bench::Readdir => &[VsWasmtimeWasi(0.5), VsNative(3.0)],
            Bench::ArgsEnv => &[VsWasmtimeWasi(0.5), VsNative(2.0)],
            // "within 1.5 x native ... on HostDir".
            Bench::Stat | Bench::OpenClose if memfs => &[VsWasmtimeWasi(0.5)],
            Bench::Stat | Bench::OpenClose => &[VsWasmtimeWasi(0.5), VsNative(1.5)],
            // Bulk I/O: >= 0.9 x native throughput on HostDir, faster than
            // native on MemFs.
            Bench::Write1m | Bench::Read1m if memfs => &[ThroughputVsNative(1.0)],
            Bench::Write1m | Bench::Read1m => &[ThroughputVsNative(0.9)],
        }
    }
}
