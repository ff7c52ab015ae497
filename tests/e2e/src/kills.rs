//! Scenario b: a stream of calls at a steady rate while each service in turn is killed -9 and
//! restarted a few seconds later: every call ends on exactly one incident, routed; no unit is
//! held by two dispatches; the outboxes drain.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use pingan_bench::calls::{self, Places};
use pingan_bench::six::SERVICES;
use pingan_proto::intake::v1::ReportCallResponse;

use crate::common::{
    Verdict, double_bookings, drain_outboxes, incidents_received, ms, report_until_answered,
    wait_routed,
};
use crate::world::World;

/// The stream and the kills.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    /// Calls in the stream.
    pub calls: usize,
    /// Calls per second.
    pub rate: f64,
    /// Seconds between a kill and the restart.
    pub restart_after: Duration,
}

/// Runs the scenario.
pub async fn run(world: &mut World, run: &str, plan: Plan) -> anyhow::Result<Verdict> {
    let mut verdict = Verdict::new("b. kill -9 each service");
    let places = Arc::new(Places::demo()?);
    // Several connections through intake's balancer: calls reach both replicas.
    let clients = (0..4)
        .map(|_| world.intake(None))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let from = chrono::Utc::now() - chrono::Duration::seconds(1);
    let started = Instant::now();
    let requests: Vec<_> = (0..plan.calls)
        .map(|i| calls::call(&places, &format!("{run}-kill"), i as u64))
        .collect();
    let stream_requests = requests.clone();
    let stream_clients = clients.clone();
    let rate = plan.rate;
    let stream = async move {
        futures::stream::iter(stream_requests.into_iter().enumerate())
            .map(|(i, request)| {
                let client = stream_clients[i % stream_clients.len()].clone();
                async move {
                    let due = started + Duration::from_secs_f64(i as f64 / rate);
                    tokio::time::sleep_until(due.into()).await;
                    report_until_answered(&client, request, Duration::from_secs(120)).await
                }
            })
            .buffered(10_000)
            .collect::<Vec<_>>()
            .await
    };
    let stream_seconds = plan.calls as f64 / plan.rate;
    let kills = kill_each(world, stream_seconds, plan.restart_after);
    let (answers, kills) = tokio::join!(stream, kills);
    let kills = kills?;
    let stream_took = started.elapsed();
    let answered: Vec<&ReportCallResponse> = answers
        .iter()
        .filter_map(|(a, _)| a.as_ref().ok())
        .collect();
    let failed: Vec<&String> = answers
        .iter()
        .filter_map(|(a, _)| a.as_ref().err())
        .collect();
    let retried = answers.iter().filter(|(_, n)| *n > 1).count();
    let incidents: BTreeSet<String> = answered.iter().map(|a| a.incident_id.clone()).collect();
    verdict.figure("calls", format!("{} at {}/s", plan.calls, plan.rate));
    verdict.figure("answered", answered.len());
    verdict.figure("retried by the client", retried);
    verdict.figure("stream took", ms(stream_took));
    for (service, recovered) in &kills {
        verdict.figure(&format!("{service} back after"), ms(*recovered));
    }
    verdict.check(
        failed.is_empty(),
        format!(
            "{} calls never answered, e.g. {:?}",
            failed.len(),
            failed.first()
        ),
    );
    // Every incident routed.
    let intake = world.intake(None)?;
    let unrouted = wait_routed(&intake, &incidents, Duration::from_secs(60)).await;
    verdict.figure("incidents", incidents.len());
    verdict.figure("unrouted", unrouted.len());
    verdict.check(
        unrouted.is_empty(),
        format!(
            "{} incidents not routed, e.g. {:?}",
            unrouted.len(),
            unrouted.iter().next()
        ),
    );
    // Exactly one incident per call: a repeat answers the same incident …
    let repeats: Vec<(Result<ReportCallResponse, String>, u32)> = futures::stream::iter(
        requests.iter().cloned().enumerate(),
    )
    .map(|(i, request)| {
        let client = clients[i % clients.len()].clone();
        async move { report_until_answered(&client, request, Duration::from_secs(30)).await }
    })
    .buffered(16)
    .collect()
    .await;
    let mut moved = 0;
    for ((first, _), (again, _)) in answers.iter().zip(&repeats) {
        if let (Ok(first), Ok(again)) = (first, again)
            && again.incident_id != first.incident_id
            && again.incident_id != first.duplicate_of
        {
            moved += 1;
        }
    }
    verdict.check(
        moved == 0,
        format!("{moved} repeated calls answered another incident"),
    );
    // … and no incident exists that no call answered with.
    let listed = incidents_received(&intake, from, chrono::Utc::now()).await?;
    let listed_ids: BTreeSet<String> = listed.iter().map(|i| i.incident_id.clone()).collect();
    let strays: Vec<&String> = listed_ids.difference(&incidents).collect();
    verdict.figure("incidents listed", listed_ids.len());
    verdict.check(
        strays.is_empty(),
        format!(
            "{} incidents no call answered with (a call on two incidents), e.g. {:?}",
            strays.len(),
            strays.first()
        ),
    );
    let (doubles, open) = double_bookings(&world.dispatch(None)?).await?;
    verdict.figure("double bookings", doubles.len());
    verdict.figure("open dispatches", open);
    verdict.check(
        doubles.is_empty(),
        format!("units held by two dispatches: {doubles:?}"),
    );
    let (outboxes, took) = drain_outboxes(world, Duration::from_secs(60)).await;
    let pending: i64 = outboxes.values().map(|(p, _)| (*p).max(0)).sum();
    let dead: i64 = outboxes.values().map(|(_, d)| (*d).max(0)).sum();
    verdict.figure(
        "outboxes",
        format!("{pending} pending, {dead} dead, drained in {}", ms(took)),
    );
    verdict.check(
        pending == 0 && outboxes.values().all(|(p, _)| *p >= 0),
        format!("outboxes not drained: {outboxes:?}"),
    );
    verdict.check(dead == 0, format!("dead letters: {outboxes:?}"));
    verdict.figure("fleet simulator restarts", world.fleet_restarts());
    Ok(verdict)
}

/// Kills each service in turn (the first replica of a replicated one) during the stream and
/// restarts it `restart_after` later; per service, the time from the kill to SERVING again.
async fn kill_each(
    world: &mut World,
    stream_seconds: f64,
    restart_after: Duration,
) -> anyhow::Result<Vec<(String, Duration)>> {
    let start = Instant::now();
    let slot = Duration::from_secs_f64((stream_seconds - 2.0).max(6.0) / SERVICES.len() as f64);
    let mut recovered = Vec::new();
    let mut order: BTreeMap<usize, &str> = BTreeMap::new();
    // Triage and dispatch first: the path of a call, while the most calls are still to come.
    for (i, service) in [
        "triage",
        "dispatch",
        "intake",
        "grid-registry",
        "complaints-audit",
        "case-followup",
    ]
    .into_iter()
    .enumerate()
    {
        order.insert(i, service);
    }
    for (i, service) in order {
        let due = start + Duration::from_secs(1) + slot * i as u32;
        tokio::time::sleep_until(due.into()).await;
        let instance = world
            .six
            .instance_mut(service, 1)
            .ok_or_else(|| anyhow::anyhow!("no {service} process"))?;
        let name = instance.name();
        let killed_at = Instant::now();
        instance.kill9().await?;
        tokio::time::sleep(restart_after).await;
        instance.restart().await?;
        recovered.push((name, killed_at.elapsed()));
    }
    Ok(recovered)
}
