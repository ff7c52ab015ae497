//! Scenario c: the database of one process cut (its Postgres for an intake replica, its Redis
//! for a dispatch replica): health turns NOT_SERVING within two health intervals, calls fail
//! fast with UNAVAILABLE while it is unhealthy, it recovers when the database returns, and the
//! calls refused during the cut leave nothing half-written (retried, each is one incident with
//! one call).

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use pingan_bench::calls::{self, Places};
use pingan_proto::dispatch::v1::FindNearestUnitsRequest;
use pingan_proto::intake::v1::GetIncidentRequest;

use crate::common::{Verdict, code, ms, report_until_answered};
use crate::world::World;

/// Distinct calls sent while unhealthy (then retried after the restore).
const PROBES: usize = 10;
/// The fail-fast bound.
const FAST: Duration = Duration::from_millis(100);

/// Runs both cuts.
pub async fn run(world: &World, run: &str) -> anyhow::Result<Verdict> {
    let mut verdict = Verdict::new("c. database cuts");
    postgres(world, run, &mut verdict).await?;
    redis(world, &mut verdict).await?;
    Ok(verdict)
}

/// The health half: NOT_SERVING within 2 intervals; returns whether it turned.
async fn turned_unhealthy(
    world: &World,
    service: &str,
    label: &str,
    verdict: &mut Verdict,
) -> bool {
    let limit = world.health_interval * 2;
    match world
        .wait_health(service, 2, 2, Duration::from_secs(10))
        .await
    {
        Some(after) => {
            verdict.figure(&format!("{label} NOT_SERVING after"), ms(after));
            verdict.check(
                after <= limit,
                format!(
                    "{label}: NOT_SERVING after {} (> 2 health intervals, {})",
                    ms(after),
                    ms(limit)
                ),
            );
            true
        }
        None => {
            verdict.figure(&format!("{label} NOT_SERVING after"), "never (10 s)");
            verdict.check(false, format!("{label}: health never turned NOT_SERVING"));
            false
        }
    }
}

