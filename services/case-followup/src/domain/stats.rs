//! FollowupStats: revisit completion and on-time rates, satisfaction, lost-and-found times
//! (median, 90th percentile) per station and period. Periods follow the bureau's local calendar
//! (China Standard Time, UTC+8, no daylight saving).

use std::collections::BTreeSet;

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use pingan_platform::time::{local_date, start_of_local_day};
use pingan_proto::common::v1::TimeRange;
use pingan_proto::followup::v1::{
    FollowupStatsResponse, LostFoundStats, RevisitStats, SatisfactionCount, StationPeriodStats,
    StatsInterval,
};

use super::lostfound::CONTACT_TARGET;
use super::{duration, ts};

/// Most periods one request may ask for.
pub const MAX_PERIODS: usize = 400;

/// One revisit as statistics see it.
#[derive(Debug, Clone)]
pub struct RevisitFact {
    /// Station.
    pub station_id: String,
    /// Due time (the period it counts in).
    pub due_at: DateTime<Utc>,
    /// Completed (person reached).
    pub completed: bool,
    /// Closed as unreachable.
    pub unreachable: bool,
    /// When concluded.
    pub completed_at: Option<DateTime<Utc>>,
    /// The person said the issue is resolved.
    pub resolved: bool,
    /// 1..5, 0 when not rated.
    pub satisfaction: i32,
}

/// One found item as statistics see it.
#[derive(Debug, Clone)]
pub struct ItemFact {
    /// Custody station.
    pub station_id: String,
    /// Registration time.
    pub created_at: DateTime<Utc>,
    /// An ID card.
    pub id_card: bool,
    /// Owner identified.
    pub owner_identified: bool,
    /// Time from registration to owner contacted.
    pub time_to_contact: Option<Duration>,
    /// Time from registration to return.
    pub time_to_return: Option<Duration>,
}

/// A record counted by station and creation time (lost reports, mediations).
#[derive(Debug, Clone)]
pub struct CountFact {
    /// Station.
    pub station_id: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// Mediations: resolved.
    pub resolved: bool,
}

/// Everything counted in one request.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    /// Revisits due in the range.
    pub revisits: Vec<RevisitFact>,
    /// Items registered in the range.
    pub items: Vec<ItemFact>,
    /// Lost reports registered in the range.
    pub lost_reports: Vec<CountFact>,
    /// Mediations opened in the range.
    pub mediations: Vec<CountFact>,
}

/// The start of the period after the one containing `at`.
fn next_boundary(at: DateTime<Utc>, interval: StatsInterval) -> Option<DateTime<Utc>> {
    let date = local_date(at);
    let next = match interval {
        StatsInterval::Day => date.succ_opt()?,
        StatsInterval::Week => {
            date + Duration::days(7 - i64::from(date.weekday().num_days_from_monday()))
        }
        StatsInterval::Month => {
            let (year, month) = if date.month() == 12 {
                (date.year() + 1, 1)
            } else {
                (date.year(), date.month() + 1)
            };
            NaiveDate::from_ymd_opt(year, month, 1)?
        }
        StatsInterval::WholeRange | StatsInterval::Unspecified => return None,
    };
    Some(start_of_local_day(next))
}

/// Splits `[start, end)` into periods; `None` when there would be more than [`MAX_PERIODS`].
pub fn periods(
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    interval: StatsInterval,
) -> Option<Vec<(DateTime<Utc>, DateTime<Utc>)>> {
    let mut out = Vec::new();
    let mut from = start;
    while from < end {
        let to = next_boundary(from, interval).map_or(end, |b| b.min(end));
        out.push((from, to));
        if out.len() > MAX_PERIODS {
            return None;
        }
        from = to;
    }
    Some(out)
}

/// Nearest-rank percentile of sorted durations.
pub fn percentile(sorted: &[Duration], p: f64) -> Option<Duration> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted.get(rank.clamp(1, sorted.len()) - 1).copied()
}

