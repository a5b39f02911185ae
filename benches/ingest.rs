//! Ingest benchmark: `events import` of 1M neutral JSON lines (100 clients'
//! long history) into an empty database, as onboarding loads it
//! (`--history`) and as a live import, beside R, the raw prepared-insert
//! rate of the same rows into the same schema measured in the same run.
//! Prints a table and writes `target/bench-ingest.json`.
//!
//!     cargo bench --bench ingest                 # 1,000,000 events
//!     BMCTL_BENCH_EVENTS=100000 cargo bench --bench ingest

use std::io::Write;
use std::time::{Duration, Instant};

use bmctl::domain::event::NewEvent;
use bmctl::ingest::neutral::{self, InputFormat};
use bmctl::ops::correct::Rules;
use bmctl::ops::{events, plan, Ctx};
use bmctl::store::Store;

const CLIENTS: usize = 100;
const JOBS_PER_CLIENT: usize = 10;

fn plan_text(c: usize) -> String {
    let mut s =
        format!("client = \"c{c:04}\"\nname = \"Client {c}\"\ntimezone = \"Europe/Berlin\"\n");
    for j in 0..JOBS_PER_CLIENT {
        s.push_str(&format!(
            "\n[[ci]]\nhost = \"h{j}\"\nkind = \"server\"\ntier = {}\n",
            1 + j % 3
        ));
    }
    for j in 0..JOBS_PER_CLIENT {
        s.push_str(&format!(
            "\n[[policy]]\njob = \"h{j}-nightly\"\nci = \"h{j}\"\ntool = \"restic\"\nschedule = \"{} 22 * * *\"\nrpo = \"26h\"\ngrace = \"2h\"\nretention = {{ daily = 7 }}\ntarget = \"offsite\"\nrestore_test = \"monthly\"\nrto = \"4h\"\n",
            j % 60
        ));
    }
    s
}

fn onboard(store: &mut Store, ctx: &Ctx) {
    for c in 0..CLIENTS {
        plan::import(store, ctx, &plan_text(c), "bench.toml", None, false).expect("plan import");
    }
}

