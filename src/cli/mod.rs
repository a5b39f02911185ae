//! Command-line parsing and dispatch: one file per top-level command. A
//! command turns its arguments into domain inputs, calls `ops` (its reads
//! through `ops::read`) and renders the result with `output`. No SQL and no
//! business rules here.

mod audit;
mod check;
mod client;
mod cmdb;
mod config;
pub(crate) mod correct;
mod db;
mod demo;
mod due;
mod events;
mod health;
mod help;
mod intake;
pub(crate) mod kpi;
mod macd;
mod pause;
mod plan;
mod restore;
mod run;
mod tasks;
mod wizard;

use std::path::PathBuf;

use anyhow::{anyhow, Context, Result};
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

use crate::config::Config;
use crate::error::rejected;
use crate::ops::read::Store;
use crate::ops::Ctx;
use crate::output::{ColorChoice, Format};

const AFTER_HELP: &str = "Examples:
  # build a demo database and show the morning view
  bmctl demo
  # onboard a client from its backup plan, then its queue of work
  bmctl --db msp.db plan import acme.toml
  bmctl --db msp.db due
  # the service manager's quarter: risks and the review for the client
  bmctl --db msp.db plan risks --client acme
  bmctl --db msp.db plan review --client acme --quarter 2026-Q4 --out qsr/
  # housekeeping: keep the last quarters, drop older events
  bmctl --db msp.db db prune --before 2026-07-01 --yes

Exit codes: 0 done, 1 error, 2 usage, 3 input rejected, 4 nothing matched,
5 refused by a process rule.";

