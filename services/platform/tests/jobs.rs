//! Durable jobs on both backends: enqueued only with the business write, deduplicated by key,
//! retried with backoff, dead-lettered, each run once under racing workers, taken over after a
//! lost lease, settled with the caller's work (or run after its lease when that work is lost),
//! drained on shutdown, and finished once after the worker's process is killed.
//! Time is a manual clock wherever a retry or a lease is waited for. Past 500 lines: one
//! scenario per promise of the jobs contract, sharing one fixture.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chrono::Utc;
use pingan_platform::clock::{self, Clock, ManualClock};
use pingan_platform::jobs::{
    Job, JobConfig, JobError, JobFuture, JobHandler, JobOutcome, JobQueue, JobState, JobWorker,
    NewJob, RetryPolicy,
};
use pingan_platform::storage::{Backend, Db, Migrations, PoolSettings};
use pingan_platform::testing::TestDatabase;
use pingan_platform::{backend_tests, with_db};
use tokio::sync::Notify;

static POSTGRES: sqlx::migrate::Migrator = sqlx::migrate!("./tests/migrations/postgres");
static SQLITE: sqlx::migrate::Migrator = sqlx::migrate!("./tests/migrations/sqlite");
static MIGRATIONS: Migrations = Migrations {
    postgres: &POSTGRES,
    sqlite: &SQLITE,
};

const SERVICE: &str = "jobs-test";
const KIND: &str = "test.work";
const CHILD_DB_VAR: &str = "PINGAN_JOBS_KILL_CHILD_DB";
const CREATE_EFFECTS: &str = "CREATE TABLE job_effects (job_key TEXT NOT NULL, what TEXT NOT NULL)";
const RECORD: &str = "INSERT INTO job_effects (job_key, what) VALUES ($1, $2)";
const COUNT: &str = "SELECT COUNT(*) FROM job_effects WHERE job_key = $1 AND what = $2";
const COUNT_ALL: &str = "SELECT COUNT(*) FROM job_effects WHERE what = $1";

fn config() -> JobConfig {
    JobConfig {
        poll_interval: Duration::from_millis(20),
        lease: Duration::from_secs(30),
        batch: 16,
        concurrency: 4,
        shutdown_grace: Duration::from_secs(10),
        retry: RetryPolicy {
            max_attempts: 5,
            initial_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(10),
        },
        done_retention: Duration::from_secs(3600),
        purge_interval: Duration::from_secs(600),
    }
}

/// Records a side effect per run in `job_effects`; answers from a script per key (else done);
/// can hang once (a worker that vanishes mid-run) or hold every run for a while.
struct Effects {
    db: Db,
    script: std::sync::Mutex<BTreeMap<String, VecDeque<Result<JobOutcome, JobError>>>>,
    hang_once: AtomicBool,
    hang_forever: bool,
    hold: Duration,
    entered: Notify,
}

impl Effects {
    fn new(db: &Db) -> Self {
        Self {
            db: db.clone(),
            script: Default::default(),
            hang_once: AtomicBool::new(false),
            hang_forever: false,
            hold: Duration::ZERO,
            entered: Notify::new(),
        }
    }

    fn script(self, key: &str, answers: Vec<Result<JobOutcome, JobError>>) -> Self {
        self.script
            .lock()
            .expect("script")
            .insert(key.to_owned(), answers.into());
        self
    }

    async fn record(&self, key: &str, what: &str) {
        with_db!(&self.db, pool => sqlx::query(RECORD).bind(key).bind(what).execute(pool).await
            .map(|r| r.rows_affected()))
        .expect("record effect");
    }
}

impl JobHandler for Effects {
    fn kind(&self) -> &str {
        KIND
    }

