//! Through the 12345 door (ReceiveHotlineTicket, on SQLite and on Postgres + Redis): tickets
//! phrased as hotline agents write them, with police business inside a municipal-sounding
//! summary. Someone who posed as the gas company's staff, whom the company never sent, is police
//! business and opens an incident; danger written in traditional characters is P1; a tree
//! fallen across two lanes with cars swerving, boxes of fireworks stored under homes, and
//! protected birds sold at a market open incidents; a plain outage is returned to 12345.

mod dispatch_support;
mod stories_support;

use pingan_platform::auth::Role;
use pingan_proto::common::v1::Priority;
use pingan_proto::triage::v1 as tpb;
use pingan_tests::{TestBackend, backend_tests};
use stories_support::*;

/// What a ticket must come out as.
enum Expect {
    /// An incident opened with the police, at P1.
    OpenedP1,
    /// An incident opened with the police, at any priority.
    Opened,
    /// Returned to 12345: not police business.
    Returned,
}

backend_tests!(tickets_phrased_in_other_ways_are_read_by_meaning);

async fn tickets_phrased_in_other_ways_are_read_by_meaning(backend: TestBackend) {
    let stories = Stories::start(backend).await;
    let mut hotline = stories.triage("hotline", &[Role::HotlineIntegrator]);
    let mut room = stories.command_room();
    let cases = [
        (
            "T-OP-1",
            "市民来电反映：上午有自称燃气公司的人上门检查管道，收取检测费三百元，\
             来电人事后致电燃气公司核实，燃气公司称未派人上门，诉求：请相关部门处理。",
            Expect::Opened,
        ),
        (
            "T-OP-2",
            "來電人反映：鄰居家傳出呼救聲，有人拿刀，請盡快派人",
            Expect::OpenedP1,
        ),
        (
            "T-OP-4",
            "来电人反映：今天下午大风，迎宾大道机场方向过收费站约1公里处一棵大树倒伏，横在两条车道上，车辆紧急变道绕行，已有车辆急刹。诉求：请园林部门清理倒树。",
            Expect::Opened,
        ),
        (
            "T-OP-5",
            "来电人反映：其小区地下车库B2层一个车位旁的储藏间堆放了几十箱大型组合烟花，车主称准备过年售卖，储藏间正上方就是住宅楼。诉求：请相关部门清理消防隐患。",
            Expect::Opened,
        ),
        (
            "T-OP-6",
            "来电人反映：某镇每逢农历三、六、九赶集日，集市东侧有商贩公开售卖画眉、斑鸠等野生鸟类，另有疑似猫头鹰等国家保护动物，诉求相关部门依法查处。",
            Expect::Opened,
        ),
        (
            "T-OP-3",
            "市民来电反映：所住小区自昨日起停水，至今未恢复供水，诉求：请供水公司尽快抢修。",
            Expect::Returned,
        ),
    ];
    let mut wrong = Vec::new();
    for (id, description, expect) in cases {
        let pushed = hotline
            .receive_hotline_ticket(hotline_ticket(
                id,
                description,
                "日喀则市桑珠孜区城南一社区13号",
            ))
            .await
            .expect("receive")
            .into_inner();
        let disposition = pushed.disposition();
        let opened = matches!(
            disposition,
            tpb::InboundDisposition::IncidentOpened | tpb::InboundDisposition::Pending
        );
        let right = match expect {
            Expect::Returned => disposition == tpb::InboundDisposition::Returned,
            Expect::Opened => opened,
            Expect::OpenedP1 if !opened => false,
            Expect::OpenedP1 => {
                let incident_id = pushed.transfer.clone().unwrap_or_default().incident_id;
                let classified = wait_incident(&mut room, &incident_id, "classified", |i| {
                    i.classification.is_some()
                })
                .await;
                classified
                    .classification
                    .is_some_and(|c| c.priority() == Priority::P1)
            }
        };
        if !right {
            wrong.push(format!("{id}: {disposition:?} {description}"));
        }
    }
    assert!(wrong.is_empty(), "misread tickets: {wrong:#?}");
    stories.shutdown().await;
}
