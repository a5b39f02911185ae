//! `run`: wrap a backup command, record its outcome as a job event.
//!
//! It fails open: the backup command always runs, whatever happens to
//! bmctl. When the database cannot be opened, or `--spool` is given, the
//! event goes to a spool file as one neutral JSON line instead.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::fs::OpenOptions;
use std::io::{Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result};

use crate::domain::event::{NewEvent, Operation, Status};
use crate::ingest::{borg, borgmatic, clip, neutral, restic, ToolRun};
use crate::ops::{events, Ctx};
use crate::process;
use crate::store::{clients, policies, Store};

/// Which exit-code contract and output parser applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Tool {
    Restic,
    Borg,
    Borgmatic,
    Generic,
}

impl Tool {
    pub fn of_policy(tool: &str) -> Tool {
        match tool {
            "restic" => Tool::Restic,
            "borg" => Tool::Borg,
            "borgmatic" => Tool::Borgmatic,
            _ => Tool::Generic,
        }
    }

    /// The tool a command line runs, by its program's name (`restic`,
    /// `/usr/bin/borg`); `None` for anything else (a wrapper script:
    /// the policy's tool then). borgmatic exits 1 on an error and on a
    /// borg warning alike: its stderr tells them apart.
    pub fn of_command(program: &std::ffi::OsStr) -> Option<Tool> {
        let name = Path::new(program).file_name()?.to_str()?;
        match name {
            "restic" => Some(Tool::Restic),
            "borg" | "borg1" | "borg.exe" => Some(Tool::Borg),
            "borgmatic" => Some(Tool::Borgmatic),
            _ => None,
        }
    }

    fn source(self) -> &'static str {
        match self {
            Tool::Restic => "restic",
            Tool::Borg => "borg",
            Tool::Borgmatic => "borgmatic",
            Tool::Generic => "run",
        }
    }

    /// The tool's exit-code contract: restic 0 success, 3 warning (snapshot
    /// made, some files unreadable); borg 0 success, 1 warning, 2 and 128+N
    /// failed; generic 0 success.
    pub fn status_of(self, code: i32, missing_path: bool) -> Status {
        match (self, code) {
            (_, 0) if self == Tool::Restic && missing_path => Status::Warning,
            (_, 0) => Status::Success,
            (Tool::Restic, 3) | (Tool::Borg, 1) => Status::Warning,
            _ => Status::Failed,
        }
    }
}

pub struct Spec {
    pub client: String,
    pub job: String,
    pub tool: Option<Tool>,
    pub operation: Operation,
    pub spool: Option<PathBuf>,
    pub argv: Vec<OsString>,
}

/// Where the event went.
#[derive(Debug)]
pub enum Recorded {
    Database(events::Summary),
    Spool {
        path: PathBuf,
        why: String,
    },
    /// Neither the database nor the spool file took the event.
    Lost {
        path: PathBuf,
        why: String,
        error: String,
    },
}

pub struct Outcome {
    pub exit_code: i32,
    pub event: NewEvent,
    pub recorded: Recorded,
}

/// Cap on what is kept of one output line for parsing.
const LINE_CAP: usize = 64 * 1024;
/// Cap on the stdout kept for borg's JSON document.
const JSON_CAP: usize = 4 * 1024 * 1024;

#[derive(Default)]
struct Capture {
    restic: restic::Stream,
    stdout_json: Vec<u8>,
    stderr_tail: VecDeque<String>,
    /// borgmatic's lines that carry borg's exit code or JSON, whole, found
    /// anywhere in its stderr (a broken syslog floods it with tracebacks).
    borg_said: Vec<String>,
}

/// Copy a child's stream to ours while handing bounded lines to `on_line`.
fn pump(
    mut from: impl Read,
    mut to: impl Write,
    keep_json: bool,
    cap: Arc<Mutex<Capture>>,
    is_stderr: bool,
) {
    let mut buf = [0u8; 64 * 1024];
    let mut line: Vec<u8> = Vec::new();
    let handle = |line: &[u8], cap: &Arc<Mutex<Capture>>| {
        let text = String::from_utf8_lossy(line);
        if let Ok(mut c) = cap.lock() {
            let _ = c.restic.feed(&text);
            let said = text.trim();
            if is_stderr
                && c.borg_said.len() < 40
                && (said.contains("returned non-zero exit status ") || said.starts_with("b'{"))
            {
                c.borg_said.push(said.to_string());
            }
            if is_stderr && !text.trim().is_empty() {
                if c.stderr_tail.len() == 20 {
                    c.stderr_tail.pop_front();
                }
                c.stderr_tail
                    .push_back(text.trim().chars().take(500).collect());
            }
        }
    };
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        // Pass through first: the backup's own output must never wait on bmctl.
        let _ = to.write_all(&buf[..n]);
        let _ = to.flush();
        if keep_json {
            if let Ok(mut c) = cap.lock() {
                let room = JSON_CAP.saturating_sub(c.stdout_json.len());
                c.stdout_json.extend_from_slice(&buf[..n.min(room)]);
            }
        }
        for &b in &buf[..n] {
            if b == b'\n' {
                handle(&line, &cap);
                line.clear();
            } else if line.len() < LINE_CAP {
                line.push(b);
            }
        }
    }
    if !line.is_empty() {
        handle(&line, &cap);
    }
}