    fn run<'a>(&'a self, job: &'a Job) -> JobFuture<'a> {
        Box::pin(async move {
            self.record(&job.key, "started").await;
            self.entered.notify_one();
            if self.hang_forever || self.hang_once.swap(false, Ordering::SeqCst) {
                tokio::time::sleep(Duration::from_secs(3600)).await;
            }
            tokio::time::sleep(self.hold).await;
            let answer = self
                .script
                .lock()
                .expect("script")
                .get_mut(&job.key)
                .and_then(VecDeque::pop_front)
                .unwrap_or(Ok(JobOutcome::Done));
            if answer == Ok(JobOutcome::Done) {
                self.record(&job.key, "done").await;
            }
            answer
        })
    }
}

struct Fixture {
    database: TestDatabase,
    clock: ManualClock,
    queue: JobQueue,
}

impl Fixture {
    async fn new(backend: Backend) -> Self {
        let database = TestDatabase::create(backend, &MIGRATIONS)
            .await
            .expect("test database");
        with_db!(&database.db, pool => sqlx::query(CREATE_EFFECTS).execute(pool).await
            .map(|r| r.rows_affected()))
        .expect("effects table");
        let clock = ManualClock::new(Utc::now());
        let queue = JobQueue::new(SERVICE, database.db.clone(), Arc::new(clock.clone()));
        Self {
            database,
            clock,
            queue,
        }
    }

    fn db(&self) -> &Db {
        &self.database.db
    }

    fn worker(&self, handler: Arc<Effects>) -> JobWorker {
        JobWorker::new(self.queue.clone(), config()).handle(handler)
    }

    async fn count(&self, key: &str, what: &str) -> i64 {
        with_db!(self.db(), pool => sqlx::query_scalar(COUNT).bind(key).bind(what)
            .fetch_one(pool).await)
        .expect("count")
    }

    async fn count_all(&self, what: &str) -> i64 {
        with_db!(self.db(), pool => sqlx::query_scalar(COUNT_ALL).bind(what).fetch_one(pool).await)
            .expect("count")
    }

    async fn job(&self, key: &str) -> Job {
        self.queue.get(KIND, key).await.expect("get").expect("job")
    }

    async fn enqueue(&self, key: &str) -> i64 {
        self.queue
            .enqueue(NewJob::new(KIND, key, key.as_bytes().to_vec()))
            .await
            .expect("enqueue")
    }

    async fn cleanup(self) {
        self.database.cleanup().await;
    }
}

async fn rolled_back_enqueue_leaves_no_job(backend: Backend) {
    let f = Fixture::new(backend).await;
    let mut tx = f.db().begin_write().await.expect("begin");
    f.queue
        .enqueue_in(&mut tx, NewJob::new(KIND, "lost", Vec::new()))
        .await
        .expect("enqueue in tx");
    tx.rollback().await.expect("rollback");
    assert_eq!(f.queue.get(KIND, "lost").await.expect("get"), None);

    let mut tx = f.db().begin_write().await.expect("begin");
    f.queue
        .enqueue_in(&mut tx, NewJob::new(KIND, "kept", b"payload".to_vec()))
        .await
        .expect("enqueue in tx");
    f.queue.commit(tx).await.expect("commit");
    let kept = f.job("kept").await;
    assert_eq!(
        (kept.state, kept.payload.as_slice()),
        (JobState::Pending, &b"payload"[..])
    );

    let worker = f.worker(Arc::new(Effects::new(f.db())));
    assert_eq!(worker.run_once().await.expect("round"), 1);
    assert_eq!(f.count_all("started").await, 1);
    assert_eq!(f.job("kept").await.state, JobState::Done);
    f.cleanup().await;
}

async fn duplicate_key_is_one_job(backend: Backend) {
    let f = Fixture::new(backend).await;
    let first = f.enqueue("same").await;
    assert_eq!(f.enqueue("same").await, first);
    let worker = f.worker(Arc::new(Effects::new(f.db())));
    assert_eq!(worker.run_once().await.expect("round"), 1);
    // Done, the key still names that job: enqueueing it again is a no-op.
    assert_eq!(f.enqueue("same").await, first);
    assert_eq!(worker.run_once().await.expect("round"), 0);
    assert_eq!(f.count("same", "done").await, 1);
    f.cleanup().await;
}

