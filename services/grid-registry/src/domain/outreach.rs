//! Outreach statistics: rows per grid x topic x bucket, totals per topic and per grid.

use std::collections::BTreeMap;

use chrono::{Datelike, Duration, NaiveDate};
use pingan_platform::time;
use pingan_proto::grid::v1::StatsInterval;

use super::records::{Millis, Outreach};

/// One statistics row; `topic` 0 and empty `grid_id` mean "all".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatsRow {
    pub grid_id: String,
    pub topic: i32,
    pub period: Option<(Millis, Millis)>,
    pub events: i64,
    pub audience: i64,
}

/// The statistics of a set of events.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    pub rows: Vec<StatsRow>,
    pub topic_totals: Vec<StatsRow>,
    pub grid_totals: Vec<StatsRow>,
    pub total_events: i64,
    pub total_audience: i64,
}

fn start_of(date: NaiveDate) -> Millis {
    time::start_of_local_day(date).timestamp_millis()
}

/// The bucket containing `at`, as [start, end) in epoch milliseconds.
pub fn bucket(at: Millis, interval: StatsInterval) -> Option<(Millis, Millis)> {
    let day = time::local_date(time::from_millis(at)?);
    let (start, end) = match interval {
        StatsInterval::Unspecified => return None,
        StatsInterval::Day => (day, day + Duration::days(1)),
        StatsInterval::Week => {
            let monday = day - Duration::days(i64::from(day.weekday().num_days_from_monday()));
            (monday, monday + Duration::days(7))
        }
        StatsInterval::Month => {
            let first = day.with_day(1)?;
            let next = if first.month() == 12 {
                NaiveDate::from_ymd_opt(first.year() + 1, 1, 1)?
            } else {
                NaiveDate::from_ymd_opt(first.year(), first.month() + 1, 1)?
            };
            (first, next)
        }
    };
    Some((start_of(start), start_of(end)))
}

/// Grid, topic and bucket of a row.
type RowKey = (String, i32, Option<(Millis, Millis)>);

/// Aggregates events already filtered by period, grids and station; `topics` filters topics.
pub fn aggregate(events: &[Outreach], topics: &[i32], interval: StatsInterval) -> Stats {
    let wanted = |t: &i32| topics.is_empty() || topics.contains(t);
    let mut rows: BTreeMap<RowKey, (i64, i64)> = BTreeMap::new();
    let mut by_topic: BTreeMap<i32, (i64, i64)> = BTreeMap::new();
    let mut by_grid: BTreeMap<String, (i64, i64)> = BTreeMap::new();
    let mut stats = Stats::default();
    for event in events {
        let matching: Vec<i32> = event.topics.iter().copied().filter(wanted).collect();
        if matching.is_empty() {
            continue;
        }
        let audience = i64::from(event.audience_size);
        let period = bucket(event.held_at, interval);
        for topic in &matching {
            let row = rows
                .entry((event.grid_id.clone(), *topic, period))
                .or_default();
            row.0 += 1;
            row.1 += audience;
            let total = by_topic.entry(*topic).or_default();
            total.0 += 1;
            total.1 += audience;
        }
        let grid = by_grid.entry(event.grid_id.clone()).or_default();
        grid.0 += 1;
        grid.1 += audience;
        stats.total_events += 1;
        stats.total_audience += audience;
    }
    stats.rows = rows
        .into_iter()
        .map(|((grid_id, topic, period), (events, audience))| StatsRow {
            grid_id,
            topic,
            period,
            events,
            audience,
        })
        .collect();
    stats.topic_totals = by_topic
        .into_iter()
        .map(|(topic, (events, audience))| StatsRow {
            topic,
            events,
            audience,
            ..StatsRow::default()
        })
        .collect();
    stats.grid_totals = by_grid
        .into_iter()
        .map(|(grid_id, (events, audience))| StatsRow {
            grid_id,
            events,
            audience,
            ..StatsRow::default()
        })
        .collect();
    stats
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(grid: &str, topics: &[i32], at: Millis, audience: i32) -> Outreach {
        Outreach {
            grid_id: grid.into(),
            topics: topics.to_vec(),
            held_at: at,
            audience_size: audience,
            ..Outreach::default()
        }
    }

    #[test]
    fn events_with_two_topics_count_under_each_but_once_in_totals() {
        let events = vec![
            event("g1", &[1, 3], 0, 40),
            event("g1", &[1], 1_000, 10),
            event("g2", &[2], 2_000, 5),
        ];
        let stats = aggregate(&events, &[], StatsInterval::Unspecified);
        assert_eq!(stats.total_events, 3);
        assert_eq!(stats.total_audience, 55);
        let anti_fraud = stats
            .topic_totals
            .iter()
            .find(|r| r.topic == 1)
            .expect("topic 1");
        assert_eq!((anti_fraud.events, anti_fraud.audience), (2, 50));
        let g1 = stats
            .grid_totals
            .iter()
            .find(|r| r.grid_id == "g1")
            .expect("g1");
        assert_eq!((g1.events, g1.audience), (2, 50));
        assert_eq!(stats.rows.len(), 3);
        let only_drug = aggregate(&events, &[2], StatsInterval::Unspecified);
        assert_eq!(only_drug.total_events, 1);
    }

    #[test]
    fn buckets_follow_the_beijing_calendar() {
        // 2025-01-01T16:30Z is 2025-01-02 00:30 in Beijing.
        let at = 1_735_749_000_000;
        let (start, end) = bucket(at, StatsInterval::Day).expect("day");
        assert_eq!(end - start, 86_400_000);
        assert_eq!(start, 1_735_747_200_000);
        let (mstart, mend) = bucket(at, StatsInterval::Month).expect("month");
        assert_eq!(mstart, 1_735_660_800_000);
        assert_eq!(mend - mstart, 31 * 86_400_000);
        let (wstart, wend) = bucket(at, StatsInterval::Week).expect("week");
        assert_eq!(wend - wstart, 7 * 86_400_000);
        assert!(wstart <= at && at < wend);
    }
}