/// Run the wrapped command; always returns its exit code (127/126 when it
/// could not be started).
fn execute(argv: &[OsString], tool: Tool) -> (i32, Capture, Option<String>) {
    let cap = Arc::new(Mutex::new(Capture::default()));
    let mut cmd = Command::new(&argv[0]);
    cmd.args(&argv[1..])
        .stdin(Stdio::inherit())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            let (code, why) = process::cannot_start(&argv[0], &e);
            return (code, Capture::default(), Some(why));
        }
    };
    let forwarding = process::Forwarding::to(child.id());
    let out = child.stdout.take().map(|o| {
        let c = cap.clone();
        std::thread::spawn(move || {
            pump(
                o,
                std::io::stdout(),
                matches!(tool, Tool::Borg | Tool::Borgmatic),
                c,
                false,
            )
        })
    });
    let err = child.stderr.take().map(|e| {
        let c = cap.clone();
        std::thread::spawn(move || pump(e, std::io::stderr(), false, c, true))
    });
    let status = child.wait();
    let forwarded = forwarding.and_then(process::Forwarding::stop);
    for h in [out, err].into_iter().flatten() {
        let _ = h.join();
    }
    let code = match status {
        Ok(s) => process::exit_code(s),
        Err(_) => 1,
    };
    let capture = Arc::try_unwrap(cap)
        .ok()
        .and_then(|m| m.into_inner().ok())
        .unwrap_or_default();
    // stopped from outside: a failed run, whatever the tool's own code says
    let stopped = forwarded.map(|sig| {
        format!(
            "stopped: bmctl received {} and passed it on (exit {code})",
            process::signal_name(sig)
        )
    });
    (code, capture, stopped)
}

/// Append one neutral JSON line to the spool file (mode 0600), durably.
pub fn spool(path: &Path, ev: &NewEvent) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let mut f = OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("opening spool file {}", path.display()))?;
    f.write_all(format!("{}\n", neutral::to_json_line(ev)).as_bytes())?;
    f.sync_data()?;
    Ok(())
}

/// An id for a run the tool gave none: its start and 64 random bits.
fn run_nonce(started: i64) -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u32(std::process::id());
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default(),
    );
    format!("run-{started}-{:016x}", h.finish())
}

