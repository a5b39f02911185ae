//! Property tests: every parser of outside input turns arbitrary bytes into a
//! value or a clean error — never a panic.

use proptest::prelude::*;

use crate::domain::plan::{parse_plan, parse_policy_file};
use crate::domain::policy::{Retention, Schedule};
use crate::domain::time::{parse_duration, parse_instant};
use crate::ingest::neutral::{self, InputFormat};
use crate::ingest::{borg, restic};

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        // near-valid inputs reach deeper into the parsers
        "[ -~]{0,40}".prop_map(|s| format!(r#"{{"client":"acme","job":"{s}","status":"success","ended_at":"2026-11-29T21:00:00Z"}}"#)),
        "[0-9*/,-]{1,4} [0-9*/,-]{1,4} [0-9*/,L-]{1,4} [0-9*/,-]{1,4} [0-9*/,-]{1,4}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, .. ProptestConfig::default() })]

    #[test]
    fn neutral_readers_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600), t in text()) {
        for input in [bytes.clone(), t.clone().into_bytes(), [t.as_bytes(), b"\n", &bytes].concat()] {
            for f in [InputFormat::Jsonl, InputFormat::Csv] {
                let _ = neutral::read(std::io::Cursor::new(input.clone()), f).count();
            }
        }
    }

    #[test]
    fn tool_parsers_never_panic(t in text(), bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let lossy = String::from_utf8_lossy(&bytes).into_owned();
        for s in [t.as_str(), lossy.as_str()] {
            let _ = restic::parse(s);
            let _ = borg::parse(s, chrono_tz::UTC);
            let _ = restic::parse(&format!("[{s}]"));
            let _ = borg::parse(&format!(r#"{{"archive":{{"name":"x","id":"y","start":"{s}"}}}}"#), chrono_tz::UTC);
        }
    }

    #[test]
    fn plan_and_scalar_parsers_never_panic(t in text()) {
        let _ = parse_plan(&t, "p.toml");
        let _ = parse_plan(&format!("client = \"acme\"\nname = \"A\"\ntimezone = \"UTC\"\n[[policy]]\njob = \"j\"\nci = \"c\"\nschedule = {:?}\n", t), "p.toml");
        let _ = parse_policy_file(&t, "p.toml", "UTC");
        let _ = Schedule::parse(&t).map(|s| s.occurrences(chrono::DateTime::UNIX_EPOCH, chrono::DateTime::UNIX_EPOCH + chrono::Duration::days(3), chrono_tz::UTC));
        let _ = parse_duration(&t);
        let _ = parse_instant(&t);
        let _ = Retention::parse(&t);
    }
}