async fn retries_with_backoff_then_succeeds(backend: Backend) {
    let f = Fixture::new(backend).await;
    let retry = || Err(JobError::Retry("dependency down".into()));
    let handler = Effects::new(f.db()).script("flaky", vec![retry(), retry()]);
    let worker = f.worker(Arc::new(handler));
    f.enqueue("flaky").await;
    let policy = config().retry;
    for attempt in 1..=2_u32 {
        let before = f.clock.now();
        assert_eq!(worker.run_once().await.expect("round"), 1);
        let job = f.job("flaky").await;
        assert_eq!((job.state, job.attempts), (JobState::Pending, attempt));
        assert_eq!(job.last_error, "dependency down");
        let ceiling = policy.initial_backoff * 2_u32.pow(attempt - 1);
        let wait = (job.run_at - before).to_std().expect("in the future");
        assert!(
            wait >= ceiling / 2 && wait <= ceiling,
            "{attempt}: {wait:?}"
        );
        // Not due before its time.
        assert_eq!(worker.run_once().await.expect("round"), 0);
        f.clock.advance(ceiling);
    }
    assert_eq!(worker.run_once().await.expect("round"), 1);
    let job = f.job("flaky").await;
    assert_eq!((job.state, job.attempts), (JobState::Done, 3));
    assert!(job.finished_at.is_some() && job.last_error.is_empty());
    assert_eq!(f.count("flaky", "started").await, 3);
    assert_eq!(f.count("flaky", "done").await, 1);
    f.cleanup().await;
}

async fn a_handler_may_ask_to_run_later(backend: Backend) {
    let f = Fixture::new(backend).await;
    // Microseconds: what Postgres keeps.
    let later = f.clock.now() + chrono::Duration::minutes(5);
    let later = chrono::DateTime::from_timestamp_micros(later.timestamp_micros()).expect("time");
    let handler = Effects::new(f.db()).script("later", vec![Ok(JobOutcome::RunAgainAt(later))]);
    let worker = f.worker(Arc::new(handler));
    f.enqueue("later").await;
    assert_eq!(worker.run_once().await.expect("round"), 1);
    let job = f.job("later").await;
    assert_eq!(
        (job.state, job.attempts, job.run_at),
        (JobState::Pending, 0, later)
    );
    f.clock.advance(Duration::from_secs(299));
    assert_eq!(worker.run_once().await.expect("round"), 0);
    f.clock.advance(Duration::from_secs(1));
    assert_eq!(worker.run_once().await.expect("round"), 1);
    assert_eq!(f.job("later").await.state, JobState::Done);
    f.cleanup().await;
}

async fn a_permanent_error_is_dead_at_once_and_can_be_retried(backend: Backend) {
    let f = Fixture::new(backend).await;
    let handler = Effects::new(f.db()).script(
        "poison",
        vec![Err(JobError::Permanent("unreadable payload".into()))],
    );
    let worker = f.worker(Arc::new(handler));
    let id = f.enqueue("poison").await;
    assert_eq!(worker.run_once().await.expect("round"), 1);
    let job = f.job("poison").await;
    assert_eq!((job.state, job.attempts), (JobState::Dead, 1));
    assert_eq!(job.last_error, "unreadable payload");
    f.clock.advance(Duration::from_secs(3600));
    assert_eq!(
        worker.run_once().await.expect("round"),
        0,
        "dead is not retried"
    );

    let dead = f.queue.dead_jobs(0, 10).await.expect("dead jobs");
    assert_eq!(dead.iter().map(|j| j.id).collect::<Vec<_>>(), [id]);
    assert!(f.queue.retry_dead(id).await.expect("retry"));
    assert!(
        !f.queue.retry_dead(id).await.expect("retry twice"),
        "no longer dead"
    );
    assert_eq!(worker.run_once().await.expect("round"), 1);
    assert_eq!(f.job("poison").await.state, JobState::Done);
    assert!(
        f.queue
            .dead_jobs(0, 10)
            .await
            .expect("dead jobs")
            .is_empty()
    );
    f.cleanup().await;
}

