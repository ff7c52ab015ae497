//! Scenario a: one ReportCall is one trace with spans from every service on its path, including
//! the outbox hops (`send …` in the writer, `process …` in the reader).

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use pingan_bench::calls::{self, Places};

use crate::common::Verdict;
use crate::world::World;

/// The services one dispatched call crosses.
const PATH: [&str; 5] = [
    "intake",
    "grid-registry",
    "triage",
    "dispatch",
    "complaints-audit",
];

/// Runs the scenario.
pub async fn run(world: &World, run: &str) -> anyhow::Result<Verdict> {
    let mut verdict = Verdict::new("a. one call, one trace");
    let places = Places::demo()?;
    let trace_id = format!("{:032x}", rand::random::<u128>() | 1);
    let parent = format!("{:016x}", rand::random::<u64>() | 1);
    let mut request = calls::call(&places, &format!("{run}-trace"), 0);
    // A police matter that gets a unit: 打架 (a fight).
    request.description = calls::DESCRIPTIONS[0].to_owned();
    let mut call = tonic::Request::new(request);
    call.metadata_mut().insert(
        "traceparent",
        format!("00-{trace_id}-{parent}-01")
            .parse()
            .map_err(|_| anyhow::anyhow!("traceparent is not a header value"))?,
    );
    let answer = world
        .intake(None)?
        .report_call(call)
        .await
        .map_err(|s| anyhow::anyhow!("ReportCall: {:?}: {}", s.code(), s.message()))?
        .into_inner();
    verdict.figure("outcome", format!("{:?}", answer.outcome()));
    // The batch exporters flush every few seconds; outbox hops come later still.
    let started = Instant::now();
    let mut spans = BTreeSet::new();
    let mut complete = false;
    while started.elapsed() < Duration::from_secs(30) {
        spans = world.collector.trace(&trace_id);
        let services: BTreeSet<&str> = spans.iter().map(|s| s.service.as_str()).collect();
        let hops = spans.iter().any(|s| s.name.starts_with("send "))
            && spans.iter().any(|s| s.name.starts_with("process "));
        if PATH.iter().all(|p| services.iter().any(|s| s.ends_with(p))) && hops {
            complete = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let services: BTreeSet<String> = spans.iter().map(|s| s.service.clone()).collect();
    let sends = spans.iter().filter(|s| s.name.starts_with("send ")).count();
    let processes = spans
        .iter()
        .filter(|s| s.name.starts_with("process "))
        .count();
    verdict.figure("spans", spans.len());
    verdict.figure(
        "services",
        services.iter().cloned().collect::<Vec<_>>().join("+"),
    );
    verdict.figure("outbox hops", format!("{sends} send, {processes} process"));
    // Database client spans, named `{operation} {table}` (docs/dashboards.md).
    let database = spans
        .iter()
        .filter(|s| {
            ["SELECT ", "INSERT ", "UPDATE ", "DELETE "]
                .iter()
                .any(|op| s.name.starts_with(op))
        })
        .count();
    verdict.figure("database spans", database);
    verdict.figure("complete after", crate::common::ms(started.elapsed()));
    for service in PATH {
        verdict.check(
            services.iter().any(|s| s.ends_with(service)),
            format!("no span from {service} in trace {trace_id}"),
        );
    }
    verdict.check(sends > 0, "no outbox send span in the trace");
    verdict.check(processes > 0, "no outbox process span in the trace");
    verdict.check(database > 0, "no database span in the trace");
    verdict.figure("complete", complete);
    verdict.figure("exports received", world.collector.exports());
    Ok(verdict)
}
