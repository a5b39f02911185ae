//! `bmctl demo [--reset]`: build the demo database and print the morning view.

use std::path::PathBuf;

use anyhow::{Context, Result};

use super::App;
use crate::error::refused;
use crate::ops::demo;
use crate::ops::read::{self, Store};
use crate::output;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Rebuild the demo database from scratch (only a file marked as a demo).
    #[arg(long)]
    pub reset: bool,
}

fn remove_db(path: &std::path::Path) -> Result<()> {
    for suffix in ["", "-wal", "-shm"] {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        let p = PathBuf::from(p);
        if p.exists() {
            std::fs::remove_file(&p).with_context(|| format!("removing {}", p.display()))?;
        }
    }
    Ok(())
}

pub fn run(app: &App, args: &Args) -> Result<u8> {
    // The demo never touches a real database: only --db, never BMCTL_DB.
    let path = app
        .cli
        .db
        .clone()
        .unwrap_or_else(|| PathBuf::from("bmctl-demo.db"));
    let mut ctx = app.ctx("demo")?;
    if app.cli.now.is_none() {
        // the last 07:30 UTC: two builds on one day give the same demo
        let t = ctx.now.timestamp();
        let morning = t - (t - 7 * 3_600 - 1_800).rem_euclid(86_400);
        ctx.now = crate::domain::time::from_unix(morning);
    }
    let mut built = None;
    let mut reach = None;
    if path.exists() {
        if !demo::peek_mark(&path).unwrap_or(false) {
            return Err(refused(format!(
                "{} exists and is not a bmctl demo database; refusing to touch it (give another --db)",
                path.display()
            )));
        }
        if args.reset {
            remove_db(&path)?;
        }
    }
    let mut store = Store::create(&path, app.busy_timeout())?;
    if !store.time_travel && store.is_blank()? {
        store.allow_time_travel()?;
    }
    let folder = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    let folder = std::fs::canonicalize(folder).unwrap_or_else(|_| folder.to_path_buf());
    let config_path = folder.join("bmctl-demo.toml");
    let notifications = folder.join("bmctl-demo-notifications.jsonl");
    let past_runs = folder.join("bmctl-demo-past-runs.jsonl");
    if !demo::is_demo(&store)? {
        // The demo's own config: default assignees and a hook that writes
        // every notification to a file beside the database.
        let _ = std::fs::remove_file(&notifications);
        std::fs::write(&config_path, demo::config_text(&notifications))
            .with_context(|| format!("writing {}", config_path.display()))?;
        let config = crate::config::Config::load(Some(&config_path), &[])?;
        let ctx = crate::ops::Ctx {
            rules: crate::ops::correct::Rules::from_config(&config),
            ..ctx.clone()
        };
        let past = demo::build(&mut store, &ctx, &past_runs)?;
        reach = Some(demo::reach::reach(&mut store, &ctx, &folder, &config)?);
        crate::ops::hooks::deliver(
            &mut store,
            &ctx,
            &crate::ops::hooks::Hooks::from_config(&config),
        )?;
        built = Some(past);
    }
    let s = demo::summary(&store)?;
    if app.format() != output::Format::Table {
        return output::show(app.format(), &s, &[]).map(|_| 0);
    }
    let mut out = String::new();
    if let Some(past) = &built {
        out.push_str(&format!(
            "Built the bmctl demo in {}: {} clients, {} CIs, {} backup policies, {} CIs unprotected.\n",
            path.display(),
            s.clients,
            s.cis,
            s.policies,
            s.unprotected
        ));
        out.push_str(&format!(
            "At onboarding, {} past runs of {} days came in from the previous monitor\n\
             ({}, `events import --history`): {} tickets for what was still failing, none for what had recovered.\n",
            past.new,
            demo::PAST_DAYS,
            past_runs.display(),
            past.tickets.tickets_opened,
        ));
        if let Some(r) = &reach {
            out.push_str(&format!(
                "initech runs what MSPs run beside restic and borg: its Bacula Director's reports ({} runs, {}\n\
                 restore recorded as a real recovery attempt), Veeam's mails read by the `veeam` mail rule from\n\
                 {} ({} messages; {} wait in `bmctl intake list`), and a Proxmox Backup\n\
                 Server task list ({}, {} runs) through a [[json.source]]. Last night its file server's\n\
                 backup \"succeeded\" at a tenth of its usual size: a `small` ticket.\n",
                r.bacula_runs, r.restores, r.maildir, r.messages, r.intake, r.pbs_file, r.json_runs
            ));
        }
    } else {
        out.push_str(&format!(
            "Using the existing demo in {} (rebuild it with `bmctl demo --reset`).\n",
            path.display()
        ));
    }
    out.push_str(&format!(
        "\n== Morning view, {} ==\n",
        output::at(ctx.now.timestamp())
    ));
    output::text(&out)?;
    let db = path.display();
    morning_view(app, &store, ctx.now.timestamp(), &db.to_string())?;
    let reviews = folder.join("bmctl-demo-reviews");
    write_reviews(&store, &config_path, &reviews, ctx.now.timestamp())?;
    output::text(&format!(
        "\nThe quarterly service reviews, for each client and for ourselves, with an index:\n  {}/index.html\n  (`bmctl --db {db} plan review --all-clients --quarter {q} --out DIR [--audience internal]`)\n",
        reviews.display(),
        q = crate::domain::time::Quarter::of(ctx.now.timestamp(), chrono_tz::UTC).label()
    ))?;
    let cfg = config_path.display();
    let past = past_runs.display();
    output::text(&format!(
        "\nNext, try (the demo's config sets default assignees and a notification hook; without\n--now the commands run at this host's clock, so later views show more overdue):\n  export BMCTL_CONFIG={cfg}\n  bmctl --db {db} due --mine --actor alice\n  bmctl --db {db} tasks due\n  bmctl --db {db} pause list --all\n  bmctl --db {db} restore list --latest\n  bmctl --db {db} correct list\n  bmctl --db {db} intake list\n  bmctl --db {db} events ingest mail bmctl-demo-mail   (again: nothing new)\n  bmctl --db {db} plan show initech\n  bmctl --db {db} macd list\n  bmctl --db {db} macd show 4\n  bmctl --db {db} correct show 1\n  bmctl --db {db} events list --client globex --limit 20\n  bmctl --db {db} events import --history {past}\n  bmctl --db {db} kpi --client acme --quarter 2026-Q4 --by month\n  bmctl --db {db} check\n  bmctl --db {db} health\n  bmctl --db {db} db check\n  bmctl --db {db} audit checkpoint --to bmctl-demo-checkpoints.jsonl\n  bmctl --db {db} audit verify --since bmctl-demo-checkpoints.jsonl --deep\n  bmctl --db {db} client list\n  bmctl --db {db} plan show acme\n  bmctl --db {db} cmdb list --unprotected\n  bmctl --db {db} plan export globex\n  bmctl --db {db} plan history wombat\n  bmctl --db {db} audit list --entity plan\n  bmctl --db {db} events exclusions\n"
    ))?;
    Ok(0)
}

