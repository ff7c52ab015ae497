//! Call limits in front of every service: a token bucket per caller (and optionally per role),
//! and a temporary block of a source address after repeated failed authentications (CJIS: at most
//! 5 in 10 minutes). Both answer RESOURCE_EXHAUSTED with a RetryInfo detail, count in metrics and
//! report what they did as [`GuardEvent`]s (the host turns them into audit records).

mod audit;
mod layer;
pub mod rules;

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{LazyLock, Mutex, PoisonError};
use std::time::{Duration, Instant};

use prometheus::{IntCounter, IntCounterVec, IntGauge};
use tokio::sync::mpsc;
use tonic_types::{ErrorDetails, StatusExt};

pub use self::audit::audit_worker;
pub use self::layer::{GuardLayer, GuardService};
use self::rules::{Bucket, FailureOutcome, FailurePolicy, Failures, Rate};
use crate::auth::{Authenticator, Caller, Role, ServiceCalls};

/// Remembered entries beyond which idle ones are dropped (bounded memory under a spray of
/// sources or subjects).
const PRUNE_ABOVE: usize = 10_000;
/// At most one audit event per limited subject in this long.
const LIMITED_EVENT_EVERY: Duration = Duration::from_secs(60);

static LIMITED: LazyLock<Option<IntCounterVec>> = LazyLock::new(|| {
    crate::metrics::register(IntCounterVec::new(
        prometheus::Opts::new(
            "pingan_rate_limited_total",
            "Calls refused by a rate limit, by bucket (subject or role)",
        ),
        &["bucket"],
    ))
});

static AUTH_FAILURES: LazyLock<Option<IntCounterVec>> = LazyLock::new(|| {
    crate::metrics::register(IntCounterVec::new(
        prometheus::Opts::new(
            "pingan_auth_failures_total",
            "Calls answered UNAUTHENTICATED, and calls refused from a blocked source",
        ),
        &["outcome"],
    ))
});

static SERVICE_CALLS_REFUSED: LazyLock<Option<IntCounter>> = LazyLock::new(|| {
    crate::metrics::register(IntCounter::new(
        "pingan_service_calls_refused_total",
        "Calls by a service refused because it does not make that call (a compromised or misconfigured peer)",
    ))
});

static BLOCKED_SOURCES: LazyLock<Option<IntGauge>> = LazyLock::new(|| {
    crate::metrics::register(IntGauge::new(
        "pingan_auth_blocked_sources",
        "Source addresses blocked after repeated failed authentications",
    ))
});

/// Registers the series at zero, so dashboards see them from process start.
fn register_metrics() {
    if let Some(limited) = LIMITED.as_ref() {
        for bucket in ["subject", "role"] {
            limited.with_label_values(&[bucket]);
        }
    }
    if let Some(failures) = AUTH_FAILURES.as_ref() {
        for outcome in ["counted", "blocked", "refused_while_blocked"] {
            failures.with_label_values(&[outcome]);
        }
    }
    LazyLock::force(&BLOCKED_SOURCES);
    LazyLock::force(&SERVICE_CALLS_REFUSED);
}

/// How callers are limited.
#[derive(Debug, Clone, PartialEq)]
pub struct LimitsConfig {
    /// Each caller (token subject); `None`: no per-caller limit.
    pub per_subject: Option<Rate>,
    /// Callers holding any of these roles are not limited per subject (other services, the
    /// 110/12345 platforms whose volume is the public's, and administrators' bulk imports).
    pub exempt_roles: Vec<Role>,
    /// A shared bucket for all callers of a role (checked besides the subject's).
    pub per_role: Vec<(Role, Rate)>,
    /// When failed authentications block a source.
    pub failures: FailurePolicy,
    /// Sources never blocked.
    pub never_blocked: Vec<crate::config::Cidr>,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            per_subject: Some(Rate::new(100.0, 1000.0)),
            exempt_roles: vec![
                Role::Service,
                Role::CallIntegrator,
                Role::HotlineIntegrator,
                Role::Admin,
            ],
            per_role: Vec::new(),
            failures: FailurePolicy {
                limit: 5,
                window: Duration::from_secs(600),
                block: Duration::from_secs(900),
            },
            never_blocked: crate::config::limits::loopback(),
        }
    }
}