fn revisit_stats<'a>(
    facts: impl Iterator<Item = &'a RevisitFact>,
    now: DateTime<Utc>,
) -> RevisitStats {
    let mut stats = RevisitStats::default();
    let mut scores = [0_i32; 5];
    for fact in facts {
        stats.due += 1;
        if fact.completed {
            stats.completed += 1;
            if fact.completed_at.is_some_and(|done| done <= fact.due_at) {
                stats.completed_on_time += 1;
            }
            if fact.resolved {
                stats.resolved += 1;
            }
            if (1..=5).contains(&fact.satisfaction) {
                scores[(fact.satisfaction - 1) as usize] += 1;
            }
        } else if fact.unreachable {
            stats.unreachable += 1;
        } else if now > fact.due_at {
            stats.overdue_open += 1;
        }
    }
    if stats.due > 0 {
        stats.completion_rate = f64::from(stats.completed) / f64::from(stats.due);
        stats.on_time_rate = f64::from(stats.completed_on_time) / f64::from(stats.due);
    }
    let rated: i32 = scores.iter().sum();
    if rated > 0 {
        let total: i32 = scores
            .iter()
            .enumerate()
            .map(|(i, n)| (i as i32 + 1) * n)
            .sum();
        stats.satisfaction_mean = f64::from(total) / f64::from(rated);
    }
    stats.satisfaction = scores
        .iter()
        .enumerate()
        .map(|(i, count)| SatisfactionCount {
            score: i as i32 + 1,
            count: *count,
        })
        .collect();
    stats
}

fn lost_found_stats<'a>(
    items: impl Iterator<Item = &'a ItemFact>,
    lost_reports: usize,
) -> LostFoundStats {
    let mut stats = LostFoundStats {
        lost_reports: i32::try_from(lost_reports).unwrap_or(i32::MAX),
        contact_target: Some(duration(CONTACT_TARGET)),
        ..LostFoundStats::default()
    };
    let mut to_contact = Vec::new();
    let mut to_return = Vec::new();
    for item in items {
        stats.found_items += 1;
        stats.id_cards += i32::from(item.id_card);
        stats.owners_identified += i32::from(item.owner_identified);
        if let Some(d) = item.time_to_contact {
            stats.owners_contacted += 1;
            stats.contacted_within_target += i32::from(d <= CONTACT_TARGET);
            to_contact.push(d);
        }
        if let Some(d) = item.time_to_return {
            stats.returned += 1;
            to_return.push(d);
        }
    }
    to_contact.sort();
    to_return.sort();
    stats.time_to_contact_median = percentile(&to_contact, 50.0).map(duration);
    stats.time_to_contact_p90 = percentile(&to_contact, 90.0).map(duration);
    stats.time_to_return_median = percentile(&to_return, 50.0).map(duration);
    stats.time_to_return_p90 = percentile(&to_return, 90.0).map(duration);
    stats
}

fn row(
    station: Option<&str>,
    (from, to): (DateTime<Utc>, DateTime<Utc>),
    facts: &Facts,
    now: DateTime<Utc>,
) -> StationPeriodStats {
    let at_station = |s: &str| station.is_none_or(|wanted| wanted == s);
    let within = |t: DateTime<Utc>| t >= from && t < to;
    let mediations: Vec<&CountFact> = facts
        .mediations
        .iter()
        .filter(|m| at_station(&m.station_id) && within(m.created_at))
        .collect();
    StationPeriodStats {
        station_id: station.unwrap_or_default().to_owned(),
        period: Some(TimeRange {
            start: Some(ts(from)),
            end: Some(ts(to)),
        }),
        revisits: Some(revisit_stats(
            facts
                .revisits
                .iter()
                .filter(|r| at_station(&r.station_id) && within(r.due_at)),
            now,
        )),
        lost_and_found: Some(lost_found_stats(
            facts
                .items
                .iter()
                .filter(|i| at_station(&i.station_id) && within(i.created_at)),
            facts
                .lost_reports
                .iter()
                .filter(|l| at_station(&l.station_id) && within(l.created_at))
                .count(),
        )),
        mediations_opened: i32::try_from(mediations.len()).unwrap_or(i32::MAX),
        mediations_resolved: i32::try_from(mediations.iter().filter(|m| m.resolved).count())
            .unwrap_or(i32::MAX),
    }
}

