//! The response clocks as durable platform jobs, armed in the transaction of the change that
//! starts them: an assignment's acknowledgement deadline and a dispatch's response target. Each
//! job is due when its clock runs out; `timers` runs it. A leaf module: the use cases that arm a
//! clock depend on it, it depends on none of them.

use chrono::{DateTime, Utc};
use pingan_platform::ApiError;
use pingan_platform::jobs::NewJob;
use pingan_platform::storage::Tx;
use pingan_platform::time::from_timestamp;
use pingan_proto::dispatch::v1::{Assignment, Dispatch};

use crate::app::Runtime;

/// An assignment not acknowledged by its `ack_due_at` is escalated (key: the assignment).
pub const ACK_DEADLINE: &str = "dispatch.ack-deadline";
/// A dispatch with no unit en route by its `response_due_at` breaches (key: the dispatch).
pub const RESPONSE_TARGET: &str = "dispatch.response-target";

/// The job that escalates `assignment_id` of `dispatch_id` at `due` unless it was acknowledged.
pub fn ack_job(dispatch_id: &str, assignment_id: &str, due: DateTime<Utc>) -> NewJob {
    NewJob::new(ACK_DEADLINE, assignment_id, dispatch_id.as_bytes().to_vec()).at(due)
}

/// The job that checks `dispatch_id`'s response target at `due`.
pub fn response_job(dispatch_id: &str, due: DateTime<Utc>) -> NewJob {
    NewJob::new(
        RESPONSE_TARGET,
        dispatch_id,
        dispatch_id.as_bytes().to_vec(),
    )
    .at(due)
}

/// Arms the acknowledgement deadline of a new assignment, in its transaction.
pub async fn arm_ack(
    runtime: &Runtime,
    tx: &mut Tx,
    assignment: &Assignment,
) -> Result<(), ApiError> {
    if let Some(due) = assignment.ack_due_at.as_ref().and_then(from_timestamp) {
        let job = ack_job(&assignment.dispatch_id, &assignment.assignment_id, due);
        runtime.jobs.enqueue_in(tx, job).await?;
    }
    Ok(())
}

/// Arms the response target of a new dispatch, in its transaction.
pub async fn arm_response(
    runtime: &Runtime,
    tx: &mut Tx,
    dispatch: &Dispatch,
) -> Result<(), ApiError> {
    if let Some(due) = dispatch.response_due_at.as_ref().and_then(from_timestamp) {
        let job = response_job(&dispatch.dispatch_id, due);
        runtime.jobs.enqueue_in(tx, job).await?;
    }
    Ok(())
}
