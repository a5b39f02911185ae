//! #10's principle as a property: run-derived figures are a function of the
//! recorded facts, never of arrival order or of when `check` ran. Each case
//! generates the runs of two policies over six days, plays them as two
//! histories (everything at the end; runs arriving late in batches between
//! `check`s at random instants) and compares both with a slow reference
//! computed from the runs alone: the daily rollups, the missed events that
//! stand and the open failed/missed/warning problems.

use std::collections::{BTreeMap, BTreeSet};

use chrono::DateTime;
use chrono_tz::Tz;
use proptest::prelude::*;

use crate::domain::event::{NewEvent, Operation, Status};
use crate::domain::policy::Schedule;
use crate::domain::time::local_day;
use crate::ops::check::{self, Settings};
use crate::ops::late::Trail;
use crate::ops::{correct, events, Ctx};
use crate::store::{probe, Store};

const TZ: &str = "America/New_York";
/// The plan's import: the policies' creation.
const T0: i64 = 1_793_361_600; // 2026-10-30T12:00:00Z
const SPAN: i64 = 6 * 86_400;
const T: i64 = T0 + SPAN;

/// (job, schedule, grace in seconds)
const POLICIES: [(&str, &str, i64); 2] = [
    ("fs01-nightly", "0 22 * * *", 7_200),
    ("sql01-6h", "0 */6 * * *", 1_800),
];

fn plan() -> String {
    let mut p = format!(
        "client = \"acme\"\nname = \"Acme\"\ntimezone = \"{TZ}\"\nsla_tier = \"gold\"\n\n\
         [[ci]]\nhost = \"fs01\"\nkind = \"server\"\ntier = 1\n"
    );
    for (job, schedule, grace) in POLICIES {
        p.push_str(&format!(
            "\n[[policy]]\njob = \"{job}\"\nci = \"fs01\"\ntool = \"other\"\nschedule = \"{schedule}\"\n\
             rpo = \"3d\"\ngrace = \"{}m\"\nretention = {{ daily = 7 }}\ntarget = \"local\"\n\
             restore_test = \"never\"\nrto = \"4h\"\n",
            grace / 60
        ));
    }
    p
}

#[derive(Debug, Clone)]
struct Run {
    job: usize,
    start: i64,
    end: i64,
    status: Status,
    /// How long after its end it is delivered (history B).
    delay: i64,
    /// A start record (`running`) is delivered when it starts.
    announced: bool,
    /// False: it never ends (only its start record is known): hung.
    ends: bool,
}

fn ctx(now: i64) -> Ctx {
    Ctx {
        now: DateTime::from_timestamp(now, 0).unwrap(),
        actor: "test".into(),
        command: "test".into(),
        rules: correct::Rules::default(),
    }
}

fn start_record(r: &Run) -> NewEvent {
    NewEvent {
        level: None,
        operation: Operation::Start,
        status: Status::Failed,
        ended_at: r.start,
        external_id: None,
        ..event(0, r)
    }
}

fn event(i: usize, r: &Run) -> NewEvent {
    NewEvent {
        level: None,
        client: "acme".into(),
        job: POLICIES[r.job].0.into(),
        operation: Operation::Backup,
        status: r.status,
        started_at: Some(r.start),
        ended_at: r.end,
        bytes: None,
        files: None,
        snapshot: None,
        source: "test".into(),
        external_id: Some(format!("r{i}")),
        message: None,
    }
}

