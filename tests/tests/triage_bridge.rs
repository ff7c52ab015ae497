//! The 110 ↔ 12345 bridge end to end: a 12345 outage (controlled clock) loses and doubles
//! nothing; story 4 (police business from 12345 becomes an incident, through a fake intake until
//! intake lands); intake unavailable keeps the ticket pending and completes it later; complaints
//! go to complaints-audit and their finding back to 12345; non-police tickets are returned;
//! bounces stay with the police; overdue transfers are listed.

mod triage_bridge_support;

use std::time::Duration;

use pingan_platform::auth::Role;
use pingan_proto::common::v1::Channel;
use pingan_proto::events::v1::event_sink_service_client::EventSinkServiceClient;
use pingan_proto::events::v1::{DeliverRequest, EventEnvelope};
use pingan_proto::hotline::v1::ReplyKind;
use pingan_proto::triage::v1 as pb;
use pingan_tests::{Service, TestBackend, TestCluster, backend_tests};
use prost::Message;
use triage_bridge_support::*;

fn utilities() -> pb::Classification {
    pb::Classification {
        kind: pb::Kind::NonPolice as i32,
        category: "UTILITIES".into(),
        category_name: "水电气暖".into(),
        department: "市公用事业（供水、供电、燃气、供热）".into(),
        ..Default::default()
    }
}

async fn divert(client: &mut Client, n: usize) -> pb::Transfer {
    client
        .divert_to12345(pb::DivertTo12345Request {
            request_id: format!("divert-{n}"),
            incident_id: format!("inc-{n}"),
            classification: Some(utilities()),
            description: format!("第{n}户停电"),
            caller_phone: "13900001111".into(),
            ..Default::default()
        })
        .await
        .expect("divert")
        .into_inner()
        .transfer
        .expect("transfer")
}