/// Run a backup command for a job and record its event.
pub fn run(
    open: impl FnOnce() -> Result<Store>,
    ctx: &Ctx,
    spec: Spec,
    default_spool: PathBuf,
    busy_timeout: std::time::Duration,
) -> Outcome {
    let started = ctx.now.timestamp();
    let mut why_spool = spec.spool.as_ref().map(|_| "--spool given".to_string());
    let mut store = None;
    // a start record the database did not take goes to the spool
    let mut start_to_spool = true;
    // the command itself says what it runs, also when no database is near
    let mut tool = spec
        .tool
        .or_else(|| spec.argv.first().and_then(|p| Tool::of_command(p)));
    if spec.spool.is_none() {
        match open() {
            Err(e) => why_spool = Some(format!("database unavailable: {e:#}")),
            Ok(mut s) => {
                start_to_spool = false;
                let policy = clients::find(s.db(), &spec.client)
                    .ok()
                    .flatten()
                    .and_then(|c| policies::find(s.db(), c.id, &spec.job).ok().flatten());
                if let Some(p) = &policy {
                    tool = tool.or(Some(Tool::of_policy(&p.spec.tool)));
                    if spec.operation == Operation::Backup {
                        // The backup starts at once: its start record waits a
                        // moment for a busy database, then goes to the spool.
                        let _ = s.set_busy_timeout(std::time::Duration::from_millis(250));
                        let start = start_record(&spec, started);
                        start_to_spool =
                            events::ingest(&mut s, ctx, std::slice::from_ref(&start)).is_err();
                        let _ = s.set_busy_timeout(busy_timeout);
                    }
                }
                store = Some(s);
            }
        }
    }
    if spec.operation == Operation::Backup && start_to_spool {
        let path = spec.spool.as_ref().unwrap_or(&default_spool);
        let _ = spool(path, &start_record(&spec, started));
    }
    let tool = tool.unwrap_or(Tool::Generic);
    let clock = std::time::Instant::now();
    let (exit_code, capture, start_error) = execute(&spec.argv, tool);
    let ended = started + clock.elapsed().as_secs() as i64;

    let missing_path = capture.restic.missing_path();
    let tz = || {
        store
            .as_ref()
            .and_then(|s| clients::find(s.db(), &spec.client).ok().flatten())
            .map(|c| c.tz())
            .unwrap_or(chrono_tz::UTC)
    };
    let mut tail: Vec<String> = capture.stderr_tail.iter().cloned().collect();
    let mut note = None;
    let (parsed, status) = match tool {
        Tool::Borg => {
            let text = String::from_utf8_lossy(&capture.stdout_json);
            let run = borg::parse(&text, tz())
                .ok()
                .and_then(|mut v| v.pop())
                .unwrap_or_default();
            (run, tool.status_of(exit_code, missing_path))
        }
        Tool::Borgmatic => {
            let text = String::from_utf8_lossy(&capture.stdout_json);
            let json = spec.argv.iter().any(|a| a == "--json");
            let v = borgmatic::judge(exit_code, &text, &capture.borg_said, json, tz());
            note = v.note;
            if v.status != Status::Success {
                // borg's own lines, not a logging traceback's
                tail = capture.borg_said.clone();
            }
            (v.run, v.status)
        }
        Tool::Restic => (
            capture.restic.finish(),
            tool.status_of(exit_code, missing_path),
        ),
        Tool::Generic => (ToolRun::default(), tool.status_of(exit_code, missing_path)),
    };
    let status = if start_error.is_some() {
        Status::Failed
    } else {
        status
    };
    let message = match (&start_error, status) {
        (Some(why), _) => Some(why.clone()),
        (None, Status::Success) => note,
        (None, _) => {
            let head = match &note {
                Some(n) => format!("exit {exit_code} ({n})"),
                None => format!("exit {exit_code}"),
            };
            // a bytes literal of borg's JSON is no message for a person
            let said: Vec<String> = tail
                .iter()
                .filter(|l| !l.starts_with("b'"))
                .cloned()
                .collect();
            clip(&said).map(|m| format!("{head}: {m}")).or(Some(head))
        }
    };
    let event = NewEvent {
        level: None,
        client: spec.client.clone(),
        job: spec.job.clone(),
        operation: spec.operation,
        status,
        started_at: Some(started),
        ended_at: ended,
        bytes: parsed.bytes,
        files: parsed.files,
        snapshot: None,
        source: tool.source().to_string(),
        // Without the tool's own id, a nonce of this process: a retry in the
        // same second is another run, a re-import of the spool line is not.
        external_id: parsed
            .id
            .filter(|_| spec.operation == Operation::Backup)
            .or_else(|| Some(run_nonce(started))),
        message,
    };

    let recorded = match (store.as_mut(), why_spool) {
        (Some(s), None) => match events::ingest(s, ctx, std::slice::from_ref(&event)) {
            Ok(summary) => Recorded::Database(summary),
            Err(e) => spool_or_warn(
                &default_spool,
                &event,
                format!("recording in the database failed: {e:#}"),
            ),
        },
        (_, why) => {
            let path = spec.spool.clone().unwrap_or(default_spool);
            spool_or_warn(&path, &event, why.unwrap_or_default())
        }
    };
    Outcome {
        exit_code,
        event,
        recorded,
    }
}

/// The start record of a backup `run` begins (neutral `"status": "running"`):
/// a window with a run still going is not missed, and one going past its
/// max runtime is hung.
fn start_record(spec: &Spec, started: i64) -> NewEvent {
    NewEvent::start_record(&spec.client, &spec.job, started, "run")
}

fn spool_or_warn(path: &Path, ev: &NewEvent, why: String) -> Recorded {
    match spool(path, ev) {
        Ok(()) => Recorded::Spool {
            path: path.to_path_buf(),
            why,
        },
        Err(e) => Recorded::Lost {
            path: path.to_path_buf(),
            why,
            error: format!("{e:#}"),
        },
    }
}
