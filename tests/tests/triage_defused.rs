//! Through the front door (ReportCall, on SQLite and on Postgres + Redis): a call that says the
//! harm is over, asks about a case long past, tells of an animal stuck, a break-in found
//! afterwards or smoke with no flame stays with the police with the reason in its explanation and
//! is not forced to P1 on its danger words; the same words with the harm going on, the signs of
//! a stroke, and danger told in English, are P1.

mod dispatch_support;
mod stories_support;

use pingan_proto::common::v1::Priority;
use pingan_proto::triage::v1::Kind;
use pingan_tests::{TestBackend, backend_tests};
use stories_support::*;

backend_tests!(a_harm_over_or_long_past_is_held_without_forcing_p1);

async fn a_harm_over_or_long_past_is_held_without_forcing_p1(backend: TestBackend) {
    let stories = Stories::start(backend).await;
    let mut call_taker = stories.call_taker();
    let mut room = stories.command_room();
    let cases = [
        (
            "defused-over",
            "刚才在公交站手机被抢了，那人骑车跑了，我没受伤",
            Some("safety.harm_over"),
        ),
        (
            "defused-past",
            "去年被人抢劫过，想咨询一下怎么查询立案结果",
            Some("safety.past"),
        ),
        ("defused-now", "手机被抢了，我没受伤，他们还在追我", None),
        (
            "defused-animal",
            "我家的狗钻进下水道口卡住出不来了，叫得很惨",
            Some("safety.not_a_person"),
        ),
        (
            "defused-break-in",
            "早上开店才发现卷帘门被撬了，收银台里的钱都没了",
            Some("safety.break_in_found"),
        ),
        (
            "defused-no-flame",
            "楼道里的配电箱冒烟了，有股焦味，没看到明火",
            Some("safety.fire_out"),
        ),
        (
            "danger-break-in-now",
            "有人正在撬我家的门，我跟孩子躲在卧室里",
            None,
        ),
        (
            "danger-stroke",
            "我外公刚才突然嘴歪了，说话含糊，右手抬不起来",
            None,
        ),
        (
            "danger-english",
            "Help me please, a man with a knife is in my room",
            None,
        ),
    ];
    for (i, (id, text, defused)) in cases.into_iter().enumerate() {
        let (response, c) = report_apart(&mut call_taker, i, id, text).await;
        assert!(
            matches!(c.kind(), Kind::Police | Kind::Joint),
            "{text}: {c:#?}"
        );
        match defused {
            Some(rule) => {
                assert_ne!(c.priority(), Priority::P1, "{text}: {c:#?}");
                assert!(
                    c.matched_rules.iter().any(|r| r.rule_id == rule),
                    "{text}: {rule} explains it: {c:#?}"
                );
            }
            None => assert_eq!(c.priority(), Priority::P1, "{text}: {c:#?}"),
        }
        let stored = incident(&mut room, &response.incident_id)
            .await
            .classification
            .expect("stored classification");
        assert_eq!(stored.priority, c.priority, "{text}");
    }
    stories.shutdown().await;
}
