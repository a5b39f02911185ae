//! The demo's fourth client, initech: the products beyond restic and borg
//! (#14). Its Bacula Director's job reports come as its mail command would
//! pipe them, Veeam reports by mail into a Maildir, a Proxmox Backup Server
//! task list through a `[[json.source]]`; each through the same code a
//! user runs. Last night's file-server backup "succeeded" at a tenth of its
//! size: the small-backup check opens a ticket.

use std::path::Path;

use anyhow::{Context, Result};
use chrono::TimeZone;
use serde::Serialize;

use super::pick;
use crate::config::Config;
use crate::ops::{events, plan, Ctx};
use crate::store::Store;

pub const PLAN: (&str, &str) = (
    "examples/demo/initech.toml",
    include_str!("../../../examples/demo/initech.toml"),
);
const DIRECTOR: &str = "in-bacula-dir";
/// Days of runs initech has had since its onboarding.
const DAYS: i64 = 14;

#[derive(Debug, Default, Serialize)]
pub struct Reach {
    pub bacula_runs: usize,
    pub restores: usize,
    pub messages: usize,
    pub intake: usize,
    pub json_runs: usize,
    pub maildir: String,
    pub pbs_file: String,
}

/// The demo config's part for initech: the Veeam mail rule, the PBS source.
pub const CONFIG: &str = "\n[[mail.rule]]\nname = \"veeam-initech\"\npreset = \"veeam\"\nfrom = \"^veeam@initech\\\\.example$\"\nclient = \"initech\"\n\n[[json.source]]\nname = \"initech-pbs\"\npreset = \"pbs\"\nclient = \"initech\"\n";

fn berlin() -> chrono_tz::Tz {
    chrono_tz::Europe::Berlin
}

/// Midnight UTC of the day `d` days before `now`, plus `secs`.
fn at(now: i64, d: i64, secs: i64) -> i64 {
    now - now.rem_euclid(86_400) - d * 86_400 + secs
}

fn local(t: i64, fmt: &str) -> String {
    berlin()
        .timestamp_opt(t, 0)
        .unwrap()
        .format(fmt)
        .to_string()
}

/// A Director's job report, as Bacula 9.6 writes it (the captured shape of
/// tests/fixtures/bacula).
#[allow(clippy::too_many_arguments)]
fn report(
    id: i64,
    job: &str,
    kind: &str,
    level: &str,
    start: i64,
    end: i64,
    bytes: i64,
    files: i64,
    termination: &str,
    errors: &[&str],
) -> String {
    let head = |t: i64| format!("{} {DIRECTOR} JobId {id}:", local(t, "%d-%b %H:%M"));
    let mut out = format!(
        "{} Start {kind} JobId {id}, Job={job}.{}\n",
        head(start),
        local(start, "%Y-%m-%d_%H.%M.%S_07")
    );
    for e in errors {
        out.push_str(&format!("{} {e}\n", head(end)));
    }
    let with_commas = |n: i64| crate::report::review::thousands(n);
    out.push_str(&format!(
        "{} {}Bacula {DIRECTOR} 9.6.7 (10Dec20):\n  Build OS:               x86_64-pc-linux-gnu debian bookworm/sid\n  JobId:                  {id}\n  Job:                    {job}.{}\n  Backup Level:           {level}\n  Client:                 \"in-fs01-fd\" 9.6.7 (10Dec20) x86_64-pc-linux-gnu,debian,bookworm/sid\n  Start time:             {}\n  End time:               {}\n  FD Files Written:       {}\n  FD Bytes Written:       {} ({:.1} GB)\n  Non-fatal FD errors:    {}\n  Termination:            {termination}\n",
        head(end),
        if errors.is_empty() { "" } else { "Error: " },
        local(start, "%Y-%m-%d_%H.%M.%S_07"),
        local(start, "%d-%b-%Y %H:%M:%S"),
        local(end, "%d-%b-%Y %H:%M:%S"),
        with_commas(files),
        with_commas(bytes),
        bytes as f64 / 1e9,
        errors.len(),
    ));
    out
}

