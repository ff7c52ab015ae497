//! 12345 tickets at triage's edge, with a fake intake: what intake would refuse is refused,
//! naming the field, and nothing is recorded or delivered; a permanent refusal by intake is a
//! dead letter with its reason (listed, counted, returned to 12345), never a retry loop.

mod triage_bridge_support;

use std::time::Duration;

use pingan_platform::auth::Role;
use pingan_proto::hotline::v1::ReplyKind;
use pingan_proto::triage::v1 as pb;
use pingan_tests::{TestBackend, backend_tests};
use triage_bridge_support::*;

backend_tests!(
    tickets_intake_would_refuse_are_refused_at_the_edge,
    a_permanent_refusal_is_a_dead_letter_not_a_retry_loop,
);

fn violated_fields(status: &tonic::Status) -> Vec<String> {
    use tonic_types::StatusExt;
    assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");
    status
        .get_details_bad_request()
        .map(|b| b.field_violations.into_iter().map(|v| v.field).collect())
        .unwrap_or_default()
}

/// What intake would refuse is refused at the edge, naming the field, and nothing is recorded
/// or delivered.
async fn tickets_intake_would_refuse_are_refused_at_the_edge(backend: TestBackend) {
    let b = bench(backend).await;
    let mut hotline = client(&b.cluster, "hotline", &[Role::HotlineIntegrator]);
    let ticket = |id: &str| pb::ReceiveHotlineTicketRequest {
        request_id: format!("rx-{id}"),
        hotline_ticket_id: id.into(),
        description: "小区里有人持刀伤人，现在还在".into(),
        caller_phone: "13700002222".into(),
        address: "日喀则市桑珠孜区城南一社区13号".into(),
        ..Default::default()
    };
    let cases = [
        (
            pb::ReceiveHotlineTicketRequest {
                caller_phone: "12".into(),
                ..ticket("T-bad-phone")
            },
            vec!["caller_phone"],
        ),
        (
            pb::ReceiveHotlineTicketRequest {
                address: String::new(),
                ..ticket("T-nowhere")
            },
            vec!["location", "address"],
        ),
        (
            pb::ReceiveHotlineTicketRequest {
                location: Some(pingan_proto::common::v1::GeoPoint {
                    lat: 29.2,
                    lon: 188.0,
                }),
                ..ticket("T-off-the-map")
            },
            vec!["location.lon"],
        ),
        (
            pb::ReceiveHotlineTicketRequest {
                description: "  ".into(),
                caller_name: "名".repeat(65),
                ..ticket("T-blank")
            },
            vec!["caller_name", "description"],
        ),
        (
            pb::ReceiveHotlineTicketRequest {
                received_at: Some(prost_types::Timestamp {
                    seconds: b.clock_now().timestamp() + 3600,
                    nanos: 0,
                }),
                ..ticket("T-future")
            },
            vec!["received_at"],
        ),
    ];
    for (request, expected) in cases {
        let ticket_id = request.hotline_ticket_id.clone();
        let refused = hotline
            .receive_hotline_ticket(request)
            .await
            .expect_err(&ticket_id);
        assert_eq!(violated_fields(&refused), expected, "{ticket_id}");
        let lookup = hotline
            .get_transfer(pb::GetTransferRequest {
                hotline_ticket_id: ticket_id.clone(),
                ..Default::default()
            })
            .await
            .expect_err("nothing recorded");
        assert_eq!(lookup.code(), tonic::Code::NotFound, "{ticket_id}");
    }
    // A complaint about police needs no place (it goes to complaints-audit, not intake).
    let complaint = hotline
        .receive_hotline_ticket(pb::ReceiveHotlineTicketRequest {
            description: "我要投诉城南派出所的民警，态度恶劣还骂人".into(),
            address: String::new(),
            ..ticket("T-complaint")
        })
        .await
        .expect("complaint without a place")
        .into_inner();
    assert_eq!(
        complaint.disposition,
        pb::InboundDisposition::ComplaintFiled as i32
    );
    let listed = hotline
        .list_transfers(pb::ListTransfersRequest::default())
        .await
        .expect("list")
        .into_inner()
        .transfers;
    assert_eq!(listed.len(), 1, "only the complaint: {listed:?}");
    assert_eq!(b.intake.attempts(), 0, "nothing was delivered to intake");
    b.cluster.shutdown().await.expect("shutdown");
}

