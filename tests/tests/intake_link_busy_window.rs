//! Duplicate linking in a busy window, through ReportCall against fake peers, on both backends:
//! with more live incidents elsewhere in the duplicate window than intake reads at once (200),
//! a second call about the newest of them is still linked into it. Intake used to read the
//! window's oldest 200 incidents wherever they were and judge the distance afterwards, so in a
//! busy quarter of an hour (a prefecture's peak is ~80 calls a minute) the event a caller
//! reported again could sit outside what it read, and got a second dispatch.

mod intake_support;

use std::time::Duration;

use intake_support::harness::{Harness, call};
use intake_support::{BASE_LAT, BASE_LON};
use pingan_proto::intake::v1::Outcome;
use pingan_tests::{TestBackend, backend_tests};

/// More decided incidents in the window than one read of candidates returns.
const ELSEWHERE: usize = 205;
/// Places ~600 m apart (twice the default duplicate radius), inside the fake grid's ±0.05°.
const SPACING_DEG: f64 = 0.006;
const COLUMNS: usize = 15;

fn place(n: usize) -> (f64, f64) {
    let (row, column) = (n / COLUMNS, n % COLUMNS);
    (
        BASE_LAT - 0.045 + SPACING_DEG * row as f64,
        BASE_LON - 0.045 + SPACING_DEG * column as f64,
    )
}

async fn a_call_about_the_newest_event_of_a_busy_window_is_linked(backend: TestBackend) {
    let mut h = Harness::start(backend).await;
    let mut newest = None;
    for n in 0..ELSEWHERE {
        let (lat, lon) = place(n);
        let answer = h
            .report(call(&format!("busy-{n}"), "两车相撞，路口堵了", lat, lon))
            .await;
        assert_eq!(answer.outcome, Outcome::Dispatched as i32, "call {n}");
        newest = Some((answer.incident_id, lat, lon));
        h.clock.advance(Duration::from_secs(1));
    }
    let (event, lat, lon) = newest.expect("calls were made");
    assert_eq!(h.fakes.dispatches().len(), ELSEWHERE);

    // ~110 m from the newest event, a minute later: the same crash.
    h.clock.advance(Duration::from_secs(60));
    let again = h
        .report(call("busy-again", "又有人说这里两车相撞", lat + 0.001, lon))
        .await;
    assert_eq!(again.outcome, Outcome::DuplicateLinked as i32, "{again:?}");
    assert_eq!(again.incident_id, event);
    assert_eq!(again.duplicate_of, event);
    assert_eq!(h.fakes.dispatches().len(), ELSEWHERE, "no second dispatch");
    h.shutdown().await;
}

backend_tests!(a_call_about_the_newest_event_of_a_busy_window_is_linked);