fn restore_report(id: i64, from: i64, start: i64, end: i64, bytes: i64) -> String {
    let head = |t: i64| format!("{} {DIRECTOR} JobId {id}:", local(t, "%d-%b %H:%M"));
    format!(
        "{} Start Restore Job RestoreFiles.{}\n{} Restoring files from JobId(s) {from}\n{} Bacula {DIRECTOR} 9.6.7 (10Dec20):\n  JobId:                  {id}\n  Job:                    RestoreFiles.{}\n  Restore Client:         in-fs01-fd\n  Start time:             {}\n  End time:               {}\n  Files Restored:         1,204\n  Bytes Restored:         {}\n  Termination:            Restore OK\n",
        head(start),
        local(start, "%Y-%m-%d_%H.%M.%S_09"),
        head(start),
        head(end),
        local(start, "%Y-%m-%d_%H.%M.%S_09"),
        local(start, "%d-%b-%Y %H:%M:%S"),
        local(end, "%d-%b-%Y %H:%M:%S"),
        crate::report::review::thousands(bytes),
    )
}

fn mail(from: &str, subject: &str, sent: i64, id: &str, body: &str) -> String {
    format!(
        "From: {from}\nTo: backup-reports@northwind.example\nSubject: {subject}\nDate: {}\nMessage-ID: <{id}@demo.northwind.example>\nMIME-Version: 1.0\nContent-Type: text/plain; charset=UTF-8\n\n{body}",
        berlin().timestamp_opt(sent, 0).unwrap().to_rfc2822()
    )
}

