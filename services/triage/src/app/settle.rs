//! What a delivery's answer means for the ledger: 12345's ticket, a reply taken, intake's
//! incident; and what a refusal means. Each is idempotent (guarded by the transfer's status), as
//! a job may run again after a crash.

use pingan_platform::ApiError;
use pingan_platform::time;
use pingan_proto::hotline::v1::{CreateTicketResponse, ReplyKind, ReplyTicketRequest};
use pingan_proto::intake::v1::ReportCallResponse;

use crate::app::bridge::{Bridge, Change, hotline_actor, triage_actor};
use crate::domain::transfer::{Action, Status};
use crate::metrics::{self, BOUNCES};

/// What 12345 is told when intake cannot locate a ticket's address.
pub const NEEDS_LOCATION_NOTE: &str =
    "地址无法定位到标准地址，请补充详细地址或坐标（待指挥中心人工定位）";

/// A receiver's answer to a delivery.
// One short-lived value per delivery: boxing the larger answers would only add an allocation.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Outcome {
    Ticket(CreateTicketResponse),
    Replied(ReplyTicketRequest),
    Reported(ReportCallResponse),
}

impl Bridge {
    /// Records what the receiver answered, in one transaction.
    pub(crate) async fn apply(&self, transfer_id: &str, outcome: Outcome) -> Result<(), ApiError> {
        let mut tx = self.ctx.db.begin_write().await?;
        let mut row = self.store.lock(&mut tx, transfer_id).await?;
        let status = Status::parse(&row.status).unwrap_or(Status::Pending);
        match outcome {
            Outcome::Ticket(ticket) => {
                if row.hotline_ticket_id.is_none() {
                    row.hotline_ticket_id = Some(ticket.ticket_id.clone());
                }
                if let Some(deadline) = ticket.deadline.as_ref().and_then(time::from_timestamp) {
                    row.deadline = Some(deadline);
                }
                if !ticket.department.is_empty() {
                    row.department = ticket.department.clone();
                }
                if status == Status::Pending {
                    let note = format!("12345 工单 {}", ticket.ticket_id);
                    self.change_status(&mut tx, &mut row, Status::Sent, &hotline_actor(), &note)
                        .await?;
                } else {
                    row.updated_at = self.ctx.clock.now();
                    self.store.save(&mut tx, &row).await?;
                }
            }
            Outcome::Replied(reply) => {
                let done = matches!(
                    ReplyKind::try_from(reply.kind),
                    Ok(ReplyKind::Finding | ReplyKind::Handled)
                );
                if done && !status.is_closed() {
                    let note = if reply.result.is_empty() {
                        "已答复 12345".to_owned()
                    } else {
                        reply.result.clone()
                    };
                    row.outcome_note = note.clone();
                    self.change_status(&mut tx, &mut row, Status::Handled, &triage_actor(), &note)
                        .await?;
                }
            }
            Outcome::Reported(report) => {
                if row.incident_id.is_empty() {
                    row.incident_id = report.incident_id.clone();
                }
                if status == Status::Pending {
                    // Intake could not place it: 12345 is asked for a precise address.
                    let (note, result) = if report.needs_location {
                        row.outcome_note = NEEDS_LOCATION_NOTE.into();
                        (
                            format!("已立警情 {}，{NEEDS_LOCATION_NOTE}", report.incident_id),
                            format!("公安已接收并立为警情，{NEEDS_LOCATION_NOTE}"),
                        )
                    } else {
                        (
                            format!("已立警情 {}", report.incident_id),
                            "公安已接收并立为警情处置".to_owned(),
                        )
                    };
                    self.change_status(&mut tx, &mut row, Status::Accepted, &triage_actor(), &note)
                        .await?;
                    self.queue_reply(&mut tx, &row, ReplyKind::Accepted, |r| {
                        r.result = result;
                    })
                    .await?;
                }
            }
        }
        self.ctx.outbox.commit(tx).await?;
        Ok(())
    }

    /// Settles what a delivery refused for good meant: a ticket intake cannot take is returned
    /// to 12345 with the reason; a diversion 12345 refuses stays with the police. A reply 12345
    /// refuses is only dead-lettered (nobody left to tell).
    pub(crate) async fn settle_refusal(
        &self,
        transfer_id: &str,
        action: Action,
        reason: &str,
    ) -> Result<(), ApiError> {
        let mut tx = self.ctx.db.begin_write().await?;
        let mut row = self.store.lock(&mut tx, transfer_id).await?;
        let status = Status::parse(&row.status).unwrap_or(Status::Pending);
        match action {
            Action::ReportCall if status == Status::Pending => {
                let note = format!("公安无法立案，退回 12345：{reason}");
                row.outcome_note = note.clone();
                row.reason = note.clone();
                self.change_status(&mut tx, &mut row, Status::Bounced, &triage_actor(), &note)
                    .await?;
                self.queue_reply(&mut tx, &row, ReplyKind::Returned, |r| {
                    r.return_reason = note.clone();
                })
                .await?;
                metrics::inc(&BOUNCES, &["from_12345"]);
            }
            Action::CreateTicket if !status.is_closed() => {
                let note = format!("12345 拒收转办，留公安处置：{reason}");
                let actor = hotline_actor();
                let change = Change::new(Status::Bounced, &actor).note(&note);
                self.apply_outcome(&mut tx, &mut row, change).await?;
            }
            _ => {}
        }
        self.ctx.outbox.commit(tx).await?;
        Ok(())
    }
}
