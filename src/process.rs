//! The one process runner of `run`, `restore test` and the hooks: how a
//! command that cannot start is reported, the exit-code rule (a command
//! killed by signal N exits 128 + N, as a shell says), signals sent to
//! bmctl forwarded to the command it waits on, and a process group killed
//! whole.

use std::ffi::OsStr;
use std::os::unix::process::ExitStatusExt;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread::JoinHandle;

use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::iterator::{Handle, Signals};

/// The exit code of a finished command: its own, or 128 + the signal that
/// killed it.
pub fn exit_code(status: ExitStatus) -> i32 {
    status
        .code()
        .unwrap_or_else(|| 128 + status.signal().unwrap_or(0))
}

/// A command that could not be started: 127 when it is not found, else 126
/// (as a shell), and why.
pub fn cannot_start(program: &OsStr, e: &std::io::Error) -> (i32, String) {
    let code = if e.kind() == std::io::ErrorKind::NotFound {
        127
    } else {
        126
    };
    (
        code,
        format!("cannot start {}: {e}", program.to_string_lossy()),
    )
}

/// The name of a signal bmctl forwards.
pub fn signal_name(sig: i32) -> String {
    match sig {
        SIGTERM => "SIGTERM".into(),
        SIGINT => "SIGINT".into(),
        SIGHUP => "SIGHUP".into(),
        9 => "SIGKILL".into(),
        n => format!("signal {n}"),
    }
}

/// Send `sig` to a process (or, with a negative id, a process group)
/// through `kill(1)`: bmctl forbids `unsafe`, so no direct syscall.
fn send(sig: i32, target: i64) {
    let _ = Command::new("kill")
        .args([format!("-{sig}"), "--".into(), target.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// Kill a child started as the leader of its own process group, and every
/// process in the group (a hook's shell and what it started).
pub fn kill_group(child: &mut Child) {
    send(9, -i64::from(child.id()));
    let _ = child.kill();
    let _ = child.wait();
}

/// While alive, SIGTERM, SIGINT and SIGHUP sent to bmctl go on to the
/// command it waits on, so a stopped `run` does not leave its backup
/// running as an orphan with nothing recorded.
pub struct Forwarding {
    handle: Handle,
    thread: JoinHandle<Option<i32>>,
}

impl Forwarding {
    /// Forward to `pid`; `None` when signals cannot be watched (the command
    /// still runs, as before).
    pub fn to(pid: u32) -> Option<Forwarding> {
        let mut signals = Signals::new([SIGTERM, SIGINT, SIGHUP]).ok()?;
        let handle = signals.handle();
        let thread = std::thread::spawn(move || {
            let mut last = None;
            for sig in signals.forever() {
                send(sig, i64::from(pid));
                last = Some(sig);
            }
            last
        });
        Some(Forwarding { handle, thread })
    }

    /// Stop forwarding; the last signal forwarded, if any.
    pub fn stop(self) -> Option<i32> {
        self.handle.close();
        self.thread.join().ok().flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_follow_the_shell() {
        let st = |sh: &str| {
            Command::new("sh")
                .args(["-c", sh])
                .status()
                .map(exit_code)
                .unwrap()
        };
        assert_eq!(st("exit 3"), 3);
        assert_eq!(st("kill -TERM $$"), 128 + 15);
        assert_eq!(st("kill -KILL $$"), 128 + 9);
        let missing = std::io::Error::from(std::io::ErrorKind::NotFound);
        assert_eq!(cannot_start(OsStr::new("nope"), &missing).0, 127);
        let denied = std::io::Error::from(std::io::ErrorKind::PermissionDenied);
        assert_eq!(cannot_start(OsStr::new("x"), &denied).0, 126);
    }
}