/// Deterministic events: every job runs once a day, about 1% fail, 2% warn.
fn event(i: usize, start: i64) -> NewEvent {
    let per_day = CLIENTS * JOBS_PER_CLIENT;
    let (day, k) = ((i / per_day) as i64, i % per_day);
    let (c, j) = (k / JOBS_PER_CLIENT, k % JOBS_PER_CLIENT);
    let started = start + day * 86_400 + (j as i64) * 60;
    // a well-mixed hash: each job fails now and then, not always
    let status = match ((i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32) % 100 {
        0 => "failed",
        1 | 2 => "warning",
        _ => "success",
    };
    NewEvent {
        level: None,
        client: format!("c{c:04}"),
        job: format!("h{j}-nightly"),
        operation: Default::default(),
        status: bmctl::domain::event::Status::parse(status).unwrap(),
        started_at: Some(started),
        ended_at: started + 600 + (i % 3000) as i64,
        bytes: Some(10_000_000_000 + (i as i64 % 1_000_000)),
        files: Some(100_000 + (i as i64 % 5_000)),
        snapshot: None,
        source: "restic".into(),
        external_id: Some(format!(
            "{:08x}",
            (i as u64).wrapping_mul(2_654_435_761) as u32
        )),
        message: (status != "success").then(|| "error: open /srv/x: permission denied".to_string()),
    }
}

/// client_id, policy_id, status, started, ended, bytes, files, xid, xkind, xh
type RawRow = (i64, i64, String, i64, i64, i64, i64, i64, i64, i64);

fn rate(n: usize, d: Duration) -> f64 {
    n as f64 / d.as_secs_f64()
}

fn main() {
    let n: usize = std::env::var("BMCTL_BENCH_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir().expect("temp dir");
    let start = 1_760_000_000;
    let ctx = Ctx {
        now: chrono::DateTime::from_timestamp(start - 86_400, 0).unwrap(),
        actor: "bench".into(),
        command: "bench".into(),
        rules: Rules::default(),
    };

    // The input file.
    let file = dir.path().join("events.jsonl");
    {
        let mut w = std::io::BufWriter::new(std::fs::File::create(&file).unwrap());
        for i in 0..n {
            writeln!(w, "{}", neutral::to_json_line(&event(i, start))).unwrap();
        }
    }
    let file_bytes = std::fs::metadata(&file).unwrap().len();

    // R: raw prepared inserts of the same rows into the same schema, one transaction.
    let raw_db = dir.path().join("raw.db");
    let mut raw = Store::create(&raw_db, Duration::from_secs(30)).unwrap();
    onboard(&mut raw, &ctx);
    drop(raw);
    // the bench's own connection, with the settings of bmctl's
    let mut raw = rusqlite::Connection::open(&raw_db).unwrap();
    raw.pragma_update(None, "synchronous", "normal").unwrap();
    raw.pragma_update(None, "cache_size", bmctl::store::CACHE_KIB)
        .unwrap();
    let rows: Vec<RawRow> = (0..n)
        .map(|i| {
            let e = event(i, start);
            let bmctl::domain::event::RunKey { xid, xkind, xh } = e.key();
            let per_day = CLIENTS * JOBS_PER_CLIENT;
            let k = i % per_day;
            let client_id = (k / JOBS_PER_CLIENT + 1) as i64;
            let policy_id = k as i64 + 1;
            (
                client_id,
                policy_id,
                e.status.code().to_string(),
                e.started_at.unwrap(),
                e.ended_at,
                e.bytes.unwrap(),
                e.files.unwrap(),
                xid,
                xkind,
                xh,
            )
        })
        .collect();
    raw.execute(
        "INSERT INTO event_sources (id, name) VALUES (1, 'restic')",
        [],
    )
    .unwrap();
    let t = Instant::now();
    {
        let tx = raw
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .unwrap();
        {
            let mut stmt = tx
                .prepare(
                    "INSERT INTO job_events (client_id, policy_id, status, started_at, ended_at, bytes, files, source_id, xid, xkind, day, xh)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 1, ?8, ?9, ?8 >> 32, ?10)",
                )
                .unwrap();
            for r in &rows {
                stmt.execute(rusqlite::params![
                    r.0, r.1, r.2, r.3, r.4, r.5, r.6, r.7, r.8, r.9
                ])
                .unwrap();
            }
        }
        tx.commit().unwrap();
    }
    let raw_time = t.elapsed();
    drop(rows);

    // End to end: `events import` through bmctl's own code, the live import
    // into a second database.
    // `now` after the file's last run: a run dated later is held as clock skew
    let days = (n / (CLIENTS * JOBS_PER_CLIENT)) as i64 + 2;
    let import_ctx = Ctx {
        now: chrono::DateTime::from_timestamp(start + days * 86_400, 0).unwrap(),
        ..ctx.clone()
    };
    let input = |history| events::Input {
        path: &file,
        name: "events.jsonl",
        format: InputFormat::Jsonl,
        skip_invalid: false,
        history,
        history_from: None,
        dry_run: false,
    };
    let import_into = |name: &str, history: bool| {
        let db = dir.path().join(name);
        let mut store = Store::create(&db, Duration::from_secs(30)).unwrap();
        onboard(&mut store, &ctx);
        let t = Instant::now();
        let summary = events::import(&mut store, &import_ctx, &input(history), |_| {}).unwrap();
        let took = t.elapsed();
        assert_eq!(summary.new, n, "every event lands once");
        (db, store, summary, took)
    };
    let (db, mut store, summary, import_time) = import_into("bmctl.db", true);
    let t = Instant::now();
    let again = events::import(&mut store, &import_ctx, &input(true), |_| {}).unwrap();
    let reimport_time = t.elapsed();
    assert_eq!(again.duplicate, n);
    drop(store);
    let db_bytes = std::fs::metadata(&db).unwrap().len();
    let (_, live_store, live, live_time) = import_into("live.db", false);
    drop(live_store);

    let r = rate(n, raw_time);
    let e = rate(n, import_time);
    println!("bmctl ingest benchmark: {n} neutral events, {CLIENTS} clients x {JOBS_PER_CLIENT} jobs, input {:.1} MB", file_bytes as f64 / 1e6);
    println!(
        "{:<44} {:>14} {:>10} {:>8}",
        "figure", "measured", "target", "result"
    );
    println!(
        "{:<44} {:>10.0} ev/s {:>10} {:>8}",
        "R: raw prepared inserts, one transaction", r, "-", "-"
    );
    println!(
        "{:<44} {:>10.0} ev/s {:>10} {:>8}",
        "events import --history, empty database",
        e,
        format!("{:.0}", 0.6 * r),
        if e >= 0.6 * r { "pass" } else { "FAIL" }
    );
    println!(
        "{:<44} {:>14.2} {:>10} {:>8}",
        "  ratio to R",
        e / r,
        ">= 0.60",
        if e >= 0.6 * r { "pass" } else { "FAIL" }
    );
    println!(
        "{:<44} {:>10.0} ev/s {:>10} {:>8}",
        "  the same as a live import",
        rate(n, live_time),
        "-",
        "-"
    );
    println!(
        "{:<44} {:>14.2} {:>10} {:>8}",
        "  ratio to R",
        rate(n, live_time) / r,
        "-",
        "-"
    );
    println!(
        "{:<44} {:>10.0} ev/s {:>10} {:>8}",
        "re-import of the same file (all duplicates)",
        rate(n, reimport_time),
        "-",
        "-"
    );
    println!(
        "{:<44} {:>14.1} {:>10} {:>8}",
        "database bytes per event",
        db_bytes as f64 / n as f64,
        "<= 100",
        if (db_bytes as f64 / n as f64) <= 100.0 {
            "pass"
        } else {
            "FAIL"
        }
    );
    println!(
        "tickets opened {} (live import: {} opened, {} resolved)",
        summary.tickets.tickets_opened, live.tickets.tickets_opened, live.tickets.tickets_resolved
    );
    let json = serde_json::json!({
        "events": n,
        "raw_inserts_per_s": r,
        "import_per_s": e,
        "ratio": e / r,
        "live_import_per_s": rate(n, live_time),
        "reimport_per_s": rate(n, reimport_time),
        "db_bytes_per_event": db_bytes as f64 / n as f64,
    });
    let out = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-ingest.json");
    std::fs::write(&out, serde_json::to_string_pretty(&json).unwrap()).unwrap();
    println!("wrote {}", out.display());
}