/// What the figures must be, from the runs alone.
#[derive(Debug, PartialEq, Eq)]
struct Figures {
    /// local day → (runs, runs ok, warn, failed, expected, occ ok, warn, failed, missed)
    rollups: BTreeMap<i64, [i64; 9]>,
    /// (job, instant) of each missed event that stands
    missed: BTreeSet<(usize, i64)>,
    /// (job, class) of each open problem
    open: BTreeSet<(usize, &'static str)>,
}

fn reference(runs: &[Run]) -> Figures {
    let tz: Tz = TZ.parse().unwrap();
    let slack = correct::Rules::default().default_max_runtime_s.max(86_400);
    let mut rollups: BTreeMap<i64, [i64; 9]> = BTreeMap::new();
    let mut missed = BTreeSet::new();
    let mut open = BTreeSet::new();
    for r in runs.iter().filter(|r| r.ends) {
        let row = rollups.entry(local_day(r.start, tz)).or_default();
        row[0] += 1;
        row[match r.status {
            Status::Success => 1,
            Status::Warning => 2,
            _ => 3,
        }] += 1;
    }
    for (job, (_, schedule, grace)) in POLICIES.iter().enumerate() {
        let s = Schedule::parse(schedule).unwrap();
        let mut facts: Vec<(i64, i64, Status)> = runs
            .iter()
            .filter(|r| r.job == job && r.ends)
            .map(|r| (r.start, r.end, r.status))
            .collect();
        let from = DateTime::from_timestamp(T0, 0).unwrap();
        let to = DateTime::from_timestamp(T - grace, 0).unwrap();
        for tk in s.occurrences(from, to, tz) {
            let tk = tk.timestamp();
            let lo = s
                .prev_before(DateTime::from_timestamp(tk, 0).unwrap(), tz)
                .unwrap()
                .timestamp()
                + grace;
            let hi = tk + grace;
            let in_window = |r: &&Run| r.job == job && r.start > lo && r.start <= hi;
            // a run that never ended, past its max runtime: hung, a failed occurrence
            let hung = runs.iter().filter(in_window).any(|r| !r.ends);
            let outcome = runs
                .iter()
                .filter(in_window)
                .filter(|r| r.ends && r.end > lo && r.end <= hi + slack)
                .map(|r| r.status)
                .max()
                .or(hung.then_some(Status::Failed))
                .unwrap_or(Status::Missed);
            let row = rollups.entry(local_day(tk, tz)).or_default();
            row[4] += 1;
            row[5 + match outcome {
                Status::Success => 0,
                Status::Warning => 1,
                Status::Failed => 2,
                Status::Missed => 3,
            }] += 1;
            if outcome == Status::Missed {
                missed.insert((job, hi));
                facts.push((hi, hi, Status::Missed));
            }
        }
        facts.sort_unstable_by_key(|(at, end, _)| std::cmp::Reverse((*at, *end)));
        let trail = Trail::of(&facts, correct::Rules::default().warnings_before, 1);
        let hung = runs.iter().any(|r| r.job == job && !r.ends);
        for (class, holds) in [
            ("failed", trail.failed),
            ("missed", trail.missed),
            ("warning", trail.warning),
            ("hung", hung),
        ] {
            if holds {
                open.insert((job, class));
            }
        }
    }
    rollups.retain(|_, v| v.iter().any(|x| *x != 0));
    Figures {
        rollups,
        missed,
        open,
    }
}

fn figures(store: &Store) -> Figures {
    let conn = store.db();
    let job_of = |name: String| POLICIES.iter().position(|p| p.0 == name).unwrap();
    let rollups: BTreeMap<i64, [i64; 9]> = probe::rollup_counts(conn).into_iter().collect();
    let missed = probe::standing_misses(conn)
        .into_iter()
        .map(|(job, at)| (job_of(job), at))
        .collect();
    let open = probe::open_run_problems(conn)
        .into_iter()
        .map(|(job, class)| {
            let class = ["failed", "missed", "warning", "hung"]
                .into_iter()
                .find(|c| *c == class)
                .unwrap();
            (job_of(job), class)
        })
        .collect();
    Figures {
        rollups,
        missed,
        open,
    }
}

/// One history: imports and checks at their instants, in order; a final
/// check at T.
fn play(runs: &[Run], checks: &[i64], batched: bool) -> Figures {
    let dir = tempfile::tempdir().unwrap();
    let mut store =
        Store::create(&dir.path().join("t.db"), std::time::Duration::from_secs(5)).unwrap();
    crate::ops::plan::import(&mut store, &ctx(T0), &plan(), "plan.toml", None, false).unwrap();
    let settings = Settings {
        default_max_runtime_s: correct::Rules::default().default_max_runtime_s,
        batch_windows: 7,
    };
    // (instant, 0 = import / 1 = check) → events
    let mut steps: BTreeMap<(i64, u8), Vec<NewEvent>> = BTreeMap::new();
    let on_the_hour = |t: i64| {
        if batched {
            ((t + 3_599) / 3_600 * 3_600).min(T)
        } else {
            T
        }
    };
    for (i, r) in runs.iter().enumerate() {
        if r.announced || !r.ends {
            let at = on_the_hour(r.start);
            steps.entry((at, 0)).or_default().push(start_record(r));
        }
        if r.ends {
            // delivered on the hour after its delay, by T at the latest
            let at = on_the_hour(r.end + r.delay);
            steps.entry((at, 0)).or_default().push(event(i, r));
        }
    }
    for c in checks.iter().filter(|_| batched) {
        steps.entry((*c, 1)).or_default();
    }
    steps.entry((T, 1)).or_default();
    for ((at, kind), evs) in steps {
        let c = ctx(at);
        if kind == 1 {
            check::run(&mut store, &c, &settings).unwrap();
        } else {
            events::ingest(&mut store, &c, &evs).unwrap();
        }
    }
    // whatever late data did, the tables still re-derive from the audit log
    let found = crate::ops::deep::verify(&store).unwrap();
    assert!(found.is_empty(), "{found:#?}");
    figures(&store)
}

fn gen_runs() -> impl Strategy<Value = Vec<Run>> {
    let tz: Tz = TZ.parse().unwrap();
    // per occurrence: 0 none, 1 one run, 2 a failure and its retry
    let mut slots = Vec::new();
    for (job, (_, schedule, grace)) in POLICIES.iter().enumerate() {
        let s = Schedule::parse(schedule).unwrap();
        let from = DateTime::from_timestamp(T0 - 86_400, 0).unwrap();
        let to = DateTime::from_timestamp(T, 0).unwrap();
        for tk in s.occurrences(from, to, tz) {
            slots.push((job, tk.timestamp(), *grace));
        }
    }
    let status = prop_oneof![
        4 => Just(Status::Success),
        2 => Just(Status::Warning),
        3 => Just(Status::Failed),
    ];
    let one = (
        (0..3u8, status, 0..1_000i64, 60..14_400i64),
        (0..3i64, 0..200_000i64, 0..3u8, 0..12u8),
    );
    proptest::collection::vec(one, slots.len()).prop_map(move |picks| {
        let mut runs = Vec::new();
        for ((job, tk, grace), ((shape, status, off, took), (late, delay, announce, hang))) in
            slots.iter().zip(picks)
        {
            let job = *job;
            let start = tk + off * grace / 1_000;
            // a third of the runs arrive late, a third announce their start
            let delay = if late == 0 { delay } else { 0 };
            let announced = announce == 0;
            // a few never end (hung), when that is clear by T
            let ends = !(hang == 0 && start < T - 13 * 3_600);
            let run = |start: i64, end: i64, status: Status, delay: i64, ends: bool| Run {
                job,
                start,
                end,
                status,
                delay,
                announced,
                ends,
            };
            match shape {
                0 => {}
                1 => runs.push(run(start, start + took, status, delay, ends)),
                _ => {
                    let end = start + took / 4;
                    runs.push(run(start, end, Status::Failed, delay, true));
                    let again = end + 60;
                    runs.push(run(again, again + took, status, 0, true));
                }
            }
        }
        // a live history carries only runs ended by its last instant
        runs.retain(|r| r.end <= T || !r.ends);
        runs
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn figures_follow_the_facts_not_their_arrival(
        runs in gen_runs(),
        checks in proptest::collection::vec(T0..T, 0..6),
    ) {
        let want = reference(&runs);
        let at_once = play(&runs, &[], false);
        prop_assert_eq!(&at_once, &want, "everything imported at the end");
        let late = play(&runs, &checks, true);
        prop_assert_eq!(&late, &want, "late batches between checks at {:?}", checks);
    }
}

mod cases;
