//! Roles and the commands they gate: who may do what in the process.

/// A role a login holds in `[team.LOGIN] roles`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    Technician,
    BackupAdmin,
    Approver,
    ServiceManager,
    Admin,
}

words!(Role { Technician = "technician", BackupAdmin = "backup-admin", Approver = "approver", ServiceManager = "service-manager", Admin = "admin" });

/// Who may run a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gate {
    /// A read: anyone in the team.
    Anyone,
    /// A login holding this role.
    Role(Role),
    /// The collectors cron runs: the service account, or a backup admin.
    Service,
}

/// The gate of a command, by the name it audits under (`macd approve`).
pub fn gate(command: &str) -> Gate {
    use Role::*;
    let words: Vec<&str> = command.split_whitespace().collect();
    let (family, verb) = (
        words.first().copied().unwrap_or(""),
        words.get(1).copied().unwrap_or(""),
    );
    let role = |r| Gate::Role(r);
    match (family, verb) {
        ("check", _) | ("run", _) => Gate::Service,
        ("tasks", "generate") | ("events", "import" | "ingest") => Gate::Service,
        ("tasks", "templates") => match words.get(2).copied() {
            Some("list" | "show") | None => Gate::Anyone,
            Some(_) => role(BackupAdmin),
        },
        (
            "tasks",
            "start" | "check" | "uncheck" | "done" | "skip" | "note" | "assign" | "reopen",
        ) => role(Technician),
        ("correct", "list" | "show") => Gate::Anyone,
        ("correct", _) => role(Technician),
        ("restore", "test" | "record") => role(Technician),
        ("macd", "add" | "change" | "move" | "delete" | "cancel") => role(Technician),
        ("macd", "approve" | "reject") => role(Approver),
        ("macd", "implement" | "complete") => role(BackupAdmin),
        ("cmdb", "add" | "import" | "edit" | "retire") => role(BackupAdmin),
        ("plan", "import") => role(BackupAdmin),
        ("pause", "" | "end") => role(BackupAdmin),
        ("db", "prune") => role(BackupAdmin),
        ("events", "exclude") => role(BackupAdmin),
        ("intake", "map") => role(BackupAdmin),
        ("intake", "ignore" | "retry") => role(Technician),
        ("plan", "risks") if matches!(words.get(2), Some(&"accept" | &"withdraw")) => {
            role(ServiceManager)
        }
        ("client", "add" | "edit" | "contact") => match words.get(2).copied() {
            Some("list") => Gate::Anyone,
            _ => role(ServiceManager),
        },
        ("db", "repair" | "backup") | ("audit", "checkpoint") => role(Admin),
        _ => Gate::Anyone,
    }
}

/// Whether a login may pass `gate`. With no roles configured anyone may (a
/// one-person shop). A service account passes reads and the service gate,
/// nothing else (it cannot approve); a team member passes reads, the
/// service gate as a backup admin, and a role gate holding the role.
pub fn allows(gate: Gate, roles_configured: bool, member: Option<&[Role]>, service: bool) -> bool {
    if !roles_configured {
        return true;
    }
    match gate {
        Gate::Anyone => member.is_some() || service,
        Gate::Service => service || member.is_some_and(|r| r.contains(&Role::BackupAdmin)),
        Gate::Role(role) => member.is_some_and(|r| r.contains(&role)),
    }
}

/// A login as people type it (`[team.LOGIN]`, `assign`, `--actor`):
/// trimmed, then letters, digits, `.`, `_` and `-` from ASCII only — a
/// Cyrillic `а` in `аlice` or a trailing space must not name another person.
/// `bmctl`, the actor of automatic actions, cannot be claimed.
pub fn check_login(text: &str) -> Result<&str, String> {
    let t = text.trim();
    if t.is_empty() {
        return Err("a login cannot be blank".into());
    }
    if let Some(c) = t
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
    {
        return Err(format!(
            "'{}' is not a login: {} is not allowed (logins are ASCII letters, digits, '.', '_' and '-')",
            t.escape_debug(),
            if c.is_control() {
                "a control character".to_string()
            } else {
                format!("'{c}' (U+{:04X})", c as u32)
            }
        ));
    }
    if t == AUTOMATIC {
        return Err(format!(
            "'{AUTOMATIC}' is the actor of bmctl's automatic actions and cannot be claimed"
        ));
    }
    Ok(t)
}

/// The actor of what bmctl does by itself (tickets from events, checks).
pub const AUTOMATIC: &str = "bmctl";

