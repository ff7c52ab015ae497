//! The command room's response-time analysis, without I/O: percentiles (nearest rank), the
//! rows per station and priority, and the dispatches over the target.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};

/// The target when the request names none: a unit on scene within 5 minutes.
pub const DEFAULT_TARGET_SECS: i64 = 300;

/// One dispatch's clocks, as the analysis reads them.
#[derive(Debug, Clone, PartialEq)]
pub struct ResponseClocks {
    pub dispatch_id: String,
    pub incident_id: String,
    pub station_id: String,
    pub priority: i32,
    /// When the call rang (the dispatch's opening when intake did not say).
    pub rang_at: DateTime<Utc>,
    /// The first unit assigned.
    pub assigned_at: Option<DateTime<Utc>>,
    /// The first unit on scene.
    pub on_scene_at: Option<DateTime<Utc>>,
}

/// The `p`-th percentile (0 < p <= 100) of `sorted` by nearest rank: the value at rank
/// ceil(p / 100 * n); None for no values.
pub fn percentile(sorted: &[Duration], p: u32) -> Option<Duration> {
    if sorted.is_empty() {
        return None;
    }
    let n = sorted.len();
    let rank = (u64::from(p) * n as u64).div_ceil(100).max(1);
    let index = usize::try_from(rank).unwrap_or(n).min(n) - 1;
    sorted.get(index).copied()
}

/// Percentiles and target share of one measure.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Measure {
    pub count: i64,
    pub p50: Option<Duration>,
    pub p90: Option<Duration>,
    pub within_target: i64,
    pub share_within_target: f64,
}

fn measure(mut values: Vec<Duration>, rows: i64, target: Duration) -> Measure {
    values.sort();
    let within = values.iter().filter(|d| **d <= target).count() as i64;
    Measure {
        count: values.len() as i64,
        p50: percentile(&values, 50),
        p90: percentile(&values, 90),
        within_target: within,
        share_within_target: if rows == 0 {
            0.0
        } else {
            within as f64 / rows as f64
        },
    }
}

/// One row of the report.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// "" for the row over every station.
    pub station_id: String,
    pub priority: i32,
    pub dispatches: i64,
    pub ring_to_assigned: Measure,
    pub ring_to_on_scene: Measure,
    pub breaches: i64,
}

/// A dispatch over the target.
#[derive(Debug, Clone, PartialEq)]
pub struct Breach {
    pub clocks: ResponseClocks,
    pub ring_to_assigned: Option<Duration>,
    pub ring_to_on_scene: Option<Duration>,
    pub over_by: Duration,
}

/// The over-target time of a dispatch at `now`: on scene later than the target, or not on
/// scene while the target has passed; None when within.
pub fn over_target(c: &ResponseClocks, target: Duration, now: DateTime<Utc>) -> Option<Duration> {
    let reached = match c.on_scene_at {
        Some(at) => at - c.rang_at,
        None => now - c.rang_at,
    };
    (reached > target).then(|| reached - target)
}

