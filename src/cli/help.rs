//! One vocabulary for the arguments: what an argument is, said once and
//! given to every command that takes it without a description of its own.

use clap::Command;

use crate::domain::{ci::CI_KINDS, policy};

/// The description of argument `id` of the command at `path` (`correct
/// assign`), when its own definition has none.
fn meaning(path: &str, id: &str) -> Option<String> {
    let family = path.split(' ').nth(1).unwrap_or("");
    let text = match (family, id) {
        ("correct", "id") => "The ticket's number (as `correct list` prints it)",
        ("tasks", "id") => "The task's number (as `tasks due` prints it)",
        ("macd", "id") => "The change's number: CR-12 or 12 (as `macd list` prints it)",
        ("pause", "id") => "The pause's number (as `pause list` prints it)",
        ("tasks", "name") => "The template's name",
        ("client", "name") => "The client's display name",
        ("client", "code") => "The client's code (as in its plan)",
        ("plan", "client") | ("plan", "code") => "The client's code",
        ("macd", "client") if path.ends_with("add") => {
            "The client's code (not needed when --job is CLIENT/JOB)"
        }
        (_, "client") => "Only this client's (its code)",
        ("cmdb", "ci") => "The CI as CLIENT/HOST",
        ("macd", "ci") if path.ends_with("delete") => "A whole CI whose backups go, as CLIENT/HOST",
        ("macd", "ci") => "The CI to protect: a HOST of the client (new with --new-ci)",
        ("macd", "job") if path.ends_with("delete") => "The policy that goes, as CLIENT/JOB",
        ("macd", "job") => "The new policy, as CLIENT/JOB (its job name unique within the client)",
        ("macd", "to_ci") => "The CI it moves to (a HOST of the same client)",
        ("macd", "target") if path.ends_with("move") => "The target it moves to",
        ("macd", "state") => "Only changes in this state",
        ("macd", "confirm_risk") => "Approve a high-risk change knowingly (its risks are recorded)",
        ("restore", "kind") => "`test` (a restore test) or `real` (a restore someone needed)",
        ("restore", "outcome") => "`success`, `partial` or `failed`",
        ("restore", "command") => "The restore command and its arguments, after --",
        ("events", "reason") => "Why these runs do not count (kept with the exclusion)",
        ("events", "status") => "Only events of this status",
        ("pause", "all") => "Pauses that have ended too",
        ("plan", "v1") | ("plan", "v2") => "A plan version (as `plan history` prints it)",
        ("plan", "all_clients") => "Every client, each in a folder of its own under --out",
        ("plan", "out") => "The folder the review's files are written into",
        ("db", "file") => "The copy to write (created mode 0600)",
        (_, "file") => "The file to read; - for standard input",
        (_, "tz") => "An IANA time zone (e.g. Europe/Berlin)",
        (_, "sla_tier") => "SLA tier: bronze, silver, gold or platinum",
        (_, "os") => "Operating system (free text)",
        (_, "role") => "What the CI is for (free text)",
        (_, "tier") => "CI tier: 1 (critical), 2 or 3",
        (_, "user") => "The person's login (with a [team], one of its logins)",
        (_, "psa") => "The PSA's ticket number",
        (_, "title") => "A short title",
        (_, "note") => "What is known so far (the first line of the timeline)",
        (_, "text") => "The note, as it goes into the timeline",
        (_, "item") => {
            "A checklist item: its number, its text, or the start of exactly one item's text"
        }
        (_, "result") => "`ok`, or `issues` (opens a linked corrective ticket; needs --note)",
        (_, "not_applicable") => "The task did not apply: left out of compliance",
        (_, "description") => "What the task is for",
        (_, "schedule") => "When it runs: a cron expression in the client's zone",
        (_, "rpo") => "Recovery point objective: the longest gap between restore points (e.g. 26h)",
        (_, "grace") => {
            "How long after its window a run may end before it counts as missed (e.g. 2h)"
        }
        (_, "rto") => "Recovery time objective: how long a restore may take (e.g. 4h)",
        (_, "max_runtime") => "How long a run may go before it counts as hung (e.g. 6h)",
        (_, "reason") => "Why (recorded in the timeline and the audit log)",
        _ => {
            return match id {
                "kind" => Some(format!("CI kind: {}", CI_KINDS.join(", "))),
                "tool" => Some(format!("Backup tool: {}", policy::TOOLS.join(", "))),
                "target" => Some(format!(
                    "Where the copies go: {}",
                    policy::TARGETS.join(", ")
                )),
                "restore_test" => Some(format!(
                    "Restore-test cadence: {}",
                    policy::RESTORE_TESTS.join(", ")
                )),
                _ => None,
            }
        }
    };
    Some(text.to_string())
}

/// `cmd` and its subcommands with every argument described.
pub fn described(cmd: Command) -> Command {
    walk(cmd, "bmctl")
}

fn walk(mut cmd: Command, path: &str) -> Command {
    let ids: Vec<String> = cmd
        .get_arguments()
        .filter(|a| a.get_help().is_none() && a.get_long_help().is_none())
        .map(|a| a.get_id().to_string())
        .collect();
    for id in ids {
        if let Some(text) = meaning(path, &id) {
            cmd = cmd.mut_arg(id.as_str(), |a| a.help(text));
        }
    }
    let names: Vec<String> = cmd
        .get_subcommands()
        .map(|s| s.get_name().to_string())
        .collect();
    for name in names {
        let sub_path = format!("{path} {name}");
        cmd = cmd.mut_subcommand(name.as_str(), |s| walk(s, &sub_path));
    }
    cmd
}
