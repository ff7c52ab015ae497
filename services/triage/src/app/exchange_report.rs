//! The command room's 12345 exchange report: the transfers recorded in the period and in the
//! previous period of the same length, read once, counted per department or category.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use pingan_platform::{ApiError, Db};

use crate::domain::transfer::{Direction, Route, Status};
use crate::store::exchange_report::{ExchangeReportStore, SqlExchangeReportStore, TransferFact};

/// Longest period a report covers.
pub const MAX_PERIOD_DAYS: i64 = 366;

/// What the rows are keyed by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupBy {
    /// The 12345 department.
    Department,
    /// The catalogue category.
    Category,
}

/// What a report covers, checked at the edge.
#[derive(Debug, Clone)]
pub struct ExchangeScope {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub group_by: GroupBy,
    /// Empty: every department.
    pub department: String,
    /// Empty: every category.
    pub category: String,
}

impl ExchangeScope {
    /// The previous period: the same length, ending at `start`.
    pub fn previous(&self) -> (DateTime<Utc>, DateTime<Utc>) {
        (self.start - (self.end - self.start), self.start)
    }
}

/// The counts of one row and period (the fields of `ExchangeCounts`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub diverted: i64,
    pub accepted: i64,
    pub handled: i64,
    pub bounced: i64,
    pub awaiting: i64,
    pub overdue: i64,
    pub received: i64,
    pub received_incidents: i64,
    pub received_complaints: i64,
    pub returned: i64,
    pub pushed_back: i64,
    pub received_overdue: i64,
}

impl Counts {
    /// Counts one transfer, its deadline judged at `as_of`.
    pub fn add(&mut self, fact: &TransferFact, as_of: DateTime<Utc>) {
        let status = Status::parse(&fact.status);
        let closed = status.is_some_and(Status::is_closed);
        let overdue = !closed && fact.deadline.is_some_and(|deadline| deadline < as_of);
        match Direction::parse(&fact.direction) {
            Some(Direction::To12345) => {
                self.diverted += 1;
                match status {
                    Some(Status::Accepted) => self.accepted += 1,
                    Some(Status::Handled) => {
                        self.accepted += 1;
                        self.handled += 1;
                    }
                    Some(Status::Bounced) => self.bounced += 1,
                    Some(Status::Pending | Status::Sent) | None => self.awaiting += 1,
                }
                self.overdue += i64::from(overdue);
            }
            Some(Direction::From12345) => {
                self.received += 1;
                let bounced = status == Some(Status::Bounced);
                match Route::parse(&fact.route) {
                    Some(Route::Complaint) => self.received_complaints += 1,
                    // Intake refused it for good: it went back to 12345.
                    Some(Route::Incident | Route::BounceBack) if bounced => self.returned += 1,
                    Some(Route::BounceBack) => {
                        self.received_incidents += 1;
                        self.pushed_back += 1;
                    }
                    Some(Route::Incident) => self.received_incidents += 1,
                    Some(Route::Return | Route::Divert) | None => self.returned += 1,
                }
                self.received_overdue += i64::from(overdue);
            }
            None => {}
        }
    }

    /// `self - previous`, field by field.
    pub fn minus(&self, previous: &Counts) -> Counts {
        Counts {
            diverted: self.diverted - previous.diverted,
            accepted: self.accepted - previous.accepted,
            handled: self.handled - previous.handled,
            bounced: self.bounced - previous.bounced,
            awaiting: self.awaiting - previous.awaiting,
            overdue: self.overdue - previous.overdue,
            received: self.received - previous.received,
            received_incidents: self.received_incidents - previous.received_incidents,
            received_complaints: self.received_complaints - previous.received_complaints,
            returned: self.returned - previous.returned,
            pushed_back: self.pushed_back - previous.pushed_back,
            received_overdue: self.received_overdue - previous.received_overdue,
        }
    }
}

/// One row: its key and the counts of the period and of the previous one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Row {
    pub key: String,
    pub current: Counts,
    pub previous: Counts,
}

/// The report: rows (most transfers first, ties by key) and the total (key "").
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    pub rows: Vec<Row>,
    pub total: Row,
}