/// The response: one row per station and period (stations in order), and the totals.
/// `stations` empty: every station present in the facts.
pub fn build(
    stations: &[String],
    periods: &[(DateTime<Utc>, DateTime<Utc>)],
    facts: &Facts,
    now: DateTime<Utc>,
) -> FollowupStatsResponse {
    let stations: BTreeSet<String> = if stations.is_empty() {
        facts
            .revisits
            .iter()
            .map(|r| r.station_id.clone())
            .chain(facts.items.iter().map(|i| i.station_id.clone()))
            .chain(facts.lost_reports.iter().map(|l| l.station_id.clone()))
            .chain(facts.mediations.iter().map(|m| m.station_id.clone()))
            .collect()
    } else {
        stations.iter().cloned().collect()
    };
    let rows = stations
        .iter()
        .flat_map(|station| periods.iter().map(|p| row(Some(station), *p, facts, now)))
        .collect();
    let whole = (
        periods.first().map_or(now, |p| p.0),
        periods.last().map_or(now, |p| p.1),
    );
    FollowupStatsResponse {
        rows,
        totals: Some(row(None, whole, facts, now)),
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn at(day: u32, hour: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, day, hour, 0, 0)
            .single()
            .expect("time")
    }

    #[test]
    fn days_follow_china_standard_time() {
        let p = periods(at(1, 0), at(3, 0), StatsInterval::Day).expect("periods");
        // 2026-11-01 00:00 UTC is 08:00 local; the local day ends at 16:00 UTC.
        assert_eq!(p[0], (at(1, 0), at(1, 16)));
        assert_eq!(p[1], (at(1, 16), at(2, 16)));
        assert_eq!(p.last().expect("last").1, at(3, 0));
        assert_eq!(
            periods(at(1, 0), at(3, 0), StatsInterval::WholeRange)
                .expect("whole")
                .len(),
            1
        );
    }

    #[test]
    fn percentiles_use_nearest_rank() {
        let values: Vec<Duration> = (1..=10).map(Duration::minutes).collect();
        assert_eq!(percentile(&values, 50.0), Some(Duration::minutes(5)));
        assert_eq!(percentile(&values, 90.0), Some(Duration::minutes(9)));
        assert_eq!(percentile(&[], 50.0), None);
    }

    #[test]
    fn rates_and_distribution_are_computed_per_station() {
        let fact =
            |station: &str, completed: bool, satisfaction: i32, done_hour: u32| RevisitFact {
                station_id: station.into(),
                due_at: at(2, 12),
                completed,
                unreachable: false,
                completed_at: completed.then(|| at(2, done_hour)),
                resolved: completed,
                satisfaction,
            };
        let facts = Facts {
            revisits: vec![
                fact("st-a", true, 5, 10),
                fact("st-a", true, 4, 14),
                fact("st-a", false, 0, 0),
                fact("st-b", true, 3, 9),
            ],
            items: vec![ItemFact {
                station_id: "st-a".into(),
                created_at: at(2, 1),
                id_card: true,
                owner_identified: true,
                time_to_contact: Some(Duration::minutes(6)),
                time_to_return: Some(Duration::minutes(40)),
            }],
            ..Facts::default()
        };
        let p = periods(at(1, 0), at(5, 0), StatsInterval::WholeRange).expect("periods");
        let response = build(&[], &p, &facts, at(4, 0));
        assert_eq!(response.rows.len(), 2);
        let a = response.rows[0].revisits.clone().expect("revisits");
        assert_eq!(
            (a.due, a.completed, a.completed_on_time, a.overdue_open),
            (3, 2, 1, 1)
        );
        assert!((a.completion_rate - 2.0 / 3.0).abs() < 1e-9);
        assert_eq!(a.satisfaction[4].count, 1);
        assert!((a.satisfaction_mean - 4.5).abs() < 1e-9);
        let lf = response.rows[0].lost_and_found.expect("lf");
        assert_eq!(
            (lf.found_items, lf.contacted_within_target, lf.returned),
            (1, 1, 1)
        );
        let totals = response.totals.expect("totals").revisits.expect("revisits");
        assert_eq!(totals.due, 4);
    }
}
