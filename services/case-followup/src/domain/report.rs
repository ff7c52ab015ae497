//! FollowUpReport: mediations, revisits, satisfaction and lost-and-found of a period per
//! station, with the totals of the period and of the previous one. No I/O: the facts come from
//! the store (`app::report`), the counting is here.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, Utc};
use pingan_proto::followup::v1::{
    FollowUpFigures, LostFoundFigures, MediationFigures, MediationStatus, RevisitFigures,
    SatisfactionCount, SatisfactionFigures,
};

use super::duration;
use super::stats::{ItemFact, RevisitFact, percentile};

/// Longest period a report covers.
pub const MAX_PERIOD_DAYS: i64 = 366;

/// One mediation as the report sees it.
#[derive(Debug, Clone)]
pub struct MediationFact {
    /// Station.
    pub station_id: String,
    /// When it was opened (the period it counts in).
    pub opened_at: DateTime<Utc>,
    /// `MediationStatus`.
    pub status: i32,
}

/// One lost report as the report sees it.
#[derive(Debug, Clone)]
pub struct LostFact {
    /// Station.
    pub station_id: String,
    /// When it was registered.
    pub created_at: DateTime<Utc>,
    /// An ID card.
    pub id_card: bool,
}

/// Everything one report counts (both periods).
#[derive(Debug, Clone, Default)]
pub struct ReportFacts {
    pub mediations: Vec<MediationFact>,
    pub revisits: Vec<RevisitFact>,
    pub items: Vec<ItemFact>,
    pub lost_reports: Vec<LostFact>,
}

/// A period `[start, end)`.
pub type Span = (DateTime<Utc>, DateTime<Utc>);

/// The previous period: the same length, ending at `start`.
pub fn previous((start, end): Span) -> Span {
    (start - (end - start), start)
}

/// A period's length is positive and at most [`MAX_PERIOD_DAYS`].
pub fn period_ok((start, end): Span) -> bool {
    end > start && end - start <= Duration::days(MAX_PERIOD_DAYS)
}

fn mediations<'a>(facts: impl Iterator<Item = &'a MediationFact>) -> MediationFigures {
    let mut m = MediationFigures::default();
    for fact in facts {
        m.opened += 1;
        match MediationStatus::try_from(fact.status) {
            Ok(MediationStatus::Resolved) => m.agreed += 1,
            Ok(MediationStatus::Unresolved) => m.failed += 1,
            _ => m.open += 1,
        }
    }
    m
}

fn revisits<'a>(
    facts: impl Iterator<Item = &'a RevisitFact>,
    as_of: DateTime<Utc>,
) -> (RevisitFigures, SatisfactionFigures) {
    let mut r = RevisitFigures::default();
    let mut scores = [0_i64; 5];
    for fact in facts {
        r.due += 1;
        if fact.completed {
            if fact.completed_at.is_some_and(|done| done <= fact.due_at) {
                r.done_on_time += 1;
            } else {
                r.done_late += 1;
            }
            if let Some(slot) = usize::try_from(fact.satisfaction - 1)
                .ok()
                .and_then(|i| scores.get_mut(i))
            {
                *slot += 1;
            }
        } else if fact.unreachable {
            r.unreachable += 1;
        } else if as_of > fact.due_at {
            r.overdue += 1;
        } else {
            r.waiting += 1;
        }
    }
    let rated: i64 = scores.iter().sum();
    let sum: i64 = scores
        .iter()
        .zip(1_i64..)
        .map(|(count, score)| count * score)
        .sum();
    let satisfaction = SatisfactionFigures {
        scores: scores
            .iter()
            .zip(1_i32..)
            .map(|(count, score)| SatisfactionCount {
                score,
                count: i32::try_from(*count).unwrap_or(i32::MAX),
            })
            .collect(),
        rated,
        mean: if rated > 0 {
            sum as f64 / rated as f64
        } else {
            0.0
        },
    };
    (r, satisfaction)
}

fn lost_and_found<'a>(
    items: impl Iterator<Item = &'a ItemFact>,
    lost_reports: usize,
) -> LostFoundFigures {
    let mut f = LostFoundFigures {
        lost_reports: i64::try_from(lost_reports).unwrap_or(i64::MAX),
        ..LostFoundFigures::default()
    };
    let mut to_return = Vec::new();
    for item in items {
        f.registered += 1;
        f.matched += i64::from(item.owner_identified);
        if let Some(d) = item.time_to_return {
            f.returned += 1;
            to_return.push(d);
        }
    }
    to_return.sort();
    if let Some(median) = percentile(&to_return, 50.0) {
        f.median_to_return = Some(duration(median));
        f.median_hours_to_return =
            (median.num_milliseconds() as f64 / 3_600_000.0 * 100.0).round() / 100.0;
    }
    f
}

/// The figures of `station` (every station when `None`) over `span`, "overdue" judged at `as_of`.
pub fn figures(
    station: Option<&str>,
    (from, to): Span,
    facts: &ReportFacts,
    as_of: DateTime<Utc>,
) -> FollowUpFigures {
    let here = |s: &str| station.is_none_or(|wanted| wanted == s);
    let within = |t: DateTime<Utc>| t >= from && t < to;
    let items = || {
        facts
            .items
            .iter()
            .filter(|i| here(&i.station_id) && within(i.created_at))
    };
    let lost = || {
        facts
            .lost_reports
            .iter()
            .filter(|l| here(&l.station_id) && within(l.created_at))
    };
    let (revisit_figures, satisfaction) = revisits(
        facts
            .revisits
            .iter()
            .filter(|r| here(&r.station_id) && within(r.due_at)),
        as_of,
    );
    FollowUpFigures {
        station_id: station.unwrap_or_default().to_owned(),
        mediations: Some(mediations(
            facts
                .mediations
                .iter()
                .filter(|m| here(&m.station_id) && within(m.opened_at)),
        )),
        revisits: Some(revisit_figures),
        satisfaction: Some(satisfaction),
        lost_and_found: Some(lost_and_found(items(), lost().count())),
        id_cards: Some(lost_and_found(
            items().filter(|i| i.id_card),
            lost().filter(|l| l.id_card).count(),
        )),
    }
}

