//! Every `wasi_snapshot_preview1` hostcall, one module per family.
//!
//! Each hostcall is a plain function over the [`WasiCtx`](crate::WasiCtx), the
//! guest's memory and the call's integer arguments (`i32` as `u32`, `i64` as
//! `u64`), returning `Ok(())` for `ESUCCESS` or an [`Error`](crate::Error). A
//! runtime binding only has to take the memory out of its runtime and map the
//! result; [`for_each_hostcall!`](crate::for_each_hostcall) lists the functions
//! and their wasm signatures for it.

pub mod abi;
mod args;
mod clock;
mod fd;
mod path;
mod poll;
mod proc;
mod random;
mod sched;
mod sock;

pub use args::{args_get, args_sizes_get, environ_get, environ_sizes_get};
pub use clock::{clock_res_get, clock_time_get};
pub use fd::{
    fd_advise, fd_allocate, fd_close, fd_datasync, fd_fdstat_get, fd_fdstat_set_flags,
    fd_fdstat_set_rights, fd_filestat_get, fd_filestat_set_size, fd_filestat_set_times, fd_pread,
    fd_prestat_dir_name, fd_prestat_get, fd_pwrite, fd_read, fd_readdir, fd_renumber, fd_seek,
    fd_sync, fd_tell, fd_write,
};
pub use path::{
    path_create_directory, path_filestat_get, path_filestat_set_times, path_link, path_open,
    path_readlink, path_remove_directory, path_rename, path_symlink, path_unlink_file,
};
pub use poll::poll_oneoff;
pub use proc::{proc_exit, proc_raise};
pub use random::random_get;
pub use sched::sched_yield;
pub use sock::{sock_accept, sock_recv, sock_send, sock_shutdown};

/// The import module name of preview1.
pub const MODULE: &str = "wasi_snapshot_preview1";

/// Calls `$m!` with the name and wasm parameter types of every hostcall that
/// returns an errno (all but `proc_exit`, which returns nothing), as
/// `name(param: i32, other: i64, ...);` items.
///
/// Runtime bindings use it to register every function from one list:
///
/// ```
/// macro_rules! count {
///     ($($name:ident($($arg:ident: $ty:ident),*);)*) => { [$(stringify!($name)),*].len() };
/// }
/// assert_eq!(vasi::for_each_hostcall!(count), 45);
/// ```
#[macro_export]
macro_rules! for_each_hostcall {
    ($m:ident) => {
        $m! {
            args_get(argv: i32, argv_buf: i32);
            args_sizes_get(argc: i32, argv_buf_size: i32);
            environ_get(environ: i32, environ_buf: i32);
            environ_sizes_get(environ_count: i32, environ_buf_size: i32);
            clock_res_get(id: i32, resolution: i32);
            clock_time_get(id: i32, precision: i64, time: i32);
            fd_advise(fd: i32, offset: i64, len: i64, advice: i32);
            fd_allocate(fd: i32, offset: i64, len: i64);
            fd_close(fd: i32);
            fd_datasync(fd: i32);
            fd_fdstat_get(fd: i32, stat: i32);
            fd_fdstat_set_flags(fd: i32, flags: i32);
            fd_fdstat_set_rights(fd: i32, fs_rights_base: i64, fs_rights_inheriting: i64);
            fd_filestat_get(fd: i32, buf: i32);
            fd_filestat_set_size(fd: i32, size: i64);
            fd_filestat_set_times(fd: i32, atim: i64, mtim: i64, fst_flags: i32);
            fd_pread(fd: i32, iovs: i32, iovs_len: i32, offset: i64, nread: i32);
            fd_prestat_get(fd: i32, buf: i32);
            fd_prestat_dir_name(fd: i32, path: i32, path_len: i32);
            fd_pwrite(fd: i32, iovs: i32, iovs_len: i32, offset: i64, nwritten: i32);
            fd_read(fd: i32, iovs: i32, iovs_len: i32, nread: i32);
            fd_readdir(fd: i32, buf: i32, buf_len: i32, cookie: i64, bufused: i32);
            fd_renumber(fd: i32, to: i32);
            fd_seek(fd: i32, offset: i64, whence: i32, newoffset: i32);
            fd_sync(fd: i32);
            fd_tell(fd: i32, offset: i32);
            fd_write(fd: i32, iovs: i32, iovs_len: i32, nwritten: i32);
            path_create_directory(fd: i32, path: i32, path_len: i32);
            path_filestat_get(fd: i32, flags: i32, path: i32, path_len: i32, buf: i32);
            path_filestat_set_times(fd: i32, flags: i32, path: i32, path_len: i32, atim: i64, mtim: i64, fst_flags: i32);
            path_link(old_fd: i32, old_flags: i32, old_path: i32, old_path_len: i32, new_fd: i32, new_path: i32, new_path_len: i32);
            path_open(fd: i32, dirflags: i32, path: i32, path_len: i32, oflags: i32, fs_rights_base: i64, fs_rights_inheriting: i64, fdflags: i32, fd_out: i32);
            path_readlink(fd: i32, path: i32, path_len: i32, buf: i32, buf_len: i32, bufused: i32);
            path_remove_directory(fd: i32, path: i32, path_len: i32);
            path_rename(fd: i32, old_path: i32, old_path_len: i32, new_fd: i32, new_path: i32, new_path_len: i32);
            path_symlink(old_path: i32, old_path_len: i32, fd: i32, new_path: i32, new_path_len: i32);
            path_unlink_file(fd: i32, path: i32, path_len: i32);
            poll_oneoff(in_: i32, out: i32, nsubscriptions: i32, nevents: i32);
            proc_raise(sig: i32);
            sched_yield();
            random_get(buf: i32, buf_len: i32);
            sock_accept(fd: i32, flags: i32, result_fd: i32);
            sock_recv(fd: i32, ri_data: i32, ri_data_len: i32, ri_flags: i32, ro_datalen: i32, ro_flags: i32);
            sock_send(fd: i32, si_data: i32, si_data_len: i32, si_flags: i32, so_datalen: i32);
            sock_shutdown(fd: i32, how: i32);
        }
    };
}

