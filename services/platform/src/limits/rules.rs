//! The pure rules of the call limits: token buckets and the failed-authentication window.
//! Time is passed in, so the rules are tested without sleeping.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// A sustained rate with a burst allowance.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    /// Calls per second, sustained.
    pub per_second: f64,
    /// Calls that may arrive at once after a quiet spell.
    pub burst: f64,
}

impl Rate {
    /// `per_second` sustained, `burst` at once (at least one call).
    pub fn new(per_second: f64, burst: f64) -> Self {
        Self {
            per_second: per_second.max(0.0),
            burst: burst.max(1.0),
        }
    }

    /// Parses `RATE` or `RATE/BURST` (calls per second, burst in calls; burst defaults to 2×rate).
    pub fn parse(text: &str) -> Result<Self, String> {
        let (rate, burst) = match text.split_once('/') {
            Some((rate, burst)) => (rate, Some(burst)),
            None => (text, None),
        };
        let rate: f64 = rate
            .trim()
            .parse()
            .map_err(|_| format!("rate `{text}`: expected calls per second, e.g. 20 or 20/60"))?;
        let burst: f64 = match burst {
            Some(burst) => burst
                .trim()
                .parse()
                .map_err(|_| format!("rate `{text}`: burst is not a number"))?,
            None => rate * 2.0,
        };
        if !(rate.is_finite() && burst.is_finite()) || rate <= 0.0 || burst < 1.0 {
            return Err(format!(
                "rate `{text}`: rate must be > 0 and burst ≥ 1 call"
            ));
        }
        Ok(Self::new(rate, burst))
    }
}

/// A token bucket: full at creation, refilled continuously at the rate.
#[derive(Debug, Clone)]
pub struct Bucket {
    tokens: f64,
    updated: Instant,
}

impl Bucket {
    /// A full bucket.
    pub fn full(rate: Rate, now: Instant) -> Self {
        Self {
            tokens: rate.burst,
            updated: now,
        }
    }

    fn refill(&mut self, rate: Rate, now: Instant) {
        let elapsed = now.saturating_duration_since(self.updated).as_secs_f64();
        self.tokens = (self.tokens + elapsed * rate.per_second).min(rate.burst);
        self.updated = now;
    }

    /// Takes one call; when empty, how long until one is available.
    pub fn take(&mut self, rate: Rate, now: Instant) -> Result<(), Duration> {
        self.refill(rate, now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            return Ok(());
        }
        let missing = 1.0 - self.tokens;
        Err(
            Duration::from_secs_f64(missing / rate.per_second.max(f64::MIN_POSITIVE))
                .max(Duration::from_millis(1)),
        )
    }

    /// True when the bucket has refilled completely (it can be forgotten).
    pub fn is_full(&self, rate: Rate, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.updated).as_secs_f64();
        self.tokens + elapsed * rate.per_second >= rate.burst
    }
}

/// When repeated failed authentications block a source (CJIS: at most 5 in 10 minutes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailurePolicy {
    /// Failures within `window` that block the source.
    pub limit: usize,
    /// The sliding window failures are counted in.
    pub window: Duration,
    /// How long a blocked source stays blocked.
    pub block: Duration,
}

/// The failed authentications of one source.
#[derive(Debug, Clone, Default)]
pub struct Failures {
    recent: VecDeque<Instant>,
    blocked_until: Option<Instant>,
}

/// What recording a failure did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureOutcome {
    /// Counted; the source may go on.
    Counted(usize),
    /// This failure blocked the source until the instant.
    Blocked(Instant),
}

impl Failures {
    fn forget_old(&mut self, policy: FailurePolicy, now: Instant) {
        while self
            .recent
            .front()
            .is_some_and(|at| now.saturating_duration_since(*at) >= policy.window)
        {
            self.recent.pop_front();
        }
    }

    /// Counts a failure at `now`; the `limit`-th within the window blocks the source.
    pub fn record(&mut self, policy: FailurePolicy, now: Instant) -> FailureOutcome {
        self.forget_old(policy, now);
        self.recent.push_back(now);
        if self.recent.len() >= policy.limit && self.blocked(now).is_none() {
            let until = now + policy.block;
            self.blocked_until = Some(until);
            self.recent.clear();
            return FailureOutcome::Blocked(until);
        }
        FailureOutcome::Counted(self.recent.len())
    }

    /// How long the source stays blocked, if it is.
    pub fn blocked(&self, now: Instant) -> Option<Duration> {
        self.blocked_until
            .filter(|until| *until > now)
            .map(|until| until.saturating_duration_since(now))
    }

    /// True when nothing is remembered any more (the entry can be dropped).
    pub fn is_stale(&mut self, policy: FailurePolicy, now: Instant) -> bool {
        self.forget_old(policy, now);
        self.recent.is_empty() && self.blocked(now).is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_allows_its_burst_then_the_rate() {
        let rate = Rate::new(10.0, 3.0);
        let start = Instant::now();
        let mut bucket = Bucket::full(rate, start);
        for _ in 0..3 {
            assert!(bucket.take(rate, start).is_ok());
        }
        let wait = bucket.take(rate, start).expect_err("empty");
        assert!(wait <= Duration::from_millis(100) && wait >= Duration::from_millis(99));
        assert!(
            bucket
                .take(rate, start + Duration::from_millis(100))
                .is_ok()
        );
        assert!(
            bucket
                .take(rate, start + Duration::from_millis(100))
                .is_err()
        );
        assert!(!bucket.is_full(rate, start + Duration::from_millis(100)));
        assert!(bucket.is_full(rate, start + Duration::from_secs(1)));
    }

    #[test]
    fn rates_parse_with_and_without_burst() {
        assert_eq!(Rate::parse("20").expect("rate"), Rate::new(20.0, 40.0));
        assert_eq!(Rate::parse("5/12").expect("rate"), Rate::new(5.0, 12.0));
        for bad in ["", "x", "0", "-1", "3/0", "3/x", "inf"] {
            assert!(Rate::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_fifth_failure_in_ten_minutes_blocks_for_the_block_time() {
        let policy = FailurePolicy {
            limit: 5,
            window: Duration::from_secs(600),
            block: Duration::from_secs(900),
        };
        let start = Instant::now();
        let mut failures = Failures::default();
        for i in 0..4 {
            let at = start + Duration::from_secs(i * 100);
            assert_eq!(
                failures.record(policy, at),
                FailureOutcome::Counted(i as usize + 1)
            );
        }
        let fifth = start + Duration::from_secs(599);
        assert_eq!(
            failures.record(policy, fifth),
            FailureOutcome::Blocked(fifth + policy.block)
        );
        assert_eq!(failures.blocked(fifth), Some(policy.block));
        assert!(failures.blocked(fifth + policy.block).is_none());
        assert!(failures.is_stale(policy, fifth + policy.block));
    }

    #[test]
    fn failures_spread_beyond_the_window_never_block() {
        let policy = FailurePolicy {
            limit: 5,
            window: Duration::from_secs(600),
            block: Duration::from_secs(900),
        };
        let start = Instant::now();
        let mut failures = Failures::default();
        for i in 0..20 {
            let outcome = failures.record(policy, start + Duration::from_secs(i * 151));
            assert!(
                matches!(outcome, FailureOutcome::Counted(n) if n <= 4),
                "{i}"
            );
        }
    }
}
