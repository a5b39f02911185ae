//! `events ingest mail`: report e-mails to runs. Each message goes to the
//! first recognizer that claims it — a Bacula job report, a cron mail of
//! restic or borg, then the `[[mail.rule]]`s in their order — and one no
//! recognizer can place (an unknown sender, a job or Director no policy
//! maps, a client not in bmctl) waits in the intake queue. A message is
//! read once: its identity (Message-ID, else a SHA-256 of it) is kept.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::Serialize;

use crate::domain::event::NewEvent;
use crate::error::rejected;
use crate::ingest::mail::{self, Mail, Recognizer};
use crate::ingest::{bacula, borg, restic, ToolRun};
use crate::ops::events::{self, Summary};
use crate::ops::Ctx;
use crate::store::{clients, intake, policies, Db, Store};

/// Where messages come from.
pub struct Message {
    /// The file (and line, in an mbox) for errors.
    pub place: String,
    pub raw: Vec<u8>,
    /// A Maildir message in `new/` or `cur/`: renamed to `cur/…:2,S` once read.
    pub maildir_file: Option<PathBuf>,
}

/// The messages at `path`: a Maildir (folder with `cur`, `new`), an mbox
/// (a file opening with `From `), one message (a file, or stdin as `-`).
pub fn messages(path: &Path) -> Result<Vec<Message>> {
    if path.as_os_str() == "-" {
        let mut raw = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut raw).context("reading stdin")?;
        return Ok(vec![Message {
            place: "stdin".into(),
            raw,
            maildir_file: None,
        }]);
    }
    if path.is_dir() {
        if !path.join("cur").is_dir() || !path.join("new").is_dir() {
            return Err(rejected(format!(
                "{}: a folder must be a Maildir (with cur/ and new/)",
                path.display()
            )));
        }
        let mut out = Vec::new();
        for sub in ["new", "cur"] {
            let mut files: Vec<PathBuf> = std::fs::read_dir(path.join(sub))
                .with_context(|| format!("reading {}", path.join(sub).display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_file())
                .collect();
            files.sort();
            for f in files {
                // a message already marked seen in cur/ was read before
                if sub == "cur" && seen_flag(&f) {
                    continue;
                }
                let raw = std::fs::read(&f).with_context(|| format!("reading {}", f.display()))?;
                out.push(Message {
                    place: f.display().to_string(),
                    raw,
                    maildir_file: Some(f),
                });
            }
        }
        return Ok(out);
    }
    let raw = std::fs::read(path)
        .with_context(|| format!("reading {}", path.display()))
        .map_err(|e| rejected(format!("{e:#}")))?;
    if raw.starts_with(b"From ") {
        return Ok(mail::split_mbox(&raw)
            .into_iter()
            .map(|(line, raw)| Message {
                place: format!("{}:{line}", path.display()),
                raw,
                maildir_file: None,
            })
            .collect());
    }
    Ok(vec![Message {
        place: path.display().to_string(),
        raw,
        maildir_file: None,
    }])
}

fn seen_flag(f: &Path) -> bool {
    f.file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.split_once(":2,"))
        .is_some_and(|(_, flags)| flags.contains('S'))
}

/// What a mailbox read did.
#[derive(Debug, Default, Serialize)]
pub struct MailSummary {
    pub messages: usize,
    /// Read before (by identity): nothing done again.
    pub seen_before: usize,
    /// Messages whose runs were recorded.
    pub recorded: usize,
    /// Notices that are no run (a rule's `skip`, an operator request).
    pub skipped: usize,
    /// Messages put in the intake queue.
    pub intake: usize,
    pub runs: Summary,
}

/// What became of one message.
enum Fate {
    Runs(String, Vec<NewEvent>),
    /// A Bacula restore job's report: a recovery attempt once placed.
    Restore(Box<(ToolRun, Vec<String>)>),
    Skip(String),
    Intake(Box<intake::Item>),
}

/// A zone of a fixed offset, for a report's local times (whole hours: an
/// `Etc/GMT` zone; else UTC).
fn zone_of(offset: i32) -> chrono_tz::Tz {
    if offset % 3600 != 0 {
        return chrono_tz::UTC;
    }
    let h = offset / 3600;
    let name = match h {
        0 => "Etc/GMT".to_string(),
        h if h > 0 => format!("Etc/GMT-{h}"),
        h => format!("Etc/GMT+{}", -h),
    };
    name.parse().unwrap_or(chrono_tz::UTC)
}