/// The rows (per station and priority, then per priority over all stations) and the
/// breaches (longest over first, ties by dispatch id).
pub fn report(
    clocks: &[ResponseClocks],
    target: Duration,
    now: DateTime<Utc>,
) -> (Vec<Row>, Vec<Breach>) {
    let mut groups: BTreeMap<(String, i32), Vec<&ResponseClocks>> = BTreeMap::new();
    let mut all: BTreeMap<i32, Vec<&ResponseClocks>> = BTreeMap::new();
    for c in clocks {
        groups
            .entry((c.station_id.clone(), c.priority))
            .or_default()
            .push(c);
        all.entry(c.priority).or_default().push(c);
    }
    let row = |station: &str, priority: i32, members: &[&ResponseClocks]| {
        let n = members.len() as i64;
        let assigned = members
            .iter()
            .filter_map(|c| c.assigned_at.map(|a| a - c.rang_at))
            .collect();
        let on_scene = members
            .iter()
            .filter_map(|c| c.on_scene_at.map(|a| a - c.rang_at))
            .collect();
        Row {
            station_id: station.to_owned(),
            priority,
            dispatches: n,
            ring_to_assigned: measure(assigned, n, target),
            ring_to_on_scene: measure(on_scene, n, target),
            breaches: members
                .iter()
                .filter(|c| over_target(c, target, now).is_some())
                .count() as i64,
        }
    };
    let mut rows: Vec<Row> = groups
        .iter()
        .map(|((station, priority), members)| row(station, *priority, members))
        .collect();
    rows.extend(
        all.iter()
            .map(|(priority, members)| row("", *priority, members)),
    );
    let mut breaches: Vec<Breach> = clocks
        .iter()
        .filter_map(|c| {
            over_target(c, target, now).map(|over_by| Breach {
                clocks: c.clone(),
                ring_to_assigned: c.assigned_at.map(|a| a - c.rang_at),
                ring_to_on_scene: c.on_scene_at.map(|a| a - c.rang_at),
                over_by,
            })
        })
        .collect();
    breaches.sort_by(|a, b| {
        b.over_by
            .cmp(&a.over_by)
            .then_with(|| a.clocks.dispatch_id.cmp(&b.clocks.dispatch_id))
    });
    (rows, breaches)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn secs(values: &[i64]) -> Vec<Duration> {
        values.iter().map(|s| Duration::seconds(*s)).collect()
    }

    #[test]
    fn percentiles_take_the_nearest_rank() {
        assert_eq!(percentile(&[], 50), None);
        let one = secs(&[42]);
        assert_eq!(percentile(&one, 50), Some(Duration::seconds(42)));
        assert_eq!(percentile(&one, 90), Some(Duration::seconds(42)));
        let ten = secs(&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
        assert_eq!(percentile(&ten, 50), Some(Duration::seconds(5)));
        assert_eq!(percentile(&ten, 90), Some(Duration::seconds(9)));
        assert_eq!(percentile(&ten, 100), Some(Duration::seconds(10)));
        let eleven = secs(&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
        // ceil(0.5 * 11) = 6, ceil(0.9 * 11) = 10.
        assert_eq!(percentile(&eleven, 50), Some(Duration::seconds(6)));
        assert_eq!(percentile(&eleven, 90), Some(Duration::seconds(10)));
    }

    fn clocks(
        id: &str,
        station: &str,
        priority: i32,
        assigned: Option<i64>,
        on_scene: Option<i64>,
    ) -> ResponseClocks {
        let rang = Utc
            .with_ymd_and_hms(2026, 11, 3, 2, 0, 0)
            .single()
            .expect("time");
        ResponseClocks {
            dispatch_id: id.into(),
            incident_id: format!("i-{id}"),
            station_id: station.into(),
            priority,
            rang_at: rang,
            assigned_at: assigned.map(|s| rang + Duration::seconds(s)),
            on_scene_at: on_scene.map(|s| rang + Duration::seconds(s)),
        }
    }

    #[test]
    fn rows_per_station_and_priority_with_breaches() {
        let all = vec![
            clocks("a", "s1", 1, Some(60), Some(240)),
            clocks("b", "s1", 1, Some(90), Some(420)),
            clocks("c", "s1", 1, None, None),
            clocks("d", "s2", 1, Some(30), Some(300)),
            clocks("e", "s2", 3, Some(600), Some(1200)),
        ];
        let now = all[0].rang_at + Duration::hours(1);
        let (rows, breaches) = report(&all, Duration::seconds(300), now);
        assert_eq!(rows.len(), 5);
        let s1 = &rows[0];
        assert_eq!(
            (s1.station_id.as_str(), s1.priority, s1.dispatches),
            ("s1", 1, 3)
        );
        assert_eq!(s1.ring_to_assigned.count, 2);
        assert_eq!(s1.ring_to_assigned.p50, Some(Duration::seconds(60)));
        assert_eq!(s1.ring_to_assigned.within_target, 2);
        assert!((s1.ring_to_assigned.share_within_target - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(s1.ring_to_on_scene.p90, Some(Duration::seconds(420)));
        assert_eq!(s1.ring_to_on_scene.within_target, 1);
        assert_eq!(s1.breaches, 2);
        // 300 s exactly is within the target.
        assert_eq!(rows[1].breaches, 0);
        let p1_all = &rows[3];
        assert_eq!(
            (
                p1_all.station_id.as_str(),
                p1_all.priority,
                p1_all.dispatches
            ),
            ("", 1, 4)
        );
        assert_eq!(p1_all.breaches, 2);
        assert_eq!(rows[4].priority, 3);
        // Longest over first: c (never on scene, an hour) then e (900 s over) then b (120 s).
        let ids: Vec<&str> = breaches
            .iter()
            .map(|b| b.clocks.dispatch_id.as_str())
            .collect();
        assert_eq!(ids, ["c", "e", "b"]);
        assert_eq!(breaches[0].over_by, Duration::seconds(3300));
        assert_eq!(breaches[2].over_by, Duration::seconds(120));
        assert_eq!(breaches[2].ring_to_assigned, Some(Duration::seconds(90)));
    }
}