/// The stations with anything in `span`, in order.
pub fn stations((from, to): Span, facts: &ReportFacts) -> Vec<String> {
    let within = |t: DateTime<Utc>| t >= from && t < to;
    let set: BTreeSet<&str> = facts
        .mediations
        .iter()
        .filter(|m| within(m.opened_at))
        .map(|m| m.station_id.as_str())
        .chain(
            facts
                .revisits
                .iter()
                .filter(|r| within(r.due_at))
                .map(|r| r.station_id.as_str()),
        )
        .chain(
            facts
                .items
                .iter()
                .filter(|i| within(i.created_at))
                .map(|i| i.station_id.as_str()),
        )
        .chain(
            facts
                .lost_reports
                .iter()
                .filter(|l| within(l.created_at))
                .map(|l| l.station_id.as_str()),
        )
        .collect();
    set.into_iter().map(str::to_owned).collect()
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn at(day: u32, hour: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, day, hour, 0, 0)
            .single()
            .unwrap_or_default()
    }

    fn revisit(
        station: &str,
        done_hour: Option<u32>,
        unreachable: bool,
        score: i32,
    ) -> RevisitFact {
        RevisitFact {
            station_id: station.into(),
            due_at: at(12, 12),
            completed: done_hour.is_some(),
            unreachable,
            completed_at: done_hour.map(|h| at(12, h)),
            resolved: true,
            satisfaction: score,
        }
    }

    fn item(station: &str, id_card: bool, matched: bool, hours: Option<i64>) -> ItemFact {
        ItemFact {
            station_id: station.into(),
            created_at: at(12, 1),
            id_card,
            owner_identified: matched,
            time_to_contact: None,
            time_to_return: hours.map(Duration::hours),
        }
    }

    #[test]
    fn a_period_counts_each_kind_of_record() {
        let facts = ReportFacts {
            mediations: vec![
                MediationFact {
                    station_id: "st-a".into(),
                    opened_at: at(11, 1),
                    status: MediationStatus::Resolved as i32,
                },
                MediationFact {
                    station_id: "st-a".into(),
                    opened_at: at(11, 2),
                    status: MediationStatus::Unresolved as i32,
                },
                MediationFact {
                    station_id: "st-b".into(),
                    opened_at: at(11, 3),
                    status: MediationStatus::Open as i32,
                },
            ],
            revisits: vec![
                revisit("st-a", Some(10), false, 5),
                revisit("st-a", Some(14), false, 3),
                revisit("st-a", None, true, 0),
                revisit("st-b", None, false, 0),
            ],
            items: vec![
                item("st-a", true, true, Some(1)),
                item("st-a", true, true, Some(5)),
                item("st-a", false, false, None),
                item("st-b", false, true, Some(2)),
            ],
            lost_reports: vec![LostFact {
                station_id: "st-b".into(),
                created_at: at(12, 2),
                id_card: false,
            }],
        };
        let span = (at(10, 0), at(20, 0));
        let total = figures(None, span, &facts, at(13, 0));
        let m = total.mediations.unwrap_or_default();
        assert_eq!((m.opened, m.agreed, m.failed, m.open), (3, 1, 1, 1));
        let r = total.revisits.unwrap_or_default();
        assert_eq!(
            (
                r.due,
                r.done_on_time,
                r.done_late,
                r.unreachable,
                r.overdue,
                r.waiting
            ),
            (4, 1, 1, 1, 1, 0)
        );
        let s = total.satisfaction.unwrap_or_default();
        assert_eq!(s.rated, 2);
        assert_eq!(s.scores[4].count, 1);
        assert_eq!(s.scores[2].count, 1);
        assert!((s.mean - 4.0).abs() < 1e-9);
        let lf = total.lost_and_found.unwrap_or_default();
        assert_eq!(
            (lf.registered, lf.matched, lf.returned, lf.lost_reports),
            (4, 3, 3, 1)
        );
        assert_eq!(lf.median_hours_to_return, 2.0);
        let ids = total.id_cards.unwrap_or_default();
        assert_eq!((ids.registered, ids.returned, ids.lost_reports), (2, 2, 0));
        // Nearest rank of [1 h, 5 h]: rank ceil(0.5 * 2) = 1.
        assert_eq!(ids.median_hours_to_return, 1.0);
        let b = figures(Some("st-b"), span, &facts, at(11, 0));
        assert_eq!(b.revisits.unwrap_or_default().waiting, 1);
        assert_eq!(stations(span, &facts), vec!["st-a", "st-b"]);
        assert!(stations(previous(span), &facts).is_empty());
    }

    #[test]
    fn periods() {
        assert_eq!(previous((at(11, 0), at(21, 0))), (at(1, 0), at(11, 0)));
        assert!(!period_ok((at(2, 0), at(1, 0))));
        assert!(period_ok((at(1, 0), at(2, 0))));
    }
}