/// A person's name as people type it (`--by "Jane Roe (CFO at Acme)"`):
/// trimmed; no control characters; no letters of two scripts mixed in one
/// word (a Cyrillic `о` inside a Latin name is a look-alike).
pub fn check_person(text: &str) -> Result<&str, String> {
    let t = text.trim();
    if t.is_empty() {
        return Err("a name cannot be blank".into());
    }
    if t.chars().any(char::is_control) {
        return Err(format!("'{}' holds a control character", t.escape_debug()));
    }
    let script = |c: char| match c as u32 {
        0x0041..=0x024F => Some(0), // Latin
        0x0370..=0x03FF => Some(1), // Greek
        0x0400..=0x052F => Some(2), // Cyrillic
        _ => None,
    };
    for word in t.split(|c: char| !c.is_alphabetic()) {
        let mut scripts = word.chars().filter_map(script);
        if let Some(first) = scripts.next() {
            if scripts.any(|s| s != first) {
                return Err(format!(
                    "'{word}' in '{t}' mixes Latin with Greek or Cyrillic letters (a look-alike)"
                ));
            }
        }
    }
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_command_has_its_gate() {
        use Role::*;
        let cases = [
            ("tasks done", Gate::Role(Technician)),
            ("tasks skip", Gate::Role(Technician)),
            ("correct resolve", Gate::Role(Technician)),
            ("correct list", Gate::Anyone),
            ("restore record", Gate::Role(Technician)),
            ("macd change", Gate::Role(Technician)),
            ("macd approve", Gate::Role(Approver)),
            ("macd reject", Gate::Role(Approver)),
            ("macd implement", Gate::Role(BackupAdmin)),
            ("macd list", Gate::Anyone),
            ("cmdb retire", Gate::Role(BackupAdmin)),
            ("plan import", Gate::Role(BackupAdmin)),
            ("pause", Gate::Role(BackupAdmin)),
            ("pause list", Gate::Anyone),
            ("tasks templates add", Gate::Role(BackupAdmin)),
            ("tasks templates list", Gate::Anyone),
            ("db prune", Gate::Role(BackupAdmin)),
            ("events exclude", Gate::Role(BackupAdmin)),
            ("plan risks accept", Gate::Role(ServiceManager)),
            ("plan risks withdraw", Gate::Role(ServiceManager)),
            ("plan risks", Gate::Anyone),
            ("client contact add", Gate::Role(ServiceManager)),
            ("client contact list", Gate::Anyone),
            ("client edit", Gate::Role(ServiceManager)),
            ("db backup", Gate::Role(Admin)),
            ("audit checkpoint", Gate::Role(Admin)),
            ("check", Gate::Service),
            ("tasks generate", Gate::Service),
            ("events import", Gate::Service),
            ("run", Gate::Service),
            ("kpi", Gate::Anyone),
            ("plan review", Gate::Anyone),
            ("due", Gate::Anyone),
        ];
        for (command, want) in cases {
            assert_eq!(gate(command), want, "{command}");
        }
        assert_eq!(Role::parse("backup-admin"), Some(BackupAdmin));
        assert_eq!(Role::parse("Admin"), None);
    }

    #[test]
    fn who_passes_a_gate() {
        use Role::*;
        let tech: &[Role] = &[Technician];
        let both: &[Role] = &[Technician, Approver];
        let admin: &[Role] = &[BackupAdmin];
        let cases = [
            // no roles anywhere: a one-person shop, everything allowed
            (Gate::Role(Approver), false, None, false, true),
            (Gate::Role(Approver), true, Some(tech), false, false),
            (Gate::Role(Approver), true, Some(both), false, true),
            (Gate::Role(Approver), true, None, true, false), // the service account
            (Gate::Service, true, None, true, true),
            (Gate::Service, true, Some(tech), false, false),
            (Gate::Service, true, Some(admin), false, true),
            (Gate::Anyone, true, Some(tech), false, true),
            (Gate::Anyone, true, None, true, true),
            (Gate::Anyone, true, None, false, false), // not in the team
        ];
        for (gate, configured, member, service, want) in cases {
            assert_eq!(
                allows(gate, configured, member, service),
                want,
                "{gate:?} {member:?}"
            );
        }
    }

    #[test]
    fn logins_and_names_as_people_type_them() {
        assert_eq!(check_login(" alice "), Ok("alice"));
        assert_eq!(check_login("svc-backup.01"), Ok("svc-backup.01"));
        for bad in [
            "\u{430}lice",
            "al ice",
            "alice\u{1b}[2J",
            "",
            "bmctl",
            "ali\u{200b}ce",
        ] {
            assert!(check_login(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            check_person("  José Núñez (CFO at Acme) "),
            Ok("José Núñez (CFO at Acme)")
        );
        assert_eq!(check_person("Анна Иванова"), Ok("Анна Иванова"));
        for bad in ["J\u{43e}hn Smith", "Jane\u{7}", " "] {
            assert!(check_person(bad).is_err(), "{bad:?}");
        }
    }
}
