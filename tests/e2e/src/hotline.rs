//! Scenario d: the 12345 gateway down for a while (its relay cut): the calls diverted to 12345
//! meanwhile queue their transfers, and once it is back every transfer arrives, exactly once.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use pingan_bench::calls::{self, Places};
use pingan_proto::intake::v1::GetIncidentRequest;

use crate::common::{Verdict, code, ms, report_until_answered};
use crate::world::World;

/// Calls sent while 12345 is down.
const CALLS: usize = 10;
/// What callers ask that is 12345's business, not the police's (triage diverts it).
const DIVERTED: [&str; 1] = ["小区的路灯坏了好几天了，晚上黑乎乎的没人管"];

/// Runs the scenario with 12345 down for `down`.
pub async fn run(world: &World, run: &str, down: Duration) -> anyhow::Result<Verdict> {
    let mut verdict = Verdict::new("d. 12345 down");
    let client = world.intake(None)?;
    let places = Places::demo()?;
    world.gateway_relay.cut();
    let cut_at = Instant::now();
    let mut incidents = BTreeSet::new();
    for i in 0..CALLS {
        let mut request = calls::call(&places, &format!("{run}-hotline"), i as u64);
        request.description = DIVERTED[i % DIVERTED.len()].to_owned();
        let (answer, _) = report_until_answered(&client, request, Duration::from_secs(30)).await;
        match answer {
            Ok(a) => {
                incidents.insert(a.incident_id);
            }
            Err(e) => verdict.check(false, format!("a call while 12345 was down failed: {e}")),
        }
    }
    // The transfers, as the incidents record them (diversion may finish after the answer).
    let mut transfers: BTreeMap<String, String> = BTreeMap::new();
    let read_deadline = Instant::now() + Duration::from_secs(20);
    while transfers.len() < incidents.len() && Instant::now() < read_deadline {
        for id in &incidents {
            if transfers.values().any(|i| i == id) {
                continue;
            }
            let incident = client
                .clone()
                .get_incident(GetIncidentRequest {
                    incident_id: id.clone(),
                    ..Default::default()
                })
                .await
                .map_err(|s| anyhow::anyhow!("GetIncident: {}", code(&s)))?
                .into_inner()
                .incident;
            if let Some(incident) = incident
                && !incident.transfer_id.is_empty()
            {
                transfers.insert(incident.transfer_id, id.clone());
            }
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    verdict.figure("calls", CALLS);
    verdict.figure("incidents", incidents.len());
    verdict.figure("transfers", transfers.len());
    verdict.check(
        transfers.len() == incidents.len() && !transfers.is_empty(),
        format!(
            "{} of {} incidents have a 12345 transfer",
            transfers.len(),
            incidents.len()
        ),
    );
    if let Some(rest) = down.checked_sub(cut_at.elapsed()) {
        tokio::time::sleep(rest).await;
    }
    let early = transfers
        .keys()
        .filter(|t| world.gateway.ticket(t).is_some())
        .count();
    verdict.check(
        early == 0,
        format!("{early} tickets reached 12345 while it was cut"),
    );
    world.gateway_relay.restore();
    verdict.figure("down for", ms(cut_at.elapsed()));
    let restored_at = Instant::now();
    let mut all_at = None;
    while restored_at.elapsed() < Duration::from_secs(90) {
        if transfers.keys().all(|t| world.gateway.ticket(t).is_some()) {
            all_at = Some(restored_at.elapsed());
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    match all_at {
        Some(after) => verdict.figure("all delivered after the return", ms(after)),
        None => verdict.check(false, "not every transfer reached 12345 within 90 s"),
    }
    // Late duplicates would come within a retry or two.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let delivered = transfers
        .keys()
        .filter_map(|t| world.gateway.ticket(t))
        .collect::<Vec<_>>();
    let twice = delivered.iter().filter(|t| t.deliveries > 1).count();
    verdict.figure(
        "tickets",
        format!(
            "{} ({} deliveries, {twice} delivered more than once)",
            delivered.len(),
            delivered.iter().map(|t| t.deliveries).sum::<u32>()
        ),
    );
    verdict.check(
        twice == 0,
        format!("{twice} transfers reached 12345 more than once"),
    );
    Ok(verdict)
}