/// The quarter's reviews of every client, for the client and for the MSP,
/// with the demo config's branding, and the index of the client reviews.
fn write_reviews(
    store: &Store,
    config: &std::path::Path,
    out: &std::path::Path,
    now: i64,
) -> Result<()> {
    let config = crate::config::Config::load(Some(config), &[])?;
    let look = crate::output::review::Look::of(&config.s.branding)?;
    let q = crate::domain::time::Quarter::of(now, chrono_tz::UTC);
    let codes: Vec<String> = crate::ops::read::clients(store)?
        .into_iter()
        .map(|c| c.code)
        .collect();
    let writing = crate::output::review::Writing {
        formats: &["md", "html", "json", "csv"],
        look: &look,
        chromium: None,
    };
    let quiet = |_: String| {};
    let mut index = Vec::new();
    for audience in [
        crate::report::review::Audience::Internal,
        crate::report::review::Audience::Client,
    ] {
        let done = super::plan::reviews(
            &config, &quiet, store, &codes, q, audience, out, &writing, now, false,
        )?;
        index = done.index;
    }
    crate::output::review::write_index(
        out,
        &q.label(),
        &index,
        &look,
        config.s.branding.name.as_deref(),
    )?;
    Ok(())
}

/// The technician's first look of the day. Each capability adds its section.
fn morning_view(app: &App, store: &Store, now: i64, db: &str) -> Result<()> {
    // bmctl itself first: stale data or a stopped cron would make the rest a lie
    let health = crate::ops::health::report(store, now, &super::health::limits(app))?;
    output::text(&match health.summary() {
        Some(stale) => format!("\n{stale}\n"),
        None => format!(
            "\nbmctl itself: check and tasks generate ran, every client reported within {} — `bmctl health`\n",
            crate::domain::time::format_duration(app.config.s.ingest_silence_after_s)
        ),
    })?;
    let unmatched = read::unmatched_jobs(store, None)?;
    if !unmatched.is_empty() {
        let names: Vec<String> = unmatched
            .iter()
            .map(|u| format!("{}/{}", u.client, u.job))
            .collect();
        output::text(&format!(
            "\nJobs reporting runs that no plan knows: {} — `bmctl macd add --from-unmatched {} --ci HOST` makes one a change request\n",
            names.join(", "),
            names[0]
        ))?;
    }
    output::text("\nClients\n")?;
    output::list(app.format(), &read::clients(store)?)?;
    let gaps: Vec<_> = read::cis(store, None)?
        .into_iter()
        .filter(|c| c.backup_status == crate::domain::ci::BackupStatus::Unprotected)
        .collect();
    output::text(&format!(
        "\nUnprotected systems ({}): a CI without a backup is a risk\n",
        gaps.len()
    ))?;
    output::list(app.format(), &gaps)?;
    let k = crate::ops::kpi::compute(
        store,
        None,
        now - 30 * 86_400,
        now,
        &crate::ops::kpi::Reading {
            now,
            aged_after: app.config.s.kpi_aged_after_s,
            max_runtime: app.config.s.check_default_max_runtime_s,
            bounds: crate::ops::kpi::Bounds::Exact,
        },
    )?;
    output::text(&format!(
        "\nLast 30 days — `bmctl kpi`\n{}",
        crate::output::kpi::render(&k)
    ))?;
    // the closing view: the queue, exactly as the command prints it
    let mut queue = crate::ops::due::queue(
        store,
        &crate::ops::due::DueFilter {
            today: true,
            ..Default::default()
        },
        now,
    )?;
    super::due::in_display_zone(app, &mut queue);
    output::text(&format!(
        "\nThe queue: due today or overdue, open tickets, changes waiting, restore tests overdue ({}) —\n`bmctl --db {db} --now {} due --today`\n",
        queue.len(),
        crate::domain::time::rfc3339(now)
    ))?;
    output::list(app.format(), &queue)?;
    Ok(())
}