/// Backup management for MSPs: plans, CMDB, tickets and KPIs over one SQLite file.
#[derive(Debug, Parser)]
#[command(name = "bmctl", version, after_help = AFTER_HELP)]
pub struct Cli {
    /// Database file [env: BMCTL_DB; default: the platform data folder].
    #[arg(
        long,
        global = true,
        help_heading = "Global options",
        value_name = "PATH"
    )]
    pub db: Option<PathBuf>,
    /// Config file [default: the platform config folder's bmctl/config.toml].
    #[arg(
        long,
        global = true,
        help_heading = "Global options",
        env = "BMCTL_CONFIG",
        value_name = "PATH"
    )]
    pub config: Option<PathBuf>,
    /// Output format of lists and shows.
    #[arg(long, global = true, help_heading = "Global options", value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Colour in tables: on a terminal unless NO_COLOR is set (auto), always, never.
    #[arg(long, global = true, help_heading = "Global options", value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    pub color: ColorChoice,
    /// Act as if it were this instant (RFC 3339 with offset).
    #[arg(long, global = true, help_heading = "Global options", env = "BMCTL_NOW", value_name = "RFC3339", value_parser = rfc3339_arg)]
    pub now: Option<String>,
    /// Who is acting, for the audit log [default: the login name].
    #[arg(
        long,
        global = true,
        help_heading = "Global options",
        env = "BMCTL_ACTOR",
        value_name = "NAME"
    )]
    pub actor: Option<String>,
    /// Answer yes to ordinary prompts (never to a typed confirmation).
    #[arg(long, global = true, help_heading = "Global options")]
    pub yes: bool,
    /// Say more on stderr.
    #[arg(short, long, global = true, help_heading = "Global options", action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Say nothing on stderr but errors.
    #[arg(short, long, global = true, help_heading = "Global options")]
    pub quiet: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create or migrate the database.
    Init {
        /// Let writes honour --now / BMCTL_NOW (test and replay databases;
        /// only when the database is created).
        #[arg(long)]
        allow_time_travel: bool,
    },
    /// Build a realistic demo database and print the morning view.
    Demo(demo::Args),
    /// The queue: tasks due, open tickets, changes waiting, restore tests overdue.
    Due(due::Args),
    /// Effective settings and where each came from.
    #[command(subcommand)]
    Config(config::Cmd),
    /// Clients of the MSP.
    #[command(subcommand)]
    Client(client::Cmd),
    /// Configuration items (the CMDB).
    #[command(subcommand)]
    Cmdb(cmdb::Cmd),
    /// Backup plans (import, export, show, history, diff), risks and the quarterly review.
    #[command(subcommand)]
    Plan(plan::Cmd),
    /// Job events: import neutral files, ingest restic/borg output, list.
    #[command(subcommand)]
    Events(events::Cmd),
    /// Report e-mails no recognizer placed, and jobs seen that no plan has.
    #[command(subcommand)]
    Intake(intake::Cmd),
    /// Run a backup command and record its outcome.
    Run(run::Args),
    /// Missed runs, hung runs and RPO breaches -> events and tickets (for cron).
    Check(check::Args),
    /// Is bmctl itself fed and run? Last check, newest data, waiting notifications (exit 1 if stale).
    Health(health::Args),
    /// Maintenance windows: no expected runs and no tickets inside them.
    Pause(pause::Args),
    /// Corrective tickets and incidents (05f.02).
    #[command(subcommand)]
    Correct(correct::Cmd),
    /// Recurring proactive tasks (05f.01): generate, due, work them.
    #[command(subcommand)]
    Tasks(tasks::Cmd),
    /// Recovery attempts: restore tests and real restores.
    #[command(subcommand)]
    Restore(restore::Cmd),
    /// Backup changes: add, change, move, delete with approval (05f.03–05f.06).
    #[command(subcommand)]
    Macd(macd::Cmd),
    /// The five KPIs of the process, per client or overall (05f.07).
    Kpi(kpi::Args),
    /// The audit log of every write.
    #[command(subcommand)]
    Audit(audit::Cmd),
    /// The database file: path, check, backup, repair, prune.
    #[command(subcommand)]
    Db(db::Cmd),
    /// Print shell completions.
    Completions {
        /// bash, zsh, fish, elvish or powershell.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff), or write a page per command into a folder.
    Man {
        /// Write bmctl.1 and a bmctl-COMMAND.1 for every command into this folder.
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
}

/// A flag whose value is one of `words`: another is a usage error (exit 2)
/// listing them, and completions offer them.
pub fn words(words: &'static [&'static str]) -> clap::builder::PossibleValuesParser {
    clap::builder::PossibleValuesParser::new(words)
}

/// A flag value that must be an RFC 3339 instant: a usage error (exit 2) otherwise.
fn rfc3339_arg(text: &str) -> Result<String, String> {
    crate::domain::time::parse_instant(text)
        .map(|_| text.to_string())
        .map_err(|e| e.to_string())
}

/// Everything a command needs from the invocation.
pub struct App {
    pub cli: Cli,
    pub config: Config,
    /// How bmctl runs here: personal, the service account, or through sudo.
    pub mode: crate::identity::Mode,
}

impl App {
    pub fn format(&self) -> Format {
        self.cli.format
    }

    /// Open the configured database (migrating as needed); a missing one is
    /// an error, never silently created.
    pub fn store(&self) -> Result<Store> {
        let path = self.config.db_path()?;
        let mut store = Store::open(&path, self.busy_timeout())?;
        // the service account replays with --now; anyone else only on a
        // time-travel database
        store.now_overridden = self.cli.now.is_some() && !self.mode.may_replay();
        // bmctl makes its databases 0600; one others may read holds clients' data
        if let Some(m) = crate::ops::read::file_mode(&path).filter(|m| m & 0o077 != 0) {
            self.say(format!(
                "bmctl: warning: database {} has mode {m:04o}: others may read it; fix with `chmod 600 {0}`",
                path.display()
            ));
        }
        Ok(store)
    }