/// Onboard initech and feed it through each channel.
pub fn reach(store: &mut Store, ctx: &Ctx, folder: &Path, config: &Config) -> Result<Reach> {
    let now = ctx.now.timestamp();
    let onboard = Ctx {
        now: crate::domain::time::from_unix(at(now, DAYS + 1, 12 * 3600)),
        ..ctx.clone()
    };
    plan::import(store, &onboard, PLAN.1, PLAN.0, None, false)?;
    let mut out = Reach::default();

    // the Director's reports, one per job as its mail command pipes them
    let mut reports = Vec::new();
    let mut id = 1200;
    let mut first_full = 0;
    for d in (0..DAYS).rev() {
        id += 1;
        let start = at(now, d, 5 * 60);
        // last night: the share was unmounted, the backup "succeeded" small
        let bytes = if d == 0 {
            3_870_000_000
        } else {
            41_200_000_000 + pick("in-fs01", d, 40) as i64 * 25_000_000
        };
        let end = start + 38 * 60 + pick("in-fs01-t", d, 600) as i64;
        reports.push(report(
            id,
            "FS01-Files",
            "Backup",
            "Full",
            start,
            end,
            bytes,
            180_400 + d * 13,
            "Backup OK",
            &[],
        ));
        if d == 6 {
            first_full = id;
        }
        id += 1;
        let start = at(now, d, 35 * 60);
        let failing = d < 2;
        reports.push(report(
            id,
            "BackupCatalog",
            "Backup",
            "Full",
            start,
            start + if failing { 4 } else { 95 },
            if failing { 0 } else { 182_000_000 },
            if failing { 0 } else { 1 },
            if failing { "*** Backup Error ***" } else { "Backup OK" },
            if failing { &["Error: Runscript: BeforeJob returned non-zero status=1. ERR=Child exited with code 1"] } else { &[] },
        ));
    }
    id += 1;
    let r_start = at(now, 3, 10 * 3600);
    reports.push(restore_report(
        id,
        first_full,
        r_start,
        r_start + 14 * 60,
        2_310_000_000,
    ));
    for text in &reports {
        let parsed = crate::ingest::bacula::parse(text, berlin(), None)
            .map_err(|r| anyhow::anyhow!("demo Bacula report: {}: {}", r.field, r.message))?;
        let runs: Vec<_> = parsed.runs.iter().cloned().map(|r| (None, r)).collect();
        let evs = events::map_named_runs(store, "bacula", None, runs)?;
        crate::ops::bacula::remember(store, &parsed.runs)?;
        out.bacula_runs += events::ingest(store, ctx, &evs)?.new;
        out.restores += crate::ops::bacula::restores(store, ctx, parsed.restores)?.recorded;
    }

    // Veeam's mails, and what no recognizer can place, into a Maildir
    let md = folder.join("bmctl-demo-mail");
    let _ = std::fs::remove_dir_all(&md);
    for sub in ["cur", "new", "tmp"] {
        std::fs::create_dir_all(md.join(sub))
            .with_context(|| format!("creating {}", md.display()))?;
    }
    let mut n = 0;
    let mut put = |text: String| -> Result<()> {
        n += 1;
        let f = md
            .join("new")
            .join(format!("{}.demo{n:03}.northwind", now - 1000 + n));
        std::fs::write(&f, text).with_context(|| format!("writing {}", f.display()))
    };
    for d in (0..DAYS).rev() {
        let end = at(now, d + 1, 22 * 3600 + 41 * 60);
        let (tag, issues) = if d == 2 {
            ("Warning", " 1 warning")
        } else {
            ("Success", "")
        };
        put(mail(
            "veeam@initech.example",
            &format!("[{tag}] Initech VMs (4 objects){issues}"),
            end,
            &format!("vbr-vms-{d}"),
            "Backup job: Initech VMs\nSuccess 4  Warning 0  Error 0\n",
        ))?;
    }
    put(mail(
        "veeam@initech.example",
        "[Failed] Initech SQL (1 objects) 1 failed",
        at(now, 1, 23 * 3600),
        "vbr-sql-1",
        "Backup job: Initech SQL\nError: Cannot connect to in-sql01: the RPC server is unavailable\n",
    ))?;
    put(mail(
        "root@in-fs01.initech.example",
        "Bacula: Backup OK of in-ws-anna-fd Incremental",
        at(now, 0, 2 * 3600),
        "bacula-ws-anna",
        &report(
            id + 1,
            "WS-Anna",
            "Backup",
            "Incremental",
            at(now, 0, 3600),
            at(now, 0, 3900),
            412_000_000,
            2_310,
            "Backup OK",
            &[],
        ),
    ))?;
    put(mail(
        "news@vendor.example",
        "Your November partner newsletter",
        at(now, 2, 9 * 3600),
        "newsletter-11",
        "New NAS models and licence bundles at partner prices.\n",
    ))?;
    let msgs = crate::ops::mail::messages(&md)?;
    let m = crate::ops::mail::ingest(store, ctx, msgs, &config.mail_rules, None)?;
    out.messages = m.messages;
    out.intake = m.intake;
    out.maildir = md.display().to_string();

    // the Proxmox Backup Server's task list, as `proxmox-backup-manager
    // task list --all --output-format json` prints it
    let mut tasks = Vec::new();
    for d in (0..DAYS).rev() {
        let start = at(now, d + 1, 22 * 3600 + 2 * 60);
        let status = if d == 4 { "WARNINGS: 1" } else { "OK" };
        tasks.push(serde_json::json!({
            "endtime": start + 1_500 + pick("in-erp", d, 300) as i64,
            "node": "localhost",
            "pid": 2100 + d,
            "pstart": 107_255,
            "starttime": start,
            "status": status,
            "upid": format!("UPID:in-pbs01:{:08X}:0001A2F7:{:08X}:{start:08X}:backup:store1\\x3avm-100:backup@pbs!initech:", 2100 + d, d),
            "user": "backup@pbs!initech",
            "worker_id": "store1:vm/100",
            "worker_type": "backup"
        }));
    }
    tasks.push(serde_json::json!({
        "endtime": at(now, 0, 3 * 3600 + 60), "node": "localhost", "pid": 2999, "pstart": 107_255,
        "starttime": at(now, 0, 3 * 3600), "status": "OK",
        "upid": "UPID:in-pbs01:00000BB7:0001A2F7:000000FF:00000000:garbage_collection:store1:root@pam:",
        "user": "root@pam", "worker_id": "store1", "worker_type": "garbage_collection"
    }));
    let pbs = folder.join("bmctl-demo-pbs-tasks.json");
    std::fs::write(&pbs, serde_json::to_string_pretty(&tasks)?)
        .with_context(|| format!("writing {}", pbs.display()))?;
    let src = config
        .json_sources
        .iter()
        .find(|s| s.name == "initech-pbs")
        .ok_or_else(|| anyhow::anyhow!("the demo config has no json.source initech-pbs"))?
        .resolved()
        .map_err(anyhow::Error::msg)?;
    let parsed = crate::ingest::json_map::parse(&serde_json::to_string_pretty(&tasks)?, &src)
        .map_err(|r| anyhow::anyhow!("demo PBS tasks: {}: {}", r.field, r.message))?;
    let runs = parsed.runs.into_iter().map(|(c, r)| (Some(c), r)).collect();
    let evs = events::map_named_runs(store, "json:initech-pbs", None, runs)?;
    out.json_runs = events::ingest(store, ctx, &evs)?.new;
    out.pbs_file = pbs.display().to_string();
    Ok(out)
}
