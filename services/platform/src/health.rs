//! Health per service name: SERVING only while every dependency of the service (its database,
//! Redis) answers. Probed on an interval, each attempt bounded by [`probe_timeout`]; transitions
//! are logged, and which dependency a service waits for is kept in [`DependencyState`] for the
//! fail-fast layer.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;

use crate::redis_store::RedisStore;
use crate::storage::Db;

/// Something a service cannot serve without.
#[derive(Debug, Clone)]
pub enum Dependency {
    /// The service's own database.
    Database(Db),
    /// Redis (live positions).
    Redis(RedisStore),
}

impl Dependency {
    /// What the dependency is called in logs and in fail-fast answers.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Database(_) => "database",
            Self::Redis(_) => "redis",
        }
    }

    /// Probes the dependency once, bounded by `timeout`.
    pub async fn check(&self, timeout: Duration) -> Result<(), String> {
        let probe = async {
            match self {
                Self::Database(db) => db.ping().await.map_err(|e| e.to_string()),
                Self::Redis(redis) => redis.ping().await.map_err(|e| e.to_string()),
            }
        };
        match tokio::time::timeout(timeout, probe).await {
            Ok(result) => result,
            Err(_) => Err(format!("no answer within {timeout:?}")),
        }
    }
}

/// Which dependency each service is waiting for, as the last probe found it. The fail-fast
/// layer ([`crate::server::FailFastLayer`]) reads it on every call, so a service whose database
/// is down answers UNAVAILABLE at once instead of letting each call wait for a connection.
#[derive(Debug, Clone, Default)]
pub struct DependencyState(Arc<RwLock<HashMap<String, &'static str>>>);

impl DependencyState {
    /// The dependency `service` (full gRPC name) is waiting for; `None` while it is serving.
    pub fn down(&self, service: &str) -> Option<&'static str> {
        self.0
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(service)
            .copied()
    }

    /// Records that `service` waits for `dependency` (or, with `None`, for nothing).
    pub fn set(&self, service: &str, dependency: Option<&'static str>) {
        let mut map = self
            .0
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match dependency {
            Some(dependency) => {
                map.insert(service.to_owned(), dependency);
            }
            None => {
                map.remove(service);
            }
        }
    }
}

/// How health reaches one dependency.
#[derive(Debug, Clone)]
enum Probe {
    /// The service's pool (is it closed?) and a one-connection pool of its own to the same
    /// database, so a pool busy with calls is not mistaken for a database that is down.
    Database { pool: Db, probe: Db },
    /// Redis (its connection manager reconnects by itself).
    Redis(RedisStore),
}

impl Probe {
    fn new(dependency: Dependency) -> Self {
        match dependency {
            Dependency::Database(pool) => Self::Database {
                probe: pool.probe_pool(PROBE_CONNECT_TIMEOUT),
                pool,
            },
            Dependency::Redis(redis) => Self::Redis(redis),
        }
    }

    fn name(&self) -> &'static str {
        match self {
            Self::Database { .. } => "database",
            Self::Redis(_) => "redis",
        }
    }

    /// One attempt, bounded by `timeout`. The database probe runs in a task of its own that
    /// outlives the wait: a connection that takes longer to open than one attempt may wait is
    /// still opened (within [`PROBE_CONNECT_TIMEOUT`]) and used by the next attempt, instead of
    /// being given up again and again on a slow network.
    async fn attempt(&self, timeout: Duration) -> Result<(), String> {
        let result = match self {
            Self::Database { pool, .. } if pool.is_closed() => {
                return Err("connection pool closed".to_owned());
            }
            Self::Database { probe, .. } => {
                let probe = probe.clone();
                let task =
                    tokio::spawn(async move { probe.probe().await.map_err(|e| e.to_string()) });
                tokio::time::timeout(timeout, task)
                    .await
                    .map(|joined| joined.unwrap_or_else(|err| Err(format!("probe failed: {err}"))))
            }
            Self::Redis(redis) => {
                tokio::time::timeout(timeout, async {
                    redis.ping().await.map_err(|e| e.to_string())
                })
                .await
            }
        };
        result.unwrap_or_else(|_| Err(format!("no answer within {timeout:?}")))
    }

    /// Down only when two attempts in a row fail: the second runs on a fresh connection, so a
    /// connection that went stale while the database stayed up does not flip health.
    async fn check(&self, timeout: Duration) -> Result<(), String> {
        if self.attempt(timeout).await.is_ok() {
            return Ok(());
        }
        self.attempt(timeout).await
    }

    async fn close(&self) {
        if let Self::Database { probe, .. } = self {
            probe.close().await;
        }
    }
}