/// 12345 down for 30 s of (controlled) time: every transfer waits, then goes out once.
async fn outage_loses_and_doubles_nothing(backend: TestBackend) {
    let b = bench(backend).await;
    let mut dispatcher = client(&b.cluster, "dispatcher-1", &[Role::Dispatcher]);
    b.simulator.set_down(true);
    let mut ids = Vec::new();
    for n in 0..3 {
        let t = divert(&mut dispatcher, n).await;
        assert_eq!(
            t.status,
            pb::TransferStatus::Pending as i32,
            "waits while 12345 is down"
        );
        assert!(t.hotline_ticket_id.is_empty());
        // The first attempt runs inline or on the background courier, whichever leases first.
        let mut attempted = t.clone();
        for _ in 0..200 {
            if !attempted.last_delivery_error.is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
            attempted = get(&mut dispatcher, &t.transfer_id).await;
        }
        assert!(
            !attempted.last_delivery_error.is_empty(),
            "the failed attempt is recorded"
        );
        ids.push(t.transfer_id);
    }
    // 30 s of controlled time with 12345 down, then until the courier has retried each transfer.
    for _ in 0..6 {
        b.clock.advance(Duration::from_secs(5));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for id in &ids {
        let mut t = get(&mut dispatcher, id).await;
        for _ in 0..100 {
            if t.delivery_attempts >= 2 {
                break;
            }
            b.clock.advance(Duration::from_secs(5));
            tokio::time::sleep(Duration::from_millis(50)).await;
            t = get(&mut dispatcher, id).await;
        }
        assert_eq!(t.status, pb::TransferStatus::Pending as i32);
        assert!(
            t.delivery_attempts >= 2,
            "retried during the outage: {}",
            t.delivery_attempts
        );
    }
    assert!(b.simulator.tickets().is_empty());
    // 12345 returns, and the first answer it gives is lost on the way back.
    b.simulator.lose_next_responses(1);
    b.simulator.set_down(false);
    for _ in 0..3 {
        b.clock.advance(Duration::from_secs(61));
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let mut tickets = std::collections::BTreeSet::new();
    for id in &ids {
        let t = wait_status(&mut dispatcher, id, pb::TransferStatus::Sent).await;
        assert!(
            tickets.insert(t.hotline_ticket_id.clone()),
            "one ticket per transfer"
        );
    }
    let created = b.simulator.tickets();
    assert_eq!(created.len(), 3, "every transfer delivered, once");
    for ticket in created {
        assert!(ids.contains(&ticket.request.request_id));
        assert!(tickets.contains(&ticket.ticket_id));
    }
    b.cluster.shutdown().await.expect("shutdown");
}

/// Story 4: police business from 12345 becomes an intake incident at once (CHANNEL_12345),
/// idempotent on the ticket id; 12345 hears it was accepted.
async fn story4_police_business_from_12345_becomes_an_incident(backend: TestBackend) {
    let b = bench(backend).await;
    let mut hotline = client(&b.cluster, "hotline", &[Role::HotlineIntegrator]);
    let r = receive(
        &mut hotline,
        "rx-1",
        "T-1001",
        "小区里有人持刀伤人，现在还在",
    )
    .await;
    assert_eq!(r.disposition, pb::InboundDisposition::IncidentOpened as i32);
    let t = r.transfer.expect("transfer");
    assert_eq!(t.status, pb::TransferStatus::Accepted as i32);
    assert_eq!(t.incident_id, "inc-12345-0");
    assert_eq!(t.direction, pb::TransferDirection::From12345 as i32);
    let calls = b.intake.calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].channel, Channel::Channel12345 as i32);
    assert_eq!(calls[0].source_call_id, "T-1001");
    assert_eq!(calls[0].inbound_transfer_id, t.transfer_id);
    assert_eq!(calls[0].caller_phone, "13700002222");
    // The same ticket again, under another request id: one transfer, one incident.
    let again = receive(
        &mut hotline,
        "rx-1-retry",
        "T-1001",
        "小区里有人持刀伤人，现在还在",
    )
    .await;
    assert_eq!(again.transfer.expect("transfer").transfer_id, t.transfer_id);
    assert_eq!(b.intake.calls().len(), 1);
    // 12345 was told (ReplyTicket ACCEPTED, with the incident).
    for _ in 0..100 {
        if !b.simulator.replies().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let replies = b.simulator.replies();
    assert!(replies.iter().any(|r| r.ticket_id == "T-1001"
        && r.kind == ReplyKind::Accepted as i32
        && r.incident_id == "inc-12345-0"));
    b.cluster.shutdown().await.expect("shutdown");
}

/// Intake unreachable: the ticket is kept PENDING and completed when intake returns.
async fn inbound_waits_for_intake(backend: TestBackend) {
    let b = bench(backend).await;
    let mut hotline = client(&b.cluster, "hotline", &[Role::HotlineIntegrator]);
    b.intake.set_down(true);
    let r = receive(&mut hotline, "rx-2", "T-2002", "有人在网吧后面卖毒品").await;
    assert_eq!(r.disposition, pb::InboundDisposition::Pending as i32);
    let id = r.transfer.expect("transfer").transfer_id;
    b.intake.set_down(false);
    b.clock.advance(Duration::from_secs(5));
    let t = wait_status(&mut hotline, &id, pb::TransferStatus::Accepted).await;
    assert_eq!(t.incident_id, "inc-12345-0");
    assert_eq!(b.intake.calls().len(), 1);
    let r = receive(&mut hotline, "rx-2b", "T-2002", "有人在网吧后面卖毒品").await;
    assert_eq!(r.disposition, pb::InboundDisposition::IncidentOpened as i32);
    b.cluster.shutdown().await.expect("shutdown");
}

async fn deliver_event<M: Message + prost::Name>(cluster: &TestCluster, id: &str, message: &M) {
    let token = cluster
        .token("complaints-audit", &[Role::Service], &[])
        .expect("token");
    let mut sink = EventSinkServiceClient::new(
        cluster
            .channel_as(Service::Triage, &token)
            .expect("channel"),
    );
    sink.deliver(DeliverRequest {
        destination: "triage".into(),
        event: Some(EventEnvelope {
            event_id: id.into(),
            event_type: M::full_name(),
            source: "complaints-audit".into(),
            aggregate_id: "c-1".into(),
            payload: Some(prost_types::Any {
                type_url: format!("type.googleapis.com/{}", M::full_name()),
                value: message.encode_to_vec(),
            }),
            ..Default::default()
        }),
    })
    .await
    .expect("deliver");
}

/// A complaint about police from 12345 goes to complaints-audit; its filing and its finding
/// come back as events and the finding is answered to 12345.
async fn complaint_goes_to_audit_and_the_finding_back_to_12345(backend: TestBackend) {
    let b = bench(backend).await;
    let mut hotline = client(&b.cluster, "hotline", &[Role::HotlineIntegrator]);
    let r = receive(
        &mut hotline,
        "rx-3",
        "T-3003",
        "我要投诉城南派出所的民警，态度恶劣还骂人",
    )
    .await;
    assert_eq!(r.disposition, pb::InboundDisposition::ComplaintFiled as i32);
    let t = r.transfer.expect("transfer");
    assert_eq!(
        t.status,
        pb::TransferStatus::Pending as i32,
        "until complaints-audit files it"
    );
    assert!(b.intake.calls().is_empty());
    let filed = pingan_proto::audit::v1::ComplaintFiled {
        complaint_id: "c-1".into(),
        case_number: "TS-2025-000001".into(),
        hotline_ticket_id: "T-3003".into(),
        transfer_id: t.transfer_id.clone(),
        ..Default::default()
    };
    deliver_event(&b.cluster, "ev-filed", &filed).await;
    deliver_event(&b.cluster, "ev-filed", &filed).await; // redelivery: no second effect
    let accepted = get(&mut hotline, &t.transfer_id).await;
    assert_eq!(accepted.status, pb::TransferStatus::Accepted as i32);
    assert_eq!(accepted.complaint_id, "c-1");
    let answered = pingan_proto::audit::v1::ComplaintAnswered {
        complaint_id: "c-1".into(),
        hotline_ticket_id: "T-3003".into(),
        transfer_id: t.transfer_id.clone(),
        finding: pingan_proto::audit::v1::Finding::MaliciousFalseReport as i32,
        reply_text: "经调查，民警依法处置，投诉不实".into(),
        ..Default::default()
    };
    deliver_event(&b.cluster, "ev-answered", &answered).await;
    let handled = wait_status(&mut hotline, &t.transfer_id, pb::TransferStatus::Handled).await;
    assert_eq!(handled.complaint_id, "c-1");
    let findings: Vec<_> = b
        .simulator
        .replies()
        .into_iter()
        .filter(|r| r.kind == ReplyKind::Finding as i32)
        .collect();
    assert_eq!(findings.len(), 1);
    assert_eq!(findings[0].finding, "MALICIOUS_FALSE_REPORT");
    assert_eq!(findings[0].ticket_id, "T-3003");
    b.cluster.shutdown().await.expect("shutdown");
}

/// Not police business: returned to 12345 with a reason.
async fn non_police_ticket_is_returned_with_a_reason(backend: TestBackend) {
    let b = bench(backend).await;
    let mut hotline = client(&b.cluster, "hotline", &[Role::HotlineIntegrator]);
    let r = receive(&mut hotline, "rx-4", "T-4004", "小区的路灯坏了好几天了").await;
    assert_eq!(r.disposition, pb::InboundDisposition::Returned as i32);
    assert!(
        r.return_reason.contains("城市管理局"),
        "{}",
        r.return_reason
    );
    let t = r.transfer.expect("transfer");
    assert_eq!(t.status, pb::TransferStatus::Bounced as i32);
    for _ in 0..100 {
        if b.simulator
            .replies()
            .iter()
            .any(|r| r.kind == ReplyKind::Returned as i32)
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        b.simulator
            .replies()
            .iter()
            .any(|r| r.ticket_id == "T-4004" && r.kind == ReplyKind::Returned as i32)
    );
    assert!(b.intake.calls().is_empty());
    b.cluster.shutdown().await.expect("shutdown");
}

/// A diversion 12345 bounces stays with the police (first receiver): through the simulator's
/// bounce, and through a ticket pushed back with our transfer id.
async fn bounced_diversions_stay_with_the_police(backend: TestBackend) {
    let b = bench(backend).await;
    let mut dispatcher = client(&b.cluster, "dispatcher-1", &[Role::Dispatcher]);
    b.simulator.bounce(&["UTILITIES"]);
    let t = divert(&mut dispatcher, 7).await;
    let bounced = wait_status(&mut dispatcher, &t.transfer_id, pb::TransferStatus::Bounced).await;
    assert!(!bounced.hotline_ticket_id.is_empty());
    assert!(!bounced.outcome_note.is_empty());
    b.simulator.bounce(&[]);

    let t = divert(&mut dispatcher, 8).await;
    assert_eq!(t.status, pb::TransferStatus::Sent as i32);
    let mut hotline = client(&b.cluster, "hotline", &[Role::HotlineIntegrator]);
    let r = hotline
        .receive_hotline_ticket(pb::ReceiveHotlineTicketRequest {
            request_id: "rx-back".into(),
            hotline_ticket_id: t.hotline_ticket_id.clone(),
            description: "第8户停电，经核实系窃电纠纷".into(),
            origin_transfer_id: t.transfer_id.clone(),
            ..Default::default()
        })
        .await
        .expect("pushed back")
        .into_inner();
    assert_eq!(r.disposition, pb::InboundDisposition::IncidentOpened as i32);
    let inbound = r.transfer.expect("transfer");
    assert_eq!(
        inbound.incident_id, "inc-8",
        "the diverted incident is back with the police"
    );
    assert_eq!(inbound.first_received_on, Channel::Channel110 as i32);
    let origin = get(&mut dispatcher, &t.transfer_id).await;
    assert_eq!(origin.status, pb::TransferStatus::Bounced as i32);
    b.cluster.shutdown().await.expect("shutdown");
}

/// Open transfers past their 12345 deadline are listed, most overdue first.
async fn overdue_transfers_are_listed(backend: TestBackend) {
    let b = bench(backend).await;
    let mut hotline = client(&b.cluster, "hotline", &[Role::HotlineIntegrator]);
    let deadline = b.clock_now() + chrono::Duration::hours(1);
    let r = hotline
        .receive_hotline_ticket(pb::ReceiveHotlineTicketRequest {
            request_id: "rx-5".into(),
            hotline_ticket_id: "T-5005".into(),
            description: "我家电动车昨晚被偷了".into(),
            address: "日喀则市桑珠孜区东郊社区31号".into(),
            deadline: Some(prost_types::Timestamp {
                seconds: deadline.timestamp(),
                nanos: 0,
            }),
            ..Default::default()
        })
        .await
        .expect("receive")
        .into_inner();
    let id = r.transfer.expect("transfer").transfer_id;
    let mut dispatcher = client(&b.cluster, "dispatcher-1", &[Role::Dispatcher]);
    let t = divert(&mut dispatcher, 9).await; // 12345 gives 72 h
    let list = |client: &mut Client| {
        let mut client = client.clone();
        async move {
            client
                .list_overdue_transfers(pb::ListOverdueTransfersRequest::default())
                .await
                .expect("overdue")
                .into_inner()
                .transfers
        }
    };
    assert!(list(&mut dispatcher).await.is_empty());
    b.clock.advance(Duration::from_secs(2 * 3600));
    let overdue = list(&mut dispatcher).await;
    assert_eq!(overdue.len(), 1);
    assert_eq!(overdue[0].transfer_id, id);
    assert!(overdue[0].overdue);
    b.clock.advance(Duration::from_secs(72 * 3600));
    let overdue = list(&mut dispatcher).await;
    assert_eq!(overdue.len(), 2);
    assert_eq!(overdue[0].transfer_id, id, "most overdue first");
    assert_eq!(overdue[1].transfer_id, t.transfer_id);
    b.cluster.shutdown().await.expect("shutdown");
}

backend_tests!(
    outage_loses_and_doubles_nothing,
    story4_police_business_from_12345_becomes_an_incident,
    inbound_waits_for_intake,
    complaint_goes_to_audit_and_the_finding_back_to_12345,
    non_police_ticket_is_returned_with_a_reason,
    bounced_diversions_stay_with_the_police,
    overdue_transfers_are_listed,
);