fn item(m: &Mail, raw: &[u8], now: i64, reason: String) -> intake::Item {
    const RAW_CAP: usize = 512 * 1024;
    intake::Item {
        key: m.key.clone(),
        received_at: now,
        sender: m.from.clone(),
        subject: m.subject.clone(),
        sent_at: m.date.map(|d| d.0),
        reason,
        raw: raw[..raw.len().min(RAW_CAP)].to_vec(),
        ..intake::Item::default()
    }
}

/// The policy a cron mail's run belongs to: its host's restic policy, or
/// the borg policy whose archives its archive's name begins with.
fn cron_target(
    conn: &Db,
    tool: &str,
    host: Option<&str>,
    archive: Option<&str>,
) -> Result<Option<(String, String)>> {
    let pols = events::all_policies(conn)?;
    Ok(pols
        .into_iter()
        .find(|(_, p)| {
            let m = &p.spec.match_rule;
            p.spec.tool == tool
                && match tool {
                    "borg" => archive
                        .is_some_and(|a| a.starts_with(m.host.as_deref().unwrap_or(&p.spec.job))),
                    _ => host.is_some() && m.host.as_deref() == host,
                }
        })
        .map(|(code, p)| (code, p.spec.job)))
}

fn judge(
    conn: &Db,
    m: &Mail,
    raw: &[u8],
    rules: &[Recognizer],
    tz: Option<chrono_tz::Tz>,
    now: i64,
    bacula_seen: &mut Vec<ToolRun>,
) -> Result<Fate, String> {
    let sender_tz = tz.unwrap_or_else(|| m.date.map_or(chrono_tz::UTC, |d| zone_of(d.1)));
    let db = |e: anyhow::Error| format!("{e:#}");
    // a Bacula job report (an operator request is no report)
    if m.body
        .lines()
        .any(|l| l.trim_start().starts_with("Termination:"))
    {
        let parsed = bacula::parse(&m.body, sender_tz, None)
            .map_err(|r| format!("line {} of the body: {}: {}", r.line, r.field, r.message))?;
        bacula_seen.extend(parsed.runs.iter().cloned());
        if parsed.runs.is_empty() {
            return Ok(match parsed.restores.into_iter().next() {
                Some(r) => Fate::Restore(Box::new(r)),
                None => Fate::Skip("bacula".into()),
            });
        }
        let runs = parsed.runs.into_iter().map(|r| (None, r)).collect();
        let (evs, unplaced) = events::place_named_runs(conn, "bacula", None, runs).map_err(db)?;
        if let Some(r) = unplaced.first() {
            let mut i = item(
                m,
                raw,
                now,
                format!(
                    "no policy matches Bacula job {} of Director {}",
                    r.job.as_deref().unwrap_or("?"),
                    r.director.as_deref().unwrap_or("?")
                ),
            );
            i.recognizer = Some("bacula".into());
            i.job_name = r.job.clone();
            i.director = r.director.clone();
            return Ok(Fate::Intake(Box::new(i)));
        }
        return Ok(Fate::Runs("bacula".into(), evs));
    }
    // cron's mail of a restic or borg run: `Cron <user@host> command`
    if let Some(host) = m
        .subject
        .strip_prefix("Cron <")
        .and_then(|r| r.split_once('>'))
        .and_then(|(who, _)| who.split_once('@'))
        .map(|(_, h)| h.to_string())
    {
        let (tool, runs): (&str, Vec<ToolRun>) = if m.body.contains("\"message_type\":\"summary\"")
            || m.body.contains("\"message_type\": \"summary\"")
        {
            (
                "restic",
                restic::parse(&m.body).map_err(|r| {
                    format!("the restic output in the body: {}: {}", r.field, r.message)
                })?,
            )
        } else if m.body.contains("\"archive\"") {
            (
                "borg",
                borg::parse(m.body.trim(), sender_tz).map_err(|r| {
                    format!("the borg output in the body: {}: {}", r.field, r.message)
                })?,
            )
        } else {
            ("", Vec::new())
        };
        if !tool.is_empty() {
            let archive = runs.first().and_then(|r| r.name.clone());
            let Some((client, job)) =
                cron_target(conn, tool, Some(&host), archive.as_deref()).map_err(db)?
            else {
                let mut i = item(
                    m,
                    raw,
                    now,
                    format!("no {tool} policy matches host {host} of a cron mail"),
                );
                i.recognizer = Some(format!("cron-{tool}"));
                i.job_name = Some(host);
                return Ok(Fate::Intake(Box::new(i)));
            };
            let evs = runs
                .into_iter()
                .map(|mut r| {
                    // restic's summary has no time: the mail's date is the end
                    r.ended_at = r.ended_at.or(m.date.map(|d| d.0));
                    r.job = Some(job.clone());
                    (Some(client.clone()), r)
                })
                .collect();
            let (evs, _) = events::place_named_runs(conn, tool, None, evs).map_err(db)?;
            return Ok(Fate::Runs(format!("cron-{tool}"), evs));
        }
    }
    // the rules, in order
    let tz_of = |code: &str| clients::find(conn, code).ok().flatten().map(|c| c.tz());
    for r in rules {
        let Some(claim) = r.claim(m, tz_of) else {
            continue;
        };
        let c = claim?;
        let Some(status) = c.status else {
            return Ok(Fate::Skip(c.rule));
        };
        let known = c
            .client
            .as_deref()
            .and_then(|code| clients::find(conn, code).ok().flatten());
        if known.is_none() {
            let mut i = item(
                m,
                raw,
                now,
                match &c.client {
                    Some(code) => {
                        format!("mail.rule '{}': client '{code}' is not in bmctl", c.rule)
                    }
                    None => format!(
                        "mail.rule '{}' names no client (client = … or a client group)",
                        c.rule
                    ),
                },
            );
            i.recognizer = Some(c.rule.clone());
            i.job_name = Some(c.job.clone());
            i.client = c.client.clone();
            return Ok(Fate::Intake(Box::new(i)));
        }
        let run = ToolRun {
            job: Some(c.job.clone()),
            status: Some(status),
            started_at: c.started_at,
            ended_at: c.ended_at,
            message: (status != crate::domain::event::Status::Success).then(|| m.subject.clone()),
            ..ToolRun::default()
        };
        let source = format!("mail:{}", c.rule);
        // a known client's unknown job is an unmatched event, as on every channel
        let (evs, _) = events::place_named_runs(
            conn,
            &source,
            c.client.as_deref(),
            vec![(c.client.clone(), run)],
        )
        .map_err(db)?;
        return Ok(Fate::Runs(c.rule, evs));
    }
    Ok(Fate::Intake(Box::new(item(
        m,
        raw,
        now,
        "no recognizer claims it (no Bacula report, cron mail or mail.rule)".into(),
    ))))
}