/// Probes `probe` every 200 ms while the cut holds (at least 3 s and 4 health intervals), and
/// samples the health between probes: (latency, code, message) per probe, and how often the
/// health said SERVING during the cut.
async fn hold<F, Fut>(
    world: &World,
    service: &str,
    probe: F,
) -> (Vec<(Duration, String, String)>, usize)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<(), tonic::Status>>,
{
    let window = (world.health_interval * 4).max(Duration::from_secs(3));
    let started = Instant::now();
    let mut probes = Vec::new();
    let mut serving = 0;
    while started.elapsed() < window {
        let sent = Instant::now();
        let answer = probe().await;
        let latency = sent.elapsed();
        probes.push(match answer {
            Ok(()) => (latency, "OK".to_owned(), String::new()),
            Err(s) => (latency, format!("{:?}", s.code()), s.message().to_owned()),
        });
        if world.health(service, 2).await == 1 {
            serving += 1;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    (probes, serving)
}

/// Records the probes' codes and slowest answer.
fn judge_probes(
    label: &str,
    (probes, serving): &(Vec<(Duration, String, String)>, usize),
    verdict: &mut Verdict,
) {
    let slowest = probes.iter().map(|p| p.0).max().unwrap_or_default();
    let codes: BTreeSet<&str> = probes.iter().map(|p| p.1.as_str()).collect();
    if let Some(other) = probes.iter().find(|p| p.1 != "Unavailable") {
        println!(
            "  {label}: a call while cut answered {}: {}",
            other.1, other.2
        );
    }
    verdict.check(
        *serving == 0,
        format!("{label}: health said SERVING {serving} times during the cut"),
    );
    verdict.figure(
        &format!("{label} calls while cut"),
        format!(
            "{} answered {:?}, slowest {}",
            probes.len(),
            codes,
            ms(slowest)
        ),
    );
    verdict.check(
        probes.iter().all(|p| p.1 == "Unavailable"),
        format!("{label}: calls while unhealthy answered {codes:?}, not only UNAVAILABLE"),
    );
    verdict.check(
        slowest <= FAST,
        format!(
            "{label}: slowest refusal {} (> {}; needs the fail-fast fix)",
            ms(slowest),
            ms(FAST)
        ),
    );
}

async fn postgres(world: &World, run: &str, verdict: &mut Verdict) -> anyhow::Result<()> {
    let label = "intake-2 Postgres";
    let relay = world
        .six
        .instance("intake", 2)
        .and_then(|i| i.postgres.as_ref())
        .ok_or_else(|| anyhow::anyhow!("intake-2 has no Postgres proxy"))?;
    let client = world.intake(Some(2))?;
    let places = Places::demo()?;
    let requests: Vec<_> = (0..PROBES)
        .map(|i| calls::call(&places, &format!("{run}-pgcut"), i as u64))
        .collect();
    relay.cut();
    let cut_at = Instant::now();
    let unhealthy = turned_unhealthy(world, "intake", label, verdict).await;
    if unhealthy {
        let next = std::sync::atomic::AtomicUsize::new(0);
        let probes = hold(world, "intake", || {
            let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let request = requests[i % requests.len()].clone();
            let mut client = client.clone();
            async move {
                let mut call = tonic::Request::new(request);
                call.set_timeout(Duration::from_secs(10));
                client.report_call(call).await.map(|_| ())
            }
        })
        .await;
        judge_probes(label, &probes, verdict);
    }
    relay.restore();
    let restored_at = Instant::now();
    match world
        .wait_health("intake", 2, 1, Duration::from_secs(60))
        .await
    {
        Some(after) => verdict.figure(&format!("{label} SERVING again after"), ms(after)),
        None => verdict.check(
            false,
            format!("{label}: not SERVING 60 s after the restore"),
        ),
    }
    verdict.figure(
        &format!("{label} cut for"),
        ms(restored_at.duration_since(cut_at)),
    );
    // The refused calls, retried: each one incident holding the call once.
    let mut incidents = BTreeSet::new();
    let mut half = 0;
    for request in &requests {
        let (answer, _) =
            report_until_answered(&client, request.clone(), Duration::from_secs(30)).await;
        let answer = match answer {
            Ok(a) => a,
            Err(e) => {
                verdict.check(false, format!("{label}: a retried call failed: {e}"));
                continue;
            }
        };
        let (again, _) =
            report_until_answered(&client, request.clone(), Duration::from_secs(30)).await;
        verdict.check(
            again
                .as_ref()
                .is_ok_and(|a| a.incident_id == answer.incident_id),
            format!("{label}: a repeated call answered another incident"),
        );
        incidents.insert(answer.incident_id.clone());
        let incident = client
            .clone()
            .get_incident(GetIncidentRequest {
                incident_id: answer.incident_id.clone(),
                ..Default::default()
            })
            .await
            .map_err(|s| anyhow::anyhow!("GetIncident: {}", code(&s)))?
            .into_inner()
            .incident;
        let copies = incident.map_or(0, |i| {
            i.calls
                .iter()
                .filter(|c| c.source_call_id == request.source_call_id)
                .count()
        });
        if copies != 1 {
            half += 1;
        }
    }
    verdict.figure(
        &format!("{label} refused calls retried"),
        format!(
            "{} calls → {} incidents, {half} not held exactly once",
            requests.len(),
            incidents.len()
        ),
    );
    verdict.check(
        half == 0,
        format!("{label}: {half} calls not held exactly once"),
    );
    Ok(())
}

async fn redis(world: &World, verdict: &mut Verdict) -> anyhow::Result<()> {
    let label = "dispatch-2 Redis";
    let relay = world
        .six
        .instance("dispatch", 2)
        .and_then(|i| i.redis.as_ref())
        .ok_or_else(|| anyhow::anyhow!("dispatch-2 has no Redis proxy"))?;
    let client = world.dispatch(Some(2))?;
    let near = || FindNearestUnitsRequest {
        location: Some(pingan_bench::fleet::CENTER),
        radius_m: 50_000.0,
        only_available: false,
        limit: 5,
        ..Default::default()
    };
    client
        .clone()
        .find_nearest_units(near())
        .await
        .map_err(|s| anyhow::anyhow!("{label}: FindNearestUnits before the cut: {}", code(&s)))?;
    relay.cut();
    let cut_at = Instant::now();
    if turned_unhealthy(world, "dispatch", label, verdict).await {
        let probes = hold(world, "dispatch", || {
            let mut client = client.clone();
            async move {
                let mut call = tonic::Request::new(near());
                call.set_timeout(Duration::from_secs(10));
                client.find_nearest_units(call).await.map(|_| ())
            }
        })
        .await;
        judge_probes(label, &probes, verdict);
    }
    relay.restore();
    let restored_at = Instant::now();
    match world
        .wait_health("dispatch", 2, 1, Duration::from_secs(60))
        .await
    {
        Some(after) => verdict.figure(&format!("{label} SERVING again after"), ms(after)),
        None => verdict.check(
            false,
            format!("{label}: not SERVING 60 s after the restore"),
        ),
    }
    verdict.figure(
        &format!("{label} cut for"),
        ms(restored_at.duration_since(cut_at)),
    );
    let after = client.clone().find_nearest_units(near()).await;
    verdict.check(
        after.is_ok(),
        format!(
            "{label}: FindNearestUnits after the restore: {:?}",
            after.err().map(|s| s.code())
        ),
    );
    Ok(())
}