/// Counts `facts` (of both periods) into rows keyed by `group_by`.
pub fn count(facts: &[TransferFact], scope: &ExchangeScope, as_of: DateTime<Utc>) -> Report {
    let mut rows: BTreeMap<&str, Row> = BTreeMap::new();
    let mut total = Row::default();
    for fact in facts {
        let key = match scope.group_by {
            GroupBy::Department => fact.department.as_str(),
            GroupBy::Category => fact.category.as_str(),
        };
        let row = rows.entry(key).or_insert_with(|| Row {
            key: key.to_owned(),
            ..Row::default()
        });
        if fact.created_at >= scope.start && fact.created_at < scope.end {
            row.current.add(fact, as_of);
            total.current.add(fact, as_of);
        } else {
            row.previous.add(fact, as_of);
            total.previous.add(fact, as_of);
        }
    }
    let mut rows: Vec<Row> = rows.into_values().collect();
    rows.sort_by(|a, b| {
        let volume = |r: &Row| r.current.diverted + r.current.received;
        volume(b).cmp(&volume(a)).then_with(|| a.key.cmp(&b.key))
    });
    Report { rows, total }
}

/// The report over triage's ledger at `as_of`.
pub async fn report(
    db: &Db,
    scope: &ExchangeScope,
    as_of: DateTime<Utc>,
) -> Result<Report, ApiError> {
    let (from, _) = scope.previous();
    let facts = SqlExchangeReportStore::new(db.clone())
        .transfer_facts(from, scope.end, &scope.department, &scope.category)
        .await
        .map_err(ApiError::from)?;
    Ok(count(&facts, scope, as_of))
}

/// A period's length is positive and at most [`MAX_PERIOD_DAYS`].
pub fn period_ok(start: DateTime<Utc>, end: DateTime<Utc>) -> bool {
    end > start && end - start <= Duration::days(MAX_PERIOD_DAYS)
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn at(day: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, day, 0, 0, 0)
            .single()
            .unwrap_or_default()
    }

    fn fact(
        direction: &str,
        status: &str,
        route: &str,
        department: &str,
        day: u32,
    ) -> TransferFact {
        TransferFact {
            direction: direction.into(),
            status: status.into(),
            route: route.into(),
            department: department.into(),
            category: "UTILITIES".into(),
            deadline: Some(at(day) + Duration::days(2)),
            created_at: at(day),
        }
    }

    fn scope(group_by: GroupBy) -> ExchangeScope {
        ExchangeScope {
            start: at(11),
            end: at(21),
            group_by,
            department: String::new(),
            category: String::new(),
        }
    }

    #[test]
    fn outbound_partition_and_overdue() {
        let facts = vec![
            fact("TO_12345", "PENDING", "DIVERT", "water", 12),
            fact("TO_12345", "SENT", "DIVERT", "water", 19),
            fact("TO_12345", "ACCEPTED", "DIVERT", "water", 12),
            fact("TO_12345", "HANDLED", "DIVERT", "labour", 12),
            fact("TO_12345", "BOUNCED", "DIVERT", "labour", 12),
            // The previous period.
            fact("TO_12345", "HANDLED", "DIVERT", "water", 5),
        ];
        let report = count(&facts, &scope(GroupBy::Department), at(20));
        let c = report.total.current;
        assert_eq!(
            (c.diverted, c.accepted, c.handled, c.bounced, c.awaiting),
            (5, 2, 1, 1, 2)
        );
        // Due on the 14th and open: the pending one and the accepted one; the one sent on the
        // 19th is due on the 21st; closed ones are never overdue.
        assert_eq!(c.overdue, 2);
        assert_eq!(report.total.previous.diverted, 1);
        assert_eq!(report.rows[0].key, "water");
        assert_eq!(report.rows[0].current.diverted, 3);
        assert_eq!(report.rows[0].previous.handled, 1);
        assert_eq!(report.rows[1].key, "labour");
        assert_eq!(
            report.rows[0]
                .current
                .minus(&report.rows[0].previous)
                .diverted,
            2
        );
    }

    #[test]
    fn inbound_routes() {
        let facts = vec![
            fact("FROM_12345", "ACCEPTED", "INCIDENT", "gov", 12),
            fact("FROM_12345", "BOUNCED", "INCIDENT", "gov", 12),
            fact("FROM_12345", "ACCEPTED", "COMPLAINT", "gov", 12),
            fact("FROM_12345", "BOUNCED", "RETURN", "gov", 12),
            fact("FROM_12345", "ACCEPTED", "BOUNCE_BACK", "gov", 12),
        ];
        let c = count(&facts, &scope(GroupBy::Category), at(13)).rows[0].current;
        assert_eq!(
            (
                c.received,
                c.received_incidents,
                c.received_complaints,
                c.returned,
                c.pushed_back,
                c.received_overdue
            ),
            (5, 2, 1, 2, 1, 0)
        );
    }

    #[test]
    fn periods() {
        let s = scope(GroupBy::Department);
        assert_eq!(s.previous(), (at(1), at(11)));
        assert!(period_ok(at(1), at(2)));
        assert!(!period_ok(at(2), at(1)));
        assert!(!period_ok(at(1) - Duration::days(367), at(1)));
    }
}