/// Read the messages: record their runs, queue what cannot be placed,
/// remember each by identity, then mark Maildir messages seen. Bad input
/// (not a message, a value a rule cannot read) writes nothing.
pub fn ingest(
    store: &mut Store,
    ctx: &Ctx,
    msgs: Vec<Message>,
    rules: &[Recognizer],
    tz: Option<chrono_tz::Tz>,
) -> Result<MailSummary> {
    let now = ctx.ts();
    let mut sum = MailSummary {
        messages: msgs.len(),
        ..MailSummary::default()
    };
    let mut all_events = Vec::new();
    let mut marks: Vec<(String, &'static str, Option<String>)> = Vec::new();
    let mut queued = Vec::new();
    let mut done_files = Vec::new();
    let mut keys = std::collections::HashSet::new();
    let mut bacula_seen = Vec::new();
    let mut restores = Vec::new();
    for msg in &msgs {
        let m = mail::parse(&msg.raw).ok_or_else(|| {
            rejected(format!(
                "{}: is not a mail message (no From, Subject or Date header)",
                msg.place
            ))
        })?;
        if intake::seen(store.db(), &m.key)? || !keys.insert(m.key.clone()) {
            sum.seen_before += 1;
            done_files.extend(msg.maildir_file.clone());
            continue;
        }
        let fate = judge(store.db(), &m, &msg.raw, rules, tz, now, &mut bacula_seen)
            .map_err(|e| rejected(format!("{}: {e}; nothing was written", msg.place)))?;
        match fate {
            Fate::Runs(who, evs) => {
                sum.recorded += 1;
                all_events.extend(evs);
                marks.push((m.key.clone(), "events", Some(who)));
            }
            Fate::Restore(r) => restores.push((m.clone(), msg.raw.clone(), *r)),
            Fate::Skip(who) => {
                sum.skipped += 1;
                marks.push((m.key.clone(), "skipped", Some(who)));
            }
            Fate::Intake(i) => {
                sum.intake += 1;
                marks.push((m.key.clone(), "intake", i.recognizer.clone()));
                queued.push(*i);
            }
        }
        done_files.extend(msg.maildir_file.clone());
    }
    for ev in &all_events {
        ev.validate()
            .map_err(|(f, e)| rejected(format!("{f}: {e}")))?;
    }
    if !all_events.is_empty() {
        sum.runs = events::ingest(store, ctx, &all_events)?;
    }
    if !bacula_seen.is_empty() {
        crate::ops::bacula::remember(store, &bacula_seen)?;
    }
    // restores after the backups they restored are known
    for (m, raw, r) in restores {
        let done = crate::ops::bacula::restores(store, ctx, vec![r])?;
        match done.unplaced.first() {
            None => {
                sum.recorded += 1;
                marks.push((m.key.clone(), "events", Some("bacula".into())));
            }
            Some(why) => {
                sum.intake += 1;
                let mut i = item(&m, &raw, now, why.clone());
                i.recognizer = Some("bacula".into());
                marks.push((m.key.clone(), "intake", i.recognizer.clone()));
                queued.push(i);
            }
        }
    }
    if !marks.is_empty() {
        let tx = store.write()?;
        for i in &queued {
            let id = intake::insert(&tx, i)?;
            crate::store::audit::record(
                &tx,
                &ctx.who(),
                "intake",
                &id.to_string(),
                None,
                Some(&format!("{}: {}", i.subject, i.reason)),
            )?;
        }
        for (key, outcome, who) in &marks {
            intake::mark_seen(&tx, key, now, outcome, who.as_deref())?;
        }
        tx.commit()?;
    }
    // a read Maildir message moves to cur/ with the seen flag; never deleted
    for f in done_files {
        let (Some(dir), Some(name)) = (
            f.parent().and_then(|d| d.parent()),
            f.file_name().and_then(|n| n.to_str()),
        ) else {
            continue;
        };
        let base = name.split(":2,").next().unwrap_or(name);
        let flags = name.split_once(":2,").map(|(_, f)| f).unwrap_or("");
        let mut flags: Vec<char> = flags.chars().filter(|c| *c != 'S').collect();
        flags.push('S');
        flags.sort_unstable();
        let flags: String = flags.into_iter().collect();
        let mut to = dir.join("cur").join(format!("{base}:2,{flags}"));
        // a name taken in cur/ (a copy, a second delivery): never over it
        let mut n = 0;
        while to != f && to.exists() {
            n += 1;
            to = dir.join("cur").join(format!("{base}.{n}:2,{flags}"));
        }
        if to != f {
            std::fs::rename(&f, &to).with_context(|| format!("marking {} seen", f.display()))?;
        }
    }
    Ok(sum)
}

/// `intake map ID --job CLIENT/JOB`: the tool's job name the message gave
/// becomes the policy's `match` (an audited plan version), and the message
/// is read again — now it places its run.
pub fn map(
    store: &mut Store,
    ctx: &Ctx,
    id: i64,
    client: &str,
    job: &str,
    rules: &[Recognizer],
    tz: Option<chrono_tz::Tz>,
) -> Result<(intake::Item, MailSummary)> {
    let now = ctx.ts();
    let it = {
        let tx = store.write()?;
        let it = open_item(&tx, id)?;
        let recognizer = it.recognizer.clone().unwrap_or_default();
        let Some(name) = it.job_name.clone() else {
            return Err(rejected(match recognizer.as_str() {
                "bacula" => format!(
                    "intake {id}: {} — once that is known, `bmctl intake retry {id}` reads it again",
                    it.reason
                ),
                _ => format!(
                    "intake {id}: no recognizer read a job from this message ({}); write a [[mail.rule]] that claims it, then `bmctl intake retry {id}`",
                    it.reason
                ),
            }));
        };
        let c = clients::get(&tx, client)?;
        let p = policies::get(&tx, c.id, client, job)?;
        let before = p.spec.clone();
        let mut spec = p.spec.clone();
        let m = &mut spec.match_rule;
        // what the recognizer needs of the policy to place the message
        let (slot, tool) = match recognizer.as_str() {
            "bacula" => (&mut m.bacula_job, "bacula"),
            "cron-restic" => (&mut m.host, "restic"),
            "cron-borg" => {
                return Err(rejected(format!(
                    "intake {id}: a borg cron mail maps by its archive's name: set the borg policy's `match = {{ host = \"PREFIX\" }}` to the prefix of its archives in the plan, then `bmctl intake retry {id}`"
                )))
            }
            rule => {
                return Err(rejected(format!(
                    "intake {id}: mail.rule '{rule}' read it but cannot name its client ({}): fix the rule's `client`, then `bmctl intake retry {id}`",
                    it.reason
                )))
            }
        };
        if p.spec.tool != tool {
            return Err(rejected(format!(
                "intake {id}: a {tool} run cannot be {client}/{job}, a {} policy",
                p.spec.tool
            )));
        }
        if let Some(old) = slot.as_deref().filter(|o| *o != name) {
            return Err(rejected(format!(
                "intake {id}: {client}/{job} already matches '{old}'; mapping '{name}' would stop that — give the job its own policy, or change the plan's `match` by hand"
            )));
        }
        *slot = Some(name.clone());
        if let Some(d) = &it.director {
            m.director = Some(d.clone());
        }
        policies::update(&tx, p.id, p.ci_id, &spec, now)?;
        crate::store::audit::record(
            &tx,
            &ctx.who(),
            "policy",
            &format!("{client}/{job}"),
            Some(&before),
            Some(&spec),
        )?;
        let content = crate::ops::plan::current_plan(&tx, &c)?.to_toml();
        let reason = format!("intake {id}: {name} is {client}/{job}");
        let version = crate::store::plans::insert(&tx, c.id, now, &ctx.actor, &reason, &content)?;
        crate::store::audit::record(
            &tx,
            &ctx.who(),
            "plan",
            &format!("{client}:v{version}"),
            None,
            Some(&crate::store::plans::text_digest(&content)),
        )?;
        intake::close(
            &tx,
            id,
            "mapped",
            &ctx.actor,
            now,
            Some(&format!("{client}/{job}, plan version {version}")),
        )?;
        intake::forget(&tx, &it.key)?;
        tx.commit()?;
        it
    };
    let again = read_again(store, ctx, id, &it.raw, rules, tz)?;
    let after = intake::get(store.db(), id)?.unwrap_or(it);
    if after.state == "open" {
        return Err(rejected(format!(
            "intake {id}: mapped, but read again it still cannot be placed: {} (it is open again)",
            after.reason
        )));
    }
    Ok((after, again))
}

/// Read a queued message again (its identity forgotten first).
fn read_again(
    store: &mut Store,
    ctx: &Ctx,
    id: i64,
    raw: &[u8],
    rules: &[Recognizer],
    tz: Option<chrono_tz::Tz>,
) -> Result<MailSummary> {
    let msg = Message {
        place: format!("intake {id}"),
        raw: raw.to_vec(),
        maildir_file: None,
    };
    ingest(store, ctx, vec![msg], rules, tz)
}

/// `intake retry ID`: read a waiting message again (its backup is known
/// now, a rule was fixed); placed, it leaves the queue.
pub fn retry(
    store: &mut Store,
    ctx: &Ctx,
    id: i64,
    rules: &[Recognizer],
    tz: Option<chrono_tz::Tz>,
) -> Result<(intake::Item, MailSummary)> {
    let it = {
        let tx = store.write()?;
        let it = open_item(&tx, id)?;
        intake::forget(&tx, &it.key)?;
        tx.commit()?;
        it
    };
    let again = read_again(store, ctx, id, &it.raw, rules, tz)?;
    if again.intake == 0 {
        let tx = store.write()?;
        intake::close(
            &tx,
            id,
            "mapped",
            &ctx.actor,
            ctx.ts(),
            Some("read again: placed"),
        )?;
        crate::store::audit::record(
            &tx,
            &ctx.who(),
            "intake",
            &id.to_string(),
            Some(&"open"),
            Some(&"placed"),
        )?;
        tx.commit()?;
    }
    let after = intake::get(store.db(), id)?.unwrap_or(it);
    Ok((after, again))
}

/// `intake ignore ID`: a message nobody needs (audited).
pub fn ignore(store: &mut Store, ctx: &Ctx, id: i64, reason: Option<&str>) -> Result<intake::Item> {
    let tx = store.write()?;
    let it = open_item(&tx, id)?;
    intake::close(&tx, id, "ignored", &ctx.actor, ctx.ts(), reason)?;
    crate::store::audit::record(
        &tx,
        &ctx.who(),
        "intake",
        &id.to_string(),
        Some(&"open"),
        Some(&"ignored"),
    )?;
    tx.commit()?;
    Ok(intake::Item {
        state: "ignored".into(),
        ..it
    })
}

fn open_item(conn: &Db, id: i64) -> Result<intake::Item> {
    let it = intake::get(conn, id)?.ok_or_else(|| {
        crate::error::not_found(format!("no intake item {id}; see `bmctl intake list`"))
    })?;
    if it.state != "open" {
        return Err(rejected(format!("intake {id} is {} already", it.state)));
    }
    Ok(it)
}
