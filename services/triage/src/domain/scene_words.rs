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
