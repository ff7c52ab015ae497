//! The service request report: requests made in a period, by station and type, with what became
//! of them and how fast they were submitted. Pure arithmetic over the requests read. No I/O.

use std::collections::BTreeMap;

use pingan_proto::grid::v1::{ServiceRequestOutcome, ServiceRequestStatus};

use super::records::Millis;
use super::service_request::ServiceRequest;

const HOUR_MS: f64 = 3_600_000.0;

/// One row of the report (or the total, with an empty station and type 0).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReportRow {
    pub station_id: String,
    pub kind: i32,
    pub opened: i64,
    pub submitted: i64,
    pub open: i64,
    pub closed_done: i64,
    pub closed_rejected: i64,
    pub closed_withdrawn: i64,
    pub overdue: i64,
    pub submitted_on_time: i64,
    pub share_submitted_on_time: f64,
    pub p50_hours_to_submit: f64,
    pub p90_hours_to_submit: f64,
}

#[derive(Default)]
struct Tally {
    row: ReportRow,
    /// Milliseconds from request to submission of each submitted request.
    to_submit: Vec<i64>,
}

impl Tally {
    fn add(&mut self, r: &ServiceRequest, now: Millis) {
        let row = &mut self.row;
        row.opened += 1;
        if let Some(at) = r.submitted_at {
            row.submitted += 1;
            self.to_submit.push(at - r.requested_at);
            if at <= r.due_at {
                row.submitted_on_time += 1;
            }
        }
        match ServiceRequestStatus::try_from(r.status) {
            Ok(ServiceRequestStatus::Open) => row.open += 1,
            Ok(ServiceRequestStatus::Closed) => match ServiceRequestOutcome::try_from(r.outcome) {
                Ok(ServiceRequestOutcome::Done) => row.closed_done += 1,
                Ok(ServiceRequestOutcome::Rejected) => row.closed_rejected += 1,
                Ok(ServiceRequestOutcome::Withdrawn) => row.closed_withdrawn += 1,
                _ => {}
            },
            _ => {}
        }
        if r.missed_deadline(now) {
            row.overdue += 1;
        }
    }

    fn finish(mut self) -> ReportRow {
        self.to_submit.sort_unstable();
        let hours = |q: f64| percentile(&self.to_submit, q).map_or(0.0, |ms| ms as f64 / HOUR_MS);
        self.row.p50_hours_to_submit = hours(0.5);
        self.row.p90_hours_to_submit = hours(0.9);
        self.row.share_submitted_on_time = if self.row.submitted == 0 {
            0.0
        } else {
            self.row.submitted_on_time as f64 / self.row.submitted as f64
        };
        self.row
    }
}

/// The nearest-rank `q` quantile of sorted values (None for none).
pub fn percentile(sorted: &[i64], q: f64) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted.get(rank.clamp(1, sorted.len()) - 1).copied()
}

/// Rows by (station, type) in that order, and the total, as of `now` (for deadlines still
/// running).
pub fn report(requests: &[ServiceRequest], now: Millis) -> (Vec<ReportRow>, ReportRow) {
    let mut groups: BTreeMap<(String, i32), Tally> = BTreeMap::new();
    let mut total = Tally::default();
    for r in requests {
        let tally = groups
            .entry((r.station_id.clone(), r.kind))
            .or_insert_with(|| Tally {
                row: ReportRow {
                    station_id: r.station_id.clone(),
                    kind: r.kind,
                    ..ReportRow::default()
                },
                to_submit: Vec::new(),
            });
        tally.add(r, now);
        total.add(r, now);
    }
    (
        groups.into_values().map(Tally::finish).collect(),
        total.finish(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: Millis = 1_767_225_600_000;
    const H: Millis = 3_600_000;

    fn request(station: &str, kind: i32, submitted_after_h: Option<i64>) -> ServiceRequest {
        ServiceRequest {
            station_id: station.into(),
            kind,
            status: if submitted_after_h.is_some() {
                ServiceRequestStatus::Submitted
            } else {
                ServiceRequestStatus::Open
            } as i32,
            requested_at: T0,
            due_at: T0 + 24 * H,
            submitted_at: submitted_after_h.map(|h| T0 + h * H),
            ..ServiceRequest::default()
        }
    }

    #[test]
    fn nearest_rank_percentiles() {
        assert_eq!(percentile(&[], 0.5), None);
        assert_eq!(percentile(&[7], 0.9), Some(7));
        let ten: Vec<i64> = (1..=10).collect();
        assert_eq!(percentile(&ten, 0.5), Some(5));
        assert_eq!(percentile(&ten, 0.9), Some(9));
        assert_eq!(percentile(&[1, 2, 3], 0.5), Some(2));
    }

    #[test]
    fn rows_by_station_and_type_with_a_total() {
        let mut closed = request("st-a", 1, Some(2));
        closed.status = ServiceRequestStatus::Closed as i32;
        closed.outcome = ServiceRequestOutcome::Done as i32;
        let list = vec![
            request("st-b", 5, None),
            closed,
            request("st-a", 1, Some(30)),
            request("st-a", 1, None),
            request("st-a", 5, Some(4)),
        ];
        let (rows, total) = report(&list, T0 + 48 * H);
        let keys: Vec<(&str, i32)> = rows
            .iter()
            .map(|r| (r.station_id.as_str(), r.kind))
            .collect();
        assert_eq!(keys, [("st-a", 1), ("st-a", 5), ("st-b", 5)]);
        let a1 = &rows[0];
        assert_eq!(
            (a1.opened, a1.submitted, a1.open, a1.closed_done, a1.overdue),
            (3, 2, 1, 1, 2)
        );
        assert_eq!(a1.submitted_on_time, 1);
        assert!((a1.share_submitted_on_time - 0.5).abs() < 1e-9);
        assert!((a1.p50_hours_to_submit - 2.0).abs() < 1e-9);
        assert!((a1.p90_hours_to_submit - 30.0).abs() < 1e-9);
        assert_eq!((total.opened, total.submitted, total.overdue), (5, 3, 3));
        assert!((total.p50_hours_to_submit - 4.0).abs() < 1e-9);
        assert_eq!(rows[2].p50_hours_to_submit, 0.0);
    }
}
