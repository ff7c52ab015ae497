//! Drone statistics: totals over a period, per unit and per calendar bucket (Asia/Shanghai).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, Offset, TimeZone, Utc};
use pingan_proto::dispatch::v1::{DroneTotals, Flight, StatsInterval};

use crate::domain;
use pingan_platform::time::from_timestamp;

/// Totals being summed.
#[derive(Debug, Default, Clone)]
pub struct Sum {
    distance_m: f64,
    time: Duration,
    missions: i64,
    dispatches: BTreeSet<String>,
}

impl Sum {
    /// Adds one flight.
    pub fn add(&mut self, flight: &Flight) {
        self.distance_m += flight.distance_m;
        self.time += flight
            .duration
            .as_ref()
            .and_then(domain::from_duration)
            .unwrap_or_default();
        self.missions += 1;
        if !flight.dispatch_id.is_empty() {
            self.dispatches.insert(flight.dispatch_id.clone());
        }
    }

    /// As the API reports it.
    pub fn totals(&self) -> DroneTotals {
        DroneTotals {
            distance_m: self.distance_m,
            flight_time: Some(domain::duration(self.time)),
            missions: self.missions,
            dispatches: i64::try_from(self.dispatches.len()).unwrap_or(i64::MAX),
        }
    }
}

fn shanghai() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).unwrap_or(Utc.fix())
}

fn local_midnight(date: NaiveDate) -> DateTime<Utc> {
    let naive = date.and_hms_opt(0, 0, 0).unwrap_or_default();
    shanghai()
        .from_local_datetime(&naive)
        .single()
        .map(|d| d.with_timezone(&Utc))
        .unwrap_or_default()
}

/// The bucket `[start, end)` containing `at`.
pub fn bucket(
    at: DateTime<Utc>,
    interval: StatsInterval,
) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    let date = at.with_timezone(&shanghai()).date_naive();
    let (start, end) = match interval {
        StatsInterval::Unspecified => return None,
        StatsInterval::Day => (date, date.succ_opt()?),
        StatsInterval::Week => {
            let monday =
                date - chrono::Duration::days(i64::from(date.weekday().num_days_from_monday()));
            (monday, monday + chrono::Duration::days(7))
        }
        StatsInterval::Month => {
            let first = date.with_day(1)?;
            let next = if first.month() == 12 {
                NaiveDate::from_ymd_opt(first.year() + 1, 1, 1)?
            } else {
                NaiveDate::from_ymd_opt(first.year(), first.month() + 1, 1)?
            };
            (first, next)
        }
    };
    Some((local_midnight(start), local_midnight(end)))
}

/// Sums flights per bucket, in time order (buckets without flights are left out).
pub fn buckets(
    flights: &[&Flight],
    interval: StatsInterval,
) -> Vec<(DateTime<Utc>, DateTime<Utc>, Sum)> {
    let mut sums: BTreeMap<(DateTime<Utc>, DateTime<Utc>), Sum> = BTreeMap::new();
    for flight in flights {
        let Some(started) = flight.started_at.as_ref().and_then(from_timestamp) else {
            continue;
        };
        if let Some(key) = bucket(started, interval) {
            sums.entry(key).or_default().add(flight);
        }
    }
    sums.into_iter().map(|((s, e), sum)| (s, e, sum)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_follow_beijing_time() {
        // 2026-03-01 23:30 Beijing time is 15:30 UTC the same day.
        let at = Utc
            .with_ymd_and_hms(2026, 3, 1, 15, 30, 0)
            .single()
            .unwrap_or_default();
        let (start, end) = bucket(at, StatsInterval::Day).unwrap_or_default();
        assert_eq!(
            start,
            Utc.with_ymd_and_hms(2026, 2, 28, 16, 0, 0)
                .single()
                .unwrap_or_default()
        );
        assert_eq!(end - start, chrono::Duration::days(1));
        // 16:30 UTC is already the next day in Beijing.
        let later = Utc
            .with_ymd_and_hms(2026, 3, 1, 16, 30, 0)
            .single()
            .unwrap_or_default();
        assert_eq!(bucket(later, StatsInterval::Day).map(|b| b.0), Some(end));
    }

    #[test]
    fn weeks_start_on_monday_and_months_on_the_first() {
        let at = Utc
            .with_ymd_and_hms(2026, 12, 17, 4, 0, 0)
            .single()
            .unwrap_or_default(); // Thursday
        let (start, end) = bucket(at, StatsInterval::Week).unwrap_or_default();
        assert_eq!(
            start.with_timezone(&shanghai()).weekday(),
            chrono::Weekday::Mon
        );
        assert_eq!(end - start, chrono::Duration::days(7));
        let (start, end) = bucket(at, StatsInterval::Month).unwrap_or_default();
        assert_eq!(start.with_timezone(&shanghai()).day(), 1);
        assert_eq!(end.with_timezone(&shanghai()).month(), 1);
    }

    #[test]
    fn sums_count_missions_distance_time_and_dispatches() {
        let flight = |d: &str, m: f64, s: i64| Flight {
            dispatch_id: d.to_owned(),
            distance_m: m,
            duration: Some(prost_types::Duration {
                seconds: s,
                nanos: 0,
            }),
            ..Flight::default()
        };
        let mut sum = Sum::default();
        for f in [
            flight("d1", 1000.0, 60),
            flight("d1", 500.0, 30),
            flight("", 2000.0, 90),
        ] {
            sum.add(&f);
        }
        let totals = sum.totals();
        assert_eq!(totals.missions, 3);
        assert_eq!(totals.dispatches, 1);
        assert!((totals.distance_m - 3500.0).abs() < 1e-9);
        assert_eq!(totals.flight_time.map(|d| d.seconds), Some(180));
    }
}