    pub fn busy_timeout(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.config.s.busy_timeout_s as u64)
    }

    /// The invocation's time, actor and command name (for the audit).
    pub fn ctx(&self, command: &str) -> Result<Ctx> {
        let actor = self
            .mode
            .actor(self.cli.actor.as_deref())
            .map_err(crate::error::refused)?;
        if self
            .cli
            .actor
            .as_deref()
            .is_some_and(|a| !a.trim().is_empty())
        {
            // a claimed name is a login, exactly, and never bmctl's own
            crate::domain::role::check_login(&actor)
                .map_err(|e| crate::error::refused(format!("--actor: {e}")))?;
        }
        self.config.authorize(&actor, command)?;
        Ok(Ctx {
            now: crate::clock::now(self.cli.now.as_deref())?,
            actor,
            command: command.to_string(),
            rules: crate::ops::correct::Rules::from_config(&self.config),
        })
    }

    /// A time flag's value (see [`crate::domain::time::parse_when`]): a date
    /// is midnight in `tz` (the client's, else `display.timezone`).
    pub fn when(
        &self,
        flag: &str,
        text: &str,
        tz: Option<chrono_tz::Tz>,
        span: crate::domain::time::Span,
    ) -> Result<i64> {
        let now = crate::clock::now(self.cli.now.as_deref())?.timestamp();
        crate::domain::time::parse_when(text, tz.unwrap_or(self.config.s.display_tz), now, span)
            .map_err(|e| rejected(format!("{flag}: {e}")))
    }

    /// Who acts (see [`crate::identity::Mode::actor`]); a refused claim
    /// reads as the OS's answer here, and is refused by [`App::ctx`].
    pub fn actor(&self) -> String {
        self.mode
            .actor(self.cli.actor.as_deref())
            .unwrap_or_else(|_| self.mode.actor(None).unwrap_or_default())
    }

    /// `--quiet` with table output: cron's case, where success prints nothing
    /// (JSON and CSV asked for are still printed).
    pub fn quiet_table(&self) -> bool {
        self.cli.quiet && self.format() == Format::Table
    }

    /// A message for the person at the terminal (stderr), unless `--quiet`.
    pub fn say(&self, msg: impl AsRef<str>) {
        if !self.cli.quiet {
            eprintln!("{}", msg.as_ref());
        }
    }
}

/// A form kept for one minor version: say on stderr what replaces it.
pub fn deprecated(old: &str, new: &str) {
    eprintln!("bmctl: `{old}` is deprecated and goes in the next minor version; write `{new}`");
}

/// The one policy a command acts on, positional (`--job` kept one minor
/// version, hidden).
#[derive(Debug, Clone, clap::Args)]
pub struct JobArg {
    /// The policy, as CLIENT/JOB.
    #[arg(value_name = "CLIENT/JOB", required_unless_present = "job_flag")]
    job: Option<String>,
    /// The policy, as CLIENT/JOB (deprecated: give it without --job).
    #[arg(
        long = "job",
        value_name = "CLIENT/JOB",
        hide = true,
        conflicts_with = "job"
    )]
    job_flag: Option<String>,
}

impl JobArg {
    /// The CLIENT/JOB given; `command` ("macd change") names the deprecated form.
    pub fn get(&self, command: &str) -> &str {
        match (&self.job, &self.job_flag) {
            (Some(j), _) => j,
            (None, Some(j)) => {
                deprecated(&format!("{command} --job {j}"), &format!("{command} {j}"));
                j
            }
            (None, None) => unreachable!("clap requires one of them"),
        }
    }
}

/// Split `CLIENT/NAME` (a job or a CI).
pub fn split_ref<'a>(what: &str, text: &'a str) -> Result<(&'a str, &'a str)> {
    text.split_once('/')
        .filter(|(a, b)| !a.is_empty() && !b.is_empty())
        .ok_or_else(|| {
            rejected(format!(
                "{what} '{text}' must look like CLIENT/NAME (e.g. acme/fs01)"
            ))
        })
}

