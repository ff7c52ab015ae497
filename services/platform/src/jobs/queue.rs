//! The queue: jobs written in the caller's transaction, claimed under a lease, settled after a
//! run, and the operators' view of dead letters. SQL is written once for both backends; only the
//! claim differs (Postgres skips rows another claimer has locked).

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::Notify;

use super::metrics::{self, Counted};
use super::{Job, JobError, JobId, JobOutcome, JobState, NewJob, RetryPolicy};
use crate::clock::SharedClock;
use crate::storage::{Db, StorageError, Tx};
use crate::{with_db, with_tx};

/// The statement of a [`Mark`] with its arguments (expanded once per backend).
macro_rules! mark_query {
    ($mark:expr) => {
        match $mark {
            Mark::Done { id, attempts, now } => {
                sqlx::query(MARK_DONE).bind(*id).bind(*attempts).bind(*now)
            }
            Mark::Pending {
                id,
                current,
                attempts,
                run_at,
                error,
                now,
                ..
            } => sqlx::query(MARK_PENDING)
                .bind(*id)
                .bind(*current)
                .bind(*attempts)
                .bind(*run_at)
                .bind(error.as_str())
                .bind(*now),
            Mark::Dead {
                id,
                attempts,
                error,
                now,
            } => sqlx::query(MARK_DEAD)
                .bind(*id)
                .bind(*attempts)
                .bind(error.as_str())
                .bind(*now),
        }
    };
}

const COLUMNS: &str = "id, service, kind, key, payload, state, attempts, run_at, leased_until, \
    lease_owner, last_error, created_at, updated_at, finished_at";
const INSERT: &str = "INSERT INTO platform_jobs (service, kind, key, payload, state, attempts, \
    run_at, leased_until, lease_owner, created_at, updated_at) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) \
    ON CONFLICT (service, kind, key) DO NOTHING RETURNING id";
const EXISTING: &str = "SELECT id FROM platform_jobs WHERE service = $1 AND kind = $2 AND key = $3";
// One statement, so that of several workers exactly one takes each job: Postgres skips rows
// another claimer holds; SQLite runs one writer at a time (no read-then-write upgrade to fail).
const CLAIM_POSTGRES: &str = "UPDATE platform_jobs SET state = 'running', \
    attempts = attempts + 1, leased_until = $3, lease_owner = $4, updated_at = $2 \
    WHERE id IN (SELECT id FROM platform_jobs WHERE service = $1 \
        AND ((state = 'pending' AND run_at <= $2) OR (state = 'running' AND leased_until < $2)) \
        AND strpos(',' || $5 || ',', ',' || kind || ',') > 0 \
        ORDER BY run_at, id LIMIT $6 FOR UPDATE SKIP LOCKED) \
    RETURNING id, service, kind, key, payload, state, attempts, run_at, leased_until, \
    lease_owner, last_error, created_at, updated_at, finished_at";
const CLAIM_SQLITE: &str = "UPDATE platform_jobs SET state = 'running', \
    attempts = attempts + 1, leased_until = $3, lease_owner = $4, updated_at = $2 \
    WHERE id IN (SELECT id FROM platform_jobs WHERE service = $1 \
        AND ((state = 'pending' AND run_at <= $2) OR (state = 'running' AND leased_until < $2)) \
        AND instr(',' || $5 || ',', ',' || kind || ',') > 0 \
        ORDER BY run_at, id LIMIT $6) \
    RETURNING id, service, kind, key, payload, state, attempts, run_at, leased_until, \
    lease_owner, last_error, created_at, updated_at, finished_at";
// Settling names the claim (id and attempt): a run whose lease was taken over changes nothing.
const MARK_DONE: &str = "UPDATE platform_jobs SET state = 'done', leased_until = NULL, \
    last_error = '', finished_at = $3, updated_at = $3 \
    WHERE id = $1 AND attempts = $2 AND state = 'running'";
const MARK_PENDING: &str = "UPDATE platform_jobs SET state = 'pending', attempts = $3, \
    run_at = $4, leased_until = NULL, last_error = $5, updated_at = $6 \
    WHERE id = $1 AND attempts = $2 AND state = 'running'";
const MARK_DEAD: &str = "UPDATE platform_jobs SET state = 'dead', leased_until = NULL, \
    last_error = $3, finished_at = $4, updated_at = $4 \
    WHERE id = $1 AND attempts = $2 AND state = 'running'";