/// What the guard did, for the audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GuardEvent {
    /// A source was blocked after `failures` failed authentications.
    SourceBlocked {
        /// The blocked address.
        source: IpAddr,
        /// For how long.
        block: Duration,
        /// Failures that led to it.
        failures: usize,
    },
    /// A caller went over its rate (reported at most once a minute per caller).
    CallerLimited {
        /// Token subject.
        subject: String,
        /// `subject` or the role whose shared bucket was empty.
        bucket: String,
    },
    /// A service called an RPC it is not declared to call (reported at most once a minute per
    /// service and path).
    ServiceCallRefused {
        /// The calling service.
        subject: String,
        /// The gRPC path it called.
        path: String,
    },
}

/// Why a call was refused before it reached the service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The source is blocked for this long.
    SourceBlocked(Duration),
    /// The caller's (or its role's) bucket is empty; retry after this long.
    RateLimited(Duration),
    /// A service called an RPC no service of its name is declared to call.
    ServiceCall,
}

impl Refusal {
    /// The answer: RESOURCE_EXHAUSTED with a RetryInfo detail for limits, PERMISSION_DENIED for
    /// a service's undeclared call.
    pub fn to_status(self) -> tonic::Status {
        let (message, retry) = match self {
            Self::ServiceCall => {
                return tonic::Status::permission_denied(
                    "this service does not make this call: not allowed to role `service` with this identity",
                );
            }
            Self::SourceBlocked(retry) => (
                "too many failed authentications from this address: blocked for a while",
                retry,
            ),
            Self::RateLimited(retry) => ("rate limit exceeded for this caller", retry),
        };
        tonic::Status::with_error_details(
            tonic::Code::ResourceExhausted,
            message,
            ErrorDetails::with_retry_info(Some(retry)),
        )
    }
}

#[derive(Debug, Default)]
struct State {
    subjects: HashMap<String, Bucket>,
    roles: HashMap<Role, Bucket>,
    sources: HashMap<IpAddr, Failures>,
    reported: HashMap<String, Instant>,
}

/// The limits of one process, shared by every connection.
#[derive(Debug)]
pub struct Guard {
    config: LimitsConfig,
    authenticator: Authenticator,
    state: Mutex<State>,
    events: Option<mpsc::UnboundedSender<GuardEvent>>,
}

impl Guard {
    /// A guard checking tokens with `authenticator`.
    pub fn new(config: LimitsConfig, authenticator: Authenticator) -> Self {
        register_metrics();
        Self {
            config,
            authenticator,
            state: Mutex::default(),
            events: None,
        }
    }

    /// Reports what the guard does on `events`.
    pub fn with_events(mut self, events: mpsc::UnboundedSender<GuardEvent>) -> Self {
        self.events = Some(events);
        self
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // The state stays consistent whatever panicked while holding it: only counters.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn report(&self, event: GuardEvent) {
        if let Some(events) = &self.events {
            let _ = events.send(event);
        }
    }

    /// The caller of a request's metadata, when its token is valid.
    pub fn caller(&self, metadata: &tonic::metadata::MetadataMap) -> Option<Caller> {
        self.authenticator.authenticate(metadata).ok()
    }

    /// The caller of a request: its valid token, else the service its client certificate names.
    pub fn caller_with_peer(
        &self,
        metadata: &tonic::metadata::MetadataMap,
        peer: Option<&crate::auth::ServicePeer>,
    ) -> Option<Caller> {
        self.authenticator
            .authenticate_with_peer(metadata, peer)
            .ok()
    }

    fn never_blocked(&self, source: IpAddr) -> bool {
        self.config
            .never_blocked
            .iter()
            .any(|range| range.contains(source))
    }

    /// Refuses a call without a valid token from a blocked source (calls with one go on: a
    /// whole command room behind one address is not locked out by one mistyped key).
    pub fn check_source(&self, source: IpAddr, now: Instant) -> Result<(), Refusal> {
        if self.never_blocked(source) {
            return Ok(());
        }
        let blocked = self
            .state()
            .sources
            .get(&source)
            .and_then(|failures| failures.blocked(now));
        match blocked {
            Some(left) => {
                count_failure("refused_while_blocked");
                Err(Refusal::SourceBlocked(left))
            }
            None => Ok(()),
        }
    }

