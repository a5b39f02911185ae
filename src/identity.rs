//! Who runs bmctl, as the operating system says: the login of the real
//! uid, and — when a technician runs bmctl as the service account through
//! sudo — the uid sudo ran it for.

use nix::unistd::{getuid, Uid, User};

/// The system config a shared host's service account and sudo read.
pub const SYSTEM_CONFIG: &str = "/etc/bmctl/config.toml";

/// The login of a uid; a uid with no passwd entry is `uid:N`.
pub fn login_of(uid: u32) -> String {
    match User::from_uid(Uid::from_raw(uid)) {
        Ok(Some(u)) => u.name,
        _ => format!("uid:{uid}"),
    }
}

/// The login of the process's real user (`getpwuid(getuid())`), not
/// `$USER`, which any caller may set.
pub fn login() -> String {
    login_of(getuid().as_raw())
}

/// The process as the OS sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Process {
    /// The login of the real uid.
    pub login: String,
    /// The login sudo ran bmctl for (`SUDO_UID`, a uid — never the
    /// `SUDO_USER` text), when it is another user's.
    pub sudo_for: Option<String>,
}

impl Process {
    pub fn current() -> Process {
        let uid = getuid().as_raw();
        let sudo_for = std::env::var("SUDO_UID")
            .ok()
            .and_then(|s| s.trim().parse::<u32>().ok())
            .filter(|u| *u != uid)
            .map(login_of);
        Process {
            login: login_of(uid),
            sudo_for,
        }
    }
}

/// How bmctl is being run, by the rules of README's "Running bmctl for a
/// team".
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// A technician's own bmctl: the actor is their login.
    Personal { login: String },
    /// The service account itself (cron): it may name another actor
    /// (`--actor`, for replays) and write with `--now`.
    Service { login: String },
    /// A technician through sudo as the service account: the actor is the
    /// technician; `--actor`, and config or database paths of their own,
    /// are refused.
    Sudo { service: String, technician: String },
}

impl Mode {
    /// Decide from the process and the service accounts the system config
    /// names.
    pub fn of(p: &Process, service_accounts: &[String]) -> Mode {
        let service = service_accounts.contains(&p.login);
        match (&p.sudo_for, service) {
            (Some(t), true) => Mode::Sudo {
                service: p.login.clone(),
                technician: t.clone(),
            },
            (_, true) => Mode::Service {
                login: p.login.clone(),
            },
            _ => Mode::Personal {
                login: p.login.clone(),
            },
        }
    }

    /// The actor of a command: the OS's answer; a name claimed with
    /// `--actor` only from the service account itself.
    pub fn actor(&self, claimed: Option<&str>) -> Result<String, String> {
        let claimed = claimed.map(str::trim).filter(|c| !c.is_empty());
        match (self, claimed) {
            (Mode::Service { .. }, Some(c)) => Ok(c.to_string()),
            (Mode::Service { login }, None) | (Mode::Personal { login }, None) => {
                Ok(login.clone())
            }
            (Mode::Personal { login }, Some(c)) if c == login => Ok(login.clone()),
            (Mode::Personal { login }, Some(c)) => Err(format!(
                "--actor {c}: the actor is your login '{login}'; only a service account ([identity] service_accounts) may name another"
            )),
            (Mode::Sudo { technician, .. }, None) => Ok(technician.clone()),
            (Mode::Sudo { technician, .. }, Some(c)) => Err(format!(
                "--actor {c}: under sudo the actor is the login sudo ran bmctl for ('{technician}')"
            )),
        }
    }

    /// Whether writes may honour `--now` whatever the database allows:
    /// replays by the service account itself.
    pub fn may_replay(&self) -> bool {
        matches!(self, Mode::Service { .. })
    }
}

/// This host's name, for the audit log.
pub fn host() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown-host".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_login_is_the_passwd_name_of_the_uid() {
        let uid = nix::unistd::getuid().as_raw();
        let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
        let listed = passwd.lines().find_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.get(2) == Some(&uid.to_string().as_str())).then(|| f[0].to_string())
        });
        match listed {
            Some(name) => assert_eq!(login(), name),
            None => assert!(login().starts_with("uid:") || !login().is_empty()),
        }
    }

    #[test]
    fn who_is_acting_in_each_deployment() {
        let svc = vec!["bmctl".to_string()];
        let p = |login: &str, sudo_for: Option<&str>| Process {
            login: login.into(),
            sudo_for: sudo_for.map(str::to_string),
        };
        let cases: [(Process, Option<&str>, Result<&str, &str>); 8] = [
            // personal: the login, never another name
            (p("alice", None), None, Ok("alice")),
            (p("alice", None), Some("alice"), Ok("alice")),
            (
                p("alice", None),
                Some("carol"),
                Err("only a service account"),
            ),
            // the service account itself may name another (replays)
            (p("bmctl", None), None, Ok("bmctl")),
            (p("bmctl", None), Some("carol"), Ok("carol")),
            // through sudo: the technician sudo ran it for
            (p("bmctl", Some("alice")), None, Ok("alice")),
            (p("bmctl", Some("alice")), Some("carol"), Err("under sudo")),
            // sudo to someone who is no service account: personal
            (p("alice", Some("root")), None, Ok("alice")),
        ];
        for (process, claimed, want) in cases {
            let got = Mode::of(&process, &svc).actor(claimed);
            match (got, want) {
                (Ok(a), Ok(w)) => assert_eq!(a, w, "{process:?}"),
                (Err(e), Err(w)) => assert!(e.contains(w), "{e}"),
                (g, w) => panic!("{process:?} {claimed:?}: {g:?}, want {w:?}"),
            }
        }
        assert!(Mode::of(&p("bmctl", None), &svc).may_replay());
        assert!(!Mode::of(&p("bmctl", Some("alice")), &svc).may_replay());
        assert!(!Mode::of(&p("alice", None), &svc).may_replay());
    }
}