async fn attempts_run_out_into_a_dead_letter(backend: Backend) {
    let f = Fixture::new(backend).await;
    let max = config().retry.max_attempts;
    let answers = (0..10)
        .map(|_| Err(JobError::Retry("still down".into())))
        .collect();
    let worker = f.worker(Arc::new(Effects::new(f.db()).script("doomed", answers)));
    f.enqueue("doomed").await;
    for _ in 0..10 {
        worker.run_once().await.expect("round");
        f.clock.advance(config().retry.max_backoff);
    }
    let job = f.job("doomed").await;
    assert_eq!((job.state, job.attempts), (JobState::Dead, max));
    assert_eq!(f.count("doomed", "started").await, i64::from(max));
    f.cleanup().await;
}

async fn racing_workers_run_each_job_once(backend: Backend) {
    let f = Fixture::new(backend).await;
    let keys: Vec<String> = (0..40).map(|n| format!("race-{n}")).collect();
    for key in &keys {
        f.enqueue(key).await;
    }
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let mut tasks = Vec::new();
    for _ in 0..2 {
        // Separate queues: separate lease owners, as in two replicas.
        let queue = JobQueue::new(SERVICE, f.db().clone(), Arc::new(f.clock.clone()));
        let mut handler = Effects::new(f.db());
        handler.hold = Duration::from_millis(5);
        let worker = JobWorker::new(queue, config()).handle(Arc::new(handler));
        let mut stopped = stopped.clone();
        tasks.push(tokio::spawn(worker.run(async move {
            let _ = stopped.wait_for(|s| *s).await;
        })));
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while f.count_all("done").await < 40 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "jobs not done in time"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = stop.send(true);
    for task in tasks {
        task.await.expect("worker stops");
    }
    for key in &keys {
        assert_eq!(f.count(key, "started").await, 1, "{key} ran more than once");
        assert_eq!(f.job(key).await.state, JobState::Done);
    }
    assert_eq!(f.queue.backlog().await.expect("backlog").0, 0);
    f.cleanup().await;
}

async fn an_expired_lease_is_taken_over_and_completes_once(backend: Backend) {
    let f = Fixture::new(backend).await;
    let handler = Arc::new(Effects::new(f.db()));
    handler.hang_once.store(true, Ordering::SeqCst);
    let vanishing = f.worker(handler.clone());
    f.enqueue("orphan").await;
    let entered = handler.entered.notified();
    let task = tokio::spawn(async move { vanishing.run_once().await });
    entered.await;
    task.abort(); // the worker vanishes mid-run, holding the lease
    let _ = task.await;
    let job = f.job("orphan").await;
    assert_eq!((job.state, job.attempts), (JobState::Running, 1));

    let successor = JobWorker::new(
        JobQueue::new(SERVICE, f.db().clone(), Arc::new(f.clock.clone())),
        config(),
    )
    .handle(handler.clone());
    assert_eq!(successor.run_once().await.expect("round"), 0, "leased");
    f.clock.advance(config().lease + Duration::from_secs(1));
    assert_eq!(successor.run_once().await.expect("round"), 1);
    let job = f.job("orphan").await;
    assert_eq!((job.state, job.attempts), (JobState::Done, 2));
    assert_eq!(f.count("orphan", "started").await, 2);
    assert_eq!(f.count("orphan", "done").await, 1);
    f.cleanup().await;
}

/// A job claimed by the request that wrote it is settled in the transaction of the work it
/// finishes: if that transaction does not commit (the process dies, the write fails), the job
/// is still running under its lease, and a worker runs it once the lease is over.
async fn a_claimed_job_settled_in_a_lost_transaction_runs_after_its_lease(backend: Backend) {
    let f = Fixture::new(backend).await;
    let lease = config().lease;
    let mut tx = f.db().begin_write().await.expect("begin");
    let claimed = f
        .queue
        .enqueue_claimed_in(&mut tx, NewJob::new(KIND, "inline", b"p".to_vec()), lease)
        .await
        .expect("enqueue claimed")
        .expect("created");
    f.queue.commit(tx).await.expect("commit");
    let stored = f.job("inline").await;
    // What enqueue_claimed_in answers without reading it back is what was written.
    assert_eq!(
        (
            claimed.id,
            claimed.state,
            claimed.attempts,
            &claimed.lease_owner
        ),
        (
            stored.id,
            stored.state,
            stored.attempts,
            &stored.lease_owner
        )
    );
    assert_eq!((stored.state, stored.attempts), (JobState::Running, 1));

    let mut tx = f.db().begin_write().await.expect("begin");
    let settled = f
        .queue
        .settle_in(&mut tx, &claimed, &Ok(JobOutcome::Done), &config().retry)
        .await
        .expect("settle in tx");
    assert!(settled);
    tx.rollback()
        .await
        .expect("the closing transaction is lost");
    assert_eq!(f.job("inline").await.state, JobState::Running);

    let worker = f.worker(Arc::new(Effects::new(f.db())));
    assert_eq!(worker.run_once().await.expect("round"), 0, "still leased");
    f.clock.advance(lease + Duration::from_secs(1));
    assert_eq!(worker.run_once().await.expect("round"), 1);
    let job = f.job("inline").await;
    assert_eq!((job.state, job.attempts), (JobState::Done, 2));
    assert_eq!(f.count("inline", "done").await, 1);

    // Settled in a transaction that commits, a claimed job is finished with it.
    let mut tx = f.db().begin_write().await.expect("begin");
    let claimed = f
        .queue
        .enqueue_claimed_in(&mut tx, NewJob::new(KIND, "kept", Vec::new()), lease)
        .await
        .expect("enqueue claimed")
        .expect("created");
    let retry = Err(JobError::Retry("peer down".into()));
    assert!(
        f.queue
            .settle_in(&mut tx, &claimed, &retry, &config().retry)
            .await
            .expect("settle in tx")
    );
    f.queue.commit(tx).await.expect("commit");
    let job = f.job("kept").await;
    assert_eq!(
        (job.state, job.attempts, job.last_error.as_str()),
        (JobState::Pending, 1, "peer down")
    );
    f.cleanup().await;
}

async fn shutdown_drains_a_running_job(backend: Backend) {
    let f = Fixture::new(backend).await;
    let mut handler = Effects::new(f.db());
    handler.hold = Duration::from_millis(500);
    let handler = Arc::new(handler);
    let worker = f.worker(handler.clone());
    let entered = handler.entered.notified();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(worker.run(async move {
        let _ = stopped.await;
    }));
    f.enqueue("draining").await;
    entered.await;
    let _ = stop.send(());
    tokio::time::timeout(Duration::from_secs(10), task)
        .await
        .expect("stops within the grace period")
        .expect("worker task");
    assert_eq!(f.job("draining").await.state, JobState::Done);
    assert_eq!(f.count("draining", "done").await, 1);
    // Stopped: nothing new is claimed.
    f.enqueue("after").await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(f.job("after").await.state, JobState::Pending);
    f.cleanup().await;
}

async fn finished_jobs_are_purged_after_their_retention(backend: Backend) {
    let f = Fixture::new(backend).await;
    let handler =
        Effects::new(f.db()).script("failing", vec![Err(JobError::Permanent("bad".into()))]);
    let worker = f.worker(Arc::new(handler));
    f.enqueue("old").await;
    f.enqueue("failing").await;
    assert_eq!(worker.run_once().await.expect("round"), 2);
    f.clock.advance(Duration::from_secs(1800));
    f.enqueue("recent").await;
    assert_eq!(worker.run_once().await.expect("round"), 1);
    // Within the retention nothing goes; past it only the old finished job does.
    assert_eq!(worker.purge_finished().await.expect("purge"), 0);
    f.clock.advance(Duration::from_secs(1801));
    assert_eq!(worker.purge_finished().await.expect("purge"), 1);
    assert!(f.queue.get(KIND, "old").await.expect("get").is_none());
    assert_eq!(f.job("recent").await.state, JobState::Done);
    assert_eq!(f.job("failing").await.state, JobState::Dead);
    // The running worker purges on its own: the recent job goes once past its retention too.
    f.clock.advance(Duration::from_secs(3600));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(worker.run(async move {
        let _ = stopped.await;
    }));
    let gone = async {
        while f.queue.get(KIND, "recent").await.expect("get").is_some() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(10), gone)
        .await
        .expect("purged by the running worker");
    let _ = stop.send(());
    task.await.expect("worker task");
    assert_eq!(f.job("failing").await.state, JobState::Dead);
    f.cleanup().await;
}

/// Kills the worker's process (SIGKILL) in the middle of a job; a new worker on the same database
/// runs it once to completion after the dead process's lease runs out.
async fn a_killed_worker_process_loses_no_job(backend: Backend) {
    let f = Fixture::new(backend).await;
    f.enqueue("killed").await;
    let exe = std::env::current_exe().expect("test binary");
    let child = std::process::Command::new(exe)
        .args([
            "kill_child_worker",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_DB_VAR, &f.database.url)
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("child worker");
    let mut child = KillOnDrop(child);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while f.count("killed", "started").await == 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "child never started the job"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    child.0.kill().expect("SIGKILL the child");
    child.0.wait().expect("child reaped");
    let job = f.job("killed").await;
    assert_eq!((job.state, job.attempts), (JobState::Running, 1));
    assert_eq!(f.count("killed", "done").await, 0);

    // The restart: a fresh worker waits for the dead process's lease, then finishes the job.
    let worker = f.worker(Arc::new(Effects::new(f.db())));
    assert_eq!(worker.run_once().await.expect("round"), 0, "still leased");
    f.clock.advance(Duration::from_secs(600));
    assert_eq!(worker.run_once().await.expect("round"), 1);
    let job = f.job("killed").await;
    assert_eq!((job.state, job.attempts), (JobState::Done, 2));
    assert_eq!(f.count("killed", "started").await, 2);
    assert_eq!(f.count("killed", "done").await, 1);
    f.cleanup().await;
}

struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The child role of the kill test (a no-op when run as a test): a worker on the parent's
/// database whose job hangs until the parent kills the process.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_child_worker() {
    let Ok(url) = std::env::var(CHILD_DB_VAR) else {
        return;
    };
    let db = Db::connect(&url, &PoolSettings::default())
        .await
        .expect("child database");
    let queue = JobQueue::new(SERVICE, db.clone(), clock::system());
    let mut handler = Effects::new(&db);
    handler.hang_forever = true;
    JobWorker::new(queue, config())
        .handle(Arc::new(handler))
        .run(std::future::pending())
        .await;
}

backend_tests!(
    rolled_back_enqueue_leaves_no_job,
    duplicate_key_is_one_job,
    retries_with_backoff_then_succeeds,
    a_handler_may_ask_to_run_later,
    a_permanent_error_is_dead_at_once_and_can_be_retried,
    attempts_run_out_into_a_dead_letter,
    racing_workers_run_each_job_once,
    an_expired_lease_is_taken_over_and_completes_once,
    a_claimed_job_settled_in_a_lost_transaction_runs_after_its_lease,
    shutdown_drains_a_running_job,
    finished_jobs_are_purged_after_their_retention,
    a_killed_worker_process_loses_no_job,
);