    /// Takes one call from the caller's bucket and its roles' shared buckets.
    pub fn admit(&self, caller: &Caller, now: Instant) -> Result<(), Refusal> {
        let exempt = caller.has_any(&self.config.exempt_roles);
        let mut state = self.state();
        if !exempt && let Some(rate) = self.config.per_subject {
            if state.subjects.len() > PRUNE_ABOVE {
                state
                    .subjects
                    .retain(|_, bucket| !bucket.is_full(rate, now));
            }
            let bucket = state
                .subjects
                .entry(caller.subject.clone())
                .or_insert_with(|| Bucket::full(rate, now));
            if let Err(retry) = bucket.take(rate, now) {
                drop(state);
                self.limited(caller, "subject", now);
                return Err(Refusal::RateLimited(retry));
            }
        }
        for (role, rate) in &self.config.per_role {
            if !caller.has_role(*role) {
                continue;
            }
            let bucket = state
                .roles
                .entry(*role)
                .or_insert_with(|| Bucket::full(*rate, now));
            if let Err(retry) = bucket.take(*rate, now) {
                drop(state);
                self.limited(caller, role.as_str(), now);
                return Err(Refusal::RateLimited(retry));
            }
        }
        Ok(())
    }

    fn limited(&self, caller: &Caller, bucket: &str, now: Instant) {
        if let Some(limited) = LIMITED.as_ref() {
            let label = if bucket == "subject" {
                "subject"
            } else {
                "role"
            };
            limited.with_label_values(&[label]).inc();
        }
        let key = format!("{bucket}\u{0}{}", caller.subject);
        let due = self.due_report(key, now);
        if due {
            tracing::warn!(subject = %caller.subject, bucket, "caller rate-limited");
            self.report(GuardEvent::CallerLimited {
                subject: caller.subject.clone(),
                bucket: bucket.to_owned(),
            });
        }
    }

    /// True when the event under `key` was not reported in the last minute (and notes it now).
    fn due_report(&self, key: String, now: Instant) -> bool {
        let mut state = self.state();
        if state.reported.len() > PRUNE_ABOVE {
            state
                .reported
                .retain(|_, at| now.saturating_duration_since(*at) < LIMITED_EVENT_EVERY);
        }
        match state.reported.get(&key) {
            Some(at) if now.saturating_duration_since(*at) < LIMITED_EVENT_EVERY => false,
            _ => {
                state.reported.insert(key, now);
                true
            }
        }
    }

    /// Refuses a call by a service that is not declared to make it (see [`ServiceCalls`]).
    pub fn check_service_call(
        &self,
        calls: &ServiceCalls,
        caller: &Caller,
        path: &str,
        now: Instant,
    ) -> Result<(), Refusal> {
        if calls.permits(caller, path) {
            return Ok(());
        }
        if let Some(refused) = SERVICE_CALLS_REFUSED.as_ref() {
            refused.inc();
        }
        let key = format!("service-call\u{0}{}\u{0}{path}", caller.subject);
        if self.due_report(key, now) {
            tracing::warn!(subject = %caller.subject, path, "service call refused: not declared for this service");
            self.report(GuardEvent::ServiceCallRefused {
                subject: caller.subject.clone(),
                path: path.to_owned(),
            });
        }
        Err(Refusal::ServiceCall)
    }

    /// Counts a call from `source` answered UNAUTHENTICATED.
    pub fn failed(&self, source: IpAddr, now: Instant) {
        if self.never_blocked(source) {
            count_failure("counted");
            return;
        }
        let policy = self.config.failures;
        let (outcome, blocked) = {
            let mut state = self.state();
            if state.sources.len() > PRUNE_ABOVE {
                state
                    .sources
                    .retain(|_, failures| !failures.is_stale(policy, now));
            }
            let outcome = state.sources.entry(source).or_default().record(policy, now);
            let blocked = state
                .sources
                .values()
                .filter(|failures| failures.blocked(now).is_some())
                .count();
            (outcome, blocked)
        };
        if let Some(gauge) = BLOCKED_SOURCES.as_ref() {
            gauge.set(i64::try_from(blocked).unwrap_or(i64::MAX));
        }
        match outcome {
            FailureOutcome::Counted(_) => count_failure("counted"),
            FailureOutcome::Blocked(_) => {
                count_failure("blocked");
                tracing::warn!(%source, block = ?policy.block, "source blocked after failed authentications");
                self.report(GuardEvent::SourceBlocked {
                    source,
                    block: policy.block,
                    failures: policy.limit,
                });
            }
        }
    }
}

fn count_failure(outcome: &str) {
    if let Some(failures) = AUTH_FAILURES.as_ref() {
        failures.with_label_values(&[outcome]).inc();
    }
}
