//! Test-only fault injection, compiled into debug builds only:
//! `BMCTL_FAULT_ABORT_AFTER=N` aborts the process, as a SIGKILL would (no
//! unwinding, no rollback, no close), at the N-th write point of a bulk
//! command. Crash tests use it to land mid-write however fast the machine.

/// A write point: `done` writes have happened in the open transaction.
#[cfg(debug_assertions)]
pub fn write_point(done: usize) {
    let abort_after = std::env::var("BMCTL_FAULT_ABORT_AFTER")
        .ok()
        .and_then(|v| v.parse::<usize>().ok());
    if abort_after.is_some_and(|n| done >= n) {
        std::process::abort();
    }
}

/// Release builds: nothing.
#[cfg(not(debug_assertions))]
#[inline(always)]
pub fn write_point(_done: usize) {}
