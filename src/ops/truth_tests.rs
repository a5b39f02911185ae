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
use crate::store::Store;

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
        operation: Operation::Start,
        status: Status::Failed,
        ended_at: r.start,
        external_id: None,
        ..event(0, r)
    }
}

fn event(i: usize, r: &Run) -> NewEvent {
    NewEvent {
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
        let trail = Trail::of(&facts, correct::Rules::default().warnings_before);
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
    let conn = &store.conn;
    let job_of = |name: String| POLICIES.iter().position(|p| p.0 == name).unwrap();
    let mut rollups = BTreeMap::new();
    let mut stmt = conn
        .prepare(
            "SELECT day, runs, runs_success, runs_warning, runs_failed, expected,
                    occ_success, occ_warning, occ_failed, occ_missed FROM daily_rollups",
        )
        .unwrap();
    let mut rows = stmt.query([]).unwrap();
    while let Some(r) = rows.next().unwrap() {
        let v: [i64; 9] = std::array::from_fn(|i| r.get(i + 1).unwrap());
        if v.iter().any(|x| *x != 0) {
            rollups.insert(r.get(0).unwrap(), v);
        }
    }
    let missed = conn
        .prepare(
            "SELECT p.job, e.ended_at FROM job_events e JOIN policies p ON p.id = e.policy_id
             WHERE e.status = 'm' AND e.superseded IS NULL",
        )
        .unwrap()
        .query_map([], |r| Ok((job_of(r.get(0)?), r.get(1)?)))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    let open = conn
        .prepare(
            "SELECT p.job, t.class FROM tickets t JOIN policies p ON p.id = t.policy_id
             WHERE t.status IN ('open', 'in_progress') AND t.recovered_at IS NULL
               AND t.class IN ('failed', 'missed', 'warning', 'hung')",
        )
        .unwrap()
        .query_map([], |r| {
            let class: String = r.get(1)?;
            let class = ["failed", "missed", "warning", "hung"]
                .into_iter()
                .find(|c| *c == class)
                .unwrap();
            Ok((job_of(r.get(0)?), class))
        })
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
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
    crate::ops::plan::import(&mut store, &ctx(T0), &plan(), "plan.toml", false).unwrap();
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
    let found = crate::ops::deep::verify(&store.conn).unwrap();
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

/// Found by the property: a missed window learned of after a newer failure,
/// while the policy's escalated missed incident is marked recovered, counts
/// as open again.
#[test]
fn a_late_missed_window_after_a_recovered_incident_is_open_again() {
    let r = |start: i64, end: i64, status: Status, delay: i64| Run {
        job: 1,
        start,
        end,
        status,
        delay,
        announced: false,
        ends: true,
    };
    let runs = vec![
        r(1793770038, 1793775390, Status::Success, 0),
        r(1793790649, 1793793863, Status::Failed, 0),
        r(1793793923, 1793806780, Status::Success, 0),
        r(1793812570, 1793817398, Status::Success, 0),
        r(1793855244, 1793858470, Status::Failed, 32550),
        r(1793858530, 1793871437, Status::Failed, 0),
    ];
    let want = reference(&runs);
    let late = play(&runs, &[1793757792], true);
    assert_eq!(late, want);
}

/// Found by the property: a failure announced by its start record and
/// delivered after `check` saw it running past its max runtime (a `hung`
/// ticket) withdraws that ticket when it ends, though its window was
/// decided by the retry.
#[test]
fn the_end_of_a_run_past_its_max_runtime_withdraws_the_hung_ticket() {
    let r = |start: i64, end: i64, status: Status, delay: i64| Run {
        job: 0,
        start,
        end,
        status,
        delay,
        announced: true,
        ends: true,
    };
    let runs = vec![
        r(1793674800, 1793674815, Status::Failed, 43186),
        r(1793674875, 1793674935, Status::Success, 0),
    ];
    let want = reference(&runs);
    assert_eq!(play(&runs, &[1793675764, 1793720421], true), want);
}

/// Found by the property: a retry ends while its failed first attempt,
/// announced, still holds the window `check` passed by: the retry decides
/// the window, the first attempt no longer holds it.
#[test]
fn a_retry_decides_a_window_an_earlier_attempt_still_holds() {
    let runs = vec![
        Run {
            job: 1,
            start: 1793290120,
            end: 1793301346,
            status: Status::Warning,
            delay: 74343,
            announced: true,
            ends: true,
        },
        Run {
            job: 1,
            start: 1793311579,
            end: 1793318570,
            status: Status::Warning,
            delay: 156403,
            announced: true,
            ends: false,
        },
        Run {
            job: 1,
            start: 1793333853,
            end: 1793338078,
            status: Status::Success,
            delay: 0,
            announced: false,
            ends: true,
        },
        Run {
            job: 1,
            start: 1793376565,
            end: 1793380886,
            status: Status::Failed,
            delay: 0,
            announced: true,
            ends: true,
        },
        Run {
            job: 1,
            start: 1793419412,
            end: 1793421197,
            status: Status::Success,
            delay: 15153,
            announced: true,
            ends: true,
        },
        Run {
            job: 1,
            start: 1793506262,
            end: 1793512746,
            status: Status::Success,
            delay: 0,
            announced: true,
            ends: true,
        },
        Run {
            job: 1,
            start: 1793530900,
            end: 1793532107,
            status: Status::Failed,
            delay: 165803,
            announced: true,
            ends: true,
        },
        Run {
            job: 1,
            start: 1793532167,
            end: 1793536996,
            status: Status::Success,
            delay: 0,
            announced: true,
            ends: true,
        },
        Run {
            job: 1,
            start: 1793575105,
            end: 1793576965,
            status: Status::Success,
            delay: 0,
            announced: false,
            ends: true,
        },
        Run {
            job: 1,
            start: 1793618746,
            end: 1793620831,
            status: Status::Success,
            delay: 38236,
            announced: false,
            ends: true,
        },
        Run {
            job: 1,
            start: 1793640583,
            end: 1793642921,
            status: Status::Success,
            delay: 0,
            announced: true,
            ends: false,
        },
        Run {
            job: 1,
            start: 1793682252,
            end: 1793683333,
            status: Status::Failed,
            delay: 0,
            announced: false,
            ends: true,
        },
        Run {
            job: 1,
            start: 1793683393,
            end: 1793687719,
            status: Status::Success,
            delay: 0,
            announced: false,
            ends: true,
        },
        Run {
            job: 1,
            start: 1793703927,
            end: 1793704025,
            status: Status::Failed,
            delay: 0,
            announced: true,
            ends: true,
        },
        Run {
            job: 1,
            start: 1793704085,
            end: 1793704477,
            status: Status::Failed,
            delay: 0,
            announced: true,
            ends: true,
        },
        Run {
            job: 1,
            start: 1793726238,
            end: 1793727563,
            status: Status::Warning,
            delay: 0,
            announced: false,
            ends: true,
        },
        Run {
            job: 1,
            start: 1793748339,
            end: 1793750172,
            status: Status::Failed,
            delay: 0,
            announced: true,
            ends: true,
        },
        Run {
            job: 1,
            start: 1793750232,
            end: 1793757565,
            status: Status::Success,
            delay: 0,
            announced: true,
            ends: true,
        },
        Run {
            job: 1,
            start: 1793770149,
            end: 1793772751,
            status: Status::Failed,
            delay: 0,
            announced: true,
            ends: true,
        },
        Run {
            job: 1,
            start: 1793772811,
            end: 1793783221,
            status: Status::Failed,
            delay: 0,
            announced: true,
            ends: true,
        },
        Run {
            job: 1,
            start: 1793790401,
            end: 1793800602,
            status: Status::Success,
            delay: 0,
            announced: true,
            ends: true,
        },
        Run {
            job: 1,
            start: 1793812093,
            end: 1793812976,
            status: Status::Warning,
            delay: 0,
            announced: true,
            ends: true,
        },
        Run {
            job: 1,
            start: 1793856344,
            end: 1793864006,
            status: Status::Warning,
            delay: 0,
            announced: false,
            ends: true,
        },
    ];
    let want = reference(&runs);
    let got = play(
        &runs,
        &[1793791092, 1793408779, 1793868347, 1793652037, 1793534763],
        true,
    );
    assert_eq!(got, want);
}
