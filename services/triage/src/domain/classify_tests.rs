//! The classifier's behaviour on the shipped rules.

use super::*;

fn rules() -> CompiledRules {
    CompiledRules::builtin().expect("rules")
}

fn run(text: &str) -> Classification {
    classify(&rules(), text, "CHANNEL_110", "")
}

#[test]
fn knife_in_progress_is_p1_and_explained() {
    let c = run("有人正在街上拿着刀追人");
    assert_eq!(c.kind, Kind::Police);
    assert_eq!(c.priority, Priority::P1);
    assert!(
        c.matched
            .iter()
            .any(|m| m.words.contains(&"拿着刀".to_owned()))
    );
}

#[test]
fn negated_injury_keeps_a_crash_with_the_police_only() {
    let c = run("两辆车追尾了，没有人受伤");
    assert_eq!(c.kind, Kind::Police);
    assert_eq!(c.category, "TRAFFIC_ACCIDENT");
    assert_ne!(c.priority, Priority::P1);
    assert!(
        c.matched
            .iter()
            .any(|m| m.effect == Effect::Negation && m.negated.contains(&"受伤".to_owned()))
    );
    let injured = run("两辆车追尾了，有人受伤");
    assert_eq!(injured.kind, Kind::Joint);
    assert_eq!(injured.priority, Priority::P1);
}

#[test]
fn an_uncertain_question_is_not_a_negation() {
    let c = run("两辆车撞了，不知道有没有人受伤");
    assert_eq!(c.priority, Priority::P1);
}

#[test]
fn danger_keeps_a_utility_call_with_the_police() {
    let c = run("停电了，楼道里电线着火了");
    assert!(c.kind.stays_with_police());
    let c = run("小区停水了，邻居家老人晕倒了");
    assert!(c.kind.stays_with_police());
    assert_eq!(c.priority, Priority::P1);
}

#[test]
fn nothing_usable_stays_with_the_police_for_confirmation() {
    let c = run("嗯嗯那个就是这样");
    assert_eq!(c.kind, Kind::Police);
    assert!(c.needs_confirmation);
    assert!(c.matched.iter().any(|m| m.effect == Effect::Fallback));
}

#[test]
fn clear_non_police_business_is_diverted_with_a_department() {
    let c = run("我们这边停水三天了，一直没人来修");
    assert_eq!(c.kind, Kind::NonPolice);
    assert_eq!(c.category, "UTILITIES");
    assert!(!c.department.is_empty());
    assert_eq!(c.priority, Priority::P4);
    assert_eq!(c.response_target_secs, None);
}

fn water(text: &str) -> bool {
    run(text)
        .situations
        .iter()
        .any(|s| s.code.as_str() == "WATER")
}

#[test]
fn a_person_in_the_water_is_a_rescue_that_needs_a_drone() {
    for text in [
        "有人掉进河里了，在大桥下面",
        "有人落水了",
        "小孩掉进水库里了",
        "一个老人跌入了池塘",
        "有个人漂在水上一动不动",
        "我朋友在湖边游泳溺水了",
        "有人被水冲走了",
        "孩子掉到旁边的河里了",
        "有人滑进了鱼塘",
        // The place first, the verb after it.
        "有个小孩在水库边玩掉下去了",
        "桥上有个女的跳下去了",
        "河里漂着一个人，一动不动",
        "江里有人在扑腾，快救命",
        "鱼塘边一个老人滑下去了",
    ] {
        let c = run(text);
        assert_eq!(c.category, "RESCUE", "{text}");
        assert_eq!(c.priority, Priority::P1, "{text}");
        assert!(water(text), "{text}: {:?}", c.matched);
        assert!(
            c.requirements
                .iter()
                .any(|r| r.kinds == [pingan_catalogue::UnitKind::Drone]),
            "{text}"
        );
        assert!(
            c.matched
                .iter()
                .any(|m| m.effect == Effect::Situation && !m.words.is_empty())
        );
    }
}

#[test]
fn words_near_water_are_not_a_water_rescue() {
    for text in [
        "河边有人吵架",
        "我的手机掉进河里了",
        "楼上的落水管坏了",
        "河面上垃圾漂在水上很臭",
        "没有人落水，只是船翻了",
        "湖边停车场有车被划了",
        "河里漂着很多垃圾，臭得很",
        "桥上堵车了，半天走不动",
        "水库边的护栏掉下来了",
        "湖边有两个人在打架",
    ] {
        assert!(!water(text), "{text}: {:?}", run(text).matched);
    }
    let quarrel = run("河边有人吵架");
    assert_eq!(quarrel.category, "DISPUTE");
    assert_eq!(quarrel.requirements.len(), 1);
}

#[test]
fn only_calls_a_unit_attends_carry_requirements() {
    let c = run("我们这边停水三天了，一直没人来修");
    assert!(c.requirements.is_empty() && c.situations.is_empty());
    let c = run("两辆车追尾了，没有人受伤");
    assert_eq!(c.requirements.len(), 1);
    assert!(!c.catalogue_version.is_empty());
}

#[test]
fn a_complaint_needs_a_police_actor() {
    assert_eq!(
        run("我要投诉交警乱罚款，态度很差").kind,
        Kind::ComplaintAboutPolice
    );
    assert_eq!(run("我要投诉这个商家卖假货").kind, Kind::NonPolice);
}