/// One gRPC service name and what it depends on.
#[derive(Debug, Clone)]
pub struct HealthTarget {
    /// Full gRPC service name, e.g. `pingan.intake.v1.IntakeService`.
    pub service_name: String,
    /// Dependencies that must answer for the service to be SERVING.
    probes: Vec<Probe>,
}

impl HealthTarget {
    /// `service_name` depends on `dependencies`.
    pub fn new(service_name: impl Into<String>, dependencies: Vec<Dependency>) -> Self {
        Self {
            service_name: service_name.into(),
            probes: dependencies.into_iter().map(Probe::new).collect(),
        }
    }

    /// The first dependency that does not answer, with the error; all probed at once.
    async fn failure(&self, timeout: Duration) -> Option<(&'static str, String)> {
        let checks = self.probes.iter().map(|probe| async move {
            probe
                .check(timeout)
                .await
                .err()
                .map(|err| (probe.name(), err))
        });
        futures::future::join_all(checks)
            .await
            .into_iter()
            .flatten()
            .next()
    }

    /// Closes the probes' own connections.
    pub async fn close(&self) {
        for probe in &self.probes {
            probe.close().await;
        }
    }
}

/// Probes every target once (all at once: a round takes at most two attempts of `timeout`)
/// and publishes the result, to health and to `state`; returns true when all are serving.
pub async fn probe_once(
    reporter: &HealthReporter,
    targets: &[HealthTarget],
    last: &mut Vec<Option<bool>>,
    timeout: Duration,
    state: &DependencyState,
) -> bool {
    last.resize(targets.len(), None);
    let failures =
        futures::future::join_all(targets.iter().map(|target| target.failure(timeout))).await;
    let mut all_serving = true;
    for ((target, previous), failure) in targets.iter().zip(last.iter_mut()).zip(failures) {
        let serving = failure.is_none();
        state.set(
            &target.service_name,
            failure.as_ref().map(|(name, _)| *name),
        );
        if *previous != Some(serving) {
            match &failure {
                None => tracing::info!(service = %target.service_name, "service serving"),
                Some((dependency, err)) => tracing::warn!(
                    service = %target.service_name,
                    dependency,
                    error = %err,
                    "service not serving: dependency unreachable"
                ),
            }
            *previous = Some(serving);
        }
        let status = if serving {
            ServingStatus::Serving
        } else {
            ServingStatus::NotServing
        };
        reporter
            .set_service_status(&target.service_name, status)
            .await;
        all_serving &= serving;
    }
    let overall = if all_serving {
        ServingStatus::Serving
    } else {
        ServingStatus::NotServing
    };
    reporter.set_service_status("", overall).await;
    all_serving
}

/// Probes every `interval` until the task is aborted; `last` is the state of the previous probe.
pub async fn watch(
    reporter: HealthReporter,
    targets: Vec<HealthTarget>,
    interval: Duration,
    mut last: Vec<Option<bool>>,
    state: DependencyState,
) {
    let timeout = probe_timeout(interval);
    let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        probe_once(&reporter, &targets, &mut last, timeout, &state).await;
    }
}

/// How long the health probe may take to open its own database connection (in the background:
/// an attempt waits [`probe_timeout`] at most).
const PROBE_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long one probe attempt may take: a third of the interval, between 100 ms and 2 s. A round
/// is at most two attempts, so a cut just after a probe shows within 1⅔ intervals: slack inside
/// the two-interval bound for a busy machine (half an interval left none — e2e saw 1,016 and
/// 1,028 ms against 1,000).
pub fn probe_timeout(interval: Duration) -> Duration {
    (interval / 3).clamp(Duration::from_millis(100), Duration::from_secs(2))
}

/// Marks every target (and the server as a whole) NOT_SERVING, e.g. when shutting down.
pub async fn mark_not_serving(reporter: &HealthReporter, targets: &[HealthTarget]) {
    for target in targets {
        reporter
            .set_service_status(&target.service_name, ServingStatus::NotServing)
            .await;
    }
    reporter
        .set_service_status("", ServingStatus::NotServing)
        .await;
}

#[cfg(test)]
mod probe_timing_tests {
    use super::*;

    #[test]
    fn a_cut_just_after_a_probe_shows_well_within_two_intervals() {
        for ms in [500_u64, 1_000, 2_000, 5_000] {
            let interval = Duration::from_millis(ms);
            let worst = interval + probe_timeout(interval) * 2;
            assert!(
                worst * 10 <= interval * 2 * 9,
                "{ms} ms: worst case {worst:?}"
            );
        }
    }
}