fn dead_letters_counted() -> u64 {
    pingan_triage::metrics::DEAD_LETTERS
        .as_ref()
        .map(|c| c.with_label_values(&["intake", "invalid_argument"]).get())
        .unwrap_or_default()
}

/// Intake refuses a ticket for good: the delivery is dead-lettered at once with the reason
/// (listed, counted), never attempted again, and the ticket is returned to 12345.
async fn a_permanent_refusal_is_a_dead_letter_not_a_retry_loop(backend: TestBackend) {
    let b = bench(backend).await;
    let mut hotline = client(&b.cluster, "hotline", &[Role::HotlineIntegrator]);
    b.intake.set_refuse(true);
    let counted = dead_letters_counted();
    let r = receive(&mut hotline, "rx-dead", "T-6006", "有人在网吧后面卖毒品").await;
    assert_eq!(
        r.disposition,
        pb::InboundDisposition::Returned as i32,
        "{r:?}"
    );
    assert!(
        r.return_reason.contains("InvalidArgument"),
        "{}",
        r.return_reason
    );
    let t = r.transfer.expect("transfer");
    assert_eq!(t.status, pb::TransferStatus::Bounced as i32);
    assert!(
        t.outcome_note.contains("must name the building"),
        "{}",
        t.outcome_note
    );
    assert_eq!(b.intake.attempts(), 1);
    assert!(dead_letters_counted() > counted, "the metric went up");
    let dead = hotline
        .list_dead_letters(pb::ListDeadLettersRequest::default())
        .await
        .expect("dead letters")
        .into_inner()
        .dead_letters;
    assert_eq!(dead.len(), 1, "{dead:?}");
    assert_eq!(dead[0].transfer_id, t.transfer_id);
    assert_eq!(dead[0].action, "REPORT_CALL");
    assert_eq!(dead[0].destination, "intake");
    assert_eq!(dead[0].attempts, 1);
    assert!(
        dead[0].reason.contains("InvalidArgument")
            && dead[0].reason.contains("must name the building"),
        "{}",
        dead[0].reason
    );
    // 12345 is told the ticket is returned, with the reason.
    for _ in 0..100 {
        if b.simulator
            .replies()
            .iter()
            .any(|r| r.ticket_id == "T-6006")
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let replies = b.simulator.replies();
    let returned = replies
        .iter()
        .find(|r| r.ticket_id == "T-6006")
        .expect("12345 told");
    assert_eq!(returned.kind, ReplyKind::Returned as i32);
    assert!(returned.return_reason.contains("must name the building"));
    // Courier rounds over hours of controlled time: intake is never called again, even once it
    // would accept.
    b.intake.set_refuse(false);
    for _ in 0..5 {
        b.clock.advance(Duration::from_secs(3600));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(b.intake.attempts(), 1, "no retry of a dead letter");
    assert!(b.intake.calls().is_empty());
    let after = get(&mut hotline, &t.transfer_id).await;
    assert_eq!(after.status, pb::TransferStatus::Bounced as i32);
    let again = receive(&mut hotline, "rx-dead-2", "T-6006", "有人在网吧后面卖毒品").await;
    assert_eq!(again.disposition, pb::InboundDisposition::Returned as i32);
    assert_eq!(b.intake.attempts(), 1);
    // A transient failure is still retried (not dead-lettered).
    b.intake.set_down(true);
    let r = receive(&mut hotline, "rx-down", "T-6007", "有人在网吧后面卖毒品").await;
    assert_eq!(r.disposition, pb::InboundDisposition::Pending as i32);
    b.intake.set_down(false);
    b.clock.advance(Duration::from_secs(5));
    let id = r.transfer.expect("transfer").transfer_id;
    wait_status(&mut hotline, &id, pb::TransferStatus::Accepted).await;
    let dead = hotline
        .list_dead_letters(pb::ListDeadLettersRequest::default())
        .await
        .expect("dead letters")
        .into_inner()
        .dead_letters;
    assert_eq!(dead.len(), 1);
    b.cluster.shutdown().await.expect("shutdown");
}
