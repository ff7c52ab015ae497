//! Where a transfer's deliveries stand, and the dead letters, read from the delivery jobs (and
//! from the retired delivery queue for transfers older than the jobs).

use pingan_platform::ApiError;
use pingan_platform::jobs::{Job, JobState};

use crate::app::bridge::Bridge;
use crate::domain::transfer::{Action, DeliveryView, transfer_of_job_key};
use crate::store::DeadLetterRow;

/// Dead jobs read per page when listing them all.
const DEAD_PAGE: u32 = 500;

fn view(job: &Job) -> DeliveryView {
    DeliveryView {
        pending: matches!(job.state, JobState::Pending | JobState::Running),
        attempts: i32::try_from(job.attempts).unwrap_or(i32::MAX),
        last_error: job.last_error.clone(),
        next_attempt_at: job.run_at,
    }
}

fn dead_letter(job: &Job) -> Option<DeadLetterRow> {
    let action = Action::from_job_kind(&job.kind)?;
    (job.state == JobState::Dead).then(|| DeadLetterRow {
        delivery_id: job.key.clone(),
        transfer_id: transfer_of_job_key(&job.key).to_owned(),
        action: action.as_str().to_owned(),
        attempts: i32::try_from(job.attempts).unwrap_or(i32::MAX),
        last_error: job.last_error.clone(),
        updated_at: job.finished_at.unwrap_or(job.updated_at),
    })
}

impl Bridge {
    async fn jobs_of(&self, transfer_id: &str) -> Result<Vec<Job>, ApiError> {
        let mut jobs = Vec::new();
        for (kind, key) in self.store.delivery_jobs(transfer_id).await? {
            if let Some(job) = self.jobs.get(&kind, &key).await? {
                jobs.push(job);
            }
        }
        Ok(jobs)
    }

    /// The delivery of a transfer still under way, else its newest one.
    pub(crate) async fn latest_delivery(
        &self,
        transfer_id: &str,
    ) -> Result<Option<DeliveryView>, ApiError> {
        let jobs = self.jobs_of(transfer_id).await?;
        let views: Vec<DeliveryView> = jobs.iter().map(view).collect();
        if let Some(found) = views.iter().find(|v| v.pending).or(views.first()) {
            return Ok(Some(found.clone()));
        }
        let legacy = self.store.legacy_latest(transfer_id).await?;
        Ok(legacy.map(|d| DeliveryView {
            pending: d.status == "PENDING",
            attempts: d.attempts,
            last_error: d.last_error,
            next_attempt_at: d.next_attempt_at,
        }))
    }

    /// Dead letters, newest first (of one transfer when `transfer_id` is not empty).
    pub async fn dead_letters(
        &self,
        transfer_id: &str,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<DeadLetterRow>, ApiError> {
        let mut rows = Vec::new();
        if transfer_id.is_empty() {
            // Dead letters are few (each one is an operator's case): all of them are read.
            let mut after = 0;
            loop {
                let page = self.jobs.dead_jobs(after, DEAD_PAGE).await?;
                rows.extend(page.iter().filter_map(dead_letter));
                match page.last() {
                    Some(last) if page.len() == DEAD_PAGE as usize => after = last.id,
                    _ => break,
                }
            }
        } else {
            let jobs = self.jobs_of(transfer_id).await?;
            rows.extend(jobs.iter().filter_map(dead_letter));
        }
        let wanted = offset.saturating_add(limit);
        rows.extend(self.store.legacy_dead_letters(transfer_id, wanted).await?);
        rows.sort_by(|a, b| (b.updated_at, &b.delivery_id).cmp(&(a.updated_at, &a.delivery_id)));
        let skip = usize::try_from(offset).unwrap_or_default();
        let take = usize::try_from(limit).unwrap_or_default();
        Ok(rows.into_iter().skip(skip).take(take).collect())
    }
}