/// Global options set in the environment, which clap counts as given.
const ENV_GLOBALS: [&str; 3] = ["BMCTL_NOW", "BMCTL_ACTOR", "BMCTL_CONFIG"];

/// A usage error as it reads without the environment's globals: clap puts
/// every given option in the usage line, so `BMCTL_NOW` in a crontab would
/// show `--now <RFC3339>` as if it were required.
fn usage_error(e: clap::Error) -> clap::Error {
    use clap::error::ErrorKind::{DisplayHelp, DisplayVersion};
    if matches!(e.kind(), DisplayHelp | DisplayVersion)
        || !ENV_GLOBALS.iter().any(|v| std::env::var_os(v).is_some())
    {
        return e;
    }
    for v in ENV_GLOBALS {
        std::env::remove_var(v);
    }
    match command().try_get_matches() {
        Err(plain) if plain.kind() == e.kind() => plain,
        _ => e,
    }
}

/// Parse the command line and run it; returns the exit code.
/// The command line, every argument described (`help`).
pub fn command() -> clap::Command {
    help::described(Cli::command())
}

pub fn main() -> Result<u8> {
    let matches = command()
        .try_get_matches()
        .unwrap_or_else(|e| usage_error(e).exit());
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    crate::output::set_color(cli.color);
    let (config, mode) = load_config(&cli)?;
    if let crate::identity::Mode::Sudo { .. } = mode {
        // files cross the uid boundary only through the spool folder, and
        // what bmctl writes is for the technicians' group to read
        crate::input::restrict_to_spool(std::path::Path::new(crate::input::SPOOL));
        crate::output::review::share_with_group();
    }
    // a name claimed where the OS says who acts is refused, whatever the command
    mode.actor(cli.actor.as_deref())
        .map_err(crate::error::refused)?;
    crate::output::set_table_tz(config.s.display_tz);
    let app = App { cli, config, mode };
    run(&app)
}

/// The config and the mode: the system config when the process is one of
/// the service accounts it names (cron, or a technician through sudo),
/// else the flag's, the environment's or the platform's.
fn load_config(cli: &Cli) -> Result<(Config, crate::identity::Mode)> {
    use crate::identity::{Mode, Process, SYSTEM_CONFIG};
    let process = Process::current();
    let system = std::path::Path::new(SYSTEM_CONFIG);
    let db_flag = cli.db.as_ref().map(|p| p.display().to_string());
    let flags: Vec<(&str, &str, &str)> = db_flag
        .as_deref()
        .map(|d| ("database.path", "--db", d))
        .into_iter()
        .collect();
    // a technician cannot read it (0640 root:bmctl): then it is not theirs
    let system_cfg = match std::fs::File::open(system) {
        Ok(_) => Some(Config::load_system(system)?),
        Err(_) => None,
    };
    if let Some(sys) = system_cfg {
        let mode = Mode::of(&process, &sys.s.service_accounts);
        match &mode {
            Mode::Sudo { .. } => {
                // a technician cannot bring their own roles or database
                let refused = || {
                    crate::error::refused(format!(
                        "under sudo, bmctl uses {SYSTEM_CONFIG} and its database only"
                    ))
                };
                if cli.config.as_deref().is_some_and(|c| c != system) {
                    return Err(refused());
                }
                let db = sys.db_path()?;
                let env_db = std::env::var_os("BMCTL_DB").map(PathBuf::from);
                if [cli.db.clone(), env_db]
                    .into_iter()
                    .flatten()
                    .any(|d| d != db)
                {
                    return Err(refused());
                }
                return Ok((sys, mode));
            }
            Mode::Service { .. } if cli.config.is_none() => {
                let cfg = Config::load(Some(system), &flags)?;
                return Ok((cfg, mode));
            }
            _ => {}
        }
    }
    let config = Config::load(cli.config.as_deref(), &flags)?;
    let mode = Mode::of(&process, &config.s.service_accounts);
    // sudo to a service account without the system config is no shared
    // host: its own login acts
    let mode = match mode {
        Mode::Sudo { service, .. } => Mode::Service { login: service },
        m => m,
    };
    Ok((config, mode))
}