const RETRY_DEAD: &str = "UPDATE platform_jobs SET state = 'pending', attempts = 0, run_at = $3, \
    leased_until = NULL, finished_at = NULL, updated_at = $3 \
    WHERE id = $1 AND service = $2 AND state = 'dead'";
const BACKLOG: &str = "SELECT COUNT(*), MIN(created_at) FROM platform_jobs \
    WHERE service = $1 AND state IN ('pending', 'running')";
const PURGE: &str = "DELETE FROM platform_jobs WHERE service = $1 AND state = 'done' \
    AND finished_at < $2";

#[derive(Debug, sqlx::FromRow)]
struct JobRow {
    id: i64,
    service: String,
    kind: String,
    key: String,
    payload: Vec<u8>,
    state: String,
    attempts: i32,
    run_at: DateTime<Utc>,
    leased_until: Option<DateTime<Utc>>,
    lease_owner: String,
    last_error: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    finished_at: Option<DateTime<Utc>>,
}

impl From<JobRow> for Job {
    fn from(r: JobRow) -> Self {
        Self {
            id: r.id,
            service: r.service,
            kind: r.kind,
            key: r.key,
            payload: r.payload,
            state: JobState::parse(&r.state),
            attempts: u32::try_from(r.attempts).unwrap_or_default(),
            run_at: r.run_at,
            leased_until: r.leased_until,
            lease_owner: r.lease_owner,
            last_error: r.last_error,
            created_at: r.created_at,
            updated_at: r.updated_at,
            finished_at: r.finished_at,
        }
    }
}

/// One service's jobs. Clones share the wake-up signal of the worker built from them.
#[derive(Debug, Clone)]
pub struct JobQueue {
    service: String,
    db: Db,
    clock: SharedClock,
    owner: String,
    wake: Arc<Notify>,
}

impl JobQueue {
    /// The jobs of service `service` in its database `db`, on `clock`.
    pub fn new(service: &str, db: Db, clock: SharedClock) -> Self {
        let suffix = uuid::Uuid::now_v7().simple().to_string();
        Self {
            service: service.to_owned(),
            db,
            clock,
            owner: format!("{service}/{}/{}", std::process::id(), &suffix[20..]),
            wake: Arc::new(Notify::new()),
        }
    }

    /// The owning service.
    pub fn service(&self) -> &str {
        &self.service
    }

    /// The database the jobs live in.
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// The clock jobs are scheduled on.
    pub fn clock(&self) -> &SharedClock {
        &self.clock
    }

    /// Wakes this queue's worker now (after the commit of a transaction that enqueued).
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    pub(crate) fn wake_handle(&self) -> Arc<Notify> {
        self.wake.clone()
    }

    /// Writes `job` in the caller's transaction: it exists if and only if `tx` commits. A job
    /// with the same (kind, key) already there is left as it is; its id is returned.
    pub async fn enqueue_in(&self, tx: &mut Tx, job: NewJob) -> Result<JobId, StorageError> {
        let now = self.clock.now();
        let run_at = job.run_at.unwrap_or(now);
        let (id, _) = self
            .insert(tx, &job, JobState::Pending, run_at, None, now)
            .await?;
        // Wakes after the commit only if the caller commits through `commit`; this early wake
        // costs one empty claim at most.
        self.wake.notify_one();
        Ok(id)
    }

    /// Writes `job` in its own transaction.
    pub async fn enqueue(&self, job: NewJob) -> Result<JobId, StorageError> {
        let mut tx = self.db.begin_write().await?;
        let id = self.enqueue_in(&mut tx, job).await?;
        self.commit(tx).await?;
        Ok(id)
    }

    /// Commits `tx` and wakes the worker, so that jobs it enqueued start at once.
    pub async fn commit(&self, tx: Tx) -> Result<(), StorageError> {
        tx.commit().await?;
        self.wake.notify_one();
        Ok(())
    }

