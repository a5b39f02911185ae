//! The cases the property found, and their neighbours, as examples.

use super::*;

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