fn run(app: &App) -> Result<u8> {
    let code = dispatch(app)?;
    if matches!(
        app.cli.command,
        Command::Events(_)
            | Command::Run(_)
            | Command::Check(_)
            | Command::Correct(_)
            | Command::Tasks(_)
            | Command::Restore(_)
            | Command::Macd(_)
    ) {
        deliver_hooks(app);
    }
    Ok(code)
}

/// Hand queued ticket notifications to the configured hooks (after the
/// command committed: a hook can never undo it).
fn deliver_hooks(app: &App) {
    // `run` on a host without the database must not create one.
    if !app.config.db_path().is_ok_and(|p| p.exists()) {
        return;
    }
    let (Ok(mut store), Ok(ctx)) = (app.store(), app.ctx("hooks")) else {
        return;
    };
    let hooks = crate::ops::hooks::Hooks::from_config(&app.config);
    match crate::ops::hooks::deliver(&mut store, &ctx, &hooks) {
        Ok(failures) => {
            for f in failures {
                let about = match (f.ticket_id, f.change_id) {
                    (Some(t), _) => format!("ticket #{t}"),
                    (None, Some(c)) => format!("change CR-{c}"),
                    (None, None) => "-".into(),
                };
                let kept = if f.change_id.is_some() {
                    "change"
                } else {
                    "ticket"
                };
                eprintln!(
                    "bmctl: warning: hook on_{} for {about} (`{}`) failed: {}; the {kept} is saved",
                    f.event, f.command, f.error
                );
            }
        }
        Err(e) => eprintln!("bmctl: warning: delivering notifications: {e:#}"),
    }
}

fn dispatch(app: &App) -> Result<u8> {
    match &app.cli.command {
        Command::Init { allow_time_travel } => {
            let path = app.config.db_path()?;
            // Folders are made only for the platform's own data folder: an
            // explicit path with a missing folder is a typo, not a request.
            if app.config.db_path_is_default() {
                Store::make_folder(&path)?;
            }
            let mut store = Store::create(&path, app.busy_timeout())?;
            if *allow_time_travel && !store.time_travel {
                if !store.is_blank()? {
                    return Err(crate::error::refused(format!(
                        "database {} already holds data: time travel can only be allowed when a database is created",
                        path.display()
                    )));
                }
                store.allow_time_travel()?;
            }
            app.say(format!(
                "database {} is ready (schema version {})",
                store.path.display(),
                crate::ops::read::SCHEMA_VERSION
            ));
            Ok(0)
        }
        Command::Demo(args) => demo::run(app, args),
        Command::Due(args) => due::run(app, args),
        Command::Config(cmd) => config::run(app, cmd),
        Command::Client(cmd) => client::run(app, cmd),
        Command::Cmdb(cmd) => cmdb::run(app, cmd),
        Command::Plan(cmd) => plan::run(app, cmd),
        Command::Events(cmd) => events::run(app, cmd),
        Command::Intake(cmd) => intake::run(app, cmd),
        Command::Run(args) => run::run(app, args),
        Command::Check(args) => check::run(app, args),
        Command::Health(args) => health::run(app, args),
        Command::Pause(args) => pause::run(app, args),
        Command::Correct(cmd) => correct::run(app, cmd),
        Command::Tasks(cmd) => tasks::run(app, cmd),
        Command::Restore(cmd) => restore::run(app, cmd),
        Command::Kpi(args) => kpi::run(app, args),
        Command::Macd(cmd) => macd::run(app, cmd),
        Command::Audit(cmd) => audit::run(app, cmd),
        Command::Db(cmd) => db::run(app, cmd),
        Command::Completions { shell } => {
            let mut cmd = command();
            clap_complete::generate(*shell, &mut cmd, "bmctl", &mut std::io::stdout());
            Ok(0)
        }
        Command::Man { out: None } => {
            let mut out = Vec::new();
            clap_mangen::Man::new(command()).render(&mut out)?;
            crate::output::text(&String::from_utf8(out).map_err(|e| anyhow!(e))?)?;
            Ok(0)
        }
        Command::Man { out: Some(dir) } => {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
            let n = man_pages(command(), "bmctl", dir)?;
            app.say(format!("wrote {n} man pages to {}", dir.display()));
            Ok(0)
        }
    }
}

