//! Calls as a 110 platform sends them: varied descriptions at random places inside the demo
//! jurisdiction's grids, each with its own request id and caller.

use std::sync::Arc;

use crate::system::Grpc;
use anyhow::Context;
use pingan_proto::common::v1::{Channel, GeoPoint};
use pingan_proto::intake::v1::ReportCallRequest;
use pingan_proto::intake::v1::intake_service_client::IntakeServiceClient;
use pingan_proto::triage::v1::ClassifyRequest;
use pingan_proto::triage::v1::triage_service_client::TriageServiceClient;
use rand::Rng;

use crate::open_loop::code;

/// The demo jurisdiction (the file `pingan dev` loads).
pub const JURISDICTION: &str = include_str!("../../grid-registry/demo/jurisdiction.json");

/// What callers say: police matters of every priority, plus a few that go to 12345.
pub const DESCRIPTIONS: &[&str] = &[
    "我家楼下有两个人在打架，有一个已经流血了，快来人",
    "我的电动车刚被偷了，就停在小区门口，锁被剪断了",
    "路口两辆车撞了，有个骑摩托的躺在地上起不来",
    "隔壁邻居天天半夜吵架摔东西，刚才还听见小孩哭",
    "我爸七十多岁有老年痴呆，早上出门到现在还没回来",
    "河边有个小孩掉水里了，水很急，快派人来",
    "有个喝醉的人在饭店里砸东西，老板拦不住",
    "我在网上买东西被人骗了三千块，对方把我拉黑了",
    "小区的路灯坏了好几天了，晚上黑乎乎的没人管",
    "楼上装修从早上七点一直响到晚上，能不能管管",
    "捡到一个钱包，里面有身份证和银行卡，放在哪里",
    "有人在我家门口转了好几圈，拿着刀，我很害怕",
    "仓库后面冒烟了，好像着火了，有很大的焦味",
    "我的身份证丢了，补办要去哪里办，要带什么",
];

/// Grid bounding boxes of the demo jurisdiction, as (min lat, max lat, min lon, max lon).
#[derive(Debug, Clone)]
pub struct Places {
    boxes: Vec<(f64, f64, f64, f64)>,
}

impl Places {
    /// The demo jurisdiction's grids.
    pub fn demo() -> anyhow::Result<Self> {
        let document: serde_json::Value =
            serde_json::from_str(JURISDICTION).context("demo jurisdiction")?;
        let grids = document["grids"].as_array().context("grids")?;
        let mut boxes = Vec::new();
        for grid in grids {
            let ring = grid["polygon"].as_array().context("polygon")?;
            let points: Vec<(f64, f64)> = ring
                .iter()
                .filter_map(|p| Some((p[0].as_f64()?, p[1].as_f64()?)))
                .collect();
            let lat = points.iter().map(|p| p.0);
            let lon = points.iter().map(|p| p.1);
            boxes.push((
                lat.clone().fold(f64::MAX, f64::min),
                lat.fold(f64::MIN, f64::max),
                lon.clone().fold(f64::MAX, f64::min),
                lon.fold(f64::MIN, f64::max),
            ));
        }
        anyhow::ensure!(!boxes.is_empty(), "the demo jurisdiction has no grids");
        Ok(Self { boxes })
    }

    /// A random point inside a random grid's box (a little inside its edges).
    pub fn random_point(&self) -> GeoPoint {
        let mut rng = rand::rng();
        let (lat0, lat1, lon0, lon1) = self.boxes[rng.random_range(0..self.boxes.len())];
        let margin = |a: f64, b: f64| (b - a) * 0.05;
        GeoPoint {
            lat: rng.random_range(lat0 + margin(lat0, lat1)..lat1 - margin(lat0, lat1)),
            lon: rng.random_range(lon0 + margin(lon0, lon1)..lon1 - margin(lon0, lon1)),
        }
    }
}

/// A fresh 110 call at a random place.
pub fn call(places: &Places, run: &str, i: u64) -> ReportCallRequest {
    let mut rng = rand::rng();
    ReportCallRequest {
        request_id: format!("bench-{run}-{i}"),
        channel: Channel::Channel110 as i32,
        source_call_id: format!("bench-{run}-{i}"),
        caller_phone: format!("13{:09}", rng.random_range(0..1_000_000_000u64)),
        location: Some(places.random_point()),
        description: DESCRIPTIONS[(i as usize) % DESCRIPTIONS.len()].to_owned(),
        ..Default::default()
    }
}

/// Sends one call and waits for intake's answer.
pub async fn report(
    client: &IntakeServiceClient<Grpc>,
    request: ReportCallRequest,
) -> Result<(), String> {
    let mut client = client.clone();
    client
        .report_call(request)
        .await
        .map(|_| ())
        .map_err(|s| code(&s))
}

/// Classifies one description.
pub async fn classify(client: &TriageServiceClient<Grpc>, text: &str) -> Result<(), String> {
    let mut client = client.clone();
    client
        .classify(ClassifyRequest {
            text: text.to_owned(),
            channel: Channel::Channel110 as i32,
            ..Default::default()
        })
        .await
        .map(|_| ())
        .map_err(|s| code(&s))
}

/// Shared state of the ReportCall generator.
#[derive(Debug, Clone)]
pub struct CallLoad {
    /// Intake.
    pub client: IntakeServiceClient<Grpc>,
    /// Where calls come from.
    pub places: Arc<Places>,
    /// A prefix that keeps request ids unique across runs.
    pub run: String,
}