/// The entry points runtime bindings call: every hostcall with the wasm
/// argument types (`i32`, `i64`), run under the context's
/// [hooks](crate::hook) when it has any, straight otherwise.
///
/// ```
/// let mut ctx = vasi::WasiCtxBuilder::new().build()?;
/// let mut bytes = [0u8; 16];
/// let mut mem = vasi::GuestMemory::new(&mut bytes);
/// // clock_time_get(MONOTONIC, 1, &time)
/// vasi::p1::dispatch::clock_time_get(&mut ctx, &mut mem, 1, 1, 8).unwrap();
/// assert_eq!(vasi::p1::dispatch::fd_close(&mut ctx, &mut mem, 99), Err(vasi::Errno::Badf.into()));
/// # Ok::<(), vasi::BuildError>(())
/// ```
pub mod dispatch {
    use crate::hook::{self, Call};
    use crate::{Error, GuestMemory, WasiCtx};

    /// A wasm argument as the raw `u64` a [`Call`] carries.
    trait Raw {
        fn raw(self) -> u64;
    }
    impl Raw for i32 {
        #[inline]
        fn raw(self) -> u64 {
            u64::from(self as u32)
        }
    }
    impl Raw for i64 {
        #[inline]
        fn raw(self) -> u64 {
            self as u64
        }
    }

    macro_rules! entry_points {
        ($($name:ident($($arg:ident: $ty:ident),*);)*) => {$(
            #[doc = concat!("`", stringify!($name), "` under the context's hooks; see [`super::", stringify!($name), "`].")]
            #[inline]
            #[allow(clippy::too_many_arguments, reason = "the preview1 signature")]
            pub fn $name(ctx: &mut WasiCtx, mem: &mut GuestMemory<'_>, $($arg: $ty),*) -> Result<(), Error> {
                if ctx.hooks.is_empty() {
                    return super::$name(ctx, mem, $($arg as _),*);
                }
                const PARAMS: &[&str] = &[$(stringify!($arg)),*];
                let args = [$(Raw::raw($arg)),*];
                hook::run(ctx, mem, Call::new(stringify!($name), PARAMS, &args), |ctx, mem| {
                    super::$name(ctx, mem, $($arg as _),*)
                })
            }
        )*};
    }
    crate::for_each_hostcall!(entry_points);

    /// `proc_exit` under the context's hooks; see [`super::proc_exit`].
    pub fn proc_exit(ctx: &mut WasiCtx, mem: &mut GuestMemory<'_>, code: i32) -> Result<(), Error> {
        if ctx.hooks.is_empty() {
            return super::proc_exit(ctx, mem, code as u32);
        }
        let args = [code.raw()];
        hook::run(
            ctx,
            mem,
            Call::new("proc_exit", &["code"], &args),
            |ctx, mem| super::proc_exit(ctx, mem, code as u32),
        )
    }
}

/// The name of every preview1 import vasi provides (all 46).
pub const HOSTCALLS: &[&str] = &{
    macro_rules! names {
        ($($name:ident($($arg:ident: $ty:ident),*);)*) => {
            [$(stringify!($name),)* "proc_exit"]
        };
    }
    for_each_hostcall!(names)
};

#[cfg(test)]
mod tests {
    #[test]
    fn every_preview1_function_is_listed() {
        assert_eq!(super::HOSTCALLS.len(), 46);
        let mut names = super::HOSTCALLS.to_vec();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), 46);
    }
}
