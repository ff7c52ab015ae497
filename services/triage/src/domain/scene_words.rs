//! Words of the safety layer (`safety`) for scenes told by their parts or by what is heard on the
//! line rather than by one signal word (session 46 probes, written by people who had not read the
//! corpus): each list is read with the others named in its doc.

/// Someone stopping the caller's call (a man's voice: "你给谁打电话", said to the caller; not "我该
/// 给谁打电话", asking whom to call): the caller is with the one they fear, now (danger). Read before phone calls are folded (打…电话 is no blow there).
#[rustfmt::skip]
pub(super) const CALL_STOPPED: &[&str] = &[
    "你给谁打电话", "你在给谁打电话", "你跟谁打电话", "你在跟谁打电话", "你打给谁", "不许打电话", "不准打电话",
    "不让打电话", "不让我打电话", "不许报警", "不准报警", "把电话给我", "把手机给我",
];

/// A person in distress heard on the line (sobbing, a scream, a thud, moaning), or a plea that the
/// police come: a call with one is never invalid nor diverted, however short or cut off it is
/// (session 46 probes: a silent call with sobbing, "你们能不能来一下…算了" then a hang-up, were
/// INVALID).
#[rustfmt::skip]
pub(super) const DISTRESS: &[&str] = &[
    "抽泣", "啜泣", "呜咽", "哭声", "哭腔", "尖叫", "闷响", "呻吟",
    "能不能来一下", "能不能过来", "你们来一下", "你们快来", "你们过来一下", "你们快过来",
];

/// Goods landed by boat at night (走私迹象): the three together are a smuggling scene, police
/// business, not a noise or market complaint (session 46 probes).
#[rustfmt::skip]
pub(super) const AT_NIGHT: &[&str] = &["半夜", "深夜", "凌晨", "夜里", "大晚上", "晚上"];
/// Goods moved by the box.
#[rustfmt::skip]
pub(super) const LANDING: &[&str] = &[
    "卸货", "卸下", "一箱一箱", "搬箱子", "搬货", "往下搬", "往船上搬",
];
/// A boat or a landing place.
#[rustfmt::skip]
pub(super) const BY_WATER: &[&str] = &["船", "码头", "海边", "渔港", "岸边", "江边", "河边"];

/// Traffic put at risk now (cars braking or swerving round something): with a thing lying across
/// the road ([`ACROSS_THE_ROAD`]) it is a hazard for the traffic police, not a municipal repair.
#[rustfmt::skip]
pub(super) const TRAFFIC_AT_RISK: &[&str] = &[
    "紧急变道", "急刹", "差点撞", "险些撞", "差点追尾", "刹不住", "来不及刹", "躲闪不及", "差点翻",
];
/// A fire burning (small or not) that nobody watches: with [`UNWATCHED`], a hazard that may spread,
/// not the city's rubbish or greenery office's (session 46 probes: leaves burnt in a green belt, the
/// burner gone, drifting to a shed of e-bikes).
#[rustfmt::skip]
pub(super) const BURNING: &[&str] = &[
    "明火", "火堆", "火星", "火苗", "火不大", "火势", "还在烧", "烧着",
];
/// Nobody watching it.
#[rustfmt::skip]
pub(super) const UNWATCHED: &[&str] = &[
    "没人看着", "没人看管", "没人管", "人走了", "没人守着", "没人灭",
];

/// Something lying across a road's lanes.
#[rustfmt::skip]
pub(super) const ACROSS_THE_ROAD: &[&str] = &[
    "横在", "挡住车道", "占了车道", "压在车道", "车道上", "散落", "撒了一路", "掉了一地", "倒伏",
];

/// The police station named as an office in a question about paperwork (去派出所开无犯罪记录
/// 证明要带啥材料): with one of [`PROCEDURE`] and none of [`A_CASE`], 派出所 holds nothing; every
/// other signal word still does (session 46, train misses pi-2018, pi-6001, pi-6030 …).
pub(super) const STATION: &str = "派出所";
/// Asking how a procedure is done.
#[rustfmt::skip]
pub(super) const PROCEDURE: &[&str] = &[
    "要带啥", "带啥材料", "要带什么", "带什么材料", "什么材料", "啥材料", "什么手续", "啥手续", "怎么办理",
    "怎么补办", "咋补", "怎么补", "去哪办", "在哪办", "哪里办", "哪个派出所", "要不要去", "是不是要去",
    "是去派出所", "还是网上", "网上能办", "流程", "备案", "续签", "开证明", "开个证明", "办证", "上户口",
    "落户", "迁户口", "改名", "居住证",
];
/// A case, not paperwork: the station stays a signal.
#[rustfmt::skip]
pub(super) const A_CASE: &[&str] = &[
    "报案", "笔录", "立案", "鉴定", "案子", "调解", "打了", "打我", "被人", "骂", "欺负", "不让", "纠纷", "吵",
    "丢了孩子", "走失", "威胁", "管管",
];

/// Someone on foot where traffic is fast (a tunnel, a motorway): with [`FAST_ROAD`], a person in
/// danger now (session 46 probes: a man walking along a tunnel wall, cars at 80–90 km/h).
#[rustfmt::skip]
pub(super) const ON_FOOT: &[&str] = &["在走", "行人", "横穿", "走路", "步行", "有人在路中间"];
/// Roads where nobody walks.
#[rustfmt::skip]
pub(super) const FAST_ROAD: &[&str] = &["隧道里", "高速上", "高速公路上", "快速路上", "高架上"];

/// A vehicle full of children: with a hurt of [`super::signal_words::CRASH_HURT`], a crash that
/// hurt children on board is P1 (session 46 probes: a school bus hit, children crying of
/// headaches, one with a swelling on the forehead).
#[rustfmt::skip]
pub(super) const CHILDREN_ABOARD: &[&str] = &["校车", "幼儿园的车", "接送孩子的车", "学生的车"];

/// A child taken away by someone who posed as family or staff (自称是他舅舅的人接走了): the
/// three together are a child taken, P1 (session 46 probes: a kindergarten pick-up).
#[rustfmt::skip]
pub(super) const TAKEN_AWAY: &[&str] = &["接走", "带走", "领走", "抱走"];
/// Posing as someone.
#[rustfmt::skip]
pub(super) const POSED_AS: &[&str] = &["自称", "冒充", "假装是", "假称"];
/// A child.
#[rustfmt::skip]
pub(super) const A_CHILD: &[&str] = &[
    "孩子", "小孩", "娃", "学生", "女儿", "儿子", "闺女", "宝宝", "幼儿园",
];