    /// Writes `job` already claimed by the caller for `lease`, for work the caller attempts at
    /// once itself (inline) with the job as its durable backstop: settle the attempt with
    /// [`JobQueue::settle`]; if the process dies first, the lease runs out and a worker runs it.
    /// `None` when a job with the same (kind, key) exists (it is someone else's).
    pub async fn enqueue_claimed_in(
        &self,
        tx: &mut Tx,
        job: NewJob,
        lease: Duration,
    ) -> Result<Option<Job>, StorageError> {
        let now = self.clock.now();
        let until = now + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::MAX);
        let (id, created) = self
            .insert(tx, &job, JobState::Running, now, Some(until), now)
            .await?;
        if !created {
            return Ok(None);
        }
        // What was just written, without reading it back.
        Ok(Some(Job {
            id,
            service: self.service.clone(),
            kind: job.kind,
            key: job.key,
            payload: job.payload,
            state: JobState::Running,
            attempts: 1,
            run_at: now,
            leased_until: Some(until),
            lease_owner: self.owner.clone(),
            last_error: String::new(),
            created_at: now,
            updated_at: now,
            finished_at: None,
        }))
    }

    async fn insert(
        &self,
        tx: &mut Tx,
        job: &NewJob,
        state: JobState,
        run_at: DateTime<Utc>,
        leased_until: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<(JobId, bool), StorageError> {
        let (attempts, owner) = match state {
            JobState::Running => (1_i32, self.owner.as_str()),
            _ => (0, ""),
        };
        let inserted: Option<i64> = with_tx!(tx, conn => sqlx::query_scalar(INSERT)
            .bind(&self.service).bind(&job.kind).bind(&job.key).bind(&job.payload)
            .bind(state.as_str()).bind(attempts).bind(run_at).bind(leased_until).bind(owner)
            .bind(now)
            .fetch_optional(&mut *conn).await)?;
        if let Some(id) = inserted {
            // Counted at the write: a rolled-back transaction still counts (a rare overcount).
            metrics::count(Counted::Enqueued, &self.service, &job.kind);
            return Ok((id, true));
        }
        let id = with_tx!(tx, conn => sqlx::query_scalar(EXISTING)
            .bind(&self.service).bind(&job.kind).bind(&job.key)
            .fetch_one(&mut *conn).await)?;
        Ok((id, false))
    }

    /// The job of `kind` with `key`, if any.
    pub async fn get(&self, kind: &str, key: &str) -> Result<Option<Job>, StorageError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM platform_jobs WHERE service = $1 AND kind = $2 AND key = $3"
        );
        let row: Option<JobRow> = with_db!(&self.db, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(&self.service).bind(kind).bind(key).fetch_optional(pool).await)?;
        Ok(row.map(Job::from))
    }

    /// Claims up to `limit` due jobs of `kinds` (and running ones whose lease ran out) until
    /// `lease` from now.
    pub(crate) async fn claim(
        &self,
        kinds: &str,
        limit: u32,
        lease: Duration,
    ) -> Result<Vec<Job>, StorageError> {
        let now = self.clock.now();
        let until = now + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::MAX);
        let sql = self.db.pick(CLAIM_POSTGRES, CLAIM_SQLITE);
        let rows: Vec<JobRow> = with_db!(&self.db, pool => sqlx::query_as(sql)
            .bind(&self.service).bind(now).bind(until).bind(&self.owner).bind(kinds)
            .bind(i64::from(limit))
            .fetch_all(pool).await)?;
        let mut jobs: Vec<Job> = rows.into_iter().map(Job::from).collect();
        jobs.sort_by_key(|job| (job.run_at, job.id));
        Ok(jobs)
    }

    /// Records the outcome of the run `job` was claimed for: done, pending again (a retry with
    /// backoff under `policy`, or the time the handler asked for), or dead. Returns false when
    /// the claim was no longer this run's (its lease ran out and another run took the job).
    pub async fn settle(
        &self,
        job: &Job,
        result: &Result<JobOutcome, JobError>,
        policy: &RetryPolicy,
    ) -> Result<bool, StorageError> {
        let mark = self.mark(job, result, policy);
        let changed = with_db!(&self.db, pool => mark_query!(&mark).execute(pool).await
            .map(|r| r.rows_affected()))?;
        Ok(self.settled(job, &mark, changed))
    }

    /// [`JobQueue::settle`] in the caller's transaction: the outcome is recorded together with
    /// the work it settles (it stands if and only if `tx` commits).
    pub async fn settle_in(
        &self,
        tx: &mut Tx,
        job: &Job,
        result: &Result<JobOutcome, JobError>,
        policy: &RetryPolicy,
    ) -> Result<bool, StorageError> {
        let mark = self.mark(job, result, policy);
        let changed = with_tx!(tx, conn => mark_query!(&mark).execute(&mut *conn).await
            .map(|r| r.rows_affected()))?;
        // Counted at the write: a rolled-back transaction still counts (a rare overcount).
        Ok(self.settled(job, &mark, changed))
    }

    /// The statement that records `result` for the run `job` was claimed for.
    fn mark(&self, job: &Job, result: &Result<JobOutcome, JobError>, policy: &RetryPolicy) -> Mark {
        let now = self.clock.now();
        let attempts = i32::try_from(job.attempts).unwrap_or(i32::MAX);
        match result {
            Ok(JobOutcome::Done) => Mark::Done {
                id: job.id,
                attempts,
                now,
            },
            // Not a failure: the claim does not count as an attempt.
            Ok(JobOutcome::RunAgainAt(at)) => Mark::Pending {
                id: job.id,
                current: attempts,
                attempts: attempts.saturating_sub(1),
                run_at: *at,
                error: String::new(),
                now,
                counted: None,
            },
            Err(JobError::Retry(error)) if job.attempts < policy.max_attempts => {
                let wait = chrono::Duration::from_std(policy.backoff(job.attempts))
                    .unwrap_or(chrono::Duration::MAX);
                Mark::Pending {
                    id: job.id,
                    current: attempts,
                    attempts,
                    run_at: now + wait,
                    error: clip(error),
                    now,
                    counted: Some(Counted::Retried),
                }
            }
            Err(JobError::Retry(error) | JobError::Permanent(error)) => Mark::Dead {
                id: job.id,
                attempts,
                error: clip(error),
                now,
            },
        }
    }

    /// Counts a settled run; true when its claim was still this run's.
    fn settled(&self, job: &Job, mark: &Mark, changed: u64) -> bool {
        if let Mark::Dead { error, .. } = mark {
            tracing::warn!(service = %self.service, kind = %job.kind, key = %job.key,
                attempts = job.attempts, error = %error, "job is a dead letter");
        }
        if changed == 1
            && let Some(counted) = mark.counted()
        {
            metrics::count(counted, &self.service, &job.kind);
        }
        changed == 1
    }

    /// Dead letters after id `after`, oldest first.
    pub async fn dead_jobs(&self, after: JobId, limit: u32) -> Result<Vec<Job>, StorageError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM platform_jobs WHERE service = $1 AND state = 'dead' \
             AND id > $2 ORDER BY id LIMIT $3"
        );
        let rows: Vec<JobRow> = with_db!(&self.db, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(&self.service).bind(after).bind(i64::from(limit)).fetch_all(pool).await)?;
        Ok(rows.into_iter().map(Job::from).collect())
    }

    /// Puts a dead job back in the queue with fresh attempts, due now; false when `id` is not a
    /// dead job of this service.
    pub async fn retry_dead(&self, id: JobId) -> Result<bool, StorageError> {
        let now = self.clock.now();
        let changed = with_db!(&self.db, pool => sqlx::query(RETRY_DEAD)
            .bind(id).bind(&self.service).bind(now)
            .execute(pool).await.map(|r| r.rows_affected()))?;
        if changed == 1 {
            self.wake.notify_one();
        }
        Ok(changed == 1)
    }

    /// Jobs not finished, and the age of the oldest of them in seconds.
    pub async fn backlog(&self) -> Result<(i64, f64), StorageError> {
        let (count, oldest): (i64, Option<DateTime<Utc>>) = with_db!(&self.db, pool =>
            sqlx::query_as(BACKLOG).bind(&self.service).fetch_one(pool).await)?;
        let now = self.clock.now();
        let age = oldest
            .map(|t| (now - t).num_milliseconds().max(0) as f64 / 1000.0)
            .unwrap_or_default();
        Ok((count, age))
    }

    /// Deletes jobs finished before `before`; returns how many.
    pub async fn purge_done(&self, before: DateTime<Utc>) -> Result<u64, StorageError> {
        Ok(with_db!(&self.db, pool => sqlx::query(PURGE)
            .bind(&self.service).bind(before)
            .execute(pool).await.map(|r| r.rows_affected()))?)
    }
}

/// One settling statement, named by the claim (id and attempt).
enum Mark {
    Done {
        id: JobId,
        attempts: i32,
        now: DateTime<Utc>,
    },
    Pending {
        id: JobId,
        current: i32,
        attempts: i32,
        run_at: DateTime<Utc>,
        error: String,
        now: DateTime<Utc>,
        counted: Option<Counted>,
    },
    Dead {
        id: JobId,
        attempts: i32,
        error: String,
        now: DateTime<Utc>,
    },
}

impl Mark {
    fn counted(&self) -> Option<Counted> {
        match self {
            Self::Done { .. } => Some(Counted::Succeeded),
            Self::Pending { counted, .. } => *counted,
            Self::Dead { .. } => Some(Counted::Dead),
        }
    }
}

fn clip(error: &str) -> String {
    error.chars().take(2000).collect()
}
