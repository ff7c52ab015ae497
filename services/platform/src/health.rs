//! Health per service name: SERVING only while every dependency of the service (its database,
//! Redis) answers. Probed on an interval; transitions are logged.

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
    fn name(&self) -> &'static str {
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

/// One gRPC service name and what it depends on.
#[derive(Debug, Clone)]
pub struct HealthTarget {
    /// Full gRPC service name, e.g. `pingan.intake.v1.IntakeService`.
    pub service_name: String,
    /// Dependencies that must answer for the service to be SERVING.
    pub dependencies: Vec<Dependency>,
}

/// Probes every target once and publishes the result; returns true when all are serving.
pub async fn probe_once(
    reporter: &HealthReporter,
    targets: &[HealthTarget],
    last: &mut Vec<Option<bool>>,
    timeout: Duration,
) -> bool {
    last.resize(targets.len(), None);
    let mut all_serving = true;
    for (target, previous) in targets.iter().zip(last.iter_mut()) {
        let mut failure = None;
        for dependency in &target.dependencies {
            if let Err(err) = dependency.check(timeout).await {
                failure = Some((dependency.name(), err));
                break;
            }
        }
        let serving = failure.is_none();
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
) {
    let timeout = probe_timeout(interval);
    let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        probe_once(&reporter, &targets, &mut last, timeout).await;
    }
}

/// How long one probe may take: bounded by the interval, at most 3 s.
pub fn probe_timeout(interval: Duration) -> Duration {
    interval.clamp(Duration::from_millis(100), Duration::from_secs(3))
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
