//! The complaint backlog the command-room board reads: open complaints by status, and the
//! deadlines still running by stage (overdue, or due within a day). Recounted from the store at
//! start and every half minute; every series exists at zero from the start.

use std::sync::{Arc, LazyLock};
use std::time::Duration;

use chrono::{DateTime, Utc};
use pingan_platform::ApiError;
use pingan_platform::metrics::register;
use pingan_platform::service::Worker;
use pingan_proto::audit::v1::ComplaintStatus;
use prometheus::{IntGaugeVec, Opts};

use crate::app::Core;
use crate::domain::records::ComplaintRow;
use crate::store::ListFilter;

/// How often the backlog is recounted.
const BACKLOG_EVERY: Duration = Duration::from_secs(30);
/// Rows read per page while counting.
const PAGE: i64 = 500;

/// The statuses of a complaint not closed yet.
const OPEN: [ComplaintStatus; 4] = [
    ComplaintStatus::Received,
    ComplaintStatus::PreliminaryCheck,
    ComplaintStatus::UnderInvestigation,
    ComplaintStatus::FindingProposed,
];
/// The deadlines of a complaint, in order.
pub const DEADLINES: [&str; 3] = ["receipt", "preliminary", "investigation"];
/// What a running deadline is counted as.
pub const STATES: [&str; 2] = ["overdue", "due_24h"];

static OPEN_COMPLAINTS: LazyLock<Option<IntGaugeVec>> = LazyLock::new(|| {
    register(IntGaugeVec::new(
        Opts::new("pingan_complaints_open", "Complaints not closed, by status"),
        &["status"],
    ))
});

static DEADLINES_RUNNING: LazyLock<Option<IntGaugeVec>> = LazyLock::new(|| {
    register(IntGaugeVec::new(
        Opts::new(
            "pingan_complaints_deadlines",
            "Deadlines of open complaints not met yet, by stage (receipt, preliminary, investigation) and state (overdue, due_24h: due within 24 hours)",
        ),
        &["deadline", "state"],
    ))
});

fn status_label(status: ComplaintStatus) -> String {
    status
        .as_str_name()
        .trim_start_matches("COMPLAINT_STATUS_")
        .to_ascii_lowercase()
}

/// The backlog at `now`: open complaints per status of [`OPEN`], and running deadlines per
/// ([`DEADLINES`] × [`STATES`]).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Backlog {
    /// Counts in the order of [`OPEN`].
    pub open: [i64; 4],
    /// `[deadline][state]`.
    pub deadlines: [[i64; 2]; 3],
}

impl Backlog {
    /// Adds one open complaint.
    pub fn add(&mut self, row: &ComplaintRow, now: DateTime<Utc>) {
        if let Some(i) = OPEN.iter().position(|s| s.as_str_name() == row.status) {
            self.open[i] += 1;
        }
        let running = [
            (row.receipt_due_at, row.receipt_met_at),
            (row.preliminary_due_at, row.preliminary_met_at),
            (row.investigation_due_at, row.investigation_met_at),
        ];
        for (i, (due, met)) in running.into_iter().enumerate() {
            if met.is_some() {
                continue;
            }
            if due < now {
                self.deadlines[i][0] += 1;
            } else if due < now + chrono::Duration::hours(24) {
                self.deadlines[i][1] += 1;
            }
        }
    }

    /// Sets the gauges.
    pub fn publish(&self) {
        if let Some(gauge) = OPEN_COMPLAINTS.as_ref() {
            for (status, n) in OPEN.iter().zip(self.open) {
                gauge.with_label_values(&[&status_label(*status)]).set(n);
            }
        }
        if let Some(gauge) = DEADLINES_RUNNING.as_ref() {
            for (deadline, counts) in DEADLINES.iter().zip(self.deadlines) {
                for (state, n) in STATES.iter().zip(counts) {
                    gauge.with_label_values(&[deadline, state]).set(n);
                }
            }
        }
    }
}

/// Counts the open complaints in the store.
pub async fn refresh_backlog(core: &Core) -> Result<Backlog, ApiError> {
    let now = core.now();
    let statuses = format!(
        ",{},",
        OPEN.iter()
            .map(|s| s.as_str_name())
            .collect::<Vec<_>>()
            .join(",")
    );
    let mut backlog = Backlog::default();
    let mut filter = ListFilter {
        statuses,
        limit: PAGE,
        ..ListFilter::default()
    };
    loop {
        let rows = core.store.list_complaints(&filter).await?;
        for row in &rows {
            backlog.add(row, now);
        }
        match rows.last() {
            Some(last) if rows.len() as i64 == PAGE => {
                filter.after = Some((last.received_at, last.complaint_id.clone()));
            }
            _ => break,
        }
    }
    backlog.publish();
    Ok(backlog)
}

/// Publishes zeros at once, then counts at start and every [`BACKLOG_EVERY`] until shutdown.
pub fn backlog_worker(core: Arc<Core>) -> Worker {
    Backlog::default().publish();
    Worker::new("complaints-backlog-gauge", move |shutdown| async move {
        loop {
            if let Err(err) = refresh_backlog(&core).await {
                tracing::warn!(error = %err, "complaint backlog not counted this round");
            }
            if shutdown.sleep(BACKLOG_EVERY).await {
                break;
            }
        }
    })
}