/// Write `NAME.1` for `cmd` and, for each subcommand, `NAME-SUB.1` (the
/// names the pages' SUBCOMMANDS sections refer to); how many were written.
fn man_pages(cmd: clap::Command, name: &str, dir: &std::path::Path) -> Result<usize> {
    // pages for the commands, not for clap's `help` subcommands
    let mut cmd = no_help_subcommands(cmd.name(name.to_string()));
    cmd.build();
    let mut page = Vec::new();
    clap_mangen::Man::new(cmd.clone()).render(&mut page)?;
    let file = dir.join(format!("{name}.1"));
    std::fs::write(&file, page).with_context(|| format!("writing {}", file.display()))?;
    let mut n = 1;
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        n += man_pages(sub.clone(), &format!("{name}-{}", sub.get_name()), dir)?;
    }
    Ok(n)
}

fn no_help_subcommands(cmd: clap::Command) -> clap::Command {
    let names: Vec<String> = cmd
        .get_subcommands()
        .map(|s| s.get_name().to_string())
        .collect();
    let mut cmd = cmd.disable_help_subcommand(true);
    for n in names {
        cmd = cmd.mut_subcommand(n.as_str(), no_help_subcommands);
    }
    cmd
}

#[cfg(test)]
mod help_tests {
    use super::*;

    /// Every argument of every command says what it is.
    #[test]
    fn every_argument_is_described() {
        fn walk(cmd: &clap::Command, path: &str, missing: &mut Vec<String>) {
            for a in cmd.get_arguments() {
                let id = a.get_id().as_str();
                if matches!(id, "help" | "version") || a.is_hide_set() {
                    continue;
                }
                if a.get_help().is_none() && a.get_long_help().is_none() {
                    missing.push(format!("{path} <{id}>"));
                }
            }
            for s in cmd.get_subcommands() {
                walk(s, &format!("{path} {}", s.get_name()), missing);
            }
        }
        let mut missing = Vec::new();
        walk(&command(), "bmctl", &mut missing);
        assert!(
            missing.is_empty(),
            "{} undescribed:\n{}",
            missing.len(),
            missing.join("\n")
        );
    }
}

#[cfg(test)]
mod example_tests {
    use super::*;

    /// The examples in every command's help come out whole on an
    /// 80-column terminal: each line can be copied into a shell as it is.
    #[test]
    fn examples_are_not_wrapped_at_80_columns() {
        fn walk(cmd: &clap::Command, path: &str, broken: &mut Vec<String>) {
            if let Some(after) = cmd.get_after_help() {
                let source = after.to_string();
                let rendered = cmd
                    .clone()
                    .term_width(80)
                    .bin_name(path)
                    .render_help()
                    .to_string();
                for line in source.lines().filter(|l| l.starts_with("  ")) {
                    if !rendered.lines().any(|r| r.trim_end() == line.trim_end()) {
                        broken.push(format!("{path}: {line}"));
                    }
                }
            }
            for s in cmd.get_subcommands() {
                walk(s, &format!("{path} {}", s.get_name()), broken);
            }
        }
        let mut broken = Vec::new();
        walk(&command(), "bmctl", &mut broken);
        assert!(
            broken.is_empty(),
            "wrapped examples:\n{}",
            broken.join("\n")
        );
    }
}
